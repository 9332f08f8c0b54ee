package jwtauth_test

import (
	"context"
	"testing"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// BenchmarkAuthenticateToken measures verifying one token per algorithm
// with the public keys (every request with a bearer token pays this).
// Compare runs with benchstat:
//
//	go test -run '^$' -bench AuthenticateToken -count 10 ./internal/identity/jwtauth > new.txt
//	benchstat old.txt new.txt
func BenchmarkAuthenticateToken(b *testing.B) {
	k := keys()
	a := newAuth(b, staticOptions(b, newClock()))
	for _, bc := range []struct {
		name  string
		token string
	}{
		// rsa1 is the second RS256 key, so RS256 tries one key in vain first.
		{"RS256", sign(b, gojwt.SigningMethodRS256, k.rsa1, "", claims(nil))},
		{"RS512", sign(b, gojwt.SigningMethodRS512, k.rsa2, "", claims(nil))},
		{"ES256", sign(b, gojwt.SigningMethodES256, k.ec, "", claims(nil))},
		{"EdDSA", sign(b, gojwt.SigningMethodEdDSA, k.ed, "", claims(nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if _, err := a.AuthenticateToken(ctx, bc.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
