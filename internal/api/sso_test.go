package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/jwtauth"
	"github.com/lakegate/lakegate/internal/identity/sso"
	"github.com/lakegate/lakegate/internal/store"
)

// lockedLog is a log destination tests read back.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ssoStack is the REST API with SSO_URL password logins: an SSO endpoint
// granting RS256 JWTs (sub alice@example.com, groups [Analysts]) to
// alice/ssoPassword, verified by a real jwtauth authenticator.
type ssoStack struct {
	srv     *httptest.Server
	sso     *httptest.Server
	down    bool // the SSO endpoint answers 503
	mu      sync.Mutex
	log     *lockedLog
	engine  *authz.Engine
	tokens  *credentials.Tokens
	granted []string
}

const ssoPassword = "alice-SSO-pa55word"

func newSSOStack(t *testing.T, required string) *ssoStack {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := jwtauth.New(t.Context(), jwtauth.Options{PublicKeys: []jwtauth.Key{{
		PEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), Algorithm: jwtauth.RS256,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &ssoStack{log: &lockedLog{}}
	s.sso = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Username, Password string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		switch {
		case down:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case body.Username != "alice" || body.Password != ssoPassword:
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok, err := gojwt.NewWithClaims(gojwt.SigningMethodRS256, gojwt.MapClaims{
			"sub": "alice@example.com", "groups": []string{"Analysts"}, "exp": time.Now().Add(time.Hour).Unix(),
			"jti": rand.Text(),
		}).SignedString(key)
		if err != nil {
			t.Error(err)
		}
		s.mu.Lock()
		s.granted = append(s.granted, tok)
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok})
	}))
	t.Cleanup(s.sso.Close)
	granter, err := sso.New(sso.Options{URL: s.sso.URL, Verifiers: []identity.TokenAuthenticator{jwt}})
	if err != nil {
		t.Fatal(err)
	}

	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s.engine, err = authz.New(t.Context(), authz.Options{Store: st, RequiredGroup: required})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.engine.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.engine.Exec(t.Context(), s.engine.Principal("admin"), "CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts; GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers"); err != nil {
		t.Fatal(err)
	}
	s.tokens = credentials.NewTokens(st)
	h, err := api.New(api.Options{
		Engine: s.engine, Tokens: s.tokens, Keys: credentials.New(st),
		TokenAuthenticators: []identity.TokenAuthenticator{jwt},
		Passwords:           granter,
		Logger:              slog.New(slog.NewTextHandler(s.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
	return s
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (s *ssoStack) call(t *testing.T, method, path, auth string) answer {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, s.srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func basicOf(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestSSOLogin(t *testing.T) {
	s := newSSOStack(t, "")
	var tok api.TokenResponse
	t.Run("get-token hands out the SSO token", func(t *testing.T) {
		a := s.call(t, "POST", "/api/get-token", basicOf("alice", ssoPassword))
		if a.status != 200 || json.Unmarshal([]byte(a.body), &tok) != nil {
			t.Fatalf("POST /api/get-token with alice's SSO password: %d %s", a.status, a.body)
		}
		s.mu.Lock()
		granted := slices.Clone(s.granted)
		s.mu.Unlock()
		if len(granted) != 1 || tok.Token != granted[0] {
			t.Fatalf("get-token answered another token than the one the SSO endpoint granted")
		}
		if tok.User != "alice@example.com" || tok.Method != sso.Method || tok.Expires == "" {
			t.Errorf("get-token = user %q, method %q, expires %q; want alice@example.com, sso, the JWT's exp", tok.User, tok.Method, tok.Expires)
		}
	})
	t.Run("the SSO token then authenticates as a JWT", func(t *testing.T) {
		a := s.call(t, "GET", "/api/get-user", "Bearer "+tok.Token)
		var u api.UserResponse
		if a.status != 200 || json.Unmarshal([]byte(a.body), &u) != nil || u.User != "alice@example.com" || u.Method != "jwt" || !slices.EqualFunc(u.Groups, []string{"analysts"}, strings.EqualFold) {
			t.Errorf("GET /api/get-user with the SSO token: %d %s", a.status, a.body)
		}
		// get-token with a JWT gives a lakegate token, as before.
		var lg api.TokenResponse
		a = s.call(t, "POST", "/api/get-token", "Bearer "+tok.Token)
		if a.status != 200 || json.Unmarshal([]byte(a.body), &lg) != nil || !strings.HasPrefix(lg.Token, credentials.TokenPrefix) || lg.Method != "jwt" {
			t.Errorf("get-token with a JWT: %d, method %q; want a lakegate token", a.status, lg.Method)
		}
	})
	t.Run("Basic with SSO on other endpoints", func(t *testing.T) {
		a := s.call(t, "GET", "/api/get-user", basicOf("alice", ssoPassword))
		var u api.UserResponse
		if a.status != 200 || json.Unmarshal([]byte(a.body), &u) != nil || u.User != "alice@example.com" || u.Method != sso.Method || !slices.EqualFunc(u.Groups, []string{"analysts"}, strings.EqualFold) {
			t.Errorf("GET /api/get-user with Basic (SSO): %d %s", a.status, a.body)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		a := s.call(t, "POST", "/api/get-token", basicOf("alice", "not-the-password"))
		if a.status != 401 || !strings.Contains(a.body, "wrong user name or password") {
			t.Errorf("get-token with a wrong password: %d %s; want 401 saying so", a.status, a.body)
		}
		if !slices.ContainsFunc(a.header.Values("WWW-Authenticate"), func(v string) bool { return strings.HasPrefix(v, "Basic") }) {
			t.Errorf("WWW-Authenticate %q offers no Basic", a.header.Values("WWW-Authenticate"))
		}
		if a := s.call(t, "POST", "/api/get-token", "Basic !!!"); a.status != 401 {
			t.Errorf("get-token with malformed Basic: %d %s", a.status, a.body)
		}
	})
	t.Run("SSO endpoint down", func(t *testing.T) {
		s.mu.Lock()
		s.down = true
		s.mu.Unlock()
		defer func() { s.mu.Lock(); s.down = false; s.mu.Unlock() }()
		a := s.call(t, "POST", "/api/get-token", basicOf("alice", ssoPassword))
		if a.status != http.StatusBadGateway || !strings.Contains(a.body, "password could not be checked") {
			t.Errorf("get-token with the SSO endpoint down: %d %s; want 502 saying the check failed", a.status, a.body)
		}
		if !strings.Contains(s.log.String(), "503") {
			t.Errorf("the server log does not say why:\n%s", s.log.String())
		}
	})
	s.mu.Lock()
	secrets := append([]string{ssoPassword, "not-the-password"}, s.granted...)
	s.mu.Unlock()
	for _, sec := range secrets {
		if strings.Contains(s.log.String(), sec) {
			t.Errorf("the server log holds a secret (%.6s…)", sec)
		}
	}
}

// TestRequiredGroupTableUsers: with groups.required, users-table users
// outside it are refused (403) on every endpoint, catalog admins are
// exempt, and SSO users are held to it by the same engine rule.
func TestRequiredGroupTableUsers(t *testing.T) {
	s := newSSOStack(t, "lakeusers")
	ctx := t.Context()
	for user, groups := range map[string][]string{"in": {"analysts", "lakeusers"}, "out": {"analysts"}} {
		if err := s.engine.PutUser(ctx, user, groups); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(user string) string {
		tok, err := s.tokens.Issue(ctx, user, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		user   string
		status int
		say    string
	}{
		{"in", 200, `"in"`},
		{"out", 403, `not a member of the required group \"lakeusers\"`},
		{"admin", 200, `"admin"`},
	} {
		tok := issue(tc.user)
		for _, path := range []string{"/api/get-user", "/api/health-authenticated"} {
			if a := s.call(t, "GET", path, "Bearer "+tok); a.status != tc.status || !strings.Contains(a.body, tc.say) {
				t.Errorf("%s: GET %s: %d %s; want %d with %s", tc.user, path, a.status, a.body, tc.status, tc.say)
			}
		}
		if a := s.call(t, "POST", "/api/aws-credentials", "Bearer "+tok); a.status != tc.status {
			t.Errorf("%s: POST /api/aws-credentials: %d %s; want %d", tc.user, a.status, a.body, tc.status)
		}
	}
	// alice's JWT carries Analysts only: no resolver here, so the engine
	// applies the rule to her session groups.
	if a := s.call(t, "POST", "/api/get-token", basicOf("alice", ssoPassword)); a.status != 403 || !strings.Contains(a.body, "required group") {
		t.Errorf("alice (not in lakeusers) logging in with SSO: %d %s; want 403", a.status, a.body)
	}
}
