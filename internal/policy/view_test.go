package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// referenceView is a brute-force reading of what View promises: whether
// the user's grants for priv cover the whole bucket, and which paths in
// it they name.
func referenceView(s Snapshot, groups []string, bucket string, priv grants.Privilege) (all bool, paths []string) {
	for _, r := range s.Roles {
		held := slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(r.Groups, g) })
		if !held {
			continue
		}
		for _, g := range r.Grants {
			if !g.Privileges.Has(grants.All) && !g.Privileges.Has(priv) {
				continue
			}
			switch {
			case g.Object.Kind == grants.ObjectServer:
				all = true
			case g.Object.Kind == grants.ObjectURI && g.Object.Bucket == bucket:
				if g.Object.Path == "" {
					all = true
				}
				paths = append(paths, g.Object.Path)
			}
		}
	}
	return all, paths
}

// TestViewAgainstEvaluate compares View with Evaluate and with the
// brute-force reference on random policies: View(groups, bucket,
// priv).Key(k) must be Evaluate's answer for s3://bucket/k, and Prefix(p)
// must hold exactly when p is covered or some granted path starts with p.
func TestViewAgainstEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	segs := []string{"a", "ab", "b", "", "a/"}
	path := func() string {
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, segs[rng.IntN(len(segs))])
		}
		return strings.Join(parts, "/")
	}
	buckets := []string{"bk1", "bk2"}
	privs := []grants.Privilege{grants.All, grants.Select, grants.Insert, grants.Show, grants.Delete}
	for iter := range 300 {
		var s Snapshot
		nRoles, nGroups := 1+rng.IntN(40), 6
		if iter%3 == 0 {
			// Crowded paths take Evaluate's other lookup strategy.
			nRoles, nGroups = 300+rng.IntN(200), 40
		}
		for i := range nRoles {
			r := Role{Name: fmt.Sprintf("r%03d_%03d", rng.IntN(1000), i)}
			for range 1 + rng.IntN(2) {
				r.Groups = append(r.Groups, fmt.Sprintf("g%d", rng.IntN(nGroups)))
			}
			for range rng.IntN(4) {
				o := grants.Object{Kind: grants.ObjectURI, Bucket: buckets[rng.IntN(2)], Path: path()}
				switch rng.IntN(40) {
				case 0:
					o = grants.Object{Kind: grants.ObjectServer}
				case 1:
					o = grants.Object{Kind: grants.ObjectTable, Database: "db", Table: "t"}
				}
				first, second := privs[rng.IntN(len(privs))], privs[rng.IntN(len(privs))]
				r.Grants = append(r.Grants, grants.GrantPrivileges{Privileges: grants.Privileges(first) | grants.Privileges(second), Object: o})
			}
			s.Roles = append(s.Roles, r)
		}
		p := Compile(s)
		for range 20 {
			var groups []string
			for range rng.IntN(4) {
				groups = append(groups, fmt.Sprintf("g%d", rng.IntN(nGroups+1)))
			}
			bucket, priv := buckets[rng.IntN(2)], privs[rng.IntN(len(privs))]
			v := p.View(groups, bucket, priv)
			all, paths := referenceView(s, groups, bucket, priv)
			// A view sent over the wire (nScale proxies) answers alike.
			wire := NewView(v.All(), v.Paths())
			if v.All() != all || v.Empty() != (!all && len(paths) == 0) {
				t.Fatalf("iteration %d, View(%v, %s, %s): All %v Empty %v; reference all %v, paths %q",
					iter, groups, bucket, priv, v.All(), v.Empty(), all, paths)
			}
			for range 30 {
				key := path()
				uri := "s3://" + bucket
				if key != "" {
					uri += "/" + key
				}
				want := p.Evaluate(Request{Groups: groups, Privilege: priv, URI: uri}).Allowed
				if wire.Key(key) != v.Key(key) || wire.Prefix(key) != v.Prefix(key) || wire.Under(key) != v.Under(key) {
					t.Fatalf("iteration %d: NewView(All, Paths) answers %q differently", iter, key)
				}
				if got := v.Key(key); got != want {
					t.Fatalf("iteration %d, View(%v, %s, %s).Key(%q) = %v, Evaluate says %v",
						iter, groups, bucket, priv, key, got, want)
				}
				below := slices.ContainsFunc(paths, func(g string) bool { return strings.HasPrefix(g, key) })
				if got, want := v.Prefix(key), all || want || below; got != want {
					t.Fatalf("iteration %d, View(%v, %s, %s).Prefix(%q) = %v, want %v (paths %q)",
						iter, groups, bucket, priv, key, got, want, paths)
				}
			}
		}
	}
}

// TestViewPrefix spells out Prefix on named cases: a listing prefix is
// shown when a grant covers it or lies below it, never for a sibling name.
func TestViewPrefix(t *testing.T) {
	p := Compile(fromText(t, seed000+`
GRANT ROLE readers TO GROUP analysts;
GRANT SHOW ON URI 's3://bkt/public/' TO ROLE readers;
GRANT SHOW ON URI 's3://bkt/data/2024' TO ROLE readers;
GRANT SELECT ON URI 's3://bkt/private' TO ROLE readers;
GRANT ROLE whole TO GROUP owners;
GRANT ALL ON URI 's3://bkt' TO ROLE whole;
GRANT ROLE lister TO GROUP auditors;
GRANT SHOW ON SERVER TO ROLE lister;
`))
	tests := []struct {
		name   string
		groups []string
		bucket string
		prefix string
		want   bool
	}{
		{"seed 000: the granted path", []string{"hadoop"}, "mybucket", "mypath/", true},
		{"seed 000: the granted path without slash", []string{"hadoop"}, "mybucket", "mypath", true},
		{"seed 000: below the granted path", []string{"hadoop"}, "mybucket", "mypath/sub/", true},
		{"seed 000: another path", []string{"hadoop"}, "mybucket", "anotherpath/", false},
		{"seed 000: the bucket root", []string{"hadoop"}, "mybucket", "", true},
		{"seed 000: a partial name of the grant", []string{"hadoop"}, "mybucket", "myp", true},
		{"seed 000: a sibling name", []string{"hadoop"}, "mybucket", "mypathology/", false},
		{"seed 000: another bucket", []string{"hadoop"}, "other", "", false},
		{"directory grant", []string{"analysts"}, "bkt", "public/", true},
		{"directory grant, deeper", []string{"analysts"}, "bkt", "public/x/", true},
		{"above a directory grant", []string{"analysts"}, "bkt", "pub", true},
		{"the directory grant's name without slash", []string{"analysts"}, "bkt", "public", true},
		{"sibling of a directory grant", []string{"analysts"}, "bkt", "publicity/", false},
		{"sibling without slash", []string{"analysts"}, "bkt", "publicity", false},
		{"parent of a deep grant", []string{"analysts"}, "bkt", "data/", true},
		{"sibling of a deep grant", []string{"analysts"}, "bkt", "data/2025/", false},
		{"deep grant's sibling by name", []string{"analysts"}, "bkt", "data/20245/", false},
		{"another privilege's grant does not count", []string{"analysts"}, "bkt", "private/", false},
		{"whole bucket", []string{"owners"}, "bkt", "anything/", true},
		{"server grant", []string{"auditors"}, "anybucket", "x/", true},
		{"no groups", nil, "bkt", "public/", false},
		{"unknown group", []string{"nobody"}, "bkt", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.View(tt.groups, tt.bucket, grants.Show).Prefix(tt.prefix); got != tt.want {
				t.Errorf("View(%v, %s, SHOW).Prefix(%q) = %v, want %v", tt.groups, tt.bucket, tt.prefix, got, tt.want)
			}
		})
	}
}

func TestViewInvalidPrivilegeSeesNothing(t *testing.T) {
	p := Compile(fromText(t, "GRANT ROLE r TO GROUP g; GRANT ALL ON SERVER TO ROLE r;"))
	for _, priv := range []grants.Privilege{0, grants.Select | grants.Show} {
		v := p.View([]string{"g"}, "bkt", priv)
		if !v.Empty() || v.All() || v.Key("x") || v.Prefix("") {
			t.Errorf("View with privilege %d sees something", priv)
		}
	}
	var zero View
	if !zero.Empty() || zero.Key("x") || zero.Prefix("") {
		t.Error("the zero View sees something")
	}
}

// TestUnion checks that the union of views answers Key, Prefix and Under
// as the disjunction of the views' answers, on random policies, and that
// Key of the union of the SELECT and SHOW views is Evaluate's answer for
// SELECT or SHOW: a listing open to either privilege shows exactly the keys
// one of them covers.
func TestUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	segs := []string{"a", "ab", "b", "", "a/"}
	path := func() string {
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, segs[rng.IntN(len(segs))])
		}
		return strings.Join(parts, "/")
	}
	privs := []grants.Privilege{grants.All, grants.Select, grants.Insert, grants.Show}
	for iter := range 200 {
		var s Snapshot
		for i := range 1 + rng.IntN(12) {
			r := Role{Name: fmt.Sprintf("r%d", i), Groups: []string{fmt.Sprintf("g%d", rng.IntN(3))}}
			for range rng.IntN(4) {
				o := grants.Object{Kind: grants.ObjectURI, Bucket: "bk", Path: path()}
				if rng.IntN(30) == 0 {
					o = grants.Object{Kind: grants.ObjectServer}
				}
				r.Grants = append(r.Grants, grants.GrantPrivileges{Privileges: grants.Privileges(privs[rng.IntN(len(privs))]), Object: o})
			}
			s.Roles = append(s.Roles, r)
		}
		p := Compile(s)
		groups := []string{fmt.Sprintf("g%d", rng.IntN(3))}
		sel, show := p.View(groups, "bk", grants.Select), p.View(groups, "bk", grants.Show)
		u := Union(sel, nil, show)
		if u.All() != (sel.All() || show.All()) || u.Empty() != (sel.Empty() && show.Empty()) {
			t.Fatalf("iteration %d: union All %v Empty %v of views All %v/%v Empty %v/%v",
				iter, u.All(), u.Empty(), sel.All(), show.All(), sel.Empty(), show.Empty())
		}
		for range 30 {
			k := path()
			uri := "s3://bk"
			if k != "" {
				uri += "/" + k
			}
			either := p.Evaluate(Request{Groups: groups, Privilege: grants.Select, URI: uri}).Allowed ||
				p.Evaluate(Request{Groups: groups, Privilege: grants.Show, URI: uri}).Allowed
			if got := u.Key(k); got != either || got != (sel.Key(k) || show.Key(k)) {
				t.Fatalf("iteration %d: union.Key(%q) = %v; SELECT or SHOW allows: %v", iter, k, got, either)
			}
			if got := u.Prefix(k); got != (sel.Prefix(k) || show.Prefix(k)) {
				t.Fatalf("iteration %d: union.Prefix(%q) = %v", iter, k, got)
			}
			if got := u.Under(k); got != (sel.Under(k) || show.Under(k)) {
				t.Fatalf("iteration %d: union.Under(%q) = %v", iter, k, got)
			}
		}
	}
}

// TestUnionSelectLists spells out the union for seed 000's SELECT, which
// reads folders: a user with SELECT on s3://bkt/pathA and SHOW elsewhere
// lists pathA and the way to it, not its siblings.
func TestUnionSelectLists(t *testing.T) {
	p := Compile(fromText(t, `
GRANT ROLE readers TO GROUP analysts;
GRANT SELECT ON URI 's3://bkt/pathA' TO ROLE readers;
GRANT SHOW ON URI 's3://bkt/logs/' TO ROLE readers;
GRANT INSERT ON URI 's3://bkt/drop/' TO ROLE readers;
`))
	g := []string{"analysts"}
	v := Union(p.View(g, "bkt", grants.Select), p.View(g, "bkt", grants.Show))
	tests := []struct {
		name, what, arg string
		want            bool
	}{
		{"SELECT's path", "Key", "pathA/d/x.txt", true},
		{"SHOW's path", "Key", "logs/2024.txt", true},
		{"INSERT does not list", "Key", "drop/x", false},
		{"sibling name", "Key", "pathAB/x.txt", false},
		{"root lists the way to the grants", "Prefix", "", true},
		{"SELECT's prefix", "Prefix", "pathA/", true},
		{"sibling prefix", "Prefix", "pathAB/", false},
		{"INSERT's prefix", "Prefix", "drop/", false},
		{"under SELECT's path needs no filter", "Under", "pathA/", true},
		{"under SHOW's path needs no filter", "Under", "logs/x/", true},
		{"the root needs filtering", "Under", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bool
			switch tt.what {
			case "Key":
				got = v.Key(tt.arg)
			case "Prefix":
				got = v.Prefix(tt.arg)
			case "Under":
				got = v.Under(tt.arg)
			}
			if got != tt.want {
				t.Errorf("%s(%q) = %v, want %v (paths %q)", tt.what, tt.arg, got, tt.want, v.Paths())
			}
		})
	}
	if !Union(v, p.View([]string{"nobody"}, "bkt", grants.Show)).Prefix("pathA/") {
		t.Error("a union with an empty view lost a path")
	}
	if u := Union(); !u.Empty() || u.All() {
		t.Error("the empty union sees something")
	}
}
