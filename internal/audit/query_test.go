package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// rec builds a record of kind for request id at t0+sec seconds.
func rec(kind, id string, sec float64, mutate ...func(*Event)) wireRecord {
	e := sampleEvent(1)
	e.RequestID = id
	e.Time = t0.Add(time.Duration(sec * float64(time.Second)))
	if kind == recordCompletion {
		e.Status, e.BytesOut, e.DurationMS = 200, 42, 10
	}
	for _, m := range mutate {
		m(e)
	}
	return wireRecord{Record: kind, Event: *e}
}

// sliceSource replays records.
type sliceSource struct{ recs []wireRecord }

func (s *sliceSource) next(context.Context) (wireRecord, error) {
	if len(s.recs) == 0 {
		return wireRecord{}, io.EOF
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r, nil
}
func (s *sliceSource) skipped() int { return 0 }
func (s *sliceSource) close()       {}

// merged runs the merge over sources with window maxPending.
func merged(t *testing.T, maxPending int, sources ...[]wireRecord) []Event {
	t.Helper()
	var srcs []recordSource
	for _, s := range sources {
		srcs = append(srcs, &sliceSource{recs: s})
	}
	m := newMerger(maxPending)
	var out []Event
	emit := func(e *Event) error { out = append(out, *e); return nil }
	if err := mergeSources(context.Background(), srcs, func(r wireRecord, pos time.Time) error {
		m.add(r, pos)
		return m.drain(false, emit)
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.drain(true, emit); err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(events []Event) string {
	var s []string
	for _, e := range events {
		id := e.RequestID
		if e.Incomplete {
			id += "?"
		}
		s = append(s, id)
	}
	return strings.Join(s, " ")
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name       string
		maxPending int
		sources    [][]wireRecord
		want       string // ids in order; "?" marks incomplete
	}{
		{
			name: "decision then completion make one event",
			sources: [][]wireRecord{{
				rec(recordDecision, "a", 0), rec(recordDecision, "b", 1),
				rec(recordCompletion, "b", 1), rec(recordCompletion, "a", 0),
			}},
			want: "a b",
		},
		{
			name:    "decision without completion is incomplete",
			sources: [][]wireRecord{{rec(recordDecision, "a", 0), rec(recordDecision, "b", 1), rec(recordCompletion, "b", 1)}},
			want:    "a? b",
		},
		{
			name:    "completion alone is a whole event",
			sources: [][]wireRecord{{rec(recordCompletion, "rest", 0)}},
			want:    "rest",
		},
		{
			name: "records written out of time order are sorted",
			sources: [][]wireRecord{{
				rec(recordDecision, "late", 2), rec(recordDecision, "early", 1),
				rec(recordCompletion, "early", 1), rec(recordCompletion, "late", 2),
			}},
			want: "early late",
		},
		{
			name: "the same records in two sources read once",
			sources: [][]wireRecord{
				{rec(recordDecision, "a", 0), rec(recordCompletion, "a", 0), rec(recordDecision, "b", 30), rec(recordCompletion, "b", 30)},
				{rec(recordDecision, "a", 0), rec(recordCompletion, "a", 0), rec(recordDecision, "b", 30), rec(recordCompletion, "b", 30)},
			},
			want: "a b",
		},
		{
			name: "two nodes interleave by time",
			sources: [][]wireRecord{
				{rec(recordDecision, "n1-a", 0), rec(recordCompletion, "n1-a", 0), rec(recordDecision, "n1-b", 20), rec(recordCompletion, "n1-b", 20)},
				{rec(recordDecision, "n2-a", 10), rec(recordCompletion, "n2-a", 10), rec(recordDecision, "n2-b", 30), rec(recordCompletion, "n2-b", 30)},
			},
			want: "n1-a n2-a n1-b n2-b",
		},
		{
			name:       "a request outlasting the window reads back incomplete, once",
			maxPending: 2,
			sources: [][]wireRecord{{
				rec(recordDecision, "long", 0),
				rec(recordDecision, "x", 1), rec(recordCompletion, "x", 1),
				rec(recordDecision, "y", 2), rec(recordCompletion, "y", 2),
				rec(recordDecision, "z", 3), rec(recordCompletion, "z", 3),
				rec(recordCompletion, "long", 0, func(e *Event) { e.DurationMS = 3600e3 }),
			}},
			want: "long? x y z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := merged(t, max(tt.maxPending, 1000), tt.sources...)
			if tt.maxPending > 0 {
				got = merged(t, tt.maxPending, tt.sources...)
			}
			if ids(got) != tt.want {
				t.Errorf("got %q, want %q", ids(got), tt.want)
			}
		})
	}
}

func TestMergeKeepsDecisionFieldsAndCompletionOutcome(t *testing.T) {
	got := merged(t, 100, []wireRecord{
		rec(recordCompletion, "a", 0, func(e *Event) { e.Reason = "changed later" }),
		rec(recordDecision, "a", 0, func(e *Event) { e.Reason = "the grant" }),
	})
	if len(got) != 1 || got[0].Reason != "the grant" || got[0].Status != 200 || got[0].BytesOut != 42 || got[0].Incomplete {
		t.Errorf("merged %+v", got)
	}
	// A scan's rows come with its completion, whichever record is read
	// first; its tables and policy with the decision.
	scan := func(e *Event) { e.Source, e.Tables, e.Policy = SourceScan, []string{"d.t"}, "d.t: full" }
	done := func(e *Event) { scan(e); e.Rows, e.RowsTruncated = 7, true }
	for name, recs := range map[string][]wireRecord{
		"decision first":   {rec(recordDecision, "s", 0, scan), rec(recordCompletion, "s", 0, done)},
		"completion first": {rec(recordCompletion, "s", 0, done), rec(recordDecision, "s", 0, scan)},
	} {
		got := merged(t, 100, recs)
		if len(got) != 1 || got[0].Rows != 7 || !got[0].RowsTruncated || got[0].Policy != "d.t: full" || len(got[0].Tables) != 1 {
			t.Errorf("%s: merged %+v", name, got)
		}
	}
}

func TestFilter(t *testing.T) {
	e := sampleEvent(3) // user3, deny, GetObject, s3://lake/data/part-3.parquet
	e.Time = t0
	e.Table, e.SourceTable = "shop.sales", "shop.returns"
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"empty", Filter{}, true},
		{"user", Filter{User: "user3"}, true},
		{"other user", Filter{User: "user1"}, false},
		{"user is exact", Filter{User: "user"}, false},
		{"decision", Filter{Decision: DecisionDeny}, true},
		{"other decision", Filter{Decision: DecisionAllow}, false},
		{"operation any case", Filter{Operation: "getobject"}, true},
		{"other operation", Filter{Operation: "PutObject"}, false},
		{"uri prefix", Filter{URIPrefix: "s3://lake/data/"}, true},
		{"s3a uri prefix", Filter{URIPrefix: "s3a://lake/data/part-3"}, true},
		{"other uri prefix", Filter{URIPrefix: "s3://lake/secret"}, false},
		{"table any case", Filter{Table: "Shop.Sales"}, true},
		{"copy source table", Filter{Table: "shop.returns"}, true},
		{"other table", Filter{Table: "shop.sale"}, false},
		{"since inclusive", Filter{Since: t0}, true},
		{"since after", Filter{Since: t0.Add(time.Nanosecond)}, false},
		{"until exclusive", Filter{Until: t0}, false},
		{"until after", Filter{Until: t0.Add(time.Second)}, true},
		{"all at once", Filter{User: "user3", Decision: DecisionDeny, Operation: "GetObject", URIPrefix: "s3://lake/", Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Match(e); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
	for name, f := range map[string]Filter{
		"bad decision":   {Decision: "yes"},
		"until <= since": {Since: t0, Until: t0},
		"negative limit": {Limit: -1},
		"bad uri":        {URIPrefix: "lake/data"},
	} {
		if f.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, f)
		}
	}
}

// writeLog records events i in [0,n) at base+i seconds through a broker
// and returns base, a little before now: events are written when they
// happen, which the query relies on to skip files and objects.
func writeLog(t *testing.T, dir string, n int) time.Time {
	t.Helper()
	base := time.Now().Add(-time.Duration(n) * time.Second).Truncate(time.Second)
	b := newTestBroker(t, Options{Sinks: Sinks{Dir: dir}})
	for i := range n {
		ev := sampleEvent(i)
		ev.Time = base.Add(time.Duration(i) * time.Second)
		ev.Operation = []string{"GetObject", "PutObject", "ListObjectsV2"}[i%3]
		if err := b.Decide(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		ev.Status = 200
		b.Complete(ev)
	}
	closeBroker(t, b)
	return base
}

func TestQueryFiltersAndLimit(t *testing.T) {
	dir := t.TempDir()
	base := writeLog(t, dir, 60)
	q := &Query{Dirs: []string{dir}}
	count := func(f Filter) int {
		events, _ := queryAll(t, q, f)
		for _, e := range events {
			if !f.Match(&e) {
				t.Errorf("%+v returned %s", f, e.RequestID)
			}
		}
		return len(events)
	}
	for name, tc := range map[string]struct {
		f    Filter
		want int
	}{
		"all":        {Filter{}, 60},
		"user":       {Filter{User: "user2"}, 12},
		"deny":       {Filter{Decision: DecisionDeny}, 20},
		"operation":  {Filter{Operation: "PutObject"}, 20},
		"uri prefix": {Filter{URIPrefix: "s3://lake/data/part-1"}, 11}, // 1, 10..19
		"range":      {Filter{Since: base.Add(10 * time.Second), Until: base.Add(20 * time.Second)}, 10},
		"limit":      {Filter{Limit: 7}, 7},
		"combined":   {Filter{Decision: DecisionDeny, Operation: "GetObject"}, 20},
	} {
		if got := count(tc.f); got != tc.want {
			t.Errorf("%s: %d events, want %d", name, got, tc.want)
		}
	}
	stop := errors.New("stop")
	if _, err := q.Run(context.Background(), Filter{}, func(*Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error: %v", err)
	}
}

func TestQueryHandler(t *testing.T) {
	dir := t.TempDir()
	base := writeLog(t, dir, 30)
	srv := httptest.NewServer(QueryHandler(&Query{Dirs: []string{dir}}))
	defer srv.Close()
	get := func(params string) (int, map[string]json.RawMessage) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/audit?" + params)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", params, err)
		}
		return resp.StatusCode, body
	}
	status, body := get("decision=deny&since=" + url.QueryEscape(base.Format(time.RFC3339)) + "&limit=4")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body["error"])
	}
	var events []Event
	json.Unmarshal(body["events"], &events)
	if len(events) != 4 || string(body["count"]) != "4" || string(body["truncated"]) != "true" {
		t.Errorf("got %d events, count %s, truncated %s", len(events), body["count"], body["truncated"])
	}
	for _, e := range events {
		if e.Decision != DecisionDeny || e.Status != 200 {
			t.Errorf("event %+v", e)
		}
	}
	_, body = get("user=user1&operation=getobject")
	json.Unmarshal(body["events"], &events)
	if string(body["truncated"]) != "false" || len(events) != 2 { // 1 ... 25: i%5==1 and i%3==0 → 6, 21
		t.Errorf("user1 GetObject: %d events, truncated %s", len(events), body["truncated"])
	}
	_, body = get("user=nobody")
	if string(body["events"]) != "[]" || string(body["count"]) != "0" {
		t.Errorf("no match: %s", body["events"])
	}
	for _, bad := range []string{"decision=maybe", "usr=x", "limit=0", "limit=100000", "since=yesterday", "user=a&user=b"} {
		if status, _ := get(bad); status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, status)
		}
	}
	resp, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2025-05-01T10:00:00Z":      time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC),
		"2025-05-01T10:00:00+02:00": time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC),
		"2025-05-01T10:00":          time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC),
		"2025-05-01":                time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"now":                       now,
	} {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5m", "2025-13-01"} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

func TestReaderRecoversGluedRecord(t *testing.T) {
	dir := t.TempDir()
	good1, _ := encodeRecord(sampleEvent(1), recordDecision, "n", DefaultMaxRecordBytes)
	good2, _ := encodeRecord(sampleEvent(2), recordDecision, "n", DefaultMaxRecordBytes)
	torn := good1[:len(good1)/3]
	var data []byte
	data = append(data, good1...)
	data = append(data, torn...) // a crash, then an append without recovery
	data = append(data, good2...)
	data = append(data, "garbage line\n"...)
	data = append(data, bytes.Repeat([]byte{0}, 100)...) // power loss: zeros, no newline
	name := segmentName("audit", t0)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	events, sum := queryAll(t, &Query{Dirs: []string{dir}}, Filter{})
	got := []string{}
	for _, e := range events {
		got = append(got, e.RequestID)
	}
	if !slices.Equal(got, []string{"req-000001", "req-000002"}) || sum.Skipped != 3 {
		t.Errorf("events %v, skipped %d (want both records, 3 skipped)", got, sum.Skipped)
	}
}

// FuzzReader feeds arbitrary bytes to the log reader: it must never fail
// or panic, and every record it returns must be well formed.
func FuzzReader(f *testing.F) {
	good, _ := encodeRecord(sampleEvent(1), recordDecision, "n", DefaultMaxRecordBytes)
	comp, _ := encodeRecord(sampleEvent(1), recordCompletion, "n", DefaultMaxRecordBytes)
	f.Add(good)
	f.Add(append(bytes.Clone(good), comp...))
	f.Add(good[:len(good)-5])
	f.Add(append(good[:20:20], good...))
	f.Add([]byte("{\"record\":\"decision\"}\n{\"record\":\"\n\n\n"))
	f.Add([]byte(`{"record":"completion","request_id":"x","time":"2025-01-01T00:00:00Z","duration_ms":1e308}` + "\n"))
	f.Add([]byte{0, 0, 0, '\n', 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := newLineReader(bytes.NewReader(data), 4096)
		fr := &fileRecords{lr: lr}
		m := newMerger(8)
		for {
			r, err := fr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("next: %v", err)
			}
			if r.RequestID == "" || (r.Record != recordDecision && r.Record != recordCompletion) {
				t.Fatalf("malformed record returned: %+v", r)
			}
			m.add(r, position(&r))
			if err := m.drain(false, func(*Event) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.drain(true, func(e *Event) error {
			if _, err := json.Marshal(e); err != nil {
				return fmt.Errorf("event does not encode: %w", err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}
