package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// reference is a brute-force reading of the rules in the package comment:
// every grant of every role is checked against the request.
func reference(s Snapshot, req Request) Decision {
	bucket, key, _ := splitURI(req.URI)
	covers := func(o grants.Object) (int, bool) { // specificity
		switch o.Kind {
		case grants.ObjectServer:
			return -1, true
		case grants.ObjectURI:
			if o.Bucket != bucket {
				return 0, false
			}
			switch {
			case o.Path == "", o.Path == key,
				strings.HasSuffix(o.Path, "/") && strings.HasPrefix(key, o.Path),
				strings.HasPrefix(key, o.Path+"/"):
				return len(o.Path), true
			}
		}
		return 0, false
	}
	roles := slices.Clone(s.Roles)
	slices.SortStableFunc(roles, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	var best *Match
	bestSpec := -2
	for _, r := range roles {
		group := ""
		for _, g := range req.Groups {
			if slices.Contains(r.Groups, g) {
				group = g
				break
			}
		}
		if group == "" {
			continue
		}
		for _, g := range r.Grants {
			spec, ok := covers(g.Object)
			if !ok || !(g.Privileges.Has(grants.All) || g.Privileges.Has(req.Privilege)) || spec <= bestSpec {
				continue
			}
			gp := g
			gp.Role = r.Name
			best, bestSpec = &Match{Role: r.Name, Group: group, Grant: &gp}, spec
		}
	}
	if best == nil {
		return Decision{Reason: fmt.Sprintf("no role granted to groups %v holds %s on %s", req.Groups, req.Privilege, canonical(bucket, key))}
	}
	reason := best.String()
	if best.Grant.Object.Kind == grants.ObjectServer && best.Grant.Privileges.Has(grants.All) {
		reason = "catalog admin: " + reason
	}
	return Decision{Allowed: true, Reason: reason, Grant: best}
}

// TestAgainstReference compares Evaluate with the brute-force reference on
// random policies and requests over a small alphabet of path segments, so
// that prefixes, trailing slashes and sibling names collide often.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	segs := []string{"a", "ab", "b", "", "a/"}
	path := func() string {
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, segs[rng.IntN(len(segs))])
		}
		return strings.Join(parts, "/")
	}
	privs := []grants.Privilege{grants.All, grants.Select, grants.Insert, grants.Show, grants.Delete}
	for iter := range 300 {
		var s Snapshot
		nRoles, nGroups := 1+rng.IntN(60), 6
		if iter%3 == 0 {
			// Crowded paths: many more grants on a path than a user's roles.
			nRoles, nGroups = 300+rng.IntN(200), 40
		}
		for i := range nRoles {
			r := Role{Name: fmt.Sprintf("r%03d_%03d", rng.IntN(1000), i)}
			for range 1 + rng.IntN(2) {
				r.Groups = append(r.Groups, fmt.Sprintf("g%d", rng.IntN(nGroups)))
			}
			for range rng.IntN(4) {
				o := grants.Object{Kind: grants.ObjectURI, Bucket: []string{"bk1", "bk2"}[rng.IntN(2)], Path: path()}
				if rng.IntN(30) == 0 {
					o = grants.Object{Kind: grants.ObjectServer}
				}
				first, second := privs[rng.IntN(len(privs))], privs[rng.IntN(len(privs))]
				ps := grants.Privileges(first) | grants.Privileges(second)
				r.Grants = append(r.Grants, grants.GrantPrivileges{Privileges: ps, Object: o})
			}
			s.Roles = append(s.Roles, r)
		}
		p := Compile(s)
		for range 50 {
			req := Request{Privilege: privs[rng.IntN(len(privs))],
				URI: "s3://" + []string{"bk1", "bk2"}[rng.IntN(2)] + "/" + path()}
			for range 1 + rng.IntN(4) {
				req.Groups = append(req.Groups, fmt.Sprintf("g%d", rng.IntN(nGroups+1)))
			}
			got, want := p.Evaluate(req), reference(s, req)
			if got.Allowed != want.Allowed || got.Reason != want.Reason {
				t.Fatalf("iteration %d, %+v:\n got %v %q\nwant %v %q", iter, req, got.Allowed, got.Reason, want.Allowed, want.Reason)
			}
		}
	}
}
