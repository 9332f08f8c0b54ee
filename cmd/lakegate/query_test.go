//go:build duckdb_arrow

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/api/apitest"
)

// queryServer serves a REST API with the data plane over a CSV table
// hr.people; alice sees EU rows with ssn masked. LAKEGATE_TOKEN is
// alice's.
func queryServer(t *testing.T) {
	t.Helper()
	srv, fx := apitest.ScanServer(t, apitest.ScanOptions{Users: map[string][]string{"alice": {"eu"}}})
	clientEnv(t, srv.URL, fx.Token(t, "alice"))
}

func TestQueryCommand(t *testing.T) {
	queryServer(t)
	stmtFile := filepath.Join(t.TempDir(), "q.sql")
	if err := os.WriteFile(stmtFile, []byte("SELECT name FROM hr.people WHERE id = 3"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"table", []string{"query", "SELECT id, name, ssn, NULL AS x FROM hr.people ORDER BY id"}, 0,
			"id  name   ssn          x\n1   Alice  XXXXXXX6789  NULL\n3   Carol  XXXXXXX3456  NULL\n(2 rows)\n", ""},
		{"csv", []string{"query", "--format", "csv", "SELECT id, ssn FROM hr.people ORDER BY id"}, 0,
			"id,ssn\n1,XXXXXXX6789\n3,XXXXXXX3456\n", ""},
		{"json", []string{"query", "--format=json", "SELECT count(*) AS n FROM hr.people"}, 0, `[{"n":2}]` + "\n", ""},
		{"file", []string{"query", "-f", stmtFile}, 0, "name\nCarol\n(1 row)\n", ""},
		{"refused", []string{"query", "COPY hr.people TO '/tmp/x'"}, 1, "", "refused"},
		{"bad format", []string{"query", "--format", "xml", "SELECT 1"}, 1, "", "want table, csv or json"},
		{"nothing to run", []string{"query"}, 1, "", "lakegate query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || stdout != tc.stdout || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("code %d, stdout\n%s\nstderr %q; want %d\n%s\n%q", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
