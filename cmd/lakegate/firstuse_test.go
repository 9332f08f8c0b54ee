package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRefusedTokenNamesServer: when the server refuses the token, the CLI
// says which server it asked (a token for one lakegate sent to another is
// the usual cause).
func TestRefusedTokenNamesServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid or expired token"}`))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("LAKEGATE_TOKEN", "lgt_"+strings.Repeat("x", 40))
	t.Setenv(configEnv, "")
	for _, args := range [][]string{
		{"sql", "--server", srv.URL, "SHOW ROLES"},
		{"check", "--server", srv.URL, "--user", "alice", "s3://b/k", "GetObject"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 1 || !strings.Contains(stderr, srv.URL) || !strings.Contains(stderr, "invalid or expired token") {
			t.Errorf("lakegate %s: exit %d, stderr %q; want the refusal naming %s", args[0], code, stderr, srv.URL)
		}
	}
}

// TestAuditQueryAsksTheServer: without --dir, --s3 or a configuration,
// lakegate audit query reads the audit log of the server it is pointed at
// (--server, $LAKEGATE_SERVER) with the token, so that it finds
// quickstart's log wherever quickstart keeps it.
func TestAuditQueryAsksTheServer(t *testing.T) {
	var gotAuth, gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/audit" {
			http.NotFound(w, r)
			return
		}
		gotAuth, gotQuery = r.Header.Get("Authorization"), r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"events":[{"time":"2026-12-07T10:00:00Z","request_id":"r1","source":"proxy","user":"alice",` +
			`"operation":"GetObject","uris":["s3://lake/sales/1.parquet"],"decision":"allow","reason":"GRANT SELECT","status":200}],` +
			`"count":1,"incomplete":0,"skipped":0,"truncated":false}`))
	}))
	t.Cleanup(srv.Close)
	token := "lgt_" + strings.Repeat("y", 40)
	t.Setenv("LAKEGATE_TOKEN", token)
	t.Setenv("LAKEGATE_SERVER", srv.URL)
	t.Setenv(configEnv, "")
	t.Setenv("HOME", t.TempDir())
	code, stdout, stderr := runCLI(t, "audit", "query", "--user", "alice")
	if code != 0 || !strings.Contains(stdout, "s3://lake/sales/1.parquet") || !strings.Contains(stdout, "alice") {
		t.Fatalf("audit query: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if gotAuth != "Bearer "+token || !strings.Contains(gotQuery, "user=alice") {
		t.Errorf("the server was asked with Authorization %q, query %q", gotAuth, gotQuery)
	}
}
