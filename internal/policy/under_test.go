package policy

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// TestViewUnder checks Under against its definition: every key starting
// with the prefix is covered. Keys are drawn from a small alphabet so that
// the extensions tried include the tricky ones ("/", "x/", "y").
func TestViewUnder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	parts := []string{"a", "a/", "a/b", "a/b/", "b", "ab/", "/", "a//"}
	exts := []string{"", "/", "x", "x/", "/x", "b", "b/c", "/b"}
	for range 300 {
		var gs []grants.GrantPrivileges
		for range 1 + rng.IntN(3) {
			gs = append(gs, grants.GrantPrivileges{Privileges: grants.Privileges(grants.Show),
				Object: grants.Object{Kind: grants.ObjectURI, Bucket: "bkt", Path: parts[rng.IntN(len(parts))]}})
		}
		p := Compile(Snapshot{Roles: []Role{{Name: "r", Groups: []string{"g"}, Grants: gs}}})
		v := p.View([]string{"g"}, "bkt", grants.Show)
		for _, prefix := range append(parts, "", "a/b/c", "ab", "a/bc/") {
			want := true
			for _, e := range exts {
				if k := prefix + e; k != "" && !v.Key(k) {
					want = false
				}
			}
			// Under may only claim coverage it can prove; it must never
			// claim more than the sampled keys show.
			if got := v.Under(prefix); got && !want {
				t.Errorf("grants %v: Under(%q) = true, but a key below it is not covered", paths(gs), prefix)
			}
		}
	}
	// The cases that matter for listings.
	p := Compile(Snapshot{Roles: []Role{{Name: "r", Groups: []string{"g"}, Grants: []grants.GrantPrivileges{
		{Privileges: grants.Privileges(grants.Show), Object: grants.Object{Kind: grants.ObjectURI, Bucket: "bkt", Path: "public/"}},
		{Privileges: grants.Privileges(grants.Show), Object: grants.Object{Kind: grants.ObjectURI, Bucket: "bkt", Path: "data"}},
	}}}})
	v := p.View([]string{"g"}, "bkt", grants.Show)
	for prefix, want := range map[string]bool{
		"public/": true, "public/x": true, "public/x/": true, "public": false, "pub": false, "": false,
		"data/": true, "data/x": true, "data": false, "database": false,
	} {
		if got := v.Under(prefix); got != want {
			t.Errorf("Under(%q) = %v, want %v", prefix, got, want)
		}
	}
}

func paths(gs []grants.GrantPrivileges) string {
	var s []string
	for _, g := range gs {
		s = append(s, g.Object.Path)
	}
	return strings.Join(s, ",")
}
