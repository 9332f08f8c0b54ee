package authz_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/store"
)

// catalogData is a policy with a catalog and every kind of grant that
// shows (or does not show) some of it.
func catalogData() store.PolicyData {
	grant := func(role, priv, kind, object string) store.Grant {
		return store.Grant{Role: role, Privilege: priv, ObjectKind: kind, Object: object}
	}
	cols := []store.Column{{Name: "id", Type: "bigint"}, {Name: "amount", Type: "decimal(10,2)"}}
	table := func(db, name, loc string) store.Table {
		return store.Table{Database: db, Name: name, Location: loc, Format: "PARQUET", Columns: cols,
			PartitionColumns: []store.Column{}, Properties: []store.Property{}, Partitions: []store.Partition{}}
	}
	restricted := grant("analyst", "SELECT", "TABLE", "sales.orders")
	restricted.Columns = "id"
	filtered := grant("region", "SELECT", "TABLE", "sales.customers")
	filtered.RowFilter = "region = 'eu'"
	return store.PolicyData{
		Version: 1,
		Roles: []store.RoleRecord{
			{Name: "admin_role", Groups: []string{"admin"}, Grants: []store.Grant{grant("admin_role", "ALL", "SERVER", "")}},
			{Name: "analyst", Groups: []string{"analysts"}, Grants: []store.Grant{restricted}},
			{Name: "auditor", Groups: []string{"auditors"}, Grants: []store.Grant{grant("auditor", "SELECT", "SERVER", "")}},
			{Name: "creator", Groups: []string{"creators"}, Grants: []store.Grant{grant("creator", "CREATE", "DATABASE", "finance")}},
			{Name: "ghost", Groups: []string{"ghosts"}, Grants: []store.Grant{grant("ghost", "SELECT", "TABLE", "gone.t")}},
			{Name: "hr_role", Groups: []string{"hr"}, Grants: []store.Grant{grant("hr_role", "SHOW", "DATABASE", "hr")}},
			{Name: "region", Groups: []string{"eu"}, Grants: []store.Grant{filtered}},
			{Name: "unused", Grants: []store.Grant{grant("unused", "ALL", "DATABASE", "sales")}},
			{Name: "uri_role", Groups: []string{"uri"}, Grants: []store.Grant{grant("uri_role", "ALL", "URI", "s3://lake/sales")}},
		},
		Databases: []store.Database{{Name: "empty"}, {Name: "finance"}, {Name: "hr", Comment: "people"}, {Name: "sales", Location: "s3://lake/sales"}},
		Tables: []store.Table{
			table("finance", "ledger", "s3://lake/finance/ledger"),
			table("hr", "people", "s3://lake/hr/people"),
			table("hr", "salaries", "s3://lake/hr/salaries"),
			table("sales", "customers", "s3://lake/sales/customers"),
			table("sales", "orders", "s3://lake/sales/orders"),
		},
	}
}

func catalogEngine(t *testing.T) *authz.Engine {
	t.Helper()
	return newEngine(t, &fixedStore{data: catalogData()}, time.Hour)
}

func who(groups ...string) authz.Principal {
	return authz.Principal{User: "u", Groups: groups}
}

func TestVisibleDatabases(t *testing.T) {
	e := catalogEngine(t)
	tests := []struct {
		name string
		p    authz.Principal
		want []string
	}{
		{"catalog admin sees all", who("admin"), []string{"empty", "finance", "hr", "sales"}},
		{"any SERVER grant sees all", who("auditors"), []string{"empty", "finance", "hr", "sales"}},
		{"restricted table grant shows its database", who("analysts"), []string{"sales"}},
		{"row-filtered table grant shows its database", who("eu"), []string{"sales"}},
		{"catalog privilege on a database shows it", who("creators"), []string{"finance"}},
		{"database grant", who("hr"), []string{"hr"}},
		{"union over groups", who("hr", "analysts"), []string{"hr", "sales"}},
		{"grant on a table of a database that does not exist", who("ghosts"), nil},
		{"a URI grant under a database shows nothing", who("uri"), nil},
		{"no groups", who(), nil},
		{"unknown group", who("nobody"), nil},
		{"group names are exact", who("HR"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, db := range e.VisibleDatabases(tt.p) {
				got = append(got, db.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("VisibleDatabases = %v, want %v", got, tt.want)
			}
		})
	}
	// The records come whole.
	dbs := e.VisibleDatabases(who("hr", "analysts"))
	if dbs[0].Comment != "people" || dbs[1].Location != "s3://lake/sales" {
		t.Errorf("records = %+v", dbs)
	}
}

func TestVisibleTables(t *testing.T) {
	e := catalogEngine(t)
	tests := []struct {
		name    string
		p       authz.Principal
		db      string
		want    []string
		wantErr string
	}{
		{"admin", who("admin"), "sales", []string{"customers", "orders"}, ""},
		{"admin, empty database", who("admin"), "empty", []string{}, ""},
		{"SERVER grant", who("auditors"), "hr", []string{"people", "salaries"}, ""},
		{"database grant shows every table", who("hr"), "hr", []string{"people", "salaries"}, ""},
		{"table grant shows that table only", who("analysts"), "sales", []string{"orders"}, ""},
		{"names fold to lower case", who("analysts"), "SALES", []string{"orders"}, ""},
		{"union over groups", who("analysts", "eu"), "sales", []string{"customers", "orders"}, ""},
		{"catalog privilege on the database", who("creators"), "finance", []string{"ledger"}, ""},
		{"invisible database", who("analysts"), "hr", nil, "database hr does not exist"},
		{"missing database, same words", who("analysts"), "nosuch", nil, "database nosuch does not exist"},
		{"missing database for admin", who("admin"), "nosuch", nil, "database nosuch does not exist"},
		{"URI grant over the tables", who("uri"), "sales", nil, "database sales does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.VisibleTables(tt.p, tt.db)
			if tt.wantErr != "" {
				if !errors.Is(err, authz.ErrInvalid) || !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, tb := range got {
				names = append(names, tb.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("VisibleTables = %v, want %v", names, tt.want)
			}
		})
	}
}

func TestVisibleTable(t *testing.T) {
	e := catalogEngine(t)
	tests := []struct {
		name      string
		p         authz.Principal
		db, table string
		wantErr   string
	}{
		{"admin", who("admin"), "hr", "salaries", ""},
		{"table grant", who("analysts"), "sales", "orders", ""},
		{"mixed case", who("analysts"), "Sales", "ORDERS", ""},
		{"database grant", who("hr"), "hr", "people", ""},
		{"sibling of a granted table", who("analysts"), "sales", "customers", "table sales.customers does not exist"},
		{"missing table, same words", who("analysts"), "sales", "nosuch", "table sales.nosuch does not exist"},
		{"missing for admin", who("admin"), "sales", "nosuch", "table sales.nosuch does not exist"},
		{"other database", who("hr"), "sales", "orders", "table sales.orders does not exist"},
		{"no groups", who(), "hr", "people", "table hr.people does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.VisibleTable(tt.p, tt.db, tt.table)
			if tt.wantErr != "" {
				if !errors.Is(err, authz.ErrInvalid) || !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Database != strings.ToLower(tt.db) || got.Name != strings.ToLower(tt.table) ||
				!strings.HasSuffix(got.Location, "/"+got.Name) || len(got.Columns) != 2 {
				t.Errorf("VisibleTable = %+v", got)
			}
		})
	}
}

// TestCatalogHiddenWhileStale: while the policy cannot be confirmed
// current, nothing of the catalog is shown, not even to an admin (a
// REVOKE may be missing), and the errors say the store is unavailable.
func TestCatalogHiddenWhileStale(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	e, err := authz.New(t.Context(), authz.Options{Store: &fixedStore{data: catalogData()},
		PollInterval: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.VisibleDatabases(who("admin")); len(got) != 4 {
		t.Fatalf("fresh: %d databases, want 4", len(got))
	}
	now = now.Add(time.Hour)
	if got := e.VisibleDatabases(who("admin")); len(got) != 0 {
		t.Errorf("stale: VisibleDatabases = %v", got)
	}
	if _, err := e.VisibleTables(who("admin"), "sales"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("stale: VisibleTables err = %v", err)
	}
	if _, err := e.VisibleTable(who("admin"), "sales", "orders"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("stale: VisibleTable err = %v", err)
	}
}
