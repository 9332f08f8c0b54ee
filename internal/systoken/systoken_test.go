package systoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
)

func pemKey(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func testKeys(t *testing.T) map[string][]byte {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, dk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"RS256":       pemKey(t, rk),
		"RS256/PKCS1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}),
		"ES256":       pemKey(t, ek),
		"ES256/SEC1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}),
		"EdDSA":       pemKey(t, dk),
	}
}

func TestMintAndVerify(t *testing.T) {
	ctx := context.Background()
	for name, data := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			k, err := ParseKey(data)
			if err != nil {
				t.Fatal(err)
			}
			if want := name[:len(k.Algorithm())]; k.Algorithm() != want {
				t.Errorf("Algorithm = %s, want %s", k.Algorithm(), want)
			}
			tok, err := NewMinter(k, time.Hour).Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id, err := NewVerifier(k).AuthenticateToken(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if id.User != Subject || id.Method != Method || time.Until(id.Expires) < 59*time.Minute {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

func TestVerifierRefuses(t *testing.T) {
	ctx := context.Background()
	keys := testKeys(t)
	k, _ := ParseKey(keys["RS256"])
	other, _ := ParseKey(keys["ES256"])
	v := NewVerifier(k)
	now := time.Now()
	sign := func(key *Key, claims gojwt.Claims) string {
		s, err := gojwt.NewWithClaims(key.method, claims).SignedString(key.private)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := func() gojwt.RegisteredClaims {
		return gojwt.RegisteredClaims{Subject: Subject, Issuer: Issuer, Audience: gojwt.ClaimStrings{Audience},
			ExpiresAt: gojwt.NewNumericDate(now.Add(time.Hour))}
	}
	expired, _, _ := k.Mint(now.Add(-2*time.Hour), time.Hour)
	otherKey, _, _ := other.Mint(now, time.Hour)
	userToken := valid()
	userToken.Subject, userToken.Audience = "alice", nil
	noAud := valid()
	noAud.Audience = nil
	noExp := valid()
	noExp.ExpiresAt = nil
	unsigned, _ := gojwt.NewWithClaims(gojwt.SigningMethodNone, valid()).SignedString(gojwt.UnsafeAllowNoneSignatureType)
	cases := map[string]string{
		"expired":                expired,
		"signed by another key":  otherKey,
		"a user token, same key": sign(k, userToken),
		"no system audience":     sign(k, noAud),
		"no expiry":              sign(k, noExp),
		"alg none":               unsigned,
		"garbage":                "not.a.token",
		"an lgt_ token":          "lgt_abc",
		"the right claims, HS256'd": func() string {
			s, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, valid()).SignedString([]byte("k"))
			return s
		}(),
	}
	for name, tok := range cases {
		if _, err := v.AuthenticateToken(ctx, tok); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("%s: err = %v, want ErrUnauthenticated", name, err)
		}
	}
}

func TestMinterRenews(t *testing.T) {
	k, _ := ParseKey(testKeys(t)["EdDSA"])
	m := NewMinter(k, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	first, _ := m.Token(ctx)
	now = now.Add(49 * time.Minute)
	if again, _ := m.Token(ctx); again != first {
		t.Error("renewed with 11 minutes left of a 1h token (margin is 10 minutes)")
	}
	now = now.Add(2 * time.Minute)
	if renewed, _ := m.Token(ctx); renewed == first {
		t.Error("not renewed with 9 minutes left")
	}
}

func TestFileAndPrecedence(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "jwt.key")
	if err := os.WriteFile(keyPath, testKeys(t)["ES256"], 0o600); err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "system.token")
	if err := os.WriteFile(tokPath, []byte("  first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := NewSource(keyPath, tokPath, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*Minter); !ok {
		t.Fatalf("with both set, source is %T; the private key must win", src)
	}
	src, err = NewSource("", tokPath, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if tok, _ := src.Token(ctx); tok != "first-token" {
		t.Errorf("token = %q", tok)
	}
	if err := os.WriteFile(tokPath, []byte("second-token-longer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, _ := src.Token(ctx); tok != "second-token-longer" {
		t.Errorf("after replacing the file, token = %q", tok)
	}
	if s, err := NewSource("", "", time.Hour); s != nil || err != nil {
		t.Errorf("nothing configured: %v, %v", s, err)
	}
	if _, err := NewSource("", filepath.Join(dir, "missing"), time.Hour); err == nil {
		t.Error("a missing token file was accepted")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := ParseKey(pemKey(t, small)); err == nil {
		t.Error("a 1024-bit RSA key was accepted")
	}
}
