//go:build duckdb_arrow

package scan

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// TestSmallMemoryLimit stages more than the memory limit (400,000 rows,
// some 30 MB of text, three copies while staging, under a 40MB limit):
// DuckDB spills to the query's temporary directory and the answer is
// whole.
func TestSmallMemoryLimit(t *testing.T) {
	f := newFixture(t)
	var many []person
	for i := range 400_000 {
		many = append(many, person{ID: int64(100 + i), Name: fmt.Sprintf("name %d with some padding to be big", i),
			SSN: fmt.Sprintf("%09d", i), Region: []string{"EU", "US"}[i%2], Salary: int64(i), BirthDate: "2000-01-01"})
	}
	writeParquet(t, filepath.Join(f.objects.Root, "lake/people/big.parquet"), many)
	e := f.engine(t, Options{MemoryLimit: "40MB", Threads: 1})
	rows, _, err := run(t, e, f.resolver(t, nil), "SELECT count(*), count(DISTINCT name) FROM d.people")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"200003|200003"}; !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
}
