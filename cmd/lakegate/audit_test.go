package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
)

// writeAuditLog records n requests into dir: every third denied, user
// alice for even ones, bob for odd ones.
func writeAuditLog(t *testing.T, dir string, n int) {
	t.Helper()
	b, err := audit.New(audit.Options{
		Sinks: audit.Sinks{Dir: dir}, Node: "cli-test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ev := &audit.Event{
			Source: audit.SourceProxy, User: "alice", Operation: "GetObject", Decision: audit.DecisionAllow,
			URIs: []string{fmt.Sprintf("s3://lake/sales/%d.parquet", i)}, Reason: "GRANT SELECT ON URI 's3://lake/sales'",
			AccessKeyID: "LGAKIAEXAMPLE0000001", Mode: audit.ModeProxy,
		}
		if i%2 == 1 {
			ev.User = "bob"
		}
		if i%3 == 0 {
			ev.Decision, ev.Reason = audit.DecisionDeny, "no grant covers s3://lake/sales"
		}
		if err := b.Decide(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if i != n-1 { // the last one never completes
			ev.Status = 200
			b.Complete(ev)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAuditQueryCommand(t *testing.T) {
	t.Setenv(configEnv, "")
	dir := t.TempDir()
	writeAuditLog(t, dir, 12)

	code, out, errOut := runCLI(t, "audit", "query", "--dir", dir, "--user", "alice", "--decision", "deny", "--json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 { // 0 and 6
		t.Fatalf("%d events, want 2:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var e audit.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.User != "alice" || e.Decision != "deny" {
			t.Errorf("line %q (%v)", l, err)
		}
	}

	code, out, errOut = runCLI(t, "audit", "query", "--dir", dir, "--uri-prefix", "s3a://lake/sales/1", "--since", "1h")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	// Header, then 1, 10, 11; 11 is the incomplete one.
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 4 || !strings.HasPrefix(rows[0], "TIME") || !strings.Contains(rows[3], "incomplete") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(errOut, "3 events (1 incomplete)") {
		t.Errorf("summary: %q", errOut)
	}

	for _, bad := range [][]string{
		{"--decision", "maybe"}, {"--since", "yesterday"}, {"--s3", "http://x"}, {"--uri-prefix", "lake/"},
	} {
		if code, _, _ := runCLI(t, append([]string{"audit", "query", "--dir", dir}, bad...)...); code == 0 {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestAuditQueryUsesConfiguredDir(t *testing.T) {
	dataDir := t.TempDir()
	writeAuditLog(t, filepath.Join(dataDir, "audit"), 3)
	path := filepath.Join(t.TempDir(), "lakegate.yaml")
	if err := os.WriteFile(path, []byte("data_dir: "+dataDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(configEnv, path)
	code, out, errOut := runCLI(t, "audit", "query", "--json")
	if code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("code %d, output:\n%s%s", code, out, errOut)
	}
}
