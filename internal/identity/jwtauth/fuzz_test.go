package jwtauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/jwtauth"
)

// Run one target with, for example:
//
//	go test -run '^$' -fuzz '^FuzzAuthenticateToken$' -fuzztime 30s ./internal/identity/jwtauth

// FuzzAuthenticateToken feeds arbitrary strings to an Authenticator with a
// fixed key of every algorithm. None may panic or be accepted: the fuzzer
// does not hold the private keys, and the seeds signed with them are all
// refused for their claims. Every refusal wraps ErrUnauthenticated (there
// is nothing technical to fail) and no message quotes the token.
func FuzzAuthenticateToken(f *testing.F) {
	k := keys()
	a := newAuth(f, staticOptions(f, newClock()))
	expired := map[string]any{"exp": t0.Add(-time.Hour).Unix()}
	for _, seed := range []string{
		"", "a", "a.b", "a.b.c", "..", "...", "a.b.c.d", "e30.e30.", "e30.e30.e30",
		sign(f, gojwt.SigningMethodRS256, k.rsa1, "", claims(expired)),
		sign(f, gojwt.SigningMethodRS512, k.rsa2, "k", claims(map[string]any{"sub": nil})),
		sign(f, gojwt.SigningMethodES256, k.ec, "", claims(map[string]any{"nbf": t0.Add(time.Hour).Unix()})),
		sign(f, gojwt.SigningMethodEdDSA, k.ed, "", claims(map[string]any{"groups": 7})),
		sign(f, gojwt.SigningMethodRS256, k.rsaAttacker, "", claims(nil)),
		sign(f, gojwt.SigningMethodES256, k.ecAttacker, "", claims(nil)),
		sign(f, gojwt.SigningMethodEdDSA, k.edAttacker, "", claims(nil)),
		sign(f, gojwt.SigningMethodHS256, publicPEM(f, &k.rsa1.PublicKey), "", claims(nil)),
		rawToken(f, map[string]any{"alg": "none"}, claims(nil), nil, nil),
		rawToken(f, map[string]any{"alg": "RS256", "crit": []string{"x"}}, claims(nil), nil, nil),
		rawToken(f, []byte(`{"alg":"EdDSA","kid":{}}`), []byte(`{"sub":"a","exp":1e400}`), nil, nil),
		rawToken(f, []byte(`{"alg":"ES256"}`), []byte(`{"sub":"a","exp":"x","nbf":[]}`), nil, nil),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := a.AuthenticateToken(context.Background(), token)
		if err == nil {
			t.Fatalf("token %q accepted as %+v", token, id)
		}
		if !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("token %q: error %q is not a refusal", token, err)
		}
		if id.User != "" || id.Groups != nil {
			t.Fatalf("refused token %q gave %+v", token, id)
		}
		if len(token) >= 16 {
			checkNoToken(t, err, token)
		}
	})
}

// FuzzSignedClaims signs arbitrary header and claims bytes with the
// configured Ed25519 key, so the fuzzer reaches claim validation. An
// accepted token must have named EdDSA without crit, carried a non-empty
// string sub and been within exp and nbf (with the one-minute skew).
func FuzzSignedClaims(f *testing.F) {
	k := keys()
	a := newAuth(f, staticOptions(f, newClock()))
	for _, seed := range []struct{ header, claims string }{
		{`{"alg":"EdDSA"}`, `{"sub":"alice"}`},
		{`{"alg":"EdDSA","kid":"x","typ":"JWT"}`, `{"sub":"alice","exp":1772370000,"nbf":1772366400,"groups":["a","b"]}`},
		{`{"alg":"EdDSA"}`, `{"sub":"alice","groups":"a, b,,c"}`},
		{`{"alg":"EdDSA"}`, `{"sub":"alice","exp":1.5e9}`},
		{`{"alg":"EdDSA","crit":["exp"]}`, `{"sub":"alice"}`},
		{`{"alg":"RS256"}`, `{"sub":"alice"}`},
		{`{"alg":"EdDSA"}`, `{"sub":"","Sub":"alice","SUB":"x"}`},
		{`{"alg":"EdDSA"}`, `{"sub":"a","sub":"b"}`},
		{`{"alg":"EdDSA"}`, `{"sub":"alice","exp":null,"nbf":"0"}`},
		{`{"alg":"EdDSA"}`, `[]`},
	} {
		f.Add([]byte(seed.header), []byte(seed.claims))
	}
	now := t0
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		token := rawToken(t, header, payload, gojwt.SigningMethodEdDSA, k.ed)
		id, err := a.AuthenticateToken(context.Background(), token)
		if err != nil {
			if !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("error %q is not a refusal", err)
			}
			return
		}
		var h map[string]any
		if json.Unmarshal(header, &h) != nil || h["alg"] != "EdDSA" {
			t.Fatalf("accepted a token whose header %q does not name EdDSA", header)
		}
		if _, ok := h["crit"]; ok {
			t.Fatalf("accepted a token with crit: %q", header)
		}
		var c map[string]any
		d := json.NewDecoder(bytes.NewReader(payload))
		d.UseNumber()
		if err := d.Decode(&c); err != nil {
			t.Fatalf("accepted claims that are not a JSON object: %q", payload)
		}
		if sub, _ := c["sub"].(string); sub == "" || sub != id.User {
			t.Fatalf("accepted claims %q as user %q", payload, id.User)
		}
		if exp, ok := c["exp"].(json.Number); ok {
			v, _ := exp.Float64()
			if float64(now.Add(-time.Minute).Unix()) >= v {
				t.Fatalf("accepted claims %q past exp", payload)
			}
		} else if c["exp"] != nil {
			t.Fatalf("accepted claims %q with a non-numeric exp", payload)
		}
		if nbf, ok := c["nbf"].(json.Number); ok {
			v, _ := nbf.Float64()
			if float64(now.Add(time.Minute).Unix()) < v-1 {
				t.Fatalf("accepted claims %q before nbf", payload)
			}
		} else if c["nbf"] != nil {
			t.Fatalf("accepted claims %q with a non-numeric nbf", payload)
		}
		for _, g := range id.Groups {
			if g == "" || strings.TrimSpace(g) != g {
				t.Fatalf("claims %q gave group %q", payload, g)
			}
		}
	})
}

// FuzzParseJWKS feeds arbitrary documents to the JWKS parser: it must not
// panic, and every key it keeps must suit each algorithm it allows (the
// export checks that).
func FuzzParseJWKS(f *testing.F) {
	k := keys()
	for _, keys := range [][]map[string]any{
		{jwkOf(&k.rsa1.PublicKey, "a", "RS256"), jwkOf(&k.ec.PublicKey, "b", ""), jwkOf(k.ed.Public(), "c", "EdDSA")},
		{{"kty": "RSA", "n": "AQAB", "e": "AQAB"}, {"kty": "EC", "crv": "P-256", "x": "", "y": "AA"}},
		{{"kty": "OKP", "crv": "Ed25519", "x": b64(make([]byte, 32)), "use": "sig", "key_ops": []string{"verify"}}},
	} {
		b, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "null", `{"keys":null}`, `{"keys":[null,1,"x",{}]}`, `{"keys":[{"kty":"RSA","e":"AAAAAAAB"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		algs, total, err := jwtauth.ParseJWKS(data)
		if err != nil {
			return
		}
		if len(algs) > total {
			t.Fatalf("%d usable keys out of %d", len(algs), total)
		}
		for _, a := range algs {
			if len(a) == 0 {
				t.Fatal("a key allows no algorithm")
			}
		}
	})
}

// FuzzParseEnvKeys checks that the JWT_PUBLIC_KEY/JWT_ALGORITHM parser
// never panics and pairs every key with a supported algorithm.
func FuzzParseEnvKeys(f *testing.F) {
	f.Add("/etc/a.pub,/etc/b.pub", "RSA512,RSA256")
	f.Add("/etc/a.pub", "eddsa")
	f.Add("a,,b", "RS256")
	f.Add("", "RS256")
	f.Add("-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----,b", "ES256, RS256")
	f.Fuzz(func(t *testing.T, keyList, algList string) {
		got, err := jwtauth.ParseEnvKeys(keyList, algList)
		if err != nil {
			return
		}
		if strings.TrimSpace(keyList) == "" {
			if got != nil {
				t.Fatalf("no keys gave %+v", got)
			}
			return
		}
		if len(got) != strings.Count(keyList, ",")+1 {
			t.Fatalf("%q gave %d keys", keyList, len(got))
		}
		for _, k := range got {
			if alg, err := jwtauth.CanonicalAlgorithm(k.Algorithm); err != nil || alg != k.Algorithm {
				t.Fatalf("key %+v has algorithm %q", k, k.Algorithm)
			}
			if (k.Path == "") == (len(k.PEM) == 0) {
				t.Fatalf("key %+v has not exactly one of Path and PEM", k)
			}
		}
	})
}
