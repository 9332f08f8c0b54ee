package authz_test

import (
	"slices"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/identity"
)

// TestHasGroupSeesUngrantedSessionGroups: a row filter NOT
// has_group('contractors') must hide rows from a contractor whose groups
// come from a JWT (case-insensitive names) although no role is granted to
// contractors (review: SessionPrincipal kept only groups holding roles, so
// has_group rendered FALSE and the contractor saw every row).
func TestHasGroupSeesUngrantedSessionGroups(t *testing.T) {
	e, _ := bootstrapped(t, "CREATE ROLE staff; GRANT ROLE staff TO GROUP Staff")
	p := e.SessionPrincipal("carl", &identity.Groups{Names: []string{"staff", "Contractors"}, CaseInsensitive: true})
	if !slices.Equal(p.Groups, []string{"Staff"}) {
		t.Fatalf("Groups = %v, want the policy's name of the granted group", p.Groups)
	}
	member, fold := p.MemberOf()
	filter, err := grants.ParsePredicate("NOT has_group('contractors')")
	if err != nil {
		t.Fatal(err)
	}
	sql, err := grants.RenderSQL(filter, grants.SQLEnv{User: p.User, Groups: member, FoldGroups: fold,
		Column: func(n string) (string, bool) { return n, true }})
	if err != nil {
		t.Fatal(err)
	}
	if sql != "(NOT TRUE)" {
		t.Errorf("NOT has_group('contractors') for a contractor renders %q, want it false", sql)
	}
	// The users table's groups count exactly as listed.
	q := e.SessionPrincipal("admin", nil)
	if m, fold := q.MemberOf(); !slices.Equal(m, []string{"admin"}) || fold {
		t.Errorf("users-table memberships = %v, %v", m, fold)
	}
}
