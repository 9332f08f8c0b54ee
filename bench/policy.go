package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// targetDecision bounds one uncached policy decision (100k grants over 10k
// roles).
const targetDecision = 10_000.0 // ns

// policyBenchmarks are the Go benchmarks of internal/policy the report
// shows; the first is held to targetDecision.
var policyBenchmarks = []string{"BenchmarkEvaluateUncached", "BenchmarkHasAnyGrantInBucket"}

// goBench is one Go benchmark's figures over -count runs.
type goBench struct {
	Name     string
	NsPerOp  []float64
	BPerOp   float64
	AllocsOp float64
}

// policyResult is the output of the policy step.
type policyResult struct {
	Command string
	Benches []goBench
}

// measurePolicy runs the policy engine's benchmarks in a child `go test`:
// they need no servers, and a separate process keeps the harness's own
// goroutines out of the figures.
func (e *env) measurePolicy(ctx context.Context, res *results) error {
	cmd, benches, err := e.goBench(ctx, "./internal/policy", policyBenchmarks)
	if err != nil {
		return err
	}
	res.Policy = &policyResult{Command: cmd, Benches: benches}
	return nil
}

// goBench runs the named Go benchmarks of pkg in a child `go test` (5 runs
// of 1 s each, quick: 1 run of 200 iterations) and returns the command line
// and the figures, in the order of names.
func (e *env) goBench(ctx context.Context, pkg string, names []string) (string, []goBench, error) {
	count, benchtime := "5", "1s"
	if e.cfg.Quick {
		count, benchtime = "1", "200x"
	}
	pattern := "^" + names[0] + "$"
	if len(names) > 1 {
		pattern = "^(" + strings.Join(names, "|") + ")$"
	}
	args := []string{"test", "-run", "^$", "-bench", pattern,
		"-benchmem", "-count", count, "-benchtime", benchtime, pkg}
	root, err := moduleRoot()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root // `go test ./bench` runs the harness from bench/
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("go %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	benches, err := parseGoBench(out.String(), names)
	if err != nil {
		return "", nil, err
	}
	return "go " + strings.Join(args, " "), benches, nil
}

// parseGoBench reads `go test -bench -benchmem` output for the named
// benchmarks, in that order.
func parseGoBench(out string, names []string) ([]goBench, error) {
	byName := map[string]*goBench{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name, _, _ := strings.Cut(f[0], "-") // drop the -GOMAXPROCS suffix
		b := byName[name]
		if b == nil {
			b = &goBench{Name: name}
			byName[name] = b
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				b.NsPerOp = append(b.NsPerOp, v)
			case "B/op":
				b.BPerOp = v
			case "allocs/op":
				b.AllocsOp = v
			}
		}
	}
	var benches []goBench
	for _, n := range names {
		b := byName[n]
		if b == nil || len(b.NsPerOp) == 0 {
			return nil, fmt.Errorf("benchmark %s: no result in the go test output:\n%s", n, out)
		}
		benches = append(benches, *b)
	}
	return benches, nil
}

func (r *results) evaluatePolicy() {
	p := r.Policy
	if p == nil || len(p.Benches) == 0 {
		return
	}
	ns := median(p.Benches[0].NsPerOp)
	ok := ns <= targetDecision
	label := "Uncached policy decision, 100k grants / 10k roles"
	if !ok {
		r.Unmet = append(r.Unmet, fmt.Sprintf("%s: %s (target ≤ %.0f µs)", label, micros(ns), targetDecision/1000))
	}
	r.Rows = append(r.Rows, row{label, "—", micros(ns), "—", fmt.Sprintf("≤ %.0f µs", targetDecision/1000), metWord(ok)})
}

func renderPolicy(b *strings.Builder, p *policyResult) {
	fmt.Fprintf(b, "## Policy decisions\n\n")
	fmt.Fprintf(b, "Go benchmarks of `internal/policy` over a policy of 100,000 URI grants held by 10,000 roles in 1,000 groups on 100 buckets; each decision is uncached (no decision cache exists in this path). Command: `%s`.\n\n", p.Command)
	renderGoBench(b, p.Benches)
	fmt.Fprintf(b, "\n")
}

// renderGoBench tabulates Go benchmark figures: the median and every run.
func renderGoBench(b *strings.Builder, benches []goBench) {
	fmt.Fprintf(b, "| Benchmark | Median | Runs (ns/op) | B/op | allocs/op |\n|---|---:|---|---:|---:|\n")
	for _, g := range benches {
		runs := make([]string, len(g.NsPerOp))
		for i, v := range g.NsPerOp {
			runs[i] = strconv.FormatFloat(v, 'f', -1, 64)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.0f | %.0f |\n", g.Name, micros(median(g.NsPerOp)), strings.Join(runs, ", "), g.BPerOp, g.AllocsOp)
	}
}

// micros formats nanoseconds as microseconds, with three decimals below
// 10 µs so that a figure near a 1 µs target keeps its digits.
func micros(ns float64) string {
	if ns < 10_000 {
		return fmt.Sprintf("%.3f µs", ns/1000)
	}
	return fmt.Sprintf("%.2f µs", ns/1000)
}
