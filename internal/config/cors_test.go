package config_test

import (
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/config"
)

// TestValidateCORS: Validate reports every bad rule of
// upstream.buckets.<b>.cors under its path, and takes rules whose values
// only carry spaces (trimmed when used).
func TestValidateCORS(t *testing.T) {
	cfg := config.Default()
	cfg.Store.DSN = "/tmp/x.db"
	cfg.Upstream.Buckets = map[string]config.Bucket{
		"good": {CORS: []config.CORSRule{{AllowedOrigins: []string{" https://app.test "}, AllowedMethods: []string{"PUT "},
			AllowedHeaders: []string{"Content-Type"}}}},
		"bad": {CORS: []config.CORSRule{
			{AllowedOrigins: []string{"https://*.*.test"}, AllowedMethods: []string{"PATCH"}},
			{AllowedMethods: []string{"GET"}, ExposeHeaders: []string{"a b"}},
		}},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad CORS rules")
	}
	for _, want := range []string{
		`upstream.buckets.bad.cors: rule 1: method "PATCH"`,
		`upstream.buckets.bad.cors: rule 1: origin "https://*.*.test"`,
		`upstream.buckets.bad.cors: rule 2: no allowed origin`,
		`upstream.buckets.bad.cors: rule 2: expose header "a b"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "upstream.buckets.good") {
		t.Errorf("a good bucket reported:\n%v", err)
	}
}
