package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/lakegate/lakegate/internal/store"
)

// grantRows reads object_name → (row id, options) of every grant; idColumn
// is "id" (PostgreSQL, MySQL) or "rowid" (SQLite). options is "-" while
// the column does not exist.
func grantRows(t *testing.T, raw *sql.DB, idColumn string, withOptions bool) map[string]string {
	t.Helper()
	opts := `'-'`
	if withOptions {
		opts = `options`
	}
	rows, err := raw.QueryContext(t.Context(), `SELECT `+idColumn+`, object_name, `+opts+` FROM grants`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var (
			id            int64
			object, value string
		)
		if err := rows.Scan(&id, &object, &value); err != nil {
			t.Fatal(err)
		}
		got[object] = fmt.Sprintf("%d %q", id, value)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// testMigratesOver00005 builds a database at schema version 5 (before
// grant options) from the dialect's migrations, with grants in it, then
// opens it as the store, which applies 00006_grant_options: the grants are
// kept with their row ids and empty options, the unique key covers the
// options, and migrating down again deletes the grants with options (a
// grant stripped of its TRANSFORM would unmask) and keeps the others.
func testMigratesOver00005(t *testing.T, sqlDriver string, dialect goose.Dialect, dir, dsn, idColumn string, open func(t *testing.T) *store.SQL) {
	t.Helper()
	ctx := context.Background()
	raw, p := migratedTo(t, sqlDriver, dialect, dir, dsn, 5,
		`INSERT INTO roles (name) VALUES ('analyst')`,
		`INSERT INTO grants (role_name, privilege, object_kind, object_name, column_list, row_filter)
			VALUES ('analyst', 'SELECT', 'URI', 's3://lake/a', '', '')`,
		`INSERT INTO grants (role_name, privilege, object_kind, object_name, column_list, row_filter)
			VALUES ('analyst', 'SELECT', 'URI', 's3://lake/gone', '', '')`,
		`INSERT INTO grants (role_name, privilege, object_kind, object_name, column_list, row_filter)
			VALUES ('analyst', 'SELECT', 'TABLE', 'sales.orders', 'id,ssn', 'region = ''EU''')`,
		// A gap in the ids, which the migration must not close.
		`DELETE FROM grants WHERE object_name = 's3://lake/gone'`,
		`UPDATE policy_version SET version = 3 WHERE id = 1`,
	)
	before := grantRows(t, raw, idColumn, false)

	s := open(t)
	after := grantRows(t, raw, idColumn, true)
	if len(after) != len(before) {
		t.Fatalf("grants after 00006: %v, before %v", after, before)
	}
	for object, row := range before {
		if want := row[:len(row)-len(`"-"`)] + `""`; after[object] != want {
			t.Errorf("grant on %s after 00006: %s; want %s (same id, options '')", object, after[object], want)
		}
	}
	pol, err := s.LoadPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orders := store.Grant{Role: "analyst", Privilege: "SELECT", ObjectKind: "TABLE", Object: "sales.orders",
		Columns: "id,ssn", RowFilter: "region = 'EU'"}
	uri := store.Grant{Role: "analyst", Privilege: "SELECT", ObjectKind: "URI", Object: "s3://lake/a"}
	if pol.Version != 3 || len(pol.Roles) != 1 || !slices.Equal(pol.Roles[0].Grants, []store.Grant{orders, uri}) {
		t.Fatalf("after migrating over 00005: %+v", pol)
	}

	// The unique key covers options: the old grant again is a no-op, the
	// same grant with options another row.
	masked := orders
	masked.Options = "TRANSFORM ssn WITH mask_last(4)"
	err = s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		for _, g := range []store.Grant{orders, masked, masked, uri} {
			if err := tx.AddGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pol, err = s.LoadPolicy(ctx); err != nil || !slices.Equal(pol.Roles[0].Grants, []store.Grant{orders, masked, uri}) {
		t.Fatalf("grants on the migrated store (%v): %+v", err, pol.Roles)
	}
	withMask := grantRows(t, raw, idColumn, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Down: the grant with options goes, the others stay as they were.
	if _, err := p.DownTo(ctx, 5); err != nil {
		t.Fatalf("migrate down to 00005: %v", err)
	}
	down := grantRows(t, raw, idColumn, false)
	if !maps.Equal(down, before) {
		t.Errorf("grants after migrating down: %v; want %v (with options: %v)", down, before, withMask)
	}
}

func TestSQLiteMigratesOver00005(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lakegate.db")
	testMigratesOver00005(t, "sqlite", goose.DialectSQLite3, "sqlite", path+"?_pragma=foreign_keys(1)", "rowid", func(t *testing.T) *store.SQL {
		return openSQLite(t, path)
	})
}
