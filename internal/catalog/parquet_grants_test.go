package catalog_test

import (
	"bytes"
	"testing"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/grants"
)

// TestTypesParse: every type ParquetSchema produces for the fixtures is
// one the grant language's type parser accepts, and its canonical text.
func TestTypesParse(t *testing.T) {
	for _, name := range []string{"arrow.parquet", "duckdb.parquet"} {
		data := readFixtureFile(t, name)
		cols, err := catalog.ParquetSchema(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			typ, err := grants.ParseType(c.Type)
			if err != nil {
				t.Errorf("%s: column %s: type %q: %v", name, c.Name, c.Type, err)
				continue
			}
			if typ.String() != c.Type {
				t.Errorf("%s: column %s: type %q prints back as %q", name, c.Name, c.Type, typ.String())
			}
		}
	}
}
