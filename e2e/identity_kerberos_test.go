package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/identity/kerberos/kdctest"
)

// TestKerberosNegotiate follows seed 002's "Kerberos Authentication" with
// a real MIT KDC, kinit and curl: `curl --negotiate -u :
// http://localhost:PORT/api/health-authenticated` answers alice@REALM, and
// the token `curl --negotiate -u : -X POST …/api/get-token` returns works
// as a bearer token on /api/get-user without Kerberos.
// alicePassword is alice's password in the tests' KDC.
const alicePassword = "alice-Kerb-pa55"

// newKerberosStack starts a real MIT KDC with user alice and a stack whose
// server accepts Kerberos (auth.kerberos.keytab for HTTP/localhost). base
// is the REST URL by the name "localhost": the host name a client asks a
// ticket for (HTTP/localhost) by default.
func newKerberosStack(t *testing.T) (*kdctest.KDC, *stack, *secretWatch, string) {
	t.Helper()
	kdc := kdctest.Start(t) // skips, naming the packages, without krb5kdc & co
	kdc.AddUser(t, "alice", alicePassword)
	keytab := kdc.ServiceKeytab(t, "HTTP/localhost")
	st := newPolicyStack(t, lakegateOptions{Auth: map[string]any{"kerberos": map[string]any{
		"keytab": keytab, "principal": "HTTP/localhost",
	}}})
	w := watchSecrets(t, st.LG)
	w.add(alicePassword)
	_, port, err := net.SplitHostPort(st.LG.RESTAddr)
	if err != nil {
		t.Fatal(err)
	}
	return kdc, st, w, "http://localhost:" + port
}

func TestKerberosNegotiate(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	curl := kdctest.RequireTools(t, "curl")["curl"]
	kdc, st, w, base := newKerberosStack(t)
	lg := st.LG
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	aliceEnv := kdc.Kinit(t, "alice", alicePassword)
	want := "alice@" + kdctest.Realm

	// negotiate runs curl --negotiate -u : with env (whose credential
	// cache decides who curl is) and returns the status and body.
	negotiate := func(t *testing.T, env []string, args ...string) (int, string) {
		t.Helper()
		full := append([]string{"-sS", "--max-time", "30", "--negotiate", "-u", ":",
			// lakegate listens on 127.0.0.1; curl must still name the
			// host "localhost" to ask for a ticket for HTTP/localhost.
			"--resolve", "localhost:" + port + ":127.0.0.1",
			"-w", "\n%{http_code}"}, args...)
		stdout, stderr, code := w.run(env, t.TempDir(), nil, curl, full...)
		if code != 0 {
			t.Fatalf("curl %v: exit %d: %s", args, code, stderr)
		}
		i := strings.LastIndex(stdout, "\n")
		status, err := strconv.Atoi(strings.TrimSpace(stdout[i+1:]))
		if i < 0 || err != nil {
			t.Fatalf("curl %v: no status in %q", args, stdout)
		}
		return status, stdout[:i]
	}

	step(t, "health_authenticated", func(t *testing.T) {
		status, body := negotiate(t, aliceEnv, base+"/api/health-authenticated")
		var got struct {
			Health string  `json:"health"`
			Token  *string `json:"token"`
			User   string  `json:"user"`
		}
		if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.User != want || got.Health != "ok" || got.Token != nil {
			t.Errorf("curl --negotiate -u : %s/api/health-authenticated: %d %s; want 200 {\"health\":\"ok\",\"token\":null,\"user\":%q}", base, status, body, want)
		}
	})
	step(t, "no_ticket", func(t *testing.T) {
		status, body := negotiate(t, kdc.ClientEnv(t), base+"/api/health-authenticated")
		if status != http.StatusUnauthorized {
			t.Errorf("curl --negotiate without a ticket: %d %s, want 401", status, body)
		}
		res := lg.rest(t, http.MethodGet, "/api/health-authenticated", "")
		if res.Status != http.StatusUnauthorized || !strings.Contains(strings.Join(res.Header.Values("WWW-Authenticate"), ","), "Negotiate") {
			t.Errorf("GET /api/health-authenticated without credentials: %s, WWW-Authenticate %q; want 401 offering Negotiate", res, res.Header.Values("WWW-Authenticate"))
		}
	})
	step(t, "get_token_then_bearer", func(t *testing.T) {
		status, body := negotiate(t, aliceEnv, "-X", "POST", base+"/api/get-token")
		var tok struct {
			Token string `json:"token"`
		}
		if status != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.Token == "" {
			t.Fatalf("curl --negotiate -u : -X POST %s/api/get-token: %d %s", base, status, body)
		}
		w.add(tok.Token)
		u, res, ok := lg.getUser(t, bearer(tok.Token))
		if !ok || u.User != want {
			t.Errorf("GET /api/get-user with the token from get-token: %s; want user %s", res, want)
		}
		t.Logf("get-user with the token: %s", res)
		// Seed 002: tokens are reused for an hour per user.
		if status, body := negotiate(t, aliceEnv, "-X", "POST", base+"/api/get-token"); status != http.StatusOK || !strings.Contains(body, tok.Token) {
			t.Errorf("a second get-token within the hour: %d, want the same token again", status)
		}
	})
}
