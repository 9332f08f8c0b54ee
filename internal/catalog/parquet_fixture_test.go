package catalog

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakegate/lakegate/internal/lakefixture"
)

// Regenerate testdata/arrow.parquet with
//
//	go test ./internal/catalog -run TestArrowFixture -update
//
// (testdata/duckdb.parquet comes from testdata/duckdbgen, a module of its
// own: see its doc comment.)
var update = flag.Bool("update", false, "rewrite testdata/arrow.parquet")

// arrowFixtureSchema covers what arrow-go writes: integers of each width,
// signed and unsigned, half, single and double floats, strings, binaries,
// decimals, dates, timestamps, lists, structs and maps, with mixed-case
// names (Hive lower-cases them).
var arrowFixtureSchema = arrow.NewSchema([]arrow.Field{
	{Name: "I8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
	{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
	{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	{Name: "f16", Type: arrow.FixedWidthTypes.Float16, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "Name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "big_name", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	{Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "fixed", Type: &arrow.FixedSizeBinaryType{ByteWidth: 4}, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "wide", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts_ms_utc", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "ts_us", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
	{Name: "ints", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	{Name: "Address", Type: arrow.StructOf(
		arrow.Field{Name: "Street", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "zip", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	), Nullable: true},
	{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "points", Type: arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		arrow.Field{Name: "y", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	)), Nullable: true},
	{Name: "nested", Type: arrow.ListOf(arrow.MapOf(arrow.BinaryTypes.String, arrow.ListOf(arrow.PrimitiveTypes.Int16))), Nullable: true},
}, nil)

const arrowFixtureRows = `[
{"I8": 1, "i16": 2, "i32": 3, "i64": 4, "u8": 5, "u16": 6, "u32": 7, "u64": 18446744073709551615,
 "f16": 1.5, "f32": 2.5, "f64": 3.25, "flag": true, "Name": "alice", "big_name": "ALICE",
 "raw": "AQID", "fixed": "AAECAw==", "price": "12.34", "wide": "1.0000000001", "day": "2024-01-02",
 "ts_ms_utc": "2024-01-02T03:04:05.678Z", "ts_us": "2024-01-02T03:04:05.678901", "ts_ns": "2024-01-02T03:04:05.678901234",
 "ints": [1, 2, 3], "Address": {"Street": "main", "zip": 12345, "tags": ["a", "b"]},
 "attrs": [{"key": "k", "value": 10}], "points": [{"x": 1, "y": 2}], "nested": [[{"key": "m", "value": [1, 2]}]]},
{"i32": 0}
]`

// writeArrowFixture writes the rows above with arrow-go's Parquet writer.
func writeArrowFixture(t *testing.T) []byte {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, arrowFixtureSchema, strings.NewReader(arrowFixtureRows))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	return lakefixture.Parquet(t, rec, "lakegate catalog test fixture (arrow-go)")
}

// TestArrowFixture: the committed fixture is what writeArrowFixture
// writes today (rewrite it with -update), so the fixture's origin stays
// reproducible.
func TestArrowFixture(t *testing.T) {
	data := writeArrowFixture(t)
	path := filepath.Join("testdata", "arrow.parquet")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParquetSchema(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParquetSchema(bytes.NewReader(committed), int64(len(committed)))
	if err != nil {
		t.Fatal(err)
	}
	if describe(got) != describe(want) {
		t.Errorf("the fixture's schema differs from what the generator writes now (run with -update):\n got %s\nwant %s", describe(got), describe(want))
	}
}

func describe(cols []Column) string {
	var b strings.Builder
	for _, c := range cols {
		b.WriteString(c.Name + " " + c.Type + "\n")
	}
	return b.String()
}
