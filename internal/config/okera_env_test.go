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
		"OKERA_KERBEROS_PRINCIPAL":          "HTTP/okera-service@EXAMPLE.COM",
		"LAKEGATE_AUTH_KERBEROS_KEYTAB":     "/etc/okera/okera.keytab",
		"OKERA_SYSTEM_IAM_ROLE_ARN":         "arn:aws:iam::123456789012:role/odap-iam-role",
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
	if cfg.Auth.Kerberos.Principal != "HTTP/okera-service@EXAMPLE.COM" {
		t.Errorf("Auth.Kerberos.Principal = %q, want OKERA_KERBEROS_PRINCIPAL's value", cfg.Auth.Kerberos.Principal)
	}
	if cfg.Upstream.RoleARN != "arn:aws:iam::123456789012:role/odap-iam-role" {
		t.Errorf("Upstream.RoleARN = %q, want OKERA_SYSTEM_IAM_ROLE_ARN's value", cfg.Upstream.RoleARN)
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

// TestSeedOkeraNamesAccepted: every Okera configuration variable the seeds
// name (000–004) sets a lakegate setting, except the one the client reads
// itself (OKERA_TOKEN_RETRIEVAL_SCRIPT, lakegate credentials).
func TestSeedOkeraNamesAccepted(t *testing.T) {
	mapped := map[string]bool{}
	for _, v := range config.EnvVars() {
		if v.Okera != "" {
			mapped[v.Okera] = true
		}
	}
	for _, name := range []string{
		"JWT_PUBLIC_KEY", "JWT_ALGORITHM", "JWT_AUTHENTICATION_SERVER_URL", "SSO_URL", "JWT_PRIVATE_KEY",
		"SYSTEM_TOKEN", "SYSTEM_TOKEN_DURATION_MIN", "OKERA_GROUP_RESOLVER_URL",
		"OKERA_GROUP_RESOLVER_LDAP_HOST", "OKERA_GROUP_RESOLVER_LDAP_USER", "OKERA_GROUP_RESOLVER_LDAP_BASE_DN",
		"OKERA_GROUP_RESOLVER_LDAP_USER_SEARCH_FILTER", "OKERA_REQUIRED_GROUP_MEMBERSHIP",
		"OKERA_KERBEROS_PRINCIPAL", "OKERA_SYSTEM_IAM_ROLE_ARN", "GO_REST_AWS_TOKEN_EXPIRY",
	} {
		if !mapped[name] {
			t.Errorf("Okera's %s sets no lakegate setting", name)
		}
	}
}

// TestAdminGroups: admin.groups (LAKEGATE_ADMIN_GROUPS) names the groups
// whose members are catalog admins; none by default.
func TestAdminGroups(t *testing.T) {
	cfg, err := config.Load("", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.Groups != nil {
		t.Errorf("default admin.groups = %q, want none", cfg.Admin.Groups)
	}
	env := map[string]string{"LAKEGATE_ADMIN_GROUPS": "Admin, data-stewards"}
	cfg, err = config.Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Admin.Groups, []string{"Admin", "data-stewards"}) {
		t.Errorf("admin.groups = %q", cfg.Admin.Groups)
	}
	cfg.Admin.Groups = []string{" padded"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "admin.groups") {
		t.Errorf("Validate with a padded admin group: %v, want an admin.groups problem", err)
	}
}
