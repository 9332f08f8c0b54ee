package grants

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// render is what a golden file holds for one input: the canonical printing,
// or the error text.
func render(src string) string {
	stmts, err := Parse(src)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	return Format(stmts)
}

// TestGolden parses each testdata/*.sql and compares the canonical printing
// (or the error) with testdata/*.golden. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata/*.sql inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".sql")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := render(string(src))
			goldenPath := strings.TrimSuffix(in, ".sql") + ".golden"
			if *update {
				if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", goldenPath, got, want)
			}
			// A successful parse must survive printing: the canonical
			// text parses to the same output.
			if !strings.HasPrefix(got, "error: ") {
				if again := render(got); again != got {
					t.Errorf("canonical text does not round-trip\n--- first\n%s--- second\n%s", got, again)
				}
			}
		})
	}
}
