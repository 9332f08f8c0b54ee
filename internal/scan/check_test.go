//go:build duckdb_arrow

package scan

import (
	"errors"
	"testing"
)

// FuzzCheckParse feeds checkParse arbitrary parse trees: it never panics,
// and what it accepts names only qualified tables.
func FuzzCheckParse(f *testing.F) {
	f.Add(`{"error":false,"statements":[{"node":{"type":"SELECT_NODE","from_table":{"type":"BASE_TABLE","alias":"","sample":null,"query_location":5,"schema_name":"d","table_name":"t","catalog_name":"","at_clause":null}}}]}`)
	f.Add(`{"error":false,"statements":[{"node":{"from_table":{"type":"TABLE_FUNCTION","sample":null,"query_location":1}}}]}`)
	f.Add(`{"error":true,"error_message":"x"}`)
	f.Fuzz(func(t *testing.T, s string) {
		tables, err := checkParse(s)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v is not a refusal", err)
			}
			return
		}
		for _, tn := range tables.tables {
			if tn.DB == "" || tn.Table == "" {
				t.Fatalf("accepted unqualified table %q", tn)
			}
		}
	})
}
