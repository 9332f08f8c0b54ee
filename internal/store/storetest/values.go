package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/store"
)

// Values the databases could store or compare differently from SQLite,
// the reference: names that differ only in case, trailing spaces or
// accents (collations that ignore them), and long object names and row
// filters (index key size limits).

// similarNames are distinct names that some collations compare equal.
var similarNames = []string{"analyst", "Analyst", "analyst ", "anályst", "analyst\t"}

func testNamesCompareExactly(t *testing.T, s store.Store) {
	ctx := t.Context()
	update(t, s, func(tx store.PolicyTx) error {
		for _, n := range similarNames {
			if err := tx.CreateRole(ctx, n); err != nil {
				return fmt.Errorf("CreateRole(%q): %w", n, err)
			}
			if err := tx.GrantRoleToGroup(ctx, n, n); err != nil {
				return fmt.Errorf("GrantRoleToGroup(%q): %w", n, err)
			}
			if err := tx.PutUser(ctx, store.User{Name: n, Groups: similarNames}); err != nil {
				return fmt.Errorf("PutUser(%q): %w", n, err)
			}
		}
		return nil
	})
	p := load(t, s)
	if len(p.Roles) != len(similarNames) || len(p.Users) != len(similarNames) {
		t.Fatalf("%d names stored as %d roles and %d users:\n%s", len(similarNames), len(p.Roles), len(p.Users), dump(p))
	}
	for _, r := range p.Roles {
		if len(r.Groups) != 1 || r.Groups[0] != r.Name {
			t.Errorf("role %q has groups %q, want just its own name", r.Name, r.Groups)
		}
	}
	for _, u := range p.Users {
		if len(u.Groups) != len(similarNames) {
			t.Errorf("user %q has groups %q, want all %d", u.Name, u.Groups, len(similarNames))
		}
		got, err := s.GetUser(ctx, u.Name)
		if err != nil || got.Name != u.Name {
			t.Errorf("GetUser(%q) = %q, %v", u.Name, got.Name, err)
		}
	}
	err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.RevokeRoleFromGroup(ctx, "analyst", "analyst ") })
	wantErr(t, `RevokeRoleFromGroup("analyst", "analyst ")`, err, store.ErrNotFound)

	for i, n := range similarNames {
		id := "LG" + n
		if err := s.CreateAccessKey(ctx, key(id, n)); err != nil {
			t.Fatalf("CreateAccessKey(%q): %v", id, err)
		}
		if err := s.CreateToken(ctx, store.Token{Hash: n, UserName: n}); err != nil {
			t.Fatalf("CreateToken(%q): %v", n, err)
		}
		if v, err := s.EnsureSecret(ctx, n, []byte{byte(i)}); err != nil || len(v) != 1 || v[0] != byte(i) {
			t.Errorf("EnsureSecret(%q) = %x, %v; want %02x", n, v, err, i)
		}
	}
	for _, n := range similarNames {
		k, err := s.GetAccessKey(ctx, "LG"+n)
		if err != nil || k.UserName != n {
			t.Errorf("GetAccessKey(%q) = user %q, %v; want user %q", "LG"+n, k.UserName, err, n)
		}
		keys, err := s.ListAccessKeys(ctx, n)
		if err != nil || len(keys) != 1 || keys[0].AccessKeyID != "LG"+n {
			t.Errorf("ListAccessKeys(%q) = %d keys, %v; want just %q", n, len(keys), err, "LG"+n)
		}
		if tok, err := s.GetToken(ctx, n); err != nil || tok.UserName != n {
			t.Errorf("GetToken(%q) = user %q, %v", n, tok.UserName, err)
		}
	}
}

func testLongValues(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "r")
	// A long URI and a row filter of 64 KiB: far past what an index key
	// holds in PostgreSQL (2.7 kB) and InnoDB (3 kB).
	uri := "s3://bucket/" + strings.Repeat("deep/", 200)
	filter := "region IN (" + strings.Repeat("'eu-west-1', ", 5000) + "'x')"
	g := tableGrant("r", "SELECT", "db."+strings.Repeat("t", 200), strings.Repeat("column,", 300)+"last", filter)
	u := uriGrant("r", "ALL", uri)
	// Each twice: the second is a no-op. Then ones that differ in the last
	// byte only, or in a field boundary, which are other grants.
	almost := g
	almost.RowFilter = filter[:len(filter)-1] + "]"
	shifted := g
	shifted.Columns, shifted.RowFilter = g.Columns+filter[:1], filter[1:]
	// Long options (64 KiB of TRANSFORM clauses), and the boundary between
	// row filter and options moved.
	opts := g
	opts.Options = "HAVING ATTRIBUTE IN (pii)" + strings.Repeat(" TRANSFORM pii.ssn WITH mask_last(4)", 1800)
	optsShifted := opts
	optsShifted.RowFilter, optsShifted.Options = opts.RowFilter+opts.Options[:1], opts.Options[1:]
	all := []store.Grant{g, u, almost, shifted, opts, optsShifted}
	addGrants(t, s, g, u, g, u, almost, shifted, opts, optsShifted, opts)
	p := load(t, s)
	r, _ := findRole(p, "r")
	if len(r.Grants) != len(all) {
		t.Fatalf("role r holds %d grants, want %d (g, u, almost, shifted, opts, optsShifted)", len(r.Grants), len(all))
	}
	found := 0
	for _, got := range r.Grants {
		for _, want := range all {
			if got == want {
				found++
			}
		}
	}
	if found != len(all) {
		t.Errorf("the long grants did not come back intact (%d of %d match)", found, len(all))
	}
	update(t, s, func(tx store.PolicyTx) error {
		n, err := tx.RemoveGrants(ctx, g)
		if err != nil || n != 1 {
			return fmt.Errorf("RemoveGrants(long grant) = %d, %v; want 1", n, err)
		}
		return nil
	})

	// Long session groups and a long session token.
	k := key("LGLONG", "alice")
	k.SessionToken = strings.Repeat("t", 8192)
	for i := range 500 {
		k.SessionGroups = append(k.SessionGroups, fmt.Sprintf("CN=group %03d,OU=Groups,DC=example,DC=com", i))
	}
	if err := s.PutAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, k) {
		t.Errorf("long session token and groups did not round-trip")
	}
	if err := s.CreateAccessKey(ctx, k); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateAccessKey of a taken id: err = %v, want ErrExists", err)
	}
}
