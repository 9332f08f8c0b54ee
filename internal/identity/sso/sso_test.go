package sso_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/jwtauth"
	"github.com/lakegate/lakegate/internal/identity/sso"
)

const (
	alicePassword = "alice-SSO-pa55word"
	wrongPassword = "not-alice-password"
)

// rsaKey returns a fresh 2048-bit key, generated once per name and run.
var rsaKey = func() func(name string) *rsa.PrivateKey {
	var mu sync.Mutex
	keys := map[string]*rsa.PrivateKey{}
	return func(name string) *rsa.PrivateKey {
		mu.Lock()
		defer mu.Unlock()
		if k, ok := keys[name]; ok {
			return k
		}
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[name] = k
		return k
	}
}()

// mint signs an RS256 JWT for sub with groups, expiring at exp.
func mint(t testing.TB, key *rsa.PrivateKey, sub string, groups []string, exp time.Time) string {
	t.Helper()
	claims := gojwt.MapClaims{"sub": sub, "exp": exp.Unix(), "iat": time.Now().Unix()}
	if groups != nil {
		claims["groups"] = groups
	}
	raw, err := gojwt.NewWithClaims(gojwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// verifier is a real jwtauth authenticator trusting key's public half.
func verifier(t testing.TB, key *rsa.PrivateKey) *jwtauth.Authenticator {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := jwtauth.New(t.Context(), jwtauth.Options{PublicKeys: []jwtauth.Key{{
		PEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), Algorithm: jwtauth.RS256,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ssoServer is a token-granting endpoint: alice/alicePassword gets the
// answer answer(); any other pair 401. It records what it was sent.
type ssoServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []ssoRequest
	answer   func(w http.ResponseWriter)
}

type ssoRequest struct {
	Method, ContentType, Accept string
	Username, Password          string
	Unknown                     bool // the body held other fields or was not JSON
}

func newSSOServer(t *testing.T, answer func(w http.ResponseWriter)) *ssoServer {
	t.Helper()
	s := &ssoServer{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		err := dec.Decode(&body)
		s.mu.Lock()
		s.requests = append(s.requests, ssoRequest{
			Method: r.Method, ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
			Username: body.Username, Password: body.Password, Unknown: err != nil,
		})
		s.mu.Unlock()
		if err != nil || body.Username != "alice" || body.Password != alicePassword {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid credentials"}`)
			return
		}
		s.answer(w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *ssoServer) sent() []ssoRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func jsonAnswer(status int, v any) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
}

func newAuthenticator(t *testing.T, url string, verifiers ...identity.TokenAuthenticator) *sso.Authenticator {
	t.Helper()
	a, err := sso.New(sso.Options{URL: url, Verifiers: verifiers, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGrantToken(t *testing.T) {
	key := rsaKey("sso")
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	token := mint(t, key, "alice@example.com", []string{"Analysts", "eng"}, exp)
	srv := newSSOServer(t, jsonAnswer(http.StatusOK, map[string]any{"token": token, "expires_in": 3600}))
	a := newAuthenticator(t, srv.URL, verifier(t, key))

	id, got, err := a.GrantToken(t.Context(), "alice", alicePassword)
	if err != nil {
		t.Fatalf("GrantToken: %v", err)
	}
	if got != token {
		t.Errorf("GrantToken returned another token than the endpoint issued")
	}
	if id.User != "alice@example.com" || !slices.Equal(id.Groups, []string{"Analysts", "eng"}) || id.Method != sso.Method || !id.Expires.Equal(exp) {
		t.Errorf("identity = %+v; want the token's sub, groups and exp with method sso", id)
	}
	reqs := srv.sent()
	want := ssoRequest{Method: http.MethodPost, ContentType: "application/json", Accept: "application/json", Username: "alice", Password: alicePassword}
	if len(reqs) != 1 || reqs[0] != want {
		t.Errorf("the endpoint was sent %+v; want one %+v", reqs, want)
	}

	// AuthenticatePassword is the same check.
	id2, err := a.AuthenticatePassword(t.Context(), "alice", alicePassword)
	if err != nil || id2.User != id.User || id2.Method != sso.Method {
		t.Errorf("AuthenticatePassword = %+v, %v", id2, err)
	}
}

func TestTokenFields(t *testing.T) {
	key := rsaKey("sso")
	good := mint(t, key, "alice", nil, time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name   string
		answer map[string]any
	}{
		{"token", map[string]any{"token": good}},
		{"access_token", map[string]any{"access_token": good, "token_type": "Bearer"}},
		{"id_token", map[string]any{"id_token": good}},
		{"token wins over access_token", map[string]any{"token": good, "access_token": "other", "id_token": "other"}},
		{"access_token wins over id_token", map[string]any{"access_token": good, "id_token": "other"}},
		{"an empty token falls through", map[string]any{"token": "", "access_token": good}},
		{"a token that is not a string falls through", map[string]any{"token": 42, "id_token": good}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSSOServer(t, jsonAnswer(http.StatusOK, tc.answer))
			_, got, err := newAuthenticator(t, srv.URL, verifier(t, key)).GrantToken(t.Context(), "alice", alicePassword)
			if err != nil || got != good {
				t.Errorf("GrantToken: %v; got the expected token: %v", err, got == good)
			}
		})
	}
}

// TestFailures: a refusal of the password wraps ErrRefused and
// identity.ErrUnauthenticated; every other failure is technical and wraps
// neither. No error repeats the password or a token.
func TestFailures(t *testing.T) {
	key := rsaKey("sso")
	other := rsaKey("other")
	good := mint(t, key, "alice", []string{"analysts"}, time.Now().Add(time.Hour))
	foreign := mint(t, other, "alice", nil, time.Now().Add(time.Hour))
	expired := mint(t, key, "alice", nil, time.Now().Add(-time.Hour))
	noSub := func() string {
		raw, err := gojwt.NewWithClaims(gojwt.SigningMethodRS256, gojwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}()
	secrets := []string{alicePassword, wrongPassword, good, foreign, expired, noSub}

	redirected := atomic.Int32{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		redirected.Add(1)
		jsonAnswer(http.StatusOK, map[string]any{"token": good})(w)
	}))
	t.Cleanup(target.Close)

	type outcome int
	const (
		refused outcome = iota
		technical
		unverified
	)
	tests := []struct {
		name     string
		answer   func(w http.ResponseWriter)
		password string
		want     outcome
		sent     int // requests the endpoint gets
		say      string
	}{
		{"wrong password (401)", jsonAnswer(http.StatusOK, map[string]any{"token": good}), wrongPassword, refused, 1, "wrong user name or password"},
		{"403", jsonAnswer(http.StatusForbidden, map[string]any{"error": "locked"}), alicePassword, refused, 1, "wrong user name or password"},
		{"empty password is never sent", nil, "", refused, 0, "empty"},
		{"too long a password is never sent", nil, strings.Repeat("p", 5000), refused, 0, "too long"},
		{"500", jsonAnswer(http.StatusInternalServerError, map[string]any{"token": good}), alicePassword, technical, 1, "500"},
		{"400", jsonAnswer(http.StatusBadRequest, map[string]any{"error": "bad"}), alicePassword, technical, 1, "400"},
		{"redirect not followed", func(w http.ResponseWriter) {
			w.Header().Set("Location", target.URL)
			w.WriteHeader(http.StatusTemporaryRedirect)
		}, alicePassword, technical, 1, "redirects are not followed"},
		{"not JSON", func(w http.ResponseWriter) { _, _ = io.WriteString(w, good) }, alicePassword, technical, 1, "not a JSON object"},
		{"JSON null", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "null") }, alicePassword, technical, 1, "not a JSON object"},
		{"no token", jsonAnswer(http.StatusOK, map[string]any{"user": "alice"}), alicePassword, technical, 1, "none of token, access_token, id_token"},
		{"token with a space", jsonAnswer(http.StatusOK, map[string]any{"token": "a " + good}), alicePassword, technical, 1, "space"},
		{"token too long", jsonAnswer(http.StatusOK, map[string]any{"token": strings.Repeat("a", sso.MaxTokenBytes+1)}), alicePassword, technical, 1, "longer than"},
		{"answer too long", jsonAnswer(http.StatusOK, map[string]any{"token": good, "pad": strings.Repeat("x", sso.MaxAnswerBytes)}), alicePassword, technical, 1, "longer than"},
		{"token from another key", jsonAnswer(http.StatusOK, map[string]any{"token": foreign}), alicePassword, unverified, 1, "signature does not verify"},
		{"expired token", jsonAnswer(http.StatusOK, map[string]any{"token": expired}), alicePassword, unverified, 1, "expired"},
		{"token without sub", jsonAnswer(http.StatusOK, map[string]any{"token": noSub}), alicePassword, unverified, 1, "sub"},
		{"a token that is no JWT", jsonAnswer(http.StatusOK, map[string]any{"token": "opaque-session-id"}), alicePassword, unverified, 1, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSSOServer(t, tc.answer)
			id, tok, err := newAuthenticator(t, srv.URL, verifier(t, key)).GrantToken(t.Context(), "alice", tc.password)
			if err == nil {
				t.Fatalf("GrantToken succeeded with %+v", id)
			}
			if tok != "" || id.User != "" {
				t.Errorf("GrantToken failed but returned an identity %+v or a token", id)
			}
			isRefused := errors.Is(err, sso.ErrRefused) && errors.Is(err, identity.ErrUnauthenticated)
			var uv *sso.UnverifiedTokenError
			switch tc.want {
			case refused:
				if !isRefused {
					t.Errorf("error %q does not wrap ErrRefused and ErrUnauthenticated", err)
				}
			case technical, unverified:
				if errors.Is(err, identity.ErrUnauthenticated) {
					t.Errorf("technical error %q wraps ErrUnauthenticated: a caller would take it for a wrong password", err)
				}
				if (tc.want == unverified) != errors.As(err, &uv) {
					t.Errorf("error %q: UnverifiedTokenError = %v, want %v", err, errors.As(err, &uv), tc.want == unverified)
				}
			}
			if !strings.Contains(err.Error(), tc.say) {
				t.Errorf("error %q does not say %q", err, tc.say)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds a secret (%.6s…)", err, s)
				}
			}
			if n := len(srv.sent()); n != tc.sent {
				t.Errorf("the endpoint got %d requests, want %d", n, tc.sent)
			}
		})
	}
	if n := redirected.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests (with the password)", n)
	}
}

// failingVerifier fails for a technical reason.
type failingVerifier struct{}

func (failingVerifier) AuthenticateToken(context.Context, string) (identity.Identity, error) {
	return identity.Identity{}, errors.New("JWKS unreachable")
}

// refusingVerifier refuses every token.
type refusingVerifier struct{}

func (refusingVerifier) AuthenticateToken(context.Context, string) (identity.Identity, error) {
	return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, errors.New("not mine"))
}

func TestVerifiers(t *testing.T) {
	key := rsaKey("sso")
	good := mint(t, key, "alice", nil, time.Now().Add(time.Hour))
	srv := newSSOServer(t, jsonAnswer(http.StatusOK, map[string]any{"token": good}))
	t.Run("tried in order until one accepts", func(t *testing.T) {
		id, _, err := newAuthenticator(t, srv.URL, refusingVerifier{}, verifier(t, key)).GrantToken(t.Context(), "alice", alicePassword)
		if err != nil || id.User != "alice" {
			t.Errorf("GrantToken = %+v, %v", id, err)
		}
	})
	t.Run("a technical failure stops", func(t *testing.T) {
		_, _, err := newAuthenticator(t, srv.URL, failingVerifier{}, verifier(t, key)).GrantToken(t.Context(), "alice", alicePassword)
		if err == nil || errors.Is(err, identity.ErrUnauthenticated) || !strings.Contains(err.Error(), "JWKS unreachable") {
			t.Errorf("GrantToken with a failing verifier: %v; want its technical error", err)
		}
	})
	t.Run("all refuse", func(t *testing.T) {
		_, _, err := newAuthenticator(t, srv.URL, refusingVerifier{}).GrantToken(t.Context(), "alice", alicePassword)
		var uv *sso.UnverifiedTokenError
		if !errors.As(err, &uv) || errors.Is(err, identity.ErrUnauthenticated) || !strings.Contains(err.Error(), "not mine") {
			t.Errorf("GrantToken with refusing verifiers: %v; want an UnverifiedTokenError", err)
		}
	})
}

func TestTimeoutAndUnreachable(t *testing.T) {
	key := rsaKey("sso")
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	a, err := sso.New(sso.Options{URL: slow.URL, Verifiers: []identity.TokenAuthenticator{verifier(t, key)}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = a.GrantToken(t.Context(), "alice", alicePassword)
	if err == nil || errors.Is(err, identity.ErrUnauthenticated) || time.Since(start) > 5*time.Second {
		t.Errorf("GrantToken against a hanging endpoint: %v after %s; want a technical error after the timeout", err, time.Since(start))
	}

	// A URL with a password: errors show it redacted.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := strings.Replace(dead.URL, "http://", "http://svc:url-secret-pw@", 1)
	dead.Close()
	a = newAuthenticator(t, deadURL, verifier(t, key))
	_, _, err = a.GrantToken(t.Context(), "alice", alicePassword)
	if err == nil || errors.Is(err, identity.ErrUnauthenticated) || strings.Contains(err.Error(), "url-secret-pw") || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("GrantToken against a closed port: %v; want a technical error without the URL's password", err)
	}

	// The caller's context bounds the request too.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := newAuthenticator(t, slow.URL, verifier(t, key)).GrantToken(ctx, "alice", alicePassword); err == nil || errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("GrantToken with a cancelled context: %v", err)
	}
}

func TestOptions(t *testing.T) {
	v := []identity.TokenAuthenticator{refusingVerifier{}}
	for _, tc := range []struct {
		name string
		o    sso.Options
		say  []string
	}{
		{"no URL", sso.Options{Verifiers: v}, []string{"URL is required"}},
		{"not http", sso.Options{URL: "ftp://sso.example.com/token", Verifiers: v}, []string{"not an http:// or https:// URL"}},
		{"no host", sso.Options{URL: "https:///token", Verifiers: v}, []string{"not an http:// or https:// URL"}},
		{"password redacted", sso.Options{URL: "ldap://u:hunter2-secret@sso.example.com", Verifiers: v}, []string{"not an http"}},
		{"no verifiers", sso.Options{URL: "https://sso.example.com/token"}, []string{"must be verified"}},
		{"nil verifier", sso.Options{URL: "https://sso.example.com/token", Verifiers: []identity.TokenAuthenticator{nil}}, []string{"verifier 1 is nil"}},
		{"negative timeout", sso.Options{URL: "https://sso.example.com/token", Verifiers: v, Timeout: -time.Second}, []string{"negative"}},
		{"everything at once", sso.Options{URL: "mailto:x", Timeout: -1}, []string{"not an http", "must be verified", "negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sso.New(tc.o)
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, s := range tc.say {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "hunter2-secret") {
				t.Errorf("error %q repeats the URL's password", err)
			}
		})
	}
	if _, err := sso.New(sso.Options{URL: "https://sso.example.com/token", Verifiers: v}); err != nil {
		t.Errorf("New with valid options: %v", err)
	}
}
