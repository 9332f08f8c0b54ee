package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/storetest"
)

// testServer is a database server started for the test (pgtest.Server,
// mysqltest.Server).
type testServer interface {
	// CreateDatabase creates an empty database and returns the store's DSN
	// for it.
	CreateDatabase(name string) (string, error)
	// Exec runs statements as the server's superuser in database db and
	// returns the output, one row a line, fields separated by a tab or |.
	Exec(db string, statements ...string) (string, error)
}

// serverSuite runs, for driver on srv, the conformance suite (one fresh
// database per test) and the tests of opening: the newer schema refused,
// servers starting at once, and a password kept out of errors.
func serverSuite(t *testing.T, driver string, srv testServer) {
	var n atomic.Int64
	newDB := func(t *testing.T) (name, dsn string) {
		t.Helper()
		name = fmt.Sprintf("t%04d", n.Add(1))
		dsn, err := srv.CreateDatabase(name)
		if err != nil {
			t.Fatal(err)
		}
		return name, dsn
	}
	open := func(t *testing.T, dsn string) *store.SQL {
		t.Helper()
		s, err := store.Open(t.Context(), driver, dsn)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}

	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			_, dsn := newDB(t)
			return open(t, dsn)
		})
	})
	t.Run("Shared", func(t *testing.T) {
		storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
			_, dsn := newDB(t)
			return open(t, dsn), open(t, dsn)
		})
	})
	t.Run("RefusesNewerSchema", func(t *testing.T) {
		name, dsn := newDB(t)
		if err := open(t, dsn).Close(); err != nil {
			t.Fatal(err)
		}
		known := query(t, srv, name, "SELECT MAX(version_id) FROM goose_db_version")
		query(t, srv, name, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)")
		s, err := store.Open(t.Context(), driver, dsn)
		if err == nil {
			_ = s.Close()
			t.Fatal("Open of a database at schema version 9999 succeeded")
		}
		if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), " 9999") ||
			!strings.Contains(err.Error(), " "+known+";") {
			t.Errorf("err = %v; want ErrSchemaTooNew naming versions 9999 and %s", err, known)
		}
	})
	t.Run("MigratesOver00004", func(t *testing.T) {
		_, dsn := newDB(t)
		sqlDriver := map[string]string{"postgres": "pgx", "mysql": "mysql"}[driver]
		dialect := map[string]goose.Dialect{"postgres": goose.DialectPostgres, "mysql": goose.DialectMySQL}[driver]
		testMigratesOver00004(t, sqlDriver, dialect, driver, dsn, func(t *testing.T) *store.SQL { return open(t, dsn) })
	})
	t.Run("MigratesOver00005", func(t *testing.T) {
		_, dsn := newDB(t)
		sqlDriver := map[string]string{"postgres": "pgx", "mysql": "mysql"}[driver]
		dialect := map[string]goose.Dialect{"postgres": goose.DialectPostgres, "mysql": goose.DialectMySQL}[driver]
		testMigratesOver00005(t, sqlDriver, dialect, driver, dsn, "id", func(t *testing.T) *store.SQL { return open(t, dsn) })
	})
	t.Run("UpdatePolicyRetriesDeadlock", func(t *testing.T) {
		_, dsn := newDB(t)
		testRetriesDeadlock(t, open(t, dsn), driver, dsn)
	})
	t.Run("ConcurrentStart", func(t *testing.T) {
		name, dsn := newDB(t)
		const servers = 4
		var wg sync.WaitGroup
		for i := range servers {
			wg.Go(func() {
				s, err := store.Open(t.Context(), driver, dsn)
				if err != nil {
					t.Errorf("server %d: Open: %v", i, err)
					return
				}
				if err := s.Close(); err != nil {
					t.Errorf("server %d: Close: %v", i, err)
				}
			})
		}
		wg.Wait()
		if dup := query(t, srv, name, "SELECT version_id FROM goose_db_version GROUP BY version_id HAVING COUNT(*) > 1"); dup != "" {
			t.Errorf("migrations applied more than once: versions %q", dup)
		}
		if v := query(t, srv, name, "SELECT version FROM policy_version"); v != "0" {
			t.Errorf("policy version = %q, want 0", v)
		}
	})
}

// query runs one statement through srv and returns its trimmed output.
func query(t *testing.T, srv testServer, db, statement string) string {
	t.Helper()
	out, err := srv.Exec(db, statement)
	if err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
	return strings.TrimSpace(out)
}

// testOpenHidesPassword checks that errors opening a store never contain
// the DSN's password: a DSN that does not parse, and a server that is not
// there.
func testOpenHidesPassword(t *testing.T, driver string, dsns ...string) {
	const password = "pw-Sekr1t-4711"
	for _, dsn := range dsns {
		if !strings.Contains(dsn, password) {
			t.Fatalf("test DSN %q lacks the password", dsn)
		}
		s, err := store.Open(t.Context(), driver, dsn)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

// testRetriesDeadlock makes UpdatePolicy the victim of a deadlock and
// checks that it runs its function again and commits once. Another
// transaction, made heavier with a few rows so that InnoDB picks
// UpdatePolicy's as the victim (PostgreSQL picks the one that waited
// first), locks role x; UpdatePolicy bumps the version and waits for x;
// the other then waits for the version row.
func testRetriesDeadlock(t *testing.T, s *store.SQL, driver, dsn string) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.UpdatePolicy(ctx, func(tx store.PolicyTx) error { return tx.CreateRole(ctx, "x") }); err != nil {
		t.Fatal(err)
	}
	v0, err := s.PolicyVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open(map[string]string{"postgres": "pgx", "mysql": "mysql"}[driver], dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	other, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback() }()
	for i := range 20 {
		if _, err := other.ExecContext(ctx, fmt.Sprintf("INSERT INTO users (name, created_at) VALUES ('filler-%02d', 0)", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.ExecContext(ctx, "SELECT name FROM roles WHERE name = 'x' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	var attempts atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- s.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
			attempts.Add(1)
			return tx.DropRole(ctx, "x")
		})
	}()
	time.Sleep(300 * time.Millisecond) // UpdatePolicy now waits for x
	if _, err := other.ExecContext(ctx, "UPDATE policy_version SET version = version + 1 WHERE id = 1"); err != nil {
		t.Fatalf("the other transaction was the deadlock's victim (%v): the test needs UpdatePolicy's to be", err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("UpdatePolicy after a deadlock: %v", err)
	}
	// At least once more after the deadlock; on a loaded machine the
	// retry may meet the other transaction still committing and be
	// retried again. The version below shows it committed once.
	if n := attempts.Load(); n < 2 {
		t.Errorf("UpdatePolicy ran its function %d times, want at least 2 (once more after the deadlock)", n)
	}
	if v, err := s.PolicyVersion(ctx); err != nil || v != v0+2 {
		t.Errorf("PolicyVersion = %d, %v; want %d (the other transaction's increase and UpdatePolicy's)", v, err, v0+2)
	}
	p, err := s.LoadPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Roles) != 0 {
		t.Errorf("role x still there after the retried DropRole: %+v", p.Roles)
	}
}
