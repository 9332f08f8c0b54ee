package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
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
)

// jwksServer serves a JWKS that tests replace, and OIDC discovery for
// itself as issuer. It counts JWKS fetches; fail makes them answer 500.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	fetches atomic.Int64
	fail    atomic.Bool
	// discovery, when set, replaces the discovery document.
	discovery func(issuer string) map[string]any
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	s := &jwksServer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("JWKS request Accept = %q", r.Header.Get("Accept"))
		}
		if s.fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		doc := map[string]any{"keys": s.keys}
		s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{"issuer": s.URL, "jwks_uri": s.URL + "/keys", "authorization_endpoint": s.URL + "/auth"}
		if s.discovery != nil {
			doc = s.discovery(s.URL)
		}
		_ = json.NewEncoder(w).Encode(doc)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...map[string]any) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

func TestJWKSRotation(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(&k.rsa1.PublicKey, "k1", "RS256"))
	clk := newClock()
	a := newAuth(t, jwtauth.Options{JWKSURL: srv.URL + "/keys", Now: clk.Now})
	ctx := context.Background()
	old := sign(t, gojwt.SigningMethodRS256, k.rsa1, "k1", claims(nil))
	rotated := sign(t, gojwt.SigningMethodES256, k.ec, "k2", claims(map[string]any{"sub": "bob"}))

	step := func(name, token string, wantUser string, reason error, wantFetches int64) {
		t.Helper()
		id, err := a.AuthenticateToken(ctx, token)
		switch {
		case wantUser != "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case wantUser != "" && id.User != wantUser:
			t.Errorf("%s: user %q, want %q", name, id.User, wantUser)
		case wantUser == "":
			checkRefusal(t, err, reason, token)
		}
		if got := srv.fetches.Load(); got != wantFetches {
			t.Errorf("%s: %d JWKS fetches, want %d", name, got, wantFetches)
		}
	}

	step("the first key", old, "alice", nil, 1)
	step("unknown kid right after the first fetch is not fetched again", rotated, "", jwtauth.ErrUnknownKey, 1)

	srv.setKeys(jwkOf(&k.ec.PublicKey, "k2", "ES256"))
	clk.Advance(11 * time.Second)
	step("the rotated key works at once", rotated, "bob", nil, 2)
	step("the removed key is refused", old, "", jwtauth.ErrUnknownKey, 2)
	step("the rotated key again, no fetch", rotated, "bob", nil, 2)

	clk.Advance(11 * time.Second)
	step("the removed key, fetched again after the gap", old, "", jwtauth.ErrUnknownKey, 3)
}

func TestJWKSPeriodicRefresh(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(&k.rsa1.PublicKey, "k1", ""))
	clk := newClock()
	a := newAuth(t, jwtauth.Options{JWKSURL: srv.URL + "/keys", Now: clk.Now, JWKSRefreshInterval: time.Minute})
	ctx := context.Background()
	token := sign(t, gojwt.SigningMethodRS256, k.rsa1, "k1", claims(map[string]any{"exp": t0.Add(24 * time.Hour).Unix()}))

	srv.setKeys(jwkOf(&k.rsa2.PublicKey, "k3", ""))
	clk.Advance(30 * time.Second)
	if _, err := a.AuthenticateToken(ctx, token); err != nil {
		t.Fatalf("before the refresh interval: %v", err)
	}
	if got := srv.fetches.Load(); got != 1 {
		t.Fatalf("%d fetches before the refresh interval, want 1", got)
	}

	clk.Advance(31 * time.Second)
	// The refresh runs in the background; this request still uses the old set.
	if _, err := a.AuthenticateToken(ctx, token); err != nil {
		t.Fatalf("while refreshing: %v", err)
	}
	jwtauth.WaitForJWKSRefresh(a)
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("%d fetches after the refresh interval, want 2", got)
	}
	_, err := a.AuthenticateToken(ctx, token)
	checkRefusal(t, err, jwtauth.ErrUnknownKey, token)
	if got := srv.fetches.Load(); got != 2 {
		t.Errorf("%d fetches, want 2: an unknown kid right after a refresh must not fetch", got)
	}
}

func TestJWKSConcurrentMissesShareOneFetch(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(&k.rsa1.PublicKey, "k1", "RS256"))
	clk := newClock()
	a := newAuth(t, jwtauth.Options{JWKSURL: srv.URL + "/keys", Now: clk.Now})
	srv.setKeys(jwkOf(&k.rsa1.PublicKey, "k1", "RS256"), jwkOf(k.ed.Public(), "k2", ""))
	clk.Advance(time.Minute)
	token := sign(t, gojwt.SigningMethodEdDSA, k.ed, "k2", claims(nil))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := a.AuthenticateToken(context.Background(), token); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := srv.fetches.Load(); got != 2 {
		t.Errorf("%d fetches, want 2", got)
	}
}

func TestJWKSKeySelection(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t,
		jwkOf(&k.rsa1.PublicKey, "rsa-any", ""),      // RS256 and RS512
		jwkOf(&k.rsa2.PublicKey, "rsa-256", "RS256"), // RS256 only
		jwkOf(&k.ec.PublicKey, "ec", ""),
		jwkOf(k.ed.Public(), "ed", "EdDSA"),
		func() map[string]any { m := jwkOf(&k.rsaOther.PublicKey, "enc", ""); m["use"] = "enc"; return m }(),
		func() map[string]any {
			m := jwkOf(&k.rsaOther.PublicKey, "ops", "")
			m["key_ops"] = []string{"encrypt"}
			return m
		}(),
		map[string]any{"kty": "oct", "kid": "hmac", "k": b64([]byte("secret"))},
	)
	a := newAuth(t, jwtauth.Options{JWKSURL: srv.URL + "/keys", Now: newClock().Now})
	tests := []struct {
		name   string
		token  string
		reason error
	}{
		{name: "RSA key without alg, RS256", token: sign(t, gojwt.SigningMethodRS256, k.rsa1, "rsa-any", claims(nil))},
		{name: "RSA key without alg, RS512", token: sign(t, gojwt.SigningMethodRS512, k.rsa1, "rsa-any", claims(nil))},
		{name: "RS256 key", token: sign(t, gojwt.SigningMethodRS256, k.rsa2, "rsa-256", claims(nil))},
		{name: "EC key without alg", token: sign(t, gojwt.SigningMethodES256, k.ec, "ec", claims(nil))},
		{name: "Ed25519 key", token: sign(t, gojwt.SigningMethodEdDSA, k.ed, "ed", claims(nil))},
		{name: "no kid: every key for the algorithm is tried", token: sign(t, gojwt.SigningMethodRS256, k.rsa2, "", claims(nil))},
		{name: "RS512 with an RS256-only key", token: sign(t, gojwt.SigningMethodRS512, k.rsa2, "rsa-256", claims(nil)), reason: jwtauth.ErrAlgorithm},
		{name: "kid of one key, signed by another", token: sign(t, gojwt.SigningMethodRS256, k.rsa2, "rsa-any", claims(nil)), reason: jwtauth.ErrBadSignature},
		{name: "ES256 naming an RSA key", token: rawToken(t, map[string]any{"alg": "ES256", "kid": "rsa-any"}, claims(nil), gojwt.SigningMethodES256, k.ec), reason: jwtauth.ErrAlgorithm},
		{name: "encryption key", token: sign(t, gojwt.SigningMethodRS256, k.rsaOther, "enc", claims(nil)), reason: jwtauth.ErrUnknownKey},
		{name: "key_ops without verify", token: sign(t, gojwt.SigningMethodRS256, k.rsaOther, "ops", claims(nil)), reason: jwtauth.ErrUnknownKey},
		{name: "HMAC key in the set", token: sign(t, gojwt.SigningMethodHS256, []byte("secret"), "hmac", claims(nil)), reason: jwtauth.ErrAlgorithm},
		{name: "no kid, unknown key", token: sign(t, gojwt.SigningMethodRS256, k.rsaAttacker, "", claims(nil)), reason: jwtauth.ErrBadSignature},
		{name: "expired", token: sign(t, gojwt.SigningMethodEdDSA, k.ed, "ed", claims(map[string]any{"exp": t0.Add(-time.Hour).Unix()})), reason: jwtauth.ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.AuthenticateToken(context.Background(), tc.token)
			if tc.reason != nil {
				checkRefusal(t, err, tc.reason, tc.token)
				return
			}
			if err != nil || id.User != "alice" || id.Method != "jwt" {
				t.Fatalf("AuthenticateToken = %+v, %v", id, err)
			}
		})
	}
}

func TestJWKSUnreachable(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(&k.rsa1.PublicKey, "k1", "RS256"))
	clk := newClock()
	a := newAuth(t, jwtauth.Options{JWKSURL: srv.URL + "/keys", Now: clk.Now})
	ctx := context.Background()
	srv.fail.Store(true)
	clk.Advance(time.Minute)

	rotated := sign(t, gojwt.SigningMethodRS256, k.rsa2, "k2", claims(nil))
	_, err := a.AuthenticateToken(ctx, rotated)
	if err == nil || errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("unknown kid while the JWKS is down: %v, want a technical error", err)
	}
	if !strings.Contains(err.Error(), "refreshing the JWKS") {
		t.Errorf("error %q does not say the JWKS refresh failed", err)
	}
	checkNoToken(t, err, rotated)

	// Known keys keep working from the old set.
	if _, err := a.AuthenticateToken(ctx, sign(t, gojwt.SigningMethodRS256, k.rsa1, "k1", claims(nil))); err != nil {
		t.Errorf("known key while the JWKS is down: %v", err)
	}
	// A bad signature with a known key is a refusal, whatever the JWKS server does.
	_, err = a.AuthenticateToken(ctx, sign(t, gojwt.SigningMethodRS256, k.rsa2, "k1", claims(nil)))
	checkRefusal(t, err, jwtauth.ErrBadSignature, "")

	// A cancelled request does not wait for the JWKS.
	srv.fail.Store(false)
	clk.Advance(time.Minute)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.AuthenticateToken(cctx, rotated); err == nil || errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("cancelled: %v, want a technical error", err)
	}
}

func TestNewJWKSErrors(t *testing.T) {
	k := keys()
	tests := []struct {
		name string
		keys []map[string]any
		path string
		want string
	}{
		{name: "no usable key", keys: []map[string]any{{"kty": "oct", "k": "c2VjcmV0"}}, path: "/keys", want: "holds no usable key among its 1"},
		{name: "not found", keys: []map[string]any{jwkOf(&k.rsa1.PublicKey, "", "")}, path: "/missing", want: "404 Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, tc.keys...)
			_, err := jwtauth.New(context.Background(), jwtauth.Options{JWKSURL: srv.URL + tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error with %q", err, tc.want)
			}
		})
	}
	srv := newJWKSServer(t)
	srv.Close()
	if _, err := jwtauth.New(context.Background(), jwtauth.Options{JWKSURL: srv.URL + "/keys"}); err == nil {
		t.Error("New with an unreachable JWKS succeeded")
	}
}

func TestOIDCDiscovery(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(&k.ec.PublicKey, "ec1", "ES256"))
	a := newAuth(t, jwtauth.Options{IssuerURL: srv.URL, Audience: "lakegate", Now: newClock().Now})
	tests := []struct {
		name   string
		edits  map[string]any
		reason error
	}{
		{name: "issuer's token", edits: map[string]any{"iss": srv.URL, "aud": "lakegate"}},
		{name: "other issuer", edits: map[string]any{"iss": "https://evil.example.com", "aud": "lakegate"}, reason: jwtauth.ErrIssuer},
		{name: "no issuer", edits: map[string]any{"iss": nil, "aud": "lakegate"}, reason: jwtauth.ErrIssuer},
		{name: "issuer with a trailing slash", edits: map[string]any{"iss": srv.URL + "/", "aud": "lakegate"}, reason: jwtauth.ErrIssuer},
		{name: "other audience", edits: map[string]any{"iss": srv.URL, "aud": "other"}, reason: jwtauth.ErrAudience},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := sign(t, gojwt.SigningMethodES256, k.ec, "ec1", claims(tc.edits))
			id, err := a.AuthenticateToken(context.Background(), token)
			if tc.reason != nil {
				checkRefusal(t, err, tc.reason, token)
				return
			}
			if err != nil || id.User != "alice" || !slices.Equal(id.Groups, []string{"analysts", "admins"}) {
				t.Fatalf("AuthenticateToken = %+v, %v", id, err)
			}
		})
	}
}

func TestOIDCDiscoveryErrors(t *testing.T) {
	k := keys()
	tests := []struct {
		name      string
		discovery func(issuer string) map[string]any
		issuer    func(url string) string
		want      string
	}{
		{
			name: "other issuer in the document",
			discovery: func(string) map[string]any {
				return map[string]any{"issuer": "https://evil.example.com", "jwks_uri": "https://evil.example.com/keys"}
			},
			want: `names issuer "https://evil.example.com"`,
		},
		{
			name:      "no jwks_uri",
			discovery: func(iss string) map[string]any { return map[string]any{"issuer": iss} },
			want:      "jwks_uri",
		},
		{
			name:      "jwks_uri not http",
			discovery: func(iss string) map[string]any { return map[string]any{"issuer": iss, "jwks_uri": "file:///etc/keys"} },
			want:      "jwks_uri",
		},
		{
			name:   "no discovery document",
			issuer: func(url string) string { return url + "/nowhere" },
			want:   "OIDC discovery",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, jwkOf(&k.ec.PublicKey, "ec1", "ES256"))
			srv.discovery = tc.discovery
			issuer := srv.URL
			if tc.issuer != nil {
				issuer = tc.issuer(srv.URL)
			}
			_, err := jwtauth.New(context.Background(), jwtauth.Options{IssuerURL: issuer})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestPublicKeysThenJWKS(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwkOf(&k.rsa2.PublicKey, "j1", "RS256"))
	o := staticOptions(t, newClock())
	o.JWKSURL = srv.URL + "/keys"
	a := newAuth(t, o)
	tests := []struct {
		name   string
		token  string
		reason error
		msg    string
	}{
		{name: "public key", token: sign(t, gojwt.SigningMethodRS256, k.rsa1, "j1", claims(nil))},
		{name: "JWKS key", token: sign(t, gojwt.SigningMethodRS256, k.rsa2, "j1", claims(nil))},
		{
			name: "neither", token: sign(t, gojwt.SigningMethodRS256, k.rsaAttacker, "j1", claims(nil)), reason: jwtauth.ErrBadSignature,
			msg: "jwt: public keys: signature does not verify with any key for RS256; JWKS: signature does not verify with any key for RS256",
		},
		{
			name: "expired, verified by a public key", token: sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"exp": t0.Add(-time.Hour).Unix()})), reason: jwtauth.ErrExpired,
			msg: "jwt: token expired at 2026-03-01T11:00:00Z",
		},
		{
			name: "expired, verified by the JWKS", token: sign(t, gojwt.SigningMethodRS256, k.rsa2, "j1", claims(map[string]any{"exp": t0.Add(-time.Hour).Unix()})), reason: jwtauth.ErrExpired,
			msg: "jwt: token expired at 2026-03-01T11:00:00Z",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.AuthenticateToken(context.Background(), tc.token)
			if tc.reason != nil {
				checkRefusal(t, err, tc.reason, tc.token)
				if err.Error() != tc.msg {
					t.Errorf("error = %q, want %q", err, tc.msg)
				}
				return
			}
			if err != nil || id.User != "alice" {
				t.Fatalf("AuthenticateToken = %+v, %v", id, err)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	k := keys()
	doc := func(keys ...map[string]any) []byte {
		b, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	small := jwkOf(&k.rsa1.PublicKey, "small", "")
	small["n"] = b64(k.rsa1.N.Bytes()[:128])
	offCurve := jwkOf(&k.ec.PublicKey, "off", "")
	offCurve["y"] = offCurve["x"]
	tests := []struct {
		name  string
		data  []byte
		algs  [][]string
		total int
		err   string
	}{
		{name: "every kind", data: doc(jwkOf(&k.rsa1.PublicKey, "a", ""), jwkOf(&k.rsa1.PublicKey, "b", "RS512"), jwkOf(&k.ec.PublicKey, "", ""), jwkOf(k.ed.Public(), "", "")),
			algs: [][]string{{"RS256", "RS512"}, {"RS512"}, {"ES256"}, {"EdDSA"}}, total: 4},
		{name: "padded base64", data: []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + b64(k.ed[32:]) + `="}]}`), algs: [][]string{{"EdDSA"}}, total: 1},
		{name: "skipped", total: 9, data: doc(
			small, offCurve,
			map[string]any{"kty": "RSA", "n": "!!", "e": "AQAB"},
			map[string]any{"kty": "RSA", "n": b64(k.rsa1.N.Bytes()), "e": "AA"},
			map[string]any{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
			map[string]any{"kty": "OKP", "crv": "X25519", "x": b64(make([]byte, 32))},
			map[string]any{"kty": "RSA", "alg": "PS256", "n": b64(k.rsa1.N.Bytes()), "e": "AQAB"},
			map[string]any{"kty": "RSA", "kid": 5, "n": b64(k.rsa1.N.Bytes()), "e": "AQAB"},
			map[string]any{"KTY": "RSA", "n": b64(k.rsa1.N.Bytes()), "e": "AQAB"},
		)},
		{name: "not JSON", data: []byte("<html>"), err: "not a JSON object"},
		{name: "no keys", data: []byte(`{"Keys":[]}`), err: `no "keys" member`},
		{name: "keys not a list", data: []byte(`{"keys":{}}`), err: `"keys" is not a list`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			algs, total, err := jwtauth.ParseJWKS(tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseJWKS error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if total != tc.total || !slices.EqualFunc(algs, tc.algs, slices.Equal) {
				t.Errorf("ParseJWKS = %v of %d, want %v of %d", algs, total, tc.algs, tc.total)
			}
		})
	}
}
