package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store/mysqltest"
	"github.com/lakegate/lakegate/internal/store/pgtest"
)

// sharedDatabase is a database server two `lakegate serve` share, and how
// to take it away and bring it back.
type sharedDatabase struct {
	driver, dsn string
	stop, start func() error
}

// TestMultiServerPostgres is issue 14 on PostgreSQL: see testMultiServer.
func TestMultiServerPostgres(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	if buildErr != nil {
		t.Fatalf("lakegate did not build: %v", buildErr)
	}
	db := pgtest.Start(t)
	u, err := url.Parse(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	registerSecret("PostgreSQL password", pass)
	testMultiServer(t, sharedDatabase{driver: "postgres", dsn: db.DSN, stop: db.Stop, start: db.Start})
}

// TestMultiServerMariaDB is issue 14 on MariaDB: see testMultiServer.
func TestMultiServerMariaDB(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	if buildErr != nil {
		t.Fatalf("lakegate did not build: %v", buildErr)
	}
	db := mysqltest.Start(t)
	m := regexp.MustCompile(`^[^:]+:([^@]+)@`).FindStringSubmatch(db.DSN)
	if m == nil {
		t.Fatalf("DSN %q has no password", db.DSN)
	}
	registerSecret("MariaDB password", m[1])
	testMultiServer(t, sharedDatabase{driver: "mysql", dsn: db.DSN, stop: db.Stop, start: db.Start})
}

// testMultiServer runs two `lakegate serve`, A and B, on one database,
// each with a node proxy (`lakegate proxy --server`). A GRANT made through
// A is enforced by B's proxy and B's node proxy (and A's) within a second,
// and a REVOKE likewise (each latency is measured and logged). Then the
// database is stopped: requests that need it (a statement on the REST API,
// a key no cache holds on either proxy) are refused with 503, in JSON and
// in S3 XML. It is started again: with no restart of lakegate, the same
// requests succeed, nothing acknowledged before the outage is lost, and
// changes again reach the other server within a second.
func testMultiServer(t *testing.T, db sharedDatabase) {
	systemKey := writeSystemKey(t)
	m := startMinIO(t)
	rec := startRecorder(t, m)
	o := lakegateOptions{AdminToken: true, SystemKey: systemKey, Store: map[string]any{"driver": db.driver, "dsn": db.dsn}}
	a := &stack{MinIO: m, Rec: rec, LG: startLakegate(t, rec.URL, m, o)}
	b := &stack{MinIO: m, Rec: rec, LG: startLakegate(t, rec.URL, m, o)}
	nodeA := startNScaleProxy(t, a, "A's node proxy", systemKey, time.Minute)
	nodeB := startNScaleProxy(t, b, "B's node proxy", systemKey, time.Minute)

	bucket := bucketName("multi")
	m.makeBucket(t, bucket, false)
	m.put(t, bucket, "allowed/x", "x\n")
	a.LG.sql(t, "CREATE ROLE multi_role", "GRANT ROLE multi_role TO GROUP analysts")
	key, secret := a.LG.createUser(t, "nina", "analysts")
	// otto's key is never used before the outage, so no cache holds it.
	okey, osecret := a.LG.createUser(t, "otto", "analysts")

	getX := rawReq{Method: http.MethodGet, Path: "/" + bucket + "/allowed/x"}
	type target struct {
		name string
		user func(name, key, secret string) *s3User
	}
	targets := []target{
		{"B's proxy", func(n, k, s string) *s3User { return newS3User(b.LG, n+" via B", k, s) }},
		{"B's node proxy", func(n, k, s string) *s3User { return nodeB.user(b.LG, n, k, s) }},
		{"A's proxy", func(n, k, s string) *s3User { return newS3User(a.LG, n+" via A", k, s) }},
		{"A's node proxy", func(n, k, s string) *s3User { return nodeA.user(a.LG, n, k, s) }},
	}
	status := func(u *s3User, r rawReq) (int, string) {
		resp := u.do(t, r)
		e, _ := parseS3Error(resp.Body)
		return resp.Status, e.Code
	}
	for _, tg := range targets {
		if code, s3code := status(tg.user("nina", key, secret), getX); code != http.StatusForbidden {
			t.Fatalf("%s before any grant: %d %s, want 403", tg.name, code, s3code)
		}
	}

	// measure makes a change through server, then asks every target in
	// turn until each answers want, and logs how long each took from the
	// change's acknowledgement.
	measureChange := func(what string, change func(), want int, wantCode string) {
		t.Helper()
		change()
		changed := time.Now()
		for _, tg := range targets {
			u := tg.user("nina", key, secret)
			_, ok := poll(10*time.Second, 5*time.Millisecond, func() bool {
				code, s3code := status(u, getX)
				return code == want && (wantCode == "" || s3code == wantCode)
			})
			took := time.Since(changed)
			if !ok {
				t.Fatalf("%s (%s): %s still not answering %d after %v", what, db.driver, tg.name, want, took)
			}
			t.Logf("%s on %s reached %s in %v", what, db.driver, tg.name, took.Round(time.Millisecond))
			if took > propagationBound {
				t.Errorf("%s on %s took %v to reach %s (bound %v)", what, db.driver, took, tg.name, propagationBound)
			}
		}
	}
	measure := func(what string, server *lakegateServer, stmt string, want int) {
		t.Helper()
		measureChange(what, func() { server.sql(t, stmt) }, want, "")
	}
	grant := fmt.Sprintf("GRANT SELECT ON URI 's3://%s/allowed' TO ROLE multi_role", bucket)
	revoke := fmt.Sprintf("REVOKE SELECT ON URI 's3://%s/allowed' FROM ROLE multi_role", bucket)
	measure("GRANT through A", a.LG, grant, http.StatusOK)
	measure("REVOKE through A", a.LG, revoke, http.StatusForbidden)
	measure("GRANT through B", b.LG, grant, http.StatusOK)

	// The database goes away.
	if err := db.stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	for _, lg := range []*lakegateServer{a.LG, b.LG} {
		code, body := restSQL(t, lg, "CREATE ROLE during_outage")
		if code != http.StatusServiceUnavailable {
			t.Errorf("REST statement with the database down: %d %s, want 503", code, body)
		}
	}
	for _, tg := range targets {
		code, s3code := status(tg.user("otto", okey, osecret), getX)
		if code != http.StatusServiceUnavailable || s3code != "ServiceUnavailable" {
			t.Errorf("%s, database down: a key no cache holds answered %d %s, want 503 ServiceUnavailable", tg.name, code, s3code)
		}
	}
	t.Logf("%s down for %v", db.driver, time.Since(down).Round(time.Millisecond))

	// It comes back; lakegate is not restarted.
	if err := db.start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for _, tg := range targets {
		u := tg.user("otto", okey, osecret)
		if _, ok := poll(15*time.Second, 50*time.Millisecond, func() bool {
			code, _ := status(u, getX)
			return code == http.StatusOK
		}); !ok {
			code, s3code := status(u, getX)
			t.Fatalf("%s did not recover after %s came back: %d %s", tg.name, db.driver, code, s3code)
		}
	}
	t.Logf("every proxy served otto %v after %s came back", time.Since(back).Round(time.Millisecond), db.driver)
	// What was acknowledged before the outage is there, seen by both.
	for _, lg := range []*lakegateServer{a.LG, b.LG} {
		if out := lg.sql(t, "SHOW GRANTS ON ROLE multi_role"); !strings.Contains(out, "s3://"+bucket+"/allowed") {
			t.Errorf("after the outage %s shows no grant on s3://%s/allowed:\n%s", lg.RESTURL, bucket, out)
		}
	}
	measure("REVOKE through A after the outage", a.LG, revoke, http.StatusForbidden)
	measure("GRANT through B after the outage", b.LG, grant, http.StatusOK)

	// A revocation through B: nina's key, cached by every proxy by now,
	// stops working everywhere within the bound too.
	measureChange("revoking nina's credentials through B", func() {
		if code, body := restPost(t, b.LG, "/api/credentials/revoke", map[string]string{"user": "nina"}); code != http.StatusOK {
			t.Fatalf("revoke: %d %s", code, body)
		}
	}, http.StatusForbidden, "InvalidAccessKeyId")
}

// restSQL posts statements to lg's /api/sql as the admin and returns the
// status and body.
func restSQL(t *testing.T, lg *lakegateServer, sql string) (int, string) {
	t.Helper()
	return restPost(t, lg, "/api/sql", map[string]string{"sql": sql})
}

// restPost posts v as JSON to lg's REST API as the admin and returns the
// status and body.
func restPost(t *testing.T, lg *lakegateServer, path string, v any) (int, string) {
	t.Helper()
	body, _ := json.Marshal(v)
	req, err := http.NewRequest(http.MethodPost, lg.RESTURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+lg.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
