package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store"
)

// The catalog: databases, tables and partitions (PolicyTx), read back by
// GetDatabase, GetTable, ListTables and LoadPolicy, and the grant
// housekeeping that goes with renaming and dropping them.

// catalogTests are the tests of this file; Run runs them.
var catalogTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"CatalogDatabases", testCatalogDatabases},
	{"CatalogDropDatabase", testCatalogDropDatabase},
	{"CatalogTableRoundTrip", testCatalogTableRoundTrip},
	{"CatalogTableErrors", testCatalogTableErrors},
	{"CatalogPutTable", testCatalogPutTable},
	{"CatalogRenameTable", testCatalogRenameTable},
	{"CatalogPartitions", testCatalogPartitions},
	{"CatalogLoadPolicy", testCatalogLoadPolicy},
	{"CatalogNamesCompareExactly", testCatalogNamesCompareExactly},
	{"CatalogBounds", testCatalogBounds},
	{"CatalogRollback", testCatalogRollback},
	{"RemoveObjectGrants", testRemoveObjectGrants},
	{"RenameObjectGrants", testRenameObjectGrants},
	// Grant options and column attributes (options.go).
	{"GrantOptions", testGrantOptions},
	{"RemoveObjectPrivilegeGrants", testRemoveObjectPrivilegeGrants},
	{"RenameObjectGrantsKeepsOptions", testRenameObjectGrantsKeepsOptions},
	{"ColumnAttributes", testColumnAttributes},
}

// salesOrders is a table with every field set: nested types, unicode
// comments, a delimiter, properties out of key order, partition columns.
func salesOrders() store.Table {
	return store.Table{
		Database: "sales",
		Name:     "orders",
		Location: "s3://lake/sales/orders",
		Format:   "TEXTFILE",
		Columns: []store.Column{
			{Name: "id", Type: "bigint", Comment: "clé primaire — 主键"},
			{Name: "amount", Type: "decimal(10,2)", Attributes: []string{"finance.amount", "pii"}},
			{Name: "tags", Type: "array<string>", Comment: "emoji 🏷️"},
			{Name: "address", Type: "struct<street:string,zip:varchar(10),geo:map<string,array<double>>>"},
			{Name: "notes", Type: "string", Comment: "quotes \" ' and \\ and\nnewline"},
		},
		PartitionColumns: []store.Column{{Name: "year", Type: "int"}, {Name: "region", Type: "string", Comment: "région", Attributes: []string{"geo"}}},
		Comment:          "Bestellungen — ordres — 注文",
		FieldDelimiter:   "\u0001",
		Properties: []store.Property{
			{Key: "skip.header.line.count", Value: "1"},
			{Key: "comment.char", Value: "#"},
			{Key: "a", Value: ""},
		},
		CreatedAt: ms(time.Date(2025, 6, 7, 8, 9, 10, 123_000_000, time.UTC)),
	}
}

// normTable is t as the store returns it: slices non-nil, times in UTC
// milliseconds.
func normTable(t store.Table) store.Table {
	if t.Columns == nil {
		t.Columns = []store.Column{}
	}
	if t.PartitionColumns == nil {
		t.PartitionColumns = []store.Column{}
	}
	if t.Properties == nil {
		t.Properties = []store.Property{}
	}
	if t.Partitions == nil {
		t.Partitions = []store.Partition{}
	}
	t.CreatedAt = ms(t.CreatedAt)
	return t
}

// tableString renders a table, partitions included, for diffs.
func tableString(t store.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table %q.%q location %q format %q comment %q delimiter %q created %s\n",
		t.Database, t.Name, t.Location, t.Format, t.Comment, t.FieldDelimiter, t.CreatedAt.Format(time.RFC3339Nano))
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "  column %q %q %q attributes %#v\n", c.Name, c.Type, c.Comment, c.Attributes)
	}
	for _, c := range t.PartitionColumns {
		fmt.Fprintf(&b, "  partition column %q %q %q attributes %#v\n", c.Name, c.Type, c.Comment, c.Attributes)
	}
	for _, p := range t.Properties {
		fmt.Fprintf(&b, "  property %q=%q\n", p.Key, p.Value)
	}
	for _, p := range t.Partitions {
		fmt.Fprintf(&b, "  partition %q %q created %s\n", p.Spec, p.Location, p.CreatedAt.Format(time.RFC3339Nano))
	}
	return b.String()
}

// getTable reads one table in its own transaction.
func getTable(t *testing.T, s store.Store, database, name string) (store.Table, error) {
	t.Helper()
	var got store.Table
	err := s.UpdatePolicy(t.Context(), func(tx store.PolicyTx) error {
		var err error
		got, err = tx.GetTable(t.Context(), database, name)
		return err
	})
	return got, err
}

// listTables reads the table names of database in its own transaction.
func listTables(t *testing.T, s store.Store, database string) ([]string, error) {
	t.Helper()
	var names []string
	err := s.UpdatePolicy(t.Context(), func(tx store.PolicyTx) error {
		var err error
		names, err = tx.ListTables(t.Context(), database)
		return err
	})
	return names, err
}

func createDatabases(t *testing.T, s store.Store, names ...string) {
	t.Helper()
	update(t, s, func(tx store.PolicyTx) error {
		for _, n := range names {
			if err := tx.CreateDatabase(t.Context(), store.Database{Name: n}); err != nil {
				return err
			}
		}
		return nil
	})
}

func createTables(t *testing.T, s store.Store, tables ...store.Table) {
	t.Helper()
	update(t, s, func(tx store.PolicyTx) error {
		for _, tb := range tables {
			if err := tx.CreateTable(t.Context(), tb); err != nil {
				return err
			}
		}
		return nil
	})
}

func addPartitions(t *testing.T, s store.Store, database, table string, parts ...store.Partition) {
	t.Helper()
	update(t, s, func(tx store.PolicyTx) error {
		for _, p := range parts {
			if err := tx.AddPartition(t.Context(), database, table, p); err != nil {
				return err
			}
		}
		return nil
	})
}

func simpleTable(database, name string) store.Table {
	return store.Table{Database: database, Name: name, Location: "s3://lake/" + database + "/" + name, Format: "PARQUET",
		Columns: []store.Column{{Name: "id", Type: "bigint"}}}
}

func part(spec string) store.Partition {
	return store.Partition{Spec: spec, Location: "s3://lake/p/" + spec, CreatedAt: ms(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))}
}

func testCatalogDatabases(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := ms(time.Date(2024, 12, 31, 23, 59, 59, 999_000_000, time.UTC))
	want := store.Database{Name: "sales", Comment: "Verkäufe — 销售", Location: "s3://lake/sales", CreatedAt: created}
	before := time.Now().Add(-time.Second)
	update(t, s, func(tx store.PolicyTx) error {
		return do(
			func() error { return tx.CreateDatabase(ctx, want) },
			func() error { return tx.CreateDatabase(ctx, store.Database{Name: "bare"}) },
		)
	})
	update(t, s, func(tx store.PolicyTx) error {
		got, err := tx.GetDatabase(ctx, "sales")
		if err != nil {
			return err
		}
		if got != want {
			t.Errorf("GetDatabase(sales) = %+v, want %+v", got, want)
		}
		bare, err := tx.GetDatabase(ctx, "bare")
		if err != nil {
			return err
		}
		if bare.Comment != "" || bare.Location != "" || bare.CreatedAt.Before(before) || bare.CreatedAt.After(time.Now().Add(time.Second)) ||
			bare.CreatedAt.Location() != time.UTC {
			t.Errorf("GetDatabase(bare) = %+v, want empty fields and CreatedAt set to now in UTC", bare)
		}
		wantErr(t, "CreateDatabase(sales) again", tx.CreateDatabase(ctx, store.Database{Name: "sales", Comment: "other"}), store.ErrExists)
		_, err = tx.GetDatabase(ctx, "missing")
		wantErr(t, "GetDatabase(missing)", err, store.ErrNotFound)
		_, err = tx.ListTables(ctx, "missing")
		wantErr(t, "ListTables(missing)", err, store.ErrNotFound)
		names, err := tx.ListTables(ctx, "bare")
		if err != nil || names == nil || len(names) != 0 {
			t.Errorf("ListTables(bare) = %#v, %v; want an empty, non-nil list", names, err)
		}
		return nil
	})
	// The refused duplicate changed nothing.
	p := load(t, s)
	if len(p.Databases) != 2 || p.Databases[0].Name != "bare" || p.Databases[1] != want {
		t.Errorf("LoadPolicy databases = %+v, want bare and %+v", p.Databases, want)
	}
}

func testCatalogDropDatabase(t *testing.T, s store.Store) {
	ctx := t.Context()
	createDatabases(t, s, "sales", "hr", "empty")
	createTables(t, s, simpleTable("sales", "orders"), simpleTable("sales", "returns"), simpleTable("hr", "staff"))
	addPartitions(t, s, "sales", "orders", part("year=2024"), part("year=2025"))
	createRoles(t, s, "r")
	addGrants(t, s, tableGrant("r", "SELECT", "sales.orders", "", ""), store.Grant{Role: "r", Privilege: "ALL", ObjectKind: "DATABASE", Object: "sales"})

	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "DropDatabase(missing)", tx.DropDatabase(ctx, "missing", false), store.ErrNotFound)
		wantErr(t, "DropDatabase(missing, cascade)", tx.DropDatabase(ctx, "missing", true), store.ErrNotFound)
		wantErr(t, "DropDatabase(sales) with tables", tx.DropDatabase(ctx, "sales", false), store.ErrNotEmpty)
		// The refusal left the transaction usable and the database whole.
		names, err := tx.ListTables(ctx, "sales")
		if err != nil || !slices.Equal(names, []string{"orders", "returns"}) {
			t.Errorf("ListTables(sales) after the refused drop = %q, %v", names, err)
		}
		return tx.DropDatabase(ctx, "empty", false)
	})
	update(t, s, func(tx store.PolicyTx) error { return tx.DropDatabase(ctx, "sales", true) })

	p := load(t, s)
	if len(p.Databases) != 1 || p.Databases[0].Name != "hr" {
		t.Errorf("databases after the drops: %+v, want hr", p.Databases)
	}
	if len(p.Tables) != 1 || p.Tables[0].Database != "hr" || p.Tables[0].Name != "staff" {
		t.Errorf("tables after the drops: %+v, want hr.staff", p.Tables)
	}
	// Grants are the caller's to remove.
	if r, _ := findRole(p, "r"); len(r.Grants) != 2 {
		t.Errorf("DropDatabase changed grants: %s", grantsString(r.Grants))
	}
	// A database created again under the name starts empty: no table or
	// partition survived the cascade.
	createDatabases(t, s, "sales")
	createTables(t, s, simpleTable("sales", "orders"))
	got, err := getTable(t, s, "sales", "orders")
	if err != nil || len(got.Partitions) != 0 {
		t.Errorf("recreated sales.orders = %+v, %v; want no partitions", got, err)
	}
	if names, err := listTables(t, s, "sales"); err != nil || !slices.Equal(names, []string{"orders"}) {
		t.Errorf("ListTables(recreated sales) = %q, %v; want [orders]", names, err)
	}
}

func testCatalogTableRoundTrip(t *testing.T, s store.Store) {
	createDatabases(t, s, "sales")
	want := normTable(salesOrders())
	in := salesOrders()
	in.Partitions = []store.Partition{part("year=1999/region=x")} // ignored by CreateTable
	before := time.Now().Add(-time.Second)
	bare := store.Table{Database: "sales", Name: "bare", Location: "s3://lake/bare", Format: "PARQUET"}
	createTables(t, s, in, bare, simpleTable("sales", "z"), simpleTable("sales", "a_b"), simpleTable("sales", "a"))

	got, err := getTable(t, s, "sales", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetTable round trip:\n got %s\nwant %s", tableString(got), tableString(want))
	}
	gotBare, err := getTable(t, s, "sales", "bare")
	if err != nil {
		t.Fatal(err)
	}
	if gotBare.Columns == nil || gotBare.PartitionColumns == nil || gotBare.Properties == nil || gotBare.Partitions == nil ||
		gotBare.CreatedAt.Before(before) || gotBare.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("GetTable(bare) = %#v; want non-nil empty slices and CreatedAt set to now", gotBare)
	}
	p := load(t, s)
	i := slices.IndexFunc(p.Tables, func(tb store.Table) bool { return tb.Name == "orders" })
	if i < 0 || !reflect.DeepEqual(p.Tables[i], want) {
		t.Errorf("LoadPolicy's sales.orders differs from what was created:\n%s", dump(p))
	}
	names, err := listTables(t, s, "sales")
	if want := []string{"a", "a_b", "bare", "orders", "z"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("ListTables = %q, %v; want %q", names, err, want)
	}
}

func testCatalogTableErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	createDatabases(t, s, "sales")
	createTables(t, s, simpleTable("sales", "orders"))
	// Every expected error in one transaction, which still commits.
	update(t, s, func(tx store.PolicyTx) error {
		dup := salesOrders()
		wantErr(t, "CreateTable(existing)", tx.CreateTable(ctx, dup), store.ErrExists)
		wantErr(t, "CreateTable(in missing database)", tx.CreateTable(ctx, simpleTable("missing", "t")), store.ErrNotFound)
		_, err := tx.GetTable(ctx, "sales", "missing")
		wantErr(t, "GetTable(missing)", err, store.ErrNotFound)
		_, err = tx.GetTable(ctx, "missing", "orders")
		wantErr(t, "GetTable(in missing database)", err, store.ErrNotFound)
		wantErr(t, "PutTable(missing)", tx.PutTable(ctx, simpleTable("sales", "missing")), store.ErrNotFound)
		wantErr(t, "DropTable(missing)", tx.DropTable(ctx, "sales", "missing"), store.ErrNotFound)
		wantErr(t, "AddPartition(missing table)", tx.AddPartition(ctx, "sales", "missing", part("a=1")), store.ErrNotFound)
		wantErr(t, "DropPartition(missing table)", tx.DropPartition(ctx, "sales", "missing", "a=1"), store.ErrNotFound)
		return tx.CreateTable(ctx, simpleTable("sales", "after_errors"))
	})
	got, err := getTable(t, s, "sales", "orders")
	if err != nil || got.Format != "PARQUET" || len(got.Columns) != 1 {
		t.Errorf("sales.orders after a refused CreateTable = %+v, %v; want the first definition", got, err)
	}
	if _, err := getTable(t, s, "sales", "after_errors"); err != nil {
		t.Errorf("work after the expected errors was not committed: %v", err)
	}
	update(t, s, func(tx store.PolicyTx) error { return tx.DropTable(ctx, "sales", "orders") })
	if _, err := getTable(t, s, "sales", "orders"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTable after DropTable: %v, want ErrNotFound", err)
	}
}

func testCatalogPutTable(t *testing.T, s store.Store) {
	ctx := t.Context()
	createDatabases(t, s, "sales")
	orig := salesOrders()
	createTables(t, s, orig)
	addPartitions(t, s, "sales", "orders", part("year=2024/region=eu"))

	// A new definition, CreatedAt zero: the stored one stays.
	repl := store.Table{
		Database: "sales", Name: "orders", Location: "s3://lake/v2/orders", Format: "ORC",
		Columns:    []store.Column{{Name: "id", Type: "string", Comment: "now text"}},
		Properties: []store.Property{{Key: "orc.compress", Value: "ZSTD"}},
		Partitions: []store.Partition{part("ignored=1")},
	}
	update(t, s, func(tx store.PolicyTx) error { return tx.PutTable(ctx, repl) })
	got, err := getTable(t, s, "sales", "orders")
	if err != nil {
		t.Fatal(err)
	}
	want := normTable(repl)
	want.CreatedAt = orig.CreatedAt
	want.Partitions = []store.Partition{part("year=2024/region=eu")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after PutTable:\n got %s\nwant %s", tableString(got), tableString(want))
	}

	// The same definition again (MySQL reports no row changed) and one
	// with a CreatedAt, which replaces the stored one.
	repl.CreatedAt = ms(time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC))
	update(t, s, func(tx store.PolicyTx) error {
		return do(func() error { return tx.PutTable(ctx, repl) }, func() error { return tx.PutTable(ctx, repl) })
	})
	if got, err := getTable(t, s, "sales", "orders"); err != nil || !got.CreatedAt.Equal(repl.CreatedAt) || len(got.Partitions) != 1 {
		t.Errorf("after PutTable with CreatedAt: %+v, %v", got, err)
	}
}

func testCatalogRenameTable(t *testing.T, s store.Store) {
	ctx := t.Context()
	createDatabases(t, s, "sales", "archive")
	orig := salesOrders()
	createTables(t, s, orig, simpleTable("sales", "taken"), simpleTable("archive", "taken"))
	parts := []store.Partition{part("year=2024/region=eu"), part("year=2025/region=us")}
	addPartitions(t, s, "sales", "orders", parts...)

	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "RenameTable(missing)", tx.RenameTable(ctx, "sales", "missing", "sales", "x"), store.ErrNotFound)
		wantErr(t, "RenameTable(to missing database)", tx.RenameTable(ctx, "sales", "orders", "missing", "orders"), store.ErrNotFound)
		wantErr(t, "RenameTable(onto a table)", tx.RenameTable(ctx, "sales", "orders", "sales", "taken"), store.ErrExists)
		wantErr(t, "RenameTable(onto a table in another database)", tx.RenameTable(ctx, "sales", "orders", "archive", "taken"), store.ErrExists)
		return tx.RenameTable(ctx, "sales", "orders", "sales", "orders_v1")
	})
	want := normTable(orig)
	want.Name = "orders_v1"
	want.Partitions = parts
	got, err := getTable(t, s, "sales", "orders_v1")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("renamed table (%v):\n got %s\nwant %s", err, tableString(got), tableString(want))
	}
	if _, err := getTable(t, s, "sales", "orders"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old name after RenameTable: %v, want ErrNotFound", err)
	}

	// Across databases: the partitions follow, and the old database no
	// longer lists it.
	update(t, s, func(tx store.PolicyTx) error {
		return tx.RenameTable(ctx, "sales", "orders_v1", "archive", "orders_2025")
	})
	want.Database, want.Name = "archive", "orders_2025"
	got, err = getTable(t, s, "archive", "orders_2025")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("table moved to archive (%v):\n got %s\nwant %s", err, tableString(got), tableString(want))
	}
	if names, err := listTables(t, s, "sales"); err != nil || !slices.Equal(names, []string{"taken"}) {
		t.Errorf("ListTables(sales) = %q, %v; want [taken]", names, err)
	}
	if names, err := listTables(t, s, "archive"); err != nil || !slices.Equal(names, []string{"orders_2025", "taken"}) {
		t.Errorf("ListTables(archive) = %q, %v; want [orders_2025 taken]", names, err)
	}
	// Its partitions belong to it: dropping the old database leaves them.
	update(t, s, func(tx store.PolicyTx) error { return tx.DropDatabase(ctx, "sales", true) })
	if got, err := getTable(t, s, "archive", "orders_2025"); err != nil || len(got.Partitions) != 2 {
		t.Errorf("moved table after dropping its old database: %+v, %v", got, err)
	}
	p := load(t, s)
	n := 0
	for _, tb := range p.Tables {
		n += len(tb.Partitions)
	}
	if len(p.Tables) != 2 || n != 2 {
		t.Errorf("LoadPolicy after the moves:\n%s", dump(p))
	}
}

func testCatalogPartitions(t *testing.T, s store.Store) {
	ctx := t.Context()
	createDatabases(t, s, "sales")
	createTables(t, s, salesOrders(), simpleTable("sales", "other"))
	// Out of order, in two updates; byte order puts "Z" before "a".
	addPartitions(t, s, "sales", "orders", part("year=2025/region=us"), part("year=2024/region=eu"))
	addPartitions(t, s, "sales", "orders", part("year=2024/region=Z"), part("year=2024/region=été"))
	addPartitions(t, s, "sales", "other", part("year=2024/region=eu")) // same spec, other table
	before := time.Now().Add(-time.Second)
	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "AddPartition(existing)", tx.AddPartition(ctx, "sales", "orders", store.Partition{Spec: "year=2024/region=eu", Location: "s3://other"}), store.ErrExists)
		return tx.AddPartition(ctx, "sales", "orders", store.Partition{Spec: "year=2023/region=eu", Location: "s3://lake/2023"})
	})
	got, err := getTable(t, s, "sales", "orders")
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]string, len(got.Partitions))
	for i, p := range got.Partitions {
		specs[i] = p.Spec
	}
	want := []string{"year=2023/region=eu", "year=2024/region=Z", "year=2024/region=eu", "year=2024/region=été", "year=2025/region=us"}
	if !slices.Equal(specs, want) {
		t.Errorf("partitions %q, want %q", specs, want)
	}
	if p := got.Partitions[2]; p != part("year=2024/region=eu") {
		t.Errorf("partition %+v, want the first one added (the duplicate refused)", p)
	}
	if p := got.Partitions[0]; p.Location != "s3://lake/2023" || p.CreatedAt.Before(before) || p.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("partition added without CreatedAt: %+v, want CreatedAt set to now", p)
	}
	pol := load(t, s)
	i := slices.IndexFunc(pol.Tables, func(tb store.Table) bool { return tb.Name == "orders" })
	if i < 0 || !reflect.DeepEqual(pol.Tables[i].Partitions, got.Partitions) {
		t.Errorf("LoadPolicy's partitions differ from GetTable's:\n%s", dump(pol))
	}

	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "DropPartition(missing)", tx.DropPartition(ctx, "sales", "orders", "year=1999/region=eu"), store.ErrNotFound)
		return tx.DropPartition(ctx, "sales", "orders", "year=2024/region=eu")
	})
	got, _ = getTable(t, s, "sales", "orders")
	other, _ := getTable(t, s, "sales", "other")
	if len(got.Partitions) != 4 || slices.ContainsFunc(got.Partitions, func(p store.Partition) bool { return p.Spec == "year=2024/region=eu" }) {
		t.Errorf("after DropPartition: %s", tableString(got))
	}
	if len(other.Partitions) != 1 {
		t.Errorf("DropPartition on orders changed other: %s", tableString(other))
	}
}

func testCatalogLoadPolicy(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := load(t, s)
	if p.Databases == nil || p.Tables == nil || len(p.Databases)+len(p.Tables) != 0 {
		t.Fatalf("empty store: databases %#v tables %#v, want empty, non-nil", p.Databases, p.Tables)
	}
	// Every catalog change is a policy change: the version goes up, and
	// the snapshot read with it holds the change.
	steps := []struct {
		name  string
		fn    func(tx store.PolicyTx) error
		check func(p store.PolicyData) bool
	}{
		{"CreateDatabase", func(tx store.PolicyTx) error {
			return do(
				func() error { return tx.CreateDatabase(ctx, store.Database{Name: "zeta"}) },
				func() error { return tx.CreateDatabase(ctx, store.Database{Name: "alpha"}) },
				func() error { return tx.CreateDatabase(ctx, store.Database{Name: "Mid"}) },
			)
		}, func(p store.PolicyData) bool {
			return len(p.Databases) == 3 && p.Databases[0].Name == "Mid" && p.Databases[1].Name == "alpha" && p.Databases[2].Name == "zeta"
		}},
		{"CreateTable", func(tx store.PolicyTx) error {
			return do(
				func() error { return tx.CreateTable(ctx, simpleTable("zeta", "b")) },
				func() error { return tx.CreateTable(ctx, simpleTable("alpha", "z")) },
				func() error { return tx.CreateTable(ctx, simpleTable("zeta", "a")) },
				func() error { return tx.CreateTable(ctx, simpleTable("Mid", "t")) },
			)
		}, func(p store.PolicyData) bool {
			var got []string
			for _, tb := range p.Tables {
				got = append(got, tb.Database+"."+tb.Name)
			}
			return slices.Equal(got, []string{"Mid.t", "alpha.z", "zeta.a", "zeta.b"})
		}},
		{"AddPartition", func(tx store.PolicyTx) error { return tx.AddPartition(ctx, "zeta", "a", part("k=1")) },
			func(p store.PolicyData) bool { return len(p.Tables) == 4 && len(p.Tables[2].Partitions) == 1 }},
		{"PutTable", func(tx store.PolicyTx) error {
			tb := simpleTable("zeta", "a")
			tb.Format = "AVRO"
			return tx.PutTable(ctx, tb)
		}, func(p store.PolicyData) bool {
			return len(p.Tables) == 4 && p.Tables[2].Format == "AVRO" && len(p.Tables[2].Partitions) == 1
		}},
		{"RenameTable", func(tx store.PolicyTx) error { return tx.RenameTable(ctx, "zeta", "a", "alpha", "a") },
			func(p store.PolicyData) bool {
				return len(p.Tables) == 4 && p.Tables[1].Database == "alpha" && p.Tables[1].Name == "a" && len(p.Tables[1].Partitions) == 1
			}},
		{"DropPartition", func(tx store.PolicyTx) error { return tx.DropPartition(ctx, "alpha", "a", "k=1") },
			func(p store.PolicyData) bool { return len(p.Tables) == 4 && len(p.Tables[1].Partitions) == 0 }},
		{"DropTable", func(tx store.PolicyTx) error { return tx.DropTable(ctx, "alpha", "a") },
			func(p store.PolicyData) bool { return len(p.Tables) == 3 }},
		{"DropDatabase", func(tx store.PolicyTx) error { return tx.DropDatabase(ctx, "zeta", true) },
			func(p store.PolicyData) bool { return len(p.Databases) == 2 && len(p.Tables) == 2 }},
	}
	for _, st := range steps {
		v0 := version(t, s)
		update(t, s, st.fn)
		p := load(t, s)
		if p.Version <= v0 {
			t.Errorf("%s: version %d, was %d", st.name, p.Version, v0)
		}
		if !st.check(p) {
			t.Errorf("%s: LoadPolicy\n%s", st.name, dump(p))
		}
	}
}

func testCatalogNamesCompareExactly(t *testing.T, s store.Store) {
	ctx := t.Context()
	update(t, s, func(tx store.PolicyTx) error {
		for _, n := range similarNames {
			if err := tx.CreateDatabase(ctx, store.Database{Name: n}); err != nil {
				return fmt.Errorf("CreateDatabase(%q): %w", n, err)
			}
			for _, m := range similarNames {
				if err := tx.CreateTable(ctx, simpleTable(n, m)); err != nil {
					return fmt.Errorf("CreateTable(%q.%q): %w", n, m, err)
				}
			}
			if err := tx.AddPartition(ctx, n, n, part("k="+n)); err != nil {
				return fmt.Errorf("AddPartition(%q): %w", n, err)
			}
			for _, m := range similarNames {
				if m != n {
					if err := tx.AddPartition(ctx, n, n, part("k="+m)); err != nil {
						return fmt.Errorf("AddPartition(%q, k=%q): %w", n, m, err)
					}
				}
			}
		}
		return nil
	})
	p := load(t, s)
	if len(p.Databases) != len(similarNames) || len(p.Tables) != len(similarNames)*len(similarNames) {
		t.Fatalf("%d names stored as %d databases and %d tables", len(similarNames), len(p.Databases), len(p.Tables))
	}
	for _, n := range similarNames {
		got, err := getTable(t, s, n, n)
		if err != nil || got.Database != n || got.Name != n || len(got.Partitions) != len(similarNames) {
			t.Errorf("GetTable(%q, %q) = %q.%q with %d partitions, %v", n, n, got.Database, got.Name, len(got.Partitions), err)
		}
	}
	update(t, s, func(tx store.PolicyTx) error { return tx.DropDatabase(ctx, "analyst", true) })
	if p := load(t, s); len(p.Databases) != len(similarNames)-1 || len(p.Tables) != (len(similarNames)-1)*len(similarNames) {
		t.Errorf("DropDatabase(analyst) removed %d databases and %d tables, want 1 and %d",
			len(similarNames)-len(p.Databases), len(similarNames)*len(similarNames)-len(p.Tables), len(similarNames))
	}
}

func testCatalogBounds(t *testing.T, s store.Store) {
	ctx := t.Context()
	createDatabases(t, s, "sales")
	// Columns that encode to more than 4 MiB.
	huge := simpleTable("sales", "huge")
	for i := range 70_000 {
		huge.Columns = append(huge.Columns, store.Column{Name: fmt.Sprintf("column_%06d", i), Type: "string", Comment: "a comment of some length"})
	}
	// Large but within the bounds: 3 MiB of columns, long location and
	// comment.
	large := simpleTable("sales", "large")
	large.Location = "s3://lake/" + strings.Repeat("deep/", 5000)
	large.Comment = strings.Repeat("ü", 100_000)
	for i := range 30_000 {
		large.Columns = append(large.Columns, store.Column{Name: fmt.Sprintf("column_%06d", i), Type: "map<string,array<struct<a:int,b:string>>>"})
	}
	update(t, s, func(tx store.PolicyTx) error {
		wantErr(t, "CreateTable(columns over 4 MiB)", tx.CreateTable(ctx, huge), store.ErrTooLarge)
		wantErr(t, "PutTable(columns over 4 MiB)", tx.PutTable(ctx, store.Table{Database: "sales", Name: "x", Columns: huge.Columns}), store.ErrTooLarge)
		wantErr(t, "CreateTable(long name)", tx.CreateTable(ctx, simpleTable("sales", strings.Repeat("n", 1025))), store.ErrTooLarge)
		wantErr(t, "CreateDatabase(long name)", tx.CreateDatabase(ctx, store.Database{Name: strings.Repeat("n", 1025)}), store.ErrTooLarge)
		wantErr(t, "AddPartition(long spec)", tx.AddPartition(ctx, "sales", "large", part(strings.Repeat("k", 2049))), store.ErrTooLarge)
		return tx.CreateTable(ctx, large)
	})
	got, err := getTable(t, s, "sales", "large")
	large.CreatedAt = got.CreatedAt // set by the store
	if err != nil || !reflect.DeepEqual(got, normTable(large)) {
		t.Errorf("the large table did not round-trip (%v)", err)
	}
	if _, err := getTable(t, s, "sales", "huge"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTable(huge) = %v, want ErrNotFound", err)
	}
	// Names at the bounds are stored.
	name, spec := strings.Repeat("n", 1024), "k="+strings.Repeat("v", 2046)
	update(t, s, func(tx store.PolicyTx) error {
		return do(
			func() error { return tx.CreateDatabase(ctx, store.Database{Name: name}) },
			func() error { return tx.CreateTable(ctx, simpleTable(name, name)) },
			func() error { return tx.AddPartition(ctx, name, name, part(spec)) },
		)
	})
	if got, err := getTable(t, s, name, name); err != nil || len(got.Partitions) != 1 || got.Partitions[0].Spec != spec {
		t.Errorf("table with the longest names: %v", err)
	}
}

// catalogChanges makes every kind of catalog change to the catalog
// rollbackFixture stores.
func catalogChanges(ctx context.Context, tx store.PolicyTx) error {
	tb := simpleTable("sales", "orders")
	tb.Format = "ORC"
	return do(
		func() error { return tx.CreateDatabase(ctx, store.Database{Name: "new_db"}) },
		func() error { return tx.CreateTable(ctx, simpleTable("new_db", "t")) },
		func() error { return tx.AddPartition(ctx, "sales", "orders", part("year=2026")) },
		func() error { return tx.DropPartition(ctx, "sales", "orders", "year=2024") },
		func() error { return tx.PutTable(ctx, tb) },
		func() error { return tx.RenameTable(ctx, "sales", "orders", "new_db", "orders") },
		func() error { return tx.DropTable(ctx, "sales", "returns") },
		func() error { return tx.DropDatabase(ctx, "sales", false) },
		func() error {
			_, err := tx.RenameObjectGrants(ctx, "TABLE", "sales.orders", "new_db.orders")
			return err
		},
		func() error {
			_, err := tx.RemoveObjectGrants(ctx, "DATABASE", "sales")
			return err
		},
	)
}

func testCatalogRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := rollbackFixture(t, s)
	for _, tt := range []struct {
		name string
		fn   func(tx store.PolicyTx) error
		want error
	}{
		{"caller's error", func(tx store.PolicyTx) error {
			if err := catalogChanges(ctx, tx); err != nil {
				t.Errorf("changes before the abort: %v", err)
			}
			return errAbort
		}, errAbort},
		{"store error", func(tx store.PolicyTx) error {
			return do(
				func() error { return catalogChanges(ctx, tx) },
				func() error { return tx.CreateDatabase(ctx, store.Database{Name: "new_db"}) },
			)
		}, store.ErrExists},
	} {
		err := s.UpdatePolicy(ctx, tt.fn)
		wantErr(t, tt.name, err, tt.want)
		checkUnchanged(t, s, before)
	}
	// The same changes commit.
	update(t, s, func(tx store.PolicyTx) error { return catalogChanges(ctx, tx) })
	p := load(t, s)
	if len(p.Databases) != 1 || len(p.Tables) != 2 || p.Tables[0].Name != "orders" || p.Tables[0].Format != "ORC" ||
		len(p.Tables[0].Partitions) != 1 || p.Tables[0].Partitions[0].Spec != "year=2026" {
		t.Errorf("after the committed changes:\n%s", dump(p))
	}
}

func testRemoveObjectGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "a", "b")
	keep := []store.Grant{
		tableGrant("a", "SELECT", "sales.orders_v2", "", ""), // another table
		tableGrant("a", "SELECT", "sales.order", "", ""),     // a prefix of the name
		{Role: "a", Privilege: "ALL", ObjectKind: "DATABASE", Object: "sales"},
		{Role: "b", Privilege: "ALL", ObjectKind: "URI", Object: "sales.orders"}, // same name, other kind
	}
	gone := []store.Grant{
		tableGrant("a", "SELECT", "sales.orders", "", ""),
		tableGrant("a", "INSERT", "sales.orders", "", ""),
		tableGrant("a", "SELECT", "sales.orders", "id,amount", "region = 'EU'"),
		tableGrant("b", "SELECT", "sales.orders", "id", ""),
		// Catalog names compare case-insensitively, as the policy applies
		// them: a grant stored before the parser lower-cased names.
		tableGrant("b", "SELECT", "Sales.orders", "", ""),
	}
	addGrants(t, s, append(slices.Clone(keep), gone...)...)
	update(t, s, func(tx store.PolicyTx) error {
		n, err := tx.RemoveObjectGrants(ctx, "TABLE", "sales.orders")
		if err != nil || n != len(gone) {
			t.Errorf("RemoveObjectGrants = %d, %v; want %d", n, err, len(gone))
		}
		n, err = tx.RemoveObjectGrants(ctx, "TABLE", "sales.orders")
		if err != nil || n != 0 {
			t.Errorf("RemoveObjectGrants again = %d, %v; want 0", n, err)
		}
		return nil
	})
	var got []store.Grant
	for _, r := range load(t, s).Roles {
		got = append(got, r.Grants...)
	}
	if g, w := sortedGrants(got), sortedGrants(keep); g != w {
		t.Errorf("grants left:\n%s\nwant\n%s", g, w)
	}
}

func sortedGrants(gs []store.Grant) string {
	lines := make([]string, len(gs))
	for i, g := range gs {
		lines[i] = grantString(g)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func testRenameObjectGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	createRoles(t, s, "a", "b")
	addGrants(t, s,
		tableGrant("a", "SELECT", "sales.orders", "", ""),
		tableGrant("a", "INSERT", "sales.orders", "", ""),
		tableGrant("a", "SELECT", "sales.orders", "id", "x > 1"),
		tableGrant("b", "SELECT", "sales.orders", "", ""),
		// Already on the new name: a's SELECT would duplicate it.
		tableGrant("a", "SELECT", "archive.orders", "", ""),
		tableGrant("b", "DELETE", "archive.orders", "", ""),
		// Same name, other kind: untouched.
		store.Grant{Role: "a", Privilege: "ALL", ObjectKind: "URI", Object: "sales.orders"},
	)
	update(t, s, func(tx store.PolicyTx) error {
		n, err := tx.RenameObjectGrants(ctx, "TABLE", "sales.orders", "archive.orders")
		if err != nil || n != 4 {
			t.Errorf("RenameObjectGrants = %d, %v; want 4", n, err)
		}
		n, err = tx.RenameObjectGrants(ctx, "TABLE", "missing.table", "other.table")
		if err != nil || n != 0 {
			t.Errorf("RenameObjectGrants(no grants) = %d, %v; want 0", n, err)
		}
		// Onto itself: nothing changes, nothing is lost.
		n, err = tx.RenameObjectGrants(ctx, "TABLE", "archive.orders", "archive.orders")
		if err != nil || n != 5 {
			t.Errorf("RenameObjectGrants(onto itself) = %d, %v; want 5", n, err)
		}
		return nil
	})
	var got []store.Grant
	for _, r := range load(t, s).Roles {
		got = append(got, r.Grants...)
	}
	want := []store.Grant{
		tableGrant("a", "SELECT", "archive.orders", "", ""),
		tableGrant("a", "INSERT", "archive.orders", "", ""),
		tableGrant("a", "SELECT", "archive.orders", "id", "x > 1"),
		tableGrant("b", "SELECT", "archive.orders", "", ""),
		tableGrant("b", "DELETE", "archive.orders", "", ""),
		{Role: "a", Privilege: "ALL", ObjectKind: "URI", Object: "sales.orders"},
	}
	if g, w := sortedGrants(got), sortedGrants(want); g != w {
		t.Errorf("grants after the rename:\n%s\nwant\n%s", g, w)
	}
	// The unique key still holds: adding a moved grant again is a no-op.
	addGrants(t, s, tableGrant("a", "SELECT", "archive.orders", "", ""))
	if r, _ := findRole(load(t, s), "a"); len(r.Grants) != 4 {
		t.Errorf("role a holds %d grants after re-adding a moved one, want 4:\n%s", len(r.Grants), grantsString(r.Grants))
	}
}
