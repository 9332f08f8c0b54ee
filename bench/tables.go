package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The -tables run (issue 15, dynamic bypass): one `lakegate serve` on
// MinIO, two users, one reading under a URI grant and the other under a
// table location through a TABLE grant, with identical objects at keys of
// the same shape. Small GETs by the two alternate round by round (as the
// main run alternates direct and proxied access) at two concurrencies; the
// report gives each side's latency and rate and the ratio table ÷ URI,
// with the spread of the per-round ratios as the noise estimate. The
// policy engine's own comparison (Go benchmarks of internal/policy) runs
// in the same process, its two benchmarks alternating too.
// Its section sits above the report's marker, between tablesBegin and
// tablesEnd, so that no other run erases it.

const (
	tablesBegin = "<!-- Dynamic bypass: written by `go run ./bench -tables -out docs/BENCHMARKS.md`. -->"
	tablesEnd   = "<!-- End of the dynamic bypass section. -->"
)

// The bound: GETs under a table location within 5 % of GETs under
// a URI grant.
const tablesBound = 0.05

// The catalog and grants of the -tables run. Both locations hold the same
// object at the same relative key.
const (
	tablesDB        = "bench"
	tablesTable     = "t"
	tablesURIPath   = "uri-grant"
	tablesTablePath = "table-grant"
	// The control user's URI grant, a sibling the first does not cover.
	tablesControlPath = "uri-grant-2"
	tablesRelKey      = "dt=2026-12-01/part-00000.bin" // a Hive-style partition directory: the audit names it
	tablesPartition   = "dt=2026-12-01"
)

// tablesPolicyBenchmarks are the Go benchmarks of internal/policy the
// section shows, table first.
var tablesPolicyBenchmarks = []string{"BenchmarkEvaluateTableLocation", "BenchmarkEvaluateURIGrant"}

// tablesNScaleBenchmarks are the Go benchmarks of internal/nscale the
// section reports: a warm decision on a node proxy under a table location
// and under a URI grant, answered from the permission cache.
var tablesNScaleBenchmarks = []string{"BenchmarkWarmDecideTable", "BenchmarkWarmDecide"}

// tablesConfig sizes a -tables run.
type tablesConfig struct {
	Rounds         int // rounds per user at each concurrency, the order alternating
	Conc           int // workers of the concurrent series
	PerRound       int // requests per round at Conc
	SerialPerRound int // requests per round one at a time
	BenchRuns      int // runs of each Go benchmark, alternating
	BenchTime      string
}

func tablesSizes(quick bool) tablesConfig {
	if quick {
		return tablesConfig{Rounds: 3, Conc: 16, PerRound: 300, SerialPerRound: 50, BenchRuns: 1, BenchTime: "200x"}
	}
	return tablesConfig{Rounds: 18, Conc: 16, PerRound: 2000, SerialPerRound: 800, BenchRuns: 6, BenchTime: "1s"}
}

// tablesUser is one side of the comparison.
type tablesUser struct {
	Name  string // user, group and role
	Grant string // the statement that gives it access
	Key   string // the object it reads
	ep    *endpoint
}

// The sides of the comparison: indexes of tablesResult.Users and of a
// series' figures. The control is a second user holding a URI grant: its
// difference from the first (an A/A comparison) is the run's noise.
const (
	sideURI = iota
	sideTable
	sideControl
	nSides
)

// sideOrders are the orders of the sides in successive rounds: over six
// rounds each side runs first, second and last twice.
var sideOrders = [][nSides]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}, {1, 0, 2}, {0, 2, 1}}

// tablesSeries is one concurrency's measurement, by side.
type tablesSeries struct {
	Conc, Rounds, PerRound int
	Stats                  [nSides]latStats   // pooled over rounds
	RoundStats             [nSides][]latStats // per round, in round order
	CPU                    [nSides]cpuUse     // summed over rounds
	// ProxyCPU is lakegate's CPU time per request in each round (ns).
	ProxyCPU [nSides][]float64
}

// tablesResult is the output of the -tables run.
type tablesResult struct {
	Sizes      tablesConfig
	Placement  string // where the processes ran
	Pinned     bool
	ObjectSize int
	Users      [nSides]tablesUser
	Table      string // CREATE EXTERNAL TABLE statement
	Series     []tablesSeries
	Checks     []string

	BenchCommand string
	Benches      []goBench

	// NScaleCommand and NScaleBenches are tablesNScaleBenchmarks' figures.
	NScaleCommand string
	NScaleBenches []goBench
	LoadStart     string
	Commit        string
}

// runTables performs the -tables run and returns the section's markdown.
func runTables(ctx context.Context, cfg config) (string, error) {
	sizes := tablesSizes(cfg.Quick)
	e, minioBin, root, err := newRunEnv(ctx, cfg, "lakegate-bench-tables-")
	if err != nil {
		return "", err
	}
	defer e.close()
	r := &tablesResult{Sizes: sizes, ObjectSize: cfg.SmallSize, LoadStart: loadAvg()}
	r.Commit = describeSoftware(ctx, root, minioBin).Commit
	if err := e.start(ctx, minioBin, e.lakegateBin); err != nil {
		return "", err
	}
	e.logf("catalog, grants and users")
	if err := e.tablesPrepare(ctx, r); err != nil {
		return "", e.explain(err)
	}

	measure := func() error {
		for _, s := range []struct{ conc, perRound int }{{sizes.Conc, sizes.PerRound}, {1, sizes.SerialPerRound}} {
			e.logf("4 KiB GETs at c=%d, %d rounds of %d per user", s.conc, sizes.Rounds, s.perRound)
			ser, err := e.tablesSeries(ctx, r, sizes.Rounds, s.perRound, s.conc)
			if err != nil {
				return err
			}
			r.Series = append(r.Series, ser)
		}
		return nil
	}
	if p, perr := newPlacement(); perr != nil {
		e.logf("not pinning the proxy to its own CPU: %v", perr)
		r.Placement = "every process on every CPU (pinning impossible: " + perr.Error() + ")"
		err = measure()
	} else {
		r.Placement, r.Pinned = p.String(), true
		err = e.pinned(p, measure)
	}
	if err != nil {
		return "", e.explain(err)
	}

	e.logf("policy engine benchmarks")
	if r.BenchCommand, r.Benches, err = e.alternatingGoBench(ctx, "./internal/policy", tablesPolicyBenchmarks, sizes); err != nil {
		return "", err
	}
	e.logf("nScale warm-decision benchmarks")
	if r.NScaleCommand, r.NScaleBenches, err = e.alternatingGoBench(ctx, "./internal/nscale", tablesNScaleBenchmarks, sizes); err != nil {
		return "", err
	}
	return renderTables(cfg, r), nil
}

// tablesPrepare creates the catalog, the two users and their objects, and
// checks that each user reads its own object, is refused the other's, and
// that the table user's GET is audited with the table and partition.
func (e *env) tablesPrepare(ctx context.Context, r *tablesResult) error {
	table := fmt.Sprintf("CREATE EXTERNAL TABLE %s.%s (id INT) PARTITIONED BY (dt STRING) STORED AS PARQUET LOCATION 's3://%s/%s'",
		tablesDB, tablesTable, bucket, tablesTablePath)
	r.Table = table
	r.Users[sideURI] = tablesUser{Name: "bench_uri", Key: tablesURIPath + "/" + tablesRelKey,
		Grant: fmt.Sprintf("GRANT SELECT ON URI 's3://%s/%s' TO ROLE bench_uri", bucket, tablesURIPath)}
	r.Users[sideTable] = tablesUser{Name: "bench_table", Key: tablesTablePath + "/" + tablesRelKey,
		Grant: fmt.Sprintf("GRANT SELECT ON TABLE %s.%s TO ROLE bench_table", tablesDB, tablesTable)}
	r.Users[sideControl] = tablesUser{Name: "bench_control", Key: tablesControlPath + "/" + tablesRelKey,
		Grant: fmt.Sprintf("GRANT SELECT ON URI 's3://%s/%s' TO ROLE bench_control", bucket, tablesControlPath)}
	script := fmt.Sprintf("CREATE DATABASE %s; %s;", tablesDB, table)
	for i := range r.Users {
		u := &r.Users[i]
		script += fmt.Sprintf(" CREATE ROLE %[1]s; GRANT ROLE %[1]s TO GROUP %[1]s; %[2]s;", u.Name, u.Grant)
	}
	if err := e.rest(ctx, "/api/sql", map[string]string{"sql": script}, nil); err != nil {
		return err
	}
	body := make([]byte, e.cfg.SmallSize)
	if _, err := newGen(int64(len(body))).Read(body); err != nil {
		return err
	}
	for i := range r.Users {
		u := &r.Users[i]
		if _, err := e.direct.aws.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(u.Key), Body: bytes.NewReader(body),
		}); err != nil {
			return fmt.Errorf("seed %s: %w", u.Key, err)
		}
		var created struct {
			AccessKeyID     string `json:"access_key_id"`
			SecretAccessKey string `json:"secret_access_key"`
		}
		if err := e.rest(ctx, "/api/users", map[string]any{"name": u.Name, "groups": []string{u.Name}}, &created); err != nil {
			return err
		}
		if created.AccessKeyID == "" || created.SecretAccessKey == "" {
			return errors.New("POST /api/users: no access key in the answer")
		}
		ep, err := newEndpoint(u.Name, e.proxy.url, created.AccessKeyID, created.SecretAccessKey)
		if err != nil {
			return err
		}
		u.ep = ep
	}
	for _, u := range r.Users {
		if err := getExpect(ctx, u.ep, u.Key, body); err != nil {
			return fmt.Errorf("%s: %w", u.Name, err)
		}
		for _, other := range r.Users {
			if other.Name == u.Name {
				continue
			}
			if code := getStatus(ctx, u.ep, other.Key); code != http.StatusForbidden {
				return fmt.Errorf("%s GET %s: status %d, want 403: the users' access must not overlap", u.Name, other.Key, code)
			}
		}
	}
	r.Checks = append(r.Checks,
		fmt.Sprintf("each user reads its own %s object byte-identical to what was stored and is refused (403) the others'", formatSize(int64(len(body)))))
	tu := r.Users[sideTable]
	if err := e.tablesAudited(ctx, tu); err != nil {
		return err
	}
	r.Checks = append(r.Checks, fmt.Sprintf("the audit record of %s's GET names table %s.%s and partition %s, and the decision's grant is the TABLE grant",
		tu.Name, tablesDB, tablesTable, tablesPartition))
	return nil
}

// getStatus is the HTTP status of a GET of key through ep (0 when no
// answer came).
func getStatus(ctx context.Context, ep *endpoint, key string) int {
	out, err := ep.aws.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		_, _ = io.Copy(io.Discard, out.Body)
		out.Body.Close()
		return http.StatusOK
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// tablesAudited waits (up to 5 s) for the audit record of u's GET of its
// key in lakegate's local audit log and checks that it names the table,
// the partition and the TABLE grant.
func (e *env) tablesAudited(ctx context.Context, u tablesUser) error {
	dir := filepath.Join(e.dir, "lakegate-data", "audit")
	deadline := time.Now().Add(5 * time.Second)
	for {
		line, err := findAuditLine(dir, u.Name, u.Key)
		if err != nil {
			return err
		}
		if line != "" {
			for _, want := range []string{
				fmt.Sprintf(`"table":"%s.%s"`, tablesDB, tablesTable),
				fmt.Sprintf(`"partition":"%s"`, tablesPartition),
				fmt.Sprintf("ON TABLE %s.%s", tablesDB, tablesTable),
			} {
				if !strings.Contains(line, want) {
					return fmt.Errorf("audit record of %s's GET lacks %s: %s", u.Name, want, line)
				}
			}
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no allowed GET of %s by %s in the audit log under %s", u.Key, u.Name, dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findAuditLine returns the first line of the uncompressed audit files in
// dir that records an allowed GetObject of key by user, "" when none does.
func findAuditLine(dir, user, key string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64*kib), 1*mib)
		for sc.Scan() {
			l := sc.Text()
			if strings.Contains(l, `"user":"`+user+`"`) && strings.Contains(l, key) &&
				strings.Contains(l, `"operation":"GetObject"`) && strings.Contains(l, `"decision":"allow"`) {
				fh.Close()
				return l, nil
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("%s: %w", f, err)
		}
	}
	return "", nil
}

// tablesSeries warms the users up, then runs rounds of perRound GETs at
// conc per user, the users' order changing every round (sideOrders).
func (e *env) tablesSeries(ctx context.Context, r *tablesResult, rounds, perRound, conc int) (tablesSeries, error) {
	s := tablesSeries{Conc: conc, Rounds: rounds, PerRound: perRound}
	for _, u := range r.Users {
		if _, _, err := keyRound(ctx, u.ep, u.Key, 10*conc, conc, r.ObjectSize); err != nil {
			return s, fmt.Errorf("warm-up %s: %w", u.Name, err)
		}
	}
	var all [nSides][]time.Duration
	var elapsed [nSides]time.Duration
	for round := range rounds {
		for _, i := range sideOrders[round%len(sideOrders)] {
			u := r.Users[i]
			var l []time.Duration
			var d time.Duration
			use, err := e.cpuSpent(func() (err error) {
				l, d, err = keyRound(ctx, u.ep, u.Key, perRound, conc, r.ObjectSize)
				return err
			})
			if err != nil {
				return s, fmt.Errorf("%s: %w", u.Name, err)
			}
			all[i] = append(all[i], l...)
			elapsed[i] += d
			s.RoundStats[i] = append(s.RoundStats[i], latencyStats(l, d))
			s.CPU[i].add(use)
			s.ProxyCPU[i] = append(s.ProxyCPU[i], safeDiv(float64(use.Proxy), float64(len(l))))
		}
	}
	for i := range s.Stats {
		s.Stats[i] = latencyStats(all[i], elapsed[i])
	}
	return s, nil
}

// alternatingGoBench builds pkg's test binary once and runs each named
// benchmark sizes.BenchRuns times, one run per process, alternating the
// order (A B B A …) so that a drift of the machine's load falls on both.
// It returns a command line that reproduces the figures and the figures
// in the order of names.
func (e *env) alternatingGoBench(ctx context.Context, pkg string, names []string, sizes tablesConfig) (string, []goBench, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(e.dir, "bench.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, pkg)
	build.Dir = root
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("go test -c %s: %w\n%s", pkg, err, out)
	}
	var all strings.Builder
	for run := range sizes.BenchRuns {
		order := slices.Clone(names)
		if run%2 == 1 {
			slices.Reverse(order)
		}
		for _, n := range order {
			cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "^"+n+"$", "-test.benchmem",
				"-test.count", "1", "-test.benchtime", sizes.BenchTime)
			cmd.Dir = filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(pkg, "./")))
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				return "", nil, fmt.Errorf("%s -test.bench %s: %w\n%s%s", pkg, n, err, out.String(), errOut.String())
			}
			all.Write(out.Bytes())
		}
	}
	benches, err := parseGoBench(all.String(), names)
	if err != nil {
		return "", nil, err
	}
	command := fmt.Sprintf("go test -run '^$' -bench '^(%s)$' -benchmem -count %d -benchtime %s %s",
		strings.Join(names, "|"), sizes.BenchRuns, sizes.BenchTime, pkg)
	return command, benches, nil
}

// ratioStats summarises the per-round ratios table ÷ URI of one figure:
// their median and range, and a 95 % confidence interval of their
// geometric mean (Student's t over the log ratios), the noise estimate.
type ratioStats struct {
	Pooled           float64 // the ratio of the pooled figures
	Median, Min, Max float64
	Lo, Hi           float64 // 95 % confidence interval of the geometric mean
	N                int
}

func ratios(pooled float64, table, uri []float64) ratioStats {
	rs := ratioStats{Pooled: pooled}
	var logs []float64
	for i := range min(len(table), len(uri)) {
		if table[i] > 0 && uri[i] > 0 {
			logs = append(logs, math.Log(table[i]/uri[i]))
		}
	}
	rs.N = len(logs)
	if rs.N == 0 {
		return rs
	}
	vals := make([]float64, len(logs))
	for i, l := range logs {
		vals[i] = math.Exp(l)
	}
	rs.Median, rs.Min, rs.Max = median(vals), slices.Min(vals), slices.Max(vals)
	mean := 0.0
	for _, l := range logs {
		mean += l
	}
	mean /= float64(len(logs))
	rs.Lo, rs.Hi = math.Exp(mean), math.Exp(mean)
	if len(logs) > 1 {
		ss := 0.0
		for _, l := range logs {
			ss += (l - mean) * (l - mean)
		}
		half := tQuantile975(len(logs)-1) * math.Sqrt(ss/float64(len(logs)-1)/float64(len(logs)))
		rs.Lo, rs.Hi = math.Exp(mean-half), math.Exp(mean+half)
	}
	return rs
}

// tQuantile975 is Student's t 0.975 quantile for df degrees of freedom
// (table to 30, then the normal's 1.96).
func tQuantile975(df int) float64 {
	t := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df >= 1 && df <= len(t) {
		return t[df-1]
	}
	return 1.96
}

// within reports whether a ratio is within the bound of 1.
func within(r float64) bool { return math.Abs(r-1) <= tablesBound }

// figure is one row of a series' table: how to read it from latStats, and
// whether a higher value is better (the rate).
type figure struct {
	name   string
	get    func(latStats) float64
	format func(float64) string
	bound  bool // held to the 5 % bound

	higherBetter bool
}

var tablesFigures = []figure{
	{name: "req/s", get: func(s latStats) float64 { return s.RPS }, format: func(v float64) string { return fmt.Sprintf("%.0f", v) },
		bound: true, higherBetter: true},
	{name: "p50", get: func(s latStats) float64 { return float64(s.P50) }, format: msf, bound: true},
	{name: "p90", get: func(s latStats) float64 { return float64(s.P90) }, format: msf},
	{name: "p99", get: func(s latStats) float64 { return float64(s.P99) }, format: msf},
}

func msf(ns float64) string { return ms(time.Duration(ns)) + " ms" }

func perRound(rounds []latStats, get func(latStats) float64) []float64 {
	v := make([]float64, len(rounds))
	for i, s := range rounds {
		v[i] = get(s)
	}
	return v
}

// renderTables writes the section.
func renderTables(cfg config, r *tablesResult) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Dynamic bypass: GETs under a table location vs under a URI grant\n\n")
	p("- Command: `%s`\n", cfg.Command)
	p("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	m := describeMachine()
	p("- Machine: %d CPUs (nproc), %s, %.1f GiB RAM, Linux %s; %s\n", m.NProc, m.CPU, float64(m.MemBytes)/gib, m.Kernel, m.GoVersion)
	p("- lakegate: commit %s, `lakegate serve` built by the harness; MinIO on loopback\n", orUnknown(r.Commit))
	p("- Load average (1/5/15 min): %s at start, %s at end — the machine is shared with other work\n", r.LoadStart, loadAvg())
	p("- CPU placement: %s", r.Placement)
	if r.Pinned {
		p(" (sched_setaffinity on every thread), the harness's \"proxy on its own CPU\" placement: what a request costs in the proxy shows as latency, not as CPU taken from the client and MinIO")
	}
	p("\n")
	if cfg.Quick {
		p("- **Quick run**: few rounds and requests; the figures are not representative.\n")
	}

	uu, tu, cu := r.Users[sideURI], r.Users[sideTable], r.Users[sideControl]
	p("\nOne `lakegate serve`, three users with nothing else granted, each in a group and role of its own name: `%s` holding `%s`; `%s` holding `%s`, "+
		"where `%s` (catalog made through the REST API: `CREATE DATABASE %s; …`); and, as a control, `%s` holding `%s`. ",
		uu.Name, uu.Grant, tu.Name, tu.Grant, r.Table, tablesDB, cu.Name, cu.Grant)
	p("Each reads one %s object, identical bytes at `%s`, `%s` and `%s` (keys of the same shape, in a `dt=` partition directory), "+
		"with aws-sdk-go-v2 GetObject, body read to the end, through the proxy. "+
		"The table user's GET is decided by the table grant (dynamic bypass) with no URI grant; its audit record names the table and partition. "+
		"The control does exactly what the URI user does, so control ÷ URI (an A/A comparison) shows what the run's noise alone produces. ",
		formatSize(int64(r.ObjectSize)), uu.Key, tu.Key, cu.Key)
	p("Per concurrency, after a warm-up, %d rounds per user, the users' order changing every round (over six rounds each runs first, second and last twice) so that a drift of the machine's load falls on all. "+
		"Latency is per request (call to last body byte), percentiles nearest-rank over all rounds; req/s is requests ÷ the rounds' wall time.\n\n", r.Sizes.Rounds)
	p("Ratio = table ÷ URI: for a latency, below 1 means the table side was faster; for req/s, above 1 does. " +
		"Per-round ratios divide each round's table figure by the URI figure of the same round; the 95 %% CI is that of their geometric mean. " +
		"The issue's bound is 5 %% on p50 and req/s; p90 and p99 are shown without a bound.\n\n")

	// The decision's own difference, from the Go benchmarks, to set the
	// end-to-end figures against.
	decisionDelta := ""
	if len(r.Benches) == 2 {
		d := median(r.Benches[0].NsPerOp) - median(r.Benches[1].NsPerOp)
		decisionDelta = fmt.Sprintf("the decision itself differs by %+.2f µs (policy engine benchmarks below)", d/1000)
	}
	var verdicts []boundVerdict
	var cpuRatios []string
	for _, s := range r.Series {
		st := s.Stats
		p("### %s GETs, c=%d: %d rounds of %d requests per user\n\n", formatSize(int64(r.ObjectSize)), s.Conc, s.Rounds, s.PerRound)
		p("| | URI grant | Table location | Control (URI grant) | Table ÷ URI | Per-round: median (range) | 95 %% CI | Control ÷ URI | 95 %% CI | Within 5 %% |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|\n")
		p("| requests | %d | %d | %d | | | | | | |\n", st[sideURI].N, st[sideTable].N, st[sideControl].N)
		for _, f := range tablesFigures {
			u, t, c := f.get(st[sideURI]), f.get(st[sideTable]), f.get(st[sideControl])
			uRounds := perRound(s.RoundStats[sideURI], f.get)
			rs := ratios(safeDiv(t, u), perRound(s.RoundStats[sideTable], f.get), uRounds)
			cs := ratios(safeDiv(c, u), perRound(s.RoundStats[sideControl], f.get), uRounds)
			met := "—"
			if f.bound {
				met = metWord(within(rs.Pooled))
				verdicts = append(verdicts, boundVerdict{fmt.Sprintf("c=%d %s", s.Conc, f.name), rs, cs, f.higherBetter})
			}
			p("| %s | %s | %s | %s | %.3f× | %.3f× (%.3f–%.3f) | %.3f–%.3f | %.3f× | %.3f–%.3f | %s |\n", f.name, f.format(u), f.format(t), f.format(c),
				rs.Pooled, rs.Median, rs.Min, rs.Max, rs.Lo, rs.Hi, cs.Pooled, cs.Lo, cs.Hi, met)
		}
		perReq := func(i int) float64 { return safeDiv(s.CPU[i].Proxy.Seconds()*1e6, float64(st[i].N)) }
		cr := ratios(safeDiv(perReq(sideTable), perReq(sideURI)), s.ProxyCPU[sideTable], s.ProxyCPU[sideURI])
		cc := ratios(safeDiv(perReq(sideControl), perReq(sideURI)), s.ProxyCPU[sideControl], s.ProxyCPU[sideURI])
		cpuRatios = append(cpuRatios, fmt.Sprintf("%.3f× at c=%d (CI %.3f–%.3f; control %.3f×)", cr.Pooled, s.Conc, cr.Lo, cr.Hi, cc.Pooled))
		p("| lakegate CPU per request | %.0f µs | %.0f µs | %.0f µs | %.3f× | %.3f× (%.3f–%.3f) | %.3f–%.3f | %.3f× | %.3f–%.3f | — |\n",
			perReq(sideURI), perReq(sideTable), perReq(sideControl), cr.Pooled, cr.Median, cr.Min, cr.Max, cr.Lo, cr.Hi, cc.Pooled, cc.Lo, cc.Hi)
		p("| other processes' share of the machine | %.0f%% | %.0f%% | %.0f%% | | | | | | |\n\n",
			100*s.CPU[sideURI].othersShare(m.NProc), 100*s.CPU[sideTable].othersShare(m.NProc), 100*s.CPU[sideControl].othersShare(m.NProc))
	}
	p("%s\n\n", verdictText(verdicts, decisionDelta))
	p("lakegate's CPU time per request (from /proc, 10 ms ticks over each round), table ÷ URI: %s. "+
		"\"Proxy on its own CPU\" binds lakegate, the client and MinIO to their CPUs; it does not keep other processes off them, "+
		"so the other processes' share above is what disturbed the run.\n\n", strings.Join(cpuRatios, ", "))

	p("### The warm bypass decision: policy engine benchmarks\n\n")
	p("Go benchmarks of `internal/policy` on a policy of 1,000 roles in 250 groups holding 5,000 URI grants, and a catalog of 500 tables in 50 databases "+
		"with 500 TABLE and 50 DATABASE grants giving full access (plus 50 restricted TABLE grants); users in 3 groups; SELECT on keys of the same depth "+
		"(`lake/deptNN/dsNNNNN/dt=…/part-….parquet` under a URI grant, `lake/deptNN/tblNNNNN/dt=…/part-….parquet` under a table location). "+
		"Each decision is uncached, as in `lakegate serve` (the compiled policy is its warm state); the table one also names the table and partition for the audit record. "+
		"%s of each, one process per run, the two alternating; the same figures (not alternated) come from `%s`.\n\n", plural(r.Sizes.BenchRuns, "run"), r.BenchCommand)
	renderGoBench(&b, r.Benches)
	if len(r.Benches) == 2 {
		t, u := r.Benches[0], r.Benches[1]
		p("\nTable ÷ URI: %.2f× the time (%+.0f ns), %+.0f B and %+.0f allocations per decision.\n",
			safeDiv(median(t.NsPerOp), median(u.NsPerOp)), median(t.NsPerOp)-median(u.NsPerOp), t.BPerOp-u.BPerOp, t.AllocsOp-u.AllocsOp)
	}
	p("\n### The warm bypass decision on an nScale node proxy\n\n")
	p("A decision answered from a node proxy's user permission cache (seed 004's cache: allows keyed by the location of the grant), "+
		"under a table location and under a URI grant; the target is ≤ 1 µs. %s of each, alternating; the same figures (not alternated) come from `%s`.\n\n",
		plural(r.Sizes.BenchRuns, "run"), r.NScaleCommand)
	renderGoBench(&b, r.NScaleBenches)
	p("\nChecks that passed:\n\n")
	for _, c := range r.Checks {
		p("- %s\n", c)
	}
	return b.String()
}

// boundVerdict is one figure held to the 5 % bound.
type boundVerdict struct {
	name string
	r    ratioStats
	// control is the A/A comparison of the same figure: control ÷ URI.
	control ratioStats
	// higherBetter: a ratio above 1 means the table side did better
	// (req/s); for latencies, below 1 does.
	higherBetter bool
}

// side names the side a ratio beyond the bound favours.
func (v boundVerdict) side() string {
	if (v.r.Pooled > 1) == v.higherBetter {
		return "table side faster"
	}
	return "table side slower"
}

// verdictText says whether the figures are within the bound, and how the
// run's noise bears on it: a pooled ratio within 5 % whose confidence
// interval reaches beyond is met but not resolved; one beyond 5 % whose
// interval contains 1 is a difference the run cannot tell from noise.
func verdictText(vs []boundVerdict, decisionDelta string) string {
	var met, unresolved, noise, real []string
	for _, v := range vs {
		ci := fmt.Sprintf("%s %.3f× (CI %.3f–%.3f)", v.name, v.r.Pooled, v.r.Lo, v.r.Hi)
		beyond := fmt.Sprintf("%s %.3f×, %s (CI %.3f–%.3f)", v.name, v.r.Pooled, v.side(), v.r.Lo, v.r.Hi)
		switch {
		case within(v.r.Pooled) && within(v.r.Lo) && within(v.r.Hi):
			met = append(met, ci)
		case within(v.r.Pooled):
			unresolved = append(unresolved, ci)
		case v.r.Lo <= 1 && v.r.Hi >= 1:
			noise = append(noise, beyond)
		default:
			real = append(real, beyond)
		}
	}
	var b strings.Builder
	if len(noise)+len(real) == 0 {
		b.WriteString("**Within 5 %** on p50 and req/s at both concurrencies")
		if len(unresolved) == 0 {
			b.WriteString(", and the 95 % confidence intervals of the per-round ratios lie inside the bound too.")
		} else if len(met) == 0 {
			fmt.Fprintf(&b, ", but the run was too noisy to confirm it: every figure's confidence interval reaches beyond 5 %% (%s).",
				strings.Join(unresolved, ", "))
		} else {
			fmt.Fprintf(&b, "; the confidence intervals confirm it for %s, not for %s, whose intervals reach beyond 5 %%.",
				strings.Join(met, ", "), strings.Join(unresolved, ", "))
		}
	} else {
		b.WriteString("**Not all within 5 %.** ")
		if len(met)+len(unresolved) > 0 {
			fmt.Fprintf(&b, "Within 5 %%: %s. ", strings.Join(append(slices.Clone(met), unresolved...), ", "))
		}
		if len(noise) > 0 {
			fmt.Fprintf(&b, "Beyond 5 %% but not distinguishable from the run's noise (the confidence interval contains 1): %s. ", strings.Join(noise, ", "))
		}
		if len(real) > 0 {
			fmt.Fprintf(&b, "Beyond 5 %% with a confidence interval excluding 1: %s. ", strings.Join(real, ", "))
		}
	}
	if len(noise)+len(real) > 0 {
		worst, at := 0.0, ""
		for _, v := range vs {
			if d := math.Abs(v.control.Pooled - 1); d >= worst {
				worst, at = d, fmt.Sprintf("%s %.3f×", v.name, v.control.Pooled)
			}
		}
		fmt.Fprintf(&b, "In the same run the A/A control (a second URI-grant user against the first) was off by up to %.1f %% on these figures (%s): ", 100*worst, at)
		if worst > tablesBound {
			b.WriteString("differences of that size are the machine's noise, not the grant's kind.")
		} else {
			b.WriteString("within the bound, so the noise does not explain the table side's difference by itself.")
		}
	}
	out := strings.TrimSpace(b.String())
	if decisionDelta != "" {
		out += " For scale: " + decisionDelta + "."
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// writeTablesSection puts section between tablesBegin and tablesEnd in
// path, above the report's marker, replacing an earlier one; the rest of
// the file is kept as it is.
func writeTablesSection(path, section string) error {
	return writeSection(path, tablesBegin, tablesEnd, section)
}
