package config

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lakegate/lakegate/internal/store"
)

// Redacted is the placeholder that replaces secret values.
const Redacted = "REDACTED"

// secretWords mark a field as secret when its YAML name contains one of them.
var secretWords = []string{"secret", "password", "token", "private_key"}

// IsSecret reports whether the field with this YAML name holds a secret.
func IsSecret(yamlName string) bool {
	for _, w := range secretWords {
		if strings.Contains(yamlName, w) {
			return true
		}
	}
	return false
}

// Redacted returns a copy of c with every non-empty secret string replaced
// by "REDACTED", and the password in store.dsn by xxxxx. Empty secrets stay
// empty so the output shows they are unset.
func (c *Config) Redacted() *Config {
	out := *c
	redact(reflect.ValueOf(&out).Elem())
	out.Store.DSN = store.RedactDSN(out.Store.Driver, out.Store.DSN)
	return &out
}

// redact walks structs (maps hold no secrets today; Bucket has none).
func redact(v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			redact(fv)
		case reflect.String:
			if IsSecret(name) && fv.String() != "" {
				fv.SetString(Redacted)
			}
		}
	}
}

// Print writes the redacted configuration as YAML.
func (c *Config) Print(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	return enc.Close()
}
