package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/pgtest"
)

// Issue 14's `lakegate store copy`: quickstart's SQLite store copied to
// PostgreSQL (secrets encrypted there) and back, with `lakegate serve`
// running on each copy: the same SHOW output, the same users, and the keys
// and token quickstart issued working through the copies.

// storeServe is a `lakegate serve` on a given store, in front of MinIO,
// without admin.* settings: quickstart's admin key and token, copied with
// the store, are what the test uses.
func startStoreServe(t *testing.T, m *minioServer, storeCfg map[string]any, token string) *lakegateServer {
	t.Helper()
	dir := t.TempDir()
	lg := &lakegateServer{ProxyAddr: freeAddr(t), RESTAddr: freeAddr(t), AdminToken: token,
		ConfigFile: filepath.Join(dir, "lakegate.yaml"), DataDir: filepath.Join(dir, "data")}
	lg.ProxyURL, lg.RESTURL = "http://"+lg.ProxyAddr, "http://"+lg.RESTAddr
	cfg, err := yaml.Marshal(map[string]any{
		"data_dir": lg.DataDir,
		"proxy":    map[string]any{"addr": lg.ProxyAddr},
		"rest":     map[string]any{"addr": lg.RESTAddr},
		"store":    storeCfg,
		"upstream": map[string]any{"endpoint": m.Endpoint, "region": region, "path_style": true,
			"access_key_id": m.AccessKey, "secret_access_key": m.SecretKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lg.ConfigFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	lg.proc = startProcess(t, lakegateBin, baseEnv(dir), "serve", "--config", lg.ConfigFile)
	t.Cleanup(func() {
		if !lg.proc.stop(15 * time.Second) {
			t.Errorf("lakegate serve did not exit within 15s of SIGTERM")
		}
		registerLogFiles(filepath.Join(lg.DataDir, "audit"))
		if t.Failed() {
			t.Logf("lakegate serve (store %v) stderr:\n%s", storeCfg["driver"], tail(lg.proc.out.String(), 20000))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for _, addr := range []string{lg.ProxyAddr, lg.RESTAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				_ = c.Close()
				break
			}
			if lg.proc.exited() || time.Now().After(deadline) {
				t.Fatalf("lakegate serve not listening on %s: %v\n%s", addr, err, lg.proc.out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return lg
}

// policyView is what the admin sees of the policy through `lakegate sql`.
func policyView(t *testing.T, lg *lakegateServer, roles []string, groups []string) string {
	t.Helper()
	stmts := []string{"SHOW ROLES"}
	for _, r := range roles {
		stmts = append(stmts, "SHOW GRANTS ON ROLE "+r)
	}
	for _, g := range groups {
		stmts = append(stmts, "SHOW ROLE GRANT GROUP "+g)
	}
	return lg.sql(t, stmts...)
}

// usersOf reads the users (names, groups, creation times) of a store.
func usersOf(t *testing.T, driver, dsn, keyFile string) []store.User {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, driver, dsn)
	if err != nil {
		t.Fatalf("open %s store: %v", driver, err)
	}
	defer db.Close()
	s, err := store.WithKeyFile(db, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.LoadPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p.Users
}

func sameUsers(a, b []store.User) bool {
	return slices.EqualFunc(a, b, func(x, y store.User) bool {
		return x.Name == y.Name && slices.Equal(x.Groups, y.Groups) && x.CreatedAt.Equal(y.CreatedAt)
	})
}

var copyCountRE = regexp.MustCompile(`(?m)^(roles|grants|role group links|users|user groups|access keys|secrets)\s+(\d+)\s+(\d+)\s*$`)

// runStoreCopy runs `lakegate store copy` and checks its table: every kind
// on both sides equal, the records identical, exit 0.
func runStoreCopy(t *testing.T, args ...string) map[string]string {
	t.Helper()
	stdout, stderr, code := cliRun(t, nil, append([]string{"store", "copy"}, args...)...)
	if code != 0 {
		t.Fatalf("lakegate store copy: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	counts := map[string]string{}
	for _, m := range copyCountRE.FindAllStringSubmatch(stdout, -1) {
		if m[2] != m[3] {
			t.Errorf("store copy: %s source %s, target %s", m[1], m[2], m[3])
		}
		counts[m[1]] = m[2]
	}
	if len(counts) != 7 || !strings.Contains(stdout, "records: identical") {
		t.Errorf("store copy printed no complete table:\n%s", stdout)
	}
	return counts
}

func TestStoreCopyRoundTrip(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	q := startFirstUseQuickstart(t, nil)
	qs := &lakegateServer{RESTURL: q.RESTURL, AdminToken: q.Token}
	// The policy to carry: a role with grants on a prefix, granted to a
	// group; a user of that group with a key.
	const bucket = "copied-lake"
	qs.sql(t,
		"CREATE ROLE copy_analyst",
		"GRANT SELECT ON URI 's3://"+bucket+"/granted/' TO ROLE copy_analyst",
		"GRANT SHOW ON URI 's3://"+bucket+"/granted/' TO ROLE copy_analyst",
		"GRANT ROLE copy_analyst TO GROUP analysts",
	)
	aliceKey, aliceSecret := qs.createUser(t, "alice", "analysts")
	roles, groups := []string{"copy_analyst", "admin_role"}, []string{"analysts", "admin"}
	want := policyView(t, qs, roles, groups)
	if !strings.Contains(want, "copy_analyst") || !strings.Contains(want, "s3://"+bucket+"/granted/") {
		t.Fatalf("quickstart's policy view lacks the grants:\n%s", want)
	}
	source := filepath.Join(q.DataDir, "lakegate.db")
	wantUsers := usersOf(t, "sqlite", source, "")

	pg := pgtest.Start(t)
	keyFile := filepath.Join(t.TempDir(), "store.keys")
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("k1:"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMinIO(t)

	// checkServe starts serve on a copy and uses it as quickstart's admin
	// and as alice.
	checkServe := func(t *testing.T, name string, storeCfg map[string]any) {
		lg := startStoreServe(t, m, storeCfg, q.Token)
		if got := policyView(t, lg, roles, groups); got != want {
			t.Errorf("%s: SHOW output differs from quickstart's:\n--- got\n%s--- want\n%s", name, got, want)
		}
		admin := newAWSCLI(t, lg.ProxyURL, q.AdminKey, q.AdminSec, "")
		if _, stderr, code := admin.exec(time.Minute, "s3", "mb", "s3://"+bucket); code != 0 &&
			!strings.Contains(stderr, "BucketAlreadyOwnedByYou") {
			t.Fatalf("%s: quickstart's admin key: aws s3 mb: exit %d\n%s", name, code, stderr)
		}
		for key, body := range map[string]string{"granted/x.csv": "id\n1\n", "other/y.csv": "hidden\n"} {
			src := filepath.Join(t.TempDir(), "obj")
			if err := os.WriteFile(src, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			admin.run(t, time.Minute, "s3", "cp", src, "s3://"+bucket+"/"+key)
		}
		alice := newAWSCLI(t, lg.ProxyURL, aliceKey, aliceSecret, "")
		dst := filepath.Join(t.TempDir(), "x.csv")
		if stdout, stderr, code := alice.exec(time.Minute, "s3", "cp", "s3://"+bucket+"/granted/x.csv", dst); code != 0 {
			t.Errorf("%s: alice's copied key: aws s3 cp granted/x.csv: exit %d\n%s%s", name, code, stdout, stderr)
		} else if got, _ := os.ReadFile(dst); !bytes.Equal(got, []byte("id\n1\n")) {
			t.Errorf("%s: alice read %q", name, got)
		}
		if _, stderr, code := alice.exec(time.Minute, "s3", "cp", "s3://"+bucket+"/other/y.csv", dst); code == 0 || !deniedOutput(stderr) {
			t.Errorf("%s: alice read other/y.csv (exit %d): %s", name, code, stderr)
		}
	}

	// Quickstart's SQLite → PostgreSQL, encrypted there. quickstart keeps
	// running: the copy reads a consistent snapshot of a live store.
	counts := runStoreCopy(t, "--from", "sqlite://"+source, "--to", pg.DSN, "--to-encryption-key-file", keyFile)
	if counts["users"] != "2" || counts["access keys"] != "2" {
		t.Errorf("copied %s users and %s access keys, want 2 and 2 (admin, alice)", counts["users"], counts["access keys"])
	}
	// PostgreSQL's rows hold no secret in plaintext.
	rows, err := pg.Exec(pgtest.Database, "SELECT secret_access_key FROM access_keys", "SELECT encode(value, 'escape') FROM secrets")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rows, aliceSecret) || strings.Contains(rows, q.AdminSec) || strings.Count(rows, "lgenc1:k1:") < 3 {
		t.Errorf("PostgreSQL's rows:\n%s", rows)
	}
	if got := usersOf(t, "postgres", pg.DSN, keyFile); !sameUsers(got, wantUsers) {
		t.Errorf("PostgreSQL users %+v, want %+v", got, wantUsers)
	}
	t.Run("serve_on_postgres", func(t *testing.T) {
		checkServe(t, "postgres", map[string]any{"driver": "postgres", "dsn": pg.DSN, "encryption_key_file": keyFile})
	})

	// And back: PostgreSQL → a new SQLite file, plaintext.
	back := filepath.Join(t.TempDir(), "back", "lakegate.db")
	runStoreCopy(t, "--from", pg.DSN, "--from-encryption-key-file", keyFile, "--to", "sqlite://"+back)
	if got := usersOf(t, "sqlite", back, ""); !sameUsers(got, wantUsers) {
		t.Errorf("users back in SQLite %+v, want %+v", got, wantUsers)
	}
	t.Run("serve_on_sqlite_copy", func(t *testing.T) {
		checkServe(t, "sqlite copy", map[string]any{"driver": "sqlite", "dsn": back})
	})
}
