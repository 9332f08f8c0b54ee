package authz_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/store"
)

// TestReservedGroups: a session naming a reserved group (the bootstrap
// admin group) in any case is not in it, while the users table still
// confers it; EnsureAdminGroups makes named groups catalog admin.
func TestReservedGroups(t *testing.T) {
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e, err := authz.New(t.Context(), authz.Options{Store: st, ReservedGroups: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		session identity.Groups
		admin   bool
	}{
		{"JWT claim Admin", identity.Groups{Names: []string{"admin"}, CaseInsensitive: true}, false},
		{"Unix group admin", identity.Groups{Names: []string{"admin", "staff"}}, false},
		{"Unix group ADMIN", identity.Groups{Names: []string{"ADMIN"}}, false},
	} {
		p := e.SessionPrincipal("mallory", &tc.session)
		if e.IsCatalogAdmin(p) != tc.admin {
			t.Errorf("%s: catalog admin %v, want %v (groups %v)", tc.name, !tc.admin, tc.admin, p.Groups)
		}
	}
	if !e.IsCatalogAdmin(e.Principal("admin")) {
		t.Error("the bootstrap admin, listed in group admin, is not catalog admin")
	}

	granted, err := e.EnsureAdminGroups(t.Context(), []string{"Stewards", "admin"})
	if err != nil || !slices.Equal(granted, []string{"Stewards"}) {
		t.Fatalf("EnsureAdminGroups = %v, %v; want [Stewards] granted", granted, err)
	}
	if !e.IsCatalogAdmin(e.SessionPrincipal("sue", &identity.Groups{Names: []string{"stewards"}, CaseInsensitive: true})) {
		t.Error("a JWT session in stewards is not catalog admin after EnsureAdminGroups([Stewards])")
	}
	if granted, err := e.EnsureAdminGroups(t.Context(), []string{"Stewards"}); err != nil || granted != nil {
		t.Errorf("EnsureAdminGroups again = %v, %v; want nothing to do", granted, err)
	}
}
