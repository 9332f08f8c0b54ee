package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/store"
)

// catalogFixture is a REST server over a real engine whose SQLite store
// holds a catalog: databases hr, sales and secret; alice (analysts) may
// SELECT only the id column of sales.orders, bob (sales) holds ALL on
// database sales, carol (hr) SELECT on hr.people, dave no grant.
type catalogFixture struct {
	*fixture
	carol, dave string
}

const catalogPolicy = `
CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts;
GRANT SELECT(id) ON TABLE sales.orders TO ROLE analyst;
CREATE ROLE seller; GRANT ROLE seller TO GROUP sales;
GRANT ALL ON DATABASE sales TO ROLE seller;
CREATE ROLE hr_role; GRANT ROLE hr_role TO GROUP hr;
GRANT SELECT ON TABLE hr.people TO ROLE hr_role;
`

func newCatalogFixture(t *testing.T) *catalogFixture {
	t.Helper()
	fx := authztest.New(t, authztest.Options{
		Script: catalogPolicy,
		Users: map[string][]string{"alice": {"analysts"}, "bob": {"sales"}, "carol": {"hr"},
			"dave": {"nothing"}},
	})
	ctx := context.WithoutCancel(t.Context())
	cols := []store.Column{{Name: "id", Type: "bigint"}, {Name: "amount", Type: "decimal(10,2)", Comment: "in euros"}}
	err := fx.Store.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		for _, db := range []store.Database{
			{Name: "hr"}, {Name: "sales", Comment: "what we sold", Location: "s3://lake/sales"}, {Name: "secret"},
		} {
			if err := tx.CreateDatabase(ctx, db); err != nil {
				return err
			}
		}
		for _, tb := range []store.Table{
			{Database: "sales", Name: "orders", Location: "s3://lake/sales/orders", Format: "PARQUET", Columns: cols,
				PartitionColumns: []store.Column{{Name: "dt", Type: "string"}}, Comment: "orders",
				Properties: []store.Property{{Key: "owner", Value: "sales"}}},
			{Database: "sales", Name: "customers", Location: "s3://lake/sales/customers", Format: "ORC", Columns: cols},
			{Database: "hr", Name: "people", Location: "s3://lake/hr/people", Format: "TEXTFILE", Columns: cols, FieldDelimiter: ","},
			{Database: "secret", Name: "keys", Location: "s3://vault/keys", Format: "PARQUET", Columns: cols},
		} {
			if err := tx.CreateTable(ctx, tb); err != nil {
				return err
			}
		}
		return tx.AddPartition(ctx, "sales", "orders", store.Partition{Spec: "dt=2024-01-01", Location: "s3://other/orders/2024-01-01"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Any statement reloads the policy, catalog included.
	if _, err := fx.Engine.Exec(ctx, fx.Engine.Principal("admin"), "SHOW ROLES"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		engine: fx.Engine, store: fx.Store, keys: credentials.New(fx.Store), tokens: fx.Tokens,
		admin: fx.Token(t, "admin"), alice: fx.Token(t, "alice"), bob: fx.Token(t, "bob"),
	}
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: f.tokens, Keys: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return &catalogFixture{fixture: f, carol: fx.Token(t, "carol"), dave: fx.Token(t, "dave")}
}

// getJSON GETs path with token, expects status and decodes the body into
// v (when not nil).
func (f *catalogFixture) getJSON(t *testing.T, path, token string, status int, v any) response {
	t.Helper()
	r := f.do(t, "GET", path, token, "", "")
	if r.status != status {
		t.Fatalf("GET %s: %d %s, want %d", path, r.status, r.body, status)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.body), v); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestCatalogDatabases(t *testing.T) {
	f := newCatalogFixture(t)
	tests := []struct {
		name, token string
		want        []string
	}{
		{"admin", f.admin, []string{"hr", "sales", "secret"}},
		{"restricted table grant", f.alice, []string{"sales"}},
		{"database grant", f.bob, []string{"sales"}},
		{"table grant", f.carol, []string{"hr"}},
		{"no grant", f.dave, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got api.DatabasesResponse
			f.getJSON(t, "/api/databases", tt.token, 200, &got)
			names := []string{}
			for _, db := range got.Databases {
				names = append(names, db.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("databases %v, want %v", names, tt.want)
			}
		})
	}
	r := f.getJSON(t, "/api/databases", f.bob, 200, nil)
	if want := `{"databases":[{"name":"sales","comment":"what we sold","location":"s3://lake/sales"}]}`; r.body != want {
		t.Errorf("body %s\nwant %s", r.body, want)
	}
}

func TestCatalogTables(t *testing.T) {
	f := newCatalogFixture(t)
	tests := []struct {
		name, token, db string
		status          int
		want            string
	}{
		{"table grant shows one table", f.alice, "sales", 200,
			`{"database":"sales","tables":[{"name":"orders","location":"s3://lake/sales/orders","format":"PARQUET"}]}`},
		{"database grant shows all", f.bob, "sales", 200,
			`{"database":"sales","tables":[{"name":"customers","location":"s3://lake/sales/customers","format":"ORC"},` +
				`{"name":"orders","location":"s3://lake/sales/orders","format":"PARQUET"}]}`},
		{"names fold", f.bob, "SALES", 200,
			`{"database":"sales","tables":[{"name":"customers","location":"s3://lake/sales/customers","format":"ORC"},` +
				`{"name":"orders","location":"s3://lake/sales/orders","format":"PARQUET"}]}`},
		{"admin", f.admin, "secret", 200, `{"database":"secret","tables":[{"name":"keys","location":"s3://vault/keys","format":"PARQUET"}]}`},
		{"invisible database", f.carol, "secret", 404, `{"error":"invalid request: database secret does not exist"}`},
		{"missing database, same answer", f.carol, "nosuch", 404, `{"error":"invalid request: database nosuch does not exist"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.getJSON(t, "/api/databases/"+tt.db+"/tables", tt.token, tt.status, nil)
			if r.body != tt.want {
				t.Errorf("body %s\nwant %s", r.body, tt.want)
			}
		})
	}
}

func TestCatalogDataset(t *testing.T) {
	f := newCatalogFixture(t)
	var d api.DatasetResponse
	f.getJSON(t, "/api/datasets/sales.orders", f.alice, 200, &d)
	if d.Database != "sales" || d.Name != "orders" || d.Location != "s3://lake/sales/orders" || d.Format != "PARQUET" ||
		d.Comment != "orders" || d.Properties["owner"] != "sales" {
		t.Errorf("dataset %+v", d)
	}
	if want := []api.ColumnInfo{{Name: "id", Type: "bigint"}, {Name: "amount", Type: "decimal(10,2)", Comment: "in euros"}}; !slices.Equal(d.Columns, want) {
		t.Errorf("columns %+v", d.Columns)
	}
	if want := []api.ColumnInfo{{Name: "dt", Type: "string"}}; !slices.Equal(d.PartitionColumns, want) {
		t.Errorf("partition columns %+v", d.PartitionColumns)
	}
	if want := []api.PartitionInfo{{Spec: "dt=2024-01-01", Location: "s3://other/orders/2024-01-01"}}; !slices.Equal(d.Partitions, want) {
		t.Errorf("partitions %+v", d.Partitions)
	}
	sel := d.Access["select"]
	if sel.Access != authz.AccessRestricted || sel.Files || !slices.Equal(sel.Restrictions, []string{"column list (id)"}) ||
		!strings.Contains(sel.Reason, "/api/scan/sales.orders") {
		t.Errorf("alice's select: %+v", sel)
	}
	if a := d.Access["insert"]; a.Access != authz.AccessNone || a.Files {
		t.Errorf("alice's insert: %+v", a)
	}
	if len(d.Access) != 6 {
		t.Errorf("access for %d privileges, want 6", len(d.Access))
	}

	f.getJSON(t, "/api/datasets/sales.orders", f.bob, 200, &d)
	for _, priv := range []string{"select", "insert", "delete", "show"} {
		if a := d.Access[priv]; a.Access != authz.AccessFull || !a.Files || !strings.Contains(a.Reason, "through the access proxy (bypass)") {
			t.Errorf("bob's %s: %+v", priv, a)
		}
	}
	if a := d.Access["alter"]; a.Access != authz.AccessFull || a.Files || !strings.Contains(a.Reason, "a catalog privilege") {
		t.Errorf("bob's alter: %+v", a)
	}

	for _, tt := range []struct {
		name, token, path string
		status            int
		want              string
	}{
		{"invisible table", f.alice, "/api/datasets/sales.customers", 404, `{"error":"invalid request: table sales.customers does not exist"}`},
		{"missing table, same answer", f.alice, "/api/datasets/sales.nosuch", 404, `{"error":"invalid request: table sales.nosuch does not exist"}`},
		{"another database", f.carol, "/api/datasets/sales.orders", 404, `{"error":"invalid request: table sales.orders does not exist"}`},
		{"not db.table", f.admin, "/api/datasets/sales", 400, `{"error":"a dataset is named database.table"}`},
		{"too many dots", f.admin, "/api/datasets/a.b.c", 400, `{"error":"a dataset is named database.table"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := f.getJSON(t, tt.path, tt.token, tt.status, nil); r.body != tt.want {
				t.Errorf("body %s\nwant %s", r.body, tt.want)
			}
		})
	}
}

func TestCheckTable(t *testing.T) {
	f := newCatalogFixture(t)
	tests := []struct {
		name, token, query string
		status             int
		decision, reason   string // decision, or the error for a status other than 200
	}{
		{"admin checks a restricted user", f.admin, "user=alice&table=sales.orders", 200,
			"RESTRICTED", "the data is read through the scan API /api/scan/sales.orders"},
		{"privilege by name", f.admin, "user=bob&table=sales.orders&privilege=insert", 200,
			"ALLOW", "may write the files under s3://lake/sales/orders through the access proxy (bypass)"},
		{"admin checks with chosen groups", f.admin, "user=alice&groups=sales&table=sales.orders&privilege=DELETE", 200,
			"ALLOW", "may delete the files"},
		{"admin checks a table the user may not see", f.admin, "user=alice&table=secret.keys", 200,
			"DENY", "no role granted to groups [analysts] holds SELECT on table secret.keys"},
		{"a user checks itself", f.carol, "table=hr.people", 200, "ALLOW", "may read the files under s3://lake/hr/people"},
		{"a user's invisible table", f.carol, "table=secret.keys", 400, "", `{"error":"invalid request: table secret.keys does not exist"}`},
		{"a user may not check another", f.carol, "user=bob&table=sales.orders", 403, "",
			`{"error":"only catalog admins may check another user's access"}`},
		{"a user may not choose groups", f.carol, "groups=sales&table=sales.orders", 403, "",
			`{"error":"only catalog admins may check with groups of their choosing"}`},
		{"both uri and table", f.admin, "table=sales.orders&uri=s3://lake/x&operation=GetObject", 400, "",
			`{"error":"give either uri and operation, or table (and privilege), not both"}`},
		{"privilege with uri", f.admin, "uri=s3://lake/x&operation=GetObject&privilege=SELECT", 400, "",
			`{"error":"privilege goes with table; with uri, give an operation"}`},
		{"unknown privilege", f.admin, "table=sales.orders&privilege=READ", 400, "",
			`{"error":"unknown privilege \"READ\": use ALL, SELECT, INSERT, SHOW, DELETE, CREATE, DROP or ALTER"}`},
		{"empty table", f.admin, "table=", 400, "", `{"error":"table must be database.table, e.g. ?table=sales.orders\u0026privilege=SELECT"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got api.TableCheckResponse
			r := f.getJSON(t, "/api/check?"+tt.query, tt.token, tt.status, nil)
			if tt.status != 200 {
				if r.body != tt.reason {
					t.Errorf("body %s\nwant %s", r.body, tt.reason)
				}
				return
			}
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Decision != tt.decision || !strings.Contains(got.Reason, tt.reason) || got.Allowed != (tt.decision == "ALLOW") ||
				got.Reason != got.Access.Reason || got.Location != got.Access.Location || got.Table != got.Access.Database+"."+got.Access.Table {
				t.Errorf("got %s\nwant %s, reason with %q", r.body, tt.decision, tt.reason)
			}
		})
	}
	// The whole answer, once.
	r := f.getJSON(t, "/api/check?user=carol&table=hr.people&privilege=SELECT", f.admin, 200, nil)
	want := `{"decision":"ALLOW","allowed":true,"reason":"may read the files under s3://lake/hr/people through the access proxy (bypass): ` +
		`GRANT SELECT ON TABLE hr.people TO ROLE hr_role (role hr_role via group hr; table hr.people at s3://lake/hr/people)",` +
		`"user":"carol","groups":["hr"],"table":"hr.people","privilege":"SELECT","location":"s3://lake/hr/people",` +
		`"access":{"database":"hr","table":"people","privilege":"SELECT","access":"full","files":true,"location":"s3://lake/hr/people",` +
		`"reason":"may read the files under s3://lake/hr/people through the access proxy (bypass): ` +
		`GRANT SELECT ON TABLE hr.people TO ROLE hr_role (role hr_role via group hr; table hr.people at s3://lake/hr/people)",` +
		`"grants":["GRANT SELECT ON TABLE hr.people TO ROLE hr_role (role hr_role via group hr)"],` +
		`"policy":"effective policy of user carol on table hr.people:\ngrants:\n  GRANT SELECT ON TABLE hr.people TO ROLE hr_role (role hr_role via group hr)\n` +
		`rows: all\ncolumns:\n  id: unmasked\n  amount: unmasked\n"}}`
	if r.body != want {
		t.Errorf("body %s\nwant %s", r.body, want)
	}
}

func TestCatalogEndpointsNeedAuthentication(t *testing.T) {
	f := newCatalogFixture(t)
	for _, path := range []string{"/api/databases", "/api/databases/sales/tables", "/api/datasets/sales.orders", "/api/check?table=sales.orders"} {
		if r := f.do(t, "GET", path, "", "", ""); r.status != 401 {
			t.Errorf("GET %s without a token: %d %s", path, r.status, r.body)
		}
		if r := f.do(t, "POST", path, f.admin, "", ""); r.status != 405 || r.header.Get("Allow") != "GET" {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	}
}
