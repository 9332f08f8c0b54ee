// Package catalog holds lakegate's catalog of databases and external
// tables over s3:// locations. This part infers a table's Hive schema
// from a Parquet file's footer (CREATE EXTERNAL TABLE … LIKE PARQUET) and
// discovers Hive-style partition directories (ALTER TABLE … RECOVER
// PARTITIONS); both read the lake through narrow interfaces the caller
// backs with the upstream client.
package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Bounds on what ParquetSchema accepts from a file.
const (
	// MaxParquetFooter is the largest footer read (files with thousands of
	// row groups have footers of a few MiB).
	MaxParquetFooter = 64 << 20
	// maxSchemaElements bounds the schema's nodes (columns and groups).
	maxSchemaElements = 100_000
	// maxTypeDepth bounds nesting (a struct in a list in a map…).
	maxTypeDepth = 32
)

// Column is one column of a table: its lower-case Hive name and its
// canonical lower-case Hive type text (int, decimal(10,2),
// array<struct<a:int>>…).
type Column struct {
	Name, Type, Comment string
}

// ErrNotParquet is wrapped by every ParquetSchema error that means the
// object is not a readable Parquet file.
var ErrNotParquet = errors.New("not a Parquet file")

var errTooLarge = errors.New("too large")

// ColumnTypeError is a Parquet column without a Hive type.
type ColumnTypeError struct {
	Column string // dotted path, as in the file
	Reason string
}

func (e *ColumnTypeError) Error() string {
	return fmt.Sprintf("parquet column %q: %s", e.Column, e.Reason)
}

var magic = []byte("PAR1")

// ParquetSchema reads the schema in the footer of the Parquet file r of
// size bytes and returns its columns as Hive sees them. It reads the first
// and last 8 bytes and the footer, nothing else. Errors: a file that is not
// Parquet, or is truncated or corrupt, wraps ErrNotParquet ("not a Parquet
// file: …"); a column without a Hive type is a *ColumnTypeError; read
// errors are returned wrapped as they are.
func ParquetSchema(r io.ReaderAt, size int64) (cols []Column, err error) {
	if size < 12 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrNotParquet, size)
	}
	var head, tail [8]byte
	if err := readFull(r, head[:4], 0); err != nil {
		return nil, err
	}
	if err := readFull(r, tail[:], size-8); err != nil {
		return nil, err
	}
	switch {
	case bytes.Equal(tail[4:], []byte("PARE")):
		return nil, fmt.Errorf("%w: encrypted Parquet files are not supported", ErrNotParquet)
	case !bytes.Equal(head[:4], magic) || !bytes.Equal(tail[4:], magic):
		return nil, fmt.Errorf("%w: no PAR1 magic", ErrNotParquet)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	switch {
	case n == 0 || n > size-12:
		return nil, fmt.Errorf("%w: footer length %d does not fit in %d bytes (truncated?)", ErrNotParquet, n, size)
	case n > MaxParquetFooter:
		return nil, fmt.Errorf("%w: footer of %d bytes, more than %d", ErrNotParquet, n, MaxParquetFooter)
	}
	footer := make([]byte, n)
	if err := readFull(r, footer, size-8-n); err != nil {
		return nil, err
	}
	trimmed, err := schemaOnly(footer, maxSchemaElements)
	if err != nil {
		return nil, fmt.Errorf("%w: footer: %w", ErrNotParquet, err)
	}
	// arrow-go panics on some invalid schemas (a time unit out of range,
	// an unknown logical type): the file is at fault, not the server.
	defer func() {
		if p := recover(); p != nil {
			cols, err = nil, fmt.Errorf("%w: invalid schema: %v", ErrNotParquet, p)
		}
	}()
	md, err := metadata.NewFileMetaData(trimmed, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: footer: %w", ErrNotParquet, err)
	}
	return hiveColumns(md.Schema.Root())
}

// readFull reads len(p) bytes at off; a short read means the object is
// shorter than its size said.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: truncated (short read at %d)", ErrNotParquet, off)
	}
	return fmt.Errorf("reading the Parquet footer: %w", err)
}

// hiveColumns maps the root's fields to columns.
func hiveColumns(root *schema.GroupNode) ([]Column, error) {
	if root == nil || root.NumFields() == 0 {
		return nil, fmt.Errorf("%w: the schema has no columns", ErrNotParquet)
	}
	cols := make([]Column, 0, root.NumFields())
	seen := make(map[string]bool, root.NumFields())
	for i := range root.NumFields() {
		f := root.Field(i)
		name, err := hiveName(f.Name(), f.Name())
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, &ColumnTypeError{Column: f.Name(), Reason: "two columns are named " + strconv.Quote(name) + " in Hive's case-insensitive names"}
		}
		seen[name] = true
		typ, err := hiveType(f, f.Name(), 0)
		if err != nil {
			return nil, err
		}
		cols = append(cols, Column{Name: name, Type: typ})
	}
	return cols, nil
}

// hiveName lower-cases a column or struct field name and refuses the ones
// that would break Hive's type text or no one could type.
func hiveName(name, path string) (string, error) {
	if name == "" {
		return "", &ColumnTypeError{Column: path, Reason: "empty name"}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(":,<>`", r) {
			return "", &ColumnTypeError{Column: path, Reason: fmt.Sprintf("name contains %q", r)}
		}
	}
	return strings.ToLower(name), nil
}

// hiveType maps node, whose repetition is applied by the caller for
// repeated fields outside LIST annotations (legacy lists), to Hive type
// text.
func hiveType(n schema.Node, path string, depth int) (string, error) {
	if depth > maxTypeDepth {
		return "", &ColumnTypeError{Column: path, Reason: fmt.Sprintf("nested more than %d levels", maxTypeDepth)}
	}
	elem, err := nodeType(n, path, depth)
	if err != nil {
		return "", err
	}
	// A repeated field that is not a LIST's element is a list itself
	// (the format's oldest list form).
	if n.RepetitionType() == parquet.Repetitions.Repeated {
		return "array<" + elem + ">", nil
	}
	return elem, nil
}

func nodeType(n schema.Node, path string, depth int) (string, error) {
	switch n := n.(type) {
	case *schema.PrimitiveNode:
		return primitiveType(n, path)
	case *schema.GroupNode:
		switch lt := n.LogicalType(); {
		case isList(n):
			return listType(n, path, depth)
		case isMap(n):
			return mapType(n, path, depth)
		case lt != nil && !lt.IsNone() && lt.IsValid():
			return "", &ColumnTypeError{Column: path, Reason: "group annotated " + lt.String() + " has no Hive type"}
		}
		return structType(n, path, depth)
	}
	return "", &ColumnTypeError{Column: path, Reason: fmt.Sprintf("unknown node %T", n)}
}

func isList(n *schema.GroupNode) bool {
	_, ok := n.LogicalType().(schema.ListLogicalType)
	return ok || n.ConvertedType() == schema.ConvertedTypes.List
}

func isMap(n *schema.GroupNode) bool {
	_, ok := n.LogicalType().(schema.MapLogicalType)
	return ok || n.ConvertedType() == schema.ConvertedTypes.Map || n.ConvertedType() == schema.ConvertedTypes.MapKeyValue
}

func structType(n *schema.GroupNode, path string, depth int) (string, error) {
	if n.NumFields() == 0 {
		return "", &ColumnTypeError{Column: path, Reason: "empty group (Hive has no empty struct)"}
	}
	var b strings.Builder
	b.WriteString("struct<")
	seen := make(map[string]bool, n.NumFields())
	for i := range n.NumFields() {
		f := n.Field(i)
		fpath := path + "." + f.Name()
		name, err := hiveName(f.Name(), fpath)
		if err != nil {
			return "", err
		}
		if seen[name] {
			return "", &ColumnTypeError{Column: fpath, Reason: "two fields are named " + strconv.Quote(name) + " in Hive's case-insensitive names"}
		}
		seen[name] = true
		t, err := hiveType(f, fpath, depth+1)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name + ":" + t)
	}
	b.WriteByte('>')
	return b.String(), nil
}

// listType applies the format's rules for LIST, including the backward
// compatibility ones: <list> (LIST) { repeated <group|primitive> r }, where
// r is the element when it is a primitive, a group of several fields, or
// a group named "array" or "<list>_tuple"; otherwise r's one field is.
func listType(n *schema.GroupNode, path string, depth int) (string, error) {
	if n.NumFields() != 1 || n.Field(0).RepetitionType() != parquet.Repetitions.Repeated {
		return "", &ColumnTypeError{Column: path, Reason: "LIST group without one repeated field"}
	}
	r := n.Field(0)
	rpath := path + "." + r.Name()
	g, ok := r.(*schema.GroupNode)
	var elem string
	var err error
	switch {
	case !ok:
		elem, err = primitiveType(r.(*schema.PrimitiveNode), rpath)
	case g.NumFields() > 1 || r.Name() == "array" || r.Name() == n.Name()+"_tuple":
		elem, err = nodeType(g, rpath, depth+1)
	case g.NumFields() == 1 && !isList(g) && !isMap(g):
		elem, err = hiveType(g.Field(0), rpath+"."+g.Field(0).Name(), depth+1)
	default:
		elem, err = nodeType(g, rpath, depth+1)
	}
	if err != nil {
		return "", err
	}
	return "array<" + elem + ">", nil
}

// mapType reads <map> (MAP) { repeated group key_value { required K key;
// optional V value } }.
func mapType(n *schema.GroupNode, path string, depth int) (string, error) {
	if n.NumFields() != 1 || n.Field(0).RepetitionType() != parquet.Repetitions.Repeated {
		return "", &ColumnTypeError{Column: path, Reason: "MAP group without one repeated key_value group"}
	}
	kv, ok := n.Field(0).(*schema.GroupNode)
	if !ok || kv.NumFields() != 2 {
		return "", &ColumnTypeError{Column: path, Reason: "MAP key_value group without a key and a value"}
	}
	kpath := path + "." + kv.Name() + "." + kv.Field(0).Name()
	k, ok := kv.Field(0).(*schema.PrimitiveNode)
	if !ok || k.RepetitionType() == parquet.Repetitions.Repeated {
		return "", &ColumnTypeError{Column: kpath, Reason: "map key is not a primitive"}
	}
	kt, err := primitiveType(k, kpath)
	if err != nil {
		return "", err
	}
	vt, err := hiveType(kv.Field(1), path+"."+kv.Name()+"."+kv.Field(1).Name(), depth+1)
	if err != nil {
		return "", err
	}
	return "map<" + kt + "," + vt + ">", nil
}

// primitiveType maps a physical type and its annotation.
func primitiveType(n *schema.PrimitiveNode, path string) (string, error) {
	phys := n.PhysicalType()
	unsupported := func(what string) (string, error) {
		return "", &ColumnTypeError{Column: path, Reason: what + " has no Hive type"}
	}
	switch lt := n.LogicalType().(type) {
	case schema.StringLogicalType, schema.EnumLogicalType, schema.JSONLogicalType, schema.UUIDLogicalType:
		return "string", nil
	case schema.BSONLogicalType:
		return "binary", nil
	case schema.DecimalLogicalType:
		p, s := lt.Precision(), lt.Scale()
		if p < 1 || p > 38 || s < 0 || s > p {
			return unsupported(fmt.Sprintf("DECIMAL(%d,%d)", p, s))
		}
		return fmt.Sprintf("decimal(%d,%d)", p, s), nil
	case schema.DateLogicalType:
		return "date", nil
	case schema.TimestampLogicalType:
		return "timestamp", nil
	case schema.IntLogicalType:
		switch w, signed := lt.BitWidth(), lt.IsSigned(); {
		case signed && w == 8:
			return "tinyint", nil
		case signed && w == 16 || !signed && w == 8:
			return "smallint", nil
		case signed && w == 32 || !signed && w == 16:
			return "int", nil
		case signed && w == 64 || !signed && w == 32:
			return "bigint", nil
		case !signed && w == 64:
			return "decimal(20,0)", nil
		}
		return unsupported(lt.String())
	case schema.Float16LogicalType:
		return "float", nil
	case schema.IntervalLogicalType:
		return "string", nil
	case schema.NullLogicalType, schema.NoLogicalType, nil:
		// No annotation (or all nulls): the physical type alone.
	default:
		// TIME (Hive has no time of day), VARIANT, GEOMETRY, GEOGRAPHY,
		// and annotations newer than this reader.
		return unsupported(lt.String())
	}
	if n.ConvertedType() == schema.ConvertedTypes.Interval {
		return "string", nil
	}
	switch phys {
	case parquet.Types.Boolean:
		return "boolean", nil
	case parquet.Types.Int32:
		return "int", nil
	case parquet.Types.Int64:
		return "bigint", nil
	case parquet.Types.Int96:
		return "timestamp", nil
	case parquet.Types.Float:
		return "float", nil
	case parquet.Types.Double:
		return "double", nil
	case parquet.Types.ByteArray, parquet.Types.FixedLenByteArray:
		return "binary", nil
	}
	return unsupported("physical type " + phys.String())
}
