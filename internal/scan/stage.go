//go:build duckdb_arrow

package scan

import (
	"bufio"
	"compress/gzip"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/upstream"
)

// hiveDefaultPartition is Hive's name for a null partition value.
const hiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// maxLineBytes bounds one line of a TEXTFILE or JSON file.
const maxLineBytes = 16 << 20

// textBatch is how many lines the appender takes between flushes.
const textBatch = 64 << 10

// stagedColumn is a column of a raw table.
type stagedColumn struct {
	name  string
	hive  grants.Type
	duck  string
	isStr bool
}

// dataFile is one file to read, with its partition's values.
type dataFile struct {
	bucket, key string
	size        int64
	parts       []*string // partition values, nil for null
}

// stage reads table t into main.raw_i and secures it as "<db>"."<table>"
// under pol, dropping the raw table. Partitions no reference of the query
// can read (refs) are not read.
func (q *query) stage(i int, tn tableName, t store.Table, pol TablePolicy, refs [][]pred) error {
	if len(pol.Columns) == 0 {
		return refused("table %s: no column is visible", tn)
	}
	format := strings.ToUpper(t.Format)
	switch format {
	case "PARQUET", "TEXTFILE", "JSONFILE":
	default:
		return fmt.Errorf("%w: table %s is stored as %s", ErrUnsupported, tn, t.Format)
	}
	cols := make([]stagedColumn, 0, len(t.Columns)+len(t.PartitionColumns))
	for _, c := range append(append([]store.Column(nil), t.Columns...), t.PartitionColumns...) {
		ht, err := grants.ParseType(c.Type)
		if err != nil {
			return fmt.Errorf("%w: table %s column %q type %q: %v", ErrUnsupported, tn, c.Name, c.Type, err)
		}
		dt, err := duckType(ht)
		if err != nil {
			return fmt.Errorf("%w: table %s column %q: %v", ErrUnsupported, tn, c.Name, err)
		}
		k := ht.Kind
		cols = append(cols, stagedColumn{name: strings.ToLower(c.Name), hive: ht, duck: dt,
			isStr: k == grants.TypeString || k == grants.TypeVarchar || k == grants.TypeChar})
	}
	raw := "main." + QuoteIdent("raw_"+strconv.Itoa(i))
	defs := make([]string, len(cols))
	for j, c := range cols {
		defs[j] = QuoteIdent(c.name) + " " + c.duck
	}
	if err := q.exec("CREATE TABLE " + raw + " (" + strings.Join(defs, ", ") + ")"); err != nil {
		return fmt.Errorf("scan: staging %s: %w", tn, err)
	}
	files, err := q.listFiles(tn, t, keeper(refs, t, pol))
	if err != nil {
		return err
	}
	for j, f := range files {
		if err := q.stageFile(tn, t, format, cols, raw, fmt.Sprintf("file_%d_%d", i, j), f); err != nil {
			return err
		}
	}
	sel := make([]string, len(pol.Columns))
	seen := map[string]bool{}
	for j, c := range pol.Columns {
		if c.Name == "" || strings.TrimSpace(c.Expr) == "" {
			return fmt.Errorf("scan: table %s: policy column %d has no name or expression", tn, j)
		}
		if seen[strings.ToLower(c.Name)] {
			return fmt.Errorf("scan: table %s: policy names column %q twice", tn, c.Name)
		}
		seen[strings.ToLower(c.Name)] = true
		sel[j] = "(" + c.Expr + ") AS " + QuoteIdent(c.Name)
	}
	secured := QuoteIdent(tn.DB) + "." + QuoteIdent(tn.Table)
	stmt := "CREATE TABLE " + secured + " AS SELECT " + strings.Join(sel, ", ") + " FROM " + raw
	if strings.TrimSpace(pol.Filter) != "" {
		stmt += " WHERE (" + pol.Filter + ")"
	}
	if err := q.exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(tn.DB)); err != nil {
		return fmt.Errorf("scan: securing %s: %w", tn, err)
	}
	if err := q.exec(stmt); err != nil {
		return fmt.Errorf("scan: securing %s: %w", tn, err)
	}
	if err := q.exec("DROP TABLE " + raw); err != nil {
		return fmt.Errorf("scan: securing %s: %w", tn, err)
	}
	return nil
}

func (q *query) exec(stmt string) error {
	_, err := q.conn.ExecContext(q.ctx, stmt)
	return err
}

// splitLocation splits s3://bucket/path into bucket and a key prefix
// ending with '/' ("" for the bucket's root).
func splitLocation(loc string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(loc, "s3://")
	if !ok {
		rest, ok = strings.CutPrefix(loc, "s3a://")
	}
	if !ok {
		return "", "", fmt.Errorf("location %q is not s3://", loc)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("location %q has no bucket", loc)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// hidden reports whether a key below a location is not data: a name or
// directory starting with '_' or '.' (_SUCCESS, _temporary/, .crc files),
// a directory marker, or an empty file.
func hidden(rel string, size int64) bool {
	if rel == "" || strings.HasSuffix(rel, "/") || size == 0 {
		return true
	}
	for seg := range strings.SplitSeq(rel, "/") {
		if seg == "" || seg[0] == '_' || seg[0] == '.' {
			return true
		}
	}
	return false
}

// listFiles lists the table's data files: every file below its location
// for an unpartitioned table, every file below each partition's location
// for a partitioned one; it enforces MaxFiles and MaxBytes on the sizes.
func (q *query) listFiles(tn tableName, t store.Table, keep func([]*string) bool) ([]dataFile, error) {
	type place struct {
		loc   string
		parts []*string
	}
	var places []place
	if len(t.PartitionColumns) == 0 {
		places = append(places, place{loc: t.Location})
	} else {
		for _, p := range t.Partitions {
			vals, err := partitionValues(p.Spec, t.PartitionColumns)
			if err != nil {
				return nil, fmt.Errorf("scan: table %s: %w", tn, err)
			}
			if !keep(vals) {
				continue
			}
			places = append(places, place{loc: p.Location, parts: vals})
		}
	}
	var files []dataFile
	for _, pl := range places {
		bucket, prefix, err := splitLocation(pl.loc)
		if err != nil {
			return nil, fmt.Errorf("scan: table %s: %w", tn, err)
		}
		err = q.e.opt.Objects.ListObjects(q.ctx, bucket, prefix, "", func(e upstream.Entry) error {
			if e.IsPrefix || !strings.HasPrefix(e.Key, prefix) || hidden(e.Key[len(prefix):], e.Size) {
				return nil
			}
			q.files++
			if q.files > q.e.opt.MaxFiles {
				return &LimitError{Limit: "files", Max: strconv.Itoa(q.e.opt.MaxFiles)}
			}
			if q.read+e.Size > q.e.opt.MaxBytes || e.Size < 0 {
				return &LimitError{Limit: "bytes read", Max: strconv.FormatInt(q.e.opt.MaxBytes, 10)}
			}
			q.read += e.Size
			files = append(files, dataFile{bucket: bucket, key: e.Key, size: e.Size, parts: pl.parts})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scan: listing table %s: %w", tn, err)
		}
	}
	return files, nil
}

// partitionValues reads a partition's spec "k=v/k2=w" (Hive-escaped)
// into values in the partition columns' order.
func partitionValues(spec string, cols []store.Column) ([]*string, error) {
	segs := strings.Split(spec, "/")
	if len(segs) != len(cols) {
		return nil, fmt.Errorf("partition %q: %d values for %d partition columns", spec, len(segs), len(cols))
	}
	vals := make([]*string, len(cols))
	for i, s := range segs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || !strings.EqualFold(unescapeHive(k), cols[i].Name) {
			return nil, fmt.Errorf("partition %q: expected column %q at position %d", spec, cols[i].Name, i+1)
		}
		if v == hiveDefaultPartition {
			continue
		}
		u := unescapeHive(v)
		vals[i] = &u
	}
	return vals, nil
}

// unescapeHive undoes Hive's path escaping: %XX is the byte XX; a '%' not
// followed by two hex digits stays.
func unescapeHive(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// countingReaderAt fails reads once the query's bytes pass MaxBytes
// (a file longer than listed, a reader reading twice).
type countingReaderAt struct {
	r     io.ReaderAt
	n     *atomic.Int64
	limit int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if c.n.Add(int64(len(p))) > c.limit {
		return 0, &LimitError{Limit: "bytes read", Max: strconv.FormatInt(c.limit, 10)}
	}
	return c.r.ReadAt(p, off)
}

// stageFile loads one file into a scratch table named scratch, casts it
// into raw (columns by name for Parquet, by position for TEXTFILE, by key
// for JSON; partition values as constants) and drops the scratch table.
func (q *query) stageFile(tn tableName, t store.Table, format string, cols []stagedColumn, raw, scratch string, f dataFile) error {
	var counted atomic.Int64
	// Each file may read up to twice its size (Parquet footers are read
	// twice); the listed sizes already bound the query's total.
	ra := &countingReaderAt{r: q.e.opt.Objects.NewReaderAt(q.ctx, f.bucket, f.key, f.size), n: &counted, limit: 2*f.size + 1<<20}
	scratchQ := "main." + QuoteIdent(scratch)
	var exprs []string
	var where string
	ndata := len(t.Columns)
	var err error
	switch format {
	case "PARQUET":
		var names []string
		names, err = q.loadParquet(ra, f.size, scratch)
		if err != nil {
			break
		}
		byName := map[string]string{}
		for _, n := range names {
			if _, dup := byName[strings.ToLower(n)]; !dup {
				byName[strings.ToLower(n)] = n
			}
		}
		for _, c := range cols[:ndata] {
			if n, ok := byName[c.name]; ok {
				exprs = append(exprs, "CAST("+QuoteIdent(n)+" AS "+c.duck+")")
			} else {
				exprs = append(exprs, "CAST(NULL AS "+c.duck+")")
			}
		}
	case "TEXTFILE":
		err = q.loadText(t, ra, f, ndata, scratch)
		for j, c := range cols[:ndata] {
			exprs = append(exprs, "TRY_CAST("+QuoteIdent("c"+strconv.Itoa(j))+" AS "+c.duck+")")
		}
	case "JSONFILE":
		err = q.loadText(t, ra, f, 0, scratch)
		for _, c := range cols[:ndata] {
			ptr := QuoteLiteral("/" + strings.ReplaceAll(strings.ReplaceAll(c.name, "~", "~0"), "/", "~1"))
			if c.hive.Kind.IsPrimitive() {
				exprs = append(exprs, "TRY_CAST(json_extract_string(line, "+ptr+") AS "+c.duck+")")
			} else {
				exprs = append(exprs, "TRY_CAST(json_extract(line, "+ptr+") AS "+c.duck+")")
			}
		}
		where = " WHERE json_valid(line)"
	}
	if err != nil {
		return fmt.Errorf("scan: reading s3://%s/%s of table %s: %w", f.bucket, f.key, tn, err)
	}
	for j, c := range cols[ndata:] {
		v := f.parts[j]
		if v == nil {
			exprs = append(exprs, "CAST(NULL AS "+c.duck+")")
		} else {
			exprs = append(exprs, "TRY_CAST("+QuoteLiteral(*v)+" AS "+c.duck+")")
		}
	}
	if err := q.exec("INSERT INTO " + raw + " SELECT " + strings.Join(exprs, ", ") + " FROM " + scratchQ + where); err != nil {
		return fmt.Errorf("scan: loading s3://%s/%s of table %s: %w", f.bucket, f.key, tn, err)
	}
	if err := q.exec("DROP TABLE " + scratchQ); err != nil {
		return fmt.Errorf("scan: staging table %s: %w", tn, err)
	}
	return nil
}

// loadParquet copies a Parquet file into main.<scratch> through an Arrow
// view (SELECT * with no WHERE: nothing for DuckDB to push into the
// stream) and returns the file's column names.
func (q *query) loadParquet(ra io.ReaderAt, size int64, scratch string) ([]string, error) {
	alloc := memory.DefaultAllocator
	pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, size), file.WithReadProps(parquet.NewReaderProperties(alloc)))
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, alloc)
	if err != nil {
		return nil, err
	}
	rr, err := fr.GetRecordReader(q.ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var names []string
	for _, f := range rr.Schema().Fields() {
		names = append(names, f.Name)
	}
	ar, err := duckdb.NewArrowFromConn(q.dc)
	if err != nil {
		return nil, err
	}
	view := scratch + "_arrow"
	release, err := ar.RegisterView(rr, view)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := q.exec("CREATE TABLE main." + QuoteIdent(scratch) + " AS SELECT * FROM " + QuoteIdent(view)); err != nil {
		if rerr := rr.Err(); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	if err := q.exec("DROP VIEW IF EXISTS " + QuoteIdent(view)); err != nil {
		return nil, err
	}
	return names, nil
}

// loadText appends the lines of a TEXTFILE (ncols > 0: split on the
// field delimiter into columns c0…, "\N" is null, missing fields are
// null) or a JSON file (ncols == 0: one column "line") into main.<scratch>.
// A key ending in .gz is gunzipped.
func (q *query) loadText(t store.Table, ra io.ReaderAt, f dataFile, ncols int, scratch string) error {
	var defs []string
	if ncols == 0 {
		defs = []string{"line VARCHAR"}
	}
	for j := range ncols {
		defs = append(defs, QuoteIdent("c"+strconv.Itoa(j))+" VARCHAR")
	}
	if err := q.exec("CREATE TABLE main." + QuoteIdent(scratch) + " (" + strings.Join(defs, ", ") + ")"); err != nil {
		return err
	}
	var r io.Reader = io.NewSectionReader(ra, 0, f.size)
	if strings.HasSuffix(strings.ToLower(f.key), ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	delim := "\x01"
	if t.FieldDelimiter != "" {
		delim = t.FieldDelimiter
	}
	skip := 0
	for _, p := range t.Properties {
		if strings.EqualFold(p.Key, "skip.header.line.count") {
			n, err := strconv.Atoi(strings.TrimSpace(p.Value))
			if err != nil || n < 0 {
				return fmt.Errorf("skip.header.line.count %q is not a count", p.Value)
			}
			skip = n
		}
	}
	app, err := duckdb.NewAppenderFromConn(q.dc, "main", scratch)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	width := max(ncols, 1)
	row := make([]driver.Value, width)
	n := 0
	for sc.Scan() {
		if skip > 0 {
			skip--
			continue
		}
		line := sc.Text()
		if ncols == 0 {
			row[0] = line
		} else {
			fields := strings.SplitN(line, delim, ncols+1)
			for j := range row {
				row[j] = nil
				if j < len(fields) && fields[j] != `\N` {
					row[j] = fields[j]
				}
			}
		}
		if err := app.AppendRow(row...); err != nil {
			return errors.Join(err, app.Close())
		}
		if n++; n%textBatch == 0 {
			if err := q.ctx.Err(); err != nil {
				return errors.Join(err, app.Close())
			}
		}
	}
	if err := sc.Err(); err != nil {
		return errors.Join(err, app.Close())
	}
	return app.Close()
}

// keeper returns whether the query may read rows of a partition with
// values vals (in partition column order): some reference of the table
// has no predicate on a partition column that the partition fails.
// Only predicates on partition columns the policy shows unchanged count
// (a masked or hidden one compares other values than the partition's);
// when in doubt a partition is kept, never pruned.
func keeper(refs [][]pred, t store.Table, pol TablePolicy) func([]*string) bool {
	usable := map[string]int{}
	kinds := make([]grants.TypeKind, len(t.PartitionColumns))
	for i, pc := range t.PartitionColumns {
		ht, err := grants.ParseType(pc.Type)
		if err != nil {
			continue
		}
		kinds[i] = ht.Kind
		name := strings.ToLower(pc.Name)
		for _, c := range pol.Columns {
			if strings.EqualFold(c.Name, name) && strings.TrimSpace(c.Expr) == QuoteIdent(name) {
				usable[name] = i
			}
		}
	}
	return func(vals []*string) bool {
		if len(refs) == 0 {
			return true
		}
		for _, ref := range refs {
			ok := true
			for _, p := range ref {
				i, use := usable[p.col]
				if use && i < len(vals) && !holds(p, vals[i], kinds[i]) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
}

// holds reports whether partition value v may satisfy p: false only when
// it certainly does not (a null, a different string, a different integer).
func holds(p pred, v *string, kind grants.TypeKind) bool {
	if v == nil {
		return false // col = constant is never true of null
	}
	for _, c := range p.vals {
		switch c := c.(type) {
		case string:
			if kind != grants.TypeString && kind != grants.TypeVarchar {
				return true
			}
			if *v == c {
				return true
			}
		case json.Number:
			if kind != grants.TypeTinyint && kind != grants.TypeSmallint && kind != grants.TypeInt && kind != grants.TypeBigint {
				return true
			}
			n, err1 := strconv.ParseInt(*v, 10, 64)
			m, err2 := c.Int64()
			if err1 != nil || err2 != nil || n == m {
				return true
			}
		default:
			return true
		}
	}
	return false
}
