package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The S3 sink appends records to a batch file in its spool directory,
// <spool>/<kind>/<seq>-<node>.jsonl (which is what "accepted" means), cuts
// the batch when it reaches its size or age or the hour changes, and a
// background loop compresses cut batches to .jsonl.gz and uploads them to
// <prefix>/<kind>/YYYY/MM/DD/HH/<node>-<seq>.jsonl.gz, deleting each only
// after a successful upload. seq is the batch's start in Unix nanoseconds,
// made strictly increasing, so keys sort by time per node and survive
// restarts; the hour in the key is the hour of seq, and a batch never spans
// two hours.
const (
	seqDigits = 20
	// uploadBackoffMin and uploadBackoffMax bound the wait between
	// retries of a failing upload (doubling, with jitter).
	uploadBackoffMin = time.Second
	uploadBackoffMax = 5 * time.Minute
	// uploadScanEvery is how often the uploader looks at the spool even
	// when nothing woke it.
	uploadScanEvery = time.Minute
	// errorLogEvery rate-limits repeated error logs.
	errorLogEvery = time.Minute
)

// errSpoolFull is returned when the spool has reached its size limit
// (uploads are failing); the sink accepts nothing more until they resume.
var errSpoolFull = errors.New("audit: S3 spool is full (uploads failing?)")

type s3SinkOptions struct {
	kind, node       string
	bucket, prefix   string
	spool            string // the spool root; the sink uses <spool>/<kind>
	client           *s3.Client
	batchMax         int64
	batchAge         time.Duration
	spoolMax         int64
	maxLine          int
	log              *slog.Logger
	now              func() time.Time
	backoffMin       time.Duration // tests shorten it
	uploadScanPeriod time.Duration
}

type s3Sink struct {
	o    s3SinkOptions
	dir  string
	lock *dirLock

	// State used under the journal's write lock.
	cur      atomic.Pointer[segment]
	curStart time.Time
	lastSeq  int64

	mu     sync.Mutex
	curSeq int64 // seq of the open batch, 0 when none; guarded by mu

	spoolBytes atomic.Int64
	uploads    atomic.Uint64
	uploadErrs atomic.Uint64

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func newS3Sink(o s3SinkOptions) (*s3Sink, error) {
	if o.backoffMin <= 0 {
		o.backoffMin = uploadBackoffMin
	}
	if o.uploadScanPeriod <= 0 {
		o.uploadScanPeriod = uploadScanEvery
	}
	dir := filepath.Join(o.spool, o.kind)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: spool directory: %w", err)
	}
	lock, err := lockDir(dir, o.kind)
	if err != nil {
		return nil, err
	}
	s := &s3Sink{o: o, dir: dir, lock: lock, wake: make(chan struct{}, 1), done: make(chan struct{})}
	// Leftovers from an earlier run: size them, continue their sequence.
	files, err := s.spoolFiles()
	if err != nil {
		lock.release()
		return nil, err
	}
	var total int64
	for _, f := range files {
		total += f.size
		s.lastSeq = max(s.lastSeq, f.seq)
	}
	s.spoolBytes.Store(total)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.uploadLoop(ctx)
	return s, nil
}

func (s *s3Sink) String() string { return "s3 s3://" + s.o.bucket + "/" + s.o.prefix }

// spoolFile is one batch in the spool.
type spoolFile struct {
	name string
	seq  int64
	node string
	gz   bool
	size int64
}

// spoolFiles lists the batches in the spool, oldest first, removing
// leftovers of interrupted compressions.
func (s *s3Sink) spoolFiles() ([]spoolFile, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []spoolFile
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		if strings.HasSuffix(name, gzExt+tmpExt) {
			_ = os.Remove(filepath.Join(s.dir, name))
			continue
		}
		f, ok := parseSpoolName(name)
		if !ok {
			continue
		}
		if info, err := e.Info(); err == nil {
			f.size = info.Size()
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b spoolFile) int {
		if a.seq != b.seq {
			return int(min(max(a.seq-b.seq, -1), 1))
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

func spoolName(seq int64, node string) string {
	return fmt.Sprintf("%0*d-%s%s", seqDigits, seq, node, jsonlExt)
}

func parseSpoolName(name string) (spoolFile, bool) {
	f := spoolFile{name: name}
	base, gz := strings.CutSuffix(name, gzExt)
	if !gz {
		var ok bool
		if base, ok = strings.CutSuffix(name, jsonlExt); !ok {
			return f, false
		}
	}
	f.gz = gz
	if len(base) < seqDigits+2 || base[seqDigits] != '-' {
		return f, false
	}
	seq, err := strconv.ParseInt(base[:seqDigits], 10, 64)
	if err != nil || seq <= 0 {
		return f, false
	}
	f.seq, f.node = seq, base[seqDigits+1:]
	return f, validNode(f.node)
}

// objectKey is where a batch goes in the bucket.
func objectKey(prefix, kind, node string, seq int64) string {
	return hourPrefix(prefix, kind, time.Unix(0, seq)) + fmt.Sprintf("%s-%0*d%s", node, seqDigits, seq, gzExt)
}

// hourPrefix is <prefix>/<kind>/YYYY/MM/DD/HH/ for t's hour in UTC.
func hourPrefix(prefix, kind string, t time.Time) string {
	return kindPrefix(prefix, kind) + t.UTC().Format("2006/01/02/15") + "/"
}

func kindPrefix(prefix, kind string) string {
	if prefix == "" {
		return kind + "/"
	}
	return prefix + "/" + kind + "/"
}

// parseObjectKey returns the node and seq of a batch key under kp, and the
// hour its path names.
func parseObjectKey(kp, key string) (node string, seq int64, ok bool) {
	rest, ok := strings.CutPrefix(key, kp)
	if !ok || len(rest) < len("2006/01/02/15/") {
		return "", 0, false
	}
	name := rest[len("2006/01/02/15/"):]
	base, ok := strings.CutSuffix(name, gzExt)
	if !ok || len(base) < seqDigits+2 || base[len(base)-seqDigits-1] != '-' {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(base[len(base)-seqDigits:], 10, 64)
	if err != nil || seq <= 0 {
		return "", 0, false
	}
	return base[:len(base)-seqDigits-1], seq, true
}

func (s *s3Sink) write(p []byte) error {
	now := s.o.now()
	if cur := s.cur.Load(); cur != nil && cur.bytes() > 0 &&
		(cur.bytes()+int64(len(p)) > s.o.batchMax || s.hourChanged(now)) {
		s.cut()
	}
	if s.spoolBytes.Load()+int64(len(p)) > s.o.spoolMax {
		return errSpoolFull
	}
	cur := s.cur.Load()
	if cur == nil {
		seq := max(s.lastSeq+1, now.UnixNano())
		// Mark the batch open before its file exists, so the uploader
		// never takes a file still being written for a cut one.
		s.mu.Lock()
		s.curSeq = seq
		s.mu.Unlock()
		seg, err := openSegment(filepath.Join(s.dir, spoolName(seq, s.o.node)))
		if err != nil {
			s.mu.Lock()
			s.curSeq = 0
			s.mu.Unlock()
			return fmt.Errorf("audit: spool: %w", err)
		}
		s.lastSeq, s.curStart = seq, now
		s.cur.Store(seg)
		cur = seg
	}
	err := cur.append(p)
	if err == nil {
		s.spoolBytes.Add(int64(len(p)))
		return nil
	}
	if errors.Is(err, errSegmentBroken) {
		s.cut() // the compressor keeps whole lines only
	}
	return fmt.Errorf("audit: spool: %w", err)
}

func (s *s3Sink) hourChanged(now time.Time) bool {
	return now.UTC().Truncate(time.Hour).After(time.Unix(0, s.lastSeq).UTC().Truncate(time.Hour))
}

// cut closes the open batch (fsyncing it) and wakes the uploader.
func (s *s3Sink) cut() {
	cur := s.cur.Swap(nil)
	if cur == nil {
		return
	}
	if err := cur.close(); err != nil {
		s.o.log.Error("audit: closing a spool batch", "file", cur.path, "err", err)
	}
	s.mu.Lock()
	s.curSeq = 0
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *s3Sink) maintain(now time.Time) error {
	if cur := s.cur.Load(); cur != nil && cur.bytes() > 0 &&
		(now.Sub(s.curStart) >= s.o.batchAge || s.hourChanged(now)) {
		s.cut()
	}
	return nil
}

func (s *s3Sink) sync() error {
	if cur := s.cur.Load(); cur != nil {
		return cur.sync()
	}
	return nil
}

// close cuts the open batch, stops the background loop and uploads what
// is spooled until ctx ends; what is left stays in the spool for the next
// start.
func (s *s3Sink) close(ctx context.Context) error {
	s.cut()
	s.cancel()
	<-s.done
	defer s.lock.release()
	backoff := s.o.backoffMin
	for {
		n, err := s.pass(ctx)
		if err == nil {
			return nil
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("audit: %s: %d batches left in the spool %s for the next start: %w", s, n, s.dir, err)
		case <-t.C:
		}
		backoff = min(2*backoff, uploadBackoffMax)
	}
}

// uploadLoop uploads spooled batches, at start (leftovers of an earlier
// run), when woken by a cut and every uploadScanEvery, retrying failures
// with exponential backoff.
func (s *s3Sink) uploadLoop(ctx context.Context) {
	defer close(s.done)
	var backoff time.Duration
	var lastLog time.Time
	failing := false
	for {
		_, err := s.pass(ctx)
		wait := s.o.uploadScanPeriod
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			backoff = min(max(2*backoff, s.o.backoffMin), uploadBackoffMax)
			wait = backoff/2 + rand.N(backoff/2+1) // #nosec G404 -- jitter, not a secret
			if !failing || time.Since(lastLog) >= errorLogEvery {
				s.o.log.Error("audit: uploading to the log bucket failed; batches stay spooled and are retried",
					"sink", s.String(), "spool_bytes", s.spoolBytes.Load(), "retry_in", wait.Round(time.Millisecond), "err", err)
				lastLog = time.Now()
			}
			failing = true
		default:
			if failing {
				s.o.log.Info("audit: uploads to the log bucket resumed", "sink", s.String())
			}
			failing, backoff = false, 0
		}
		wake := s.wake
		if failing {
			wake = nil // keep to the backoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// pass compresses every cut batch and uploads every compressed one, oldest
// first, stopping at the first failure. It returns how many batches are
// left.
func (s *s3Sink) pass(ctx context.Context) (int, error) {
	files, err := s.spoolFiles()
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	open := s.curSeq
	s.mu.Unlock()
	left := len(files)
	for i := range files {
		f := &files[i]
		if !f.gz {
			if open != 0 && f.seq >= open {
				left--
				continue // being written
			}
			src := filepath.Join(s.dir, f.name)
			gzName := strings.TrimSuffix(f.name, jsonlExt) + gzExt
			if slices.ContainsFunc(files, func(o spoolFile) bool { return o.name == gzName }) {
				// Compressed before a crash; the .gz is uploaded below.
				_ = os.Remove(src)
				s.spoolBytes.Add(-f.size)
				left--
				continue
			}
			n, err := compressFile(src, filepath.Join(s.dir, gzName), s.o.maxLine)
			if err != nil {
				return left, fmt.Errorf("compress %s: %w", f.name, err)
			}
			s.spoolBytes.Add(n - f.size)
			f.name, f.gz, f.size = gzName, true, n
		}
		if err := s.upload(ctx, *f); err != nil {
			s.uploadErrs.Add(1)
			return left, err
		}
		s.uploads.Add(1)
		left--
	}
	return left, nil
}

func (s *s3Sink) upload(ctx context.Context, f spoolFile) error {
	path := filepath.Join(s.dir, f.name)
	file, err := os.Open(path) // #nosec G304 -- a file of our spool
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	key := objectKey(s.o.prefix, s.o.kind, f.node, f.seq)
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	if _, err := s.o.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.o.bucket),
		Key:           aws.String(key),
		Body:          file,
		ContentLength: aws.Int64(st.Size()),
		ContentType:   aws.String("application/gzip"),
	}); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.o.bucket, key, err)
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	s.spoolBytes.Add(-st.Size())
	return nil
}
