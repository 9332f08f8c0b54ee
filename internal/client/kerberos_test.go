package client_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity/kerberos"
	"github.com/lakegate/lakegate/internal/identity/kerberos/kdctest"
)

// envOf turns an environment list into a Getenv.
func envOf(env []string) func(string) string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// TestKerberosLogin runs NewWithKerberos against the real REST API with
// SPNEGO on, with tickets from a real MIT KDC.
func TestKerberosLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a KDC")
	}
	kdc := kdctest.Start(t)
	const password = "alice-Kerb-pa55"
	kdc.AddUser(t, "alice", password)
	keytab := kdc.ServiceKeytab(t, "HTTP/localhost")
	neg, err := kerberos.New(kerberos.Options{KeytabPath: keytab, ServicePrincipal: "HTTP/localhost"})
	if err != nil {
		t.Fatal(err)
	}
	fx := authztest.New(t, authztest.Options{})
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store), Negotiator: neg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	base := "http://localhost:" + port
	want := "alice@" + kdctest.Realm
	aliceEnv := envOf(kdc.Kinit(t, "alice", password))

	t.Run("get-token with the ticket", func(t *testing.T) {
		c, err := client.NewWithKerberos(base, client.KerberosOptions{Getenv: aliceEnv})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.GetToken(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.Token, credentials.TokenPrefix) || tok.User != want || tok.Method != "kerberos" {
			t.Errorf("get-token = user %q, method %q; want %s, kerberos, a lakegate token", tok.User, tok.Method, want)
		}
		u, err := newClient(t, srv.URL, tok.Token).GetUser(t.Context())
		if err != nil || u.User != want {
			t.Errorf("get-user with the token: %+v, %v", u, err)
		}
	})
	t.Run("explicit SPN with a realm", func(t *testing.T) {
		// 127.0.0.1 would make HTTP/127.0.0.1 the default.
		c, err := client.NewWithKerberos(srv.URL, client.KerberosOptions{Getenv: aliceEnv, SPN: "HTTP/localhost@" + kdctest.Realm})
		if err != nil {
			t.Fatal(err)
		}
		if u, err := c.GetUser(t.Context()); err != nil || u.User != want {
			t.Errorf("get-user with --spn: %+v, %v", u, err)
		}
	})
	t.Run("unknown SPN", func(t *testing.T) {
		c, err := client.NewWithKerberos(base, client.KerberosOptions{Getenv: aliceEnv, SPN: "HTTP/nosuchhost"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetToken(t.Context())
		var kerr *client.KerberosError
		if !errors.As(err, &kerr) || !strings.Contains(err.Error(), "service ticket for HTTP/nosuchhost") || !strings.Contains(err.Error(), "--spn") {
			t.Errorf("get-token with an unknown SPN: %v; want a KerberosError naming it", err)
		}
	})
	t.Run("ticket for another service", func(t *testing.T) {
		// HTTP/other exists in the KDC, but the server's keytab is only
		// for HTTP/localhost: the server refuses the ticket.
		kdc.ServiceKeytab(t, "HTTP/other")
		c, err := client.NewWithKerberos(base, client.KerberosOptions{Getenv: aliceEnv, SPN: "HTTP/other"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetToken(t.Context())
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || !strings.Contains(err.Error(), "refused the Kerberos ticket for HTTP/other") {
			t.Errorf("get-token with a ticket for another service: %v; want a 401 saying so", err)
		}
	})
	t.Run("server without Kerberos", func(t *testing.T) {
		plain, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store)})
		if err != nil {
			t.Fatal(err)
		}
		noKrb := httptest.NewServer(plain)
		t.Cleanup(noKrb.Close)
		c, err := client.NewWithKerberos(noKrb.URL, client.KerberosOptions{Getenv: aliceEnv, SPN: "HTTP/localhost"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetToken(t.Context())
		if !errors.Is(err, client.ErrNoKerberos) || !strings.Contains(err.Error(), "does not accept Kerberos") {
			t.Errorf("get-token from a server without Kerberos: %v; want ErrNoKerberos", err)
		}
	})
	t.Run("no ticket cache", func(t *testing.T) {
		env := envOf(kdc.ClientEnv(t)) // a cache file that does not exist
		_, err := client.NewWithKerberos(base, client.KerberosOptions{Getenv: env})
		var kerr *client.KerberosError
		if !errors.As(err, &kerr) || !strings.Contains(err.Error(), "no Kerberos ticket cache") || !strings.Contains(err.Error(), "kinit") {
			t.Errorf("NewWithKerberos without a cache: %v", err)
		}
	})
	t.Run("expired ticket", func(t *testing.T) {
		env := kdc.ClientEnv(t)
		kinit, err := kdctest.LookPath("kinit")
		if err != nil {
			t.Skip(err)
		}
		cmd := exec.Command(kinit, "-l", "3s", "alice")
		cmd.Env, cmd.Stdin = env, strings.NewReader(password+"\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kinit -l 3s: %v\n%s", err, out)
		}
		if _, err := client.NewWithKerberos(base, client.KerberosOptions{Getenv: envOf(env)}); err != nil {
			t.Fatalf("NewWithKerberos with a fresh short ticket: %v", err)
		}
		later := func() time.Time { return time.Now().Add(time.Minute) }
		_, err = client.NewWithKerberos(base, client.KerberosOptions{Getenv: envOf(env), Now: later})
		if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "kinit again") {
			t.Errorf("NewWithKerberos with an expired ticket: %v", err)
		}
	})
}

// TestKerberosEnvironment covers finding the cache and krb5.conf without
// a KDC.
func TestKerberosEnvironment(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte("[libdefaults]\n\tdefault_realm = EXAMPLE.COM\n\tdefault_ccache_name = KEYRING:persistent:%{uid}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plainConf := filepath.Join(dir, "plain.conf")
	if err := os.WriteFile(plainConf, []byte("[libdefaults]\n\tdefault_realm = EXAMPLE.COM\n\tdefault_ccache_name = FILE:"+dir+"/cc_%{uid}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		o    client.KerberosOptions
		say  string
	}{
		{"KRB5_CONFIG names no file", map[string]string{"KRB5_CONFIG": dir + "/a:" + dir + "/b"}, client.KerberosOptions{}, "no Kerberos configuration"},
		{"a list: the first existing file", map[string]string{"KRB5_CONFIG": dir + "/a:" + plainConf, "KRB5CCNAME": "FILE:" + dir + "/none"}, client.KerberosOptions{}, "no Kerberos ticket cache at " + dir + "/none"},
		{"KEYRING caches cannot be read", map[string]string{"KRB5_CONFIG": conf, "KRB5CCNAME": "KEYRING:persistent:1000"}, client.KerberosOptions{}, "type KEYRING"},
		{"krb5.conf's default_ccache_name", map[string]string{"KRB5_CONFIG": conf}, client.KerberosOptions{}, "type KEYRING"},
		{"krb5.conf's FILE default_ccache_name", map[string]string{"KRB5_CONFIG": plainConf}, client.KerberosOptions{}, "no Kerberos ticket cache at " + dir + "/cc_"},
		{"a bare path", map[string]string{"KRB5_CONFIG": conf, "KRB5CCNAME": dir + "/bare"}, client.KerberosOptions{}, "no Kerberos ticket cache at " + dir + "/bare"},
		{"not a cache", map[string]string{"KRB5_CONFIG": conf, "KRB5CCNAME": conf}, client.KerberosOptions{}, "cannot read the Kerberos ticket cache"},
		{"bad SPN", map[string]string{"KRB5_CONFIG": conf}, client.KerberosOptions{SPN: "lakegate"}, "invalid service principal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Getenv = func(k string) string { return tc.env[k] }
			_, err := client.NewWithKerberos("http://lakegate.example.com:8083", o)
			var kerr *client.KerberosError
			if !errors.As(err, &kerr) || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("NewWithKerberos: %v; want a KerberosError saying %q", err, tc.say)
			}
		})
	}
}
