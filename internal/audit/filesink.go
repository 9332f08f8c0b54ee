package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Local log files are named <kind>-<start>.jsonl while written and
// <kind>-<start>.jsonl.gz once rotated, <start> being the UTC time the file
// was started in segmentTimeLayout, so names sort by time.
const (
	segmentTimeLayout = "20060102T150405.000000000Z"
	jsonlExt          = ".jsonl"
	gzExt             = ".jsonl.gz"
	tmpExt            = ".tmp"
)

// fileSink writes JSONL to <dir>/<kind>-<start>.jsonl, rotating by size and
// age; rotated files are gzip-compressed in the background.
type fileSink struct {
	dir, kind string
	maxSize   int64
	maxAge    time.Duration
	retain    time.Duration
	maxLine   int
	log       *slog.Logger
	now       func() time.Time

	lock *dirLock
	// cur is the file being written, nil between a rotation or failure
	// and the next write. Only the holder of the journal's write lock
	// stores it; sync loads it from the syncer goroutine.
	cur   atomic.Pointer[segment]
	start time.Time

	compressQ chan string
	compWG    sync.WaitGroup
}

type fileSinkOptions struct {
	dir, kind string
	maxSize   int64
	maxAge    time.Duration
	retain    time.Duration
	maxLine   int
	log       *slog.Logger
	now       func() time.Time
}

func newFileSink(o fileSinkOptions) (*fileSink, error) {
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: log directory: %w", err)
	}
	lock, err := lockDir(o.dir, o.kind)
	if err != nil {
		return nil, err
	}
	s := &fileSink{
		dir: o.dir, kind: o.kind, maxSize: o.maxSize, maxAge: o.maxAge, retain: o.retain, maxLine: o.maxLine,
		log: o.log, now: o.now, lock: lock,
		compressQ: make(chan string, 1024),
	}
	s.compWG.Add(1)
	go s.compressLoop()

	names, err := segmentFiles(o.dir, o.kind)
	if err != nil {
		s.shutdown()
		return nil, err
	}
	var open []string
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, tmpExt):
			_ = os.Remove(filepath.Join(o.dir, n)) // an interrupted compression
		case strings.HasSuffix(n, jsonlExt):
			open = append(open, n)
		}
	}
	// Every uncompressed file but the newest was being rotated when the
	// process stopped; finish the job. The newest is appended to.
	for i, n := range open {
		if i < len(open)-1 {
			s.compressQ <- filepath.Join(o.dir, n)
			continue
		}
		start, ok := segmentStart(n, o.kind)
		if !ok {
			continue
		}
		seg, err := openSegment(filepath.Join(o.dir, n))
		if err != nil {
			s.shutdown()
			return nil, fmt.Errorf("audit: %w", err)
		}
		s.cur.Store(seg)
		s.start = start
	}
	return s, nil
}

func (s *fileSink) String() string { return "file " + s.dir }

// segmentFiles lists the names of kind's files in dir, sorted.
func segmentFiles(dir, kind string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, kind+"-") {
			if _, ok := segmentStart(n, kind); ok {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// segmentStart parses <kind>-<start>.jsonl[.gz][.tmp].
func segmentStart(name, kind string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, kind+"-")
	if !ok || len(rest) < len(segmentTimeLayout) {
		return time.Time{}, false
	}
	switch rest[len(segmentTimeLayout):] {
	case jsonlExt, gzExt, gzExt + tmpExt:
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(segmentTimeLayout, rest[:len(segmentTimeLayout)])
	return t, err == nil
}

func segmentName(kind string, start time.Time) string {
	return kind + "-" + start.UTC().Format(segmentTimeLayout) + jsonlExt
}

func (s *fileSink) write(p []byte) error {
	now := s.now()
	if cur := s.cur.Load(); cur != nil && cur.bytes() > 0 &&
		((s.maxSize > 0 && cur.bytes()+int64(len(p)) > s.maxSize) || s.aged(now)) {
		if err := s.rotate(); err != nil {
			s.log.Error("audit: rotating the log file", "file", cur.path, "err", err)
		}
	}
	cur := s.cur.Load()
	if cur == nil {
		var err error
		if cur, err = s.startSegment(now); err != nil {
			return err
		}
	}
	err := cur.append(p)
	if errors.Is(err, errSegmentBroken) {
		// Start afresh next time; the compressor keeps only whole lines.
		s.retire()
	}
	return err
}

func (s *fileSink) aged(now time.Time) bool {
	return s.maxAge > 0 && now.Sub(s.start) >= s.maxAge
}

func (s *fileSink) startSegment(now time.Time) (*segment, error) {
	start := now.UTC()
	if !start.After(s.start) {
		start = s.start.Add(time.Microsecond)
	}
	seg, err := openSegment(filepath.Join(s.dir, segmentName(s.kind, start)))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	s.cur.Store(seg)
	s.start = start
	return seg, nil
}

// rotate closes the current file and queues it for compression; the next
// write starts a new one.
func (s *fileSink) rotate() error {
	cur := s.cur.Swap(nil)
	if cur == nil {
		return nil
	}
	err := cur.close()
	s.compressQ <- cur.path
	return err
}

// retire drops a broken segment: it is compressed (whole lines only).
func (s *fileSink) retire() { _ = s.rotate() }

func (s *fileSink) maintain(now time.Time) error {
	if cur := s.cur.Load(); cur != nil && cur.bytes() > 0 && s.aged(now) {
		return s.rotate()
	}
	return nil
}

func (s *fileSink) sync() error {
	if cur := s.cur.Load(); cur != nil {
		return cur.sync()
	}
	return nil
}

func (s *fileSink) compressLoop() {
	defer s.compWG.Done()
	for path := range s.compressQ {
		dst := strings.TrimSuffix(path, jsonlExt) + gzExt
		if _, err := compressFile(path, dst, s.maxLine); err != nil {
			s.log.Error("audit: compressing a rotated log file", "file", path, "err", err)
		}
		s.prune()
	}
}

// prune deletes the compressed files whose records are all older than the
// retention: a file holds records from its start to the start of the next
// file, so it goes once the next one started before the cut-off.
func (s *fileSink) prune() {
	if s.retain <= 0 {
		return
	}
	names, err := segmentFiles(s.dir, s.kind)
	if err != nil {
		return
	}
	cutoff := s.now().Add(-s.retain)
	for i := 0; i+1 < len(names); i++ {
		if !strings.HasSuffix(names[i], gzExt) {
			continue
		}
		next, ok := segmentStart(names[i+1], s.kind)
		if !ok || !next.Before(cutoff) {
			break // later files are newer still
		}
		if err := os.Remove(filepath.Join(s.dir, names[i])); err != nil {
			s.log.Error("audit: deleting an expired log file", "file", names[i], "err", err)
		}
	}
}

func (s *fileSink) close(context.Context) error {
	var err error
	if cur := s.cur.Swap(nil); cur != nil {
		err = cur.close()
	}
	s.shutdown()
	return err
}

func (s *fileSink) shutdown() {
	close(s.compressQ)
	s.compWG.Wait()
	s.lock.release()
}
