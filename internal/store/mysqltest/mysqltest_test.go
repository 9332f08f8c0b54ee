package mysqltest

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

var dsnForm = regexp.MustCompile(`^lakegate:([A-Z2-7]+)@tcp\(127\.0\.0\.1:(\d+)\)/(\w+)$`)

// clientAs runs sql with the mariadb client connected over TCP with the
// credentials of dsn.
func clientAs(t *testing.T, s *Server, dsn, sql string) (string, error) {
	t.Helper()
	m := dsnForm.FindStringSubmatch(dsn)
	if m == nil {
		t.Fatalf("DSN %q is not go-sql-driver/mysql's form for the store", dsn)
	}
	cmd := exec.Command(s.client, "--no-defaults", "--protocol=TCP", "--host=127.0.0.1", "--port="+m[2],
		"--user="+User, "--database="+m[3], "--connect-timeout=5", "--batch", "--skip-column-names", "--execute="+sql)
	cmd.Env = append(cmd.Environ(), "MYSQL_PWD="+m[1])
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestServer: the store's DSN reaches its own database over TCP; data
// committed before a Stop is there after Start, on the same port; while
// stopped, connections fail; no account is open without a password.
func TestServer(t *testing.T) {
	s := Start(t)
	out, err := clientAs(t, s, s.DSN, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept'); SELECT current_user(), database()")
	if err != nil || out != "lakegate@%\tlakegate" {
		t.Fatalf("as the store's user: %q, %v", out, err)
	}
	accounts, err := s.Exec("mysql", "SELECT CONCAT(User, '@', Host) FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.authentication_string') = '' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range strings.Fields(accounts) {
		if a != "mariadb.sys@localhost" { // locked, owns the system views
			t.Errorf("account %s has no password", a)
		}
	}
	port := s.Port
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := clientAs(t, s, s.DSN, "SELECT 1"); err == nil {
		t.Fatalf("a stopped server answered: %q", out)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.Port != port {
		t.Errorf("port %d after restart, was %d", s.Port, port)
	}
	if out, err := clientAs(t, s, s.DSN, "SELECT v FROM t"); err != nil || out != "kept" {
		t.Fatalf("after restart: %q, %v", out, err)
	}

	dsn, err := s.CreateDatabase("other")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := clientAs(t, s, dsn, "CREATE TABLE u (v int); SELECT database()"); err != nil || out != "other" {
		t.Fatalf("in the created database: %q, %v", out, err)
	}
	bad := strings.Replace(s.DSN, "lakegate:", "lakegate:X", 1)
	if out, err := clientAs(t, s, bad, "SELECT 1"); err == nil {
		t.Errorf("a wrong password was accepted: %s", out)
	}
}
