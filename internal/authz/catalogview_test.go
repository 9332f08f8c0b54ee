package authz_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
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
			{Name: "raw_role", Groups: []string{"raw"}, Grants: []store.Grant{grant("raw_role", "SELECT", "TABLE", "finance.raw")}},
			{Name: "region", Groups: []string{"eu"}, Grants: []store.Grant{filtered}},
			{Name: "sales_all", Groups: []string{"sales"}, Grants: []store.Grant{grant("sales_all", "ALL", "DATABASE", "sales")}},
			{Name: "unused", Grants: []store.Grant{grant("unused", "ALL", "DATABASE", "sales")}},
			{Name: "uri_role", Groups: []string{"uri"}, Grants: []store.Grant{grant("uri_role", "ALL", "URI", "s3://lake/sales")}},
		},
		Databases: []store.Database{{Name: "empty"}, {Name: "finance"}, {Name: "hr", Comment: "people"}, {Name: "sales", Location: "s3://lake/sales"}},
		Tables: []store.Table{
			table("finance", "ledger", "s3://lake/finance/ledger"),
			table("finance", "raw", "s3://rawbucket"),
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
		{"catalog privilege on the database", who("creators"), "finance", []string{"ledger", "raw"}, ""},
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

func TestCheckTable(t *testing.T) {
	e := catalogEngine(t)
	admin := who("admin")
	tests := []struct {
		name         string
		p            authz.Principal
		table        string
		priv         grants.Privilege
		access       string
		files        bool
		restrictions []string
		grants       []string
		reason       []string // substrings of the reason
	}{
		{"catalog admin", who("admin"), "sales.orders", grants.Select, authz.AccessFull, true, nil,
			[]string{"GRANT ALL ON SERVER TO ROLE admin_role (role admin_role via group admin)"},
			[]string{"may read the files under s3://lake/sales/orders through the access proxy (bypass)", "catalog admin"}},
		{"full database grant, ALL implies INSERT", who("sales"), "sales.orders", grants.Insert, authz.AccessFull, true, nil,
			[]string{"GRANT ALL ON DATABASE sales TO ROLE sales_all (role sales_all via group sales)"},
			[]string{"may write the files under s3://lake/sales/orders", "GRANT ALL ON DATABASE sales"}},
		{"column list", who("analysts"), "sales.orders", grants.Select, authz.AccessRestricted, false, []string{"column list (id)"},
			[]string{"GRANT SELECT(id) ON TABLE sales.orders TO ROLE analyst (role analyst via group analysts)"},
			[]string{"restricted grants of SELECT on table sales.orders (column list (id))",
				"files under s3://lake/sales/orders are refused", "scan API /api/scan/sales.orders"}},
		{"row filter", who("eu"), "sales.customers", grants.Select, authz.AccessRestricted, false, []string{"row filter region = 'eu'"},
			[]string{"GRANT SELECT ON TABLE sales.customers WHERE region = 'eu' TO ROLE region (role region via group eu)"},
			[]string{"(row filter region = 'eu')", "/api/scan/sales.customers"}},
		{"a restricted grant does not give INSERT", who("analysts"), "sales.orders", grants.Insert, authz.AccessNone, false, nil,
			[]string{}, []string{"no role granted to groups [analysts] holds INSERT on table sales.orders"}},
		{"full wins over restricted", who("analysts", "sales"), "sales.orders", grants.Select, authz.AccessFull, true, []string{"column list (id)"},
			[]string{"GRANT SELECT(id) ON TABLE sales.orders TO ROLE analyst (role analyst via group analysts)",
				"GRANT ALL ON DATABASE sales TO ROLE sales_all (role sales_all via group sales)"},
			[]string{"may read the files"}},
		{"SHOW on the database lists", who("hr"), "hr.people", grants.Show, authz.AccessFull, true, nil,
			[]string{"GRANT SHOW ON DATABASE hr TO ROLE hr_role (role hr_role via group hr)"},
			[]string{"may list the files under s3://lake/hr/people"}},
		{"SHOW does not read", who("hr"), "hr.people", grants.Select, authz.AccessNone, false, nil, []string{},
			[]string{"no role granted to groups [hr] holds SELECT on table hr.people, its database or SERVER, nor on the files under s3://lake/hr/people"}},
		{"SELECT ON SERVER", who("auditors"), "hr.salaries", grants.Select, authz.AccessFull, true, nil,
			[]string{"GRANT SELECT ON SERVER TO ROLE auditor (role auditor via group auditors)"}, []string{"may read"}},
		{"URI grant over the location", who("uri"), "sales.orders", grants.Delete, authz.AccessNone, true, nil,
			[]string{"GRANT ALL ON URI 's3://lake/sales' TO ROLE uri_role (role uri_role via group uri)"},
			[]string{"holds no grant of DELETE on table sales.orders", "a URI grant allows the files under s3://lake/sales/orders"}},
		{"URI grant beside a restricted one", who("uri", "analysts"), "sales.orders", grants.Select, authz.AccessRestricted, true, []string{"column list (id)"},
			[]string{"GRANT SELECT(id) ON TABLE sales.orders TO ROLE analyst (role analyst via group analysts)",
				"GRANT ALL ON URI 's3://lake/sales' TO ROLE uri_role (role uri_role via group uri)"},
			[]string{"scan API", "a URI grant allows the files nonetheless"}},
		{"URI grant elsewhere", who("uri"), "hr.people", grants.Select, authz.AccessNone, false, nil, []string{}, []string{"no role granted"}},
		{"catalog privilege", who("creators"), "finance.ledger", grants.Create, authz.AccessFull, false, nil,
			[]string{"GRANT CREATE ON DATABASE finance TO ROLE creator (role creator via group creators)"},
			[]string{"holds CREATE on table finance.ledger (a catalog privilege: it gives no access to the files under s3://lake/finance/ledger)"}},
		{"catalog privilege is not SELECT", who("creators"), "finance.ledger", grants.Select, authz.AccessNone, false, nil, []string{}, []string{"no role granted"}},
		{"table at a bucket's root", who("raw"), "finance.raw", grants.Select, authz.AccessFull, true, nil,
			[]string{"GRANT SELECT ON TABLE finance.raw TO ROLE raw_role (role raw_role via group raw)"},
			[]string{"may read the files under s3://rawbucket through the access proxy"}},
		{"ALL needs ALL", who("raw"), "finance.raw", grants.All, authz.AccessNone, false, nil, []string{}, []string{"holds ALL on table finance.raw"}},
		{"no groups", who(), "sales.orders", grants.Select, authz.AccessNone, false, nil, []string{}, []string{"user u has no groups"}},
		{"required group missing", authz.Principal{User: "u", Groups: []string{}, MissingGroup: "staff"}, "sales.orders", grants.Select,
			authz.AccessNone, false, nil, []string{}, []string{`not a member of the required group "staff"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, table, _ := strings.Cut(tt.table, ".")
			got, err := e.CheckTable(admin, tt.p, db, table, tt.priv)
			if err != nil {
				t.Fatal(err)
			}
			if got.Access != tt.access || got.Files != tt.files || !slices.Equal(got.Restrictions, tt.restrictions) {
				t.Errorf("access %q files %v restrictions %q, want %q %v %q", got.Access, got.Files, got.Restrictions,
					tt.access, tt.files, tt.restrictions)
			}
			if !slices.Equal(got.Grants, tt.grants) {
				t.Errorf("grants:\n%s\nwant:\n%s", strings.Join(got.Grants, "\n"), strings.Join(tt.grants, "\n"))
			}
			for _, r := range tt.reason {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("reason %q\nlacks %q", got.Reason, r)
				}
			}
			if got.Database != db || got.Table != table || got.Privilege != tt.priv.String() || !strings.HasPrefix(got.Location, "s3://") {
				t.Errorf("names: %+v", got)
			}
		})
	}
}

// TestCheckTableVisibility: a caller who is not a catalog admin learns
// nothing of a table they may not see, not even whether it exists; an
// admin may ask about any table for anyone.
func TestCheckTableVisibility(t *testing.T) {
	e := catalogEngine(t)
	tests := []struct {
		name    string
		caller  authz.Principal
		table   string
		wantErr string
	}{
		{"own visible table", who("analysts"), "sales.orders", ""},
		{"invisible sibling", who("analysts"), "sales.customers", "table sales.customers does not exist"},
		{"missing, same words", who("analysts"), "sales.nosuch", "table sales.nosuch does not exist"},
		{"admin, any table", who("admin"), "hr.salaries", ""},
		{"admin, missing table", who("admin"), "hr.nosuch", "table hr.nosuch does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, table, _ := strings.Cut(tt.table, ".")
			_, err := e.CheckTable(tt.caller, who("analysts"), db, table, grants.Select)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, authz.ErrInvalid) || !strings.HasSuffix(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want ErrInvalid %q", err, tt.wantErr)
			}
		})
	}
	if _, err := e.CheckTable(who("admin"), who("admin"), "sales", "orders", grants.Privilege(3)); !errors.Is(err, authz.ErrInvalid) {
		t.Errorf("two privileges at once: err = %v", err)
	}
}
