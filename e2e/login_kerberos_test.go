package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/identity/kerberos/kdctest"
)

// TestLoginKerberos: with a ticket from a real MIT KDC (kinit into a
// private credential cache), `lakegate login --kerberos` — with only
// KRB5CCNAME and KRB5_CONFIG to go by, like curl --negotiate — gets a
// token from `lakegate serve` (auth.kerberos.keytab) and saves it; the
// token then works on /api/health-authenticated and for `lakegate
// credentials`. Without a ticket, with an expired one, or against a server
// that does not do Kerberos, login fails saying so. The test skips only
// when the MIT KDC programs are not installed.
func TestLoginKerberos(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	// lakegate listens on 127.0.0.1; the client names the host
	// "localhost" to ask for a ticket for HTTP/localhost by default.
	kdc, st, w, base := newKerberosStack(t)
	lg := st.LG
	want := "alice@" + kdctest.Realm

	// krbEnv keeps only what a user's shell would set for Kerberos.
	krbEnv := func(env []string) []string {
		var out []string
		for _, kv := range env {
			if strings.HasPrefix(kv, "KRB5CCNAME=") || strings.HasPrefix(kv, "KRB5_CONFIG=") {
				out = append(out, kv)
			}
		}
		if len(out) != 2 {
			t.Fatalf("kdctest's client environment lacks KRB5CCNAME or KRB5_CONFIG: %q", out)
		}
		return out
	}
	aliceEnv := krbEnv(kdc.Kinit(t, "alice", alicePassword))
	login := func(home string, env []string, args ...string) (string, string, int) {
		return w.lakegateCLI(t, home, nil, env, append([]string{"login", "--kerberos"}, args...)...)
	}

	home := t.TempDir()
	var token string
	if !step(t, "login", func(t *testing.T) {
		stdout, stderr, code := login(home, aliceEnv, "--server", base)
		if code != 0 {
			t.Fatalf("lakegate login --kerberos: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if token = readTokenFile(t, home); token == "" {
			t.Fatalf("lakegate login --kerberos saved no token (stdout %q)", stdout)
		}
		w.add(token)
		if strings.Contains(stdout, token) {
			t.Errorf("lakegate login printed the token")
		}
		if !strings.Contains(stdout, "logged in as "+want) || !strings.Contains(stdout, "Kerberos") {
			t.Errorf("lakegate login --kerberos says %q; want it to name %s and Kerberos", strings.TrimSpace(stdout), want)
		}
		t.Logf("lakegate login --kerberos: %s", strings.TrimSpace(stdout))
	}) {
		return
	}
	step(t, "token_works", func(t *testing.T) {
		res := lg.rest(t, http.MethodGet, "/api/health-authenticated", bearer(token))
		var got struct {
			Health string  `json:"health"`
			Token  *string `json:"token"`
			User   string  `json:"user"`
		}
		if res.Status != http.StatusOK || json.Unmarshal(res.Body, &got) != nil || got.User != want || got.Health != "ok" {
			t.Errorf("GET /api/health-authenticated with the saved token: %s; want 200 for %s", res, want)
		}
		stdout, stderr, code := w.lakegateCLI(t, home, nil, nil, "credentials", "--server", lg.RESTURL)
		var c awsCreds
		if code != 0 || json.Unmarshal([]byte(stdout), &c) != nil || c.AccessKeyID == "" {
			t.Errorf("lakegate credentials with the saved token: exit %d\nstderr:\n%s", code, stderr)
		}
		w.add(c.SecretAccessKey)
	})
	step(t, "explicit_spn", func(t *testing.T) {
		// Against 127.0.0.1 the default would be HTTP/127.0.0.1.
		home := t.TempDir()
		stdout, stderr, code := login(home, aliceEnv, "--server", lg.RESTURL, "--spn", "HTTP/localhost")
		if code != 0 || readTokenFile(t, home) == "" {
			t.Errorf("lakegate login --kerberos --spn HTTP/localhost: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		w.add(readTokenFile(t, home))
		stdout, stderr, code = login(t.TempDir(), aliceEnv, "--server", lg.RESTURL)
		if code != 1 || !strings.Contains(stderr, "HTTP/127.0.0.1") || !strings.Contains(stderr, "--spn") {
			t.Errorf("lakegate login --kerberos to 127.0.0.1 (no such principal): exit %d, want 1 naming HTTP/127.0.0.1 and --spn\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	// refused runs a login that must fail with exit 1, saving nothing,
	// with every one of says in its standard error.
	refused := func(t *testing.T, env []string, server string, says ...string) {
		t.Helper()
		home := t.TempDir()
		stdout, stderr, code := login(home, env, "--server", server)
		if code != 1 {
			t.Errorf("lakegate login --kerberos: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, s := range says {
			if !strings.Contains(stderr, s) {
				t.Errorf("lakegate login --kerberos: stderr %q does not say %q", stderr, s)
			}
		}
		if readTokenFile(t, home) != "" {
			t.Errorf("the failed login saved a token")
		}
		t.Logf("lakegate login --kerberos: exit %d: %s", code, strings.TrimSpace(stderr))
	}
	step(t, "no_ticket_cache", func(t *testing.T) {
		refused(t, krbEnv(kdc.ClientEnv(t)), base, "no Kerberos ticket cache", "kinit")
	})
	step(t, "ticket_expired", func(t *testing.T) {
		env := kdc.ClientEnv(t)
		kinit, err := kdctest.LookPath("kinit")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(kinit, "-l", "2s", "alice")
		cmd.Env, cmd.Stdin = env, strings.NewReader(alicePassword+"\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kinit -l 2s alice: %v\n%s", err, out)
		}
		time.Sleep(3 * time.Second)
		refused(t, krbEnv(env), base, "expired", "kinit")
	})
	step(t, "server_without_kerberos", func(t *testing.T) {
		// What lakegate answers when auth.kerberos is not configured: a
		// 401 offering Bearer (and Basic with LDAP), never Negotiate.
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("WWW-Authenticate", `Bearer realm="lakegate"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"authentication required: send Authorization: Bearer <token>"}`)
		}))
		t.Cleanup(plain.Close)
		_, plainPort, _ := net.SplitHostPort(strings.TrimPrefix(plain.URL, "http://"))
		// The ticket must be obtainable for the client to get that far.
		refused(t, aliceEnv, "http://localhost:"+plainPort, "does not accept Kerberos")
	})
}
