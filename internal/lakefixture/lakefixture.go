// Package lakefixture writes the lake fixtures that tests share: the PII
// people table as arrow-go Parquet, CSV and JSON lines, any arrow record
// as a Parquet file, and a directory standing in for an object store.
//
// Only tests import it. It needs arrow-go but not the scan engine, so it
// carries no duckdb_arrow build tag.
package lakefixture

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lakegate/lakegate/internal/upstream"
)

// Person is a row of the PII people table.
type Person struct {
	ID        int64
	Name      string
	SSN       string
	Region    string
	Salary    int64
	BirthDate string // YYYY-MM-DD
}

// People are the table's rows: two regions besides EU, so that a row
// filter shows and hides rows. Callers must not modify it.
var People = []Person{
	{1, "Alice", "123-45-6789", "EU", 50000, "1980-05-17"},
	{2, "Bob", "987-65-4321", "US", 60000, "1975-11-02"},
	{3, "Carol", "555-12-3456", "EU", 70000, "1990-01-30"},
	{4, "Dave", "111-22-3333", "APAC", 40000, "1985-07-04"},
	{5, "Eve", "222-33-4444", "EU", 50000, "2000-12-31"},
}

// PeopleColumns is the table's column order.
var PeopleColumns = []string{"id", "name", "ssn", "region", "salary", "birth_date"}

// PeopleSchema is the people table as arrow-go writes it.
var PeopleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ssn", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "salary", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "birth_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}, nil)

// PeopleParquet is rows as one Parquet file written by arrow-go, with
// createdBy as the writer's name in the file's metadata.
func PeopleParquet(t testing.TB, rows []Person, createdBy string) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, PeopleSchema)
	defer b.Release()
	for _, r := range rows {
		d, err := time.Parse(time.DateOnly, r.BirthDate)
		if err != nil {
			t.Fatal(err)
		}
		b.Field(0).(*array.Int64Builder).Append(r.ID)
		b.Field(1).(*array.StringBuilder).Append(r.Name)
		b.Field(2).(*array.StringBuilder).Append(r.SSN)
		b.Field(3).(*array.StringBuilder).Append(r.Region)
		b.Field(4).(*array.Int64Builder).Append(r.Salary)
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(d))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return Parquet(t, rec, createdBy)
}

// Parquet is rec as one Parquet file written by arrow-go, with createdBy
// as the writer's name in the file's metadata.
func Parquet(t testing.TB, rec arrow.RecordBatch, createdBy string) []byte {
	t.Helper()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCreatedBy(createdBy))
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CSV is rows as comma-separated text without a header, every column in
// PeopleColumns order.
func CSV(rows []Person) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%d,%s\n", r.ID, r.Name, r.SSN, r.Region, r.Salary, r.BirthDate)
	}
	return b.Bytes()
}

// WriteFile writes data at path p, making its directories.
func WriteFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Dir serves buckets from the directories below Root: bucket b, key k is
// the file Root/b/k. It records the keys read. Safe for concurrent use.
type Dir struct {
	Root string

	mu   sync.Mutex
	keys []string
}

// ListObjects calls fn for each file below Root/bucket whose key starts
// with prefix, in lexical order; delimiter is ignored (every key is
// listed).
func (d *Dir) ListObjects(_ context.Context, bucket, prefix, _ string, fn func(upstream.Entry) error) error {
	base := filepath.Join(d.Root, bucket)
	var entries []upstream.Entry
	err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		entries = append(entries, upstream.Entry{Key: key, Size: info.Size()})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// NewReaderAt reads the whole object; a missing or unreadable file gives a
// reader whose every read fails with the error.
func (d *Dir) NewReaderAt(_ context.Context, bucket, key string, _ int64) io.ReaderAt {
	raw, err := os.ReadFile(filepath.Join(d.Root, bucket, filepath.FromSlash(key)))
	if err != nil {
		return errReaderAt{err}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = append(d.keys, key)
	return bytes.NewReader(raw)
}

// KeysRead are the keys NewReaderAt has read since the last ResetKeys, in
// order.
func (d *Dir) KeysRead() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.keys...)
}

// ResetKeys forgets the keys read so far.
func (d *Dir) ResetKeys() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = nil
}

type errReaderAt struct{ err error }

func (e errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, e.err }
