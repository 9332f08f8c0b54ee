package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// TestScanParquet writes a small table and reads it back: the files hold
// the rows the generator counted, and the counts and sums that the checks
// of the -scan run compare against are those of the rows.
func TestScanParquet(t *testing.T) {
	dir := t.TempDir()
	d, err := writeScanParquet(dir, scanSizes{TotalBytes: 256 << 10, Files: 2, BatchRows: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files) != 2 {
		t.Fatalf("%d files, want 2", len(d.Files))
	}
	var rows, size int64
	for _, p := range d.Files {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
		if st.Size() < 128<<10 {
			t.Errorf("%s: %d bytes, want at least its share of 256 KiB", p, st.Size())
		}
		r, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		rows += r.NumRows()
		if got := r.MetaData().Schema.NumColumns(); got != 6 {
			t.Errorf("%s: %d columns, want 6", p, got)
		}
		r.Close()
	}
	if rows != d.Rows || size != d.Bytes {
		t.Errorf("files hold %d rows in %d bytes; the generator counted %d rows in %d bytes", rows, size, d.Rows, d.Bytes)
	}
	if d.EURows <= 0 || d.EURows >= d.Rows || d.EUSum <= 0 || d.EUSum >= d.SalarySum {
		t.Errorf("EU rows %d of %d, sum %.2f of %.2f: the row filter would not show and hide rows", d.EURows, d.Rows, d.EUSum, d.SalarySum)
	}
	if share := float64(d.EURows) / float64(d.Rows); share < 0.25 || share > 0.35 {
		t.Errorf("EU share %.3f, want about 0.30", share)
	}
}

// TestScanGenDeterministic: the same seed makes the same rows, with SSNs
// of the shape the masked and plain checks expect.
func TestScanGenDeterministic(t *testing.T) {
	a, b := newScanGen(7), newScanGen(7)
	for range 1000 {
		id1, n1, s1, r1, sal1, d1 := a.row()
		id2, n2, s2, r2, sal2, d2 := b.row()
		if id1 != id2 || n1 != n2 || s1 != s2 || r1 != r2 || sal1 != sal2 || d1 != d2 {
			t.Fatalf("rows differ: %v %q %q %q %v %v vs %v %q %q %q %v %v", id1, n1, s1, r1, sal1, d1, id2, n2, s2, r2, sal2, d2)
		}
		if !plainSSN.MatchString(s1) {
			t.Fatalf("ssn %q is not ddd-dd-dddd", s1)
		}
		if sal1 < 30000 || sal1 > 200000 {
			t.Fatalf("salary %v outside 30,000–200,000", sal1)
		}
	}
}

func TestCheckScanViews(t *testing.T) {
	full := []map[string]any{{"id": 1.0, "name": "Alice Smith", "ssn": "123-45-6789", "region": "US"}}
	eu := []map[string]any{{"id": 3.0, "name": strings.Repeat("ab", 32), "ssn": "XXXXXXX6789", "region": "EU"}}
	tests := []struct {
		name     string
		full, eu []map[string]any
		wantErr  string
	}{
		{"views as granted", full, eu, ""},
		{"no rows", full, nil, "first rows"},
		{"full user masked", eu, eu, "not plain"},
		{"restricted user sees US", full, []map[string]any{{"name": strings.Repeat("ab", 32), "ssn": "XXXXXXX6789", "region": "US"}}, "region"},
		{"restricted ssn plain", full, []map[string]any{{"name": strings.Repeat("ab", 32), "ssn": "123-45-6789", "region": "EU"}}, "mask_last"},
		{"restricted name plain", full, []map[string]any{{"name": "Alice Smith", "ssn": "XXXXXXX6789", "region": "EU"}}, "SHA-256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkScanViews(tc.full, tc.eu)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("checkScanViews: %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestWriteSection(t *testing.T) {
	const begin, end = "<!-- b -->", "<!-- e -->"
	tests := []struct {
		name, old, want string
	}{
		{"above the marker", "intro\n" + marker + "\nbody\n", "intro\n" + begin + "\n\nS\n\n" + end + "\n\n" + marker + "\nbody\n"},
		{"replaces an earlier section", "intro\n" + begin + "\n\nold\n\n" + end + "\nrest\n", "intro\n" + begin + "\n\nS\n\n" + end + "\nrest\n"},
		{"no marker: appended", "intro\n", "intro\n\n" + begin + "\n\nS\n\n" + end + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "B.md")
			if err := os.WriteFile(p, []byte(tc.old), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := writeSection(p, begin, end, "S\n"); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "B.md")
	if err := os.WriteFile(p, []byte(begin+"\nno end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSection(p, begin, end, "S"); err == nil {
		t.Error("a begin marker without its end: no error")
	}
}

func TestAggregateCheck(t *testing.T) {
	d := scanData{Rows: 10, SalarySum: 1000, Regions: 5, EURows: 3, EUSum: 300}
	tests := []struct {
		name string
		a    aggregate
		eu   bool
		ok   bool
	}{
		{"whole table", aggregate{N: 10, Sum: 1000, Regions: 5}, false, true},
		{"EU rows", aggregate{N: 3, Sum: 300, Regions: 1}, true, true},
		{"a hidden row leaked", aggregate{N: 4, Sum: 300, Regions: 1}, true, false},
		{"another region leaked", aggregate{N: 3, Sum: 300, Regions: 2}, true, false},
		{"sum off", aggregate{N: 10, Sum: 1001, Regions: 5}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.a.checkFor(d, tc.eu); (err == nil) != tc.ok {
				t.Fatalf("checkFor: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
