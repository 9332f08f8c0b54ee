package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/credentials"
)

// restServer runs the real REST API over SQLite with a catalog admin and
// alice (group analysts, role readers: SELECT on s3://bkt/data), points
// the client commands at it through $LAKEGATE_SERVER and gives them the
// admin token through $LAKEGATE_TOKEN, with an empty HOME. It returns
// alice's token.
func restServer(t *testing.T) (aliceToken string) {
	t.Helper()
	fx := authztest.New(t, authztest.Options{
		Script: "CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts; GRANT SELECT, SHOW ON URI 's3://bkt/data' TO ROLE readers",
		Users:  map[string][]string{"alice": {"analysts"}},
	})
	serveAdminREST(t, fx)
	return fx.Token(t, "alice")
}

// serveAdminREST serves the REST API over fx and points the client
// commands at it as the admin.
func serveAdminREST(t *testing.T, fx *authztest.Fixture) {
	t.Helper()
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clientEnv(t, srv.URL, fx.Token(t, "admin"))
}

// clientEnv points the client commands at the server at url through
// $LAKEGATE_SERVER and gives them token through $LAKEGATE_TOKEN, with an
// empty HOME.
func clientEnv(t *testing.T, url, token string) {
	t.Helper()
	t.Setenv(serverEnv, url)
	t.Setenv(client.TokenEnv, token)
	t.Setenv("HOME", t.TempDir())
}

// withStdin makes os.Stdin read s for the rest of the test.
func withStdin(t *testing.T, s string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })
}

func TestSQLCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "policy.sql")
	if err := os.WriteFile(script, []byte("-- a file\nCREATE ROLE filed;\nGRANT ROLE filed TO GROUP g;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{
			name:   "statements",
			args:   []string{"sql", "CREATE ROLE r; GRANT ROLE r TO GROUP g;"},
			stdout: "role r created\nrole r granted to group g\n",
		},
		{
			name:   "file",
			args:   []string{"sql", "-f", script},
			stdout: "role filed created\nrole filed granted to group g\n",
		},
		{
			name:   "standard input",
			args:   []string{"sql", "--file", "-"},
			stdin:  "CREATE ROLE piped; SHOW ROLES",
			stdout: "role piped created\n\nrole\nadmin_role\npiped\nreaders\n(3 rows)\n",
		},
		{
			name: "table",
			args: []string{"sql", "SHOW GRANTS ON ROLE readers; SHOW CURRENT ROLES"},
			stdout: "privileges    object               grant\n" +
				"SELECT, SHOW  URI 's3://bkt/data'  GRANT SELECT, SHOW ON URI 's3://bkt/data' TO ROLE readers\n" +
				"(1 row)\n" +
				"\n" +
				"role        via_group\n" +
				"admin_role  admin\n" +
				"(1 row)\n",
		},
		{
			name:   "empty table",
			args:   []string{"sql", "SHOW ROLE GRANT GROUP nobody"},
			stdout: "role\n(0 rows)\n",
		},
		{
			name:   "statements and a file",
			args:   []string{"sql", "-f", script, "SHOW ROLES"},
			code:   1,
			stderr: "lakegate: give statements or -f FILE, not both\n",
		},
		{
			name:   "nothing",
			args:   []string{"sql"},
			code:   1,
			stderr: "lakegate: no statements: lakegate sql \"SHOW ROLES\" or lakegate sql -f policy.sql\n",
		},
		{
			name:   "missing file",
			args:   []string{"sql", "-f", filepath.Join(dir, "missing.sql")},
			code:   1,
			stderr: "lakegate: open " + filepath.Join(dir, "missing.sql") + ": no such file or directory\n",
		},
		{
			name:   "syntax error",
			args:   []string{"sql", "CREATE ROLE ok;\nGRANT ROLE ok TO g"},
			code:   1,
			stderr: "lakegate: syntax error: line 2, column 18: expected GROUP, found \"g\"\n",
		},
		{
			name:   "failing statement applies nothing",
			args:   []string{"sql", "CREATE ROLE fresh; DROP ROLE nosuch"},
			code:   1,
			stderr: "lakegate: line 1, column 20: DROP ROLE nosuch: invalid request: role nosuch does not exist\n",
		},
		{
			name:   "bad server",
			args:   []string{"sql", "--server", "localhost:8083", "SHOW ROLES"},
			code:   1,
			stderr: "lakegate: invalid server \"localhost:8083\": expected http://host:port or https://host:port\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restServer(t)
			if tt.stdin != "" {
				withStdin(t, tt.stdin)
			}
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("lakegate %q: code %d\n--- stdout\n%s--- stderr\n%s--- want code %d\n--- stdout\n%s--- stderr\n%s",
					tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestSQLCommandAllOrNothing: the statement before the failing one was not
// applied.
func TestSQLCommandAllOrNothing(t *testing.T) {
	restServer(t)
	if code, _, _ := runCLI(t, "sql", "CREATE ROLE fresh; DROP ROLE nosuch"); code != 1 {
		t.Fatalf("code %d, want 1", code)
	}
	_, stdout, _ := runCLI(t, "sql", "SHOW ROLES")
	if strings.Contains(stdout, "fresh") {
		t.Errorf("role fresh exists after the failed script:\n%s", stdout)
	}
}

func TestClientCommandsFindToken(t *testing.T) {
	aliceToken := restServer(t)
	home := os.Getenv("HOME")

	t.Setenv(client.TokenEnv, "")
	code, _, stderr := runCLI(t, "sql", "SHOW ROLES")
	if code != 1 || stderr != "lakegate: no token: set LAKEGATE_TOKEN or write it to ~/.lakegate/token\n" {
		t.Errorf("without a token: code %d, stderr %q", code, stderr)
	}

	// Okera's location, then ours, which wins.
	for _, f := range []struct{ path, token, want string }{
		{".okera/token", aliceToken, "role\nreaders\n(1 row)\n"},
		{".lakegate/token", "lgt_" + strings.Repeat("0", 40), ""},
	} {
		p := filepath.Join(home, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "sql", "SHOW ROLES")
		if f.want != "" && (code != 0 || stdout != f.want) {
			t.Errorf("token in ~/%s: code %d, stdout %q, stderr %q", f.path, code, stdout, stderr)
		}
		if f.want == "" && (code != 1 || stderr != "lakegate: "+os.Getenv(serverEnv)+" refused the token: invalid or expired token (set LAKEGATE_TOKEN or write the token to ~/.lakegate/token)\n") {
			t.Errorf("bad token in ~/%s: code %d, stderr %q", f.path, code, stderr)
		}
	}
}

var (
	keyLineRE    = regexp.MustCompile(`(?m)^aws_access_key_id = (LG[A-Z0-9]{18})$`)
	secretLineRE = regexp.MustCompile(`(?m)^aws_secret_access_key = ([A-Za-z0-9]{40})$`)
	tokenLineRE  = regexp.MustCompile(`(?m)^lakegate_token = (lgt_[A-Za-z0-9]{40})$`)
)

func TestUsersCommands(t *testing.T) {
	restServer(t)
	code, stdout, stderr := runCLI(t, "users", "create", "carol", "analysts", "etl")
	if code != 0 {
		t.Fatalf("users create: code %d, stderr %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "user = carol\ngroups = analysts,etl\n") || !keyLineRE.MatchString(stdout) ||
		!secretLineRE.MatchString(stdout) || !tokenLineRE.MatchString(stdout) || strings.Count(stdout, "\n") != 5 {
		t.Errorf("users create printed:\n%s", stdout)
	}

	// The printed token is carol's.
	t.Setenv(client.TokenEnv, tokenLineRE.FindStringSubmatch(stdout)[1])
	code, out, stderr := runCLI(t, "check", "s3://bkt/data/x", "GetObject")
	if code != 0 || out != "ALLOW\nGRANT SELECT, SHOW ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)\n" {
		t.Errorf("check with carol's token: code %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, _, stderr = runCLI(t, "users", "create", "dave")
	if code != 1 || stderr != "lakegate: only catalog admins may create users\n" {
		t.Errorf("users create by carol: code %d, stderr %q", code, stderr)
	}

	restServer(t) // back to the admin token, on a fresh server
	code, stdout, stderr = runCLI(t, "users", "create", "carol")
	if code != 0 || !strings.HasPrefix(stdout, "user = carol\ngroups = \n") {
		t.Errorf("users create without groups: code %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "users", "delete", "carol")
	if code != 0 || stdout != "user carol deleted\n" {
		t.Errorf("users delete: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "users", "delete", "carol")
	if code != 1 || stderr != "lakegate: invalid request: user carol does not exist\n" {
		t.Errorf("users delete again: code %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "users", "create")
	if code != 1 || !strings.HasPrefix(stderr, "lakegate: requires at least 1 arg(s)") {
		t.Errorf("users create without a name: code %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "users", "create", "bad name")
	if code != 1 || stderr != "lakegate: name must be 1 to 128 characters without spaces, slashes or control characters\n" {
		t.Errorf("users create with a bad name: code %d, stderr %q", code, stderr)
	}
}

func TestCheckCommand(t *testing.T) {
	aliceToken := restServer(t)
	tests := []struct {
		name   string
		token  string // "" for the admin's
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{
			name:   "allow",
			args:   []string{"check", "--user", "alice", "s3://bkt/data/2024/x.csv", "GetObject"},
			stdout: "ALLOW\nGRANT SELECT, SHOW ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)\n",
		},
		{
			name:   "deny",
			args:   []string{"check", "--user", "alice", "s3://bkt/database/x", "GetObject"},
			stdout: "DENY\nno role granted to groups [analysts] holds SELECT on s3://bkt/database/x\n",
		},
		{
			name:   "listing filtered",
			args:   []string{"check", "--user", "alice", "s3://bkt", "ListObjectsV2"},
			stdout: "ALLOW\ngroups [analysts] hold SELECT below s3://bkt; the listing shows only what those grants cover\n",
		},
		{
			name:   "with groups",
			args:   []string{"check", "--user", "alice", "--groups", "etl, admin", "s3://bkt/x", "PutBucketPolicy"},
			stdout: "ALLOW\ncatalog admin: GRANT ALL ON SERVER TO ROLE admin_role (role admin_role via group admin)\n",
		},
		{
			name:   "the token's user by default",
			args:   []string{"check", "s3://other/x", "DeleteObject"},
			stdout: "ALLOW\ncatalog admin: GRANT ALL ON SERVER TO ROLE admin_role (role admin_role via group admin)\n",
		},
		{
			name:   "a user checks itself",
			token:  aliceToken,
			args:   []string{"check", "s3://bkt/data/x", "PutObject"},
			stdout: "DENY\nno role granted to groups [analysts] holds INSERT on s3://bkt/data/x\n",
		},
		{
			name:   "a user checks another",
			token:  aliceToken,
			args:   []string{"check", "--user", "admin", "s3://bkt/data/x", "PutObject"},
			code:   1,
			stderr: "lakegate: only catalog admins may check another user's access\n",
		},
		{
			name:   "unknown operation",
			args:   []string{"check", "--user", "alice", "s3://bkt/x", "Frobnicate"},
			code:   1,
			stderr: "lakegate: invalid request: unknown S3 operation \"Frobnicate\" (use an API action name such as GetObject, PutObject, ListObjectsV2)\n",
		},
		{
			name:   "object operation without key",
			args:   []string{"check", "--user", "alice", "s3://bkt", "GetObject"},
			code:   1,
			stderr: "lakegate: invalid request: GetObject acts on an object: give s3://bucket/key\n",
		},
		{
			name:   "missing operation",
			args:   []string{"check", "--user", "alice", "s3://bkt/x"},
			code:   1,
			stderr: "lakegate: accepts 2 arg(s), received 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token != "" {
				t.Setenv(client.TokenEnv, tt.token)
			}
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("lakegate %q: code %d\n--- stdout\n%s--- stderr\n%s--- want code %d\n--- stdout\n%s--- stderr\n%s",
					tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
