package jwtauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/jwtauth"
)

// staticOptions configure every algorithm with public keys, two of them
// for RS256 (the second is rsa1), from files and inline, in Okera's
// spellings and lakegate's.
func staticOptions(t testing.TB, clk *clock) jwtauth.Options {
	k := keys()
	return jwtauth.Options{
		PublicKeys: []jwtauth.Key{
			{Path: writeFile(t, "other.pub", publicPEM(t, &k.rsaOther.PublicKey)), Algorithm: "RSA256"},
			{Path: writeFile(t, "rsa1.pub", publicPEM(t, &k.rsa1.PublicKey)), Algorithm: "RSA256"},
			{Path: writeFile(t, "rsa2.pub", publicPEM(t, &k.rsa2.PublicKey)), Algorithm: "RSA512"},
			{PEM: publicPEM(t, &k.ec.PublicKey), Algorithm: "ES256"},
			{Path: writeFile(t, "ed.pub", publicPEM(t, k.ed.Public())), Algorithm: "eddsa"},
		},
		Now: clk.Now,
	}
}

func TestAuthenticateTokenPublicKeys(t *testing.T) {
	k := keys()
	a := newAuth(t, staticOptions(t, newClock()))
	rsa1PEM := publicPEM(t, &k.rsa1.PublicKey)
	valid := sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(nil))
	parts := strings.Split(valid, ".")
	tampered := func() string {
		payload := b64([]byte(`{"sub":"mallory","exp":` + "9999999999" + `}`))
		return parts[0] + "." + payload + "." + parts[2]
	}()

	tests := []struct {
		name   string
		token  string
		want   identity.Identity // when reason is nil
		reason error
	}{
		{
			name:  "RS256 verified by the second RS256 key",
			token: valid,
			want:  identity.Identity{User: "alice", Groups: []string{"analysts", "admins"}, Method: "jwt", Expires: t0.Add(time.Hour)},
		},
		{
			name:  "RS512",
			token: sign(t, gojwt.SigningMethodRS512, k.rsa2, "", claims(map[string]any{"sub": "bob"})),
			want:  identity.Identity{User: "bob", Groups: []string{"analysts", "admins"}, Method: "jwt", Expires: t0.Add(time.Hour)},
		},
		{
			name:  "ES256",
			token: sign(t, gojwt.SigningMethodES256, k.ec, "", claims(map[string]any{"groups": nil})),
			want:  identity.Identity{User: "alice", Method: "jwt", Expires: t0.Add(time.Hour)},
		},
		{
			name:  "EdDSA without exp",
			token: sign(t, gojwt.SigningMethodEdDSA, k.ed, "", claims(map[string]any{"exp": nil})),
			want:  identity.Identity{User: "alice", Groups: []string{"analysts", "admins"}, Method: "jwt"},
		},
		{
			name:  "kid is ignored by public keys",
			token: sign(t, gojwt.SigningMethodRS256, k.rsa1, "whatever", claims(nil)),
			want:  identity.Identity{User: "alice", Groups: []string{"analysts", "admins"}, Method: "jwt", Expires: t0.Add(time.Hour)},
		},
		{
			name:  "expired within the clock skew",
			token: sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"exp": t0.Add(-30 * time.Second).Unix()})),
			want:  identity.Identity{User: "alice", Groups: []string{"analysts", "admins"}, Method: "jwt", Expires: t0.Add(-30 * time.Second)},
		},
		{
			name:  "nbf within the clock skew",
			token: sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"nbf": t0.Add(30 * time.Second).Unix()})),
			want:  identity.Identity{User: "alice", Groups: []string{"analysts", "admins"}, Method: "jwt", Expires: t0.Add(time.Hour)},
		},
		{
			name:   "expired",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"exp": t0.Add(-2 * time.Minute).Unix()})),
			reason: jwtauth.ErrExpired,
		},
		{
			name:   "not yet valid",
			token:  sign(t, gojwt.SigningMethodES256, k.ec, "", claims(map[string]any{"nbf": t0.Add(2 * time.Minute).Unix()})),
			reason: jwtauth.ErrNotYetValid,
		},
		{
			name:   "exp is a string",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"exp": "tomorrow"})),
			reason: jwtauth.ErrBadClaims,
		},
		{
			name:   "no sub",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"sub": nil})),
			reason: jwtauth.ErrNoSubject,
		},
		{
			name:   "empty sub",
			token:  sign(t, gojwt.SigningMethodEdDSA, k.ed, "", claims(map[string]any{"sub": ""})),
			reason: jwtauth.ErrNoSubject,
		},
		{
			name:   "numeric sub",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"sub": 42})),
			reason: jwtauth.ErrNoSubject,
		},
		{
			name:   "Sub in another case is not sub",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"sub": nil, "Sub": "alice"})),
			reason: jwtauth.ErrNoSubject,
		},
		{
			name:   "expired and no sub",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"sub": nil, "exp": t0.Add(-time.Hour).Unix()})),
			reason: errors.Join(jwtauth.ErrExpired, jwtauth.ErrNoSubject), // checked below
		},
		{
			name:   "alg none",
			token:  rawToken(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), nil, nil),
			reason: jwtauth.ErrAlgorithm,
		},
		{
			name:   "alg None",
			token:  rawToken(t, map[string]any{"alg": "None"}, claims(nil), nil, nil),
			reason: jwtauth.ErrAlgorithm,
		},
		{
			name:   "no alg",
			token:  rawToken(t, map[string]any{"typ": "JWT"}, claims(nil), gojwt.SigningMethodRS256, k.rsa1),
			reason: jwtauth.ErrAlgorithm,
		},
		{
			name:   "HS256 with the public key as secret",
			token:  sign(t, gojwt.SigningMethodHS256, rsa1PEM, "", claims(nil)),
			reason: jwtauth.ErrAlgorithm,
		},
		{
			name:   "HS256 with the DER public key as secret",
			token:  sign(t, gojwt.SigningMethodHS256, mustDER(t, &k.rsa1.PublicKey), "", claims(nil)),
			reason: jwtauth.ErrAlgorithm,
		},
		{
			name:   "PS256 with an RS256 key",
			token:  sign(t, gojwt.SigningMethodPS256, k.rsa1, "", claims(nil)),
			reason: jwtauth.ErrAlgorithm,
		},
		{
			name:   "RS384",
			token:  sign(t, gojwt.SigningMethodRS384, k.rsa1, "", claims(nil)),
			reason: jwtauth.ErrAlgorithm,
		},
		{
			name:   "RS256 signed with the key configured for RS512",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsa2, "", claims(nil)),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "RS512 signed with a key configured for RS256",
			token:  sign(t, gojwt.SigningMethodRS512, k.rsa1, "", claims(nil)),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "header says ES256, signed RS256",
			token:  rawToken(t, map[string]any{"alg": "ES256"}, claims(nil), gojwt.SigningMethodRS256, k.rsa1),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "header says RS256, signed ES256",
			token:  rawToken(t, map[string]any{"alg": "RS256"}, claims(nil), gojwt.SigningMethodES256, k.ec),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "header says EdDSA, signed ES256",
			token:  rawToken(t, map[string]any{"alg": "EdDSA"}, claims(nil), gojwt.SigningMethodES256, k.ec),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "unknown RSA key",
			token:  sign(t, gojwt.SigningMethodRS256, k.rsaAttacker, "", claims(nil)),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "unknown EC key",
			token:  sign(t, gojwt.SigningMethodES256, k.ecAttacker, "", claims(nil)),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "unknown Ed25519 key",
			token:  sign(t, gojwt.SigningMethodEdDSA, k.edAttacker, "", claims(nil)),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name: "attacker's key embedded as jwk header",
			token: rawToken(t, map[string]any{"alg": "RS256", "jwk": jwkOf(&k.rsaAttacker.PublicKey, "", "RS256")},
				claims(nil), gojwt.SigningMethodRS256, k.rsaAttacker),
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "attacker's jku header",
			token:  rawToken(t, map[string]any{"alg": "RS256", "jku": "http://127.0.0.1:1/keys"}, claims(nil), gojwt.SigningMethodRS256, k.rsaAttacker),
			reason: jwtauth.ErrBadSignature,
		},
		{name: "tampered payload", token: tampered, reason: jwtauth.ErrBadSignature},
		{name: "signature removed", token: parts[0] + "." + parts[1] + ".", reason: jwtauth.ErrBadSignature},
		{
			name:   "signature of another token",
			token:  parts[0] + "." + parts[1] + "." + strings.Split(sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"sub": "x"})), ".")[2],
			reason: jwtauth.ErrBadSignature,
		},
		{
			name:   "crit header",
			token:  rawToken(t, map[string]any{"alg": "RS256", "crit": []string{"b64"}, "b64": false}, claims(nil), gojwt.SigningMethodRS256, k.rsa1),
			reason: jwtauth.ErrMalformed,
		},
		{
			name:   "numeric kid",
			token:  rawToken(t, map[string]any{"alg": "RS256", "kid": 7}, claims(nil), gojwt.SigningMethodRS256, k.rsa1),
			reason: jwtauth.ErrMalformed,
		},
		{name: "garbage", token: "garbage", reason: jwtauth.ErrMalformed},
		{name: "empty", token: "", reason: jwtauth.ErrMalformed},
		{name: "two parts", token: parts[0] + "." + parts[1], reason: jwtauth.ErrMalformed},
		{name: "four parts", token: valid + ".x", reason: jwtauth.ErrMalformed},
		{name: "padded base64", token: parts[0] + "=." + parts[1] + "." + parts[2], reason: jwtauth.ErrMalformed},
		{name: "standard base64 alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/", reason: jwtauth.ErrMalformed},
		{name: "header not JSON", token: b64([]byte("not json")) + "." + parts[1] + "." + parts[2], reason: jwtauth.ErrMalformed},
		{name: "header a JSON list", token: b64([]byte(`["RS256"]`)) + "." + parts[1] + "." + parts[2], reason: jwtauth.ErrMalformed},
		{name: "claims not JSON", token: parts[0] + "." + b64([]byte("{")) + "." + parts[2], reason: jwtauth.ErrMalformed},
		{name: "space inside", token: parts[0] + " ." + parts[1] + "." + parts[2], reason: jwtauth.ErrMalformed},
		{name: "newline inside", token: valid + "\n", reason: jwtauth.ErrMalformed},
		{name: "too long", token: valid + strings.Repeat("A", jwtauth.MaxTokenBytes), reason: jwtauth.ErrMalformed},
		{name: "Bearer prefix left on", token: "Bearer " + valid, reason: jwtauth.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.AuthenticateToken(context.Background(), tc.token)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("AuthenticateToken: %v", err)
				}
				checkIdentity(t, id, tc.want)
				return
			}
			if joined, ok := tc.reason.(interface{ Unwrap() []error }); ok {
				for _, r := range joined.Unwrap() {
					checkRefusal(t, err, r, tc.token)
				}
			} else {
				checkRefusal(t, err, tc.reason, tc.token)
			}
			if id.User != "" {
				t.Errorf("refused token gave user %q", id.User)
			}
		})
	}
}

func mustDER(t testing.TB, pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func checkIdentity(t *testing.T, got, want identity.Identity) {
	t.Helper()
	if got.User != want.User || got.Method != want.Method || !got.Expires.Equal(want.Expires) || !slices.Equal(got.Groups, want.Groups) || (got.Groups == nil) != (want.Groups == nil) {
		t.Errorf("identity = %+v, want %+v", got, want)
	}
}

func TestRefusalMessages(t *testing.T) {
	k := keys()
	a := newAuth(t, staticOptions(t, newClock()))
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"expired", sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"exp": t0.Add(-time.Hour).Unix()})), "jwt: token expired at 2026-03-01T11:00:00Z"},
		{"not yet valid", sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"nbf": t0.Add(time.Hour).Unix()})), "jwt: token not yet valid before 2026-03-01T13:00:00Z"},
		{"expired and no sub", sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"sub": nil, "exp": t0.Add(-time.Hour).Unix()})), "jwt: token expired at 2026-03-01T11:00:00Z; token has no sub claim"},
		{"none", rawToken(t, map[string]any{"alg": "none"}, claims(nil), nil, nil), "jwt: algorithm not accepted: none"},
		{"HS256", sign(t, gojwt.SigningMethodHS256, []byte("secret"), "", claims(nil)), "jwt: algorithm not accepted: HS256"},
		{"bad signature", sign(t, gojwt.SigningMethodES256, k.ecAttacker, "", claims(nil)), "jwt: signature does not verify with any key for ES256"},
		{"two parts", "abc.def", "jwt: malformed token: token contains an invalid number of segments"},
		{"bad header JSON", b64([]byte("{x")) + ".e30.", "jwt: malformed token: could not JSON decode header"},
		{"bad groups", sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"groups": []any{"a", 1}})), "jwt: groups claim is not a string or a list of strings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.AuthenticateToken(context.Background(), tc.token)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestGroupsClaim(t *testing.T) {
	k := keys()
	a := newAuth(t, staticOptions(t, newClock()))
	tests := []struct {
		name   string
		groups any // nil: no groups claim
		null   bool
		want   []string
		reason error
	}{
		{name: "absent", want: nil},
		{name: "null", null: true, want: nil},
		{name: "list", groups: []string{"analysts", "Admins"}, want: []string{"analysts", "Admins"}},
		{name: "list with blanks and spaces", groups: []string{" a ", "", "b"}, want: []string{"a", "b"}},
		{name: "empty list", groups: []string{}, want: []string{}},
		{name: "single string", groups: "analysts", want: []string{"analysts"}},
		{name: "comma-separated string", groups: "analysts, admins,,ops", want: []string{"analysts", "admins", "ops"}},
		{name: "empty string", groups: "", want: []string{}},
		{name: "list with a number", groups: []any{"a", 1}, reason: jwtauth.ErrGroups},
		{name: "list of lists", groups: []any{[]string{"a"}}, reason: jwtauth.ErrGroups},
		{name: "object", groups: map[string]any{"a": true}, reason: jwtauth.ErrGroups},
		{name: "number", groups: 3, reason: jwtauth.ErrGroups},
		{name: "bool", groups: true, reason: jwtauth.ErrGroups},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := claims(map[string]any{"groups": tc.groups})
			if tc.null {
				c["groups"] = json.RawMessage("null")
			}
			token := sign(t, gojwt.SigningMethodRS256, k.rsa1, "", c)
			id, err := a.AuthenticateToken(context.Background(), token)
			if tc.reason != nil {
				checkRefusal(t, err, tc.reason, token)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(id.Groups, tc.want) || (id.Groups == nil) != (tc.want == nil) {
				t.Errorf("groups = %#v, want %#v", id.Groups, tc.want)
			}
		})
	}
}

func TestAudienceIssuerAndExpiry(t *testing.T) {
	k := keys()
	o := staticOptions(t, newClock())
	o.Audience, o.Issuer, o.RequireExpiry = "lakegate", "okera.com", true
	a := newAuth(t, o)
	tests := []claimCase{
		{name: "audience string", edits: map[string]any{"aud": "lakegate"}},
		{name: "audience in a list", edits: map[string]any{"aud": []string{"other", "lakegate"}}},
		{name: "other audience", edits: map[string]any{"aud": "other"}, reason: jwtauth.ErrAudience},
		{name: "no audience", edits: map[string]any{}, reason: jwtauth.ErrAudience},
		{name: "numeric audience", edits: map[string]any{"aud": 5}, reason: jwtauth.ErrAudience},
		{name: "other issuer", edits: map[string]any{"aud": "lakegate", "iss": "evil.com"}, reason: jwtauth.ErrIssuer},
		{name: "no issuer", edits: map[string]any{"aud": "lakegate", "iss": nil}, reason: jwtauth.ErrIssuer},
		{name: "no exp", edits: map[string]any{"aud": "lakegate", "exp": nil}, reason: jwtauth.ErrNoExpiry},
	}
	runClaimCases(t, a, func(t *testing.T, edits map[string]any) string {
		return sign(t, gojwt.SigningMethodEdDSA, k.ed, "", claims(edits))
	}, tests)
}

func TestMaxLifetime(t *testing.T) {
	k := keys()
	o := staticOptions(t, newClock())
	o.MaxLifetime = 24 * time.Hour // the clock skew is the default minute
	a := newAuth(t, o)
	tests := []struct {
		name   string
		edits  map[string]any
		reason error // nil: accepted
	}{
		{name: "one hour", edits: map[string]any{}},
		{name: "exactly the maximum from iat", edits: map[string]any{"iat": t0.Unix(), "exp": t0.Add(24 * time.Hour).Unix()}},
		{name: "no iat, within the maximum from now", edits: map[string]any{"iat": nil, "exp": t0.Add(23 * time.Hour).Unix()}},
		{name: "no exp", edits: map[string]any{"exp": nil}, reason: jwtauth.ErrNoExpiry},
		{name: "no exp nor iat", edits: map[string]any{"exp": nil, "iat": nil}, reason: jwtauth.ErrNoExpiry},
		{name: "a year from iat", edits: map[string]any{"exp": t0.Add(365 * 24 * time.Hour).Unix()}, reason: jwtauth.ErrLifetime},
		{name: "no iat, a year from now", edits: map[string]any{"iat": nil, "exp": t0.Add(365 * 24 * time.Hour).Unix()}, reason: jwtauth.ErrLifetime},
		{name: "iat moved close to a far exp", edits: map[string]any{"iat": t0.Add(364 * 24 * time.Hour).Unix(), "exp": t0.Add(365 * 24 * time.Hour).Unix()}, reason: jwtauth.ErrLifetime},
		{name: "iat not a number", edits: map[string]any{"iat": "yesterday"}, reason: jwtauth.ErrBadClaims},
	}
	runClaimCases(t, a, func(t *testing.T, edits map[string]any) string {
		return sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(edits))
	}, tests)
}

// claimCase is a token whose claims are the defaults with edits, refused
// for reason (nil: accepted as alice).
type claimCase = struct {
	name   string
	edits  map[string]any
	reason error
}

// runClaimCases authenticates a token signed by mint for each case.
func runClaimCases(t *testing.T, a *jwtauth.Authenticator, mint func(*testing.T, map[string]any) string, tests []claimCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := mint(t, tc.edits)
			id, err := a.AuthenticateToken(context.Background(), token)
			if tc.reason != nil {
				checkRefusal(t, err, tc.reason, token)
				return
			}
			if err != nil || id.User != "alice" {
				t.Fatalf("AuthenticateToken = %+v, %v", id, err)
			}
		})
	}
}

func TestClockSkewOption(t *testing.T) {
	k := keys()
	clk := newClock()
	o := staticOptions(t, clk)
	o.ClockSkew = 5 * time.Minute
	a := newAuth(t, o)
	token := sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(map[string]any{"exp": t0.Unix()}))
	clk.Advance(4 * time.Minute)
	if _, err := a.AuthenticateToken(context.Background(), token); err != nil {
		t.Fatalf("within 5m skew: %v", err)
	}
	clk.Advance(2 * time.Minute)
	_, err := a.AuthenticateToken(context.Background(), token)
	checkRefusal(t, err, jwtauth.ErrExpired, token)
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	err := jwtauth.Options{
		PublicKeys: []jwtauth.Key{
			{Algorithm: "RS256"},
			{PEM: []byte("x"), Path: "/x", Algorithm: "HS256"},
		},
		JWKSURL:   "ftp://example.com/keys",
		IssuerURL: "https://issuer.example.com",
		Issuer:    "https://other.example.com",
		RemoteURL: "not a url",
		ClockSkew: -time.Second,
	}.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad options")
	}
	for _, want := range []string{
		"public key 1 (inline PEM): set PEM or Path",
		"public key 2 (/x): set PEM or Path, not both",
		`public key 2 (/x): unsupported JWT algorithm "HS256"`,
		"set a JWKS URL or an OIDC issuer URL, not both",
		`JWKS URL: "ftp://example.com/keys" is not an http(s) URL`,
		"remote validation URL:",
		"differs from the OIDC issuer URL",
		"clock skew is negative",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
	if err := (jwtauth.Options{}).Validate(); err == nil || !strings.Contains(err.Error(), "configure at least one of") {
		t.Errorf("empty options: %v", err)
	}
}

func TestNewReportsEveryKeyProblem(t *testing.T) {
	k := keys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(k.rsa1)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := publicPEM(t, &k.rsa1.PublicKey)
	_, err = jwtauth.New(context.Background(), jwtauth.Options{PublicKeys: []jwtauth.Key{
		{PEM: rsaPEM, Algorithm: "ES256"},
		{PEM: publicPEM(t, &p384.PublicKey), Algorithm: "ES256"},
		{PEM: publicPEM(t, &small.PublicKey), Algorithm: "RS256"},
		{PEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), Algorithm: "RS256"},
		{PEM: []byte("not a key"), Algorithm: "RS256"},
		{PEM: append(rsaPEM, rsaPEM...), Algorithm: "RS256"},
		{Path: filepath.Join(t.TempDir(), "missing.pub"), Algorithm: "RS256"},
		{PEM: publicPEM(t, k.ed.Public()), Algorithm: "RS512"},
	}})
	if err == nil {
		t.Fatal("New accepted bad keys")
	}
	for _, want := range []string{
		"public key 1 (inline PEM): ES256 needs an ECDSA P-256 key, got an RSA key",
		"public key 2 (inline PEM): ES256 needs a P-256 key, got P-384",
		"public key 3 (inline PEM): RSA key has 1024 bits, fewer than 2048",
		"public key 4 (inline PEM): holds a PRIVATE KEY; configure the public key instead",
		"public key 5 (inline PEM): no PEM block found",
		"public key 6 (inline PEM): more than one PEM block",
		"public key 7 (",
		"public key 8 (inline PEM): RS512 needs an RSA key, got an Ed25519 key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "MII") {
		t.Errorf("New error quotes key material:\n%v", err)
	}
}

func TestKeyFormats(t *testing.T) {
	k := keys()
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"}, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, template, template, &k.rsa1.PublicKey, k.rsa1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pem  []byte
	}{
		{"PKIX public key", publicPEM(t, &k.rsa1.PublicKey)},
		{"PKCS#1 public key", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa1.PublicKey)})},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})},
		{"text around the block", append(append([]byte("comment\n"), publicPEM(t, &k.rsa1.PublicKey)...), "\n\n"...)},
	}
	token := sign(t, gojwt.SigningMethodRS256, k.rsa1, "", claims(nil))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuth(t, jwtauth.Options{PublicKeys: []jwtauth.Key{{PEM: tc.pem, Algorithm: "RS256"}}, Now: newClock().Now})
			if _, err := a.AuthenticateToken(context.Background(), token); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseEnvKeys(t *testing.T) {
	inline := "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"
	tests := []struct {
		name       string
		keys, algs string
		want       []jwtauth.Key
		errs       []string
	}{
		{name: "both empty"},
		{
			name: "Okera's example", keys: "/etc/id_rsa.512.pub,/etc/external_vendor.256.pub", algs: "RSA512,RSA256",
			want: []jwtauth.Key{{Path: "/etc/id_rsa.512.pub", Algorithm: "RS512"}, {Path: "/etc/external_vendor.256.pub", Algorithm: "RS256"}},
		},
		{
			name: "one key", keys: "/etc/k.pub", algs: "ES256",
			want: []jwtauth.Key{{Path: "/etc/k.pub", Algorithm: "ES256"}},
		},
		{
			name: "spaces and one algorithm for all", keys: " /a.pub , /b.pub ", algs: " eddsa ",
			want: []jwtauth.Key{{Path: "/a.pub", Algorithm: "EdDSA"}, {Path: "/b.pub", Algorithm: "EdDSA"}},
		},
		{
			name: "inline PEM", keys: "/a.pub," + inline, algs: "RS256,RS512",
			want: []jwtauth.Key{{Path: "/a.pub", Algorithm: "RS256"}, {PEM: []byte(inline), Algorithm: "RS512"}},
		},
		{
			name: "more algorithms than keys", keys: "/a.pub,/b.pub", algs: "RS256,RS256,RS512",
			errs: []string{"JWT_PUBLIC_KEY lists 2 keys but JWT_ALGORITHM lists 3 algorithms"},
		},
		{
			name: "more keys than algorithms", keys: "/a.pub,/b.pub,/c.pub", algs: "RS256,RS512",
			errs: []string{"lists 3 keys but JWT_ALGORITHM lists 2 algorithms"},
		},
		{
			name: "empty entry and bad algorithm", keys: "/a.pub,,/c.pub", algs: "RS256,HS256,RS512",
			errs: []string{"JWT_PUBLIC_KEY entry 2 is empty", `JWT_ALGORITHM entry 2: unsupported JWT algorithm "HS256"`},
		},
		{name: "algorithm without key", algs: "RS256", errs: []string{"JWT_PUBLIC_KEY is empty"}},
		{name: "key without algorithm", keys: "/a.pub", errs: []string{"JWT_ALGORITHM is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jwtauth.ParseEnvKeys(tc.keys, tc.algs)
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatalf("ParseEnvKeys = %+v, want an error", got)
				}
				for _, want := range tc.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, func(a, b jwtauth.Key) bool {
				return string(a.PEM) == string(b.PEM) && a.Path == b.Path && a.Algorithm == b.Algorithm
			}) {
				t.Errorf("ParseEnvKeys = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCanonicalAlgorithm(t *testing.T) {
	for in, want := range map[string]string{"RSA256": "RS256", "rs256": "RS256", "RSA512": "RS512", "RS512": "RS512", "es256": "ES256", "EdDSA": "EdDSA", " EDDSA ": "EdDSA"} {
		if got, err := jwtauth.CanonicalAlgorithm(in); err != nil || got != want {
			t.Errorf("CanonicalAlgorithm(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "none", "HS256", "RS384", "PS256", "ES384", "Ed25519"} {
		if got, err := jwtauth.CanonicalAlgorithm(in); err == nil {
			t.Errorf("CanonicalAlgorithm(%q) = %q, want an error", in, got)
		}
	}
}
