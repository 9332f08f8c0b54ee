package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// placement splits the CPUs the harness may use between the two ends
// (the harness as client, and MinIO) and lakegate, for the measurements
// that give the proxy CPUs of its own, as a proxy on its own host has.
type placement struct {
	All, Ends, Proxy []int
}

// newPlacement gives lakegate a third of the CPUs (at least one) and the
// ends the rest; it fails with fewer than two CPUs.
func newPlacement() (placement, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return placement{}, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var all []int
	for c := range 1024 {
		if set.IsSet(c) {
			all = append(all, c)
		}
	}
	if len(all) < 2 {
		return placement{}, fmt.Errorf("%d CPU: pinning needs at least 2", len(all))
	}
	k := max(1, len(all)/3)
	return placement{All: all, Ends: all[:len(all)-k], Proxy: all[len(all)-k:]}, nil
}

func (p placement) String() string {
	return fmt.Sprintf("client and MinIO on CPU %s, lakegate on CPU %s", cpuList(p.Ends), cpuList(p.Proxy))
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// setAffinity binds every thread of pid to cpus; threads started later
// inherit the binding from the thread that starts them.
func setAffinity(pid int, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("sched_setaffinity %d/%d: %w", pid, tid, err)
		}
	}
	return nil
}

// pinned runs fn with the processes placed as p says, and gives every
// process all CPUs back afterwards.
func (e *env) pinned(p placement, fn func() error) (err error) {
	pids := map[int][]int{os.Getpid(): p.Ends, e.minio.pid(): p.Ends, e.lakegate.pid(): p.Proxy}
	defer func() {
		for pid := range pids {
			if rerr := setAffinity(pid, p.All); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	for pid, cpus := range pids {
		if err := setAffinity(pid, cpus); err != nil {
			return err
		}
	}
	return fn()
}

// pinnedResult holds the measurements repeated with the proxy on CPUs of
// its own.
type pinnedResult struct {
	Skipped    string // why the step could not run
	Placement  placement
	Puts, Gets []throughput
	Small      *smallResult
}

// measurePinned repeats the large-object and small-GET measurements with
// lakegate on CPUs of its own and the client and MinIO sharing the rest,
// in both the direct and the proxied runs: the ends get the same CPUs
// either way, and what the proxy adds is its hop and its latency, not CPU
// time taken from them.
func (e *env) measurePinned(ctx context.Context, res *results) error {
	p, err := newPlacement()
	if err != nil {
		e.logf("not measuring with the proxy on its own CPU: %v", err)
		res.Pinned = &pinnedResult{Skipped: err.Error()}
		return nil
	}
	var sub results
	err = e.pinned(p, func() error {
		for _, m := range []func(context.Context, *results) error{e.measurePutAWS, e.measurePutMinio, e.measureGet, e.measureSmall} {
			if err := m(ctx, &sub); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range sub.Checks {
		res.Checks = append(res.Checks, "proxy on its own CPU: "+c)
	}
	res.Pinned = &pinnedResult{Placement: p, Puts: sub.Puts, Gets: sub.Gets, Small: sub.Small}
	return nil
}
