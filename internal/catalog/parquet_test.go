package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFixtureSchemas asserts the exact Hive schema of a file written by
// arrow-go and of one written by DuckDB.
func TestFixtureSchemas(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string
	}{
		{file: "arrow.parquet", want: `i8 tinyint
i16 smallint
i32 int
i64 bigint
u8 smallint
u16 int
u32 bigint
u64 decimal(20,0)
f16 float
f32 float
f64 double
flag boolean
name string
big_name string
raw binary
fixed binary
price decimal(10,2)
wide decimal(38,10)
day date
ts_ms_utc timestamp
ts_us timestamp
ts_ns timestamp
ints array<int>
address struct<street:string,zip:int,tags:array<string>>
attrs map<string,bigint>
points array<struct<x:double,y:double>>
nested array<map<string,array<smallint>>>
`},
		{file: "duckdb.parquet", want: `tiny_col tinyint
small_col smallint
int_col int
big_col bigint
utiny_col smallint
uint_col bigint
ubig_col decimal(20,0)
price decimal(10,2)
wide_dec decimal(38,10)
name string
day date
ts timestamp
flag boolean
ratio double
ratio32 float
raw binary
ints array<bigint>
tags array<string>
address struct<street:string,zip:bigint>
attrs map<string,bigint>
points array<struct<x:bigint,y:array<decimal(2,1)>>>
`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readFixture(t, tc.file)
			cols, err := ParquetSchema(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(cols); got != tc.want {
				t.Errorf("schema\n%s\nwant\n%s", got, tc.want)
			}
			for _, c := range cols {
				if c.Comment != "" {
					t.Errorf("column %s has comment %q", c.Name, c.Comment)
				}
			}
		})
	}
}

// TestNotParquet: objects that are not (whole) Parquet files give a clear
// error wrapping ErrNotParquet, never a panic.
func TestNotParquet(t *testing.T) {
	good := readFixture(t, "duckdb.parquet")
	footerLen := binary.LittleEndian.Uint32(good[len(good)-8:])
	lying := bytes.Clone(good)
	binary.LittleEndian.PutUint32(lying[len(lying)-8:], uint32(len(good)))
	huge := append([]byte("PAR1"), make([]byte, 8)...)
	huge = append(huge, 0, 0, 0, 0x10, 'P', 'A', 'R', '1') // footer of 256 MiB
	garbled := bytes.Clone(good)
	for i := len(good) - 8 - int(footerLen); i < len(good)-8; i++ {
		garbled[i] ^= 0x5a
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{name: "csv", data: []byte("id,name\n1,alice\n2,bob\n"), want: "not a Parquet file: no PAR1 magic"},
		{name: "empty", data: nil, want: "not a Parquet file: 0 bytes is too short"},
		{name: "magic only", data: []byte("PAR1PAR1"), want: "not a Parquet file: 8 bytes is too short"},
		{name: "truncated", data: good[:len(good)/2], want: "not a Parquet file: no PAR1 magic"},
		{name: "footer cut", data: append(bytes.Clone(good[:4]), good[len(good)-int(footerLen)/2-8:]...), want: "not a Parquet file: footer"},
		{name: "footer length past the start", data: lying, want: "does not fit"},
		{name: "footer too large", data: huge, want: "does not fit"},
		{name: "garbled footer", data: garbled, want: "not a Parquet file: "},
		{name: "encrypted", data: append(bytes.Clone(good[:len(good)-4]), "PARE"...), want: "encrypted Parquet files are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cols, err := ParquetSchema(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, ErrNotParquet) || !strings.Contains(err.Error(), tc.want) || cols != nil {
				t.Errorf("%v, %v; want an ErrNotParquet containing %q", cols, err, tc.want)
			}
		})
	}
	// A footer larger than MaxParquetFooter in a file large enough to hold
	// it is refused before anything is allocated for it.
	big := sizedReader{size: MaxParquetFooter + 1<<20, tail: append(binary.LittleEndian.AppendUint32(nil, MaxParquetFooter+1), "PAR1"...)}
	if _, err := ParquetSchema(big, big.size); !errors.Is(err, ErrNotParquet) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized footer: %v", err)
	}
}

// sizedReader is a large file of zeros but for PAR1 at its start and tail
// at its end, without the memory.
type sizedReader struct {
	size int64
	tail []byte
}

func (r sizedReader) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		pos := off + int64(i)
		switch {
		case pos < 4:
			p[i] = "PAR1"[pos]
		case pos >= r.size-int64(len(r.tail)):
			p[i] = r.tail[pos-(r.size-int64(len(r.tail)))]
		default:
			p[i] = 0
		}
	}
	return len(p), nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// writeSchema writes an empty Parquet file with the given root fields.
func writeSchema(t testing.TB, fields ...schema.Node) []byte {
	t.Helper()
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, fields, -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := file.NewParquetWriter(&buf, root)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTypeMapping covers the mappings the fixtures' writers do not make:
// legacy converted types, INT96, the format's older list forms, and the
// types without a Hive counterpart.
func TestTypeMapping(t *testing.T) {
	req, opt, rep := parquet.Repetitions.Required, parquet.Repetitions.Optional, parquet.Repetitions.Repeated
	prim := func(name string, r parquet.Repetition, lt schema.LogicalType, pt parquet.Type, n int) schema.Node {
		return must(schema.NewPrimitiveNodeLogical(name, r, lt, pt, n, -1))
	}
	conv := func(name string, ct schema.ConvertedType, pt parquet.Type, n, p, s int) schema.Node {
		return must(schema.NewPrimitiveNodeConverted(name, opt, pt, ct, n, p, s, -1))
	}
	group := func(name string, r parquet.Repetition, lt schema.LogicalType, fields ...schema.Node) schema.Node {
		if lt == nil {
			return must(schema.NewGroupNode(name, r, fields, -1))
		}
		return must(schema.NewGroupNodeLogical(name, r, fields, lt, -1))
	}
	none := schema.NoLogicalType{}
	for _, tc := range []struct {
		name  string
		field schema.Node
		want  string // the type, or the error's text
		fails bool
	}{
		{name: "int96", field: schema.NewInt96Node("t", opt, -1), want: "timestamp"},
		{name: "plain binary", field: schema.NewByteArrayNode("b", opt, -1), want: "binary"},
		{name: "utf8 converted", field: conv("s", schema.ConvertedTypes.UTF8, parquet.Types.ByteArray, 0, 0, 0), want: "string"},
		{name: "enum", field: conv("e", schema.ConvertedTypes.Enum, parquet.Types.ByteArray, 0, 0, 0), want: "string"},
		{name: "json", field: prim("j", opt, schema.JSONLogicalType{}, parquet.Types.ByteArray, 0), want: "string"},
		{name: "bson", field: prim("j", opt, schema.BSONLogicalType{}, parquet.Types.ByteArray, 0), want: "binary"},
		{name: "uuid", field: prim("u", opt, schema.UUIDLogicalType{}, parquet.Types.FixedLenByteArray, 16), want: "string"},
		{name: "interval", field: conv("i", schema.ConvertedTypes.Interval, parquet.Types.FixedLenByteArray, 12, 0, 0), want: "string"},
		{name: "decimal int32", field: conv("d", schema.ConvertedTypes.Decimal, parquet.Types.Int32, 0, 9, 3), want: "decimal(9,3)"},
		{name: "decimal fixed", field: conv("d", schema.ConvertedTypes.Decimal, parquet.Types.FixedLenByteArray, 16, 38, 0), want: "decimal(38,0)"},
		{name: "uint8 converted", field: conv("u", schema.ConvertedTypes.Uint8, parquet.Types.Int32, 0, 0, 0), want: "smallint"},
		{name: "uint64", field: prim("u", opt, schema.NewIntLogicalType(64, false), parquet.Types.Int64, 0), want: "decimal(20,0)"},
		{name: "timestamp millis converted", field: conv("t", schema.ConvertedTypes.TimestampMillis, parquet.Types.Int64, 0, 0, 0), want: "timestamp"},
		{name: "date converted", field: conv("d", schema.ConvertedTypes.Date, parquet.Types.Int32, 0, 0, 0), want: "date"},
		{name: "null", field: prim("n", opt, schema.NullLogicalType{}, parquet.Types.Int32, 0), want: "int"},
		{name: "repeated primitive", field: schema.NewInt64Node("r", rep, -1), want: "array<bigint>"},
		{name: "repeated group", field: group("r", rep, nil, schema.NewInt32Node("A", req, -1)), want: "array<struct<a:int>>"},
		{name: "list of repeated primitive", field: group("l", opt, schema.NewListLogicalType(), schema.NewInt32Node("element", rep, -1)), want: "array<int>"},
		{name: "list of array group", field: group("l", opt, schema.NewListLogicalType(),
			group("array", rep, nil, schema.NewInt32Node("x", req, -1))), want: "array<struct<x:int>>"},
		{name: "list of tuple group", field: group("l", opt, schema.NewListLogicalType(),
			group("l_tuple", rep, nil, schema.NewInt32Node("x", req, -1))), want: "array<struct<x:int>>"},
		{name: "list of two-field group", field: group("l", opt, schema.NewListLogicalType(),
			group("bag", rep, nil, schema.NewInt32Node("x", req, -1), schema.NewInt32Node("y", req, -1))), want: "array<struct<x:int,y:int>>"},
		{name: "list of lists", field: group("l", opt, schema.NewListLogicalType(),
			group("list", rep, nil, group("element", opt, schema.NewListLogicalType(),
				group("list", rep, nil, schema.NewFloat32Node("element", opt, -1))))), want: "array<array<float>>"},
		{name: "map converted", field: must(schema.NewGroupNodeConverted("m", opt, schema.FieldList{
			group("key_value", rep, nil, prim("key", req, schema.StringLogicalType{}, parquet.Types.ByteArray, 0), schema.NewBooleanNode("value", opt, -1))},
			schema.ConvertedTypes.Map, -1)), want: "map<string,boolean>"},
		{name: "time", field: prim("t", opt, schema.NewTimeLogicalType(false, schema.TimeUnitMicros), parquet.Types.Int64, 0),
			want: `parquet column "t": Time`, fails: true},
		{name: "nested time", field: group("s", opt, nil, prim("Tm", opt, schema.NewTimeLogicalType(true, schema.TimeUnitMillis), parquet.Types.Int32, 0)),
			want: `parquet column "s.Tm": Time`, fails: true},
		{name: "map with a group key", field: group("m", opt, schema.MapLogicalType{},
			group("key_value", rep, nil, group("key", req, nil, schema.NewInt32Node("k", req, -1)), schema.NewInt32Node("value", opt, -1))),
			want: `parquet column "m.key_value.key": map key is not a primitive`, fails: true},
		{name: "struct name with colon", field: group("s", opt, nil, schema.NewInt32Node("a:b", opt, -1)),
			want: `parquet column "s.a:b": name contains ':'`, fails: true},
		{name: "duplicate struct fields", field: group("s", opt, nil, schema.NewInt32Node("A", opt, -1), schema.NewInt32Node("a", opt, -1)),
			want: `parquet column "s.a": two fields are named "a"`, fails: true},
		{name: "plain int32", field: prim("x", opt, none, parquet.Types.Int32, 0), want: "int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := writeSchema(t, tc.field)
			cols, err := ParquetSchema(bytes.NewReader(data), int64(len(data)))
			switch {
			case tc.fails:
				var ce *ColumnTypeError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v, %v; want a ColumnTypeError containing %q", cols, err, tc.want)
				}
			case err != nil:
				t.Fatal(err)
			case len(cols) != 1 || cols[0].Type != tc.want || cols[0].Name != strings.ToLower(tc.field.Name()):
				t.Errorf("%+v, want one column of type %s", cols, tc.want)
			}
		})
	}
	// Hive's names are case-insensitive: two columns differing in case
	// cannot both be a table's.
	data := writeSchema(t, schema.NewInt32Node("Id", opt, -1), schema.NewInt64Node("ID", opt, -1))
	if _, err := ParquetSchema(bytes.NewReader(data), int64(len(data))); err == nil || !strings.Contains(err.Error(), `two columns are named "id"`) {
		t.Errorf("duplicate columns: %v", err)
	}
}

// FuzzParquetSchema: any object gives columns or an error, never a panic;
// an error about the file wraps ErrNotParquet or is a ColumnTypeError.
func FuzzParquetSchema(f *testing.F) {
	for _, name := range []string{"arrow.parquet", "duckdb.parquet"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("id,name\n1,alice\n"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte("PAR1\x15\x00\x19\xfc\xff\xff\xff\x0f\x00\x00\x00\x00\x00\x00\x00\x0c\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cols, err := ParquetSchema(bytes.NewReader(data), int64(len(data)))
		var ce *ColumnTypeError
		switch {
		case err == nil && len(cols) == 0:
			t.Error("no error and no columns")
		case err != nil && !errors.Is(err, ErrNotParquet) && !errors.As(err, &ce):
			t.Errorf("unexpected error kind: %v", err)
		}
		for _, c := range cols {
			if c.Name == "" || c.Type == "" || c.Name != strings.ToLower(c.Name) {
				t.Errorf("column %+v", c)
			}
		}
	})
}

// parquetFile wraps a footer in the magic and the footer length.
func parquetFile(footer []byte) []byte {
	b := append([]byte("PAR1"), footer...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(footer)))
	return append(b, "PAR1"...)
}

// TestHostileFooters: declared sizes larger than the bytes that hold them,
// too many schema elements and deep nesting are refused before arrow-go
// sees the footer (its Thrift decoder allocates by declared sizes).
func TestHostileFooters(t *testing.T) {
	version := []byte{0x15, 0x02} // field 1, i32, 1
	hugeList := append(bytes.Clone(version), 0x19, 0xfc)
	hugeList = binary.AppendUvarint(hugeList, 100_000_000) // field 2: list of 100M structs
	manyElements := append(bytes.Clone(version), 0x19, 0xfc)
	manyElements = binary.AppendUvarint(manyElements, maxSchemaElements+1)
	manyElements = append(manyElements, make([]byte, maxSchemaElements+1)...) // empty structs
	deep := append(bytes.Clone(version), 0x1c)                                // field 2 as a struct…
	for range maxNesting + 2 {
		deep = append(deep, 0x1c) // …holding a struct, field 1, and so on
	}
	deep = append(deep, make([]byte, maxNesting+4)...) // then closed: well formed but for its depth
	hugeString := append(bytes.Clone(version), 0x68)   // field 7, binary
	hugeString = binary.AppendUvarint(hugeString, 1<<40)
	for _, tc := range []struct {
		name   string
		footer []byte
		want   string
	}{
		{name: "huge list", footer: hugeList, want: "malformed footer"},
		{name: "too many schema elements", footer: manyElements, want: "schema elements, more than"},
		{name: "deep nesting", footer: deep, want: "nested more than 64 levels"},
		{name: "huge string", footer: hugeString, want: "malformed footer"},
		{name: "no schema", footer: append(bytes.Clone(version), 0), want: "malformed footer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := parquetFile(tc.footer)
			if _, err := ParquetSchema(bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrNotParquet) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an ErrNotParquet containing %q", err, tc.want)
			}
		})
	}
}
