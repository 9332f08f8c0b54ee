package audit

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The kill -9 test runs this test binary again as a child (TestKill9Child)
// that records decisions in a loop from several goroutines and prints
// "ack <request id>" after each Decide returns. The parent kills it with
// SIGKILL at a random moment, three times over the same directory, then
// checks that every acknowledged decision is in the log, that no record is
// corrupt, and that a broker opened afterwards appends cleanly.
const (
	kill9DirEnv   = "LAKEGATE_AUDIT_KILL9_DIR"
	kill9RoundEnv = "LAKEGATE_AUDIT_KILL9_ROUND"
	kill9Workers  = 4
)

func TestKill9Child(t *testing.T) {
	dir := os.Getenv(kill9DirEnv)
	if dir == "" {
		t.Skip("run by TestKill9LosesNothingAccepted")
	}
	b, err := New(Options{
		// Small files: the kill also lands in rotations and compressions.
		Sinks: Sinks{Dir: dir, MaxSize: 64 << 10}, Node: "child", FsyncInterval: time.Second,
		Logger: testLogger(t),
	})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	round := os.Getenv(kill9RoundEnv)
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range kill9Workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev := sampleEvent(i)
				ev.RequestID = fmt.Sprintf("r%s-g%d-%d", round, g, i)
				if err := b.Decide(context.Background(), ev); err != nil {
					mu.Lock()
					fmt.Fprintln(out, "error", err)
					out.Flush()
					mu.Unlock()
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(out, "ack", ev.RequestID)
				out.Flush()
				mu.Unlock()
				if i%2 == 0 {
					ev.Status = 200
					b.Complete(ev)
				}
			}
		})
	}
	wg.Wait() // never: the parent kills us
}

func TestKill9LosesNothingAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	for round := range 3 {
		cmd := exec.Command(exe, "-test.run=^TestKill9Child$", "-test.count=1")
		cmd.Env = append(os.Environ(), kill9DirEnv+"="+dir, fmt.Sprintf("%s=%d", kill9RoundEnv, round))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Let it run a while after the first ack, a different time each
		// round, then kill -9.
		runFor := time.Duration(150+200*round) * time.Millisecond
		var killAt <-chan time.Time
		n := 0
	reading:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break reading
				}
				id, isAck := strings.CutPrefix(line, "ack ")
				switch {
				case isAck:
					acked[id] = true
					n++
					if killAt == nil {
						killAt = time.After(runFor)
					}
				case strings.HasPrefix(line, "error"):
					t.Fatalf("child: %s", line)
				}
			case <-killAt:
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killAt = nil // keep reading what it printed before dying
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("child printed nothing for 60s")
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child did not die of SIGKILL: %v", err)
		}
		t.Logf("round %d: %d decisions acknowledged before kill -9", round, n)
		if n == 0 {
			t.Fatal("child acknowledged nothing")
		}
		checkNoCorruptRecord(t, dir, true)
	}

	// A broker opened after the crashes appends cleanly.
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir, MaxSize: 64 << 10}})
	for i := range 10 {
		ev := sampleEvent(i)
		ev.RequestID = fmt.Sprintf("after-%d", i)
		if err := b.Decide(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		ev.Status = 200
		b.Complete(ev)
	}
	closeBroker(t, b)
	checkNoCorruptRecord(t, dir, false)

	found := map[string]bool{}
	events, sum := queryAll(t, &Query{Dirs: []string{dir}}, Filter{})
	for _, e := range events {
		if found[e.RequestID] {
			t.Errorf("%s read twice", e.RequestID)
		}
		found[e.RequestID] = true
	}
	missing := 0
	for id := range acked {
		if !found[id] {
			missing++
			if missing < 10 {
				t.Errorf("acknowledged decision %s is not in the log", id)
			}
		}
	}
	for i := range 10 {
		if !found[fmt.Sprintf("after-%d", i)] {
			t.Errorf("after-%d missing", i)
		}
	}
	if missing > 0 || sum.Skipped != 0 {
		t.Errorf("%d of %d acknowledged decisions missing; %d unreadable lines", missing, len(acked), sum.Skipped)
	}
	t.Logf("%d acknowledged, %d events read back (%d incomplete: the child completes only every other request)",
		len(acked), len(events), sum.Incomplete)
}

// checkNoCorruptRecord reads every log file raw: each whole line must be a
// record; a torn final line is allowed only in the newest uncompressed
// file, and only when tornOK (right after a crash, before recovery).
func checkNoCorruptRecord(t *testing.T, dir string, tornOK bool) {
	t.Helper()
	names, err := segmentFiles(dir, "audit")
	if err != nil {
		t.Fatal(err)
	}
	for k, name := range names {
		if strings.HasSuffix(name, tmpExt) {
			continue // an interrupted compression, removed on open and never read
		}
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(name, gzExt) {
			zr, err := newGzipReader(f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			r = zr
		}
		lr := newLineReader(r, DefaultMaxRecordBytes+1024)
		for {
			line, err := lr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, ok := decodeRecord(line); !ok {
				t.Errorf("%s: corrupt record %.200q", name, line)
			}
		}
		if lr.skipped > 0 && !(tornOK && k == len(names)-1 && strings.HasSuffix(name, jsonlExt)) {
			t.Errorf("%s: %d torn or oversized lines", name, lr.skipped)
		}
		f.Close()
	}
}

func newGzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
