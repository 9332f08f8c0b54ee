package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/config"
)

func TestOkeraEnvironmentNames(t *testing.T) {
	env := map[string]string{
		"JWT_PUBLIC_KEY":                    "/etc/a.pub,/etc/b.pub",
		"JWT_ALGORITHM":                     "RSA512,RSA256",
		"JWT_AUTHENTICATION_SERVER_URL":     "https://auth.example.com/validate",
		"SSO_URL":                           "https://auth.example.com/token",
		"OKERA_GROUP_RESOLVER_URL":          "https://groups.example.com/users",
		"OKERA_REQUIRED_GROUP_MEMBERSHIP":   "okera-users",
		"OKERA_GROUP_RESOLVER_LDAP_HOST":    "ldap.example.com",
		"OKERA_GROUP_RESOLVER_LDAP_USER":    "cn=admin,dc=lab,dc=okera,dc=com",
		"OKERA_GROUP_RESOLVER_LDAP_BASE_DN": "dc=lab,dc=okera,dc=com",
		"GO_REST_AWS_TOKEN_EXPIRY":          "3600",
		"JWT_PRIVATE_KEY":                   "/etc/okera/jwt.key",
		"SYSTEM_TOKEN":                      "/etc/okera/system.token",
		"SYSTEM_TOKEN_DURATION_MIN":         "300",
		// lakegate's own name wins over Okera's.
		"OKERA_GROUP_RESOLVER_LDAP_PORT": "389",
		"LAKEGATE_AUTH_LDAP_PORT":        "1389",
	}
	cfg, err := config.Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	j := cfg.Auth.JWT
	if !slices.Equal(j.PublicKeys, []string{"/etc/a.pub", "/etc/b.pub"}) || !slices.Equal(j.Algorithms, []string{"RSA512", "RSA256"}) ||
		j.ServerURL != "https://auth.example.com/validate" {
		t.Errorf("JWT = %+v", j)
	}
	if cfg.Auth.SSOURL != "https://auth.example.com/token" {
		t.Errorf("Auth.SSOURL = %q, want SSO_URL's value", cfg.Auth.SSOURL)
	}
	if cfg.Groups.ResolverURL != "https://groups.example.com/users" || cfg.Groups.Required != "okera-users" {
		t.Errorf("Groups = %+v", cfg.Groups)
	}
	if l := cfg.Auth.LDAP; l.Host != "ldap.example.com" || l.BindDN != "cn=admin,dc=lab,dc=okera,dc=com" || l.Port != 1389 {
		t.Errorf("LDAP = %+v", l)
	}
	if cfg.CredentialTTL != time.Hour {
		t.Errorf("CredentialTTL = %v, want 1h from GO_REST_AWS_TOKEN_EXPIRY=3600", cfg.CredentialTTL)
	}
	if s := cfg.System; s.PrivateKey != "/etc/okera/jwt.key" || s.TokenFile != "/etc/okera/system.token" || s.TokenDuration != 300*time.Minute {
		t.Errorf("System = %+v, want SYSTEM_TOKEN_DURATION_MIN=300 read as minutes", s)
	}
	for _, v := range config.EnvVars() {
		if v.Path == "credential_ttl" && v.Okera != "GO_REST_AWS_TOKEN_EXPIRY" {
			t.Errorf("EnvVars: credential_ttl has Okera name %q", v.Okera)
		}
		if v.Path == "auth.sso_url" && (v.Okera != "SSO_URL" || v.Name != "LAKEGATE_AUTH_SSO_URL") {
			t.Errorf("EnvVars: auth.sso_url is %s, Okera name %q", v.Name, v.Okera)
		}
	}
}

// TestSSOURL: SSO_URL (auth.sso_url) must be an http(s) URL, and the
// tokens it issues must be verifiable, so some JWT verification must be
// configured; LAKEGATE_AUTH_SSO_URL wins over SSO_URL.
func TestSSOURL(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string   // auth.sso_url after Load
		errs []string // Validate's problems; nil: valid
	}{
		{name: "unset", env: map[string]string{}, want: ""},
		{name: "with public keys", env: map[string]string{"SSO_URL": "https://sso.example.com/token", "JWT_PUBLIC_KEY": "/etc/a.pub", "JWT_ALGORITHM": "RS256"},
			want: "https://sso.example.com/token"},
		{name: "with the remote validation endpoint", env: map[string]string{"SSO_URL": "http://sso:8080/token", "JWT_AUTHENTICATION_SERVER_URL": "http://sso:8080/validate"},
			want: "http://sso:8080/token"},
		{name: "with a JWKS", env: map[string]string{"SSO_URL": "https://sso.example.com/token", "LAKEGATE_AUTH_JWT_JWKS_URL": "https://sso.example.com/jwks.json"},
			want: "https://sso.example.com/token"},
		{name: "lakegate's name wins", env: map[string]string{"SSO_URL": "https://okera/token", "LAKEGATE_AUTH_SSO_URL": "https://lakegate/token", "LAKEGATE_AUTH_JWT_JWKS_URL": "https://sso.example.com/jwks.json"},
			want: "https://lakegate/token"},
		{name: "without JWT verification", env: map[string]string{"SSO_URL": "https://sso.example.com/token"},
			want: "https://sso.example.com/token", errs: []string{"auth.sso_url: needs JWT verification"}},
		{name: "not http", env: map[string]string{"SSO_URL": "ldap://sso.example.com", "JWT_AUTHENTICATION_SERVER_URL": "http://sso:8080/validate"},
			want: "ldap://sso.example.com", errs: []string{"auth.sso_url: must be an http:// or https:// URL"}},
		{name: "no host, no JWT: both reported", env: map[string]string{"SSO_URL": "https:///token"},
			want: "https:///token", errs: []string{"auth.sso_url: must be an http:// or https:// URL", "auth.sso_url: needs JWT verification"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load("", func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Auth.SSOURL != tc.want {
				t.Errorf("auth.sso_url = %q, want %q", cfg.Auth.SSOURL, tc.want)
			}
			err = cfg.Validate()
			if tc.errs == nil {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %v", tc.env)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate: %v\nwant a problem %q", err, want)
				}
			}
		})
	}
}
