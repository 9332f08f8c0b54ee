package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/identity/jwtauth"
	"github.com/lakegate/lakegate/internal/identity/kerberos"
	"github.com/lakegate/lakegate/internal/identity/ldap"
	"github.com/lakegate/lakegate/internal/identity/sso"
)

// identityOptions builds the REST API's authenticators and group resolver
// from the configuration: what is configured is on, the rest off. Password
// logins go to SSO_URL when it is set, else to LDAP.
func identityOptions(ctx context.Context, cfg *config.Config, engine *authz.Engine) (api.Options, error) {
	var o api.Options
	a := cfg.Auth
	if a.JWT.Configured() {
		keys, err := jwtauth.ParseEnvKeys(strings.Join(a.JWT.PublicKeys, ","), strings.Join(a.JWT.Algorithms, ","))
		if err != nil {
			return o, fmt.Errorf("auth.jwt: %w", err)
		}
		jwt, err := jwtauth.New(ctx, jwtauth.Options{
			PublicKeys: keys, JWKSURL: a.JWT.JWKSURL, IssuerURL: a.JWT.IssuerURL,
			Audience: a.JWT.Audience, RemoteURL: a.JWT.ServerURL,
			Issuer: a.JWT.Issuer, RequireExpiry: true, MaxLifetime: a.JWT.MaxLifetime,
		})
		if err != nil {
			return o, fmt.Errorf("auth.jwt: %w", err)
		}
		o.TokenAuthenticators = append(o.TokenAuthenticators, jwt)
	}
	var ldapAuth *ldap.Authenticator
	if a.LDAP.Host != "" {
		lo, _, err := ldap.OptionsFromEnv(ldapLookup(a.LDAP))
		if err != nil {
			return o, fmt.Errorf("auth.ldap: %w", err)
		}
		if ldapAuth, err = ldap.New(lo); err != nil {
			return o, fmt.Errorf("auth.ldap: %w", err)
		}
		o.Passwords = ldapAuth
	}
	if a.SSOURL != "" {
		// SSO_URL takes over password logins; LDAP, when configured, still
		// resolves groups below. The endpoint's tokens must pass the same
		// JWT verification as any bearer token.
		s, err := sso.New(sso.Options{URL: a.SSOURL, Verifiers: o.TokenAuthenticators})
		if err != nil {
			return o, fmt.Errorf("auth.sso_url: %w", err)
		}
		o.Passwords = s
	}
	if a.Kerberos.Keytab != "" {
		k, err := kerberos.New(kerberos.Options{KeytabPath: a.Kerberos.Keytab, ServicePrincipal: a.Kerberos.Principal})
		if err != nil {
			return o, fmt.Errorf("auth.kerberos: %w", err)
		}
		o.Negotiator = k
	}

	ro := identity.ResolverOptions{
		// Seed 002: the JWT's groups (with the REST and LDAP fallbacks)
		// only when JWT is the only external method configured.
		JWTOnly:       a.JWT.Configured() && a.Kerberos.Keytab == "",
		RequiredGroup: cfg.Groups.Required,
		CacheTTL:      cfg.Groups.CacheTTL,
		IsCatalogAdmin: func(user string, groups []string) bool {
			return engine.IsCatalogAdmin(engine.SessionPrincipal(user, &identity.Groups{Names: groups, CaseInsensitive: true}))
		},
	}
	if u := cfg.Groups.ResolverURL; u != "" {
		rest, err := identity.NewRESTGroups(identity.RESTOptions{URL: u})
		if err != nil {
			return o, fmt.Errorf("groups.resolver_url: %w", err)
		}
		ro.REST = rest
	}
	if ldapAuth != nil {
		ro.LDAP = ldapAuth
	}
	resolver, err := identity.NewResolver(ro)
	if err != nil {
		return o, fmt.Errorf("groups: %w", err)
	}
	o.Groups = resolver
	o.CredentialTTL = cfg.CredentialTTL
	return o, nil
}

// ldapLookup presents the auth.ldap settings under Okera's variable names,
// which the LDAP package reads.
func ldapLookup(l config.LDAP) func(string) (string, bool) {
	port := ""
	if l.Port != 0 {
		port = strconv.Itoa(l.Port)
	}
	vars := map[string]string{
		ldap.EnvHost: l.Host, ldap.EnvPort: port,
		ldap.EnvUseSSL: strconv.FormatBool(l.UseSSL), ldap.EnvUseStartTLS: strconv.FormatBool(l.UseStartTLS),
		ldap.EnvCAFile: l.CAFile, ldap.EnvBaseDN: l.BaseDN, ldap.EnvUser: l.BindDN, ldap.EnvPassword: l.BindPassword,
		ldap.EnvUserSearchFilter: l.UserSearchFilter, ldap.EnvGroupSearchFilter: l.GroupSearchFilter,
		ldap.EnvUserDNTemplate: l.UserDNTemplate, ldap.EnvGroupSearchBase: l.GroupSearchBase,
		ldap.EnvGroupNameAttribute: l.GroupNameAttribute,
	}
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok && v != ""
	}
}
