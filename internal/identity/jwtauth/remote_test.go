package jwtauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/jwtauth"
)

// remoteServer is a JWT_AUTHENTICATION_SERVER_URL endpoint answering
// status and body to every well-formed request.
type remoteServer struct {
	*httptest.Server
	status atomic.Int64
	body   atomic.Value // string
	calls  atomic.Int64
}

func newRemoteServer(t *testing.T, status int, body string) *remoteServer {
	s := &remoteServer{}
	s.status.Store(int64(status))
	s.body.Store(body)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		switch {
		case r.Method != http.MethodPost:
			t.Errorf("remote endpoint got %s, want POST", r.Method)
		case r.Header.Get("Accept") != "application/json":
			t.Errorf("remote endpoint got Accept %q", r.Header.Get("Accept"))
		case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
			t.Errorf("remote endpoint got Authorization %q", r.Header.Get("Authorization"))
		case len(b) != 0:
			t.Errorf("remote endpoint got a body %q", b)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s.status.Load()))
		_, _ = io.WriteString(w, s.body.Load().(string))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRemoteEndpoint(t *testing.T) {
	const token = "opaque-token-0123456789"
	tests := []struct {
		name      string
		status    int
		body      string
		want      identity.Identity
		reason    error // a refusal
		technical string
	}{
		{name: "200 with sub", status: 200, body: `{"sub": "santa@okera.com"}`, want: identity.Identity{User: "santa@okera.com", Method: "jwt"}},
		{name: "200 with sub and groups", status: 200, body: `{"sub": "santa", "groups": ["elves", "reindeer"]}`, want: identity.Identity{User: "santa", Groups: []string{"elves", "reindeer"}, Method: "jwt"}},
		{name: "201 counts as 2xx", status: 201, body: `{"sub": "santa"}`, want: identity.Identity{User: "santa", Method: "jwt"}},
		{name: "200 without sub", status: 200, body: `{"user": "santa"}`, reason: jwtauth.ErrRemoteRefused},
		{name: "200 with empty sub", status: 200, body: `{"sub": ""}`, reason: jwtauth.ErrRemoteRefused},
		{name: "200 with numeric sub", status: 200, body: `{"sub": 7}`, reason: jwtauth.ErrRemoteRefused},
		{name: "200 with bad groups", status: 200, body: `{"sub": "santa", "groups": [1]}`, reason: jwtauth.ErrGroups},
		{name: "401", status: 401, body: `{"error": "invalid token"}`, reason: jwtauth.ErrRemoteRefused},
		{name: "403", status: 403, reason: jwtauth.ErrRemoteRefused},
		{name: "404", status: 404, reason: jwtauth.ErrRemoteRefused},
		{name: "500", status: 500, technical: "remote endpoint answered 500 Internal Server Error"},
		{name: "503", status: 503, technical: "remote endpoint answered 503"},
		{name: "200 not JSON", status: 200, body: `<html>ok</html>`, technical: "something other than a JSON object"},
		{name: "200 JSON null", status: 200, body: `null`, technical: "something other than a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRemoteServer(t, tc.status, tc.body)
			a := newAuth(t, jwtauth.Options{RemoteURL: srv.URL + "/validate"})
			id, err := a.AuthenticateToken(context.Background(), token)
			switch {
			case tc.reason != nil:
				checkRefusal(t, err, tc.reason, token)
			case tc.technical != "":
				if err == nil || errors.Is(err, identity.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.technical) {
					t.Fatalf("error = %v, want a technical error with %q", err, tc.technical)
				}
				checkNoToken(t, err, token)
			default:
				if err != nil {
					t.Fatal(err)
				}
				checkIdentity(t, id, tc.want)
			}
		})
	}
}

func TestRemoteEndpointUnreachable(t *testing.T) {
	srv := newRemoteServer(t, 200, `{"sub":"x"}`)
	srv.Close()
	a := newAuth(t, jwtauth.Options{RemoteURL: srv.URL, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	const token = "opaque-token-0123456789"
	_, err := a.AuthenticateToken(context.Background(), token)
	if err == nil || errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("error = %v, want a technical error", err)
	}
	checkNoToken(t, err, token)
}

func TestRemoteEndpointSendsTheToken(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, `{"sub":"santa"}`)
	}))
	defer srv.Close()
	a := newAuth(t, jwtauth.Options{RemoteURL: srv.URL})
	token := sign(t, gojwt.SigningMethodRS256, keys().rsa1, "", claims(nil))
	if _, err := a.AuthenticateToken(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "Bearer "+token {
		t.Errorf("Authorization = %q", got.Load())
	}
}

func TestRemoteThenPublicKeys(t *testing.T) {
	k := keys()
	valid := sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(nil))
	forged := sign(t, gojwt.SigningMethodRS256, k.rsaAttacker, "", claims(nil))
	expired := sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"exp": t0.Add(-time.Hour).Unix()}))
	closed := newRemoteServer(t, 200, "")
	closed.Close()

	tests := []struct {
		name      string
		status    int
		body      string
		down      bool
		token     string
		wantUser  string
		reasons   []error
		technical bool
	}{
		{name: "remote accepts what the keys refuse", status: 200, body: `{"sub":"remote-user"}`, token: forged, wantUser: "remote-user"},
		{name: "remote accepts first", status: 200, body: `{"sub":"remote-user"}`, token: valid, wantUser: "remote-user"},
		{name: "remote refuses, public key accepts", status: 401, token: valid, wantUser: "alice"},
		{name: "remote answers without sub, public key accepts", status: 200, body: `{}`, token: valid, wantUser: "alice"},
		{name: "remote refuses, public key refuses", status: 401, token: forged, reasons: []error{jwtauth.ErrRemoteRefused, jwtauth.ErrBadSignature}},
		{name: "remote refuses, token expired", status: 403, token: expired, reasons: []error{jwtauth.ErrRemoteRefused, jwtauth.ErrExpired}},
		{name: "remote refuses garbage", status: 401, token: "garbage", reasons: []error{jwtauth.ErrRemoteRefused, jwtauth.ErrMalformed}},
		{name: "remote down, public key accepts", down: true, token: valid, wantUser: "alice"},
		{name: "remote 503, public key accepts", status: 503, token: valid, wantUser: "alice"},
		{name: "remote down, public key refuses", down: true, token: forged, technical: true},
		{name: "remote 500, public key refuses", status: 500, token: forged, technical: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := staticOptions(t, newClock())
			srv := newRemoteServer(t, tc.status, tc.body)
			o.RemoteURL = srv.URL
			if tc.down {
				o.RemoteURL = closed.URL
			}
			a := newAuth(t, o)
			id, err := a.AuthenticateToken(context.Background(), tc.token)
			switch {
			case tc.wantUser != "":
				if err != nil || id.User != tc.wantUser || id.Method != "jwt" {
					t.Fatalf("AuthenticateToken = %+v, %v; want user %q", id, err, tc.wantUser)
				}
			case tc.technical:
				if err == nil || errors.Is(err, identity.ErrUnauthenticated) {
					t.Fatalf("error = %v, want a technical error", err)
				}
				if !strings.Contains(err.Error(), "signature does not verify") {
					t.Errorf("technical error %q does not say what the keys said", err)
				}
				checkNoToken(t, err, tc.token)
			default:
				for _, r := range tc.reasons {
					checkRefusal(t, err, r, tc.token)
				}
			}
			if !tc.down && srv.calls.Load() != 1 {
				t.Errorf("remote endpoint called %d times, want 1", srv.calls.Load())
			}
		})
	}
}

func TestRemoteNotCalledForImpossibleTokens(t *testing.T) {
	srv := newRemoteServer(t, 200, `{"sub":"santa"}`)
	a := newAuth(t, jwtauth.Options{RemoteURL: srv.URL})
	for _, token := range []string{"", "a b", "a\r\nX-Injected: 1", "tab\there", "caf\u00e9", strings.Repeat("a", jwtauth.MaxTokenBytes+1)} {
		_, err := a.AuthenticateToken(context.Background(), token)
		checkRefusal(t, err, jwtauth.ErrMalformed, token)
	}
	if n := srv.calls.Load(); n != 0 {
		t.Errorf("remote endpoint called %d times", n)
	}
	if id, err := a.AuthenticateToken(context.Background(), "ok"); err != nil || id.User != "santa" {
		t.Errorf("AuthenticateToken(ok) = %+v, %v", id, err)
	}
}
