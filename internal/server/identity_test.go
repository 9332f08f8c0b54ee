package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/identity/ldap"
	"github.com/lakegate/lakegate/internal/identity/sso"
	"github.com/lakegate/lakegate/internal/store"
)

// TestIdentityPasswordLogins: password logins go to SSO_URL when it is
// set (LDAP or not), else to LDAP; SSO_URL without JWT verification does
// not start.
func TestIdentityPasswordLogins(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "jwt.pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	engine, err := authz.New(t.Context(), authz.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	jwt := config.JWT{PublicKeys: []string{pub}, Algorithms: []string{"ES256"}}
	ldapCfg := config.LDAP{Host: "ldap://127.0.0.1:1", BaseDN: "dc=example,dc=com", UserDNTemplate: "uid={0},dc=example,dc=com"}
	const ssoURL = "http://127.0.0.1:1/token"
	for _, tc := range []struct {
		name    string
		auth    config.Auth
		want    string // "sso", "ldap" or "" (no password logins)
		wantErr bool
	}{
		{"nothing", config.Auth{}, "", false},
		{"LDAP", config.Auth{LDAP: ldapCfg}, "ldap", false},
		{"SSO", config.Auth{JWT: jwt, SSOURL: ssoURL}, "sso", false},
		{"SSO wins over LDAP", config.Auth{JWT: jwt, LDAP: ldapCfg, SSOURL: ssoURL}, "sso", false},
		{"SSO without JWT", config.Auth{SSOURL: ssoURL}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Auth = tc.auth
			o, err := identityOptions(t.Context(), cfg, engine)
			if tc.wantErr {
				if err == nil {
					t.Fatal("identityOptions succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			switch o.Passwords.(type) {
			case *sso.Authenticator:
				got = "sso"
			case *ldap.Authenticator:
				got = "ldap"
			}
			if got != tc.want || (tc.want == "" && o.Passwords != nil) {
				t.Errorf("password logins go to %q (%T), want %q", got, o.Passwords, tc.want)
			}
		})
	}
}
