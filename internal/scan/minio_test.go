//go:build duckdb_arrow

package scan

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lakegate/lakegate/internal/lakefixture"
)

// TestThroughMinIO runs the EU policy over the fixture uploaded to a real
// MinIO, read through lakegate's upstream client (ListObjects,
// NewReaderAt): the same rows as from the directory-backed fake.
func TestThroughMinIO(t *testing.T) {
	c, mc, _ := lakefixture.StartMinIO(t, "lake")
	f := newFixture(t)
	base := filepath.Join(f.objects.Root, "lake")
	err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		lakefixture.Put(t, mc, "lake", filepath.ToSlash(rel), body)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Objects: c, TokenizeKey: testKey, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SELECT * FROM d.people ORDER BY id",
		"SELECT id, name, ssn, region, birth_date FROM d.people_csv ORDER BY id",
		"SELECT * FROM d.people_json ORDER BY id",
	} {
		rows, _, err := run(t, e, f.resolver(t, nil), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if want := euRows(); !slices.Equal(rows, want) {
			t.Errorf("%s\n got %q\nwant %q", sql, rows, want)
		}
	}
}
