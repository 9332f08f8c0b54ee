package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/store"
)

// Grant options (the HAVING ATTRIBUTE and TRANSFORM clauses, part of a
// grant's identity), RemoveObjectPrivilegeGrants (REVOKE of every variant)
// and column attributes. Run runs these through catalogTests.

// withOptions is g with options.
func withOptions(g store.Grant, options string) store.Grant {
	g.Options = options
	return g
}

// roleGrants returns the grants of role in a fresh snapshot.
func roleGrants(t *testing.T, s store.Store, role string) []store.Grant {
	t.Helper()
	r, ok := findRole(load(t, s), role)
	if !ok {
		t.Fatalf("role %s missing", role)
	}
	return r.Grants
}

func testGrantOptions(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "analyst")
	const (
		mask  = "TRANSFORM ssn WITH mask_last(4)"
		pii   = "HAVING ATTRIBUTE IN (pii) TRANSFORM pii WITH mask()"
		nopii = "HAVING ATTRIBUTE NOT IN (pii)"
	)
	var (
		plain    = tableGrant("analyst", "SELECT", "sales.orders", "", "")
		masked   = withOptions(plain, mask)
		piiDB    = store.Grant{Role: "analyst", Privilege: "SELECT", ObjectKind: "DATABASE", Object: "sales", Options: pii}
		nopiiDB  = withOptions(piiDB, nopii)
		plainDB  = withOptions(piiDB, "")
		combined = withOptions(tableGrant("analyst", "SELECT", "sales.orders", "id,ssn", "region = 'EU'"), mask)
		// Differs from masked only in one byte of the options.
		masked5 = withOptions(plain, "TRANSFORM ssn WITH mask_last(5)")
		// The field boundary between row filter and options moves: another
		// grant, not a duplicate of combined.
		shifted = withOptions(tableGrant("analyst", "SELECT", "sales.orders", "id,ssn", "region = 'EU'T"), mask[1:])
	)
	update(t, s, func(tx store.PolicyTx) error {
		for _, g := range []store.Grant{plain, masked, piiDB, nopiiDB, plainDB, combined, masked5, shifted, masked, piiDB} {
			wantErr(t, "AddGrant("+grantString(g)+")", tx.AddGrant(ctx, g), nil)
		}
		return nil
	})
	// Identical grants, options and all, in a later transaction: no-ops.
	addGrants(t, s, masked, combined, nopiiDB)

	// Grants that differ only in Options coexist, ordered by kind, object,
	// columns, row filter, options, privilege; LoadPolicy returns Options.
	want := []store.Grant{plainDB, piiDB, nopiiDB, plain, masked, masked5, combined, shifted}
	if got := roleGrants(t, s, "analyst"); !slices.Equal(got, want) {
		t.Fatalf("grants:\n%s\nwant\n%s", grantsString(got), grantsString(want))
	}

	// RemoveGrants matches Options exactly; an empty privilege still
	// matches every privilege, of those options only.
	addGrants(t, s, withOptions(tableGrant("analyst", "INSERT", "sales.orders", "", ""), mask))
	anyPrivilege := func(g store.Grant) store.Grant { g.Privilege = ""; return g }
	steps := []struct {
		name   string
		remove store.Grant
		want   int
	}{
		{"options not stored", withOptions(plain, "TRANSFORM ssn WITH mask_last(3)"), 0},
		{"options of another grant's prefix", withOptions(plain, mask[:len(mask)-1]), 0},
		{"exact, no options", plain, 1},
		{"exact, no options, again", plain, 0},
		{"every privilege with options", anyPrivilege(masked), 2},
		{"exact, database attributes", piiDB, 1},
		{"columns and filter without options", withOptions(combined, ""), 0},
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
	want = []store.Grant{plainDB, nopiiDB, masked5, combined, shifted}
	if got := roleGrants(t, s, "analyst"); !slices.Equal(got, want) {
		t.Errorf("grants after RemoveGrants:\n%s\nwant\n%s", grantsString(got), grantsString(want))
	}
}

func testRemoveObjectPrivilegeGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "a", "b")
	const mask = "TRANSFORM ssn WITH mask()"
	selectVariants := []store.Grant{
		tableGrant("a", "SELECT", "sales.orders", "", ""),
		tableGrant("a", "SELECT", "sales.orders", "id,ssn", ""),
		tableGrant("a", "SELECT", "sales.orders", "", "region = 'EU'"),
		withOptions(tableGrant("a", "SELECT", "sales.orders", "", ""), mask),
		withOptions(tableGrant("a", "SELECT", "sales.orders", "id,ssn", "region = 'EU'"), mask),
		// Stored before the parser lower-cased catalog names: the policy
		// applies it to sales.orders, so REVOKE reaches it.
		tableGrant("a", "SELECT", "Sales.Orders", "id", ""),
	}
	insertVariants := []store.Grant{
		tableGrant("a", "INSERT", "sales.orders", "", ""),
		withOptions(tableGrant("a", "INSERT", "sales.orders", "", "x > 1"), mask),
	}
	untouched := []store.Grant{
		tableGrant("b", "SELECT", "sales.orders", "", ""),                           // another role
		tableGrant("a", "SELECT", "sales.orders_v2", "", ""),                        // another table
		tableGrant("a", "SELECT", "sales.order", "", ""),                            // a prefix of the name
		{Role: "a", Privilege: "SELECT", ObjectKind: "URI", Object: "sales.orders"}, // another kind
		{Role: "a", Privilege: "SELECT", ObjectKind: "URI", Object: "s3://Lake/x"},
		{Role: "a", Privilege: "SELECT", ObjectKind: "DATABASE", Object: "sales", Options: "HAVING ATTRIBUTE IN (pii)"},
		tableGrant("a", "DELETE", "sales.items", "", ""),
	}
	addGrants(t, s, slices.Concat(selectVariants, insertVariants, untouched)...)

	steps := []struct {
		name                    string
		role, kind, object, prv string
		want                    int
	}{
		{"one privilege, every variant", "a", "TABLE", "sales.orders", "SELECT", len(selectVariants)},
		{"one privilege again", "a", "TABLE", "sales.orders", "SELECT", 0},
		{"a privilege not held", "a", "TABLE", "sales.orders", "DELETE", 0},
		{"role missing", "missing", "TABLE", "sales.orders", "", 0},
		{"URI names compare exactly", "a", "URI", "s3://lake/x", "", 0},
		{"every privilege", "a", "TABLE", "SALES.orders", "", len(insertVariants)},
	}
	update(t, s, func(tx store.PolicyTx) error {
		for _, step := range steps {
			n, err := tx.RemoveObjectPrivilegeGrants(ctx, step.role, step.kind, step.object, step.prv)
			if err != nil || n != step.want {
				t.Errorf("RemoveObjectPrivilegeGrants (%s) = %d, %v; want %d, nil", step.name, n, err, step.want)
			}
		}
		return nil
	})
	var got []store.Grant
	for _, r := range load(t, s).Roles {
		got = append(got, r.Grants...)
	}
	if g, w := sortedGrants(got), sortedGrants(untouched); g != w {
		t.Errorf("grants left:\n%s\nwant\n%s", g, w)
	}
}

// testRenameObjectGrantsKeepsOptions checks that a renamed grant keeps its
// options, and that only a grant equal in every field, options included,
// to one already on the new name merges into it.
func testRenameObjectGrantsKeepsOptions(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "a")
	const mask, hide = "TRANSFORM ssn WITH mask()", "TRANSFORM ssn WITH null()"
	addGrants(t, s,
		withOptions(tableGrant("a", "SELECT", "sales.orders", "", ""), mask),
		withOptions(tableGrant("a", "SELECT", "sales.orders", "id", ""), hide),
		// On the new name already: the first with the same options (a
		// duplicate), the second with other options (another grant).
		withOptions(tableGrant("a", "SELECT", "archive.orders", "", ""), mask),
		withOptions(tableGrant("a", "SELECT", "archive.orders", "id", ""), mask),
	)
	update(t, s, func(tx store.PolicyTx) error {
		n, err := tx.RenameObjectGrants(ctx, "TABLE", "sales.orders", "archive.orders")
		if err != nil || n != 2 {
			t.Errorf("RenameObjectGrants = %d, %v; want 2", n, err)
		}
		return nil
	})
	want := []store.Grant{
		withOptions(tableGrant("a", "SELECT", "archive.orders", "", ""), mask),
		withOptions(tableGrant("a", "SELECT", "archive.orders", "id", ""), mask),
		withOptions(tableGrant("a", "SELECT", "archive.orders", "id", ""), hide),
	}
	if got := roleGrants(t, s, "a"); !slices.Equal(got, want) {
		t.Errorf("grants after the rename:\n%s\nwant\n%s", grantsString(got), grantsString(want))
	}
}

func testColumnAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	createDatabases(t, s, "hr")
	in := store.Table{Database: "hr", Name: "people", Location: "s3://lake/hr/people", Format: "PARQUET",
		Columns: []store.Column{
			// Written unsorted with a duplicate: stored sorted and distinct.
			{Name: "ssn", Type: "string", Attributes: []string{"pii.ssn", "pii", "pii.ssn", "Pii"}},
			{Name: "name", Type: "string", Comment: "full name", Attributes: []string{"pii"}},
			// None, and an empty slice: both read nil.
			{Name: "id", Type: "bigint"},
			{Name: "dept", Type: "string", Attributes: []string{}},
		},
		PartitionColumns: []store.Column{{Name: "country", Type: "string", Attributes: []string{"geo.country"}}},
	}
	want := normTable(in)
	want.Columns = []store.Column{
		{Name: "ssn", Type: "string", Attributes: []string{"Pii", "pii", "pii.ssn"}},
		{Name: "name", Type: "string", Comment: "full name", Attributes: []string{"pii"}},
		{Name: "id", Type: "bigint"},
		{Name: "dept", Type: "string"},
	}
	createTables(t, s, in)
	if !slices.Equal(in.Columns[0].Attributes, []string{"pii.ssn", "pii", "pii.ssn", "Pii"}) {
		t.Errorf("CreateTable changed the caller's attributes: %q", in.Columns[0].Attributes)
	}
	got, err := getTable(t, s, "hr", "people")
	if err != nil {
		t.Fatal(err)
	}
	want.CreatedAt = got.CreatedAt // set by the store
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetTable:\n got %s\nwant %s", tableString(got), tableString(want))
	}
	p := load(t, s)
	if i := slices.IndexFunc(p.Tables, func(tb store.Table) bool { return tb.Name == "people" }); i < 0 || !reflect.DeepEqual(p.Tables[i], want) {
		t.Errorf("LoadPolicy's hr.people differs:\n%s\nwant %s", dump(p), tableString(want))
	}

	// PutTable replaces them (ALTER COLUMN … SET ATTRIBUTES).
	put := got
	put.Columns = slices.Clone(got.Columns)
	put.Columns[0].Attributes = nil
	put.Columns[2].Attributes = []string{"key"}
	update(t, s, func(tx store.PolicyTx) error { return tx.PutTable(ctx, put) })
	want.Columns[0].Attributes = nil
	want.Columns[2].Attributes = []string{"key"}
	if got, err := getTable(t, s, "hr", "people"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("after PutTable (%v):\n got %s\nwant %s", err, tableString(got), tableString(want))
	}

	// The 4 MiB bound counts attributes: few columns, many attributes.
	huge := simpleTable("hr", "huge")
	huge.Columns = []store.Column{{Name: "c", Type: "string"}}
	for i := range 200_000 {
		huge.Columns[0].Attributes = append(huge.Columns[0].Attributes, fmt.Sprintf("attribute.%08d", i))
	}
	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "CreateTable(attributes over 4 MiB)", tx.CreateTable(ctx, huge), store.ErrTooLarge)
		// Within the bound, long attribute names are kept intact.
		long := simpleTable("hr", "long")
		long.Columns = []store.Column{{Name: "c", Type: "string", Attributes: []string{strings.Repeat("a", 100_000), "ü.🏷️"}}}
		return tx.CreateTable(ctx, long)
	})
	if got, err := getTable(t, s, "hr", "long"); err != nil || len(got.Columns) != 1 ||
		!slices.Equal(got.Columns[0].Attributes, []string{strings.Repeat("a", 100_000), "ü.🏷️"}) {
		t.Errorf("long attributes did not round-trip (%v)", err)
	}
}
