package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity/kerberos/kdctest"
)

// Issue 12, finding 9: a JWT without exp was accepted forever and could be
// exchanged for keys; /api/sql took text/plain bodies, which any web page
// can POST cross-site with the browser's ambient credentials (Kerberos
// Negotiate); /metrics on the REST port was open to anyone.
//
// The rules are the same whatever the credential, so the requests below
// carry bearer tokens; a browser's Negotiate header would meet the same
// refusals, which come before authentication.

// restHardeningIssuer is the iss of the e2e JWT signer's tokens.
const restHardeningIssuer = "lakegate-e2e"

// restHardeningBase reports LAKEGATE_E2E_BASE_CONFIG=1: the settings added
// with the fix are left out, to run the same requests against a lakegate
// that predates them.
func restHardeningBase() bool { return os.Getenv("LAKEGATE_E2E_BASE_CONFIG") == "1" }

func TestRESTHardening(t *testing.T) {
	skipInBaseline(t)
	signer := newJWTSigner(t, "")
	auth := jwtOptions(signer)
	var restExtra map[string]any
	metricsAddr := ""
	if !restHardeningBase() {
		auth["jwt"].(map[string]any)["issuer"] = restHardeningIssuer
		auth["jwt"].(map[string]any)["max_lifetime"] = "12h"
		metricsAddr = freeAddr(t)
		restExtra = map[string]any{"allowed_origins": []string{"https://ui.example.com"}, "metrics_addr": metricsAddr}
	}
	st := newStack(t, lakegateOptions{AdminToken: true, Auth: auth, RESTExtra: restExtra})
	lg := st.LG

	t.Run("JWT lifetime and issuer", func(t *testing.T) {
		now := time.Now()
		tests := []struct {
			name   string
			claims jwt.MapClaims
			ok     bool
		}{
			{name: "an hour, from the configured issuer", ok: true,
				claims: jwt.MapClaims{"sub": "jwtuser", "iss": restHardeningIssuer, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}},
			{name: "no exp",
				claims: jwt.MapClaims{"sub": "mallory", "iss": restHardeningIssuer, "iat": now.Unix()}},
			{name: "no exp nor iat",
				claims: jwt.MapClaims{"sub": "mallory", "iss": restHardeningIssuer}},
			{name: "valid for ten years",
				claims: jwt.MapClaims{"sub": "mallory", "iss": restHardeningIssuer, "iat": now.Unix(), "exp": now.Add(10 * 365 * 24 * time.Hour).Unix()}},
			{name: "ten years, iat set just before exp",
				claims: jwt.MapClaims{"sub": "mallory", "iss": restHardeningIssuer, "iat": now.Add(10*365*24*time.Hour - time.Hour).Unix(), "exp": now.Add(10 * 365 * 24 * time.Hour).Unix()}},
			{name: "another issuer",
				claims: jwt.MapClaims{"sub": "mallory", "iss": "https://evil.example", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tok := signJWT(t, signer, tt.claims)
				user := lg.rest(t, http.MethodGet, "/api/get-user", bearer(tok))
				keys := lg.rest(t, http.MethodPost, "/api/aws-credentials", bearer(tok))
				if tt.ok {
					if user.Status != http.StatusOK || keys.Status != http.StatusOK {
						t.Fatalf("a valid token was refused: get-user %s, aws-credentials %d", user, keys.Status)
					}
					var c awsCreds
					_ = json.Unmarshal(keys.Body, &c)
					registerSecret("secret key from /api/aws-credentials", c.SecretAccessKey)
					return
				}
				if user.Status != http.StatusUnauthorized {
					t.Errorf("get-user %s; want 401", user)
				}
				if keys.Status == http.StatusOK {
					// The answer holds a secret key: only its id is shown.
					var c awsCreds
					_ = json.Unmarshal(keys.Body, &c)
					registerSecret("secret key from /api/aws-credentials", c.SecretAccessKey)
					t.Errorf("the token was exchanged for keys %s, expiring %s; want 401", c.AccessKeyID, c.Expiration)
					return
				}
				if keys.Status != http.StatusUnauthorized {
					t.Errorf("aws-credentials %s; want 401", keys)
				}
				assertJSONError(t, keys)
			})
		}
	})

	t.Run("state-changing requests need JSON and an allowed Origin", func(t *testing.T) {
		admin := bearer(lg.AdminToken)
		tests := []struct {
			name, role, ctype, origin string
			status                    int
		}{
			// What a cross-site HTML form sends (enctype text/plain).
			{name: "text/plain form", role: "csrf_text", ctype: "text/plain", status: http.StatusUnsupportedMediaType},
			{name: "urlencoded form", role: "csrf_form", ctype: "application/x-www-form-urlencoded", status: http.StatusUnsupportedMediaType},
			{name: "JSON from a foreign page", role: "csrf_origin", ctype: "application/json", origin: "https://evil.example", status: http.StatusForbidden},
			{name: "JSON from a sandboxed frame", role: "csrf_null", ctype: "application/json", origin: "null", status: http.StatusForbidden},
			{name: "JSON without Origin (curl, lakegate sql)", role: "ok_plain", ctype: "application/json", status: http.StatusOK},
			{name: "JSON from the server's own origin", role: "ok_own", ctype: "application/json", origin: lg.RESTURL, status: http.StatusOK},
		}
		if !restHardeningBase() {
			tests = append(tests, struct {
				name, role, ctype, origin string
				status                    int
			}{name: "JSON from an allowed origin", role: "ok_allowed", ctype: "application/json", origin: "https://ui.example.com", status: http.StatusOK})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := `{"sql": "CREATE ROLE ` + tt.role + `"}`
				if tt.ctype != "application/json" {
					body = "CREATE ROLE " + tt.role
					if strings.HasPrefix(tt.ctype, "application/x-www") {
						body = "sql=CREATE+ROLE+" + tt.role
					}
				}
				res := restWithBody(t, lg, http.MethodPost, "/api/sql", admin, tt.ctype, tt.origin, body)
				if res.Status != tt.status {
					t.Errorf("POST /api/sql: %s, want %d", res, tt.status)
				}
				assertJSON(t, res)
				created := strings.Contains(lg.sql(t, "SHOW ROLES"), tt.role)
				if created != (tt.status == http.StatusOK) {
					t.Errorf("role %s created: %v, want %v", tt.role, created, tt.status == http.StatusOK)
				}
			})
		}
		// Deleting a user and minting keys from a foreign page.
		user := signJWT(t, signer, jwt.MapClaims{"sub": "victim", "iss": restHardeningIssuer, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		if res := restWithBody(t, lg, http.MethodPost, "/api/aws-credentials", bearer(user), "", "https://evil.example", ""); res.Status != http.StatusForbidden {
			var c awsCreds
			_ = json.Unmarshal(res.Body, &c)
			registerSecret("secret key from /api/aws-credentials", c.SecretAccessKey)
			t.Errorf("POST /api/aws-credentials from a foreign origin: %d (key id %q), want 403", res.Status, c.AccessKeyID)
		}
		if res := restWithBody(t, lg, http.MethodDelete, "/api/users/admin", admin, "", "https://evil.example", ""); res.Status != http.StatusForbidden {
			t.Errorf("DELETE /api/users/admin from a foreign origin: %s, want 403", res)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		jwtUser := signJWT(t, signer, jwt.MapClaims{"sub": "jwtuser", "iss": restHardeningIssuer, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		for _, c := range []struct {
			name, auth string
			status     int
		}{
			{name: "anonymous", status: http.StatusUnauthorized},
			{name: "a user", auth: bearer(jwtUser), status: http.StatusForbidden},
			{name: "the catalog admin", auth: bearer(lg.AdminToken), status: http.StatusOK},
		} {
			res := lg.rest(t, http.MethodGet, "/metrics", c.auth)
			exposed := strings.Contains(string(res.Body), "go_memstats_heap_inuse_bytes")
			if res.Status != c.status || exposed != (c.status == http.StatusOK) {
				t.Errorf("GET /metrics on the REST port as %s: %d (metrics in the answer: %v), want %d", c.name, res.Status, exposed, c.status)
			}
		}
		if metricsAddr == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /metrics on rest.metrics_addr: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "go_memstats_heap_inuse_bytes") {
			t.Errorf("GET /metrics on rest.metrics_addr: %d, want 200 with the metrics", resp.StatusCode)
		}
	})
}

// signJWT signs claims as they are (no exp or iat added) with the signer's
// key.
func signJWT(t *testing.T, s *jwtSigner, claims jwt.MapClaims) string {
	t.Helper()
	raw, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	registerSecret("JWT", raw)
	return raw
}

// restWithBody sends method path to the REST API with a body of content
// type ctype ("" for none) and an Origin header ("" for none).
func restWithBody(t testing.TB, lg *lakegateServer, method, path, auth, ctype, origin, body string) restResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, lg.RESTURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return restResult{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// assertJSON fails unless res is a JSON answer.
func assertJSON(t *testing.T, res restResult) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" || !json.Valid(res.Body) {
		t.Errorf("answer is not JSON (Content-Type %q): %s", ct, res)
	}
}

// assertJSONError fails unless res is a JSON error {"error": "…"}.
func assertJSONError(t *testing.T, res restResult) {
	t.Helper()
	assertJSON(t, res)
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(res.Body, &e) != nil || e.Error == "" {
		t.Errorf("not a JSON error: %s", res)
	}
}

// TestRESTCrossSiteNegotiate: with Kerberos, the browser adds the
// credentials itself (ambient); what a page on another site can make it
// send, curl sends here with alice's ticket. Before the fix /api/sql ran
// a text/plain body and answered any Origin.
func TestRESTCrossSiteNegotiate(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	curl := kdctest.RequireTools(t, "curl")["curl"]
	kdc, _, w, base := newKerberosStack(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	aliceEnv := kdc.Kinit(t, "alice", alicePassword)
	post := func(t *testing.T, headers []string, body string) (int, string) {
		t.Helper()
		args := []string{"-sS", "--max-time", "30", "--negotiate", "-u", ":",
			"--resolve", "localhost:" + port + ":127.0.0.1", "-w", "\n%{http_code}",
			"-X", "POST", "--data-binary", body}
		for _, h := range headers {
			args = append(args, "-H", h)
		}
		stdout, stderr, code := w.run(aliceEnv, t.TempDir(), nil, curl, append(args, base+"/api/sql")...)
		if code != 0 {
			t.Fatalf("curl: exit %d: %s", code, stderr)
		}
		i := strings.LastIndex(stdout, "\n")
		status, err := strconv.Atoi(strings.TrimSpace(stdout[i+1:]))
		if i < 0 || err != nil {
			t.Fatalf("curl: no status in %q", stdout)
		}
		return status, stdout[:i]
	}
	tests := []struct {
		name    string
		headers []string
		body    string
		status  int
	}{
		// <form enctype="text/plain" method="post" action=".../api/sql">
		{name: "text/plain form from another site", headers: []string{"Content-Type: text/plain", "Origin: https://evil.example"}, body: "SHOW ROLES", status: http.StatusForbidden},
		{name: "text/plain without Origin", headers: []string{"Content-Type: text/plain"}, body: "SHOW ROLES", status: http.StatusUnsupportedMediaType},
		{name: "JSON from another site", headers: []string{"Content-Type: application/json", "Origin: https://evil.example"}, body: `{"sql": "SHOW ROLES"}`, status: http.StatusForbidden},
		{name: "JSON, no Origin (curl)", headers: []string{"Content-Type: application/json"}, body: `{"sql": "SHOW ROLES"}`, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, tt.headers, tt.body)
			if status != tt.status {
				t.Errorf("POST /api/sql with Negotiate: %d %s, want %d", status, body, tt.status)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("answer is not JSON: %q", body)
			}
		})
	}
}
