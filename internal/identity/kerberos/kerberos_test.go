package kerberos

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"

	"github.com/lakegate/lakegate/internal/identity"
)

var (
	serviceKey = principalKey{testSPN, testRealm, "service-secret"}
	otherKey   = principalKey{"HTTP/other.example.com", testRealm, "other-secret"}
	// ntlmOID is NTLMSSP's SPNEGO mechanism.
	ntlmOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
)

func newAuthenticator(t testing.TB, kt []byte, spn string, skew time.Duration) *Authenticator {
	t.Helper()
	a, err := New(Options{Keytab: kt, ServicePrincipal: spn, MaxClockSkew: skew})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func request(authorization ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://lakegate.example.com/api/health-authenticated", nil)
	for _, v := range authorization {
		r.Header.Add("Authorization", v)
	}
	return r
}

func TestNegotiate(t *testing.T) {
	// The KDC's view: it encrypts tickets with these keys.
	kdc := newKeytab(t, serviceKey, otherKey,
		principalKey{testSPN, "OTHER.REALM", "cross-secret"})
	// The service's keytab: its own key, and in "both" the other one too.
	own := keytabBytes(t, newKeytab(t, serviceKey))
	both := keytabBytes(t, newKeytab(t, serviceKey, otherKey))
	crossRealm := keytabBytes(t, newKeytab(t, serviceKey, principalKey{testSPN, "OTHER.REALM", "cross-secret"}))
	// A keytab holding the right principal with the wrong key.
	stale := keytabBytes(t, newKeytab(t, principalKey{testSPN, testRealm, "old-secret"}))
	now := time.Now()

	tests := []struct {
		name    string
		keytab  []byte
		spn     string
		skew    time.Duration
		header  func(t *testing.T) string // the Authorization value
		user    string                    // "" expects failure
		wantErr string                    // a substring of the error
	}{
		{
			name:   "valid SPNEGO token",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string { return "Negotiate " + mint(t, kdc, ticket{}) },
			user:   "alice@EXAMPLE.COM",
		},
		{
			name:   "scheme is case-insensitive",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string { return "negotiate   " + mint(t, kdc, ticket{}) + " " },
			user:   "alice@EXAMPLE.COM",
		},
		{
			name:   "raw Kerberos token",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string { return "Negotiate " + mint(t, kdc, ticket{raw: true}) },
			user:   "alice@EXAMPLE.COM",
		},
		{
			name:   "Microsoft's legacy Kerberos OID first",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{mechTypes: []asn1.ObjectIdentifier{
					gssapi.OIDMSLegacyKRB5.OID(), gssapi.OIDKRB5.OID()}})
			},
			user: "alice@EXAMPLE.COM",
		},
		{
			name:   "multi-component client principal",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string { return "Negotiate " + mint(t, kdc, ticket{client: "alice/admin"}) },
			user:   "alice/admin@EXAMPLE.COM",
		},
		{
			name:   "realm-qualified service principal",
			keytab: own, spn: testSPN + "@" + testRealm,
			header: func(t *testing.T) string { return "Negotiate " + mint(t, kdc, ticket{}) },
			user:   "alice@EXAMPLE.COM",
		},
		{
			name:   "ticket for another service in the keytab",
			keytab: both, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{service: "HTTP/other.example.com"})
			},
			wantErr: "ticket is for HTTP/other.example.com@EXAMPLE.COM, not HTTP/lakegate.example.com",
		},
		{
			name:   "any service in the keytab when ServicePrincipal is empty",
			keytab: both, spn: "",
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{service: "HTTP/other.example.com"})
			},
			user: "alice@EXAMPLE.COM",
		},
		{
			name:   "service not in the keytab when ServicePrincipal is empty",
			keytab: own, spn: "",
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{service: "HTTP/other.example.com"})
			},
			wantErr: "matching key not found in keytab",
		},
		{
			name:   "service principal of another realm",
			keytab: crossRealm, spn: testSPN + "@" + testRealm,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{realm: "OTHER.REALM"})
			},
			wantErr: "ticket is for HTTP/lakegate.example.com@OTHER.REALM",
		},
		{
			name:   "wrong key for the service",
			keytab: stale, spn: testSPN,
			header:  func(t *testing.T) string { return "Negotiate " + mint(t, kdc, ticket{}) },
			wantErr: "error decrypting",
		},
		{
			// gokrb5 would panic slicing it.
			name:   "ticket ciphertext too short",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{ticketCipher: []byte("short")})
			},
			wantErr: "ciphertext shorter than 40 bytes",
		},
		{
			name:   "authenticator ciphertext too short",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{authCipher: make([]byte, 11)})
			},
			wantErr: "ciphertext shorter than 40 bytes",
		},
		{
			name:   "expired ticket",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{start: now.Add(-2 * time.Hour), end: now.Add(-time.Hour)})
			},
			wantErr: "expired",
		},
		{
			name:   "ticket not yet valid",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{start: now.Add(time.Hour), end: now.Add(2 * time.Hour)})
			},
			wantErr: "not yet valid",
		},
		{
			name:   "client clock too far behind",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{ctime: now.Add(-10 * time.Minute)})
			},
			wantErr: "clock skew",
		},
		{
			name:   "client clock behind within MaxClockSkew",
			keytab: own, spn: testSPN, skew: 15 * time.Minute,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{ctime: now.Add(-10 * time.Minute)})
			},
			user: "alice@EXAMPLE.COM",
		},
		{
			name:   "authenticator claims another realm",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{authRealm: "EVIL.EXAMPLE"})
			},
			wantErr: `authenticator realm "EVIL.EXAMPLE" does not match the ticket's "EXAMPLE.COM"`,
		},
		{
			name:   "NTLM preferred",
			keytab: own, spn: testSPN,
			header: func(t *testing.T) string {
				return "Negotiate " + mint(t, kdc, ticket{mechTypes: []asn1.ObjectIdentifier{ntlmOID, gssapi.OIDKRB5.OID()}})
			},
			wantErr: "preferred SPNEGO mechanism is not Kerberos",
		},
		{
			name:   "continuation token",
			keytab: own, spn: testSPN,
			header:  func(t *testing.T) string { return "Negotiate " + negTokenResp(t, kdc) },
			wantErr: "not an initial SPNEGO token",
		},
		{
			name:   "no token",
			keytab: own, spn: testSPN,
			header:  func(*testing.T) string { return "Negotiate" },
			wantErr: "without a token",
		},
		{
			name:   "not base64",
			keytab: own, spn: testSPN,
			header:  func(*testing.T) string { return "Negotiate YWxp!2U=" },
			wantErr: "not base64",
		},
		{
			name:   "garbage",
			keytab: own, spn: testSPN,
			header:  func(*testing.T) string { return "Negotiate Z2FyYmFnZQ==" },
			wantErr: "error unmarshalling KRB5Token",
		},
		{
			name:   "too long",
			keytab: own, spn: testSPN,
			header:  func(*testing.T) string { return "Negotiate " + strings.Repeat("A", maxTokenLen+4) },
			wantErr: "longer than",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuthenticator(t, tc.keytab, tc.spn, tc.skew)
			id, err := a.Negotiate(request(tc.header(t)))
			if tc.user != "" {
				if err != nil {
					t.Fatalf("Negotiate: %v", err)
				}
				if id.User != tc.user || id.Method != "kerberos" || id.Groups != nil {
					t.Fatalf("identity = %+v, want user %s, method kerberos", id, tc.user)
				}
				if id.Expires.IsZero() || id.Expires.Before(now) {
					t.Fatalf("Expires = %v, want the ticket's end time", id.Expires)
				}
				return
			}
			if err == nil {
				t.Fatalf("Negotiate authenticated %+v, want an error containing %q", id, tc.wantErr)
			}
			if !errors.Is(err, identity.ErrUnauthenticated) || errors.Is(err, ErrNoNegotiate) {
				t.Fatalf("error %v: want ErrUnauthenticated but not ErrNoNegotiate", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestNegotiateWithoutNegotiateHeader(t *testing.T) {
	a := newAuthenticator(t, keytabBytes(t, newKeytab(t, serviceKey)), testSPN, 0)
	for name, headers := range map[string][]string{
		"none":   nil,
		"basic":  {"Basic YWxpY2U6cHc="},
		"bearer": {"Bearer abc"},
		"empty":  {""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Negotiate(request(headers...))
			if !errors.Is(err, ErrNoNegotiate) || !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("error = %v, want ErrNoNegotiate wrapping ErrUnauthenticated", err)
			}
		})
	}
}

func TestNegotiateSecondAuthorizationHeader(t *testing.T) {
	kt := newKeytab(t, serviceKey)
	a := newAuthenticator(t, keytabBytes(t, kt), testSPN, 0)
	id, err := a.Negotiate(request("Basic YWxpY2U6cHc=", "Negotiate "+mint(t, kt, ticket{})))
	if err != nil || id.User != "alice@EXAMPLE.COM" {
		t.Fatalf("Negotiate = %+v, %v", id, err)
	}
}

func TestNegotiateRefusesReplay(t *testing.T) {
	kt := newKeytab(t, serviceKey)
	a := newAuthenticator(t, keytabBytes(t, kt), testSPN, 0)
	h := "Negotiate " + mint(t, kt, ticket{})
	if _, err := a.Negotiate(request(h)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err := a.Negotiate(request(h))
	if !errors.Is(err, identity.ErrUnauthenticated) || !strings.Contains(err.Error(), "replay") {
		t.Fatalf("second use: error = %v, want a replay refused", err)
	}
}

func TestNegotiateConcurrently(t *testing.T) {
	kt := newKeytab(t, serviceKey)
	a := newAuthenticator(t, keytabBytes(t, kt), testSPN, 0)
	headers := make([]string, 32)
	for i := range headers {
		headers[i] = "Negotiate " + mint(t, kt, ticket{client: fmt.Sprintf("user%d", i)})
	}
	var wg sync.WaitGroup
	for i, h := range headers {
		wg.Go(func() {
			id, err := a.Negotiate(request(h))
			if want := fmt.Sprintf("user%d@EXAMPLE.COM", i); err != nil || id.User != want {
				t.Errorf("Negotiate = %+v, %v; want %s", id, err, want)
			}
			if _, err := a.Negotiate(request("Negotiate Z2FyYmFnZQ==")); err == nil {
				t.Error("garbage authenticated")
			}
		})
	}
	wg.Wait()
}

func TestNewValidates(t *testing.T) {
	kt := keytabBytes(t, newKeytab(t, serviceKey))
	path := filepath.Join(t.TempDir(), "http.keytab")
	if err := os.WriteFile(path, kt, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want []string // substrings of the error; nil for success
	}{
		{"keytab file", Options{KeytabPath: path, ServicePrincipal: testSPN}, nil},
		{"keytab bytes, any principal", Options{Keytab: kt}, nil},
		{"realm-qualified principal", Options{Keytab: kt, ServicePrincipal: testSPN + "@" + testRealm}, nil},
		{"no keytab", Options{ServicePrincipal: testSPN}, []string{"a keytab is required"}},
		{
			name: "every problem at once",
			opts: Options{KeytabPath: path, Keytab: kt, ServicePrincipal: "HTTP//x@", MaxClockSkew: -time.Second},
			want: []string{"only one of KeytabPath and Keytab", "bad realm", "MaxClockSkew -1s is negative"},
		},
		{"empty component", Options{Keytab: kt, ServicePrincipal: "HTTP//x"}, []string{"empty name component"}},
		{"missing file", Options{KeytabPath: filepath.Join(t.TempDir(), "nope")}, []string{"reading keytab"}},
		{"not a keytab", Options{Keytab: []byte("not a keytab")}, []string{"parsing keytab"}},
		{"empty keytab", Options{Keytab: []byte{5, 2, 0, 0, 0, 0}}, []string{"holds no keys"}},
		{"principal not in keytab", Options{Keytab: kt, ServicePrincipal: "HTTP/elsewhere"}, []string{"no key for HTTP/elsewhere"}},
		{"realm not in keytab", Options{Keytab: kt, ServicePrincipal: testSPN + "@OTHER.REALM"}, []string{"no key for HTTP/lakegate.example.com@OTHER.REALM"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.opts)
			if tc.want == nil {
				if err != nil || a == nil {
					t.Fatalf("New = %v, %v", a, err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Add("WWW-Authenticate", `Basic realm="lakegate"`)
	Challenge(w)
	Challenge(w)
	got := w.Header().Values("WWW-Authenticate")
	if len(got) != 2 || got[0] != `Basic realm="lakegate"` || got[1] != "Negotiate" {
		t.Fatalf("WWW-Authenticate = %q", got)
	}
}
