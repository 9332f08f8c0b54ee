package policy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// explain renders a testdata/*.policy file: grant statements, a line
// "=== requests", then one request a line as "groups PRIVILEGE uri", groups
// comma-separated or "-" for none. Each request is printed with its
// decision and reason.
func explain(t *testing.T, src string) string {
	t.Helper()
	stmts, reqs, ok := strings.Cut(src, "\n=== requests\n")
	if !ok {
		t.Fatal(`missing "=== requests" line`)
	}
	p := Compile(fromText(t, stmts))
	var b strings.Builder
	for line := range strings.Lines(reqs) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("request %q: want \"groups PRIVILEGE uri\"", line)
		}
		var groups []string
		if f[0] != "-" {
			groups = strings.Split(f[0], ",")
		}
		var priv grants.Privilege
		for q := grants.All; q != 0; q <<= 1 {
			if q.String() == f[1] {
				priv = q
			}
		}
		d := p.Evaluate(Request{User: "alice", Groups: groups, Privilege: priv, URI: f[2]})
		verdict := "DENY "
		if d.Allowed {
			verdict = "ALLOW"
		}
		fmt.Fprintf(&b, "%s\n  %s %s\n", line, verdict, d.Reason)
	}
	return b.String()
}

// TestExplanationsGolden evaluates the requests of each testdata/*.policy
// and compares the decisions and reasons with testdata/*.golden. Run with
// -update to rewrite them.
func TestExplanationsGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.policy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata/*.policy inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".policy")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := explain(t, string(src))
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("explanations differ from %s (run with -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
