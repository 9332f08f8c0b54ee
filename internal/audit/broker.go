package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sinks says where one log goes; set any combination.
type Sinks struct {
	// Dir, when set, holds local JSONL files: the current one and the
	// rotated ones, gzip-compressed.
	Dir string
	// MaxSize rotates the local file when it would grow beyond this many
	// bytes; 0 disables size rotation.
	MaxSize int64
	// MaxAge rotates the local file once it is this old; 0 disables.
	MaxAge time.Duration
	// Retain deletes rotated local files once all their records are older
	// than this; 0 keeps them.
	Retain time.Duration
	// S3Bucket, when set, receives compressed batches under
	// <S3Prefix>/<kind>/YYYY/MM/DD/HH/<node>-<seq>.jsonl.gz through the
	// spool; kind is "audit" or "server".
	S3Bucket string
	S3Prefix string
	// Stdout writes every record to Options.Stdout.
	Stdout bool
}

// Empty reports whether no sink is set.
func (s Sinks) Empty() bool { return s.Dir == "" && s.S3Bucket == "" && !s.Stdout }

// Options configure a Broker or a ServerLog. Build them from
// config.Audit; zero values mean the defaults documented per field.
type Options struct {
	// Sinks receive the records.
	Sinks Sinks
	// Node names this process in events and S3 keys: letters, digits,
	// '.', '_' and '-'. Empty means the host name.
	Node string
	// FailOpen makes Decide succeed when no sink accepted the record (it
	// is logged and counted). The default, false, fails closed: Decide
	// returns an error and the caller refuses the request.
	FailOpen bool
	// FsyncInterval is how often accepted records are fsynced; it bounds
	// what a power loss can lose. 0 fsyncs every batch before Decide
	// returns (slower, and nothing accepted is ever lost).
	FsyncInterval time.Duration
	// SpoolDir holds the S3 sink's batches until they are uploaded
	// (<SpoolDir>/<kind>). Required with Sinks.S3Bucket.
	SpoolDir string
	// SpoolMaxBytes bounds the spool; when uploads fail long enough to
	// fill it, the S3 sink stops accepting (default 4 GiB).
	SpoolMaxBytes int64
	// UploadInterval cuts an S3 batch once it is this old (default 1m).
	UploadInterval time.Duration
	// BatchMaxBytes cuts an S3 batch at this uncompressed size (default
	// 64 MiB).
	BatchMaxBytes int64
	// S3 reaches the log bucket. Required with Sinks.S3Bucket.
	S3 S3Options
	// QueueBytes bounds the records waiting to be written asynchronously
	// (completions, server log lines); beyond it they are dropped and
	// counted (default 64 MiB).
	QueueBytes int64
	// MaxRecordBytes bounds one record (default DefaultMaxRecordBytes);
	// larger events lose URIs (counted in URIsOmitted).
	MaxRecordBytes int
	// Stdout is where Sinks.Stdout writes (default os.Stdout).
	Stdout io.Writer
	// Logger receives the subsystem's own problems (default
	// slog.Default()). For a ServerLog it must not write to that same
	// ServerLog.
	Logger *slog.Logger

	// now replaces time.Now in tests.
	now func() time.Time
	// uploadBackoffMin shortens the S3 retry backoff in tests.
	uploadBackoffMin time.Duration
	// testSinks are added to the configured sinks in tests.
	testSinks []sink
}

// Defaults of Options.
const (
	DefaultSpoolMaxBytes  = 4 << 30
	DefaultUploadInterval = time.Minute
	DefaultBatchMaxBytes  = 64 << 20
	DefaultQueueBytes     = 64 << 20
	// asyncDelay bounds how long an asynchronous record (a completion, a
	// server log line) waits for a decision to be written with.
	asyncDelay = 2 * time.Millisecond
	// maxBatchBytes bounds what decisions let pile up behind a slow sink:
	// beyond it Decide waits for the writer (until its context ends).
	maxBatchBytes = 4 << 20
	// maintainEvery is how often sinks rotate or cut by age.
	maintainEvery = time.Second
)

var nodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func validNode(s string) bool { return nodeRE.MatchString(s) }

// DefaultNode is the host name made safe for file names and S3 keys.
func DefaultNode() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "lakegate"
	}
	b := []byte(h)
	for i, c := range b {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && c != '.' && c != '_' && c != '-' {
			b[i] = '_'
		}
	}
	h = strings.TrimLeft(string(b), "._-")
	if !validNode(h) {
		return "lakegate"
	}
	return h
}

// Errors of Decide.
var (
	// ErrNotAccepted means no sink accepted the record; with fail-closed
	// (the default) the request must be refused.
	ErrNotAccepted = errors.New("audit: no audit sink accepted the record")
	// ErrClosed means the broker is closed.
	ErrClosed = errors.New("audit: closed")
)

// Stats count what a Broker or ServerLog did since it started.
type Stats struct {
	// Decisions and Completions are records accepted by at least one sink.
	Decisions, Completions uint64
	// Rejected counts decisions no sink accepted.
	Rejected uint64
	// Dropped counts asynchronous records (completions, server log lines)
	// lost: queue full, no sink accepting, invalid, or after Close.
	Dropped uint64
	// Batches counts group-commit writes; SinkErrors failed sink writes.
	Batches, SinkErrors uint64
	// SpoolBytes is what waits in the S3 spool; Uploads and UploadErrors
	// count batch uploads.
	SpoolBytes            int64
	Uploads, UploadErrors uint64
}

// sink receives batches of whole JSON lines. write, maintain and close are
// called by one goroutine at a time, the holder of the journal's write
// lock; sync from any goroutine.
type sink interface {
	String() string
	// write appends p. nil means accepted: handed to the OS (write(2)
	// done), so a crash of this process cannot lose it.
	write(p []byte) error
	// maintain rotates or cuts by age.
	maintain(now time.Time) error
	// sync makes what was accepted durable (fsync).
	sync() error
	// close flushes everything, waiting at most until ctx ends.
	close(ctx context.Context) error
}

// journal is the group-commit writer shared by Broker and ServerLog.
// Records are appended to one pending buffer; whoever holds the write lock
// writes all of it to each sink in one write and answers the decisions in
// it. A decision that finds the lock free writes itself, on its own
// goroutine, so an uncontended Decide costs one write(2) and no handoff;
// decisions that arrive meanwhile are written together by the background
// writer. Asynchronous records (completions, server log lines) only join
// the buffer: they go out with the next decision, or asyncDelay later.
type journal struct {
	sinks      []sink
	log        *slog.Logger
	fsyncEvery time.Duration
	now        func() time.Time
	queueBytes int64

	mu      sync.Mutex // guards the fields up to writeMu
	closed  bool
	pending []byte // whole lines not yet written
	spare   []byte // the previous batch's buffer, for reuse
	// batch is what the decisions in pending wait on; nil when pending
	// holds none.
	batch               *batch
	asyncN, completionN uint64 // asynchronous records in pending
	armed               bool   // asyncTimer will wake the writer
	written             chan struct{}

	writeMu    sync.Mutex // held while writing to or maintaining the sinks
	wake       chan struct{}
	asyncTimer *time.Timer
	stop       chan struct{}
	done       chan struct{}
	syncerDone chan struct{}
	// lastErrLogs is used under writeMu.
	lastErrLogs map[sink]time.Time

	decisions, completions, rejected, dropped, batches, sinkErrors atomic.Uint64
}

// batch is one group-commit write, as the decisions in it see it.
type batch struct {
	n    uint64 // decisions
	done chan struct{}
	err  error // set before done is closed
}

// newJournal builds the sinks of o for kind ("audit" or "server") and
// starts the writer.
func newJournal(o *Options, kind string) (*journal, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.Node == "" {
		o.Node = DefaultNode()
	}
	if !validNode(o.Node) {
		return nil, fmt.Errorf("audit: node name %q: use letters, digits, '.', '_' and '-'", o.Node)
	}
	if o.FsyncInterval < 0 {
		return nil, errors.New("audit: negative fsync interval")
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxRecordBytes < minRecordBytes {
		return nil, fmt.Errorf("audit: MaxRecordBytes below %d", minRecordBytes)
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.SpoolMaxBytes <= 0 {
		o.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if o.UploadInterval <= 0 {
		o.UploadInterval = DefaultUploadInterval
	}
	if o.BatchMaxBytes <= 0 {
		o.BatchMaxBytes = DefaultBatchMaxBytes
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Sinks.Empty() && len(o.testSinks) == 0 {
		return nil, fmt.Errorf("audit: no %s sink configured", kind)
	}
	j := &journal{
		log: o.Logger, fsyncEvery: o.FsyncInterval, now: o.now,
		queueBytes:  o.QueueBytes,
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		syncerDone:  make(chan struct{}),
		lastErrLogs: map[sink]time.Time{},
	}
	fail := func(err error) (*journal, error) {
		for _, s := range j.sinks {
			_ = s.close(context.Background())
		}
		return nil, err
	}
	maxLine := o.MaxRecordBytes + 1024
	if o.Sinks.Dir != "" {
		fs, err := newFileSink(fileSinkOptions{
			dir: filepath.Clean(o.Sinks.Dir), kind: kind, maxSize: o.Sinks.MaxSize, maxAge: o.Sinks.MaxAge, retain: o.Sinks.Retain,
			maxLine: maxLine, log: o.Logger, now: o.now,
		})
		if err != nil {
			return fail(err)
		}
		j.sinks = append(j.sinks, fs)
	}
	if o.Sinks.S3Bucket != "" {
		if o.SpoolDir == "" {
			return fail(errors.New("audit: an S3 sink needs a spool directory"))
		}
		client, err := newS3Client(o.S3)
		if err != nil {
			return fail(err)
		}
		ss, err := newS3Sink(s3SinkOptions{
			kind: kind, node: o.Node, bucket: o.Sinks.S3Bucket, prefix: strings.Trim(o.Sinks.S3Prefix, "/"),
			spool: filepath.Clean(o.SpoolDir), client: client, batchMax: o.BatchMaxBytes, batchAge: o.UploadInterval,
			spoolMax: o.SpoolMaxBytes, maxLine: maxLine, log: o.Logger, now: o.now, backoffMin: o.uploadBackoffMin,
		})
		if err != nil {
			return fail(err)
		}
		j.sinks = append(j.sinks, ss)
	}
	if o.Sinks.Stdout {
		j.sinks = append(j.sinks, &stdoutSink{w: o.Stdout})
	}
	j.sinks = append(j.sinks, o.testSinks...)
	j.asyncTimer = time.AfterFunc(time.Hour, j.wakeWriter)
	j.asyncTimer.Stop()
	go j.run()
	if j.fsyncEvery > 0 {
		go j.syncer()
	} else {
		close(j.syncerDone)
	}
	return j, nil
}

// decide adds a decision record and returns once a write holding it was
// answered by the sinks.
func (j *journal) decide(ctx context.Context, line []byte) error {
	j.mu.Lock()
	for len(j.pending) >= maxBatchBytes && !j.closed {
		// The writer is behind (a slow sink): wait for it to take the
		// buffer rather than let it grow.
		if j.written == nil {
			j.written = make(chan struct{})
		}
		written := j.written
		j.mu.Unlock()
		j.wakeWriter()
		select {
		case <-written:
		case <-ctx.Done():
			return fmt.Errorf("audit: decision not recorded: %w", ctx.Err())
		}
		j.mu.Lock()
	}
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	b := j.batch
	if b == nil {
		b = &batch{done: make(chan struct{})}
		j.batch = b
	}
	b.n++
	j.pending = append(j.pending, line...)
	j.mu.Unlock()

	if j.writeMu.TryLock() {
		j.writePending()
		j.writeMu.Unlock()
		// Decisions that arrived during that write go to the background
		// writer rather than keep this request waiting.
		if j.hasDecisions() {
			j.wakeWriter()
		}
	}
	// Otherwise the holder of writeMu takes this line: every holder looks
	// for pending decisions after it unlocks.
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("audit: decision not confirmed: %w", ctx.Err())
	}
}

// enqueue adds an asynchronous record, written with the next decision or
// at most asyncDelay later; it reports whether the record was taken (not
// when the queue is full or the journal closed).
func (j *journal) enqueue(line []byte, completion bool) bool {
	j.mu.Lock()
	if j.closed || int64(len(j.pending)+len(line)) > j.queueBytes {
		j.mu.Unlock()
		j.dropped.Add(1)
		return false
	}
	j.pending = append(j.pending, line...)
	j.asyncN++
	if completion {
		j.completionN++
	}
	arm := !j.armed && j.batch == nil
	j.armed = j.armed || arm
	j.mu.Unlock()
	if arm {
		j.asyncTimer.Reset(asyncDelay)
	}
	return true
}

func (j *journal) hasDecisions() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.batch != nil
}

func (j *journal) wakeWriter() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// writePending writes everything pending in one write and answers its
// decisions; it reports whether there was anything. Call with writeMu
// held.
func (j *journal) writePending() bool {
	j.mu.Lock()
	buf, b, asyncN, completionN := j.pending, j.batch, j.asyncN, j.completionN
	j.pending, j.spare, j.batch, j.asyncN, j.completionN, j.armed = j.spare[:0], nil, nil, 0, 0, false
	j.mu.Unlock()
	if len(buf) == 0 {
		j.mu.Lock()
		j.spare = buf
		j.mu.Unlock()
		return false
	}
	err := j.flush(buf)
	if err != nil {
		j.dropped.Add(asyncN)
	} else {
		j.completions.Add(completionN)
	}
	if b != nil {
		if err != nil {
			j.rejected.Add(b.n)
		} else {
			j.decisions.Add(b.n)
		}
		b.err = err
		close(b.done)
	}
	j.mu.Lock()
	if cap(buf) <= maxBatchBytes {
		j.spare = buf[:0]
	}
	if j.written != nil {
		close(j.written)
		j.written = nil
	}
	j.mu.Unlock()
	return true
}

// run is the background writer: it writes what decisions left behind and
// asynchronous records, rotates the sinks, and drains the buffer at Close.
func (j *journal) run() {
	defer close(j.done)
	tick := time.NewTicker(maintainEvery)
	defer tick.Stop()
	for {
		select {
		case <-j.wake:
		case now := <-tick.C:
			j.writeMu.Lock()
			j.maintain(now)
			j.writeMu.Unlock()
			// A decision may have found the lock taken meanwhile: it is
			// written below like any other.
		case <-j.stop:
			// Closed: nothing new is taken, so this empties the buffer.
			j.writeMu.Lock()
			for j.writePending() {
			}
			j.writeMu.Unlock()
			return
		}
		j.writeMu.Lock()
		for j.writePending() && j.hasDecisions() {
		}
		j.writeMu.Unlock()
		if j.hasDecisions() {
			// Added after the last write, while a decision held the lock
			// and found it taken: go round again.
			j.wakeWriter()
		}
	}
}

// flush writes one batch to every sink; nil when at least one accepted it.
func (j *journal) flush(p []byte) error {
	j.batches.Add(1)
	accepted := false
	var errs []error
	for _, s := range j.sinks {
		err := s.write(p)
		if err == nil && j.fsyncEvery == 0 {
			err = s.sync()
		}
		if err != nil {
			j.sinkErrors.Add(1)
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			j.logSinkError(s, "audit: a sink did not accept a batch", err)
			continue
		}
		accepted = true
	}
	if accepted {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrNotAccepted, errors.Join(errs...))
}

func (j *journal) logSinkError(s sink, msg string, err error) {
	if last, ok := j.lastErrLogs[s]; ok && j.now().Sub(last) < errorLogEvery {
		return
	}
	j.lastErrLogs[s] = j.now()
	j.log.Error(msg, "sink", s.String(), "err", err)
}

func (j *journal) maintain(now time.Time) {
	for _, s := range j.sinks {
		if err := s.maintain(now); err != nil {
			j.logSinkError(s, "audit: rotating", err)
		}
	}
}

// syncer fsyncs every sink each fsyncEvery, concurrently with writes.
func (j *journal) syncer() {
	defer close(j.syncerDone)
	t := time.NewTicker(j.fsyncEvery)
	defer t.Stop()
	var lastLog time.Time
	for {
		select {
		case <-j.done:
			return
		case <-t.C:
			for _, s := range j.sinks {
				if err := s.sync(); err != nil && time.Since(lastLog) >= errorLogEvery {
					lastLog = time.Now()
					j.log.Error("audit: fsync failed", "sink", s.String(), "err", err)
				}
			}
		}
	}
}

// close stops taking records, writes what is queued and closes the sinks
// (the S3 sink uploads what it spooled) within ctx.
func (j *journal) close(ctx context.Context) error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	close(j.stop)
	select {
	case <-j.done:
	case <-ctx.Done():
		return fmt.Errorf("audit: close: %w", ctx.Err())
	}
	j.asyncTimer.Stop()
	<-j.syncerDone
	var errs []error
	for _, s := range j.sinks {
		if err := s.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (j *journal) stats() Stats {
	st := Stats{
		Decisions: j.decisions.Load(), Completions: j.completions.Load(), Rejected: j.rejected.Load(),
		Dropped: j.dropped.Load(), Batches: j.batches.Load(), SinkErrors: j.sinkErrors.Load(),
	}
	for _, s := range j.sinks {
		if ss, ok := s.(*s3Sink); ok {
			st.SpoolBytes += ss.spoolBytes.Load()
			st.Uploads += ss.uploads.Load()
			st.UploadErrors += ss.uploadErrs.Load()
		}
	}
	return st
}

// stdoutSink writes records to a stream.
type stdoutSink struct{ w io.Writer }

func (s *stdoutSink) String() string { return "stdout" }

func (s *stdoutSink) write(p []byte) error {
	_, err := s.w.Write(p)
	return err
}

func (s *stdoutSink) maintain(time.Time) error { return nil }

// sync fsyncs a regular file; pipes and terminals cannot be, and do not
// need to be.
func (s *stdoutSink) sync() error {
	if f, ok := s.w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return f.Sync()
		}
	}
	return nil
}

func (s *stdoutSink) close(context.Context) error { return s.sync() }

// Broker records audit events. It is safe for concurrent use.
type Broker struct {
	j         *journal
	node      string
	failOpen  bool
	maxRecord int
	log       *slog.Logger
	now       func() time.Time
}

// New opens the audit sinks of o and starts the writer. Close it to flush.
// It fails when no sink is configured, a directory is in use by another
// process (ErrLocked), or the S3 options are incomplete.
func New(o Options) (*Broker, error) {
	j, err := newJournal(&o, "audit")
	if err != nil {
		return nil, err
	}
	return &Broker{j: j, node: o.Node, failOpen: o.FailOpen, maxRecord: o.MaxRecordBytes, log: o.Logger, now: o.now}, nil
}

// Node is the node name written in events.
func (b *Broker) Node() string { return b.node }

// Decide records ev's decision and returns once at least one sink has
// accepted it (see the package documentation), so the caller may forward
// the request. It first sets ev.Time (when zero), ev.RequestID (when
// empty) and ev.Node. Concurrent calls are written together in one write
// (group commit).
//
// It returns ErrInvalidEvent (wrapped) for an event with an undefined
// Source, Decision or Mode, ErrClosed after Close, the context's error
// when ctx ends first, and ErrNotAccepted (wrapped) when no sink accepted
// the record, unless Options.FailOpen is set. On any error the caller
// must refuse the request.
func (b *Broker) Decide(ctx context.Context, ev *Event) error {
	line, err := b.encode(ev, recordDecision)
	if err != nil {
		return err
	}
	err = b.j.decide(ctx, line)
	if err != nil && b.failOpen && errors.Is(err, ErrNotAccepted) {
		// Failing open as configured: the writer logged the sink errors
		// and Stats counts the rejection.
		return nil
	}
	return err
}

// Complete records ev's outcome (Status, BytesIn, BytesOut, DurationMS)
// under the same RequestID, asynchronously: it never waits for a write,
// and drops the record (counted in Stats.Dropped) when
// the queue is full or the broker closed. Called without a prior Decide
// (ev.RequestID empty), it records a one-phase event, for REST requests
// whose decision is known only afterwards; it then sets ev.Time and
// ev.RequestID like Decide. ev may be reused once Complete returns.
func (b *Broker) Complete(ev *Event) {
	line, err := b.encode(ev, recordCompletion)
	if err != nil {
		b.j.dropped.Add(1)
		b.log.Error("audit: completion not recorded", "request_id", ev.RequestID, "err", err)
		return
	}
	b.j.enqueue(line, true)
}

// encode stamps ev (Time and RequestID when unset, Node) and encodes it as
// a record of kind.
func (b *Broker) encode(ev *Event, kind string) ([]byte, error) {
	if ev.Time.IsZero() {
		ev.Time = b.now()
	}
	if ev.RequestID == "" {
		ev.RequestID = NewRequestID()
	}
	ev.Node = b.node
	return encodeRecord(ev, kind, b.node, b.maxRecord)
}

// Close stops accepting events, writes everything queued, fsyncs and
// closes the files, and uploads what the S3 sink spooled, waiting at most
// until ctx ends (the SIGTERM path). Batches not uploaded by then stay in
// the spool and are uploaded at the next start.
func (b *Broker) Close(ctx context.Context) error { return b.j.close(ctx) }

// Stats returns counters since New.
func (b *Broker) Stats() Stats { return b.j.stats() }
