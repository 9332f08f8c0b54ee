package store_test

import (
	"testing"

	"github.com/lakegate/lakegate/internal/store/mysqltest"
)

// TestMySQL runs the conformance suite and the opening tests on a MariaDB
// server of the test's own (skipped when MariaDB is not installed; CI
// installs it and fails on skips).
// The server requires a primary key in every table, as MySQL 8's
// sql_require_primary_key and group replication do.
func TestMySQL(t *testing.T) {
	srv := mysqltest.Start(t)
	if _, err := srv.Exec("mysql", "SET GLOBAL innodb_force_primary_key = ON"); err != nil {
		t.Fatal(err)
	}
	serverSuite(t, "mysql", srv)
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
