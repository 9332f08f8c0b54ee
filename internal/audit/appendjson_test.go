package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func encodingJSON(t testing.TB, r *wireRecord) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var awkward = []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\b\f\n\r\t\x1f end", "<html>&amp;",
	"é ü 日本", "bad \xff\xfe utf8", "line\u2028sep\u2029", "lgt_secret?", "s3://b/k with space"}

func randomRecord(rng *rand.Rand) *wireRecord {
	pick := func() string { return awkward[rng.IntN(len(awkward))] }
	list := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		var out []string
		for range 1 + rng.IntN(3) {
			out = append(out, pick())
		}
		return out
	}
	return &wireRecord{Record: pick(), Event: Event{
		Time:      time.Date(2026, 11, 23, 16, 30, rng.IntN(60), rng.IntN(1e9), time.UTC),
		RequestID: pick(), Source: pick(), Node: pick(), User: pick(), Groups: list(), AuthMethod: pick(),
		ClientIP: pick(), AccessKeyID: pick(), Operation: pick(), URIs: list(), Table: pick(), Partition: pick(),
		SourceTable: pick(), Privilege: pick(),
		Decision: pick(), Reason: pick(), Status: rng.IntN(600), BytesIn: rng.Int64N(1 << 40), BytesOut: rng.Int64N(1 << 40),
		DurationMS: float64(rng.IntN(1e9)) / 1000, Mode: pick(), UserAgent: pick(),
		Truncated: rng.IntN(2) == 0, URIsOmitted: rng.IntN(3), Incomplete: rng.IntN(2) == 0,
		Query: pick(), Tables: list(), Columns: list(), Policy: pick(), Rows: rng.Int64N(3) * rng.Int64N(1<<40),
		RowsTruncated: rng.IntN(2) == 0,
	}}
}

func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		r := randomRecord(rng)
		if got, want := appendRecord(nil, r), encodingJSON(t, r); !bytes.Equal(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
	for _, f := range []float64{0, 0.001, 1.5, 123456.789, 1e20, 1e21, 1e-7} {
		r := &wireRecord{Record: "decision", Event: Event{DurationMS: f}}
		if got, want := appendRecord(nil, r), encodingJSON(t, r); !bytes.Equal(got, want) {
			t.Errorf("duration %v:\n got %s\nwant %s", f, got, want)
		}
	}
}

func FuzzAppendRecord(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, s, 1.25)
	}
	f.Fuzz(func(t *testing.T, a, b string, d float64) {
		r := &wireRecord{Record: a, Event: Event{User: b, Reason: a + b, Groups: []string{a, b}, Table: a, Partition: b,
			DurationMS: d, Time: time.Unix(0, 0).UTC()}}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return // NaN and infinities: encoding/json refuses them, encodeRecord never passes them
		}
		if got := appendRecord(nil, r); !bytes.Equal(got, buf.Bytes()) {
			t.Fatalf("\n got %s\nwant %s", got, buf.Bytes())
		}
	})
}
