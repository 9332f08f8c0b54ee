package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "LAKEGATE_"

// Okera's Hadoop-style property names, accepted as top-level YAML keys.
const (
	okerafsPrefix        = "okerafs."
	okerafsRegionSuffix  = ".region"
	okerafsDefaultRegion = "okerafs.default.region"
)

// LookupEnv is the signature of os.LookupEnv.
type LookupEnv func(key string) (string, bool)

// Load reads the YAML file at path (none when path is empty) over Default(),
// applies environment overrides from lookup (os.LookupEnv when nil), and
// then Resolve. It does not validate; call Validate.
//
// Unknown keys are errors, except Okera's okerafs.default.region and
// okerafs.<bucket>.region, which set upstream.region and
// upstream.buckets.<bucket>.region. Setting both an alias and the key it
// stands for to different values is an error.
func Load(path string, lookup LookupEnv) (*Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(data, cfg); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(cfg, lookup); err != nil {
		return nil, fmt.Errorf("config: environment: %w", err)
	}
	if err := cfg.Resolve(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// file is the YAML document: the Config plus the top-level keys it does not
// know, which may be Okera aliases.
type file struct {
	*Config `yaml:",inline"`
	Extra   map[string]any `yaml:",inline"`
}

func decodeYAML(data []byte, cfg *Config) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	doc := file{Config: cfg}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	if len(doc.Extra) == 0 {
		return nil
	}
	// What the document itself says, without defaults, to detect an alias
	// contradicting the key it stands for.
	var explicit file
	explicit.Config = &Config{}
	if err := yaml.Unmarshal(data, &explicit); err != nil {
		return err
	}
	return applyAliases(cfg, explicit.Config, doc.Extra)
}

func applyAliases(cfg, explicit *Config, extra map[string]any) error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(extra)) {
		if !strings.HasPrefix(key, okerafsPrefix) || !strings.HasSuffix(key, okerafsRegionSuffix) ||
			len(key) <= len(okerafsPrefix)+len(okerafsRegionSuffix) {
			errs = append(errs, fmt.Errorf("unknown key %q", key))
			continue
		}
		region, ok := extra[key].(string)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: want a string, got %T", key, extra[key]))
			continue
		}
		if key == okerafsDefaultRegion {
			if explicit.Upstream.Region != "" && explicit.Upstream.Region != region {
				errs = append(errs, fmt.Errorf("%s %q contradicts upstream.region %q", key, region, explicit.Upstream.Region))
				continue
			}
			cfg.Upstream.Region = region
			continue
		}
		bucket := strings.TrimSuffix(strings.TrimPrefix(key, okerafsPrefix), okerafsRegionSuffix)
		if set := explicit.Upstream.Buckets[bucket].Region; set != "" && set != region {
			errs = append(errs, fmt.Errorf("%s %q contradicts upstream.buckets.%s.region %q", key, region, bucket, set))
			continue
		}
		if cfg.Upstream.Buckets == nil {
			cfg.Upstream.Buckets = map[string]Bucket{}
		}
		b := cfg.Upstream.Buckets[bucket]
		b.Region = region
		cfg.Upstream.Buckets[bucket] = b
	}
	return errors.Join(errs...)
}

// EnvVar describes one environment override.
type EnvVar struct {
	Name string // e.g. LAKEGATE_PROXY_ADDR
	Path string // YAML path, e.g. proxy.addr
	// Okera is the Okera variable accepted for the same setting (seeds 001
	// and 002), or "". LAKEGATE_* wins when both are set.
	Okera string
}

// okeraEnv maps YAML paths to the Okera environment variables that set them.
var okeraEnv = map[string]string{
	"auth.jwt.public_keys":           "JWT_PUBLIC_KEY",
	"auth.jwt.algorithms":            "JWT_ALGORITHM",
	"auth.jwt.server_url":            "JWT_AUTHENTICATION_SERVER_URL",
	"auth.sso_url":                   "SSO_URL",
	"auth.kerberos.principal":        "OKERA_KERBEROS_PRINCIPAL",
	"auth.ldap.host":                 "OKERA_GROUP_RESOLVER_LDAP_HOST",
	"auth.ldap.port":                 "OKERA_GROUP_RESOLVER_LDAP_PORT",
	"auth.ldap.use_ssl":              "OKERA_GROUP_RESOLVER_LDAP_USE_SSL",
	"auth.ldap.use_starttls":         "OKERA_GROUP_RESOLVER_LDAP_USE_STARTTLS",
	"auth.ldap.ca_file":              "OKERA_GROUP_RESOLVER_LDAP_CA_FILE",
	"auth.ldap.base_dn":              "OKERA_GROUP_RESOLVER_LDAP_BASE_DN",
	"auth.ldap.bind_dn":              "OKERA_GROUP_RESOLVER_LDAP_USER",
	"auth.ldap.bind_password":        "OKERA_GROUP_RESOLVER_LDAP_PASSWORD",
	"auth.ldap.user_search_filter":   "OKERA_GROUP_RESOLVER_LDAP_USER_SEARCH_FILTER",
	"auth.ldap.group_search_filter":  "OKERA_GROUP_RESOLVER_LDAP_GROUP_SEARCH_FILTER",
	"auth.ldap.user_dn_template":     "OKERA_GROUP_RESOLVER_LDAP_USER_DN_TEMPLATE",
	"auth.ldap.group_search_base":    "OKERA_GROUP_RESOLVER_LDAP_GROUP_SEARCH_BASE",
	"auth.ldap.group_name_attribute": "OKERA_GROUP_RESOLVER_LDAP_GROUP_NAME_ATTRIBUTE",
	"groups.resolver_url":            "OKERA_GROUP_RESOLVER_URL",
	"groups.required":                "OKERA_REQUIRED_GROUP_MEMBERSHIP",
	"credential_ttl":                 "GO_REST_AWS_TOKEN_EXPIRY",
	"system.private_key":             "JWT_PRIVATE_KEY",
	"system.token_file":              "SYSTEM_TOKEN",
	"system.token_duration":          "SYSTEM_TOKEN_DURATION_MIN",
	"upstream.role_arn":              "OKERA_SYSTEM_IAM_ROLE_ARN",
}

// okeraUnits is the unit of Okera's duration variables given as bare
// numbers; the default is seconds.
var okeraUnits = map[string]time.Duration{
	"SYSTEM_TOKEN_DURATION_MIN": time.Minute,
}

// EnvVars lists every environment override in declaration order.
func EnvVars() []EnvVar {
	var out []EnvVar
	walkLeaves(reflect.ValueOf(Default()).Elem(), nil, func(path []string, _ reflect.Value) {
		p := strings.Join(path, ".")
		out = append(out, EnvVar{Name: envName(path), Path: p, Okera: okeraEnv[p]})
	})
	return out
}

func envName(path []string) string {
	return EnvPrefix + strings.ToUpper(strings.Join(path, "_"))
}

var durationType = reflect.TypeFor[time.Duration]()

// walkLeaves calls fn for every scalar or []string field reachable through
// structs from v, with its YAML path. Maps and pointers are not descended.
func walkLeaves(v reflect.Value, path []string, fn func(path []string, field reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		fv := v.Field(i)
		p := append(append([]string(nil), path...), name)
		switch {
		case f.Type.Kind() == reflect.Struct:
			walkLeaves(fv, p, fn)
		case f.Type.Kind() == reflect.Map, f.Type.Kind() == reflect.Pointer:
			// upstream.buckets: YAML only.
		default:
			fn(p, fv)
		}
	}
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func applyEnv(cfg *Config, lookup LookupEnv) error {
	var errs []error
	walkLeaves(reflect.ValueOf(cfg).Elem(), nil, func(path []string, field reflect.Value) {
		name := envName(path)
		raw, ok := lookup(name)
		if alias := okeraEnv[strings.Join(path, ".")]; !ok && alias != "" {
			name = alias
			raw, ok = lookup(alias)
			if n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64); ok && err == nil && n >= 0 && field.Type() == durationType {
				// Okera's durations are whole seconds unless named otherwise.
				unit := okeraUnits[alias]
				if unit == 0 {
					unit = time.Second
				}
				field.SetInt(int64(time.Duration(n) * unit))
				return
			}
		}
		if !ok {
			return
		}
		if err := setFromString(field, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

func setFromString(field reflect.Value, raw string) error {
	if field.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return err
		}
		field.SetInt(int64(d))
		return nil
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want true or false: %w", err)
		}
		field.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, field.Type().Bits())
		if err != nil {
			return fmt.Errorf("want an integer: %w", err)
		}
		field.SetInt(n)
	case reflect.Slice:
		var items []string
		for item := range strings.SplitSeq(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		field.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported field kind %s", field.Kind())
	}
	return nil
}

// Resolve fills values derived from others: it expands a leading "~/" in
// DataDir, TLS file paths, the store's encryption key file and the sqlite
// DSN, and sets Store.DSN to <DataDir>/lakegate.db when it is empty and the
// driver is sqlite. Load calls it; call it yourself after building a Config
// in code.
func (c *Config) Resolve() error {
	var errs []error
	for _, p := range []*string{
		&c.DataDir, &c.Proxy.TLSCertFile, &c.Proxy.TLSKeyFile,
		&c.REST.TLSCertFile, &c.REST.TLSKeyFile, &c.Store.EncryptionKeyFile,
		&c.SQL.TLSCertFile, &c.SQL.TLSKeyFile,
	} {
		if err := expandHome(p); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Store.Driver == DefaultStoreDriver {
		if c.Store.DSN == "" && c.DataDir != "" {
			c.Store.DSN = filepath.Join(c.DataDir, SQLiteFile)
		}
		if err := expandHome(&c.Store.DSN); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

func expandHome(p *string) error {
	if *p != "~" && !strings.HasPrefix(*p, "~/") {
		return nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("expand %q: %w", *p, err)
	}
	*p = filepath.Join(home, strings.TrimPrefix(*p, "~"))
	return nil
}
