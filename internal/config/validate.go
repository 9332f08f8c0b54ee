package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lakegate/lakegate/internal/store"
)

// Limits enforced by Validate.
const (
	// MaxPresignExpiryLimit is S3's own upper bound for presigned URLs.
	MaxPresignExpiryLimit = 7 * 24 * time.Hour
	minMaxHeaderBytes     = 4 << 10
	// Bounds of proxy.preauth_max_bytes: a real form's fields (policy,
	// signature, key, metadata) fit in a few KiB.
	minPreAuthBytes   = 4 << 10
	maxPreAuthBytes   = 1 << 20
	minAdminSecretLen = 16
	// AWS STS's bounds on DurationSeconds of AssumeRole.
	minRoleSession = 15 * time.Minute
	maxRoleSession = 12 * time.Hour
)

var (
	regionRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	bucketRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	accessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9]{16,128}$`)
	roleARNRE     = regexp.MustCompile(`^arn:aws[-a-z]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$`)
	roleSessionRE = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]{2,64}$`)
	logLevels     = []string{"debug", "info", "warn", "error"}
	logFormats    = []string{"text", "json"}
)

// Validate reports every problem with c, joined with errors.Join, each
// prefixed with the YAML path it concerns. It never modifies c.
func (c *Config) Validate() error {
	var v validator
	v.required("data_dir", c.DataDir)

	// proxy
	v.listenAddr("proxy.addr", c.Proxy.Addr)
	v.listenAddr("proxy.tls_addr", c.Proxy.TLSAddr)
	if c.Proxy.Addr == "" && c.Proxy.TLSAddr == "" {
		v.add("proxy", "set addr or tls_addr (the proxy needs a listener)")
	}
	v.tlsPair("proxy", c.Proxy.TLSCertFile, c.Proxy.TLSKeyFile)
	if c.Proxy.TLSAddr != "" && (c.Proxy.TLSCertFile == "" || c.Proxy.TLSKeyFile == "") {
		v.add("proxy.tls_addr", "needs tls_cert_file and tls_key_file")
	}
	for i, d := range c.Proxy.BaseDomains {
		if d == "" || strings.ContainsAny(d, "/: ") || strings.HasPrefix(d, ".") {
			v.add(fmt.Sprintf("proxy.base_domains[%d]", i), fmt.Sprintf("%q is not a domain name", d))
		}
	}
	v.positive("proxy.max_clock_skew", c.Proxy.MaxClockSkew)
	v.positive("proxy.max_presign_expiry", c.Proxy.MaxPresignExpiry)
	if c.Proxy.MaxPresignExpiry > MaxPresignExpiryLimit {
		v.add("proxy.max_presign_expiry", fmt.Sprintf("%s exceeds S3's limit of %s", c.Proxy.MaxPresignExpiry, MaxPresignExpiryLimit))
	}
	v.positive("proxy.read_header_timeout", c.Proxy.ReadHeaderTimeout)
	v.positive("proxy.body_idle_timeout", c.Proxy.BodyIdleTimeout)
	v.positive("proxy.write_idle_timeout", c.Proxy.WriteIdleTimeout)
	v.positive("proxy.preauth_timeout", c.Proxy.PreAuthTimeout)
	if n := c.Proxy.PreAuthMaxBytes; n < minPreAuthBytes || n > maxPreAuthBytes {
		v.add("proxy.preauth_max_bytes", fmt.Sprintf("%d is not between %d and %d", n, minPreAuthBytes, maxPreAuthBytes))
	}
	v.atLeastOne("proxy.max_connections", c.Proxy.MaxConnections)
	v.atLeastOne("proxy.tls_max_connections", c.Proxy.TLSMaxConnections)
	v.positive("proxy.user_permission_ttl", c.Proxy.UserPermissionTTL)
	v.positive("proxy.max_staleness", c.Proxy.MaxStaleness)
	if c.Proxy.Server != "" {
		if u, err := url.Parse(c.Proxy.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("proxy.server", fmt.Sprintf("%q is not an http(s) URL", c.Proxy.Server))
		}
	}
	v.positive("system.token_duration", c.System.TokenDuration)
	if c.Proxy.IdleTimeout < 0 {
		v.add("proxy.idle_timeout", "must not be negative")
	}
	if c.Proxy.MaxHeaderBytes < minMaxHeaderBytes {
		v.add("proxy.max_header_bytes", fmt.Sprintf("%d is below the minimum of %d", c.Proxy.MaxHeaderBytes, minMaxHeaderBytes))
	}

	// rest
	v.listenAddr("rest.addr", c.REST.Addr)
	v.tlsPair("rest", c.REST.TLSCertFile, c.REST.TLSKeyFile)
	v.atLeastOne("rest.max_connections", c.REST.MaxConnections)
	v.listenAddr("rest.metrics_addr", c.REST.MetricsAddr)
	for i, o := range c.REST.AllowedOrigins {
		if !isOrigin(o) {
			v.add(fmt.Sprintf("rest.allowed_origins[%d]", i), fmt.Sprintf("%q is not an origin (http(s)://host[:port], nothing after)", o))
		}
	}

	v.publicURL("rest.public_url", c.REST.PublicURL)

	// sql
	if c.Scan.MaxRows < 1 {
		v.add("scan.max_rows", "must be at least 1")
	}
	if c.Scan.MaxBytes < 1 {
		v.add("scan.max_bytes", "must be at least 1")
	}
	v.positive("scan.timeout", c.Scan.Timeout)
	if !validMemoryLimit(c.Scan.MemoryLimit) {
		v.add("scan.memory_limit", fmt.Sprintf("%q: want a number and a unit such as 512MB or 2GB", c.Scan.MemoryLimit))
	}
	if c.Scan.Threads < 0 || c.Scan.Threads > 1024 {
		v.add("scan.threads", "must be between 0 (DuckDB's default) and 1024")
	}
	v.listenAddr("sql.addr", c.SQL.Addr)
	v.tlsPair("sql", c.SQL.TLSCertFile, c.SQL.TLSKeyFile)
	v.atLeastOne("sql.max_connections", c.SQL.MaxConnections)
	v.atLeastOne("sql.max_concurrent_streams", c.SQL.MaxConcurrentStreams)
	v.positive("sql.idle_timeout", c.SQL.IdleTimeout)
	v.positive("sql.ticket_ttl", c.SQL.TicketTTL)

	v.distinctAddrs(map[string]string{
		"proxy.addr": c.Proxy.Addr, "proxy.tls_addr": c.Proxy.TLSAddr, "rest.addr": c.REST.Addr,
		"rest.metrics_addr": c.REST.MetricsAddr, "sql.addr": c.SQL.Addr,
	})

	// store
	switch c.Store.Driver {
	case DefaultStoreDriver:
		v.required("store.dsn", c.Store.DSN)
		if strings.Contains(c.Store.DSN, "?") {
			v.add("store.dsn", "for sqlite this is a file path and must not contain '?'")
		}
	case "postgres", "mysql":
		// The driver parses the DSN when the store opens; its errors
		// leave the password out, as this one must.
		v.required("store.dsn", c.Store.DSN)
	default:
		v.add("store.driver", fmt.Sprintf("%q is not one of %s", c.Store.Driver, strings.Join(store.Drivers, ", ")))
	}
	if c.Store.MaxOpenConns < 2 {
		v.add("store.max_open_conns", "must be at least 2")
	}
	if c.Store.MaxIdleConns < 0 || c.Store.MaxIdleConns > c.Store.MaxOpenConns {
		v.add("store.max_idle_conns", fmt.Sprintf("%d is not between 0 and store.max_open_conns (%d)", c.Store.MaxIdleConns, c.Store.MaxOpenConns))
	}
	v.positive("store.connect_timeout", c.Store.ConnectTimeout)
	v.positive("store.max_staleness", c.Store.MaxStaleness)
	for _, f := range []struct {
		path string
		d    time.Duration
	}{
		{"store.conn_max_lifetime", c.Store.ConnMaxLifetime},
		{"store.conn_max_idle_time", c.Store.ConnMaxIdleTime},
		{"store.statement_timeout", c.Store.StatementTimeout},
	} {
		if f.d < 0 {
			v.add(f.path, "must not be negative (0 means none)")
		}
	}

	// upstream
	v.endpoint("upstream.endpoint", c.Upstream.Endpoint)
	v.region("upstream.region", c.Upstream.Region, true)
	u := c.Upstream
	if (u.AccessKeyID == "") != (u.SecretAccessKey == "") {
		v.add("upstream", "set both access_key_id and secret_access_key, or neither")
	}
	if u.SessionToken != "" && u.AccessKeyID == "" {
		v.add("upstream.session_token", "needs access_key_id and secret_access_key")
	}
	if u.Profile != "" && u.AccessKeyID != "" {
		v.add("upstream.profile", "is unused when static keys are set; set one or the other")
	}
	v.roleARN("upstream.role_arn", u.RoleARN)
	v.endpoint("upstream.sts_endpoint", u.STSEndpoint)
	// Zero duration and empty name mean the defaults.
	switch d := u.RoleSessionDuration; {
	case d == 0:
	case d%time.Second != 0 || d < time.Second:
		v.add("upstream.role_session_duration", "must be a positive whole number of seconds")
	case d < minRoleSession && u.STSEndpoint == "":
		v.add("upstream.role_session_duration", fmt.Sprintf("%s is below AWS STS's minimum of %s (shorter sessions only with an sts_endpoint)", d, minRoleSession))
	case d > maxRoleSession:
		v.add("upstream.role_session_duration", fmt.Sprintf("%s exceeds AWS STS's maximum of %s", d, maxRoleSession))
	}
	if u.RoleSessionName != "" && !roleSessionRE.MatchString(u.RoleSessionName) {
		v.add("upstream.role_session_name", "must be 2 to 64 letters, digits or _+=,.@-")
	}
	for _, name := range slices.Sorted(maps.Keys(u.Buckets)) {
		b := u.Buckets[name]
		path := "upstream.buckets." + name
		if !bucketRE.MatchString(name) {
			v.add(path, "is not a valid S3 bucket name")
		}
		v.endpoint(path+".endpoint", b.Endpoint)
		v.region(path+".region", b.Region, false)
		v.roleARN(path+".role_arn", b.RoleARN)
		v.cors(path+".cors", b)
	}

	// admin
	a := c.Admin
	switch {
	case a.AccessKeyID == "" && a.SecretAccessKey == "":
	case a.AccessKeyID == "" || a.SecretAccessKey == "":
		v.add("admin", "set both access_key_id and secret_access_key, or neither")
	default:
		if !accessKeyIDRE.MatchString(a.AccessKeyID) {
			v.add("admin.access_key_id", "must be 16 to 128 letters and digits")
		}
		if len(a.SecretAccessKey) < minAdminSecretLen || strings.ContainsAny(a.SecretAccessKey, " \t\r\n") {
			v.add("admin.secret_access_key", fmt.Sprintf("must be at least %d characters without spaces", minAdminSecretLen))
		}
	}

	if a.Token != "" && (!strings.HasPrefix(a.Token, "lgt_") || len(a.Token) < 24 || strings.ContainsAny(a.Token, " \t\r\n")) {
		v.add("admin.token", "must start with lgt_ and be at least 24 characters without spaces")
	}
	for _, g := range a.Groups {
		if g == "" || strings.TrimSpace(g) != g {
			v.add("admin.groups", fmt.Sprintf("group %q is empty or has leading or trailing space", g))
		}
	}

	// auth, groups, credentials
	j := c.Auth.JWT
	if n := len(j.Algorithms); len(j.PublicKeys) > 0 && n != len(j.PublicKeys) && n != 1 {
		v.add("auth.jwt.algorithms", fmt.Sprintf("give one algorithm, or one per public key (%d keys, %d algorithms)", len(j.PublicKeys), n))
	}
	if len(j.Algorithms) > 0 && len(j.PublicKeys) == 0 {
		v.add("auth.jwt.algorithms", "set only with auth.jwt.public_keys")
	}
	v.positive("auth.jwt.max_lifetime", j.MaxLifetime)
	if j.Issuer != "" && j.IssuerURL != "" && j.Issuer != j.IssuerURL {
		v.add("auth.jwt.issuer", "differs from auth.jwt.issuer_url; tokens could never match both")
	}
	for _, u := range []struct{ path, value string }{
		{"auth.jwt.jwks_url", j.JWKSURL}, {"auth.jwt.issuer_url", j.IssuerURL}, {"auth.jwt.server_url", j.ServerURL},
		{"groups.resolver_url", c.Groups.ResolverURL},
	} {
		if u.value != "" {
			if p, err := url.Parse(u.value); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				v.add(u.path, "must be an http:// or https:// URL")
			}
		}
	}
	if l := c.Auth.LDAP; l.Host == "" && (l.BaseDN != "" || l.BindDN != "" || l.UserDNTemplate != "") {
		v.add("auth.ldap.host", "required when other auth.ldap settings are set")
	} else if l.Port < 0 || l.Port > 65535 {
		v.add("auth.ldap.port", "must be 0 (the default for the scheme) to 65535")
	}
	if c.Auth.Kerberos.Principal != "" && c.Auth.Kerberos.Keytab == "" {
		v.add("auth.kerberos.keytab", "required when auth.kerberos.principal is set")
	}
	if s := c.Auth.SSOURL; s != "" {
		if p, err := url.Parse(s); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			v.add("auth.sso_url", "must be an http:// or https:// URL")
		}
		if !j.Configured() {
			v.add("auth.sso_url", "needs JWT verification for the tokens it issues: set auth.jwt.public_keys, jwks_url, issuer_url or server_url")
		}
	}
	if strings.TrimSpace(c.Groups.Required) != c.Groups.Required {
		v.add("groups.required", "must not start or end with spaces")
	}
	if c.Groups.CacheTTL < 0 {
		v.add("groups.cache_ttl", "must not be negative")
	}
	if c.CredentialTTL < time.Minute || c.CredentialTTL > 7*24*time.Hour {
		v.add("credential_ttl", "must be between 1m and 168h")
	}

	// log
	v.oneOf("log.level", c.Log.Level, logLevels)
	v.oneOf("log.format", c.Log.Format, logFormats)

	c.Audit.validate(&v)

	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(path, msg string) { v.errs = append(v.errs, fmt.Errorf("%s: %s", path, msg)) }

func (v *validator) required(path, val string) {
	if val == "" {
		v.add(path, "is required")
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "must be positive")
	}
}

func (v *validator) atLeastOne(path string, n int) {
	if n < 1 {
		v.add(path, "must be at least 1")
	}
}

// isOrigin accepts a browser origin: http or https, a host, an optional
// port, and nothing else (no path, query, user or trailing slash).
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil && !u.ForceQuery &&
		s == u.Scheme+"://"+u.Host
}

func (v *validator) oneOf(path, val string, allowed []string) {
	if !slices.Contains(allowed, val) {
		v.add(path, fmt.Sprintf("%q is not one of %s", val, strings.Join(allowed, ", ")))
	}
}

// listenAddr accepts "" (disabled), ":port" and "host:port", port 0..65535.
func (v *validator) listenAddr(path, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, fmt.Sprintf("%q is not host:port", addr))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path, fmt.Sprintf("%q has an invalid port", addr))
	}
}

// distinctAddrs reports listen addresses configured twice (port 0 excepted).
func (v *validator) distinctAddrs(addrs map[string]string) {
	seen := map[string]string{}
	for _, path := range slices.Sorted(maps.Keys(addrs)) {
		addr := addrs[path]
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
			continue
		}
		if other, ok := seen[addr]; ok {
			v.add(path, fmt.Sprintf("%q is also %s", addr, other))
			continue
		}
		seen[addr] = path
	}
}

// publicURL accepts "" and an http(s) URL with a host and perhaps a path
// (a reverse proxy's prefix), nothing else: no user, query or fragment.
func (v *validator) publicURL(path, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		v.add(path, fmt.Sprintf("%q is not an http(s) URL (scheme://host[:port][/path], no user, query or fragment)", raw))
	}
}

func (v *validator) tlsPair(path, cert, key string) {
	if (cert == "") != (key == "") {
		v.add(path, "set both tls_cert_file and tls_key_file, or neither")
	}
}

func (v *validator) endpoint(path, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, fmt.Sprintf("%q is not an http(s) URL", raw))
		return
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		v.add(path, fmt.Sprintf("%q must be scheme://host[:port] only", raw))
	}
}

// roleARN accepts "" and IAM role ARNs, arn:aws[-partition]:iam::<account>:role/[path/]name.
func (v *validator) roleARN(path, arn string) {
	if arn != "" && !roleARNRE.MatchString(arn) {
		v.add(path, fmt.Sprintf("%q is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)", arn))
	}
}

func (v *validator) region(path, region string, required bool) {
	if region == "" {
		if required {
			v.add(path, "is required")
		}
		return
	}
	if !regionRE.MatchString(region) {
		v.add(path, fmt.Sprintf("%q is not a region name", region))
	}
}

// validMemoryLimit reports whether s is a DuckDB memory_limit: a number
// and a unit (KB, MB, GB, TB, KiB…).
func validMemoryLimit(s string) bool {
	num := strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsLetter(r) || r == ' ' })
	unit := strings.TrimSpace(s[len(num):])
	if f, err := strconv.ParseFloat(num, 64); err != nil || f <= 0 || unit == "" {
		return false
	}
	switch strings.ToUpper(unit) {
	case "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB":
		return true
	}
	return false
}
