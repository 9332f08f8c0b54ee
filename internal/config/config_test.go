package config_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/config"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// env returns a LookupEnv over m, so tests never read the real environment.
func env(m map[string]string) config.LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// writeYAML writes content to a temporary config file and returns its path.
func writeYAML(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lakegate.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPrintGolden(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	tests := []struct {
		name, input string
		env         map[string]string
	}{
		{name: "default"},
		{name: "full", input: "testdata/full.yaml"},
		{name: "env", env: map[string]string{
			"LAKEGATE_PROXY_ADDR":                  "127.0.0.1:0",
			"LAKEGATE_UPSTREAM_ENDPOINT":           "http://minio:9000",
			"LAKEGATE_UPSTREAM_ACCESS_KEY_ID":      "AKIAENVENVENV",
			"LAKEGATE_UPSTREAM_SECRET_ACCESS_KEY":  "from-env",
			"LAKEGATE_PROXY_BASE_DOMAINS":          "a.example, b.example",
			"LAKEGATE_DATA_DIR":                    "~/lg",
			"LAKEGATE_ADMIN_SECRET_ACCESS_KEY":     "",
			"LAKEGATE_PROXY_MAX_PRESIGN_EXPIRY":    "1h30m",
			"LAKEGATE_UPSTREAM_SESSION_TOKEN":      "tok",
			"LAKEGATE_LOG_FORMAT":                  "json",
			"LAKEGATE_PROXY_ALLOW_SIGV2":           "false",
			"LAKEGATE_PROXY_MAX_HEADER_BYTES":      "8192",
			"LAKEGATE_UPSTREAM_PATH_STYLE":         "true",
			"LAKEGATE_REST_ADDR":                   "",
			"LAKEGATE_STORE_DRIVER":                "sqlite",
			"LAKEGATE_PROXY_READ_HEADER_TIMEOUT":   "3s",
			"LAKEGATE_PROXY_IDLE_TIMEOUT":          "0s",
			"LAKEGATE_PROXY_MAX_CLOCK_SKEW":        "1m",
			"LAKEGATE_UPSTREAM_REGION":             "eu-north-1",
			"LAKEGATE_UPSTREAM_PROFILE":            "",
			"LAKEGATE_PROXY_TLS_ADDR":              "",
			"LAKEGATE_LOG_LEVEL":                   "warn",
			"LAKEGATE_STORE_DSN":                   "",
			"LAKEGATE_ADMIN_ACCESS_KEY_ID":         "",
			"LAKEGATE_PROXY_TLS_CERT_FILE":         "",
			"LAKEGATE_PROXY_TLS_KEY_FILE":          "",
			"LAKEGATE_REST_TLS_CERT_FILE":          "",
			"LAKEGATE_REST_TLS_KEY_FILE":           "",
			"LAKEGATE_SCAN_MAX_ROWS":               "5000",
			"LAKEGATE_SCAN_MAX_BYTES":              "1048576",
			"LAKEGATE_NOT_A_SETTING_IS_IGNORED":    "x",
			"LAKEGATE_UPSTREAM_BUCKETS_X_REGION":   "ignored",
			"LAKEGATE_PROXY_BASE_DOMAINS_EXTRA_NO": "ignored",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(tt.input, env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			var buf bytes.Buffer
			if err := cfg.Print(&buf); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("config print differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", golden, got, want)
			}
			for _, secret := range []string{"do-not-print-me", "super-secret-admin-key", "from-env", "tok\n"} {
				if strings.Contains(buf.String(), secret) {
					t.Errorf("output leaks secret %q", secret)
				}
			}
		})
	}
}

func TestRedactedDoesNotModifyOriginal(t *testing.T) {
	cfg := config.Default()
	cfg.Upstream.SecretAccessKey = "s3cr3t"
	cfg.Admin.SecretAccessKey = "adm1n"
	r := cfg.Redacted()
	if r.Upstream.SecretAccessKey != config.Redacted || r.Admin.SecretAccessKey != config.Redacted {
		t.Errorf("secrets not redacted: %+v %+v", r.Upstream, r.Admin)
	}
	if r.Upstream.SessionToken != "" {
		t.Errorf("empty secret became %q, want it left empty", r.Upstream.SessionToken)
	}
	if cfg.Upstream.SecretAccessKey != "s3cr3t" || cfg.Admin.SecretAccessKey != "adm1n" {
		t.Error("Redacted modified the original")
	}
}

// TestPrintMasksStorePassword: store.dsn is not a secret field, but a
// PostgreSQL or MySQL DSN may hold a password, which config print masks.
func TestPrintMasksStorePassword(t *testing.T) {
	for driver, dsn := range map[string]string{
		"postgres": "postgres://lakegate:pw-S3cret@db.example.com:5432/lakegate?sslmode=verify-full",
		"mysql":    "lakegate:pw-S3cret@tcp(db.example.com:3306)/lakegate?tls=true",
	} {
		cfg := config.Default()
		cfg.Store.Driver, cfg.Store.DSN = driver, dsn
		var out bytes.Buffer
		if err := cfg.Print(&out); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "pw-S3cret") || !strings.Contains(out.String(), "lakegate:xxxxx@") {
			t.Errorf("%s: config print shows store.dsn as:\n%s", driver, out.String())
		}
		if cfg.Store.DSN != dsn {
			t.Errorf("%s: Print modified the configuration's DSN", driver)
		}
	}
}

// TestStoreOptions: the configuration's zeros ("never", "none") become
// store.Options' negatives, whose zeros mean "the default".
func TestStoreOptions(t *testing.T) {
	c := config.Default().Store
	o := c.Options()
	if o.Driver != "sqlite" || o.MaxOpenConns != c.MaxOpenConns || o.MaxIdleConns != c.MaxIdleConns ||
		o.ConnMaxLifetime != c.ConnMaxLifetime || o.ConnMaxIdleTime != c.ConnMaxIdleTime ||
		o.ConnectTimeout != c.ConnectTimeout || o.StatementTimeout != c.StatementTimeout {
		t.Errorf("defaults: Options() = %+v from %+v", o, c)
	}
	c.MaxIdleConns, c.ConnMaxLifetime, c.ConnMaxIdleTime, c.StatementTimeout = 0, 0, 0, 0
	o = c.Options()
	if o.MaxIdleConns >= 0 || o.ConnMaxLifetime >= 0 || o.ConnMaxIdleTime >= 0 || o.StatementTimeout >= 0 {
		t.Errorf("zeros: Options() = %+v, want negative idle conns, lifetime, idle time and statement timeout", o)
	}
}

func TestIsSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"secret_access_key": true, "session_token": true, "ldap_password": true,
		"jwt_private_key": true, "access_key_id": false, "endpoint": false, "tls_key_file": false,
	} {
		if got := config.IsSecret(name); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		check   func(*config.Config) bool
		wantErr string
	}{
		{
			name:  "env beats file",
			yaml:  "proxy:\n  addr: :1111\n",
			env:   map[string]string{"LAKEGATE_PROXY_ADDR": ":2222"},
			check: func(c *config.Config) bool { return c.Proxy.Addr == ":2222" },
		},
		{
			name:  "file beats default",
			yaml:  "proxy:\n  addr: :1111\n",
			check: func(c *config.Config) bool { return c.Proxy.Addr == ":1111" },
		},
		{
			name:  "empty value clears",
			env:   map[string]string{"LAKEGATE_REST_ADDR": ""},
			check: func(c *config.Config) bool { return c.REST.Addr == "" },
		},
		{
			name:  "upstream endpoint",
			env:   map[string]string{"LAKEGATE_UPSTREAM_ENDPOINT": "http://127.0.0.1:9000"},
			check: func(c *config.Config) bool { return c.Upstream.Endpoint == "http://127.0.0.1:9000" },
		},
		{
			name:  "bool",
			env:   map[string]string{"LAKEGATE_PROXY_ALLOW_SIGV2": "0"},
			check: func(c *config.Config) bool { return !c.Proxy.AllowSigV2 },
		},
		{
			name:  "duration",
			env:   map[string]string{"LAKEGATE_PROXY_MAX_CLOCK_SKEW": "90s"},
			check: func(c *config.Config) bool { return c.Proxy.MaxClockSkew == 90*time.Second },
		},
		{
			name:  "int",
			env:   map[string]string{"LAKEGATE_PROXY_MAX_HEADER_BYTES": "10000"},
			check: func(c *config.Config) bool { return c.Proxy.MaxHeaderBytes == 10000 },
		},
		{
			name: "list",
			env:  map[string]string{"LAKEGATE_PROXY_BASE_DOMAINS": " s3.a.com,,s3.b.com "},
			check: func(c *config.Config) bool {
				return len(c.Proxy.BaseDomains) == 2 && c.Proxy.BaseDomains[0] == "s3.a.com" && c.Proxy.BaseDomains[1] == "s3.b.com"
			},
		},
		{
			name: "data dir expands home and derives dsn",
			env:  map[string]string{"LAKEGATE_DATA_DIR": "~/d"},
			check: func(c *config.Config) bool {
				return c.DataDir == "/home/tester/d" && c.Store.DSN == "/home/tester/d/lakegate.db"
			},
		},
		{
			name:  "explicit dsn kept",
			env:   map[string]string{"LAKEGATE_STORE_DSN": "/tmp/x.db"},
			check: func(c *config.Config) bool { return c.Store.DSN == "/tmp/x.db" },
		},
		{
			name: "bad values all reported",
			env: map[string]string{
				"LAKEGATE_PROXY_ALLOW_SIGV2":      "maybe",
				"LAKEGATE_PROXY_MAX_CLOCK_SKEW":   "15",
				"LAKEGATE_PROXY_MAX_HEADER_BYTES": "lots",
			},
			wantErr: "LAKEGATE_PROXY_ALLOW_SIGV2|LAKEGATE_PROXY_MAX_CLOCK_SKEW|LAKEGATE_PROXY_MAX_HEADER_BYTES",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeYAML(t, tt.yaml)
			}
			cfg, err := config.Load(path, env(tt.env))
			if tt.wantErr != "" {
				assertErrorMentions(t, err, strings.Split(tt.wantErr, "|")...)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected config: %+v", cfg)
			}
		})
	}
}

func TestEnvVarsCoverEveryScalar(t *testing.T) {
	names := map[string]bool{}
	for _, v := range config.EnvVars() {
		if names[v.Name] {
			t.Errorf("duplicate env var %s", v.Name)
		}
		names[v.Name] = true
	}
	for _, want := range []string{
		"LAKEGATE_DATA_DIR", "LAKEGATE_PROXY_ADDR", "LAKEGATE_PROXY_TLS_ADDR", "LAKEGATE_PROXY_BASE_DOMAINS",
		"LAKEGATE_REST_ADDR", "LAKEGATE_STORE_DSN", "LAKEGATE_UPSTREAM_ENDPOINT", "LAKEGATE_UPSTREAM_SESSION_TOKEN",
		"LAKEGATE_ADMIN_SECRET_ACCESS_KEY", "LAKEGATE_LOG_FORMAT",
	} {
		if !names[want] {
			t.Errorf("EnvVars lacks %s", want)
		}
	}
}

// TestREADMEDocumentsEveryEnvVar keeps the configuration reference honest.
func TestREADMEDocumentsEveryEnvVar(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skipf("README.md: %v", err)
	}
	for _, v := range config.EnvVars() {
		if !bytes.Contains(readme, []byte("`"+v.Name+"`")) {
			t.Errorf("README.md does not document %s (%s)", v.Name, v.Path)
		}
	}
}

func TestOkeraAliases(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		check   func(*config.Config) bool
		wantErr string
	}{
		{
			name:  "default region",
			yaml:  "okerafs.default.region: us-west-2\n",
			check: func(c *config.Config) bool { return c.Upstream.Region == "us-west-2" },
		},
		{
			name:  "absent alias keeps AWS default us-east-1",
			yaml:  "log:\n  level: info\n",
			check: func(c *config.Config) bool { return c.Upstream.Region == "us-east-1" },
		},
		{
			name: "bucket region, dotted bucket name",
			yaml: "okerafs.mybucket.region: us-east-1\nokerafs.my.dotted.bucket.region: eu-west-1\n",
			check: func(c *config.Config) bool {
				return c.Upstream.Buckets["mybucket"].Region == "us-east-1" &&
					c.Upstream.Buckets["my.dotted.bucket"].Region == "eu-west-1"
			},
		},
		{
			name: "bucket alias merges with buckets entry",
			yaml: "upstream:\n  buckets:\n    logs:\n      endpoint: http://other:9000\nokerafs.logs.region: ap-south-1\n",
			check: func(c *config.Config) bool {
				b := c.Upstream.Buckets["logs"]
				return b.Region == "ap-south-1" && b.Endpoint == "http://other:9000"
			},
		},
		{
			name:  "agreeing alias and key",
			yaml:  "upstream:\n  region: us-west-2\nokerafs.default.region: us-west-2\n",
			check: func(c *config.Config) bool { return c.Upstream.Region == "us-west-2" },
		},
		{
			name:  "environment beats alias",
			yaml:  "okerafs.default.region: us-west-2\n",
			env:   map[string]string{"LAKEGATE_UPSTREAM_REGION": "eu-west-3"},
			check: func(c *config.Config) bool { return c.Upstream.Region == "eu-west-3" },
		},
		{
			name:    "contradicting alias",
			yaml:    "upstream:\n  region: us-east-2\nokerafs.default.region: us-west-2\n",
			wantErr: "contradicts upstream.region",
		},
		{
			name:    "contradicting bucket alias",
			yaml:    "upstream:\n  buckets:\n    b1:\n      region: us-east-2\nokerafs.b1.region: us-west-2\n",
			wantErr: "contradicts upstream.buckets.b1.region",
		},
		{
			name:    "unknown keys all reported",
			yaml:    "okerafs.default.endpoint: x\nproxi: {}\nokerafs..region: y\n",
			wantErr: `"okerafs.default.endpoint"|"proxi"|"okerafs..region"`,
		},
		{
			name:    "alias value must be a string",
			yaml:    "okerafs.default.region: [a]\n",
			wantErr: "want a string",
		},
		{
			name:    "unknown nested key",
			yaml:    "proxy:\n  adr: :1\n",
			wantErr: "field adr not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(writeYAML(t, tt.yaml), env(tt.env))
			if tt.wantErr != "" {
				assertErrorMentions(t, err, strings.Split(tt.wantErr, "|")...)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected upstream: %+v", cfg.Upstream)
			}
		})
	}
}

func TestLoadEmptyFile(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	cfg, err := config.Load(writeYAML(t, "# nothing\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Proxy.Addr != config.DefaultProxyAddr {
		t.Errorf("proxy.addr = %q, want default", cfg.Proxy.Addr)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"), env(nil))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestValidate(t *testing.T) {
	valid := func() *config.Config {
		c := config.Default()
		c.DataDir = "/data"
		c.Store.DSN = "/data/lakegate.db"
		return c
	}
	tests := []struct {
		name   string
		modify func(*config.Config)
		want   []string // substrings, each must appear; nil means valid
	}{
		{name: "defaults are valid", modify: func(*config.Config) {}},
		{
			name: "quickstart-like is valid",
			modify: func(c *config.Config) {
				c.Proxy.Addr = "127.0.0.1:0"
				c.REST.Addr = "127.0.0.1:0"
				c.Upstream = config.Upstream{Endpoint: "http://127.0.0.1:7070", Region: "us-east-1", PathStyle: true, AccessKeyID: "root", SecretAccessKey: "rootsecret"}
				c.Admin = config.Admin{AccessKeyID: "LGABCDEFGHIJKLMNOPQR", SecretAccessKey: "0123456789abcdefghij"}
			},
		},
		{
			name: "many problems collected",
			modify: func(c *config.Config) {
				c.DataDir = ""
				c.Proxy.Addr = "5010"
				c.Proxy.TLSAddr = ":5443"
				c.Proxy.MaxClockSkew = 0
				c.Proxy.MaxPresignExpiry = 200 * time.Hour
				c.Proxy.MaxHeaderBytes = 10
				c.REST.Addr = "localhost:99999"
				c.REST.TLSCertFile = "/x.crt"
				c.Store.MaxOpenConns = 1
				c.Upstream.Endpoint = "ftp://x"
				c.Upstream.Region = "US East"
				c.Upstream.AccessKeyID = "AKIA"
				c.Upstream.Buckets = map[string]config.Bucket{"Bad_Name": {Endpoint: "nope"}}
				c.Admin.AccessKeyID = "short"
				c.Log.Level = "loud"
				c.Log.Format = "xml"
			},
			want: []string{
				"data_dir: is required",
				`proxy.addr: "5010" is not host:port`,
				"proxy.tls_addr: needs tls_cert_file",
				"proxy.max_clock_skew: must be positive",
				"proxy.max_presign_expiry: 200h0m0s exceeds",
				"proxy.max_header_bytes",
				"rest.addr",
				"rest: set both tls_cert_file and tls_key_file",
				`store.max_open_conns: must be at least 2`,
				"upstream.endpoint",
				"upstream.region",
				"upstream: set both access_key_id and secret_access_key",
				"upstream.buckets.Bad_Name: is not a valid S3 bucket name",
				"upstream.buckets.Bad_Name.endpoint",
				"admin: set both",
				"log.level",
				"log.format",
			},
		},
		{
			name: "same address twice",
			modify: func(c *config.Config) {
				c.REST.Addr = c.Proxy.Addr
			},
			want: []string{`rest.addr: ":5010" is also proxy.addr`},
		},
		{
			name: "port 0 may repeat",
			modify: func(c *config.Config) {
				c.Proxy.Addr, c.REST.Addr = "127.0.0.1:0", "127.0.0.1:0"
			},
		},
		{
			name:   "no proxy listener",
			modify: func(c *config.Config) { c.Proxy.Addr = "" },
			want:   []string{"proxy: set addr or tls_addr"},
		},
		{
			name: "weak admin key",
			modify: func(c *config.Config) {
				c.Admin = config.Admin{AccessKeyID: "admin", SecretAccessKey: "pw"}
			},
			want: []string{"admin.access_key_id", "admin.secret_access_key"},
		},
		{
			name: "profile and static keys",
			modify: func(c *config.Config) {
				c.Upstream.AccessKeyID, c.Upstream.SecretAccessKey, c.Upstream.Profile = "AKIA", "s", "prod"
			},
			want: []string{"upstream.profile"},
		},
		{
			name:   "session token alone",
			modify: func(c *config.Config) { c.Upstream.SessionToken = "t" },
			want:   []string{"upstream.session_token"},
		},
		{
			name:   "endpoint with path",
			modify: func(c *config.Config) { c.Upstream.Endpoint = "http://minio:9000/bucket" },
			want:   []string{"scheme://host[:port] only"},
		},
		{
			name: "pre-authentication bounds",
			modify: func(c *config.Config) {
				c.Proxy.PreAuthTimeout = 0
				c.Proxy.PreAuthMaxBytes = 2 << 20
				c.Proxy.WriteIdleTimeout = -time.Second
				c.Proxy.MaxConnections = 0
				c.Proxy.TLSMaxConnections = -1
				c.REST.MaxConnections = 0
			},
			want: []string{
				"proxy.preauth_timeout: must be positive",
				"proxy.preauth_max_bytes: 2097152 is not between 4096 and 1048576",
				"proxy.write_idle_timeout: must be positive",
				"proxy.max_connections: must be at least 1",
				"proxy.tls_max_connections: must be at least 1",
				"rest.max_connections: must be at least 1",
			},
		},
		{
			name: "REST origins, metrics address and JWT lifetime",
			modify: func(c *config.Config) {
				c.REST.AllowedOrigins = []string{"https://ui.example.com", "https://ui.example.com/", "ftp://x", "https://u@x", "null"}
				c.REST.MetricsAddr = c.REST.Addr
				c.REST.PublicURL = "lakegate.example:8083"
				c.Auth.JWT.MaxLifetime = 0
				c.Auth.JWT.IssuerURL, c.Auth.JWT.Issuer = "https://idp.example.com", "https://other.example.com"
			},
			want: []string{
				`rest.allowed_origins[1]: "https://ui.example.com/" is not an origin`,
				"rest.allowed_origins[2]", "rest.allowed_origins[3]", "rest.allowed_origins[4]",
				`rest.metrics_addr: ":8083" is also rest.addr`,
				`rest.public_url: "lakegate.example:8083" is not an http(s) URL`,
				"auth.jwt.max_lifetime: must be positive",
				"auth.jwt.issuer: differs from auth.jwt.issuer_url",
			},
		},
		{
			name: "Flight SQL listener",
			modify: func(c *config.Config) {
				c.SQL = config.SQL{Addr: c.REST.Addr, TLSKeyFile: "/x.key", MaxConnections: 0, MaxConcurrentStreams: -1, IdleTimeout: 0, TicketTTL: -time.Second}
			},
			want: []string{
				`sql.addr: ":8083" is also rest.addr`,
				"sql: set both tls_cert_file and tls_key_file",
				"sql.max_connections: must be at least 1",
				"sql.max_concurrent_streams: must be at least 1",
				"sql.idle_timeout: must be positive",
				"sql.ticket_ttl: must be positive",
			},
		},
		{
			name:   "Flight SQL on Okera's port",
			modify: func(c *config.Config) { c.SQL.Addr = ":14050" },
		},
		{
			name: "allowed origins and a metrics address",
			modify: func(c *config.Config) {
				c.REST.AllowedOrigins = []string{"https://ui.example.com", "http://127.0.0.1:3000"}
				c.REST.MetricsAddr = "127.0.0.1:9090"
				c.REST.PublicURL = "https://lb.example.com/lakegate/"
				c.Auth.JWT.Issuer = "https://idp.example.com"
			},
		},
		{
			name:   "unknown driver",
			modify: func(c *config.Config) { c.Store.Driver = "oracle" },
			want:   []string{`store.driver: "oracle" is not one of sqlite, postgres, mysql`},
		},
		{
			name: "postgres and mysql need a DSN",
			modify: func(c *config.Config) {
				c.Store.Driver, c.Store.DSN = "mysql", ""
			},
			want: []string{"store.dsn: is required"},
		},
		{
			name: "postgres with a DSN and no pool limits",
			modify: func(c *config.Config) {
				c.Store.Driver, c.Store.DSN = "postgres", "postgres://lg@db/lakegate?sslmode=verify-full"
				c.Store.MaxIdleConns, c.Store.ConnMaxLifetime, c.Store.ConnMaxIdleTime, c.Store.StatementTimeout = 0, 0, 0, 0
			},
		},
		{
			name: "store pool and timeouts out of range",
			modify: func(c *config.Config) {
				c.Store.MaxOpenConns, c.Store.MaxIdleConns = 4, 5
				c.Store.ConnectTimeout, c.Store.MaxStaleness = 0, 0
				c.Store.ConnMaxLifetime, c.Store.ConnMaxIdleTime, c.Store.StatementTimeout = -1, -time.Second, -time.Minute
			},
			want: []string{
				"store.max_idle_conns: 5 is not between 0 and store.max_open_conns (4)",
				"store.connect_timeout: must be positive",
				"store.max_staleness: must be positive",
				"store.conn_max_lifetime: must not be negative",
				"store.conn_max_idle_time: must not be negative",
				"store.statement_timeout: must not be negative",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.modify(cfg)
			before := *cfg
			err := cfg.Validate()
			if cfg.DataDir != before.DataDir || cfg.Store != before.Store || cfg.Proxy.Addr != before.Proxy.Addr {
				t.Error("Validate modified the config")
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			assertErrorMentions(t, err, tt.want...)
			if n := len(strings.Split(err.Error(), "\n")); n < len(tt.want) {
				t.Errorf("got %d problems, want at least %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}

func assertErrorMentions(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	t.Setenv("HOME", "/home/tester")
	cfg, err := config.Load(filepath.Join("..", "..", "configs", "lakegate.example.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	def, err := config.Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	// The example documents the defaults: apart from its sample bucket it
	// must configure exactly what no file does.
	cfg.Upstream.Buckets = nil
	var a, b bytes.Buffer
	if err := cfg.Print(&a); err != nil {
		t.Fatal(err)
	}
	if err := def.Print(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("example config differs from the defaults:\n--- example\n%s--- defaults\n%s", a.String(), b.String())
	}
}
