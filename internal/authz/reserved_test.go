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
// confers it; SyncAdminGroups makes exactly the named groups catalog admin.
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

	granted, revoked, err := e.SyncAdminGroups(t.Context(), []string{"Stewards", "ops"})
	if err != nil || !slices.Equal(granted, []string{"Stewards", "ops"}) || revoked != nil {
		t.Fatalf("SyncAdminGroups = %v, %v, %v; want [Stewards ops] granted", granted, revoked, err)
	}
	stewards := &identity.Groups{Names: []string{"stewards"}, CaseInsensitive: true}
	if !e.IsCatalogAdmin(e.SessionPrincipal("sue", stewards)) {
		t.Error("a JWT session in stewards is not catalog admin after SyncAdminGroups([Stewards ops])")
	}
	if granted, revoked, err := e.SyncAdminGroups(t.Context(), []string{"Stewards", "ops"}); err != nil || granted != nil || revoked != nil {
		t.Errorf("SyncAdminGroups again = %v, %v, %v; want nothing to do", granted, revoked, err)
	}
	// Taken out of the list, a group is no longer catalog admin.
	if granted, revoked, err := e.SyncAdminGroups(t.Context(), []string{"ops"}); err != nil || granted != nil || !slices.Equal(revoked, []string{"Stewards"}) {
		t.Errorf("SyncAdminGroups([ops]) = %v, %v, %v; want Stewards revoked", granted, revoked, err)
	}
	if e.IsCatalogAdmin(e.SessionPrincipal("sue", stewards)) {
		t.Error("stewards is still catalog admin after admin.groups dropped it")
	}
	if !e.IsCatalogAdmin(e.SessionPrincipal("oz", &identity.Groups{Names: []string{"ops"}})) {
		t.Error("ops lost catalog admin")
	}
	if _, _, err := e.SyncAdminGroups(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if e.IsCatalogAdmin(e.SessionPrincipal("oz", &identity.Groups{Names: []string{"ops"}})) {
		t.Error("ops is still catalog admin with admin.groups empty")
	}
	if !e.IsCatalogAdmin(e.Principal("admin")) {
		t.Error("the bootstrap admin lost catalog admin")
	}
}
