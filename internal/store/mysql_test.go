package store_test

import (
	"testing"

	"github.com/lakegate/lakegate/internal/store/mysqltest"
)

// TestMySQL runs the conformance suite and the opening tests on a MariaDB
// server of the test's own (skipped when MariaDB is not installed; CI
// installs it and fails on skips).
func TestMySQL(t *testing.T) {
	serverSuite(t, "mysql", mysqltest.Start(t))
}

func TestMySQLOpenHidesPassword(t *testing.T) {
	testOpenHidesPassword(t, "mysql",
		"lakegate:pw-Sekr1t-4711@tcp(127.0.0.1:1)/lakegate?timeout=x",
		"lakegate:pw-Sekr1t-4711@tcp(127.0.0.1:1)/lakegate?allowNativePasswords=maybe",
		"lakegate:pw-Sekr1t-4711@tcp(127.0.0.1:1)",
		// Nothing listens on port 1.
		"lakegate:pw-Sekr1t-4711@tcp(127.0.0.1:1)/lakegate",
	)
}
