package pgtest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// psqlAs runs sql with psql connected by the store's DSN.
func psqlAs(t *testing.T, s *Server, sql string) (string, error) {
	t.Helper()
	out, err := exec.Command(filepath.Join(s.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-d", s.DSN, "-c", sql).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestServer: the store's DSN reaches its own database as its owner over
// TCP; data committed before a Stop is there after Start, on the same port;
// while stopped, connections fail.
func TestServer(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.DSN, "postgres://lakegate:") || !strings.HasSuffix(s.DSN, "/lakegate?sslmode=disable") {
		t.Fatalf("DSN %q is not the store's URL form", s.DSN)
	}
	out, err := psqlAs(t, s, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept'); SELECT current_user, current_database()")
	if err != nil || out != "lakegate|lakegate" {
		t.Fatalf("as the store's user: %q, %v", out, err)
	}
	port := s.Port
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := psqlAs(t, s, "SELECT 1"); err == nil {
		t.Fatalf("a stopped server answered: %q", out)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.Port != port {
		t.Errorf("port %d after restart, was %d", s.Port, port)
	}
	if out, err := psqlAs(t, s, "SELECT v FROM t"); err != nil || out != "kept" {
		t.Fatalf("after restart: %q, %v", out, err)
	}

	dsn, err := s.CreateDatabase("other")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(dsn, "/other?sslmode=disable") {
		t.Errorf("CreateDatabase DSN %q", dsn)
	}
	// Wrong passwords are refused: authentication is not trust.
	bad := strings.Replace(s.DSN, "lakegate:", "lakegate:x", 1)
	if out, err := exec.Command(filepath.Join(s.bin, "psql"), "-X", "-d", bad, "-c", "SELECT 1").CombinedOutput(); err == nil {
		t.Errorf("a wrong password was accepted: %s", out)
	}
}
