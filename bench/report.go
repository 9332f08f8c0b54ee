package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Targets the proxy is held to.
const (
	targetThroughputRatio = 0.9              // proxy/direct MB/s, large objects
	targetAddedP50        = time.Millisecond // proxy p50 − direct p50, small GETs
	targetPeakRSS         = 100 * mib        // proxy peak RSS while streaming
)

type results struct {
	Command  string
	Quick    bool
	Date     time.Time
	Config   config
	Machine  machine
	Software software

	// Each is empty (nil) when its step did not run (-only).
	Puts   []throughput
	Gets   []throughput
	Small  *smallResult
	RSS    []rssResult
	Policy *policyResult
	NScale *nscaleResult
	Pinned *pinnedResult

	Checks []string // integrity checks that passed

	Rows  []row    // the summary table, filled by evaluate
	Unmet []string // targets not met, filled by evaluate
}

type machine struct {
	NProc     int
	CPU       string
	MemBytes  int64
	Kernel    string
	GoVersion string
	Load      string
}

type software struct {
	Commit string
	Minio  string
}

// throughput is one large-object measurement, per repetition, in MB/s.
type throughput struct {
	Key    string // short stable label, first column of the summary
	Name   string
	Client string
	Mode   string // payload mode observed on the wire
	Size   int64

	Direct, Proxy []float64

	DirectCPU, ProxyCPU cpuUse // CPU used during the direct and the proxied repetitions
}

type latStats struct {
	N             int
	Elapsed       time.Duration
	P50, P90, P99 time.Duration
	Max           time.Duration
	RPS           float64
}

type smallResult struct {
	Size, Conc, Rounds, PerRound int
	Direct, Proxy                latStats
	DirectCPU, ProxyCPU          cpuUse

	SerialRounds, SerialPerRound int
	SerialDirect, SerialProxy    latStats // one request at a time
}

type rssResult struct {
	Name     string
	Mode     string
	Bytes    int64
	Elapsed  time.Duration
	Samples  int
	Baseline int64 // VmRSS before the upload
	Peak     int64 // max of the samples and VmHWM
	HWM      int64 // VmHWM after the upload
	HWMReset bool  // VmHWM was reset before the upload
}

// row is one line of the summary table.
type row struct {
	Label, Direct, Proxy, Diff, Target, Met string
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func metWord(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// evaluate builds the summary rows and checks the targets.
func (r *results) evaluate() {
	r.Rows, r.Unmet = nil, nil
	r.throughputRows(slices.Concat(r.Puts, r.Gets), "")
	r.smallRows(r.Small, "")
	if p := r.Pinned; p != nil {
		r.throughputRows(slices.Concat(p.Puts, p.Gets), pinnedLabel)
		r.smallRows(p.Small, pinnedLabel)
	}
	r.evaluatePolicy()
	r.evaluateNScale()
	for _, m := range r.RSS {
		ok := m.Peak < targetPeakRSS
		label := fmt.Sprintf("Proxy peak RSS, %s %s", formatSize(m.Bytes), m.Name)
		if !ok {
			r.Unmet = append(r.Unmet, fmt.Sprintf("%s: %s (target < %s)", label, mibs(m.Peak), mibs(targetPeakRSS)))
		}
		r.Rows = append(r.Rows, row{label, "—", mibs(m.Peak), "—", "< " + mibs(targetPeakRSS), metWord(ok)})
	}
}

// pinnedLabel ends the summary labels of the measurements with the proxy
// on its own CPUs.
const pinnedLabel = ", proxy on its own CPU"

// throughputRows adds the summary rows of large-object measurements.
func (r *results) throughputRows(ts []throughput, suffix string) {
	for _, t := range ts {
		d, p := median(t.Direct), median(t.Proxy)
		ratio := 0.0
		if d > 0 {
			ratio = p / d
		}
		ok := ratio >= targetThroughputRatio
		label := fmt.Sprintf("%s %s%s", t.Key, formatSize(t.Size), suffix)
		if !ok {
			r.Unmet = append(r.Unmet, fmt.Sprintf("%s: %.2f× direct (target ≥ %.2f×)", label, ratio, targetThroughputRatio))
		}
		r.Rows = append(r.Rows, row{label, fmt.Sprintf("%.1f MB/s", d), fmt.Sprintf("%.1f MB/s", p),
			fmt.Sprintf("%.2f×", ratio), fmt.Sprintf("≥ %.2f×", targetThroughputRatio), metWord(ok)})
	}
}

// smallRows adds the summary rows of a small-GET measurement, if any.
func (r *results) smallRows(s *smallResult, suffix string) {
	if s == nil {
		return
	}
	name := fmt.Sprintf("GET %s c=%d", formatSize(int64(s.Size)), s.Conc)
	added := s.Proxy.P50 - s.Direct.P50
	ok := added <= targetAddedP50
	if !ok {
		r.Unmet = append(r.Unmet, fmt.Sprintf("%s%s: p50 +%s ms (target ≤ +%s ms)", name, suffix, ms(added), ms(targetAddedP50)))
	}
	r.Rows = append(r.Rows,
		row{name + " p50" + suffix, ms(s.Direct.P50) + " ms", ms(s.Proxy.P50) + " ms", signedMS(added) + " ms", "≤ +" + ms(targetAddedP50) + " ms", metWord(ok)},
		row{name + " p90" + suffix, ms(s.Direct.P90) + " ms", ms(s.Proxy.P90) + " ms", signedMS(s.Proxy.P90-s.Direct.P90) + " ms", "—", "—"},
		row{name + " p99" + suffix, ms(s.Direct.P99) + " ms", ms(s.Proxy.P99) + " ms", signedMS(s.Proxy.P99-s.Direct.P99) + " ms", "—", "—"},
		row{name + " rate" + suffix, fmt.Sprintf("%.0f req/s", s.Direct.RPS), fmt.Sprintf("%.0f req/s", s.Proxy.RPS),
			fmt.Sprintf("%.2f×", safeDiv(s.Proxy.RPS, s.Direct.RPS)), "—", "—"},
		row{fmt.Sprintf("GET %s c=1 p50%s", formatSize(int64(s.Size)), suffix), ms(s.SerialDirect.P50) + " ms", ms(s.SerialProxy.P50) + " ms",
			signedMS(s.SerialProxy.P50-s.SerialDirect.P50) + " ms", "—", "—"},
	)
}

// maxOthersShare is the largest share of the machine other processes used
// during any measurement.
func (r *results) maxOthersShare() (float64, bool) {
	uses := cpuUses(slices.Concat(r.Puts, r.Gets), r.Small)
	if p := r.Pinned; p != nil {
		uses = append(uses, cpuUses(slices.Concat(p.Puts, p.Gets), p.Small)...)
	}
	m := 0.0
	for _, u := range uses {
		m = max(m, u.othersShare(r.Machine.NProc))
	}
	return m, len(uses) > 0
}

// cpuUses lists the CPU use of both endpoints in each measurement.
func cpuUses(ts []throughput, small *smallResult) []cpuUse {
	var uses []cpuUse
	for _, t := range ts {
		uses = append(uses, t.DirectCPU, t.ProxyCPU)
	}
	if small != nil {
		uses = append(uses, small.DirectCPU, small.ProxyCPU)
	}
	return uses
}

// signedMS is a difference in milliseconds with its sign.
func signedMS(d time.Duration) string {
	if d < 0 {
		return "−" + ms(-d)
	}
	return "+" + ms(d)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

func mibs(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/mib) }

func formatSize(b int64) string {
	switch {
	case b >= gib && b%gib == 0:
		return fmt.Sprintf("%d GiB", b/gib)
	case b >= mib && b%mib == 0:
		return fmt.Sprintf("%d MiB", b/mib)
	case b >= kib && b%kib == 0:
		return fmt.Sprintf("%d KiB", b/kib)
	}
	return fmt.Sprintf("%d B", b)
}

// render writes the report body (everything below the marker).
func render(r *results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("## Run\n\n")
	p("- Command: `%s`\n", r.Command)
	p("- Date: %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	m := r.Machine
	p("- Machine: %d CPUs (nproc), %s, %.1f GiB RAM, Linux %s\n", m.NProc, m.CPU, float64(m.MemBytes)/gib, m.Kernel)
	p("- Go: %s\n", m.GoVersion)
	p("- Load average (1/5/15 min): %s — the machine is shared; the client, the proxy and MinIO all run on it\n", m.Load)
	if share, ok := r.maxOthersShare(); ok {
		p("- Other processes used at most %.0f%% of the machine's CPU during any measurement (per-step figures below); above a few percent, figures are disturbed\n", 100*share)
	}
	p("- lakegate: commit %s, `lakegate serve` built by the harness\n", orUnknown(r.Software.Commit))
	p("- MinIO: %s, single drive in a temporary directory, loopback\n", r.Software.Minio)
	if len(r.Config.Only) > 0 {
		p("- **Partial run**: only %s.\n", strings.Join(r.Config.Only, ", "))
	}
	if r.Quick {
		p("- **Quick mode** (`-quick`): small sizes and counts for a smoke run; the figures are not representative.\n")
	}
	p("\n")

	p("## Summary\n\n")
	p("Medians; ratio = proxy ÷ direct; added = proxy − direct. MB = 10⁶ bytes.\n\n")
	p("| Measurement | Direct to MinIO | Through lakegate | Ratio / added | Target | Met |\n")
	p("|---|---:|---:|---:|---:|:---:|\n")
	for _, row := range r.Rows {
		p("| %s | %s | %s | %s | %s | %s |\n", row.Label, row.Direct, row.Proxy, row.Diff, row.Target, row.Met)
	}
	p("\n")
	if len(r.Unmet) == 0 {
		p("All targets are met.\n\n")
	} else {
		p("Targets not met:\n\n")
		for _, u := range r.Unmet {
			p("- %s\n", u)
		}
		p("\n")
	}

	if len(r.Puts) > 0 {
		p("## Large-object PUT\n\n")
		for _, t := range r.Puts {
			renderThroughput(&b, t, m.NProc, false)
		}
	}
	if len(r.Gets) > 0 {
		p("## Large-object GET\n\n")
		for _, t := range r.Gets {
			renderThroughput(&b, t, m.NProc, false)
		}
	}
	if r.Small != nil {
		p("## Small GETs\n\n")
		renderSmall(&b, r.Small, m.NProc, "###", false)
	}
	if r.Pinned != nil {
		renderPinned(&b, r.Pinned, m.NProc)
	}
	if len(r.RSS) > 0 {
		renderRSS(&b, r.RSS)
	}
	if r.Policy != nil {
		renderPolicy(&b, r.Policy)
	}
	if r.NScale != nil {
		renderNScale(&b, r.NScale)
	}
	p("## Checks\n\n")
	for _, c := range r.Checks {
		p("- %s\n", c)
	}
	p("\n")

	p("## Method\n\n")
	p("- One process builds lakegate, starts MinIO (random root credentials) and `lakegate serve` with an admin key, and drives both with the same clients and HTTP transport (keep-alive, no compression, Expect: 100-continue after 1 s as SDKs do). Direct requests are signed with MinIO's root key, proxied ones with lakegate's admin key; lakegate verifies them, re-signs with the root key and streams to MinIO.\n")
	p("- Each large-object measurement runs %d times per endpoint; in even repetitions direct goes first, in odd ones the proxy does. Throughput is object size ÷ wall time of the call, including the client's own hashing and signing. The summary shows medians.\n", r.Config.LargeReps)
	p("- CPU figures: harness, lakegate and MinIO from /proc/<pid>/stat (utime + stime, all threads, 10 ms resolution), read before and after each call; other processes (including other users' work and kernel threads) = user + system time in /proc/stat minus those three; machine busy = all non-idle time in /proc/stat (interrupts and softirqs included, where loopback networking is mostly charged) ÷ (wall time × CPUs). A large share for other processes means a neighbour's load disturbed the run.\n")
	p("- Generated objects repeat a pseudo-random 1 MiB + 4099 B block, so nothing can compress them.\n")
	return b.String()
}

// renderSmall writes a small-GET measurement; sub is the heading level of
// its one-at-a-time part, pinned as for renderCPU.
func renderSmall(b *strings.Builder, s *smallResult, nproc int, sub string, pinned bool) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("aws-sdk-go-v2 s3.GetObject of one %s object, body read to the end; %d workers; %d rounds of %d requests per endpoint, endpoints alternating. "+
		"Latency is per request (call to last body byte), percentiles nearest-rank over all rounds.\n\n",
		formatSize(int64(s.Size)), s.Conc, s.Rounds, s.PerRound)
	renderLatency(b, s.Direct, s.Proxy)
	p("\nCPU per request (µs), from /proc:\n\n")
	renderCPU(b, s.DirectCPU, s.ProxyCPU, "µs per request", float64(s.Direct.N), float64(s.Proxy.N), 1e6, nproc, pinned)
	p("\n%s One request at a time\n\n", sub)
	p("The same GETs with a single worker, %d rounds of %d per endpoint: the latency the proxy adds when the benchmark does not saturate the CPUs.\n\n",
		s.SerialRounds, s.SerialPerRound)
	renderLatency(b, s.SerialDirect, s.SerialProxy)
	p("\n")

}

func renderPinned(b *strings.Builder, r *pinnedResult, nproc int) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Proxy on its own CPU\n\n")
	if r.Skipped != "" {
		p("Not measured: %s.\n\n", r.Skipped)
		return
	}
	p("The measurements above share every CPU between the client, MinIO and lakegate, so each CPU second the proxy spends is taken from the two ends; "+
		"in a deployment the proxy runs on hosts of its own. Here the same measurements are repeated with the processes bound to CPUs (sched_setaffinity, every thread): "+
		"%s, in the direct runs as in the proxied ones. The ends get the same CPUs either way, so what remains is what the proxy adds as a hop: "+
		"its latency and its pipelining, not CPU taken from the ends. The direct figures are lower than above because the ends have fewer CPUs.\n\n", r.Placement)
	for _, t := range slices.Concat(r.Puts, r.Gets) {
		renderThroughput(b, t, nproc, true)
	}
	if r.Small != nil {
		p("### Small GETs, proxy on its own CPU\n\n")
		renderSmall(b, r.Small, nproc, "####", true)
	}
}

func renderRSS(b *strings.Builder, rss []rssResult) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Proxy memory (RSS)\n\n")

	p("Each upload streams generated bytes (never held in memory) through the proxy while the harness samples VmRSS of the lakegate process from /proc/<pid>/status every 50 ms. " +
		"VmHWM is the kernel's own peak, reset (clear_refs) before each upload; peak = max(samples, VmHWM).\n\n")
	p("| Upload | Size | Time | MB/s | Samples | RSS before | Peak RSS | VmHWM after | Target | Met |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|\n")
	for _, x := range rss {
		hwm := mibs(x.HWM)
		if !x.HWMReset {
			hwm += " (not reset: lifetime peak)"
		}
		p("| %s | %s | %.1f s | %.1f | %d | %s | %s | %s | < %s | %s |\n", x.Name, formatSize(x.Bytes), x.Elapsed.Seconds(),
			float64(x.Bytes)/x.Elapsed.Seconds()/1e6, x.Samples, mibs(x.Baseline), mibs(x.Peak), hwm, mibs(targetPeakRSS), metWord(x.Peak < targetPeakRSS))
	}
	p("\nPayload modes on the wire:\n\n")
	for _, x := range rss {
		p("- %s: %s\n", x.Name, x.Mode)
	}
	p("\n")

}

// renderThroughput writes a large-object measurement, pinned as for
// renderCPU.
func renderThroughput(b *strings.Builder, t throughput, nproc int, pinned bool) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### %s\n\n", t.Name)
	p("- Client: %s\n", t.Client)
	p("- Payload mode on the wire: %s\n\n", orUnknown(t.Mode))
	p("| Repetition | First | Direct MB/s | Proxy MB/s |\n|---:|---|---:|---:|\n")
	for i := range max(len(t.Direct), len(t.Proxy)) {
		first := "direct"
		if i%2 == 1 {
			first = "proxy"
		}
		p("| %d | %s | %s | %s |\n", i+1, first, at(t.Direct, i), at(t.Proxy, i))
	}
	d, pr := median(t.Direct), median(t.Proxy)
	p("| **median** | | **%.1f** | **%.1f** |\n\n", d, pr)
	var paired []float64
	for i := range min(len(t.Direct), len(t.Proxy)) {
		paired = append(paired, safeDiv(t.Proxy[i], t.Direct[i]))
	}
	p("Ratio proxy/direct: **%.2f×** (target ≥ %.2f×); median of the per-repetition ratios %.2f×.\n\n",
		safeDiv(pr, d), targetThroughputRatio, median(paired))
	gibs := func(n int) float64 { return float64(t.Size) * float64(n) / gib }
	renderCPU(b, t.DirectCPU, t.ProxyCPU, "CPU seconds per GiB", gibs(len(t.Direct)), gibs(len(t.Proxy)), 1, nproc, pinned)
	p("\n")
}

// renderCPU tabulates CPU use per unit of work (GiB or request) for both
// endpoints. scale converts seconds to the unit shown.
//
// With pinned set the processes had CPUs of their own, and no CPU bound
// is derived.
func renderCPU(b *strings.Builder, direct, proxy cpuUse, unit string, directUnits, proxyUnits, scale float64, nproc int, pinned bool) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	per := func(d time.Duration, units float64) float64 {
		if units <= 0 {
			return 0
		}
		return d.Seconds() * scale / units
	}
	p("| %s | client (harness) | lakegate | MinIO | sum | machine busy | other processes |\n|---|---:|---:|---:|---:|---:|---:|\n", unit)
	dsum := per(direct.Client+direct.Minio, directUnits)
	psum := per(proxy.Client+proxy.Proxy+proxy.Minio, proxyUnits)
	f := "%.2f"
	if scale > 1 {
		f = "%.0f"
	}
	n := func(v float64) string { return fmt.Sprintf(f, v) }
	p("| direct | %s | — | %s | %s | %.0f%% | %.0f%% of the machine |\n", n(per(direct.Client, directUnits)), n(per(direct.Minio, directUnits)), n(dsum),
		100*direct.machineShare(nproc), 100*direct.othersShare(nproc))
	p("| through lakegate | %s | %s | %s | %s | %.0f%% | %.0f%% of the machine |\n", n(per(proxy.Client, proxyUnits)), n(per(proxy.Proxy, proxyUnits)),
		n(per(proxy.Minio, proxyUnits)), n(psum), 100*proxy.machineShare(nproc), 100*proxy.othersShare(nproc))
	switch {
	case psum <= 0 || nproc <= 0 || pinned:
	case direct.machineShare(nproc) >= 0.9:
		p("\nDirect access already kept the %d CPUs busy (interrupt and softirq time included), so this figure is bounded by CPU: "+
			"with the process times above, proxy/direct can reach about direct sum ÷ proxied sum = %.2f×.\n", nproc, dsum/psum)
	default:
		p("\nDirect access left CPU idle, so this figure is bounded by latency and pipelining more than by CPU (a CPU-bound ratio would be %.2f×).\n", dsum/psum)
	}
}

func renderLatency(b *strings.Builder, direct, proxy latStats) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| | Direct to MinIO | Through lakegate | Added |\n|---|---:|---:|---:|\n")
	p("| requests | %d | %d | |\n", direct.N, proxy.N)
	p("| req/s | %.0f | %.0f | %.2f× |\n", direct.RPS, proxy.RPS, safeDiv(proxy.RPS, direct.RPS))
	for _, q := range []struct {
		name string
		d, p time.Duration
	}{{"p50", direct.P50, proxy.P50}, {"p90", direct.P90, proxy.P90}, {"p99", direct.P99, proxy.P99}, {"max", direct.Max, proxy.Max}} {
		p("| %s | %s ms | %s ms | %s ms |\n", q.name, ms(q.d), ms(q.p), signedMS(q.p-q.d))
	}
}

func at(v []float64, i int) string {
	if i < len(v) {
		return fmt.Sprintf("%.1f", v[i])
	}
	return "—"
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// marker separates hand-written text (above, kept) from the generated
// report (below, replaced on every run).
const marker = "<!-- Everything below this line is written by `go run ./bench -out docs/BENCHMARKS.md`; edits there are lost on the next run. -->"

const defaultIntro = `# Benchmarks

How lakegate's access proxy compares with talking to the S3 server directly.
Text above the marker line is kept when the report is regenerated.

`

// writeReport writes generated below the marker of path, keeping what is
// above it (or a default introduction for a new file).
func writeReport(path, generated string) error {
	head := []byte(defaultIntro)
	if old, err := os.ReadFile(path); err == nil {
		if i := bytes.Index(old, []byte(marker)); i >= 0 {
			head = old[:i]
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	var buf bytes.Buffer
	buf.Write(head)
	buf.WriteString(marker + "\n\n")
	buf.WriteString(generated)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
