package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteTablesSection: the section goes above the report's marker,
// after a policy stores section, and replaces its earlier self; the rest
// is kept byte for byte.
func TestWriteTablesSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	intro := "# Benchmarks\n\nintro\n\n"
	stores := storesBegin + "\n\n## Policy stores\n\nfigures\n\n" + storesEnd + "\n\n"
	generated := "\n\n## Run\n\nfigures\n"
	if err := os.WriteFile(path, []byte(intro+stores+marker+generated), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"## Dynamic bypass\n\nfirst\n", "## Dynamic bypass\n\nsecond\n\n\n"} {
		if err := writeTablesSection(path, section); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		want := intro + stores + tablesBegin + "\n\n" + strings.TrimSpace(section) + "\n\n" + tablesEnd + "\n\n" + marker + generated
		if string(got) != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
	}
	// A later -stores run keeps this section.
	if err := writeStoresSection(path, "## Policy stores\n\nnew\n"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), "## Dynamic bypass\n\nsecond\n\n"+tablesEnd) {
		t.Errorf("the -stores run lost the dynamic bypass section:\n%s", got)
	}
}

func TestRatios(t *testing.T) {
	for _, tc := range []struct {
		name         string
		table, uri   []float64
		median       float64
		lo, hi       float64 // bounds the interval must lie within
		containsOne  bool
		wantInterval bool // Lo < Hi
	}{
		{name: "identical rounds", table: []float64{1, 2, 3}, uri: []float64{1, 2, 3}, median: 1, lo: 1, hi: 1, containsOne: true},
		{name: "a steady 10 % more", table: []float64{1.1, 2.2, 3.3, 4.4}, uri: []float64{1, 2, 3, 4}, median: 1.1, lo: 1.0999, hi: 1.1001},
		{name: "noise around 1", table: []float64{1.2, 0.8, 1.1, 0.9}, uri: []float64{1, 1, 1, 1}, median: 1, lo: 0.7357, hi: 1.3251, // t(3) = 3.182 over the log ratios
			containsOne: true, wantInterval: true},
		{name: "zeros are left out", table: []float64{0, 2}, uri: []float64{1, 1}, median: 2, lo: 2, hi: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ratios(1, tc.table, tc.uri)
			if math.Abs(r.Median-tc.median) > 1e-9 {
				t.Errorf("median %v, want %v", r.Median, tc.median)
			}
			if r.Lo < tc.lo-1e-9 || r.Hi > tc.hi+1e-9 || r.Lo > r.Hi {
				t.Errorf("interval %v–%v, want within %v–%v", r.Lo, r.Hi, tc.lo, tc.hi)
			}
			if got := r.Lo <= 1+1e-9 && r.Hi >= 1-1e-9; got != tc.containsOne {
				t.Errorf("interval %v–%v contains 1: %v, want %v", r.Lo, r.Hi, got, tc.containsOne)
			}
			if tc.wantInterval && !(r.Lo < r.Hi) {
				t.Errorf("interval %v–%v is a point", r.Lo, r.Hi)
			}
		})
	}
}

func TestVerdictText(t *testing.T) {
	// The control (A/A) of every figure is off by 2 %, unless a case says.
	v := func(name string, pooled, lo, hi float64) boundVerdict {
		return boundVerdict{name, ratioStats{Pooled: pooled, Lo: lo, Hi: hi}, ratioStats{Pooled: 1.02, Lo: 0.95, Hi: 1.09}, strings.HasSuffix(name, "req/s")}
	}
	noisy := func(bv boundVerdict, control float64) boundVerdict {
		bv.control.Pooled = control
		return bv
	}
	for _, tc := range []struct {
		name     string
		vs       []boundVerdict
		want     []string
		dontWant []string
	}{
		{name: "resolved", vs: []boundVerdict{v("c=16 p50", 1.01, 0.98, 1.03)},
			want: []string{"**Within 5 %**", "lie inside the bound"}, dontWant: []string{"Not all within", "A/A"}},
		{name: "met but noisy", vs: []boundVerdict{v("c=16 p50", 1.01, 0.98, 1.03), v("c=1 p50", 1.02, 0.9, 1.15)},
			want: []string{"**Within 5 %**", "confirm it for c=16 p50 1.010× (CI 0.980–1.030), not for c=1 p50 1.020× (CI 0.900–1.150)"}},
		{name: "beyond but noise", vs: []boundVerdict{v("c=16 req/s", 1.08, 0.95, 1.2), v("c=16 p50", 1.0, 0.99, 1.01)},
			want: []string{"**Not all within 5 %.**", "Within 5 %: c=16 p50 1.000× (CI 0.990–1.010).", "not distinguishable from the run's noise",
				"c=16 req/s 1.080×, table side faster (CI 0.950–1.200)"}},
		{name: "beyond for real", vs: []boundVerdict{v("c=1 p50", 1.2, 1.1, 1.3)},
			want: []string{"**Not all within 5 %.**", "confidence interval excluding 1: c=1 p50 1.200×, table side slower (CI 1.100–1.300)",
				"the A/A control (a second URI-grant user against the first) was off by up to 2.0 % on these figures (c=1 p50 1.020×)",
				"the noise does not explain"},
			dontWant: []string{"Within 5 %:"}},
		{name: "beyond, and so is the control", vs: []boundVerdict{v("c=16 p50", 1.0, 0.99, 1.01), noisy(v("c=1 req/s", 0.84, 0.76, 0.95), 1.19)},
			want: []string{"c=1 req/s 0.840×, table side slower (CI 0.760–0.950)", "was off by up to 19.0 % on these figures (c=1 req/s 1.190×)",
				"the machine's noise, not the grant's kind"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := verdictText(tc.vs, "the decision itself differs by +0.30 µs")
			for _, w := range append(tc.want, "For scale: the decision itself differs by +0.30 µs.") {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("%q has %q", got, w)
				}
			}
		})
	}
}

// TestTablesQuickRun runs -tables in -quick mode (builds lakegate, starts
// MinIO and the proxy, runs the policy benchmarks) and checks that the
// section holds both concurrencies, both benchmarks and the checks. It
// asserts nothing about speed.
func TestTablesQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lakegate and starts MinIO; skipped with -short")
	}
	if _, err := findMinio(""); err != nil {
		t.Skipf("skipping the -tables smoke run: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg := quickConfig()
	cfg.Command = "go test ./bench -run TestTablesQuickRun"
	cfg.Log = testLog{t}
	md, err := runTables(ctx, cfg)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Log("\n" + md)
	for _, want := range []string{
		"### 4 KiB GETs, c=16:", "### 4 KiB GETs, c=1:", "| p50 | ", "| req/s | ", "| p99 | ",
		"| BenchmarkEvaluateTableLocation | ", "| BenchmarkEvaluateURIGrant | ",
		"GRANT SELECT ON TABLE bench.t TO ROLE bench_table", "GRANT SELECT ON URI 's3://lakegate-bench/uri-grant' TO ROLE bench_uri",
		"the audit record of bench_table's GET names table bench.t and partition dt=2026-12-01",
		"refused (403) the others'",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q", want)
		}
	}
}
