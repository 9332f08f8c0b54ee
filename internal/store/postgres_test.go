package store_test

import (
	"testing"

	"github.com/lakegate/lakegate/internal/store/pgtest"
)

// TestPostgres runs the conformance suite and the opening tests on a
// PostgreSQL server of the test's own (skipped when PostgreSQL is not
// installed; CI installs it and fails on skips).
func TestPostgres(t *testing.T) {
	serverSuite(t, "postgres", pgtest.Start(t))
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
