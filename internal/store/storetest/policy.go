package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
)

// update commits fn or fails the test.
func update(t *testing.T, s store.Store, fn func(tx store.PolicyTx) error) {
	t.Helper()
	if err := s.UpdatePolicy(t.Context(), fn); err != nil {
		t.Fatalf("UpdatePolicy: %v", err)
	}
}

func load(t *testing.T, s store.Store) store.PolicyData {
	t.Helper()
	p, err := s.LoadPolicy(t.Context())
	if err != nil {
		t.Fatalf("LoadPolicy: %v", err)
	}
	return p
}

func version(t *testing.T, s store.Store) int64 {
	t.Helper()
	v, err := s.PolicyVersion(t.Context())
	if err != nil {
		t.Fatalf("PolicyVersion: %v", err)
	}
	return v
}

// do runs the steps in order, stopping at the first error.
func do(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// wantErr reports, as a test error, a result that is not target (nil for
// success).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Errorf("%s: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

func tableGrant(role, privilege, table, columns, rowFilter string) store.Grant {
	return store.Grant{Role: role, Privilege: privilege, ObjectKind: "TABLE", Object: table, Columns: columns, RowFilter: rowFilter}
}

func uriGrant(role, privilege, uri string) store.Grant {
	return store.Grant{Role: role, Privilege: privilege, ObjectKind: "URI", Object: uri}
}

// createRoles creates the roles in one update.
func createRoles(t *testing.T, s store.Store, names ...string) {
	t.Helper()
	update(t, s, func(tx store.PolicyTx) error {
		for _, n := range names {
			if err := tx.CreateRole(t.Context(), n); err != nil {
				return err
			}
		}
		return nil
	})
}

func addGrants(t *testing.T, s store.Store, grants ...store.Grant) {
	t.Helper()
	update(t, s, func(tx store.PolicyTx) error {
		for _, g := range grants {
			if err := tx.AddGrant(t.Context(), g); err != nil {
				return err
			}
		}
		return nil
	})
}

// link grants role to each group.
func link(t *testing.T, s store.Store, role string, groups ...string) {
	t.Helper()
	update(t, s, func(tx store.PolicyTx) error {
		for _, g := range groups {
			if err := tx.GrantRoleToGroup(t.Context(), role, g); err != nil {
				return err
			}
		}
		return nil
	})
}

func putUsers(t *testing.T, s store.Store, users ...store.User) {
	t.Helper()
	update(t, s, func(tx store.PolicyTx) error {
		for _, u := range users {
			if err := tx.PutUser(t.Context(), u); err != nil {
				return err
			}
		}
		return nil
	})
}

// findRole returns the named role of a snapshot.
func findRole(p store.PolicyData, name string) (store.RoleRecord, bool) {
	i := slices.IndexFunc(p.Roles, func(r store.RoleRecord) bool { return r.Name == name })
	if i < 0 {
		return store.RoleRecord{}, false
	}
	return p.Roles[i], true
}

// dump renders a snapshot as text, one line per role, grant and user, so
// that mismatches read as a diff. Nil and empty slices print alike.
func dump(p store.PolicyData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %d\n", p.Version)
	for _, r := range p.Roles {
		fmt.Fprintf(&b, "role %q groups %q\n", r.Name, r.Groups)
		for _, g := range r.Grants {
			fmt.Fprintf(&b, "  grant %s\n", grantString(g))
		}
	}
	for _, u := range p.Users {
		fmt.Fprintf(&b, "user %q groups %q created %s\n", u.Name, u.Groups, u.CreatedAt.Format(time.RFC3339Nano))
	}
	for _, db := range p.Databases {
		fmt.Fprintf(&b, "database %q comment %q location %q created %s\n", db.Name, db.Comment, db.Location, db.CreatedAt.Format(time.RFC3339Nano))
	}
	for _, tb := range p.Tables {
		b.WriteString(tableString(tb))
	}
	return b.String()
}

func grantString(g store.Grant) string {
	return fmt.Sprintf("role=%q privilege=%q kind=%q object=%q columns=%q filter=%q options=%q",
		g.Role, g.Privilege, g.ObjectKind, g.Object, g.Columns, g.RowFilter, g.Options)
}

func grantsString(grants []store.Grant) string {
	lines := make([]string, len(grants))
	for i, g := range grants {
		lines[i] = grantString(g)
	}
	return strings.Join(lines, "\n")
}

func testCreateRole(t *testing.T, s store.Store) {
	ctx := t.Context()
	update(t, s, func(tx store.PolicyTx) error {
		if ok, err := tx.RoleExists(ctx, "analyst"); err != nil || ok {
			t.Errorf("RoleExists before create = %v, %v; want false, nil", ok, err)
		}
		wantErr(t, "CreateRole(analyst)", tx.CreateRole(ctx, "analyst"), nil)
		if ok, err := tx.RoleExists(ctx, "analyst"); err != nil || !ok {
			t.Errorf("RoleExists in the creating transaction = %v, %v; want true, nil", ok, err)
		}
		// Names are case-sensitive: this is another role.
		if ok, err := tx.RoleExists(ctx, "Analyst"); err != nil || ok {
			t.Errorf("RoleExists(Analyst) = %v, %v; want false, nil", ok, err)
		}
		wantErr(t, "CreateRole(Analyst)", tx.CreateRole(ctx, "Analyst"), nil)
		return nil
	})

	err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "analyst") })
	wantErr(t, "second CreateRole(analyst)", err, store.ErrExists)

	update(t, s, func(tx store.PolicyTx) error {
		if ok, err := tx.RoleExists(ctx, "analyst"); err != nil || !ok {
			t.Errorf("RoleExists after commit = %v, %v; want true, nil", ok, err)
		}
		return nil
	})
	p := load(t, s)
	if len(p.Roles) != 2 || p.Roles[0].Name != "Analyst" || p.Roles[1].Name != "analyst" {
		t.Errorf("roles:\n%s\nwant Analyst and analyst", dump(p))
	}
	for _, r := range p.Roles {
		if len(r.Groups) != 0 || len(r.Grants) != 0 {
			t.Errorf("new role %q is not empty: %+v", r.Name, r)
		}
	}
}

func testDropRole(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst", "auditor")
	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "DropRole(analyst)", tx.DropRole(ctx, "analyst"), nil)
		if ok, err := tx.RoleExists(ctx, "analyst"); err != nil || ok {
			t.Errorf("RoleExists after drop = %v, %v; want false, nil", ok, err)
		}
		wantErr(t, "second DropRole(analyst)", tx.DropRole(ctx, "analyst"), store.ErrNotFound)
		wantErr(t, "DropRole(missing)", tx.DropRole(ctx, "missing"), store.ErrNotFound)
		wantErr(t, "DropRole(Auditor)", tx.DropRole(ctx, "Auditor"), store.ErrNotFound)
		return nil
	})
	p := load(t, s)
	if len(p.Roles) != 1 || p.Roles[0].Name != "auditor" {
		t.Errorf("roles:\n%s\nwant only auditor", dump(p))
	}
}

func testDropRoleCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst", "auditor")
	link(t, s, "analyst", "eng", "data")
	link(t, s, "auditor", "eng")
	addGrants(t, s,
		tableGrant("analyst", "SELECT", "sales.orders", "", ""),
		uriGrant("analyst", "ALL", "s3://raw/"),
		tableGrant("auditor", "SELECT", "sales.orders", "", ""),
	)
	update(t, s, func(tx store.PolicyTx) error { return tx.DropRole(ctx, "analyst") })

	p := load(t, s)
	auditor, ok := findRole(p, "auditor")
	if len(p.Roles) != 1 || !ok {
		t.Fatalf("roles:\n%s\nwant only auditor", dump(p))
	}
	if !slices.Equal(auditor.Groups, []string{"eng"}) || len(auditor.Grants) != 1 {
		t.Errorf("dropping analyst changed auditor:\n%s", dump(p))
	}
	// A role created again under the name starts empty: the grants and
	// group links went with the old one.
	createRoles(t, s, "analyst")
	analyst, _ := findRole(load(t, s), "analyst")
	if len(analyst.Groups) != 0 || len(analyst.Grants) != 0 {
		t.Errorf("recreated role has groups %q and grants\n%s", analyst.Groups, grantsString(analyst.Grants))
	}
	update(t, s, func(tx store.PolicyTx) error {
		n, err := tx.RemoveGrants(ctx, uriGrant("analyst", "", "s3://raw/"))
		if err != nil || n != 0 {
			t.Errorf("RemoveGrants of a dropped grant = %d, %v; want 0, nil", n, err)
		}
		wantErr(t, "RevokeRoleFromGroup(analyst, data)", tx.RevokeRoleFromGroup(ctx, "analyst", "data"), store.ErrNotFound)
		return nil
	})
}

func testGrantRoleToGroup(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst")
	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "GrantRoleToGroup(analyst, eng)", tx.GrantRoleToGroup(ctx, "analyst", "eng"), nil)
		wantErr(t, "GrantRoleToGroup twice", tx.GrantRoleToGroup(ctx, "analyst", "eng"), nil)
		wantErr(t, "GrantRoleToGroup(analyst, data)", tx.GrantRoleToGroup(ctx, "analyst", "data"), nil)
		wantErr(t, "GrantRoleToGroup(analyst, Data)", tx.GrantRoleToGroup(ctx, "analyst", "Data"), nil)
		wantErr(t, "GrantRoleToGroup(missing, eng)", tx.GrantRoleToGroup(ctx, "missing", "eng"), store.ErrNotFound)
		return nil
	})
	// And again in a later transaction.
	link(t, s, "analyst", "eng")
	p := load(t, s)
	analyst, _ := findRole(p, "analyst")
	if len(p.Roles) != 1 || !slices.Equal(analyst.Groups, []string{"Data", "data", "eng"}) {
		t.Errorf("got\n%swant analyst with groups Data, data, eng", dump(p))
	}
}

func testRevokeRoleFromGroup(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst", "auditor")
	link(t, s, "analyst", "eng", "data")
	link(t, s, "auditor", "ops")
	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "RevokeRoleFromGroup(analyst, eng)", tx.RevokeRoleFromGroup(ctx, "analyst", "eng"), nil)
		wantErr(t, "second RevokeRoleFromGroup(analyst, eng)", tx.RevokeRoleFromGroup(ctx, "analyst", "eng"), store.ErrNotFound)
		// ops is linked, but to another role.
		wantErr(t, "RevokeRoleFromGroup(analyst, ops)", tx.RevokeRoleFromGroup(ctx, "analyst", "ops"), store.ErrNotFound)
		wantErr(t, "RevokeRoleFromGroup(analyst, Data)", tx.RevokeRoleFromGroup(ctx, "analyst", "Data"), store.ErrNotFound)
		wantErr(t, "RevokeRoleFromGroup(missing, eng)", tx.RevokeRoleFromGroup(ctx, "missing", "eng"), store.ErrNotFound)
		return nil
	})
	p := load(t, s)
	analyst, _ := findRole(p, "analyst")
	auditor, _ := findRole(p, "auditor")
	if !slices.Equal(analyst.Groups, []string{"data"}) || !slices.Equal(auditor.Groups, []string{"ops"}) {
		t.Errorf("got\n%swant analyst in data, auditor in ops", dump(p))
	}
}

func testAddGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst")
	plain := tableGrant("analyst", "SELECT", "sales.orders", "", "")
	columns := tableGrant("analyst", "SELECT", "sales.orders", "id,total", "")
	filtered := tableGrant("analyst", "SELECT", "sales.orders", "", "region = 'EU'")
	update(t, s, func(tx store.PolicyTx) error {
		for _, g := range []store.Grant{plain, plain, columns, filtered, columns} {
			wantErr(t, "AddGrant("+grantString(g)+")", tx.AddGrant(ctx, g), nil)
		}
		missing := plain
		missing.Role = "missing"
		wantErr(t, "AddGrant to a missing role", tx.AddGrant(ctx, missing), store.ErrNotFound)
		return nil
	})
	// Identical grants in a later transaction are no-ops too.
	addGrants(t, s, plain, filtered)

	p := load(t, s)
	analyst, _ := findRole(p, "analyst")
	// A grant that differs only in Columns or in RowFilter is another grant.
	want := []store.Grant{plain, filtered, columns}
	if !slices.Equal(analyst.Grants, want) {
		t.Errorf("grants:\n%s\nwant\n%s", grantsString(analyst.Grants), grantsString(want))
	}
	if len(p.Roles) != 1 {
		t.Errorf("roles:\n%s", dump(p))
	}
}

func testRemoveGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst", "auditor")
	var (
		selectOrders   = tableGrant("analyst", "SELECT", "sales.orders", "", "")
		insertOrders   = tableGrant("analyst", "INSERT", "sales.orders", "", "")
		selectColumns  = tableGrant("analyst", "SELECT", "sales.orders", "id", "")
		selectFiltered = tableGrant("analyst", "SELECT", "sales.orders", "", "region = 'EU'")
		selectItems    = tableGrant("analyst", "SELECT", "sales.items", "", "")
		allRaw         = uriGrant("analyst", "ALL", "s3://raw/")
		auditorOrders  = tableGrant("auditor", "SELECT", "sales.orders", "", "")
	)
	addGrants(t, s, selectOrders, insertOrders, selectColumns, selectFiltered, selectItems, allRaw, auditorOrders)

	anyPrivilege := func(g store.Grant) store.Grant { g.Privilege = ""; return g }
	steps := []struct {
		name   string
		remove store.Grant
		want   int
	}{
		{"exact match", selectOrders, 1},
		{"exact match again", selectOrders, 0},
		{"another privilege than stored", tableGrant("analyst", "DELETE", "sales.orders", "", ""), 0},
		// The empty privilege matches INSERT on the plain object, not the
		// grants with columns or a row filter: those are other grants.
		{"every privilege", anyPrivilege(insertOrders), 1},
		{"every privilege, with columns", anyPrivilege(selectColumns), 1},
		{"columns not stored", tableGrant("analyst", "SELECT", "sales.orders", "id,total", ""), 0},
		{"row filter not stored", tableGrant("analyst", "SELECT", "sales.orders", "", "region = 'US'"), 0},
		{"role missing", tableGrant("missing", "SELECT", "sales.orders", "", ""), 0},
		{"object kind differs", store.Grant{Role: "analyst", Privilege: "ALL", ObjectKind: "TABLE", Object: "s3://raw/"}, 0},
	}
	update(t, s, func(tx store.PolicyTx) error {
		for _, step := range steps {
			n, err := tx.RemoveGrants(ctx, step.remove)
			if err != nil || n != step.want {
				t.Errorf("RemoveGrants (%s) = %d, %v; want %d, nil", step.name, n, err, step.want)
			}
		}
		return nil
	})
	p := load(t, s)
	analyst, _ := findRole(p, "analyst")
	auditor, _ := findRole(p, "auditor")
	want := []store.Grant{selectItems, selectFiltered, allRaw}
	if !slices.Equal(analyst.Grants, want) {
		t.Errorf("analyst grants:\n%s\nwant\n%s", grantsString(analyst.Grants), grantsString(want))
	}
	if !slices.Equal(auditor.Grants, []store.Grant{auditorOrders}) {
		t.Errorf("auditor grants changed:\n%s", grantsString(auditor.Grants))
	}
}

// testTxUsableAfterExpectedErrors checks that an ErrExists or ErrNotFound
// does not spoil the transaction: fn may carry on and commit. (In
// PostgreSQL a failed statement aborts the whole transaction.)
func testTxUsableAfterExpectedErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst")
	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "CreateRole(analyst)", tx.CreateRole(ctx, "analyst"), store.ErrExists)
		wantErr(t, "DropRole(missing)", tx.DropRole(ctx, "missing"), store.ErrNotFound)
		wantErr(t, "GrantRoleToGroup(missing, eng)", tx.GrantRoleToGroup(ctx, "missing", "eng"), store.ErrNotFound)
		wantErr(t, "RevokeRoleFromGroup(analyst, eng)", tx.RevokeRoleFromGroup(ctx, "analyst", "eng"), store.ErrNotFound)
		wantErr(t, "AddGrant(missing)", tx.AddGrant(ctx, uriGrant("missing", "ALL", "s3://raw/")), store.ErrNotFound)
		wantErr(t, "DeleteUser(missing)", tx.DeleteUser(ctx, "missing"), store.ErrNotFound)
		return do(
			func() error { return tx.CreateRole(ctx, "after") },
			func() error { return tx.AddGrant(ctx, uriGrant("after", "ALL", "s3://raw/")) },
		)
	})
	after, ok := findRole(load(t, s), "after")
	if !ok || len(after.Grants) != 1 {
		t.Errorf("work after the expected errors was not committed: %+v", after)
	}
}

// rollbackFixture stores a little of everything and returns the snapshot.
func rollbackFixture(t *testing.T, s store.Store) store.PolicyData {
	t.Helper()
	createRoles(t, s, "analyst")
	link(t, s, "analyst", "eng")
	addGrants(t, s, uriGrant("analyst", "ALL", "s3://raw/"))
	putUsers(t, s, store.User{Name: "alice", Groups: []string{"eng"}})
	if err := s.CreateAccessKey(t.Context(), key("LGALICE", "alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(t.Context(), store.Token{Hash: "aa11", UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	createDatabases(t, s, "sales")
	createTables(t, s, simpleTable("sales", "orders"), simpleTable("sales", "returns"))
	addPartitions(t, s, "sales", "orders", part("year=2024"))
	addGrants(t, s, tableGrant("analyst", "SELECT", "sales.orders", "", ""),
		store.Grant{Role: "analyst", Privilege: "ALL", ObjectKind: "DATABASE", Object: "sales"})
	return load(t, s)
}

// changeEverything makes every kind of change to the rollbackFixture.
func changeEverything(ctx context.Context, tx store.PolicyTx) error {
	return do(
		func() error { return tx.CreateRole(ctx, "auditor") },
		func() error { return tx.GrantRoleToGroup(ctx, "auditor", "ops") },
		func() error { return tx.AddGrant(ctx, uriGrant("auditor", "SHOW", "s3://raw/")) },
		func() error { return tx.AddGrant(ctx, uriGrant("analyst", "SELECT", "s3://curated/")) },
		func() error { return tx.GrantRoleToGroup(ctx, "analyst", "data") },
		func() error { return tx.RevokeRoleFromGroup(ctx, "analyst", "eng") },
		func() error {
			_, err := tx.RemoveGrants(ctx, uriGrant("analyst", "", "s3://raw/"))
			return err
		},
		func() error { return tx.PutUser(ctx, store.User{Name: "bob", Groups: []string{"ops"}}) },
		func() error { return tx.DeleteUser(ctx, "alice") },
		func() error { return catalogChanges(ctx, tx) },
		func() error { return tx.DropRole(ctx, "analyst") },
	)
}

// checkUnchanged fails the test unless the store still holds the
// rollbackFixture snapshot before, alice's key and token included.
func checkUnchanged(t *testing.T, s store.Store, before store.PolicyData) {
	t.Helper()
	if got, want := dump(load(t, s)), dump(before); got != want {
		t.Errorf("rolled back update changed the policy:\n%s\nwant\n%s", got, want)
	}
	if v := version(t, s); v != before.Version {
		t.Errorf("PolicyVersion = %d after a rollback, want %d", v, before.Version)
	}
	if _, err := s.GetAccessKey(t.Context(), "LGALICE"); err != nil {
		t.Errorf("access key after a rolled back DeleteUser: %v", err)
	}
	if _, err := s.GetToken(t.Context(), "aa11"); err != nil {
		t.Errorf("token after a rolled back DeleteUser: %v", err)
	}
}

// errAbort is a caller's error, to be returned by UpdatePolicy as is.
var errAbort = errors.New("storetest: abort")

func testUpdatePolicyRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := rollbackFixture(t, s)
	err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		if err := changeEverything(ctx, tx); err != nil {
			t.Errorf("changes before the abort: %v", err)
		}
		return errAbort
	})
	if err != errAbort { //nolint:errorlint // "returned as is" means this very value, unwrapped
		t.Errorf("UpdatePolicy returned %v, want fn's error itself", err)
	}
	checkUnchanged(t, s, before)

	// A wrapped error comes back as is too, so callers can errors.As it.
	wrapped := fmt.Errorf("grant statement 3: %w", errAbort)
	err = s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		return do(func() error { return changeEverything(ctx, tx) }, func() error { return wrapped })
	})
	if err != wrapped { //nolint:errorlint // "returned as is" means this very value, unwrapped
		t.Errorf("UpdatePolicy returned %v, want fn's error itself", err)
	}
	checkUnchanged(t, s, before)
}

func testUpdatePolicyRollbackOnStoreError(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := rollbackFixture(t, s)
	err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		return do(
			func() error { return changeEverything(ctx, tx) },
			func() error { return tx.CreateRole(ctx, "auditor") }, // created above: ErrExists
		)
	})
	wantErr(t, "UpdatePolicy", err, store.ErrExists)
	checkUnchanged(t, s, before)
}

// testUpdatePolicyPanic checks that a panic in fn propagates and leaves no
// transaction behind: nothing changed, and the store takes updates again
// (a leaked SQLite write transaction would block every later one).
func testUpdatePolicyPanic(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := rollbackFixture(t, s)
	func() {
		defer func() {
			if r := recover(); r != "storetest: panic in fn" {
				t.Errorf("recovered %v, want fn's panic", r)
			}
		}()
		_ = s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
			if err := changeEverything(ctx, tx); err != nil {
				t.Errorf("changes before the panic: %v", err)
			}
			panic("storetest: panic in fn")
		})
	}()
	checkUnchanged(t, s, before)

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "after") }); err != nil {
		t.Fatalf("UpdatePolicy after a panic: %v", err)
	}
}

func testPolicyVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	v0 := version(t, s)
	if p := load(t, s); p.Version != v0 {
		t.Errorf("LoadPolicy version %d, PolicyVersion %d", p.Version, v0)
	}
	commits := []func(tx store.PolicyTx) error{
		func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "analyst") },
		func(tx store.PolicyTx) error { return tx.AddGrant(ctx, uriGrant("analyst", "ALL", "s3://raw/")) },
		// An update that changes nothing still counts: the version says
		// "an update was committed", not "something differs".
		func(store.PolicyTx) error { return nil },
		func(tx store.PolicyTx) error { return tx.PutUser(ctx, store.User{Name: "alice"}) },
	}
	for i, fn := range commits {
		update(t, s, fn)
		want := v0 + int64(i) + 1
		if v := version(t, s); v != want {
			t.Errorf("after commit %d: PolicyVersion = %d, want %d", i+1, v, want)
		}
		if p := load(t, s); p.Version != want {
			t.Errorf("after commit %d: LoadPolicy version = %d, want %d", i+1, p.Version, want)
		}
	}
	want := v0 + int64(len(commits))
	err := s.UpdatePolicy(ctx, func(store.PolicyTx) error { return errAbort })
	wantErr(t, "aborted update", err, errAbort)
	err = s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "analyst") })
	wantErr(t, "failing update", err, store.ErrExists)
	if v := version(t, s); v != want {
		t.Errorf("after failed updates: PolicyVersion = %d, want %d", v, want)
	}
	// Writes outside UpdatePolicy are not policy.
	if err := s.CreateToken(ctx, store.Token{Hash: "bb22", UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureSecret(ctx, "list-token-key", []byte("k")); err != nil {
		t.Fatal(err)
	}
	if v := version(t, s); v != want {
		t.Errorf("after token and secret writes: PolicyVersion = %d, want %d", v, want)
	}
}

func testLoadPolicyEmpty(t *testing.T, s store.Store) {
	p := load(t, s)
	if len(p.Roles) != 0 || len(p.Users) != 0 {
		t.Errorf("empty store loads\n%s", dump(p))
	}
	if v := version(t, s); p.Version != v {
		t.Errorf("LoadPolicy version %d, PolicyVersion %d", p.Version, v)
	}
}

func testLoadPolicy(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := ms(time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC))
	// Everything goes in out of order, some of it in one update and some
	// in others.
	update(t, s, func(tx store.PolicyTx) error {
		return do(
			func() error { return tx.CreateRole(ctx, "zeta") },
			func() error { return tx.CreateRole(ctx, "alpha") },
			func() error { return tx.CreateRole(ctx, "Mid") },
			func() error { return tx.GrantRoleToGroup(ctx, "alpha", "ops") },
			func() error { return tx.GrantRoleToGroup(ctx, "alpha", "Eng") },
			func() error { return tx.GrantRoleToGroup(ctx, "alpha", "data") },
			func() error { return tx.GrantRoleToGroup(ctx, "zeta", "eng") },
			func() error {
				return tx.PutUser(ctx, store.User{Name: "bob", Groups: []string{"ops", "eng", "data"}, CreatedAt: created})
			},
		)
	})
	alpha := []store.Grant{
		tableGrant("alpha", "SELECT", "db.t", "", ""),
		{Role: "alpha", Privilege: "ALL", ObjectKind: "DATABASE", Object: "db"},
		uriGrant("alpha", "ALL", "s3://b/p"),
		tableGrant("alpha", "INSERT", "db.t", "", ""),
		tableGrant("alpha", "SELECT", "db.t", "a,b", ""),
		tableGrant("alpha", "SELECT", "db.t", "", "x > 1"),
		tableGrant("alpha", "SELECT", "db.a", "", ""),
		{Role: "alpha", Privilege: "ALL", ObjectKind: "SERVER", Object: ""},
		{Role: "alpha", Privilege: "CREATE", ObjectKind: "DATABASE", Object: "db"},
	}
	addGrants(t, s, alpha...)
	addGrants(t, s, uriGrant("zeta", "SELECT", "s3://z/"))
	putUsers(t, s,
		store.User{Name: "alice", CreatedAt: created.Add(time.Hour)},
		store.User{Name: "Carol", Groups: []string{"eng"}, CreatedAt: created.Add(2 * time.Hour)},
	)

	want := store.PolicyData{
		Version: version(t, s),
		Roles: []store.RoleRecord{
			{Name: "Mid"},
			{
				Name:   "alpha",
				Groups: []string{"Eng", "data", "ops"},
				// Ordered by object kind, object, columns, row filter,
				// privilege.
				Grants: []store.Grant{alpha[1], alpha[8], alpha[7], alpha[6], alpha[3], alpha[0], alpha[5], alpha[4], alpha[2]},
			},
			{Name: "zeta", Groups: []string{"eng"}, Grants: []store.Grant{uriGrant("zeta", "SELECT", "s3://z/")}},
		},
		Users: []store.User{
			{Name: "Carol", Groups: []string{"eng"}, CreatedAt: created.Add(2 * time.Hour)},
			{Name: "alice", CreatedAt: created.Add(time.Hour)},
			{Name: "bob", Groups: []string{"data", "eng", "ops"}, CreatedAt: created},
		},
	}
	p := load(t, s)
	if got, want := dump(p), dump(want); got != want {
		t.Errorf("LoadPolicy:\n%s\nwant\n%s", got, want)
	}
	for _, u := range p.Users {
		if u.CreatedAt.Location() != time.UTC {
			t.Errorf("user %s CreatedAt location = %v, want UTC", u.Name, u.CreatedAt.Location())
		}
	}
}

func testPutUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := ms(time.Date(2025, 5, 6, 7, 8, 9, 123_000_000, time.UTC))
	before := time.Now().Add(-time.Second)
	putUsers(t, s,
		store.User{Name: "alice", Groups: []string{"eng", "data", "eng", "Data", "data"}},
		store.User{Name: "bob", CreatedAt: created.In(time.FixedZone("X", -7200))},
		store.User{Name: "Alice", Groups: []string{"ops"}, CreatedAt: created},
	)
	tests := []struct {
		name   string
		groups []string
	}{
		// Sorted and distinct.
		{"alice", []string{"Data", "data", "eng"}},
		{"bob", nil},
		// Names are case-sensitive.
		{"Alice", []string{"ops"}},
	}
	for _, tt := range tests {
		u, err := s.GetUser(ctx, tt.name)
		if err != nil {
			t.Fatalf("GetUser(%s): %v", tt.name, err)
		}
		if u.Name != tt.name || !slices.Equal(u.Groups, tt.groups) {
			t.Errorf("GetUser(%s) = %q %q, want groups %q", tt.name, u.Name, u.Groups, tt.groups)
		}
		if u.CreatedAt.Location() != time.UTC {
			t.Errorf("GetUser(%s).CreatedAt location = %v, want UTC", tt.name, u.CreatedAt.Location())
		}
	}
	alice, _ := s.GetUser(ctx, "alice")
	if alice.CreatedAt.Before(before) || alice.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("alice CreatedAt = %v, want about now", alice.CreatedAt)
	}
	if bob, _ := s.GetUser(ctx, "bob"); !bob.CreatedAt.Equal(created) {
		t.Errorf("bob CreatedAt = %v, want %v", bob.CreatedAt, created)
	}
	// LoadPolicy agrees with GetUser.
	p := load(t, s)
	for _, u := range p.Users {
		got, _ := s.GetUser(ctx, u.Name)
		if !slices.Equal(got.Groups, u.Groups) || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Errorf("GetUser(%s) = %+v, LoadPolicy has %+v", u.Name, got, u)
		}
	}
}

func testPutUserReplacesGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := ms(time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC))
	putUsers(t, s, store.User{Name: "alice", Groups: []string{"eng", "data"}, CreatedAt: created})
	steps := []struct {
		name   string
		groups []string
	}{
		{"other groups", []string{"ops", "eng"}},
		{"no groups", nil},
		{"groups again", []string{"data"}},
	}
	for _, step := range steps {
		// The CreatedAt given on replace is ignored: the user keeps the
		// one it was created with.
		putUsers(t, s, store.User{Name: "alice", Groups: step.groups, CreatedAt: created.Add(time.Hour)})
		u, err := s.GetUser(ctx, "alice")
		if err != nil {
			t.Fatalf("%s: GetUser: %v", step.name, err)
		}
		want := slices.Sorted(slices.Values(step.groups))
		if !slices.Equal(u.Groups, want) {
			t.Errorf("%s: groups %q, want %q", step.name, u.Groups, want)
		}
		if !u.CreatedAt.Equal(created) {
			t.Errorf("%s: CreatedAt = %v, want the original %v", step.name, u.CreatedAt, created)
		}
	}
	if p := load(t, s); len(p.Users) != 1 {
		t.Errorf("users:\n%s\nwant alice only", dump(p))
	}
}

func testGetUserMissing(t *testing.T, s store.Store) {
	putUsers(t, s, store.User{Name: "alice"})
	for _, name := range []string{"bob", "Alice", ""} {
		if _, err := s.GetUser(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser(%q): err = %v, want ErrNotFound", name, err)
		}
	}
}

func testDeleteUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	putUsers(t, s,
		store.User{Name: "alice", Groups: []string{"eng", "data"}},
		store.User{Name: "bob", Groups: []string{"eng"}},
	)
	for _, k := range []store.AccessKey{key("LGALICE1", "alice"), key("LGALICE2", "alice"), key("LGBOB", "bob")} {
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []store.Token{{Hash: "a1", UserName: "alice"}, {Hash: "a2", UserName: "alice"}, {Hash: "b1", UserName: "bob"}} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}

	update(t, s, func(tx store.PolicyTx) error { return tx.DeleteUser(ctx, "alice") })

	if _, err := s.GetUser(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser after delete: err = %v, want ErrNotFound", err)
	}
	if keys, err := s.ListAccessKeys(ctx, "alice"); err != nil || len(keys) != 0 {
		t.Errorf("alice's access keys after delete: %v, %v; want none", keys, err)
	}
	for _, hash := range []string{"a1", "a2"} {
		if _, err := s.GetToken(ctx, hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetToken(%s) after delete: err = %v, want ErrNotFound", hash, err)
		}
	}
	// bob keeps everything.
	if bob, err := s.GetUser(ctx, "bob"); err != nil || !slices.Equal(bob.Groups, []string{"eng"}) {
		t.Errorf("GetUser(bob) = %+v, %v", bob, err)
	}
	if _, err := s.GetAccessKey(ctx, "LGBOB"); err != nil {
		t.Errorf("bob's access key: %v", err)
	}
	if _, err := s.GetToken(ctx, "b1"); err != nil {
		t.Errorf("bob's token: %v", err)
	}
	if p := load(t, s); len(p.Users) != 1 || p.Users[0].Name != "bob" {
		t.Errorf("users after delete:\n%s", dump(p))
	}
	// A user created again under the name has none of the old groups.
	putUsers(t, s, store.User{Name: "alice"})
	if u, err := s.GetUser(ctx, "alice"); err != nil || len(u.Groups) != 0 {
		t.Errorf("recreated alice = %+v, %v; want no groups", u, err)
	}
}

func testDeleteUserMissing(t *testing.T, s store.Store) {
	ctx := t.Context()
	putUsers(t, s, store.User{Name: "alice"})
	// carol has a key and a token but no user record: a failed DeleteUser
	// leaves them be.
	if err := s.CreateAccessKey(ctx, key("LGCAROL", "carol")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, store.Token{Hash: "c1", UserName: "carol"}); err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx store.PolicyTx) error {
		for _, name := range []string{"carol", "Alice", "nobody"} {
			wantErr(t, "DeleteUser("+name+")", tx.DeleteUser(ctx, name), store.ErrNotFound)
		}
		wantErr(t, "DeleteUser(alice)", tx.DeleteUser(ctx, "alice"), nil)
		wantErr(t, "second DeleteUser(alice)", tx.DeleteUser(ctx, "alice"), store.ErrNotFound)
		return nil
	})
	if _, err := s.GetAccessKey(ctx, "LGCAROL"); err != nil {
		t.Errorf("carol's access key after a failed DeleteUser: %v", err)
	}
	if _, err := s.GetToken(ctx, "c1"); err != nil {
		t.Errorf("carol's token after a failed DeleteUser: %v", err)
	}
}

func testTokenRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := ms(time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC))
	tokens := []store.Token{
		{Hash: "0123abcd", UserName: "alice", CreatedAt: created},
		// Expired tokens come back too: expiry is the caller's decision.
		{Hash: "4567ef01", UserName: "alice", CreatedAt: created, ExpiresAt: created.Add(time.Hour).In(time.FixedZone("X", 3600))},
		{Hash: "89ab2345", UserName: "bob", CreatedAt: created, ExpiresAt: time.Date(2030, 6, 7, 8, 9, 10, 123_456_789, time.UTC)},
		// A token issued for a JWT session carries the JWT's groups.
		{Hash: "aa55aa55", UserName: "jdoe", CreatedAt: created, SessionGroups: []string{"analysts", "finance"}, SessionGroupsFold: true},
		{Hash: "bb66bb66", UserName: "unix", CreatedAt: created, SessionGroups: []string{"Staff"}},
		{Hash: "cc77cc77", UserName: "nobody", CreatedAt: created, SessionGroups: []string{}},
	}
	for _, tok := range tokens {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok.Hash, err)
		}
	}
	for _, tok := range tokens {
		got, err := s.GetToken(ctx, tok.Hash)
		if err != nil {
			t.Fatalf("GetToken(%s): %v", tok.Hash, err)
		}
		want := tok
		if !tok.ExpiresAt.IsZero() {
			want.ExpiresAt = ms(tok.ExpiresAt)
		}
		if got.Hash != want.Hash || got.UserName != want.UserName ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
			(got.SessionGroups == nil) != (want.SessionGroups == nil) || !slices.Equal(got.SessionGroups, want.SessionGroups) ||
			got.SessionGroupsFold != want.SessionGroupsFold {
			t.Errorf("round trip:\n got  %+v\n want %+v", got, want)
		}
		if got.CreatedAt.Location() != time.UTC || (!got.ExpiresAt.IsZero() && got.ExpiresAt.Location() != time.UTC) {
			t.Errorf("token %s times not in UTC: %+v", tok.Hash, got)
		}
	}
	if got, _ := s.GetToken(ctx, "0123abcd"); !got.ExpiresAt.IsZero() {
		t.Errorf("never-expiring token came back with ExpiresAt %v", got.ExpiresAt)
	}

	before := time.Now().Add(-time.Second)
	if err := s.CreateToken(ctx, store.Token{Hash: "cdef6789", UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetToken(ctx, "cdef6789")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
	}
}

func testTokenCreateDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.CreateToken(ctx, store.Token{Hash: "dup", UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateToken(ctx, store.Token{Hash: "dup", UserName: "mallory", ExpiresAt: time.Now()})
	wantErr(t, "second CreateToken", err, store.ErrExists)
	got, err := s.GetToken(ctx, "dup")
	if err != nil {
		t.Fatal(err)
	}
	if got.UserName != "alice" || !got.ExpiresAt.IsZero() {
		t.Errorf("failed create overwrote the token: %+v", got)
	}
}

func testTokenGetMissing(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.CreateToken(ctx, store.Token{Hash: "abcd", UserName: "alice"}); err != nil {
		t.Fatal(err)
	}
	for _, hash := range []string{"abce", "ABCD", ""} {
		if _, err := s.GetToken(ctx, hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetToken(%q): err = %v, want ErrNotFound", hash, err)
		}
	}
}

func testDeleteTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tok := range []store.Token{
		{Hash: "a1", UserName: "alice"},
		{Hash: "a2", UserName: "alice", ExpiresAt: time.Now().Add(-time.Hour)},
		{Hash: "a3", UserName: "alice", ExpiresAt: time.Now().Add(time.Hour)},
		{Hash: "b1", UserName: "bob"},
	} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		user string
		want int
	}{{"alice", 3}, {"alice", 0}, {"Bob", 0}, {"nobody", 0}}
	for _, step := range steps {
		n, err := s.DeleteTokens(ctx, step.user)
		if err != nil || n != step.want {
			t.Errorf("DeleteTokens(%s) = %d, %v; want %d, nil", step.user, n, err, step.want)
		}
	}
	for _, hash := range []string{"a1", "a2", "a3"} {
		if _, err := s.GetToken(ctx, hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetToken(%s) after DeleteTokens: err = %v, want ErrNotFound", hash, err)
		}
	}
	if _, err := s.GetToken(ctx, "b1"); err != nil {
		t.Errorf("bob's token: %v", err)
	}
}

func testEnsureSecret(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := []byte{0x00, 0xff, 'k', 0x80, 0x00}
	steps := []struct {
		name, secret string
		value, want  []byte
	}{
		{"first writer", "list-token-key", first, first},
		{"second writer", "list-token-key", []byte("other"), first},
		{"another name", "cookie-key", []byte("cookie"), []byte("cookie")},
		{"names are case-sensitive", "List-Token-Key", []byte("upper"), []byte("upper")},
		{"first writer, still", "list-token-key", []byte("third"), first},
	}
	for _, step := range steps {
		got, err := s.EnsureSecret(ctx, step.secret, step.value)
		if err != nil {
			t.Fatalf("%s: EnsureSecret: %v", step.name, err)
		}
		if string(got) != string(step.want) {
			t.Errorf("%s: EnsureSecret(%s) = %x, want %x", step.name, step.secret, got, step.want)
		}
	}
}

// testEnsureSecretConcurrent races writers offering different values: all
// of them must return the one that was stored.
func testEnsureSecretConcurrent(t *testing.T, s store.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const writers = 16
	got := make([]string, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			v, err := s.EnsureSecret(ctx, "race", fmt.Appendf(nil, "value-%02d", w))
			if err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
			got[w] = string(v)
		})
	}
	wg.Wait()
	if !strings.HasPrefix(got[0], "value-") {
		t.Fatalf("stored %q, none of the offered values", got[0])
	}
	for w, v := range got {
		if v != got[0] {
			t.Errorf("writer %d got %q, writer 0 got %q", w, v, got[0])
		}
	}
}

// testConcurrentUpdatePolicy runs updates from several goroutines at once
// on one store, with readers alongside. Every update must succeed (SQLite:
// immediate transactions and busy_timeout), no commit may be lost, and
// every snapshot a reader loads must be whole: each update creates one
// role with one grant and one group, so a snapshot holds exactly as many
// roles as updates it has seen, each complete.
func testConcurrentUpdatePolicy(t *testing.T, s store.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	const workers, perWorker = 8, 10
	v0 := version(t, s)

	var writers, readers sync.WaitGroup
	done := make(chan struct{})
	for w := range workers {
		writers.Go(func() {
			for i := range perWorker {
				role := fmt.Sprintf("role-%02d-%02d", w, i)
				err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
					switch ok, err := tx.RoleExists(ctx, role); {
					case err != nil:
						return err
					case ok:
						return fmt.Errorf("role %s exists before it is created", role)
					}
					return do(
						func() error { return tx.CreateRole(ctx, role) },
						func() error { return tx.AddGrant(ctx, uriGrant(role, "SELECT", "s3://shared/")) },
						func() error { return tx.GrantRoleToGroup(ctx, role, "everyone") },
					)
				})
				if err != nil {
					t.Errorf("writer %d update %d: %v", w, i, err)
				}
			}
		})
	}
	for r := range 2 {
		readers.Go(func() {
			last := v0
			for {
				select {
				case <-done:
					return
				default:
				}
				p, err := s.LoadPolicy(ctx)
				if err != nil {
					t.Errorf("reader %d: LoadPolicy: %v", r, err)
					return
				}
				if p.Version < last {
					t.Errorf("reader %d: version went back from %d to %d", r, last, p.Version)
					return
				}
				last = p.Version
				// One torn snapshot is enough: stop before the log floods.
				if int64(len(p.Roles)) != p.Version-v0 {
					t.Errorf("reader %d: snapshot at version %d holds %d roles, want %d",
						r, p.Version, len(p.Roles), p.Version-v0)
					return
				}
				for _, role := range p.Roles {
					if len(role.Grants) != 1 || len(role.Groups) != 1 {
						t.Errorf("reader %d: role %s half there: %d grants, %d groups",
							r, role.Name, len(role.Grants), len(role.Groups))
						return
					}
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()

	const commits = workers * perWorker
	if v := version(t, s); v != v0+commits {
		t.Errorf("PolicyVersion = %d after %d commits from %d", v, commits, v0)
	}
	p := load(t, s)
	if len(p.Roles) != commits {
		t.Errorf("loaded %d roles, want %d", len(p.Roles), commits)
	}
}
