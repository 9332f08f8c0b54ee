package kerberos_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/kerberos"
	"github.com/lakegate/lakegate/internal/identity/kerberos/kdctest"
)

// These tests run MIT krb5kdc, kinit and curl --negotiate: the client side
// is real GSS-API (libgssapi-krb5 inside curl), not gokrb5.

const alicePassword = "alice-Pa55word"

// server is an httptest server whose handler answers the seed's
// /api/health-authenticated: the user on success, a Negotiate challenge
// and 401 otherwise. It records Negotiate's errors.
type server struct {
	*httptest.Server
	port string

	mu   sync.Mutex
	errs []error
}

func newServer(t *testing.T, a *kerberos.Authenticator) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Negotiate(r)
		if err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
			kerberos.Challenge(w)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"health":"ok","token":null,"user":%q}`, id.User)
	}))
	t.Cleanup(s.Close)
	_, s.port, _ = net.SplitHostPort(s.Listener.Addr().String())
	return s
}

func (s *server) lastErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		return nil
	}
	return s.errs[len(s.errs)-1]
}

// curlResult is what curl saw.
type curlResult struct {
	code    string
	headers string
	body    string
}

// curl fetches http://host:port/api/health-authenticated, host resolving
// to 127.0.0.1 (so the client asks for a ticket for HTTP/host), with the
// given environment and extra arguments.
func curl(t *testing.T, s *server, host string, env []string, args ...string) curlResult {
	t.Helper()
	dir := t.TempDir()
	hdr, body := filepath.Join(dir, "headers"), filepath.Join(dir, "body")
	all := append([]string{
		"--silent", "--show-error", "--noproxy", "*",
		"--resolve", host + ":" + s.port + ":127.0.0.1",
		"--dump-header", hdr, "--output", body, "--write-out", "%{http_code}",
	}, args...)
	all = append(all, "http://"+host+":"+s.port+"/api/health-authenticated")
	cmd := exec.Command(curlPath, all...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(all, " "), err, stderr.String())
	}
	h, _ := os.ReadFile(hdr)
	b, _ := os.ReadFile(body)
	return curlResult{code: string(out), headers: string(h), body: string(b)}
}

var curlPath string

// startRealm starts a KDC with alice and the services' keys in one keytab.
func startRealm(t *testing.T, services ...string) (*kdctest.KDC, string) {
	t.Helper()
	curlPath = kdctest.RequireTools(t, "curl")["curl"]
	kdc := kdctest.Start(t)
	kdc.AddUser(t, "alice", alicePassword)
	return kdc, kdc.ServiceKeytab(t, services...)
}

func TestCurlNegotiateWithMITKDC(t *testing.T) {
	kdc, keytab := startRealm(t, "HTTP/localhost", "HTTP/other")
	a, err := kerberos.New(kerberos.Options{KeytabPath: keytab, ServicePrincipal: "HTTP/localhost"})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, a)
	aliceEnv := kdc.Kinit(t, "alice", alicePassword)

	t.Run("kinit alice", func(t *testing.T) {
		r := curl(t, s, "localhost", aliceEnv, "--negotiate", "--user", ":")
		if r.code != "200" || !strings.Contains(r.body, `"user":"alice@LAKEGATE.TEST"`) {
			t.Fatalf("curl: %s %s\nlast error: %v", r.code, r.body, s.lastErr())
		}
	})

	t.Run("no ticket", func(t *testing.T) {
		r := curl(t, s, "localhost", kdc.ClientEnv(t), "--negotiate", "--user", ":")
		if r.code != "401" || !hasChallenge(r.headers) {
			t.Fatalf("curl: %s\n%s", r.code, r.headers)
		}
		if err := s.lastErr(); !errors.Is(err, kerberos.ErrNoNegotiate) {
			t.Fatalf("Negotiate error = %v, want ErrNoNegotiate", err)
		}
	})

	t.Run("ticket for another service principal", func(t *testing.T) {
		// curl asks the KDC for HTTP/other; the keytab has its key, but
		// this server is HTTP/localhost.
		r := curl(t, s, "other", aliceEnv, "--negotiate", "--user", ":")
		err := s.lastErr()
		if r.code != "401" || !hasChallenge(r.headers) {
			t.Fatalf("curl: %s %s", r.code, r.body)
		}
		if !errors.Is(err, identity.ErrUnauthenticated) ||
			!strings.Contains(err.Error(), "ticket is for HTTP/other@LAKEGATE.TEST, not HTTP/localhost") {
			t.Fatalf("Negotiate error = %v", err)
		}
	})

	t.Run("garbage Negotiate header", func(t *testing.T) {
		r := curl(t, s, "localhost", aliceEnv, "--header", "Authorization: Negotiate "+
			base64.StdEncoding.EncodeToString([]byte("garbage")))
		err := s.lastErr()
		if r.code != "401" || !hasChallenge(r.headers) {
			t.Fatalf("curl: %s %s", r.code, r.body)
		}
		if !errors.Is(err, identity.ErrUnauthenticated) || errors.Is(err, kerberos.ErrNoNegotiate) {
			t.Fatalf("Negotiate error = %v, want ErrUnauthenticated for a bad token", err)
		}
	})
}

// TestAnyServicePrincipalWithMITKDC: with no ServicePrincipal, a ticket
// for any principal in the keytab is accepted (the seed's --resolve
// okera-service:PORT:IP example), and one for a principal outside it is not.
func TestAnyServicePrincipalWithMITKDC(t *testing.T) {
	kdc, keytab := startRealm(t, "HTTP/localhost", "HTTP/okera-service")
	kdc.ServiceKeytab(t, "HTTP/elsewhere") // known to the KDC, not to lakegate
	a, err := kerberos.New(kerberos.Options{KeytabPath: keytab})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, a)
	env := kdc.Kinit(t, "alice", alicePassword)
	for _, host := range []string{"localhost", "okera-service"} {
		r := curl(t, s, host, env, "--negotiate", "--user", ":")
		if r.code != "200" || !strings.Contains(r.body, `"user":"alice@LAKEGATE.TEST"`) {
			t.Fatalf("curl http://%s: %s %s\nlast error: %v", host, r.code, r.body, s.lastErr())
		}
	}
	r := curl(t, s, "elsewhere", env, "--negotiate", "--user", ":")
	if err := s.lastErr(); r.code != "401" || !errors.Is(err, identity.ErrUnauthenticated) ||
		!strings.Contains(err.Error(), "matching key not found in keytab") {
		t.Fatalf("curl http://elsewhere: %s; Negotiate error = %v", r.code, err)
	}
}

// TestMITTokenReplayAndRawKerberos captures a token curl sends without
// verifying it, then presents it twice to Negotiate: first unwrapped to a
// raw Kerberos token (accepted), then as sent (refused as a replay).
func TestMITTokenReplayAndRawKerberos(t *testing.T) {
	kdc, keytab := startRealm(t, "HTTP/localhost")
	a, err := kerberos.New(kerberos.Options{KeytabPath: keytab, ServicePrincipal: "HTTP/localhost@LAKEGATE.TEST"})
	if err != nil {
		t.Fatal(err)
	}
	captured := make(chan string, 1)
	capture := &server{Server: httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			kerberos.Challenge(w)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		select {
		case captured <- h:
		default:
		}
	}))}
	t.Cleanup(capture.Close)
	_, capture.port, _ = net.SplitHostPort(capture.Listener.Addr().String())
	if r := curl(t, capture, "localhost", kdc.Kinit(t, "alice", alicePassword), "--negotiate", "--user", ":"); r.code != "200" {
		t.Fatalf("curl: %s", r.code)
	}
	header := <-captured

	b64, ok := strings.CutPrefix(header, "Negotiate ")
	if !ok {
		t.Fatalf("curl sent %q", header)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(b); err != nil || !st.Init {
		t.Fatalf("curl's token is not a NegTokenInit: %v", err)
	}
	raw := "Negotiate " + base64.StdEncoding.EncodeToString(st.NegTokenInit.MechTokenBytes)

	req := func(h string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://localhost/", nil)
		r.Header.Set("Authorization", h)
		return r
	}
	id, err := a.Negotiate(req(raw))
	if err != nil || id.User != "alice@LAKEGATE.TEST" || id.Method != "kerberos" {
		t.Fatalf("raw Kerberos token: %+v, %v", id, err)
	}
	if _, err := a.Negotiate(req(header)); !errors.Is(err, identity.ErrUnauthenticated) ||
		!strings.Contains(err.Error(), "replay") {
		t.Fatalf("replayed token: error = %v, want a replay refused", err)
	}
}

func hasChallenge(headers string) bool {
	for _, line := range strings.Split(headers, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.EqualFold(name, "WWW-Authenticate") && strings.TrimSpace(value) == "Negotiate" {
			return true
		}
	}
	return false
}
