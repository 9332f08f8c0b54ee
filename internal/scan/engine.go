//go:build duckdb_arrow

package scan

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/upstream"
)

// Objects reads the lake: satisfied by *upstream.Client.
type Objects interface {
	ListObjects(ctx context.Context, bucket, prefix, delimiter string, fn func(upstream.Entry) error) error
	NewReaderAt(ctx context.Context, bucket, key string, size int64) io.ReaderAt
}

// Defaults of Options.
const (
	DefaultMaxRows     = 100_000
	DefaultMaxBytes    = 10 << 30
	DefaultMaxFiles    = 100_000
	DefaultTimeout     = 5 * time.Minute
	DefaultMemoryLimit = "1GB"
	DefaultMaxTempSize = "10GB"
)

// Options configure an Engine; zero fields take the defaults.
type Options struct {
	// Objects reads the tables' files (required).
	Objects Objects
	// TokenizeKey keys the tokenize mask (HMAC-SHA256). Empty: a policy
	// using tokenize fails its queries.
	TokenizeKey []byte
	// MaxRows bounds the rows a Result delivers (default 100,000); past
	// it the Result is Truncated.
	MaxRows int64
	// MaxBytes bounds the bytes of files one query reads (default 10 GiB).
	MaxBytes int64
	// MaxFiles bounds the files one query reads (default 100,000).
	MaxFiles int
	// Timeout bounds a query from Query to the Result's last record
	// (default 5 minutes).
	Timeout time.Duration
	// MemoryLimit is DuckDB's memory_limit for one query (default "1GB").
	MemoryLimit string
	// MaxTempSize is DuckDB's max_temp_directory_size for one query: how
	// much it may spill to disk past MemoryLimit (default "10GB"; DuckDB's
	// own default is 90% of the free disk, which one recursive query could
	// fill within its timeout).
	MaxTempSize string
	// Threads is DuckDB's threads for one query (default GOMAXPROCS).
	Threads int
	// TempDir holds each query's spill directory, removed after the query
	// (default os.TempDir()).
	TempDir string
}

// Engine runs queries; it holds no database between queries and is safe
// for concurrent use.
type Engine struct{ opt Options }

// New checks opt and fills its defaults.
func New(opt Options) (*Engine, error) {
	if opt.Objects == nil {
		return nil, errors.New("scan: Options.Objects is required")
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxFiles <= 0 {
		opt.MaxFiles = DefaultMaxFiles
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = DefaultMemoryLimit
	}
	if !validMemoryLimit(opt.MemoryLimit) {
		return nil, fmt.Errorf("scan: memory limit %q: want a number and a unit such as 512MB or 2GB", opt.MemoryLimit)
	}
	if opt.MaxTempSize == "" {
		opt.MaxTempSize = DefaultMaxTempSize
	}
	if !validMemoryLimit(opt.MaxTempSize) {
		return nil, fmt.Errorf("scan: temporary directory size %q: want a number and a unit such as 512MB or 2GB", opt.MaxTempSize)
	}
	if opt.Threads <= 0 {
		opt.Threads = runtime.GOMAXPROCS(0)
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	opt.TokenizeKey = append([]byte(nil), opt.TokenizeKey...)
	return &Engine{opt: opt}, nil
}

func validMemoryLimit(s string) bool {
	num := strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsLetter(r) || r == ' ' })
	unit := strings.TrimSpace(s[len(num):])
	if _, err := strconv.ParseFloat(num, 64); err != nil || unit == "" {
		return false
	}
	switch strings.ToUpper(unit) {
	case "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB":
		return true
	}
	return false
}

// ResolveFunc returns a table the query names and the caller's policy on
// it; db and table are lower-case. An error (an unknown table, one the
// user may not see) fails the query with that error, wrapped.
type ResolveFunc func(ctx context.Context, db, table string) (store.Table, TablePolicy, error)

// Request is one query.
type Request struct {
	// SQL is the user's statement: one SELECT naming tables as db.table.
	SQL     string
	Resolve ResolveFunc
}

// Query checks req.SQL, stages and secures every table it names, and runs
// it. The Result must be closed. The timeout runs until the Result is
// closed.
func (e *Engine) Query(ctx context.Context, req Request) (res *Result, err error) {
	if req.Resolve == nil {
		return nil, errors.New("scan: Request.Resolve is required")
	}
	ctx, cancel := context.WithTimeout(ctx, e.opt.Timeout)
	q := &query{e: e, ctx: ctx, cancel: cancel}
	defer func() {
		if err != nil {
			q.close()
			err = q.limitErr(err)
		}
	}()
	if err := q.open(); err != nil {
		return nil, err
	}
	parsed, err := q.check(req.SQL)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(parsed.tables))
	for i, tn := range parsed.tables {
		t, pol, err := req.Resolve(ctx, tn.DB, tn.Table)
		if err != nil {
			return nil, fmt.Errorf("scan: table %s: %w", tn, err)
		}
		if err := q.stage(i, tn, t, pol, parsed.refs[tn]); err != nil {
			return nil, err
		}
		names = append(names, tn.String())
	}
	if _, err := q.conn.ExecContext(ctx, "SET lock_configuration = true"); err != nil {
		return nil, fmt.Errorf("scan: locking the configuration: %w", err)
	}
	ar, err := duckdb.NewArrowFromConn(q.dc)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	rr, err := ar.QueryContext(ctx, req.SQL)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &QueryError{Err: err}
	}
	r := &Result{Tables: names, q: q, rr: rr, max: e.opt.MaxRows}
	for _, f := range rr.Schema().Fields() {
		r.Columns = append(r.Columns, f.Name)
	}
	return r, nil
}

// Scan reads columns (all when none) of db.table, at most limit rows
// (limit ≤ 0: up to MaxRows): SELECT cols FROM db.table LIMIT n, built
// with quoted identifiers.
func (e *Engine) Scan(ctx context.Context, resolve ResolveFunc, db, table string, columns []string, limit int) (*Result, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	if len(columns) == 0 {
		b.WriteString("*")
	}
	for i, c := range columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteIdent(c))
	}
	b.WriteString(" FROM " + QuoteIdent(strings.ToLower(db)) + "." + QuoteIdent(strings.ToLower(table)))
	if limit > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(limit))
	}
	return e.Query(ctx, Request{SQL: b.String(), Resolve: resolve})
}

// query is one query's database and scratch space.
type query struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	tmp    string
	db     *sql.DB
	conn   *sql.Conn
	dc     driver.Conn
	read   int64 // bytes read from the lake
	files  int
}

// open creates the query's temporary directory and database, sets its
// limits and shuts it off from files, URLs and extensions.
func (q *query) open() error {
	tmp, err := os.MkdirTemp(q.e.opt.TempDir, "lakegate-scan-")
	if err != nil {
		return fmt.Errorf("scan: temporary directory: %w", err)
	}
	q.tmp = tmp
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return fmt.Errorf("scan: opening DuckDB: %w", err)
	}
	q.db = sql.OpenDB(connector)
	q.db.SetMaxOpenConns(1)
	q.conn, err = q.db.Conn(q.ctx)
	if err != nil {
		return fmt.Errorf("scan: opening DuckDB: %w", err)
	}
	settings := []string{
		"SET memory_limit = " + QuoteLiteral(q.e.opt.MemoryLimit),
		"SET threads = " + strconv.Itoa(q.e.opt.Threads),
		"SET temp_directory = " + QuoteLiteral(tmp),
		"SET max_temp_directory_size = " + QuoteLiteral(q.e.opt.MaxTempSize),
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET enable_external_access = false",
	}
	for _, s := range settings {
		if _, err := q.conn.ExecContext(q.ctx, s); err != nil {
			return fmt.Errorf("scan: %s: %w", s, err)
		}
	}
	if err := q.conn.Raw(func(c any) error {
		dc, ok := c.(driver.Conn)
		if !ok {
			return errors.New("not a driver connection")
		}
		q.dc = dc
		return nil
	}); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if len(q.e.opt.TokenizeKey) > 0 {
		if err := duckdb.RegisterScalarUDF(q.conn, TokenizeFunc, tokenizer{key: q.e.opt.TokenizeKey}); err != nil {
			return fmt.Errorf("scan: registering %s: %w", TokenizeFunc, err)
		}
	}
	return nil
}

// check parses sql with DuckDB's parser and returns the tables it names.
func (q *query) check(sqlText string) (*parsed, error) {
	if strings.TrimSpace(sqlText) == "" {
		return nil, refused("empty query")
	}
	if len(sqlText) > maxQueryBytes {
		return nil, refused("the query is longer than %d bytes", maxQueryBytes)
	}
	var tree string
	err := q.conn.QueryRowContext(q.ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", sqlText).Scan(&tree)
	if err != nil {
		return nil, refused("the query could not be parsed: %v", err)
	}
	return checkParse(tree)
}

// maxQueryBytes bounds the text of a query.
const maxQueryBytes = 1 << 20

// limitErr turns a failure after the query's deadline into a *LimitError.
func (q *query) limitErr(err error) error {
	if errors.Is(q.ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, ErrLimit) {
		return fmt.Errorf("%w (%v)", &LimitError{Limit: "timeout", Max: q.e.opt.Timeout.String()}, err)
	}
	return err
}

func (q *query) close() error {
	var errs []error
	if q.conn != nil {
		errs = append(errs, q.conn.Close())
	}
	if q.db != nil {
		errs = append(errs, q.db.Close())
	}
	if q.tmp != "" {
		errs = append(errs, os.RemoveAll(q.tmp))
	}
	q.cancel()
	return errors.Join(errs...)
}

// tokenizer is the TokenizeFunc UDF: hex HMAC-SHA256 of a VARCHAR.
type tokenizer struct{ key []byte }

func (t tokenizer) Config() duckdb.ScalarFuncConfig {
	v, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{v}, ResultTypeInfo: v}
}

func (t tokenizer) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		s, ok := values[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s: want text, got %T", TokenizeFunc, values[0])
		}
		m := hmac.New(sha256.New, t.key)
		m.Write([]byte(s))
		return hex.EncodeToString(m.Sum(nil)), nil
	}}
}

// Result streams a query's records. Tables and Columns are known from the
// start; RowsReturned and Truncated are final once Next returned false.
type Result struct {
	// Tables are the tables the query read, db.table.
	Tables []string
	// Columns are the result's column names.
	Columns []string

	q         *query
	rr        array.RecordReader
	cur       arrow.RecordBatch
	max       int64
	rows      int64
	truncated bool
	done      bool
	err       error
}

// Schema is the result's Arrow schema.
func (r *Result) Schema() *arrow.Schema { return r.rr.Schema() }

// Next advances to the next record; false at the end, at MaxRows or on an
// error (Err).
func (r *Result) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for !r.done {
		if !r.rr.Next() {
			r.done = true
			if err := r.rr.Err(); err != nil {
				r.err = r.q.limitErr(&QueryError{Err: err})
			}
			return false
		}
		rec := r.rr.RecordBatch()
		n := rec.NumRows()
		if n == 0 {
			continue
		}
		if r.rows+n > r.max {
			r.truncated = true
			r.done = true
			keep := r.max - r.rows
			if keep == 0 {
				return false
			}
			r.cur = rec.NewSlice(0, keep)
		} else {
			rec.Retain()
			r.cur = rec
		}
		r.rows += r.cur.NumRows()
		return true
	}
	return false
}

// RecordBatch is the current record, valid until the next Next or Close;
// Retain it to keep it.
func (r *Result) RecordBatch() arrow.RecordBatch { return r.cur }

// Err is the error that ended Next early, if any.
func (r *Result) Err() error { return r.err }

// RowsReturned is how many rows Next delivered.
func (r *Result) RowsReturned() int64 { return r.rows }

// Truncated reports whether rows were left out at MaxRows.
func (r *Result) Truncated() bool { return r.truncated }

// Close releases the query's database and removes its temporary files.
func (r *Result) Close() error {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
	r.done = true
	return r.q.close()
}
