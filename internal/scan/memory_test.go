//go:build duckdb_arrow

package scan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSmallMemoryLimit stages more than the memory limit (400,000 rows,
// some 30 MB of text, three copies while staging, under a 40MB limit):
// DuckDB spills to the query's temporary directory and the answer is
// whole.
func TestSmallMemoryLimit(t *testing.T) {
	f := bigFixture(t)
	e := f.engine(t, Options{MemoryLimit: "40MB", Threads: 1})
	rows, _, err := run(t, e, f.resolver(t, nil), "SELECT count(*), count(DISTINCT name) FROM d.people")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"200003|200003"}; !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
}

// TestTempSizeLimit: what spills past the memory limit is bounded by
// MaxTempSize (DuckDB's default would be 90% of the free disk), and a
// query that needs more fails; the setting is what Options say.
func TestTempSizeLimit(t *testing.T) {
	f := bigFixture(t)
	e := f.engine(t, Options{MemoryLimit: "40MB", MaxTempSize: "1MB", Threads: 1})
	if _, _, err := run(t, e, f.resolver(t, nil), "SELECT count(*), count(DISTINCT name) FROM d.people"); err == nil {
		t.Fatal("a query spilling more than MaxTempSize succeeded")
	}
	small := newFixture(t)
	for _, tc := range []struct{ opt, want string }{{"", "9.3 GiB"}, {"2GB", "1.8 GiB"}} {
		e := small.engine(t, Options{MaxTempSize: tc.opt})
		rows, _, err := run(t, e, small.resolver(t, nil), "SELECT current_setting('max_temp_directory_size')")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || !strings.Contains(rows[0], tc.want) {
			t.Errorf("MaxTempSize %q: setting %q, want %s", tc.opt, rows, tc.want)
		}
	}
	if _, err := New(Options{Objects: small.objects, MaxTempSize: "lots"}); err == nil {
		t.Error("New took MaxTempSize \"lots\"")
	}
}

// bigFixture is the fixture with 400,000 more people in d.people.
func bigFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	var many []person
	for i := range 400_000 {
		many = append(many, person{ID: int64(100 + i), Name: fmt.Sprintf("name %d with some padding to be big", i),
			SSN: fmt.Sprintf("%09d", i), Region: []string{"EU", "US"}[i%2], Salary: int64(i), BirthDate: "2000-01-01"})
	}
	writeParquet(t, filepath.Join(f.objects.Root, "lake/people/big.parquet"), many)
	return f
}
