// Package config holds lakegate's one configuration: a documented Config
// struct, its defaults, loading from a YAML file with LAKEGATE_* environment
// overrides and Okera's property names as aliases, validation that reports
// every problem at once, and a redacted YAML rendering for
// `lakegate config print`.
//
// Precedence, lowest first: Default(), the YAML file, the environment.
// Environment variable names are derived from YAML paths: proxy.addr is
// LAKEGATE_PROXY_ADDR, upstream.secret_access_key is
// LAKEGATE_UPSTREAM_SECRET_ACCESS_KEY; list values are comma separated.
// Per-bucket upstream settings (upstream.buckets) have no environment form.
package config

import (
	"net"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/store"
)

// Config is the whole lakegate configuration. The yaml tags are the file's
// key names; every scalar field also has an environment override (see the
// package documentation and EnvVars).
type Config struct {
	// DataDir holds the SQLite policy store and other local state.
	// A leading "~/" is expanded to the user's home directory.
	DataDir string `yaml:"data_dir"`

	Proxy    Proxy    `yaml:"proxy"`
	REST     REST     `yaml:"rest"`
	SQL      SQL      `yaml:"sql"`
	Scan     Scan     `yaml:"scan"`
	Store    Store    `yaml:"store"`
	Upstream Upstream `yaml:"upstream"`
	Admin    Admin    `yaml:"admin"`
	Auth     Auth     `yaml:"auth"`
	Groups   Groups   `yaml:"groups"`
	System   System   `yaml:"system"`
	Log      Log      `yaml:"log"`
	Audit    Audit    `yaml:"audit"`
	// CredentialTTL is how long AWS-style keys issued by
	// /api/aws-credentials last (Okera: GO_REST_AWS_TOKEN_EXPIRY).
	CredentialTTL time.Duration `yaml:"credential_ttl"`
}

// Scan bounds the data plane's queries (REST /api/scan, Flight SQL,
// lakegate query), each run in an embedded DuckDB database of its own.
type Scan struct {
	// MaxRows bounds the rows one result returns; past it the result is
	// cut and marked truncated.
	MaxRows int64 `yaml:"max_rows"`
	// MaxBytes bounds the bytes of files one query reads.
	MaxBytes int64 `yaml:"max_bytes"`
	// Timeout bounds one query, from its start to its last row.
	Timeout time.Duration `yaml:"timeout"`
	// MemoryLimit is DuckDB's memory_limit per query ("1GB", "512MB").
	MemoryLimit string `yaml:"memory_limit"`
	// Threads is DuckDB's threads per query; 0 means DuckDB's default
	// (the CPUs).
	Threads int `yaml:"threads"`
	// TempDir holds each query's spill files; "" means the data dir.
	TempDir string `yaml:"temp_dir"`
}

// Defaults of Scan.
const (
	DefaultScanMaxRows     = 100_000
	DefaultScanMaxBytes    = 10 << 30
	DefaultScanTimeout     = 5 * time.Minute
	DefaultScanMemoryLimit = "1GB"
)

// Auth configures how users prove who they are to the REST API (seed
// 002). lakegate's own tokens always work; each method below is on when
// configured.
type Auth struct {
	JWT      JWT      `yaml:"jwt"`
	LDAP     LDAP     `yaml:"ldap"`
	Kerberos Kerberos `yaml:"kerberos"`
	// SSOURL is Okera's external token-granting endpoint (SSO_URL): when
	// set, user name and password logins (Basic on the REST API, `lakegate
	// login`) are POSTed there as {"username": …, "password": …}, and the
	// token it answers with, verified with the auth.jwt settings, is the
	// login's token. LDAP then only resolves groups.
	SSOURL string `yaml:"sso_url"`
}

// JWT configures bearer JSON Web Tokens.
type JWT struct {
	// PublicKeys are PEM files (PKCS#8/PKIX public keys or certificates);
	// Algorithms names each one's algorithm (RS256, RS512, ES256, EdDSA;
	// one algorithm for all keys is accepted). Okera: JWT_PUBLIC_KEY and
	// JWT_ALGORITHM, comma-separated.
	PublicKeys []string `yaml:"public_keys"`
	Algorithms []string `yaml:"algorithms"`
	// JWKSURL is a JSON Web Key Set, refreshed periodically and when a
	// token names an unknown key.
	JWKSURL string `yaml:"jwks_url"`
	// IssuerURL enables OIDC discovery of the key set.
	IssuerURL string `yaml:"issuer_url"`
	// Audience, when set, must be among a token's aud values.
	Audience string `yaml:"audience"`
	// ServerURL validates tokens remotely, before the keys are tried
	// (Okera: JWT_AUTHENTICATION_SERVER_URL).
	ServerURL string `yaml:"server_url"`
	// Issuer, when set, must be the iss claim of every token verified with
	// a key (with IssuerURL it may only repeat it).
	Issuer string `yaml:"issuer"`
	// MaxLifetime bounds how long a token verified with a key may be
	// valid: it must carry exp, and neither exp-iat nor exp-now may exceed
	// MaxLifetime. A token without exp is refused.
	MaxLifetime time.Duration `yaml:"max_lifetime"`
}

// Configured reports whether any JWT method is set.
func (j JWT) Configured() bool {
	return len(j.PublicKeys) > 0 || j.JWKSURL != "" || j.IssuerURL != "" || j.ServerURL != ""
}

// LDAP configures user name and password logins and LDAP group lookups,
// under Okera's OKERA_GROUP_RESOLVER_LDAP_* names.
type LDAP struct {
	// Host is a host name or an ldap:// or ldaps:// URL; LDAP is off
	// when it is empty.
	Host               string `yaml:"host"`
	Port               int    `yaml:"port"`
	UseSSL             bool   `yaml:"use_ssl"`
	UseStartTLS        bool   `yaml:"use_starttls"`
	CAFile             string `yaml:"ca_file"`
	BaseDN             string `yaml:"base_dn"`
	BindDN             string `yaml:"bind_dn"`
	BindPassword       string `yaml:"bind_password"`
	UserSearchFilter   string `yaml:"user_search_filter"`
	GroupSearchFilter  string `yaml:"group_search_filter"`
	UserDNTemplate     string `yaml:"user_dn_template"`
	GroupSearchBase    string `yaml:"group_search_base"`
	GroupNameAttribute string `yaml:"group_name_attribute"`
}

// Kerberos configures SPNEGO (curl --negotiate) on the REST API.
type Kerberos struct {
	// Keytab is the service keytab file; Kerberos is off when it is empty.
	Keytab string `yaml:"keytab"`
	// Principal is the service principal, e.g. HTTP/lakegate.example.com
	// (with @REALM to pin the realm); empty accepts any principal in the
	// keytab. Okera: OKERA_KERBEROS_PRINCIPAL.
	Principal string `yaml:"principal"`
}

// System configures the token lakegate's own processes present to each
// other (seed 001): an nScale proxy authenticates to the policy server with
// it. With PrivateKey set the process mints its own token, subject
// "lakegate", lasting TokenDuration, and renews it before it expires; a
// server with PrivateKey also accepts such tokens. Otherwise TokenFile
// names a file holding a ready token (its own expiry applies). The private
// key wins when both are set.
type System struct {
	// PrivateKey is a PEM private key file (RSA, ECDSA P-256 or Ed25519;
	// the token is signed RS256, ES256 or EdDSA). Okera: JWT_PRIVATE_KEY.
	PrivateKey string `yaml:"private_key"`
	// TokenFile is a file holding a system token. Okera: SYSTEM_TOKEN.
	TokenFile string `yaml:"token_file"`
	// TokenDuration is the lifetime of a minted token. Okera:
	// SYSTEM_TOKEN_DURATION_MIN, in minutes.
	TokenDuration time.Duration `yaml:"token_duration"`
}

// Groups configures group resolution (seed 002's order).
type Groups struct {
	// ResolverURL is a REST group resolver: GET <url>/<user> answers
	// {"groups": […]} (Okera: OKERA_GROUP_RESOLVER_URL).
	ResolverURL string `yaml:"resolver_url"`
	// Required is a group every user must be in, catalog admins excepted
	// (Okera: OKERA_REQUIRED_GROUP_MEMBERSHIP).
	Required string `yaml:"required"`
	// CacheTTL is how long resolved groups are reused; zero disables.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// Proxy configures the S3 access proxy listeners.
//
// The proxy sets no read or write timeout on requests: object bodies stream
// for as long as they take. Slow-loris protection comes from
// ReadHeaderTimeout, idle keep-alive connections are closed after
// IdleTimeout, and a request body that stops arriving for BodyIdleTimeout
// fails (its upstream request is aborted). A client that stops reading its
// response for WriteIdleTimeout loses its connection.
//
// What is read before a request's signature is verified is bounded: headers
// by ReadHeaderTimeout and MaxHeaderBytes, the fields of a POST form before
// its file by PreAuthTimeout and PreAuthMaxBytes. Each listener serves at
// most MaxConnections (TLSMaxConnections) connections at once; further
// clients wait to be accepted.
type Proxy struct {
	// Addr is the plain-HTTP listen address (host:port); empty disables it.
	Addr string `yaml:"addr"`
	// TLSAddr is the HTTPS listen address; it needs TLSCertFile and
	// TLSKeyFile. Empty disables it.
	TLSAddr     string `yaml:"tls_addr"`
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// BaseDomains enable virtual-hosted-style requests: a Host of
	// <bucket>.<base domain> names the bucket. Path style always works.
	BaseDomains []string `yaml:"base_domains"`
	// AllowSigV2 accepts legacy Signature Version 2 requests.
	AllowSigV2 bool `yaml:"allow_sigv2"`
	// MaxClockSkew bounds the difference between a request's signing time
	// and the proxy's clock.
	MaxClockSkew time.Duration `yaml:"max_clock_skew"`
	// MaxPresignExpiry bounds the lifetime of presigned URLs (S3's own limit
	// is 7 days).
	MaxPresignExpiry time.Duration `yaml:"max_presign_expiry"`
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds the size of request headers.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// BodyIdleTimeout bounds the wait for each read of a request body.
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout"`
	// WriteIdleTimeout bounds each write to a client: one that accepts no
	// byte of its response for this long loses the connection. A slow
	// download that keeps reading is never cut.
	WriteIdleTimeout time.Duration `yaml:"write_idle_timeout"`
	// PreAuthTimeout bounds the time a client may take to send what the
	// proxy reads before verifying its signature beyond the headers: the
	// fields of a POST form before its file.
	PreAuthTimeout time.Duration `yaml:"preauth_timeout"`
	// PreAuthMaxBytes bounds the bytes of a POST form before its file
	// (S3's MaxPostPreDataLengthExceeded beyond it).
	PreAuthMaxBytes int `yaml:"preauth_max_bytes"`
	// MaxConnections and TLSMaxConnections bound the connections the plain
	// and the TLS listener serve at once; more wait to be accepted.
	MaxConnections    int `yaml:"max_connections"`
	TLSMaxConnections int `yaml:"tls_max_connections"`

	// The settings below apply to `lakegate proxy` (nScale mode), which
	// asks a policy server instead of reading the policy store.

	// Server is the policy server's REST URL, e.g. https://lakegate:8083.
	Server string `yaml:"server"`
	// UserPermissionTTL bounds how long an allow decision is reused (seed
	// 004's user permission cache); changes pushed by the server's change
	// feed invalidate entries at once, so this is only a safety net.
	UserPermissionTTL time.Duration `yaml:"user_permission_ttl"`
	// MaxStaleness is how long, with the policy server unreachable, cached
	// allow decisions and verified keys are still honoured; everything
	// else is denied at once, and everything after this bound.
	MaxStaleness time.Duration `yaml:"max_staleness"`
	// MetricsAddr serves /metrics and /health for the proxy alone; empty
	// disables it.
	MetricsAddr string `yaml:"metrics_addr"`
}

// REST configures the REST API listener (health, and later tokens, grants
// and the UI).
type REST struct {
	// Addr is the listen address; empty disables the REST server.
	Addr string `yaml:"addr"`
	// TLSCertFile and TLSKeyFile, when both set, make Addr serve HTTPS.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// MaxConnections bounds the connections served at once; more wait to
	// be accepted.
	MaxConnections int `yaml:"max_connections"`
	// AllowedOrigins are origins (scheme://host[:port]) besides the
	// server's own whose browsers may send state-changing requests (POST,
	// DELETE); any other Origin is refused.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MetricsAddr, when set, serves /metrics (and /health) without
	// authentication on its own address, e.g. 127.0.0.1:9090 for a local
	// Prometheus. /metrics on Addr always needs a catalog admin's
	// credentials or a system token.
	MetricsAddr string `yaml:"metrics_addr"`
	// PublicURL is the URL clients use to reach the REST server, e.g.
	// https://lakegate.example:8083 (behind a load balancer, its
	// address). The access proxy names its scan API in the refusals of
	// users whose table grants are restricted. Empty means RESTURL's
	// default, http(s)://<Addr's host, 127.0.0.1 when unspecified>:<port>,
	// and for `lakegate proxy` the policy server it talks to.
	PublicURL string `yaml:"public_url"`
}

// SQL configures the Arrow Flight SQL listener of the data plane, for BI
// tools and JDBC/ADBC drivers (Okera's SQL API port is 14050). It
// authenticates as the REST API does: bearer lakegate tokens and JWTs,
// Basic with a user name and a lakegate token or an LDAP/SSO password.
type SQL struct {
	// Addr is the listen address, e.g. ":14050"; empty (the default)
	// disables the listener.
	Addr string `yaml:"addr"`
	// TLSCertFile and TLSKeyFile, when both set, make Addr serve gRPC
	// over TLS.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// MaxConnections bounds the connections served at once; more wait to
	// be accepted.
	MaxConnections int `yaml:"max_connections"`
	// MaxConcurrentStreams bounds the calls in flight on one connection.
	MaxConcurrentStreams int `yaml:"max_concurrent_streams"`
	// IdleTimeout closes a connection without calls for that long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// TicketTTL is how long a statement ticket (a query accepted by
	// GetFlightInfo, run at DoGet) stays valid.
	TicketTTL time.Duration `yaml:"ticket_ttl"`
}

// RESTURL returns rest.public_url, or when it is empty the URL of the
// REST listener as seen from this host: http (https with a certificate)
// to rest.addr, its host 127.0.0.1 when unspecified; "" when rest.addr is
// empty or not host:port.
func (r REST) RESTURL() string {
	if r.PublicURL != "" {
		return strings.TrimSuffix(r.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(r.Addr)
	if r.Addr == "" || err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if r.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Store selects the policy store. Several servers may share one
// PostgreSQL or MySQL database; SQLite serves one server (one host).
type Store struct {
	// Driver is the database kind: sqlite, postgres (PostgreSQL 13 and
	// later) or mysql (MySQL 5.7 and 8.0, MariaDB 10.6 and later).
	Driver string `yaml:"driver"`
	// DSN is the data source:
	//   - sqlite: a file path; empty means <data_dir>/lakegate.db.
	//   - postgres: a URL, postgres://user:password@host:5432/database?sslmode=verify-full,
	//     or keyword=value pairs, host=… port=5432 user=… password=…
	//     dbname=… sslmode=verify-full (libpq's formats; PG* environment
	//     variables and ~/.pgpass fill what is left out; in a URL,
	//     percent-encode a password's reserved characters).
	//   - mysql: user:password@tcp(host:3306)/database?tls=true
	//     (go-sql-driver/mysql's format; a password with special characters
	//     needs no escaping, the database is required).
	// The password is best given with the environment,
	// LAKEGATE_STORE_DSN, than written here; `config print` masks it.
	DSN string `yaml:"dsn"`
	// MaxOpenConns bounds the connections each server opens to a postgres
	// or mysql database; at least 2. Every server sharing the database
	// opens as many, plus one for change notifications: their sum must
	// stay under the database's connection limit (on Amazon RDS about 80
	// on the smallest instances, less what other clients use).
	MaxOpenConns int `yaml:"max_open_conns"`
	// MaxIdleConns bounds the open connections kept idle; 0 keeps none,
	// at most max_open_conns.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// ConnMaxLifetime closes connections once this old (so that a fail
	// over or a DNS change is followed); 0 means never.
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
	// ConnMaxIdleTime closes connections idle this long; 0 means never.
	ConnMaxIdleTime time.Duration `yaml:"conn_max_idle_time"`
	// ConnectTimeout bounds establishing one connection (DNS, TCP, TLS,
	// authentication), unless the DSN sets connect_timeout (postgres) or
	// timeout (mysql).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// StatementTimeout bounds one statement, waiting for a lock included,
	// unless the DSN sets statement_timeout (postgres) or readTimeout
	// (mysql); 0 means none.
	StatementTimeout time.Duration `yaml:"statement_timeout"`
	// MaxStaleness bounds how long the policy in force may go without
	// being reloaded from the store: past it, with the store unreadable
	// (or a policy it cannot compile, or a load exceeding
	// statement_timeout), every request is refused with 503, by this
	// server and by the node proxies following it, rather than decided
	// on a policy that may miss a REVOKE made through another server.
	// Must be positive.
	MaxStaleness time.Duration `yaml:"max_staleness"`
	// EncryptionKeyFile, when set, is a file (mode 0600) of keys that
	// encrypt the secrets the store holds (access key secrets, the listing
	// seal key) with AES-256-GCM: one "<id>:<base64 of 32 bytes>" per line,
	// the first encrypting, all decrypting (see store.ParseKeyring and
	// README "Secrets at rest"). Empty means they are stored in plaintext.
	EncryptionKeyFile string `yaml:"encryption_key_file"`
}

// Options returns the store.Options s describes. Zero durations and a
// zero MaxIdleConns, which mean "never" and "none" here, become the
// negative values that mean so to store.OpenWith (whose zero is its
// default).
func (s Store) Options() store.Options {
	never := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	idle := s.MaxIdleConns
	if idle == 0 {
		idle = -1
	}
	return store.Options{
		Driver: s.Driver, DSN: s.DSN,
		MaxOpenConns: s.MaxOpenConns, MaxIdleConns: idle,
		ConnMaxLifetime: never(s.ConnMaxLifetime), ConnMaxIdleTime: never(s.ConnMaxIdleTime),
		ConnectTimeout: s.ConnectTimeout, StatementTimeout: never(s.StatementTimeout),
	}
}

// Upstream says where authorized requests go and how they are signed.
type Upstream struct {
	// Endpoint is the S3 base URL, e.g. http://127.0.0.1:9000; empty means
	// AWS S3 in Region.
	Endpoint string `yaml:"endpoint"`
	// Region is the default signing region (Okera: okerafs.default.region).
	Region string `yaml:"region"`
	// PathStyle sends /bucket/key instead of bucket.host/key.
	PathStyle bool `yaml:"path_style"`
	// SignPayload signs request bodies for the upstream always. By
	// default a body the proxy verified goes unsigned (UNSIGNED-PAYLOAD)
	// when the channel itself protects it: https, or a loopback address.
	SignPayload bool `yaml:"sign_payload"`
	// AccessKeyID, SecretAccessKey and SessionToken are static system
	// credentials. When AccessKeyID is empty the AWS default chain is used
	// (environment, shared profile Profile, web identity, container and
	// instance roles).
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
	// Profile names the shared-config profile for the default chain.
	Profile string `yaml:"profile"`
	// RoleARN is the IAM role assumed through STS, with the credentials
	// above, to sign requests to buckets without a role_arn of their own
	// (Okera: OKERA_SYSTEM_IAM_ROLE_ARN). Empty: those credentials sign
	// them directly.
	RoleARN string `yaml:"role_arn"`
	// STSEndpoint is the STS base URL for private endpoints and tests;
	// empty leaves it to the AWS SDK (regional endpoint of Region, or
	// AWS_ENDPOINT_URL_STS).
	STSEndpoint string `yaml:"sts_endpoint"`
	// RoleSessionDuration is the length of assumed-role sessions; they are
	// renewed a quarter of it (at most 5 minutes) or more before they end.
	// AWS accepts 15m up to the role's maximum session duration (12h).
	RoleSessionDuration time.Duration `yaml:"role_session_duration"`
	// RoleSessionName names the assumed-role sessions (seen in CloudTrail).
	RoleSessionName string `yaml:"role_session_name"`
	// Buckets overrides endpoint, region, addressing or signing role per
	// bucket (Okera: okerafs.<bucket>.region; the bucket role map).
	Buckets map[string]Bucket `yaml:"buckets"`
}

// Bucket overrides the upstream target for one bucket. Empty fields inherit
// the default upstream's.
type Bucket struct {
	Endpoint string `yaml:"endpoint,omitempty"`
	Region   string `yaml:"region,omitempty"`
	// PathStyle, when set, overrides upstream.path_style for this bucket.
	PathStyle *bool `yaml:"path_style,omitempty"`
	// RoleARN is the IAM role assumed to sign this bucket's requests
	// (Okera's bucket role map); empty inherits upstream.role_arn.
	RoleARN string `yaml:"role_arn,omitempty"`
	// CORS, when set, are the bucket's CORS rules, used instead of the
	// backend's (GET ?cors): for backends that do not implement bucket
	// CORS, such as MinIO.
	CORS []CORSRule `yaml:"cors,omitempty"`
}

// CORSRule is one CORS rule of a bucket, as S3's CORSRule: an Origin
// matching one of AllowedOrigins (each with at most one "*") may send
// AllowedMethods (GET, PUT, POST, DELETE, HEAD) with AllowedHeaders (each
// with at most one "*"); scripts may read ExposeHeaders; browsers cache
// the preflight's answer MaxAgeSeconds.
type CORSRule struct {
	ID             string   `yaml:"id,omitempty"`
	AllowedOrigins []string `yaml:"allowed_origins"`
	AllowedMethods []string `yaml:"allowed_methods"`
	AllowedHeaders []string `yaml:"allowed_headers,omitempty"`
	ExposeHeaders  []string `yaml:"expose_headers,omitempty"`
	MaxAgeSeconds  *int     `yaml:"max_age_seconds,omitempty"`
}

// Admin is the bootstrap admin: user "admin", listed in the users table in
// group "admin", which a new policy store makes catalog admin (role
// admin_role, ALL ON SERVER). Only the users table confers that group:
// a JWT claim, a group resolver, LDAP or the host naming a group "admin"
// (in any case) does not, unless Groups names it. Its access key is
// upserted into the store at start when both key fields are set, its REST
// bearer token when Token is set. With neither, `lakegate serve` creates
// a token in <data_dir>/admin-token (mode 0600) and says so.
type Admin struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// Token authenticates the REST API (lakegate sql, users, check) as the
	// admin; it must start with "lgt_".
	Token string `yaml:"token"`
	// Groups are the groups (from JWTs, the group resolver, LDAP or the
	// host) whose members are catalog admins: at each start the role
	// config_admin_role (ALL ON SERVER) is granted to exactly these groups,
	// so a group removed here loses it. None by default: only the
	// bootstrap user, and groups an admin grants ALL ON SERVER, are
	// catalog admins.
	Groups []string `yaml:"groups"`
}

// Log configures logging (always to stderr).
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Defaults for fields whose zero value is not the default.
const (
	DefaultDataDir           = "~/.lakegate/data"
	DefaultProxyAddr         = ":5010"
	DefaultRESTAddr          = ":8083"
	DefaultRegion            = "us-east-1"
	DefaultGroupCacheTTL     = 5 * time.Minute
	DefaultCredentialTTL     = 12 * time.Hour
	DefaultStoreDriver       = "sqlite"
	DefaultMaxClockSkew      = 15 * time.Minute
	DefaultMaxPresignExpiry  = 7 * 24 * time.Hour
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultBodyIdleTimeout   = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultWriteIdleTimeout  = 60 * time.Second
	DefaultPreAuthTimeout    = 20 * time.Second
	DefaultPreAuthMaxBytes   = 64 << 10
	DefaultMaxConnections    = 4096
	DefaultRESTConnections   = 1024
	DefaultSQLConnections    = 1024
	DefaultSQLStreams        = 64
	DefaultSQLIdleTimeout    = 5 * time.Minute
	DefaultSQLTicketTTL      = 10 * time.Minute
	DefaultJWTMaxLifetime    = 24 * time.Hour
	DefaultSystemTokenTTL    = 24 * time.Hour
	DefaultUserPermissionTTL = time.Hour
	DefaultMaxStaleness      = 5 * time.Minute
	DefaultRoleSessionTTL    = time.Hour
	DefaultRoleSessionName   = "lakegate"
	// SQLiteFile is the store file name inside DataDir when Store.DSN is
	// empty.
	SQLiteFile = "lakegate.db"
)

// Default returns the configuration used when nothing is set.
func Default() *Config {
	return &Config{
		DataDir: DefaultDataDir,
		Proxy: Proxy{
			Addr:              DefaultProxyAddr,
			AllowSigV2:        true,
			MaxClockSkew:      DefaultMaxClockSkew,
			MaxPresignExpiry:  DefaultMaxPresignExpiry,
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			BodyIdleTimeout:   DefaultBodyIdleTimeout,
			WriteIdleTimeout:  DefaultWriteIdleTimeout,
			PreAuthTimeout:    DefaultPreAuthTimeout,
			PreAuthMaxBytes:   DefaultPreAuthMaxBytes,
			MaxConnections:    DefaultMaxConnections,
			TLSMaxConnections: DefaultMaxConnections,
			UserPermissionTTL: DefaultUserPermissionTTL,
			MaxStaleness:      DefaultMaxStaleness,
		},
		System: System{TokenDuration: DefaultSystemTokenTTL},
		REST:   REST{Addr: DefaultRESTAddr, MaxConnections: DefaultRESTConnections},
		SQL: SQL{MaxConnections: DefaultSQLConnections, MaxConcurrentStreams: DefaultSQLStreams,
			IdleTimeout: DefaultSQLIdleTimeout, TicketTTL: DefaultSQLTicketTTL},
		Scan: Scan{MaxRows: DefaultScanMaxRows, MaxBytes: DefaultScanMaxBytes, Timeout: DefaultScanTimeout,
			MemoryLimit: DefaultScanMemoryLimit},
		Auth:          Auth{JWT: JWT{MaxLifetime: DefaultJWTMaxLifetime}},
		Groups:        Groups{CacheTTL: DefaultGroupCacheTTL},
		CredentialTTL: DefaultCredentialTTL,
		Store: Store{
			Driver:           DefaultStoreDriver,
			MaxOpenConns:     store.DefaultMaxOpenConns,
			MaxIdleConns:     store.DefaultMaxIdleConns,
			ConnMaxLifetime:  store.DefaultConnMaxLifetime,
			ConnMaxIdleTime:  store.DefaultConnMaxIdleTime,
			ConnectTimeout:   store.DefaultConnectTimeout,
			StatementTimeout: store.DefaultStatementTimeout,
			MaxStaleness:     authz.DefaultMaxStaleness,
		},
		Upstream: Upstream{Region: DefaultRegion, RoleSessionDuration: DefaultRoleSessionTTL, RoleSessionName: DefaultRoleSessionName},
		Log:      Log{Level: "info", Format: "text"},
		Audit:    defaultAudit(),
	}
}
