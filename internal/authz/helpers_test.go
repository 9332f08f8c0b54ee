package authz_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/store"
)

// admin is the principal Bootstrap makes catalog admin in these tests.
var admin = authz.Principal{User: "admin", Groups: []string{"admin"}}

// openStore opens a fresh SQLite policy store at path (a new temporary
// file when path is "").
func openStore(t *testing.T, path string) *store.SQL {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "db")
	}
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newEngine(t *testing.T, st authz.Store, poll time.Duration) *authz.Engine {
	t.Helper()
	e, err := authz.New(t.Context(), authz.Options{Store: st, PollInterval: poll})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// bootstrapped returns an engine over a fresh store in which admin is
// catalog admin, after running setup (as admin) when it is not empty.
func bootstrapped(t *testing.T, setup string) (*authz.Engine, *store.SQL) {
	t.Helper()
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Script: setup})
	return fx.Engine, fx.Store
}

func mustExec(t *testing.T, e *authz.Engine, caller authz.Principal, script string) []authz.Result {
	t.Helper()
	res, err := e.Exec(t.Context(), caller, script)
	if err != nil {
		t.Fatalf("Exec(%q): %v", script, err)
	}
	return res
}

// dump renders the stored policy one fact a line, grants one row per
// privilege as the store holds them, so that tests see exactly what a
// statement changed.
func dump(t *testing.T, st *store.SQL) string {
	t.Helper()
	data, err := st.LoadPolicy(context.WithoutCancel(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range data.Roles {
		fmt.Fprintf(&b, "role %s\n", r.Name)
		for _, g := range r.Groups {
			fmt.Fprintf(&b, "  group %s\n", g)
		}
		for _, g := range r.Grants {
			fmt.Fprintf(&b, "  %s %s %q", g.Privilege, g.ObjectKind, g.Object)
			if g.Columns != "" {
				fmt.Fprintf(&b, " columns %q", g.Columns)
			}
			if g.RowFilter != "" {
				fmt.Fprintf(&b, " where %q", g.RowFilter)
			}
			b.WriteByte('\n')
		}
	}
	for _, u := range data.Users {
		fmt.Fprintf(&b, "user %s %v\n", u.Name, u.Groups)
	}
	return b.String()
}

// bootDump is what dump shows right after Bootstrap.
const bootDump = "role admin_role\n  group admin\n  ALL SERVER \"\"\nuser admin [admin]\n"

// state is dump without what Bootstrap created, when that is unchanged.
func state(t *testing.T, st *store.SQL) string {
	t.Helper()
	s := dump(t, st)
	s = strings.Replace(s, "role admin_role\n  group admin\n  ALL SERVER \"\"\n", "", 1)
	return strings.Replace(s, "user admin [admin]\n", "", 1)
}
