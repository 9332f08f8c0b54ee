package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// perfRecording is perf(1) sampling the lakegate process during one step,
// for finding where the proxy's CPU time goes in the real binary (Go
// binaries keep frame pointers, so call graphs are exact enough).
type perfRecording struct {
	cmd    *exec.Cmd
	data   string
	report string // text report written by finish
}

func startPerf(dir, step string, pid int) (*perfRecording, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(strings.ToLower(step))
	r := &perfRecording{data: filepath.Join(dir, name+".perf.data"), report: filepath.Join(dir, name+".txt")}
	_ = os.Remove(r.data) // else perf keeps it as .old
	r.cmd = exec.Command("perf", "record", "-q", "-F", "997", "-g", "-o", r.data, "-p", strconv.Itoa(pid))
	r.cmd.Stderr = os.Stderr
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // let perf attach before the load starts
	return r, nil
}

// finish stops recording and writes two views: flat (self time by
// function) and cumulative (time including callees).
func (r *perfRecording) finish(ctx context.Context) error {
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	// perf ends by re-raising the SIGINT it was sent: that is success.
	if err := r.cmd.Wait(); err != nil && !killedBy(err, syscall.SIGINT) {
		return fmt.Errorf("perf record: %w", err)
	}
	var out strings.Builder
	for _, view := range []struct {
		title string
		args  []string
	}{
		{"self time by function", []string{"--no-children"}},
		{"time including callees", []string{"--children"}},
	} {
		args := append([]string{"report", "-i", r.data, "--stdio", "--sort", "symbol", "-g", "none", "--percent-limit", "0.5"}, view.args...)
		b, err := exec.CommandContext(ctx, "perf", args...).Output()
		if err != nil {
			return fmt.Errorf("perf report: %w", err)
		}
		fmt.Fprintf(&out, "==== %s ====\n%s\n", view.title, b)
	}
	return os.WriteFile(r.report, []byte(out.String()), 0o644)
}

func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
