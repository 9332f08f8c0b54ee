package store_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/pgtest"
	"github.com/lakegate/lakegate/internal/store/storetest"
)

// TestPostgres runs the conformance suite and the opening tests on a
// PostgreSQL server of the test's own (skipped when PostgreSQL is not
// installed; CI installs it and fails on skips).
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	serverSuite(t, "postgres", srv)
	// The store serializes writers by the policy version's row lock and
	// relies on READ COMMITTED for what a writer reads after taking it:
	// it must ask for it rather than take the database's default.
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run("DefaultIsolation "+level, func(t *testing.T) {
			var n atomic.Int64
			storetest.RunConcurrency(t, func(t *testing.T) store.Store {
				name := fmt.Sprintf("iso%s%d", level[:1], n.Add(1))
				dsn, err := srv.CreateDatabase(name)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := srv.Exec("postgres", fmt.Sprintf("ALTER DATABASE %s SET default_transaction_isolation = '%s'", name, level)); err != nil {
					t.Fatal(err)
				}
				s, err := store.Open(t.Context(), "postgres", dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				return s
			})
		})
	}
}

func TestPostgresOpenHidesPassword(t *testing.T) {
	testOpenHidesPassword(t, "postgres",
		"postgres://lakegate:pw-Sekr1t-4711@127.0.0.1:1/lakegate?connect_timeout=x",
		"postgres://lakegate:pw-Sekr1t-4711@127.0.0.1:notaport/lakegate",
		"host=127.0.0.1 port=1 user=lakegate password=pw-Sekr1t-4711 dbname=lakegate sslmode=bogus",
		// Nothing listens on port 1.
		"postgres://lakegate:pw-Sekr1t-4711@127.0.0.1:1/lakegate?sslmode=disable&connect_timeout=2",
	)
}
