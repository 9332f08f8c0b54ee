package jwtauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/jwtauth"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a manual time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// testKeys are the private keys tests sign with, generated once per run.
type testKeys struct {
	rsa1, rsa2, rsaOther, rsaAttacker *rsa.PrivateKey
	ec, ecAttacker                    *ecdsa.PrivateKey
	ed, edAttacker                    ed25519.PrivateKey
}

var keys = sync.OnceValue(func() *testKeys {
	genRSA := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	genEC := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	genEd := func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	return &testKeys{
		rsa1: genRSA(), rsa2: genRSA(), rsaOther: genRSA(), rsaAttacker: genRSA(),
		ec: genEC(), ecAttacker: genEC(),
		ed: genEd(), edAttacker: genEd(),
	}
})

// publicPEM encodes a public key as a PKIX "PUBLIC KEY" block.
func publicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// writeFile writes data to a new file in a temporary directory.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// b64 is base64url without padding, as JWS uses it.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawToken builds a compact JWS from any header and claims (marshalled as
// JSON unless already []byte), signed with method and key; method nil
// gives an empty signature.
func rawToken(t testing.TB, header, claims any, method gojwt.SigningMethod, key any) string {
	t.Helper()
	enc := func(v any) string {
		if b, ok := v.([]byte); ok {
			return b64(b)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b64(b)
	}
	signing := enc(header) + "." + enc(claims)
	if method == nil {
		return signing + "."
	}
	sig, err := method.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

// sign builds a token whose header names method's algorithm (and kid, when
// not empty).
func sign(t testing.TB, method gojwt.SigningMethod, key any, kid string, claims map[string]any) string {
	t.Helper()
	header := map[string]any{"alg": method.Alg(), "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	return rawToken(t, header, claims, method, key)
}

// claims are valid claims for user alice at t0, changed by the edits
// (a nil value deletes the claim).
func claims(edits map[string]any) map[string]any {
	c := map[string]any{
		"sub":    "alice",
		"iss":    "okera.com",
		"groups": []string{"analysts", "admins"},
		"exp":    t0.Add(time.Hour).Unix(),
		"iat":    t0.Add(-time.Minute).Unix(),
	}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// checkRefusal fails unless err refuses the token for reason and leaks no
// part of it.
func checkRefusal(t *testing.T, err error, reason error, token string) {
	t.Helper()
	if err == nil {
		t.Fatalf("token accepted, want %v", reason)
	}
	if !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("error %q does not wrap identity.ErrUnauthenticated", err)
	}
	if reason != nil && !errors.Is(err, reason) {
		t.Errorf("error %q, want reason %q", err, reason)
	}
	checkNoToken(t, err, token)
}

// checkNoToken fails if err's message holds the token or a long enough
// part of it to matter.
func checkNoToken(t testing.TB, err error, token string) {
	t.Helper()
	msg := err.Error()
	if len(token) >= 8 && strings.Contains(msg, token) {
		t.Errorf("error message holds the token: %q", msg)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(msg, part) {
			t.Errorf("error message holds part of the token: %q", msg)
		}
	}
}

// jwkOf is the JWK of a public key.
func jwkOf(pub crypto.PublicKey, kid, alg string) map[string]any {
	m := map[string]any{}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64(b[1:33]), b64(b[33:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(k)
	}
	if kid != "" {
		m["kid"] = kid
	}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

// newAuth builds an Authenticator or fails the test.
func newAuth(t testing.TB, o jwtauth.Options) *jwtauth.Authenticator {
	t.Helper()
	a, err := jwtauth.New(context.Background(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}
