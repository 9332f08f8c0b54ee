package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lakegate/lakegate/internal/catalog"
	"github.com/lakegate/lakegate/internal/lakefixture"
	"github.com/lakegate/lakegate/internal/upstream"
)

// TestThroughUpstream reads a fixture's schema from a real MinIO through
// the upstream client (Stat, NewReaderAt, ParquetSchema) and discovers a
// table's partitions there through ListPrefixes, as the catalog does for
// CREATE EXTERNAL TABLE … LIKE PARQUET and RECOVER PARTITIONS.
func TestThroughUpstream(t *testing.T) {
	ctx := context.Background()
	c, mc, _ := lakefixture.StartMinIO(t, "lake")
	fixture := readFixtureFile(t, "duckdb.parquet")
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := mc.PutObject(ctx, "lake", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{
		"sales/year=2024/region=eu/part-0.parquet", "sales/year=2024/region=us%2Deast/part-0.parquet",
		"sales/year=2025/region=eu/part-0.parquet", "sales/year=2025/_temporary/x", "sales/_SUCCESS",
	} {
		put(k, fixture)
	}
	put("sales/notes.csv", []byte("a,b\n1,2\n"))

	schemaOf := func(key string) ([]catalog.Column, error) {
		info, err := c.Stat(ctx, "lake", key)
		if err != nil {
			return nil, err
		}
		return catalog.ParquetSchema(c.NewReaderAt(ctx, "lake", key, info.Size), info.Size)
	}
	cols, err := schemaOf("sales/year=2024/region=eu/part-0.parquet")
	if err != nil {
		t.Fatal(err)
	}
	local, err := catalog.ParquetSchema(bytes.NewReader(fixture), int64(len(fixture)))
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 21 || len(cols) != len(local) {
		t.Fatalf("%d columns through the upstream, %d locally", len(cols), len(local))
	}
	for i := range cols {
		if cols[i] != local[i] {
			t.Errorf("column %d: %+v through the upstream, %+v locally", i, cols[i], local[i])
		}
	}
	if _, err := schemaOf("sales/notes.csv"); !errors.Is(err, catalog.ErrNotParquet) {
		t.Errorf("CSV through the upstream: %v", err)
	}
	if _, err := schemaOf("sales/missing.parquet"); !errors.Is(err, upstream.ErrNotFound) {
		t.Errorf("missing object: %v", err)
	}

	list := func(prefix string, fn func(string) error) error { return c.ListPrefixes(ctx, "lake", prefix, fn) }
	found, err := catalog.DiscoverPartitions(ctx, list, "sales", []string{"year", "region"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, f.Spec+" "+strings.Join(f.Values, ",")+" "+f.Path)
	}
	want := []string{
		"year=2024/region=eu 2024,eu sales/year=2024/region=eu/",
		"year=2024/region=us%2Deast 2024,us-east sales/year=2024/region=us%2Deast/",
		"year=2025/region=eu 2025,eu sales/year=2025/region=eu/",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("partitions:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func readFixtureFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
