package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/config"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newTestBroker(t testing.TB, o Options) *Broker {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	if o.Node == "" {
		o.Node = "test-node"
	}
	b, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func closeBroker(t testing.TB, b *Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func sampleEvent(i int) *Event {
	dec, reason := DecisionAllow, "allowed by GRANT SELECT ON URI 's3://lake/data' TO ROLE analyst"
	if i%3 == 0 {
		dec, reason = DecisionDeny, "no grant covers s3://lake/secret"
	}
	return &Event{
		Source:      SourceProxy,
		RequestID:   fmt.Sprintf("req-%06d", i),
		User:        fmt.Sprintf("user%d", i%5),
		Groups:      []string{"analysts"},
		AuthMethod:  "sigv4",
		ClientIP:    "10.0.0.1",
		AccessKeyID: "LGAKIAEXAMPLE00001",
		Operation:   "GetObject",
		URIs:        []string{fmt.Sprintf("s3://lake/data/part-%d.parquet", i)},
		Privilege:   "SELECT",
		Decision:    dec,
		Reason:      reason,
		Mode:        ModeProxy,
		UserAgent:   "aws-cli/2.15",
	}
}

// queryAll runs a query over dir and returns the events.
func queryAll(t testing.TB, q *Query, f Filter) ([]Event, Summary) {
	t.Helper()
	var out []Event
	sum, err := q.Run(context.Background(), f, func(e *Event) error {
		out = append(out, *e)
		return nil
	})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	return out, sum
}

func TestRoundTripMergesDecisionAndCompletion(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}, FsyncInterval: time.Second})
	const n = 300
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ev := sampleEvent(i)
			if err := b.Decide(context.Background(), ev); err != nil {
				t.Errorf("Decide: %v", err)
				return
			}
			if i%50 == 7 {
				return // never completes: reads back as incomplete
			}
			ev.Status, ev.BytesOut, ev.DurationMS = 200, int64(i), 1.5
			if ev.Decision == DecisionDeny {
				ev.Status, ev.BytesOut = 403, 0
			}
			b.Complete(ev)
		})
	}
	wg.Wait()
	closeBroker(t, b)
	st := b.Stats()
	if st.Decisions != n || st.Completions != n-6 || st.Dropped != 0 || st.Rejected != 0 {
		t.Errorf("stats = %+v", st)
	}

	events, sum := queryAll(t, &Query{Dirs: []string{dir}}, Filter{})
	if len(events) != n {
		t.Fatalf("read %d events, want %d", len(events), n)
	}
	if sum.Incomplete != 6 || sum.Skipped != 0 {
		t.Errorf("summary = %+v, want 6 incomplete, 0 skipped", sum)
	}
	seen := map[string]bool{}
	for k, e := range events {
		if seen[e.RequestID] {
			t.Errorf("request %s read twice", e.RequestID)
		}
		seen[e.RequestID] = true
		if k > 0 && e.Time.Before(events[k-1].Time) {
			t.Errorf("events out of time order at %d", k)
		}
		var i int
		fmt.Sscanf(e.RequestID, "req-%d", &i)
		want := sampleEvent(i)
		if e.Decision != want.Decision || e.Reason != want.Reason || e.User != want.User || e.Node != "test-node" {
			t.Errorf("%s: decision %q reason %q user %q node %q", e.RequestID, e.Decision, e.Reason, e.User, e.Node)
		}
		switch {
		case i%50 == 7:
			if !e.Incomplete || e.Status != 0 {
				t.Errorf("%s: incomplete=%v status=%d, want incomplete with status 0", e.RequestID, e.Incomplete, e.Status)
			}
		case e.Incomplete:
			t.Errorf("%s: incomplete", e.RequestID)
		case want.Decision == DecisionDeny && e.Status != 403, want.Decision == DecisionAllow && (e.Status != 200 || e.BytesOut != int64(i)):
			t.Errorf("%s: status %d bytes_out %d", e.RequestID, e.Status, e.BytesOut)
		}
	}
}

// gateSink holds its first write until released, so that everything
// queued meanwhile shows up in the second write.
type gateSink struct {
	mu      sync.Mutex
	entered chan struct{}
	release chan struct{}
	writes  [][]byte
	once    sync.Once
}

func (g *gateSink) String() string { return "gate" }
func (g *gateSink) write(p []byte) error {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.release
	}
	g.mu.Lock()
	g.writes = append(g.writes, bytes.Clone(p))
	g.mu.Unlock()
	return nil
}
func (g *gateSink) maintain(time.Time) error    { return nil }
func (g *gateSink) sync() error                 { return nil }
func (g *gateSink) close(context.Context) error { return nil }

func TestGroupCommitBatchesConcurrentDecisions(t *testing.T) {
	g := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	b := newTestBroker(t, Options{testSinks: []sink{g}, FsyncInterval: time.Second})
	defer closeBroker(t, b)

	first := make(chan error, 1)
	go func() { first <- b.Decide(context.Background(), sampleEvent(0)) }()
	<-g.entered // the writer is busy with the first record
	const n = 64
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		go func() { errs <- b.Decide(context.Background(), sampleEvent(i)) }()
	}
	// Wait until all of them are queued behind the first write.
	deadline := time.Now().Add(10 * time.Second)
	queued := func() uint64 {
		b.j.mu.Lock()
		defer b.j.mu.Unlock()
		if b.j.batch == nil {
			return 0
		}
		return b.j.batch.n
	}
	for queued() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.writes) != 2 {
		t.Fatalf("%d writes, want 2 (one, then the %d queued together)", len(g.writes), n)
	}
	if lines := bytes.Count(g.writes[1], newline); lines != n {
		t.Errorf("second write holds %d records, want %d", lines, n)
	}
}

// maintainGateSink holds its first rotation until released and logs the
// order of its calls.
type maintainGateSink struct {
	mu       sync.Mutex
	calls    []string
	entered  chan struct{}
	release  chan struct{}
	nextTick chan struct{}
	once     sync.Once
}

func (m *maintainGateSink) log(s string) {
	m.mu.Lock()
	m.calls = append(m.calls, s)
	m.mu.Unlock()
}
func (m *maintainGateSink) String() string { return "maintain-gate" }
func (m *maintainGateSink) write([]byte) error {
	m.log("write")
	return nil
}
func (m *maintainGateSink) maintain(time.Time) error {
	first := false
	m.once.Do(func() { first = true })
	if first {
		close(m.entered)
		<-m.release
	} else {
		select {
		case m.nextTick <- struct{}{}:
		default:
		}
	}
	m.log("maintain")
	return nil
}
func (m *maintainGateSink) sync() error                 { return nil }
func (m *maintainGateSink) close(context.Context) error { return nil }

// A decision that comes while the writer rotates the sinks is written as
// soon as the rotation ends, not at the next tick.
func TestDecisionDuringRotationIsWrittenAfterIt(t *testing.T) {
	m := &maintainGateSink{entered: make(chan struct{}), release: make(chan struct{}), nextTick: make(chan struct{}, 1)}
	b := newTestBroker(t, Options{testSinks: []sink{m}, FsyncInterval: time.Second})
	defer closeBroker(t, b)
	<-m.entered // the first rotation holds the write lock
	done := make(chan error, 1)
	go func() { done <- b.Decide(context.Background(), sampleEvent(1)) }()
	deadline := time.Now().Add(10 * time.Second)
	for !b.j.hasDecisions() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(m.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-m.nextTick:
		t.Fatal("the decision waited for the next rotation")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.Join(m.calls, ",") != "maintain,write" {
		t.Errorf("calls %v, want the rotation, then the write", m.calls)
	}
}

// failSink never accepts.
type failSink struct{}

func (failSink) String() string              { return "fail" }
func (failSink) write([]byte) error          { return errors.New("disk on fire") }
func (failSink) maintain(time.Time) error    { return nil }
func (failSink) sync() error                 { return nil }
func (failSink) close(context.Context) error { return nil }

func TestFailClosedAndFailOpen(t *testing.T) {
	b := newTestBroker(t, Options{testSinks: []sink{failSink{}}})
	err := b.Decide(context.Background(), sampleEvent(1))
	if !errors.Is(err, ErrNotAccepted) {
		t.Errorf("fail closed: Decide = %v, want ErrNotAccepted", err)
	}
	if st := b.Stats(); st.Rejected != 1 {
		t.Errorf("Rejected = %d", st.Rejected)
	}
	closeBroker(t, b)
	if err := b.Decide(context.Background(), sampleEvent(2)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}

	open := newTestBroker(t, Options{testSinks: []sink{failSink{}}, FailOpen: true})
	if err := open.Decide(context.Background(), sampleEvent(1)); err != nil {
		t.Errorf("fail open: Decide = %v, want nil", err)
	}
	closeBroker(t, open)

	// One failing sink of two: the other accepts.
	dir := t.TempDir()
	both := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}, testSinks: []sink{failSink{}}})
	if err := both.Decide(context.Background(), sampleEvent(1)); err != nil {
		t.Errorf("one sink accepting: %v", err)
	}
	closeBroker(t, both)
}

func TestDecideRejectsInvalidEvents(t *testing.T) {
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: t.TempDir()}})
	defer closeBroker(t, b)
	for name, mutate := range map[string]func(*Event){
		"source":   func(e *Event) { e.Source = "ftp" },
		"decision": func(e *Event) { e.Decision = "maybe" },
		"mode":     func(e *Event) { e.Mode = "tunnel" },
	} {
		ev := sampleEvent(1)
		mutate(ev)
		if err := b.Decide(context.Background(), ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", name, err)
		}
	}
}

func TestDecideHonoursContext(t *testing.T) {
	g := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	b := newTestBroker(t, Options{testSinks: []sink{g}})
	go func() { _ = b.Decide(context.Background(), sampleEvent(0)) }()
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Decide(ctx, sampleEvent(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Decide = %v, want the deadline", err)
	}
	close(g.release)
	closeBroker(t, b)
}

func TestDecideFillsIDsAndCompleteAlone(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}})
	ev := &Event{Source: SourceProxy, Decision: DecisionAllow, Operation: "GetObject"}
	if err := b.Decide(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if ev.RequestID == "" || ev.Time.IsZero() || ev.Node != "test-node" {
		t.Errorf("Decide left %+v", ev)
	}
	ev.Status = 200
	b.Complete(ev)
	// A REST request recorded in one phase.
	rest := &Event{Source: SourceREST, Decision: DecisionDeny, Operation: "POST /api/sql", Status: 403}
	b.Complete(rest)
	closeBroker(t, b)
	events, _ := queryAll(t, &Query{Dirs: []string{dir}}, Filter{})
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	for _, e := range events {
		if e.Incomplete || e.Status == 0 {
			t.Errorf("event %+v", e)
		}
	}
}

func TestCloseFlushesQueuedCompletions(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}})
	const n = 2000
	for i := range n {
		ev := sampleEvent(i)
		ev.Time = time.Now()
		ev.Status = 200
		b.Complete(ev)
	}
	closeBroker(t, b)
	if got := countLines(t, dir, "audit"); got != n {
		t.Errorf("%d records on disk, want %d", got, n)
	}
	b.Complete(sampleEvent(1))
	if st := b.Stats(); st.Dropped != 1 {
		t.Errorf("Complete after Close: Dropped = %d, want 1", st.Dropped)
	}
}

// countLines counts the records in every file of kind in dir.
func countLines(t testing.TB, dir, kind string) int {
	t.Helper()
	names, err := segmentFiles(dir, kind)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		n += len(readLines(t, filepath.Join(dir, name)))
	}
	return n
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return lines
}

func TestRotationBySizeAndAge(t *testing.T) {
	dir := t.TempDir()
	var clock atomic.Int64
	clock.Store(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir, MaxSize: 4 << 10, MaxAge: time.Hour}, now: now})
	const n = 100
	for i := range n {
		if i == 60 {
			clock.Add(int64(2 * time.Hour)) // the next write rotates by age
		}
		clock.Add(int64(time.Millisecond))
		ev := sampleEvent(i)
		ev.Time = now()
		if err := b.Decide(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	closeBroker(t, b) // waits for background compression
	names, err := segmentFiles(dir, "audit")
	if err != nil {
		t.Fatal(err)
	}
	var gz, plain int
	total := 0
	for k, name := range names {
		lines := readLines(t, filepath.Join(dir, name))
		total += len(lines)
		for _, l := range lines {
			if _, ok := decodeRecord([]byte(l)); !ok {
				t.Errorf("%s: bad record %q", name, l)
			}
		}
		if strings.HasSuffix(name, gzExt) {
			gz++
		} else {
			plain++
			if k != len(names)-1 {
				t.Errorf("uncompressed %s is not the newest file", name)
			}
		}
		if st, _ := os.Stat(filepath.Join(dir, name)); strings.HasSuffix(name, jsonlExt) && st.Size() > 4<<10 {
			t.Errorf("%s is %d bytes, over the limit", name, st.Size())
		}
	}
	if total != n || gz < 3 || plain != 1 {
		t.Errorf("%d records in %d compressed + %d plain files (%v)", total, gz, plain, names)
	}
	// The age rotation started a file at the jumped clock.
	jumped := false
	for _, name := range names {
		if start, _ := segmentStart(name, "audit"); start.Hour() == 12 {
			jumped = true
		}
	}
	if !jumped {
		t.Errorf("no file started after the clock moved 2h: %v", names)
	}
	events, sum := queryAll(t, &Query{Dirs: []string{dir}}, Filter{})
	if len(events) != n || sum.Incomplete != n {
		t.Errorf("query: %d events, %d incomplete", len(events), sum.Incomplete)
	}
	// Since skips whole files and still finds what is in range.
	since := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	events, _ = queryAll(t, &Query{Dirs: []string{dir}}, Filter{Since: since})
	if len(events) != n-60 {
		t.Errorf("since %s: %d events, want %d", since, len(events), n-60)
	}
}

func TestTornTailIsCutOnOpen(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}})
	for i := range 3 {
		if err := b.Decide(context.Background(), sampleEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	closeBroker(t, b)
	names, _ := segmentFiles(dir, "audit")
	path := filepath.Join(dir, names[len(names)-1])
	// A crash in the middle of a write: half a record, no newline.
	line, _ := encodeRecord(sampleEvent(99), recordDecision, "n", DefaultMaxRecordBytes)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(line[:len(line)/2])
	f.Close()
	if _, sum := queryAll(t, &Query{Dirs: []string{dir}}, Filter{}); sum.Skipped != 1 {
		t.Errorf("reader: skipped = %d, want the torn line", sum.Skipped)
	}

	b = newTestBroker(t, Options{Sinks: Sinks{Dir: dir}})
	if err := b.Decide(context.Background(), sampleEvent(3)); err != nil {
		t.Fatal(err)
	}
	closeBroker(t, b)
	lines := readLines(t, path)
	if len(lines) != 4 {
		t.Fatalf("%d lines after reopening, want 4", len(lines))
	}
	for _, l := range lines {
		if _, ok := decodeRecord([]byte(l)); !ok {
			t.Errorf("corrupt line %q", l)
		}
	}
	events, sum := queryAll(t, &Query{Dirs: []string{dir}}, Filter{})
	if len(events) != 4 || sum.Skipped != 0 {
		t.Errorf("%d events, %d skipped", len(events), sum.Skipped)
	}
}

func TestUncompressedLeftoversAreCompressedOnOpen(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, segmentName("audit", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
	line, _ := encodeRecord(sampleEvent(1), recordDecision, "n", DefaultMaxRecordBytes)
	os.WriteFile(old, append(bytes.Clone(line), line[:10]...), 0o600) // with a torn tail
	newer := filepath.Join(dir, segmentName("audit", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)))
	os.WriteFile(newer, nil, 0o600)
	os.WriteFile(old+".gz.tmp", []byte("junk"), 0o600)
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}})
	closeBroker(t, b)
	names, _ := segmentFiles(dir, "audit")
	want := []string{filepath.Base(strings.TrimSuffix(old, jsonlExt) + gzExt), filepath.Base(newer)}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("files = %v, want %v", names, want)
	}
	if lines := readLines(t, filepath.Join(dir, want[0])); len(lines) != 1 {
		t.Errorf("compressed leftover holds %d lines, want 1", len(lines))
	}
}

func TestSecondBrokerOnSameDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}})
	defer closeBroker(t, b)
	if _, err := New(Options{Sinks: Sinks{Dir: dir}, Node: "x"}); !errors.Is(err, ErrLocked) {
		t.Errorf("second broker: %v, want ErrLocked", err)
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]Options{
		"no sink":         {},
		"bad node":        {Sinks: Sinks{Stdout: true}, Node: "a/b"},
		"s3 no spool":     {Sinks: Sinks{S3Bucket: "logs"}, Node: "n"},
		"negative fsync":  {Sinks: Sinks{Stdout: true}, FsyncInterval: -1},
		"tiny max record": {Sinks: Sinks{Stdout: true}, MaxRecordBytes: 10},
	} {
		if b, err := New(o); err == nil {
			b.Close(context.Background())
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestStdoutSink(t *testing.T) {
	var buf bytes.Buffer
	b := newTestBroker(t, Options{Sinks: Sinks{Stdout: true}, Stdout: &buf})
	if err := b.Decide(context.Background(), sampleEvent(1)); err != nil {
		t.Fatal(err)
	}
	closeBroker(t, b)
	r, ok := decodeRecord(bytes.TrimSuffix(buf.Bytes(), newline))
	if !ok || r.Record != recordDecision || r.RequestID != "req-000001" {
		t.Errorf("stdout got %q", buf.String())
	}
}

func TestServerLog(t *testing.T) {
	dir := t.TempDir()
	sl, err := NewServerLog(Options{Sinks: Sinks{Dir: dir}, Node: "n", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(sl.Handler(nil))
	logger.Info("request", "url", "/b/k?X-Amz-Signature=abcdef0123&X-Amz-Credential=AKIA1234567890123456/20250101/us-east-1/s3/aws4_request")
	logger.Info("login", "authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
	fmt.Fprint(sl, "no newline")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	names, _ := segmentFiles(dir, "server")
	if len(names) != 1 {
		t.Fatalf("server files: %v", names)
	}
	lines := readLines(t, filepath.Join(dir, names[0]))
	all := strings.Join(lines, "\n")
	if len(lines) != 3 || strings.Contains(all, "abcdef0123") || strings.Contains(all, "eyJzdWIiOiJ4In0") ||
		strings.Contains(all, "us-east-1/s3") || !strings.Contains(all, "AKIA1234567890123456") {
		t.Errorf("server log:\n%s", all)
	}
}

func TestScrubWriter(t *testing.T) {
	var buf bytes.Buffer
	w := ScrubWriter(&buf)
	in := "token=lgt_abcdefghijklmnopqrstuvwxyz0123456789ABCD\n"
	if n, err := w.Write([]byte(in)); n != len(in) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if strings.Contains(buf.String(), "abcdefghij") {
		t.Errorf("leaked: %q", buf.String())
	}
}

func TestEncodeRecordBoundsSize(t *testing.T) {
	ev := sampleEvent(1)
	ev.URIs = nil
	for i := range 5000 {
		ev.URIs = append(ev.URIs, "s3://lake/"+strings.Repeat("k", 1000)+fmt.Sprint(i))
	}
	ev.Reason = strings.Repeat("r", 100<<10)
	ev.AccessKeyID = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" // a secret in the wrong field
	line, err := encodeRecord(ev, recordDecision, "n", minRecordBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(line) > minRecordBytes {
		t.Errorf("record is %d bytes, limit %d", len(line), minRecordBytes)
	}
	r, ok := decodeRecord(bytes.TrimSuffix(line, newline))
	if !ok {
		t.Fatal("record does not decode")
	}
	if !r.Truncated || r.URIsOmitted+len(r.URIs) != 5000 || len(r.Reason) != maxReasonLen || r.AccessKeyID != redacted {
		t.Errorf("truncated=%v omitted=%d kept=%d reason=%d key=%q", r.Truncated, r.URIsOmitted, len(r.URIs), len(r.Reason), r.AccessKeyID)
	}
	if len(ev.URIs) != 5000 {
		t.Error("encodeRecord modified the caller's event")
	}
}

func TestOptionsFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = "/var/lib/lg"
	cfg.Upstream.Endpoint = "http://minio:9000"
	cfg.Upstream.PathStyle = true
	no := false
	cfg.Upstream.Buckets = map[string]config.Bucket{"logs": {Endpoint: "https://s3.eu-west-1.amazonaws.com", Region: "eu-west-1", PathStyle: &no}}
	cfg.Audit.ServerLog = config.AuditSinks{S3Bucket: "logs", S3Prefix: "lg", MaxSizeMB: 5}
	cfg.Audit.FailClosed = false
	ev, sl := OptionsFromConfig(cfg)
	if ev.Sinks.Dir != "/var/lib/lg/audit" || ev.Sinks.MaxSize != 100<<20 || !ev.FailOpen || ev.FsyncInterval != time.Second ||
		ev.S3.Endpoint != "http://minio:9000" || !ev.S3.PathStyle || ev.SpoolDir != "/var/lib/lg/audit-spool" {
		t.Errorf("events options: %+v", ev)
	}
	if sl.Sinks.S3Bucket != "logs" || sl.Sinks.MaxSize != 5<<20 || sl.S3.Endpoint != "https://s3.eu-west-1.amazonaws.com" ||
		sl.S3.Region != "eu-west-1" || sl.S3.PathStyle {
		t.Errorf("server log options: %+v", sl)
	}
}

// TestDecisionIsOnDiskWhenDecideReturns reads the file behind the
// broker's back right after Decide: the record is there (handed to the
// OS), before any Close or fsync.
func TestDecisionIsOnDiskWhenDecideReturns(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}, FsyncInterval: time.Hour})
	defer closeBroker(t, b)
	for i := range 20 {
		ev := sampleEvent(i)
		if err := b.Decide(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if got := countLines(t, dir, "audit"); got != i+1 {
			t.Fatalf("after Decide %d: %d records on disk", i, got)
		}
	}
}

// TestRetention: rotated files whose records are all older than Retain are
// deleted; the file holding records inside the window and the current one
// stay.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	var clock atomic.Int64
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir, MaxAge: time.Hour, Retain: 3 * time.Hour}, now: now})
	// One record an hour for 10 hours: ten files, each started an hour
	// after the one before.
	for i := range 10 {
		clock.Store(start.Add(time.Duration(i) * time.Hour).UnixNano())
		ev := sampleEvent(i)
		ev.Time = now()
		if err := b.Decide(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	closeBroker(t, b)
	events, _ := queryAll(t, &Query{Dirs: []string{dir}}, Filter{})
	// At 09:00 with 3 h retention, files whose successor started before
	// 06:00 are gone: those started at 00:00 … 04:00.
	if len(events) != 5 {
		names, _ := segmentFiles(dir, "audit")
		t.Fatalf("%d events left (files %v), want the 5 of 05:00 to 09:00", len(events), names)
	}
	for _, e := range events {
		if e.Time.Before(start.Add(5 * time.Hour)) {
			t.Errorf("an event of %s outlived the retention", e.Time)
		}
	}
}
