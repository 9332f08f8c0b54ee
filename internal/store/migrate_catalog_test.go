package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/lakegate/lakegate/internal/store"
)

// migratedTo builds a database at schema version from the dialect's
// migrations in migrations/dir and runs stmts in it. It returns the
// database, closed when the test ends, and the migrations' provider.
func migratedTo(t *testing.T, sqlDriver string, dialect goose.Dialect, dir, dsn string, version int64, stmts ...string) (*sql.DB, *goose.Provider) {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open(sqlDriver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	p, err := goose.NewProvider(dialect, raw, os.DirFS(filepath.Join("migrations", dir)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatalf("migrate to %05d: %v", version, err)
	}
	for _, q := range stmts {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return raw, p
}

// testMigratesOver00004 builds a database at schema version 4 (before the
// catalog) from the dialect's migrations, with a role, a grant and a user
// in it, then opens it as the store, which applies 00005_catalog: the
// policy is kept and the catalog works.
func testMigratesOver00004(t *testing.T, sqlDriver string, dialect goose.Dialect, dir, dsn string, open func(t *testing.T) *store.SQL) {
	t.Helper()
	ctx := context.Background()
	raw, _ := migratedTo(t, sqlDriver, dialect, dir, dsn, 4,
		`INSERT INTO roles (name) VALUES ('analyst')`,
		`INSERT INTO grants (role_name, privilege, object_kind, object_name, column_list, row_filter)
			VALUES ('analyst', 'SELECT', 'TABLE', 'sales.orders', '', '')`,
		`INSERT INTO users (name, created_at) VALUES ('alice', 0)`,
		`UPDATE policy_version SET version = 7 WHERE id = 1`,
	)
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t)
	pol, err := s.LoadPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pol.Version != 7 || len(pol.Roles) != 1 || len(pol.Roles[0].Grants) != 1 || len(pol.Users) != 1 ||
		pol.Databases == nil || pol.Tables == nil || len(pol.Databases)+len(pol.Tables) != 0 {
		t.Fatalf("after migrating over 00004: %+v", pol)
	}
	err = s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		if err := tx.CreateDatabase(ctx, store.Database{Name: "sales"}); err != nil {
			return err
		}
		if err := tx.CreateTable(ctx, store.Table{Database: "sales", Name: "orders", Location: "s3://lake/orders", Format: "PARQUET",
			Columns: []store.Column{{Name: "id", Type: "bigint"}}}); err != nil {
			return err
		}
		if err := tx.AddPartition(ctx, "sales", "orders", store.Partition{Spec: "y=1", Location: "s3://lake/orders/y=1"}); err != nil {
			return err
		}
		_, err := tx.RenameObjectGrants(ctx, "TABLE", "sales.orders", "sales.orders_v2")
		return err
	})
	if err != nil {
		t.Fatalf("catalog on the migrated store: %v", err)
	}
	pol, err = s.LoadPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pol.Version != 8 || len(pol.Tables) != 1 || len(pol.Tables[0].Partitions) != 1 || pol.Roles[0].Grants[0].Object != "sales.orders_v2" {
		t.Errorf("after a catalog update on the migrated store: %+v", pol)
	}
}

func TestSQLiteMigratesOver00004(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lakegate.db")
	testMigratesOver00004(t, "sqlite", goose.DialectSQLite3, "sqlite", path+"?_pragma=foreign_keys(1)", func(t *testing.T) *store.SQL {
		return openSQLite(t, path)
	})
}
