package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestQuickRun runs the whole harness in -quick mode (builds lakegate,
// starts MinIO and the proxy) and checks that the report holds every
// section and every summary figure as a number above zero. It asserts
// nothing about speed: the figures of a quick run mean nothing.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lakegate and starts MinIO; skipped with -short")
	}
	if _, err := findMinio(""); err != nil {
		if errors.Is(err, errSkip) {
			t.Skipf("skipping the benchmark smoke run: %v", err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg := quickConfig()
	cfg.Command = "go test ./bench -run TestQuickRun"
	cfg.Log = testLog{t}
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	md := render(res)
	t.Log("\n" + md)

	for _, h := range []string{"## Run", "## Summary", "## Large-object PUT", "## Large-object GET",
		"## Small GETs", "### One request at a time", "## Proxy on its own CPU", "### Small GETs, proxy on its own CPU",
		"#### One request at a time", "## Proxy memory (RSS)", "## Policy decisions",
		"## nScale proxy", "### Warm-cache authorization", "### First authorized request of a fresh proxy", "## Checks", "## Method"} {
		if !strings.Contains(md, "\n"+h+"\n") && !strings.HasPrefix(md, h+"\n") {
			t.Errorf("report lacks section %q", h)
		}
	}
	for _, want := range []string{"Command: `go test ./bench -run TestQuickRun`", "nproc", "Go: go1."} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// Every summary row: label prefix → columns whose leading number must
	// be > 0 (direct, proxy, ratio) — "—" where a column has no figure.
	rows := summaryRows(t, md)
	for _, want := range []struct {
		prefix  string
		numeric []int // column indexes that must hold a positive number
	}{
		{"PUT aws-sdk-go-v2 ", []int{1, 2, 3}},
		{"PUT minio-go ", []int{1, 2, 3}},
		{"GET 16 MiB", []int{1, 2, 3}},
		{"GET 4 KiB c=16 p50", []int{1, 2}},
		{"GET 4 KiB c=16 p90", []int{1, 2}},
		{"GET 4 KiB c=16 p99", []int{1, 2}},
		{"GET 4 KiB c=16 rate", []int{1, 2, 3}},
		{"GET 4 KiB c=1 p50", []int{1, 2}},
		{"PUT aws-sdk-go-v2 16 MiB" + pinnedLabel, []int{1, 2, 3}},
		{"PUT minio-go 16 MiB" + pinnedLabel, []int{1, 2, 3}},
		{"GET 16 MiB" + pinnedLabel, []int{1, 2, 3}},
		{"GET 4 KiB c=16 p50" + pinnedLabel, []int{1, 2}},
		{"GET 4 KiB c=16 rate" + pinnedLabel, []int{1, 2, 3}},
		{"GET 4 KiB c=1 p50" + pinnedLabel, []int{1, 2}},
		{"Proxy peak RSS, 96 MiB minio-go", []int{2}},
		{"Proxy peak RSS, 96 MiB aws-sdk-go-v2 multipart", []int{2}},
		{"Uncached policy decision, 100k grants / 10k roles", []int{2}},
		{"nScale warm-cache authorization", []int{2}},
		{"nScale proxy start → first authorized GET", []int{2}},
		{"nScale proxy port accepting → first authorized GET (cold caches)", []int{2}},
	} {
		cells, ok := rows[want.prefix]
		if !ok {
			t.Errorf("summary has no row starting %q", want.prefix)
			continue
		}
		for _, i := range want.numeric {
			if v, err := leadingNumber(cells[i]); err != nil || v <= 0 {
				t.Errorf("summary row %q column %d = %q: want a number > 0", want.prefix, i, cells[i])
			}
		}
		if met := cells[5]; met != "yes" && met != "**no**" && met != "—" {
			t.Errorf("summary row %q: Met = %q", want.prefix, met)
		}
	}
	for _, p := range []string{"hex SHA-256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"} {
		if !strings.Contains(md, p) {
			t.Errorf("report does not name the payload mode %q", p)
		}
	}
}

// summaryRows maps each row label of the summary table to its cells.
func summaryRows(t *testing.T, md string) map[string][]string {
	t.Helper()
	_, after, ok := strings.Cut(md, "## Summary\n")
	if !ok {
		t.Fatal("no summary")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	rows := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Measurement") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		if len(cells) != 6 {
			t.Errorf("summary row %q has %d cells, want 6", line, len(cells))
			continue
		}
		for prefixLen := range len(cells[0]) + 1 {
			rows[cells[0][:prefixLen]] = cells
		}
	}
	return rows
}

var numberRE = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?`)

func leadingNumber(s string) (float64, error) {
	m := numberRE.FindString(strings.TrimPrefix(s, "≥ "))
	if m == "" {
		return 0, errors.New("no number")
	}
	return strconv.ParseFloat(m, 64)
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestWriteReportKeepsIntro(t *testing.T) {
	path := filepath.Join(t.TempDir(), "docs", "BENCHMARKS.md")
	if err := writeReport(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), defaultIntro) || !strings.HasSuffix(string(b), marker+"\n\nfirst\n") {
		t.Fatalf("new file:\n%s", b)
	}
	intro := "# Benchmarks\n\nHand-written notes.\n\n"
	if err := os.WriteFile(path, []byte(intro+marker+"\n\nold figures\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, "second\n"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if got, want := string(b), intro+marker+"\n\nsecond\n"; got != want {
		t.Fatalf("rewritten file:\n%s\nwant:\n%s", got, want)
	}
}

func TestPercentileAndMedian(t *testing.T) {
	var l []time.Duration
	for i := 1; i <= 100; i++ {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(l, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
}

func TestGenReader(t *testing.T) {
	const size = 3*mib + 17
	whole := make([]byte, size)
	n, err := newGen(size).Read(whole[:0:0])
	if n != 0 || err != nil {
		t.Fatalf("empty read: %d, %v", n, err)
	}
	g := newGen(size)
	off := 0
	for off < size {
		n, err := g.Read(whole[off:min(off+70001, size)])
		off += n
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	if n, err := g.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("read past end: %d, %v", n, err)
	}
	// A part reader starting at an offset yields the same bytes.
	part := &genReader{base: mib + 5, size: mib}
	got := make([]byte, mib)
	if _, err := part.ReadAt(got, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if string(got) != string(whole[mib+5:2*mib+5]) {
		t.Fatal("part reader differs from the whole")
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkEvaluateUncached-2       	  500000	      2034 ns/op	       0 B/op	       0 allocs/op
BenchmarkEvaluateUncached-2       	  500000	      2100.5 ns/op	       0 B/op	       0 allocs/op
BenchmarkHasAnyGrantInBucket-2    	 9000000	       120 ns/op	      16 B/op	       1 allocs/op
PASS
`
	got, err := parseGoBench(out, policyBenchmarks)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].NsPerOp) != 2 || got[0].NsPerOp[1] != 2100.5 || got[1].BPerOp != 16 || got[1].AllocsOp != 1 {
		t.Errorf("parseGoBench = %+v", got)
	}
	if _, err := parseGoBench("PASS\n", policyBenchmarks); err == nil {
		t.Error("parseGoBench without results: want an error")
	}
}

// TestEvaluateNScale checks the nScale rows and the unmet-target list
// without starting anything: a slow warm decision and a slow first answer
// are both reported.
func TestEvaluateNScale(t *testing.T) {
	starts := []coldStart{
		{Listening: 100 * time.Millisecond, FirstOK: 700 * time.Millisecond, Attempts: 1},
		{Listening: 90 * time.Millisecond, FirstOK: 600 * time.Millisecond, Attempts: 2},
		{Listening: 80 * time.Millisecond, FirstOK: 650 * time.Millisecond, Attempts: 1},
	}
	r := &results{NScale: &nscaleResult{
		Command: "go test …", ObjectSize: 4 * kib, Starts: starts,
		Benches: []goBench{{Name: "BenchmarkWarmDecide", NsPerOp: []float64{900, 1200, 1100}}},
	}}
	r.evaluate()
	if len(r.Unmet) != 2 || !strings.Contains(r.Unmet[0], "1.100 µs") || !strings.Contains(r.Unmet[1], "650.0 ms") {
		t.Errorf("unmet = %q", r.Unmet)
	}
	if len(r.Rows) != 3 || r.Rows[0].Met != "**no**" || r.Rows[1].Met != "**no**" || r.Rows[2].Proxy != "570.0 ms" {
		t.Errorf("rows = %+v", r.Rows)
	}
	var b strings.Builder
	renderNScale(&b, r.NScale)
	for _, want := range []string{"| **median** | **90.0 ms** | **570.0 ms** | **650.0 ms** | |", "| **max** | **100.0 ms** | **600.0 ms** | **700.0 ms** | |", "| 2 | 90.0 ms | 510.0 ms | 600.0 ms | 2 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("section lacks %q:\n%s", want, b.String())
		}
	}
}
