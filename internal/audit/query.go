package audit

import (
	"cmp"
	"compress/gzip"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Filter selects events. Zero fields select everything.
type Filter struct {
	// User is the exact user name.
	User string
	// Since and Until bound the event time: Since ≤ Time < Until.
	Since, Until time.Time
	// Decision is DecisionAllow, DecisionDeny or DecisionError.
	Decision string
	// URIPrefix selects events with a URI starting with it (s3a:// is
	// read as s3://).
	URIPrefix string
	// Operation is the operation name, any case.
	Operation string
	// Table is a catalog table, "db.table", any case: events under its
	// location (Event.Table or, for a copy, Event.SourceTable).
	Table string
	// Limit stops after this many events; 0 means no limit.
	Limit int
}

// Validate reports a filter that can match nothing by mistake.
func (f Filter) Validate() error {
	switch f.Decision {
	case "", DecisionAllow, DecisionDeny, DecisionError:
	default:
		return fmt.Errorf("audit: decision %q is not allow, deny or error", f.Decision)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return errors.New("audit: until must be after since")
	}
	if f.Limit < 0 {
		return errors.New("audit: negative limit")
	}
	if f.URIPrefix != "" && !strings.HasPrefix(normalizeURI(f.URIPrefix), "s3://") {
		return fmt.Errorf("audit: URI prefix %q does not start with s3://", f.URIPrefix)
	}
	return nil
}

// inRange applies the time bounds only.
func (f *Filter) inRange(t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || t.Before(f.Until))
}

// Match reports whether e passes every filter.
func (f *Filter) Match(e *Event) bool {
	if !f.inRange(e.Time) ||
		(f.User != "" && e.User != f.User) ||
		(f.Decision != "" && e.Decision != f.Decision) ||
		(f.Operation != "" && !strings.EqualFold(e.Operation, f.Operation)) ||
		(f.Table != "" && !strings.EqualFold(e.Table, f.Table) && !strings.EqualFold(e.SourceTable, f.Table)) {
		return false
	}
	if f.URIPrefix == "" {
		return true
	}
	p := normalizeURI(f.URIPrefix)
	for _, u := range e.URIs {
		if strings.HasPrefix(normalizeURI(u), p) {
			return true
		}
	}
	return false
}

func normalizeURI(u string) string {
	if rest, ok := strings.CutPrefix(u, "s3a://"); ok {
		return "s3://" + rest
	}
	return u
}

// Query reads audit events back from local log directories and S3 log
// buckets, merging each request's decision and completion records into one
// Event and returning events in time order. It streams: memory is bounded
// by MaxPending events, never by the size of the log.
//
// Ordering and merging work within a window: an event is held until its
// completion arrives or MaxPending later events have been read, and
// records written up to a few seconds out of order are sorted. A request
// that outlasts the window (a very long upload on a busy node) reads back
// as incomplete. With Until set, records are read up to an hour past it so
// that requests still running at Until get their completion.
type Query struct {
	// Dirs are local audit log directories (audit.events.dir).
	Dirs []string
	// S3 are log bucket locations.
	S3 []*S3Source
	// MaxPending bounds the events held for merging (default 100,000).
	MaxPending int
	// MaxRecordBytes is the longest line read (default
	// DefaultMaxRecordBytes); longer ones are skipped.
	MaxRecordBytes int
}

// S3Source is an S3 log bucket location: s3://Bucket/Prefix, holding
// <Prefix>/audit/YYYY/MM/DD/HH/<node>-<seq>.jsonl.gz.
type S3Source struct {
	Bucket, Prefix string
	client         *s3.Client
}

// NewS3Source returns the audit log under s3://bucket/prefix.
func NewS3Source(bucket, prefix string, o S3Options) (*S3Source, error) {
	c, err := newS3Client(o)
	if err != nil {
		return nil, err
	}
	return &S3Source{Bucket: bucket, Prefix: strings.Trim(prefix, "/"), client: c}, nil
}

// Summary describes a finished query.
type Summary struct {
	// Events is how many events were returned; Incomplete how many of
	// them had no completion record.
	Events, Incomplete int
	// Skipped counts unreadable lines: torn by a crash, garbled or too
	// long.
	Skipped int
}

// Defaults and windows of Query.
const (
	DefaultMaxPending = 100_000
	// reorderSlack is how far out of time order records may be written
	// (request time is taken before authentication, the record after).
	reorderSlack = 5 * time.Second
	// completionSlack is how far past Until records are read for
	// completions of requests still running at Until.
	completionSlack = time.Hour
	kindAudit       = "audit"
)

// Run calls fn for every event matching f, in time order, until fn
// returns an error (returned as is) or Limit is reached.
func (q *Query) Run(ctx context.Context, f Filter, fn func(*Event) error) (Summary, error) {
	var sum Summary
	if err := f.Validate(); err != nil {
		return sum, err
	}
	maxLine := cmp.Or(q.MaxRecordBytes, DefaultMaxRecordBytes) + 1024
	var sources []recordSource
	defer func() {
		for _, s := range sources {
			s.close()
		}
	}()
	for _, d := range q.Dirs {
		src, err := newDirSource(d, kindAudit, &f, maxLine)
		if err != nil {
			return sum, err
		}
		sources = append(sources, src)
	}
	for _, s3src := range q.S3 {
		srcs, err := s3src.sources(ctx, kindAudit, &f, maxLine)
		if err != nil {
			return sum, err
		}
		sources = append(sources, srcs...)
	}
	m := newMerger(cmp.Or(q.MaxPending, DefaultMaxPending))
	var stopAt time.Time
	if !f.Until.IsZero() {
		stopAt = f.Until.Add(completionSlack)
	}
	emit := func(e *Event) error {
		if !f.Match(e) {
			return nil
		}
		sum.Events++
		if e.Incomplete {
			sum.Incomplete++
		}
		if err := fn(e); err != nil {
			return err
		}
		if f.Limit > 0 && sum.Events >= f.Limit {
			return errLimit
		}
		return nil
	}
	err := mergeSources(ctx, sources, func(r wireRecord, pos time.Time) error {
		if !stopAt.IsZero() && pos.After(stopAt) {
			return errStopReading
		}
		if !f.inRange(r.Time) {
			return nil // both records of a request carry its time
		}
		m.add(r, pos)
		return m.drain(false, emit)
	})
	for _, s := range sources {
		sum.Skipped += s.skipped()
	}
	if err == nil || errors.Is(err, errStopReading) {
		err = m.drain(true, emit)
	}
	if errors.Is(err, errLimit) {
		err = nil
	}
	return sum, err
}

var (
	errLimit       = errors.New("limit reached")
	errStopReading = errors.New("past the range")
)

// recordSource yields records in the order they were written.
type recordSource interface {
	// next returns the next record, io.EOF after the last.
	next(ctx context.Context) (wireRecord, error)
	skipped() int
	close()
}

// position is where a record sits in write order: a decision is written
// at its event's time, a completion when the request ended.
func position(r *wireRecord) time.Time {
	if r.Record == recordCompletion {
		return r.Time.Add(time.Duration(r.DurationMS * float64(time.Millisecond)))
	}
	return r.Time
}

// mergeSources interleaves the sources by record position (a k-way merge)
// and calls fn for each record.
func mergeSources(ctx context.Context, sources []recordSource, fn func(wireRecord, time.Time) error) error {
	h := &cursorHeap{}
	advance := func(c *cursor) error {
		r, err := c.src.next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		c.head, c.pos = r, position(&r)
		heap.Push(h, c)
		return nil
	}
	for _, s := range sources {
		if err := advance(&cursor{src: s}); err != nil {
			return err
		}
	}
	for h.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := heap.Pop(h).(*cursor)
		if err := fn(c.head, c.pos); err != nil {
			return err
		}
		if err := advance(c); err != nil {
			return err
		}
	}
	return nil
}

type cursor struct {
	src  recordSource
	head wireRecord
	pos  time.Time
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].pos.Before(h[j].pos) }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}

// merger joins decision and completion records and releases events in
// time order.
type merger struct {
	max       int
	pending   []*entry // sorted by event time
	byID      map[string]*entry
	watermark time.Time // the latest record position seen
	// emitted remembers the ids of the last max released events, to drop
	// duplicates (the same record in a local file and in S3) and
	// completions that arrive after their event was released.
	emitted     map[string]struct{}
	emittedRing []string
	ringNext    int
}

type entry struct {
	ev                   Event
	decision, completion bool
}

func newMerger(maxPending int) *merger {
	return &merger{max: maxPending, byID: map[string]*entry{}, emitted: map[string]struct{}{}}
}

func (m *merger) add(r wireRecord, pos time.Time) {
	if pos.After(m.watermark) {
		m.watermark = pos
	}
	if _, done := m.emitted[r.RequestID]; done {
		return
	}
	isDecision := r.Record == recordDecision
	if e, ok := m.byID[r.RequestID]; ok {
		switch {
		case isDecision && !e.decision:
			// The decision is the evidence: its fields win; the outcome
			// comes from the completion.
			// A scan's rows are an outcome too.
			status, in, out, dur := e.ev.Status, e.ev.BytesIn, e.ev.BytesOut, e.ev.DurationMS
			rows, rowsTrunc := e.ev.Rows, e.ev.RowsTruncated
			e.ev = r.Event
			e.ev.Status, e.ev.BytesIn, e.ev.BytesOut, e.ev.DurationMS = status, in, out, dur
			e.ev.Rows, e.ev.RowsTruncated = rows, rowsTrunc
			e.decision = true
		case !isDecision && !e.completion:
			e.ev.Status, e.ev.BytesIn, e.ev.BytesOut, e.ev.DurationMS = r.Status, r.BytesIn, r.BytesOut, r.DurationMS
			e.ev.Rows, e.ev.RowsTruncated = r.Rows, r.RowsTruncated
			e.completion = true
		}
		return
	}
	e := &entry{ev: r.Event, decision: isDecision, completion: !isDecision}
	if isDecision {
		// No outcome yet.
		e.ev.Status, e.ev.BytesIn, e.ev.BytesOut, e.ev.DurationMS = 0, 0, 0, 0
		e.ev.Rows, e.ev.RowsTruncated = 0, false
	}
	m.byID[r.RequestID] = e
	// Insert in time order; records arrive nearly sorted.
	i := len(m.pending)
	for i > 0 && m.pending[i-1].ev.Time.After(e.ev.Time) {
		i--
	}
	m.pending = slices.Insert(m.pending, i, e)
}

// drain releases the events that are ready: complete and older than the
// reorder slack, or pushed out by the window, or all when final.
func (m *merger) drain(final bool, emit func(*Event) error) error {
	cutoff := m.watermark.Add(-reorderSlack)
	n := 0
	for n < len(m.pending) {
		e := m.pending[n]
		ready := final || len(m.pending)-n > m.max ||
			(e.completion && !e.ev.Time.After(cutoff))
		if !ready {
			break
		}
		n++
		delete(m.byID, e.ev.RequestID)
		m.remember(e.ev.RequestID)
		e.ev.Incomplete = !e.completion
		if err := emit(&e.ev); err != nil {
			m.pending = m.pending[n:]
			return err
		}
	}
	if n > 0 {
		clear(m.pending[:n])
		m.pending = m.pending[n:]
	}
	return nil
}

func (m *merger) remember(id string) {
	if len(m.emittedRing) < m.max {
		m.emittedRing = append(m.emittedRing, id)
	} else {
		delete(m.emitted, m.emittedRing[m.ringNext])
		m.emittedRing[m.ringNext] = id
		m.ringNext = (m.ringNext + 1) % m.max
	}
	m.emitted[id] = struct{}{}
}

// fileRecords reads the records of one stream of lines.
type fileRecords struct {
	lr      *lineReader
	pending []wireRecord
	bad     int
}

func (f *fileRecords) next() (wireRecord, error) {
	for {
		if len(f.pending) > 0 {
			r := f.pending[0]
			f.pending = f.pending[1:]
			return r, nil
		}
		line, err := f.lr.next()
		if err != nil {
			return wireRecord{}, err
		}
		if parseLine(line, func(r wireRecord) { f.pending = append(f.pending, r) }) {
			f.bad++
		}
	}
}

// dirSource reads a local log directory: rotated .jsonl.gz files and the
// current .jsonl, oldest first.
type dirSource struct {
	dir     string
	files   []string
	maxLine int
	cur     io.Closer
	recs    *fileRecords
	bad     int
}

func newDirSource(dir, kind string, f *Filter, maxLine int) (*dirSource, error) {
	names, err := segmentFiles(dir, kind)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	// One entry per segment: the .gz when compression finished, else the
	// .jsonl (current, or rotated and not yet compressed).
	type seg struct {
		start time.Time
		name  string
	}
	var segs []seg
	for _, n := range names {
		if strings.HasSuffix(n, tmpExt) {
			continue
		}
		start, _ := segmentStart(n, kind)
		if len(segs) > 0 && segs[len(segs)-1].start.Equal(start) {
			if strings.HasSuffix(n, gzExt) {
				segs[len(segs)-1].name = n
			}
			continue
		}
		segs = append(segs, seg{start, n})
	}
	s := &dirSource{dir: dir, maxLine: maxLine}
	for i, sg := range segs {
		// A file holds what was written from its start until the next
		// file's start, and an event's time precedes its records.
		if !f.Since.IsZero() && i+1 < len(segs) && segs[i+1].start.Before(f.Since) {
			continue
		}
		if !f.Until.IsZero() && sg.start.After(f.Until.Add(completionSlack)) {
			continue
		}
		s.files = append(s.files, sg.name)
	}
	return s, nil
}

func (s *dirSource) next(context.Context) (wireRecord, error) {
	for {
		if s.recs == nil {
			if len(s.files) == 0 {
				return wireRecord{}, io.EOF
			}
			name := s.files[0]
			s.files = s.files[1:]
			if err := s.open(name); err != nil {
				return wireRecord{}, err
			}
			continue
		}
		r, err := s.recs.next()
		if err == nil {
			return r, nil
		}
		s.closeFile()
		if !errors.Is(err, io.EOF) && !isCorruptGzip(err) {
			return wireRecord{}, err
		}
	}
}

func (s *dirSource) open(name string) error {
	path := filepath.Join(s.dir, name)
	f, err := os.Open(path) // #nosec G304 -- a file of the log directory
	if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(name, jsonlExt) {
		// Compressed and removed since the listing.
		path = strings.TrimSuffix(path, jsonlExt) + gzExt
		name += ".gz"
		f, err = os.Open(path) // #nosec G304 -- a file of the log directory
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	var r io.Reader = f
	if strings.HasSuffix(name, gzExt) {
		zr, err := gzip.NewReader(f)
		if err != nil {
			_ = f.Close()
			s.bad++
			return nil // s.recs stays nil: the next file
		}
		r = zr
	}
	s.cur = f
	s.recs = &fileRecords{lr: newLineReader(r, s.maxLine)}
	return nil
}

func (s *dirSource) closeFile() {
	if s.recs != nil {
		s.bad += s.recs.bad + s.recs.lr.skipped
		s.recs = nil
	}
	if s.cur != nil {
		_ = s.cur.Close()
		s.cur = nil
	}
}

func (s *dirSource) skipped() int { return s.bad }
func (s *dirSource) close()       { s.closeFile() }

// isCorruptGzip reports a damaged compressed file, which is skipped from
// the damage on rather than failing the query.
func isCorruptGzip(err error) bool {
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)
}

// sources lists the batches of kind in the time range of f and returns one
// source per node, each reading its batches in sequence.
func (s *S3Source) sources(ctx context.Context, kind string, f *Filter, maxLine int) ([]recordSource, error) {
	kp := kindPrefix(s.Prefix, kind)
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(kp)}
	// Only the hour prefixes inside the range are listed: the listing
	// starts at the first hour and stops after the last. A batch holds
	// records written in its hour, and a record is written after its
	// event's time.
	if !f.Since.IsZero() {
		in.StartAfter = aws.String(strings.TrimSuffix(hourPrefix(s.Prefix, kind, f.Since), "/"))
	}
	stopAfter := ""
	if !f.Until.IsZero() {
		stopAfter = hourPrefix(s.Prefix, kind, f.Until.Add(completionSlack)) + "\xff"
	}
	byNode := map[string][]s3Object{}
	p := s3.NewListObjectsV2Paginator(s.client, in)
listing:
	for p.HasMorePages() {
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		page, err := p.NextPage(lctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("audit: list s3://%s/%s: %w", s.Bucket, kp, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if stopAfter != "" && key > stopAfter {
				break listing
			}
			node, seq, ok := parseObjectKey(kp, key)
			if !ok {
				continue
			}
			byNode[node] = append(byNode[node], s3Object{key: key, seq: seq})
		}
	}
	var out []recordSource
	for _, node := range slices.Sorted(maps.Keys(byNode)) {
		objs := byNode[node]
		slices.SortFunc(objs, func(a, b s3Object) int { return cmp.Compare(a.seq, b.seq) })
		out = append(out, &s3NodeSource{src: s, objects: objs, maxLine: maxLine})
	}
	return out, nil
}

type s3Object struct {
	key string
	seq int64
}

// s3NodeSource reads one node's batches in order, one object at a time.
type s3NodeSource struct {
	src     *S3Source
	objects []s3Object
	maxLine int
	body    io.ReadCloser
	cancel  context.CancelFunc
	recs    *fileRecords
	bad     int
}

func (s *s3NodeSource) next(ctx context.Context) (wireRecord, error) {
	for {
		if s.recs == nil {
			if len(s.objects) == 0 {
				return wireRecord{}, io.EOF
			}
			o := s.objects[0]
			s.objects = s.objects[1:]
			if err := s.open(ctx, o.key); err != nil {
				return wireRecord{}, err
			}
			continue
		}
		r, err := s.recs.next()
		if err == nil {
			return r, nil
		}
		s.closeObject()
		if !errors.Is(err, io.EOF) && !isCorruptGzip(err) {
			return wireRecord{}, err
		}
	}
}

func (s *s3NodeSource) open(ctx context.Context, key string) error {
	gctx, cancel := context.WithTimeout(ctx, getTimeout)
	out, err := s.src.client.GetObject(gctx, &s3.GetObjectInput{Bucket: aws.String(s.src.Bucket), Key: aws.String(key)})
	if err != nil {
		cancel()
		return fmt.Errorf("audit: get s3://%s/%s: %w", s.src.Bucket, key, err)
	}
	zr, err := gzip.NewReader(out.Body)
	if err != nil {
		_ = out.Body.Close()
		cancel()
		s.bad++
		return nil
	}
	s.body, s.cancel = out.Body, cancel
	s.recs = &fileRecords{lr: newLineReader(zr, s.maxLine)}
	return nil
}

func (s *s3NodeSource) closeObject() {
	if s.recs != nil {
		s.bad += s.recs.bad + s.recs.lr.skipped
		s.recs = nil
	}
	if s.body != nil {
		_ = s.body.Close()
		s.body = nil
	}
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
}

func (s *s3NodeSource) skipped() int { return s.bad }
func (s *s3NodeSource) close()       { s.closeObject() }
