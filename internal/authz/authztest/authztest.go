// Package authztest builds, for tests, a real policy engine over a fresh
// SQLite store with a catalog admin, a policy script and users.
package authztest

import (
	"path/filepath"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/store"
)

// Options describe the policy of a Fixture.
type Options struct {
	// AdminUser is made catalog admin by Bootstrap, in group "admin";
	// "" means "admin".
	AdminUser string
	// Script runs as AdminUser after Bootstrap, unless it is empty.
	Script string
	// Users are created with their groups after Script has run.
	Users map[string][]string
	// RequiredGroup is authz.Options.RequiredGroup.
	RequiredGroup string
	// Files is authz.Options.Files.
	Files authz.Files
}

// Fixture is a policy engine over its own SQLite store in t.TempDir(),
// closed when the test ends.
type Fixture struct {
	Engine *authz.Engine
	Store  *store.SQL
	// Tokens issues and authenticates REST bearer tokens in Store.
	Tokens *credentials.Tokens
}

// New returns a Fixture set up as o says. It fails the test on any error.
func New(t testing.TB, o Options) *Fixture {
	t.Helper()
	if o.AdminUser == "" {
		o.AdminUser = "admin"
	}
	ctx := t.Context()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e, err := authz.New(ctx, authz.Options{Store: st, RequiredGroup: o.RequiredGroup, Files: o.Files})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bootstrap(ctx, o.AdminUser, "admin"); err != nil {
		t.Fatal(err)
	}
	if o.Script != "" {
		if _, err := e.Exec(ctx, e.Principal(o.AdminUser), o.Script); err != nil {
			t.Fatal(err)
		}
	}
	for user, groups := range o.Users {
		if err := e.PutUser(ctx, user, groups); err != nil {
			t.Fatal(err)
		}
	}
	return &Fixture{Engine: e, Store: st, Tokens: credentials.NewTokens(st)}
}

// Token issues user a REST bearer token that does not expire.
func (f *Fixture) Token(t testing.TB, user string) string {
	t.Helper()
	tok, err := f.Tokens.Issue(t.Context(), user, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
