package config_test

import (
	"slices"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/config"
)

func TestOkeraEnvironmentNames(t *testing.T) {
	env := map[string]string{
		"JWT_PUBLIC_KEY":                    "/etc/a.pub,/etc/b.pub",
		"JWT_ALGORITHM":                     "RSA512,RSA256",
		"JWT_AUTHENTICATION_SERVER_URL":     "https://auth.example.com/validate",
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
	}
}
