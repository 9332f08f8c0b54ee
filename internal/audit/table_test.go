package audit

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRecordTableFields: the table, partition and copy source table of a
// bypass decision are written (scrubbed and bounded like every free-text
// field) and read back; an event without them has no such keys.
func TestRecordTableFields(t *testing.T) {
	ev := sampleEvent(1)
	ev.Table, ev.Partition, ev.SourceTable = "shop.sales", "dt=2026-12-01/region=eu", "shop.returns"
	line, err := encodeRecord(ev, recordDecision, "n1", DefaultMaxRecordBytes)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := decodeRecord(line[:len(line)-1])
	if !ok {
		t.Fatalf("record does not decode: %s", line)
	}
	if r.Table != ev.Table || r.Partition != ev.Partition || r.SourceTable != ev.SourceTable || r.URIs[0] != ev.URIs[0] {
		t.Errorf("read back table %q partition %q source %q uris %v", r.Table, r.Partition, r.SourceTable, r.URIs)
	}

	plain, err := encodeRecord(sampleEvent(1), recordDecision, "n1", DefaultMaxRecordBytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"table"`, `"partition"`, `"source_table"`} {
		if strings.Contains(string(plain), key) {
			t.Errorf("an event without a table has %s: %s", key, plain)
		}
	}

	long := sampleEvent(2)
	long.Table = "db." + strings.Repeat("t", 2*maxStringLen)
	long.Partition = "k=" + strings.Repeat("v", 2*maxStringLen)
	long.SourceTable = "password=hunter2"
	line, err = encodeRecord(long, recordDecision, "n1", DefaultMaxRecordBytes)
	if err != nil {
		t.Fatal(err)
	}
	r, _ = decodeRecord(line[:len(line)-1])
	if len(r.Table) != maxStringLen || len(r.Partition) != maxStringLen || !r.Truncated {
		t.Errorf("long table %d and partition %d bytes, truncated %v; want %d each, truncated", len(r.Table), len(r.Partition), r.Truncated, maxStringLen)
	}
	if strings.Contains(string(line), "hunter2") {
		t.Errorf("a secret in source_table was written: %s", line)
	}
}

func TestFilterFromValuesTable(t *testing.T) {
	f, err := FilterFromValues(url.Values{"table": {"shop.sales"}}, time.Now())
	if err != nil || f.Table != "shop.sales" {
		t.Fatalf("FilterFromValues(table=shop.sales) = %+v, %v", f, err)
	}
	if _, err := FilterFromValues(url.Values{"table": {"a.b", "c.d"}}, time.Now()); err == nil {
		t.Error("table given twice was accepted")
	}
}
