// Command bench measures the lakegate access proxy against direct access to
// the same S3 server, in one run, and writes the result as a markdown report.
//
// It builds lakegate, starts MinIO (loopback, free ports, temporary
// directory, random root credentials) and `lakegate serve` pointed at it,
// then runs the same client code against both endpoints, alternating the
// order of the two in every round so that neither always runs warm:
//
//   - large-object PUT (aws-sdk-go-v2 with a hex SHA-256 payload, and
//     minio-go with streaming-signed chunks) and GET, MB/s;
//   - 4 KiB GETs at concurrency 16, latency percentiles and req/s;
//   - the proxy's resident memory while a 2 GiB object streams through it;
//   - uncached policy decisions (Go benchmarks of internal/policy);
//   - the nScale proxy (`lakegate proxy`): a warm-cache authorization (Go
//     benchmark of internal/nscale) and the time a freshly started proxy
//     takes to answer its first authorized request.
//
// Usage (from the module root):
//
//	go run ./bench [-out docs/BENCHMARKS.md] [-quick]
//	go run ./bench -stores [-out docs/BENCHMARKS.md] [-quick]
//	go run ./bench -tables [-out docs/BENCHMARKS.md] [-quick]
//	go run ./bench -scan [-out docs/BENCHMARKS.md] [-quick]
//
// -stores measures only the policy stores (two servers on one SQLite file,
// PostgreSQL or MariaDB database: the time from a GRANT's acknowledgement
// on one to its enforcement by the other's proxy, and the policy reload)
// and writes its own section above the marker.
//
// -tables measures only dynamic bypass: 4 KiB GETs under a table location
// (a TABLE grant) against GETs under a URI grant, in one run, and the
// policy engine's benchmarks of the two decisions; it writes its own
// section above the marker.
//
// -scan measures only the scan data plane: a ≥ 1 GiB Parquet table (64 MiB
// with -quick) read by DuckDB from local disk and through POST /api/scan by
// a full-access user and by one under a row filter and two masks, in one
// run; it writes its own section above the marker.
//
// Every figure in the report is written by this program; with -out, text
// above the marker line of an existing file is kept.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	var (
		out      = flag.String("out", "", "write the report to this markdown file, keeping text above the marker (default: stdout)")
		quick    = flag.Bool("quick", false, "small sizes and counts: a fast smoke run whose figures are not representative")
		minioBin = flag.String("minio", "", "MinIO server binary (default: minio on PATH, then $HOME/go/bin/minio)")
		lakegate = flag.String("lakegate", "", "use this lakegate binary instead of building ./cmd/lakegate")
		keep     = flag.Bool("keep", false, "keep the temporary directory (binaries, logs, data) and print its path")
		perfDir  = flag.String("perf", "", "record lakegate's CPU profile with perf(1) during each step into this directory (slows the proxy slightly)")
		only     = flag.String("only", "", "run only these steps, comma separated: "+strings.Join(stepKeys, ", "))
		reps     = flag.Int("reps", 0, "repetitions of each large-object measurement per endpoint (default 5, quick 2)")
		stores   = flag.Bool("stores", false, "measure only the policy stores (SQLite, PostgreSQL, MariaDB: GRANT-to-enforcement across two servers, policy reload) and write their section, above the marker, keeping the rest of -out")
		tables   = flag.Bool("tables", false, "measure only dynamic bypass (4 KiB GETs under a table location vs under a URI grant, and the two policy decisions) and write its section, above the marker, keeping the rest of -out")
		scan     = flag.Bool("scan", false, "measure only the scan data plane (a Parquet table through /api/scan, full and restricted, vs DuckDB on the local files) and write its section, above the marker, keeping the rest of -out")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	if *reps > 0 {
		cfg.LargeReps = *reps
	}
	cfg.MinioBin = *minioBin
	cfg.LakegateBin = *lakegate
	cfg.Keep = *keep
	cfg.PerfDir = *perfDir
	if *only != "" {
		for _, k := range strings.Split(*only, ",") {
			if k = strings.TrimSpace(k); !slices.Contains(stepKeys, k) {
				return fmt.Errorf("-only: unknown step %q (want %s)", k, strings.Join(stepKeys, ", "))
			}
			cfg.Only = append(cfg.Only, strings.TrimSpace(k))
		}
	}
	cfg.Log = os.Stderr
	cfg.Command = commandLine()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The runs that each write one section of the report, above its marker.
	sections := []struct {
		on         bool
		run        func(context.Context, config) (string, error)
		begin, end string
		what       string
	}{
		{*stores, runStores, storesBegin, storesEnd, "policy stores"},
		{*tables, runTables, tablesBegin, tablesEnd, "dynamic bypass"},
		{*scan, runScan, scanBegin, scanEnd, "scan data plane"},
	}
	if n := countTrue(*stores, *tables, *scan); n > 1 {
		return errors.New("-stores, -tables and -scan are separate runs: give one")
	}
	for _, s := range sections {
		if !s.on {
			continue
		}
		md, err := s.run(ctx, cfg)
		if err != nil {
			return err
		}
		if *out == "" {
			_, err := io.WriteString(os.Stdout, md)
			return err
		}
		if err := writeSection(*out, s.begin, s.end, md); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: %s section written to %s\n", s.what, *out)
		return nil
	}

	res, err := run(ctx, cfg)
	if err != nil {
		return err
	}
	md := render(res)
	if *out == "" {
		_, err := io.WriteString(os.Stdout, md)
		return err
	}
	if err := writeReport(*out, md); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: report written to %s\n", *out)
	if len(res.Unmet) > 0 {
		fmt.Fprintf(os.Stderr, "bench: targets not met: %s\n", strings.Join(res.Unmet, "; "))
	}
	return nil
}

// countTrue is how many of bs are true.
func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// commandLine reconstructs how the program was invoked, for the report.
func commandLine() string {
	args := make([]string, 0, len(os.Args))
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.TrimSpace("go run ./bench " + strings.Join(args, " "))
}

// errSkip marks an environment that cannot run the harness (no MinIO).
var errSkip = errors.New("environment cannot run the benchmark")
