package kerberos

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"

	"github.com/lakegate/lakegate/internal/identity"
)

// The fuzz targets hold that Negotiate never panics and never
// authenticates anything: the service key the Authenticator holds is never
// used to mint a seed, so no input can carry a ticket it decrypts. The
// seeds are well-formed tokens (SPNEGO, raw Kerberos, continuation, NTLM
// first) encrypted with another key, so mutations reach the ASN.1 and
// Kerberos parsers, not only the base64 decoder.
//
// Run one with: go test -run '^$' -fuzz '^FuzzNegotiateToken$' ./internal/identity/kerberos

// fuzzAuthenticator returns an Authenticator whose key no seed uses, and
// the keytab the seeds are minted with (same principal, another key).
func fuzzAuthenticator(f *testing.F) (*Authenticator, []string) {
	f.Helper()
	a := newAuthenticator(f, keytabBytes(f, newKeytab(f, principalKey{testSPN, testRealm, "the-real-secret"})), testSPN, 0)
	other := newKeytab(f, principalKey{testSPN, testRealm, "a-guessed-secret"})
	seeds := []string{
		mint(f, other, ticket{}),
		mint(f, other, ticket{raw: true}),
		mint(f, other, ticket{client: "alice/admin", authRealm: "EVIL.EXAMPLE"}),
		mint(f, other, ticket{mechTypes: []asn1.ObjectIdentifier{gssapi.OIDMSLegacyKRB5.OID(), gssapi.OIDKRB5.OID()}}),
		mint(f, other, ticket{mechTypes: []asn1.ObjectIdentifier{ntlmOID}}),
		negTokenResp(f, other),
		mint(f, other, ticket{ticketCipher: make([]byte, 41)}),
		mint(f, other, ticket{authCipher: make([]byte, 41)}),
		// gokrb5's canned server responses (accept-completed, reject).
		"oRQwEqADCgEAoQsGCSqGSIb3EgECAg==",
		"oQcwBaADCgEC",
	}
	return a, seeds
}

// mustRefuse fails when Negotiate authenticated or returned an error that
// is not ErrUnauthenticated. It calls negotiate, so that a panic in gokrb5
// is a failure rather than recovered.
func mustRefuse(t *testing.T, a *Authenticator, r *http.Request) {
	t.Helper()
	id, err := a.negotiate(r)
	if err == nil {
		t.Fatalf("authenticated %+v from %q", id, r.Header.Values("Authorization"))
	}
	if !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
	}
}

// FuzzNegotiateHeader fuzzes the Authorization header's text: scheme,
// spacing, base64.
func FuzzNegotiateHeader(f *testing.F) {
	a, seeds := fuzzAuthenticator(f)
	for _, s := range seeds {
		f.Add("Negotiate " + s)
	}
	for _, s := range []string{
		"", "Negotiate", "Negotiate ", "negotiate  \t", "Negotiate YWxp!2U=", "Negotiate Z2FyYmFnZQ",
		"Basic YWxpY2U6cHc=", "Bearer x.y.z", "NegotiateYQ==", "Negotiate\tYQ==", "Negotiate YQ== YQ==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "http://lakegate.example.com/", nil)
		r.Header["Authorization"] = []string{header}
		mustRefuse(t, a, r)
	})
}

// FuzzNegotiateToken fuzzes the decoded token bytes, which Negotiate
// hands to the SPNEGO, GSS-API and Kerberos ASN.1 parsers.
func FuzzNegotiateToken(f *testing.F) {
	a, seeds := fuzzAuthenticator(f)
	for _, s := range seeds {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x60, 0x00})
	f.Add([]byte{0xa1, 0x00})
	f.Fuzz(func(t *testing.T, token []byte) {
		r := httptest.NewRequest(http.MethodGet, "http://lakegate.example.com/", nil)
		r.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(token))
		mustRefuse(t, a, r)
	})
}
