package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteStoresSection: the section goes above the report's marker and
// replaces its earlier self; everything else is kept byte for byte.
func TestWriteStoresSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	intro, generated := "# Benchmarks\n\nintro\n\n", "\n\n## Run\n\nfigures\n"
	if err := os.WriteFile(path, []byte(intro+marker+generated), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"## Policy stores\n\nfirst\n", "## Policy stores\n\nsecond\n"} {
		if err := writeStoresSection(path, section); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		want := intro + storesBegin + "\n\n" + strings.TrimSpace(section) + "\n\n" + storesEnd + "\n\n" + marker + generated
		if string(got) != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
	}
}

// TestStoresQuickRun runs -stores in -quick mode (real PostgreSQL and
// MariaDB) and checks that both tables have a row per driver. It asserts
// nothing about speed.
func TestStoresQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lakegate and starts MinIO, PostgreSQL and MariaDB; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg := quickConfig()
	cfg.Command = "go test ./bench -run TestStoresQuickRun"
	cfg.Log = testLog{t}
	md, err := runStores(ctx, cfg)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Log("\n" + md)
	for _, driver := range []string{"sqlite", "postgres", "mysql"} {
		if n := strings.Count(md, "\n| "+driver+" | "); n != 2 {
			t.Errorf("%d rows for %s, want 2 (latency and reload tables)", n, driver)
		}
	}
}
