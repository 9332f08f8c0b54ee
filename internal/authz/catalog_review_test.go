package authz_test

import (
	"errors"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/store"
)

// A table's location is authorization scope: holders of a grant on the
// table (or its database) read everything under it. These cases are the
// ways a non-admin could give a table a location without ALL on it.
func TestCatalogLocationScope(t *testing.T) {
	files := &fakeFiles{schemas: map[string][]store.Column{
		"other-lake/f.parquet":        {{Name: "id", Type: "bigint"}},
		"other-lake/shared/f.parquet": {{Name: "id", Type: "bigint"}},
		"team-lake/t/f.parquet":       {{Name: "id", Type: "bigint"}},
	}}
	// The steward owns database team (ALL: CREATE, and full access to its
	// tables' files) and s3://team-lake/, and may read one file of
	// other-lake and the shared directory there.
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Files: files, Script: `
CREATE DATABASE team; CREATE DATABASE secure;
CREATE EXTERNAL TABLE secure.payroll (id INT) STORED AS PARQUET LOCATION 's3://payroll/data';
CREATE ROLE stewards; GRANT ROLE stewards TO GROUP stewards;
GRANT ALL ON DATABASE team TO ROLE stewards;
GRANT ALTER ON TABLE secure.payroll TO ROLE stewards;
GRANT ALL ON URI 's3://team-lake/' TO ROLE stewards;
GRANT SELECT ON URI 's3://other-lake/f.parquet' TO ROLE stewards;
GRANT SELECT ON URI 's3://other-lake/shared' TO ROLE stewards;`})
	e := fx.Engine
	steward := authz.Principal{User: "s", Groups: []string{"stewards"}}
	for _, tc := range []struct {
		name   string
		script string
		// probe is a key the steward must not be able to write afterwards.
		bucket, key string
	}{
		{"LIKE PARQUET at a bucket's root defaults the location to the whole bucket",
			"CREATE EXTERNAL TABLE team.a LIKE PARQUET 's3://other-lake/f.parquet'", "other-lake", "secret/x"},
		{"LIKE PARQUET defaults the location to a directory the steward only reads",
			"CREATE EXTERNAL TABLE team.b LIKE PARQUET 's3://other-lake/shared/f.parquet'", "other-lake", "shared/x"},
		{"RENAME moves another's table into the steward's database",
			"ALTER TABLE secure.payroll RENAME TO team.payroll", "payroll", "data/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Exec(t.Context(), steward, tc.script)
			if !errors.Is(err, authz.ErrForbidden) {
				t.Errorf("err = %v, want ErrForbidden", err)
			}
			if d := e.Decide(steward, putObject, tc.bucket, tc.key); d.Allowed {
				t.Errorf("the steward writes s3://%s/%s: %s", tc.bucket, tc.key, d.Reason)
			}
		})
	}
	// What the steward owns stays possible.
	mustExec(t, e, steward, "CREATE EXTERNAL TABLE team.c LIKE PARQUET 's3://team-lake/t/f.parquet'")
	mustExec(t, e, steward, "ALTER TABLE team.c RENAME TO team.d")
}

// Grants on DATABASE and TABLE objects stored before the parser
// lower-cased catalog names keep their case in the store, and the policy
// applies them to the table case-insensitively. REVOKE, DROP and RENAME
// must reach them too, or access outlives its revocation and a later table
// of the same name inherits it.
func TestLegacyMixedCaseGrants(t *testing.T) {
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Script: `
CREATE DATABASE sales;
CREATE ROLE r; GRANT ROLE r TO GROUP g;`})
	e, st := fx.Engine, fx.Store
	legacy := func(t *testing.T, kind, object string) {
		t.Helper()
		err := st.UpdatePolicy(t.Context(), func(tx store.PolicyTx) error {
			return tx.AddGrant(t.Context(), store.Grant{Role: "r", Privilege: "SELECT", ObjectKind: kind, Object: object})
		})
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, e, admin, "GRANT ROLE r TO GROUP reload") // the engine reloads the store
	}
	u := authz.Principal{User: "u", Groups: []string{"g"}}
	reads := func(bucket, key string) bool { return e.Decide(u, getObject, bucket, key).Allowed }
	create := func(t *testing.T, loc string) {
		t.Helper()
		mustExec(t, e, admin, "CREATE EXTERNAL TABLE sales.orders (id INT) STORED AS PARQUET LOCATION '"+loc+"'")
	}

	t.Run("REVOKE", func(t *testing.T) {
		create(t, "s3://lake/orders")
		legacy(t, "TABLE", "Sales.Orders")
		if !reads("lake", "orders/x") {
			t.Fatal("the legacy grant does not apply; the test proves nothing")
		}
		mustExec(t, e, admin, "REVOKE SELECT ON TABLE Sales.Orders FROM ROLE r")
		if reads("lake", "orders/x") {
			t.Error("REVOKE left the legacy grant in force")
		}
		mustExec(t, e, admin, "DROP TABLE sales.orders")
	})
	t.Run("DROP TABLE", func(t *testing.T) {
		create(t, "s3://lake/orders")
		legacy(t, "TABLE", "Sales.Orders")
		mustExec(t, e, admin, "DROP TABLE sales.orders")
		create(t, "s3://payroll/orders")
		if reads("payroll", "orders/x") {
			t.Error("a table created after DROP inherits the dropped table's legacy grant")
		}
		mustExec(t, e, admin, "DROP TABLE sales.orders")
	})
	t.Run("RENAME", func(t *testing.T) {
		create(t, "s3://lake/orders")
		legacy(t, "TABLE", "Sales.Orders")
		mustExec(t, e, admin, "ALTER TABLE sales.orders RENAME TO sales.orders_old")
		if !reads("lake", "orders/x") {
			t.Error("the legacy grant did not follow the renamed table")
		}
		create(t, "s3://payroll/orders")
		if reads("payroll", "orders/x") {
			t.Error("a table created under the old name inherits the renamed table's legacy grant")
		}
		mustExec(t, e, admin, "DROP TABLE sales.orders; DROP TABLE sales.orders_old")
	})
	t.Run("DROP DATABASE", func(t *testing.T) {
		mustExec(t, e, admin, "CREATE DATABASE other")
		legacy(t, "DATABASE", "Other")
		mustExec(t, e, admin, "DROP DATABASE other; CREATE DATABASE other")
		mustExec(t, e, admin, "CREATE EXTERNAL TABLE other.t (id INT) STORED AS PARQUET LOCATION 's3://payroll/t'")
		if reads("payroll", "t/x") {
			t.Error("a database created after DROP inherits the dropped database's legacy grant")
		}
	})
}

// RECOVER PARTITIONS of a table created LIKE PARQUET without LOCATION in
// the same script lists the location the table gets (the file's
// directory), not an empty one.
func TestRecoverPartitionsAfterLikeParquetDefault(t *testing.T) {
	files := &fakeFiles{
		schemas: map[string][]store.Column{"lake/sales/part-0.parquet": {{Name: "id", Type: "bigint"}}},
		parts:   map[string][]authz.FoundPartition{"lake/sales": {{Values: []string{"2024"}, Path: "sales/year=2024"}}},
	}
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Files: files, Script: "CREATE DATABASE shop"})
	res := mustExec(t, fx.Engine, admin, `CREATE EXTERNAL TABLE shop.sales LIKE PARQUET 's3://lake/sales/part-0.parquet'
  PARTITIONED BY (year INT) STORED AS PARQUET;
ALTER TABLE shop.sales RECOVER PARTITIONS;
SHOW PARTITIONS shop.sales`)
	if len(res[2].Rows) != 1 || res[2].Rows[0][1] != "s3://lake/sales/year=2024" {
		t.Errorf("partitions: %v (%s)", res[2].Rows, res[1].Message)
	}
}

// The parser lower-cases ASCII letters only, so e.`ä` and e.`Ä` are two
// tables: a grant on one shows that one, never the other.
func TestCatalogViewKeepsNonASCIICaseApart(t *testing.T) {
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Script: "CREATE DATABASE e;" +
		"CREATE EXTERNAL TABLE e.`ä` (id INT) STORED AS PARQUET LOCATION 's3://lake/small';" +
		"CREATE EXTERNAL TABLE e.`Ä` (secret INT) STORED AS PARQUET LOCATION 's3://payroll/big';" +
		"CREATE ROLE r; GRANT ROLE r TO GROUP g; GRANT SELECT ON TABLE e.`ä` TO ROLE r"})
	e := fx.Engine
	u := authz.Principal{User: "u", Groups: []string{"g"}}
	ts, err := e.VisibleTables(u, "e")
	if err != nil || len(ts) != 1 || ts[0].Name != "ä" {
		t.Errorf("VisibleTables = %v, %v; want only ä", ts, err)
	}
	if tb, err := e.VisibleTable(u, "e", "Ä"); err == nil {
		t.Errorf("VisibleTable(e.Ä) = %s at %s, want it unseen", tb.Name, tb.Location)
	}
	if tb, err := e.VisibleTable(admin, "e", "Ä"); err != nil || tb.Location != "s3://payroll/big" {
		t.Errorf("the admin's VisibleTable(e.Ä) = %s at %s, %v", tb.Name, tb.Location, err)
	}
}

// REVOKE and DROP reach grants on names with non-ASCII letters, which the
// parser keeps as written.
func TestRevokeNonASCIITableGrant(t *testing.T) {
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Script: "CREATE DATABASE e;" +
		"CREATE EXTERNAL TABLE e.`Ä` (id INT) STORED AS PARQUET LOCATION 's3://payroll/big';" +
		"CREATE ROLE r; GRANT ROLE r TO GROUP g; GRANT SELECT ON TABLE e.`Ä` TO ROLE r"})
	e := fx.Engine
	u := authz.Principal{User: "u", Groups: []string{"g"}}
	if !e.Decide(u, getObject, "payroll", "big/x").Allowed {
		t.Fatal("the grant does not apply; the test proves nothing")
	}
	mustExec(t, e, admin, "REVOKE SELECT ON TABLE e.`Ä` FROM ROLE r")
	if d := e.Decide(u, getObject, "payroll", "big/x"); d.Allowed {
		t.Errorf("REVOKE left the grant in force: %s", d.Reason)
	}
	mustExec(t, e, admin, "GRANT SELECT ON TABLE e.`Ä` TO ROLE r; DROP TABLE e.`Ä`;"+
		"CREATE EXTERNAL TABLE e.`Ä` (id INT) STORED AS PARQUET LOCATION 's3://payroll/other'")
	if d := e.Decide(u, getObject, "payroll", "other/x"); d.Allowed {
		t.Errorf("a table created after DROP inherits the dropped table's grant: %s", d.Reason)
	}
}
