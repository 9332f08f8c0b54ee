package quickstart

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/lakegate/lakegate/internal/config"
)

// embedded is what quickstart itself provides, in place of the
// configuration's settings for it.
type embedded struct {
	dataDir, proxyAddr, restAddr string
	upstream                     config.Upstream
	admin                        config.Admin
}

// quickstartConfig lays quickstart's embedded parts over base (the
// configuration from --config and the environment, already resolved; nil
// means the defaults): the data directory it was given (never base's
// data_dir, which may hold a serve's store) and the listen addresses, its embedded backend as the upstream, SQLite in the data
// directory, its admin key and token. Everything else of base applies as
// in serve. It returns the names of base's settings it replaced, for a
// warning.
func quickstartConfig(base *config.Config, e embedded) (*config.Config, []string, error) {
	def := config.Default()
	if err := def.Resolve(); err != nil {
		return nil, nil, err
	}
	if base == nil {
		base = def
	}
	cfg := *base
	var ignored []string
	if !reflect.DeepEqual(base.Upstream, def.Upstream) {
		ignored = append(ignored, changedFields("upstream", reflect.ValueOf(base.Upstream), reflect.ValueOf(def.Upstream))...)
	}
	if base.Store.Driver != def.Store.Driver {
		ignored = append(ignored, "store.driver")
	}
	if base.Store.DSN != "" && base.Store.DSN != filepath.Join(base.DataDir, config.SQLiteFile) {
		ignored = append(ignored, "store.dsn")
	}
	if base.DataDir != def.DataDir && filepath.Clean(base.DataDir) != filepath.Clean(e.dataDir) {
		// A serve configuration's data directory holds that server's
		// store: quickstart must not register its admin there.
		ignored = append(ignored, "data_dir")
	}
	if base.Admin.AccessKeyID != "" || base.Admin.SecretAccessKey != "" {
		ignored = append(ignored, "admin.access_key_id", "admin.secret_access_key")
	}
	if base.Admin.Token != "" {
		ignored = append(ignored, "admin.token")
	}
	cfg.DataDir = e.dataDir
	cfg.Proxy.Addr = e.proxyAddr
	cfg.REST.Addr = e.restAddr
	// Virtual-hosted style on <bucket>.localhost, besides the configured
	// domains.
	cfg.Proxy.BaseDomains = slices.Clone(base.Proxy.BaseDomains)
	if !slices.Contains(cfg.Proxy.BaseDomains, "localhost") {
		cfg.Proxy.BaseDomains = append(cfg.Proxy.BaseDomains, "localhost")
	}
	cfg.Upstream = e.upstream
	// The default store settings (SQLite, pool and timeouts), its file in
	// quickstart's data directory.
	cfg.Store = def.Store
	cfg.Store.DSN = ""
	cfg.Admin = config.Admin{
		AccessKeyID: e.admin.AccessKeyID, SecretAccessKey: e.admin.SecretAccessKey, Token: e.admin.Token,
		Groups: base.Admin.Groups,
	}
	if err := cfg.Resolve(); err != nil {
		return nil, nil, err
	}
	return &cfg, ignored, nil
}

// changedFields names the fields (YAML paths under prefix) where v differs
// from def.
func changedFields(prefix string, v, def reflect.Value) []string {
	var out []string
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !reflect.DeepEqual(v.Field(i).Interface(), def.Field(i).Interface()) {
			out = append(out, prefix+"."+name)
		}
	}
	return out
}
