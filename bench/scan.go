package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/duckdb/duckdb-go/v2" // the local baseline: the scan engine's own library
)

// The -scan run (issue 16, the scan data plane): Parquet files written with
// arrow-go into a local directory and uploaded, the same bytes, through the
// proxy (admin) under a table location; DuckDB in this process reads the
// local files directly (the baseline), and two users run the same
// aggregate through POST /api/scan: one with full access, one under a row
// filter and two masks. The runs of each repetition alternate their order.
// Its section sits above the report's marker, between scanBegin and
// scanEnd, so that no other run erases it.

const (
	scanBegin = "<!-- Scan data plane: written by `go run ./bench -scan -out docs/BENCHMARKS.md`. -->"
	scanEnd   = "<!-- End of the scan data plane section. -->"
)

// The goal: a row filter and two masks cost at most 1.2× the scan
// without a policy.
const scanGoal = 1.2

// The catalog, users and policy of the -scan run.
const (
	scanDB       = "bench"
	scanTable    = "people"
	scanPrefix   = "scan/people"
	scanFullUser = "bench_scan_full"
	scanEUUser   = "bench_scan_eu"
	scanColumns  = "id BIGINT, name STRING, ssn STRING, region STRING, salary DOUBLE, birth_date DATE"
	scanAggSQL   = "SELECT count(*) AS n, sum(salary) AS s, count(DISTINCT region) AS r FROM %s"
	scanEUGrant  = "GRANT SELECT ON TABLE " + scanDB + "." + scanTable +
		" WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TRANSFORM name WITH sha256 TO ROLE " + scanEUUser
	scanFullGrant = "GRANT SELECT ON TABLE " + scanDB + "." + scanTable + " TO ROLE " + scanFullUser
	// scanMemoryLimit is DuckDB's memory limit per query, in lakegate and
	// in the baseline alike.
	scanMemoryLimit = "6GB"
)

// scanSizes sizes a -scan run.
type scanSizes struct {
	TotalBytes int64 // Parquet bytes to write, at least
	Files      int
	BatchRows  int // rows per record batch and row group
	Reps       int // repetitions of each aggregate
	StarReps   int // repetitions of each SELECT * streamed as Arrow
}

func scanSizesFor(quick bool) scanSizes {
	if quick {
		return scanSizes{TotalBytes: 64 * mib, Files: 4, BatchRows: 128 << 10, Reps: 2, StarReps: 1}
	}
	return scanSizes{TotalBytes: gib, Files: 16, BatchRows: 256 << 10, Reps: 3, StarReps: 1}
}

// scanData describes the generated table: what the checks expect.
type scanData struct {
	Dir                string
	Files              []string // local paths
	Bytes              int64    // on disk, all files
	Rows, EURows       int64
	SalarySum, EUSum   float64
	Regions            int
	UploadTime         time.Duration
	GenerateTime       time.Duration
	UncompressedApprox int64 // Arrow bytes of the batches written
}

// scanRun is one measured query.
type scanRun struct {
	Wall time.Duration
	CPU  cpuUse
	// Out is what came back: result rows, and for an Arrow stream its bytes.
	OutRows, OutBytes int64
}

// scanSeries is the runs of one measurement.
type scanSeries struct {
	Key, Name, How string
	Runs           []scanRun
}

func (s *scanSeries) median() time.Duration {
	v := make([]float64, len(s.Runs))
	for i, r := range s.Runs {
		v[i] = float64(r.Wall)
	}
	return time.Duration(median(v))
}

// medianCPU is the CPU use of the run of median wall time.
func (s *scanSeries) medianCPU() cpuUse {
	rs := slices.Clone(s.Runs)
	slices.SortFunc(rs, func(a, b scanRun) int { return int(a.Wall - b.Wall) })
	return rs[len(rs)/2].CPU
}

// scanResult is the output of the -scan run.
type scanResult struct {
	Sizes     scanSizes
	Data      scanData
	Table     string
	Series    []*scanSeries
	Checks    []string
	PeakRSS   int64 // lakegate's VmHWM over the measurements
	LoadStart string
	Commit    string
}

func (r *scanResult) series(key string) *scanSeries {
	for _, s := range r.Series {
		if s.Key == key {
			return s
		}
	}
	return nil
}

// runScan performs the -scan run and returns the section's markdown.
func runScan(ctx context.Context, cfg config) (string, error) {
	sizes := scanSizesFor(cfg.Quick)
	e, minioBin, root, err := newRunEnv(ctx, cfg, "lakegate-bench-scan-")
	if err != nil {
		return "", err
	}
	defer e.close()
	r := &scanResult{Sizes: sizes, LoadStart: loadAvg()}
	r.Commit = describeSoftware(ctx, root, minioBin).Commit
	e.logf("writing %s of Parquet in %d files", formatSize(sizes.TotalBytes), sizes.Files)
	if r.Data, err = writeScanParquet(filepath.Join(e.dir, "parquet"), sizes); err != nil {
		return "", err
	}
	// The scan limits lakegate runs with. (Not through LAKEGATE_SCAN_*:
	// the environment overrides do not take int64 fields such as max_rows.)
	e.extraYAML = "scan:\n  max_rows: 1000000000\n  memory_limit: \"" + scanMemoryLimit + "\"\n  timeout: 30m\n"
	if err := e.start(ctx, minioBin, e.lakegateBin); err != nil {
		return "", err
	}
	e.logf("uploading through the proxy, catalog and users")
	users, err := e.scanPrepare(ctx, r)
	if err != nil {
		return "", e.explain(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "SET memory_limit = '"+scanMemoryLimit+"'"); err != nil {
		return "", err
	}
	if err := e.measureScan(ctx, r, db, users); err != nil {
		return "", e.explain(err)
	}
	return renderScan(cfg, r), nil
}

// scanUsers are the two users' REST tokens.
type scanUsers struct {
	full, eu string // tokens
}

// writeScanParquet writes sizes.TotalBytes (at least) of snappy-compressed
// Parquet in sizes.Files files into dir, each file about the same size.
func writeScanParquet(dir string, sizes scanSizes) (scanData, error) {
	d := scanData{Dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return d, err
	}
	start := time.Now()
	g := newScanGen(1)
	perFile := sizes.TotalBytes / int64(sizes.Files)
	for i := range sizes.Files {
		path := filepath.Join(dir, fmt.Sprintf("part-%05d.parquet", i))
		if err := g.writeFile(path, perFile, sizes.BatchRows, &d); err != nil {
			return d, fmt.Errorf("write %s: %w", path, err)
		}
		st, err := os.Stat(path)
		if err != nil {
			return d, err
		}
		d.Files = append(d.Files, path)
		d.Bytes += st.Size()
	}
	d.GenerateTime = time.Since(start)
	d.Regions = len(scanRegions)
	return d, nil
}

// scanRegions and their weights (percent): EU is the restricted user's.
var scanRegions = []struct {
	name   string
	weight int
}{{"EU", 30}, {"US", 35}, {"APAC", 20}, {"LATAM", 10}, {"MEA", 5}}

var scanFirst = strings.Fields("Alice Bob Carol Dave Eve Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent Victor Walter Yara " +
	"Aaron Beatriz Chen Dmitri Elif Fatima Goran Hiro Ines Jonas Kwame Lena Mateo Nadia Omar Priya Quinn Ravi Sofia Tomas")

var scanLast = strings.Fields("Smith Jones Garcia Müller Rossi Dubois Kowalski Nakamura Silva Okafor Novak Jensen Ivanova Haddad Kim " +
	"Lopez Schmidt Bianchi Moreau Nowak Tanaka Santos Adeyemi Horvat Larsen Petrova Mansour Park Hernandez Weber")

var scanSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ssn", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "salary", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "birth_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}, nil)

// scanGen makes the table's rows, deterministically from a seed.
type scanGen struct {
	rnd    *rand.Rand
	nextID int64
}

func newScanGen(seed uint64) *scanGen {
	return &scanGen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// row returns the next row's values.
func (g *scanGen) row() (id int64, name, ssn, region string, salary float64, birth arrow.Date32) {
	g.nextID++
	id = g.nextID
	name = scanFirst[g.rnd.IntN(len(scanFirst))] + " " + scanLast[g.rnd.IntN(len(scanLast))]
	ssn = fmt.Sprintf("%03d-%02d-%04d", 1+g.rnd.IntN(899), 1+g.rnd.IntN(99), 1+g.rnd.IntN(9999))
	w := g.rnd.IntN(100)
	for _, r := range scanRegions {
		if w < r.weight {
			region = r.name
			break
		}
		w -= r.weight
	}
	salary = math.Round((30000+g.rnd.Float64()*170000)*100) / 100
	// Born 1950-01-01 (day -7305) to 2005-12-31 (day 13148).
	birth = arrow.Date32(-7305 + g.rnd.IntN(13148+7305+1))
	return
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFile writes record batches of batchRows rows, one row group each,
// until the file holds at least target bytes; it adds the rows and sums to d.
func (g *scanGen) writeFile(path string, target int64, batchRows int, d *scanData) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	cw := &countingWriter{w: f}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(int64(batchRows)),
		parquet.WithCreatedBy("lakegate bench (arrow-go)"))
	w, err := pqarrow.NewFileWriter(scanSchema, cw, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, scanSchema)
	defer b.Release()
	for cw.n < target {
		for range batchRows {
			id, name, ssn, region, salary, birth := g.row()
			b.Field(0).(*array.Int64Builder).Append(id)
			b.Field(1).(*array.StringBuilder).Append(name)
			b.Field(2).(*array.StringBuilder).Append(ssn)
			b.Field(3).(*array.StringBuilder).Append(region)
			b.Field(4).(*array.Float64Builder).Append(salary)
			b.Field(5).(*array.Date32Builder).Append(birth)
			d.Rows++
			d.SalarySum += salary
			if region == "EU" {
				d.EURows++
				d.EUSum += salary
			}
		}
		rec := b.NewRecordBatch()
		for _, c := range rec.Columns() {
			for _, buf := range c.Data().Buffers() {
				if buf != nil {
					d.UncompressedApprox += int64(buf.Len())
				}
			}
		}
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return w.Close()
}

// scanPrepare uploads the files through the proxy as the admin, creates
// the table and the two users, and checks each user's view.
func (e *env) scanPrepare(ctx context.Context, r *scanResult) (scanUsers, error) {
	var u scanUsers
	start := time.Now()
	for _, p := range r.Data.Files {
		f, err := os.Open(p)
		if err != nil {
			return u, err
		}
		key := scanPrefix + "/" + filepath.Base(p)
		_, err = e.proxy.aws.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f})
		f.Close()
		if err != nil {
			return u, fmt.Errorf("admin PUT %s through the proxy: %w", key, err)
		}
	}
	r.Data.UploadTime = time.Since(start)
	r.Table = fmt.Sprintf("CREATE EXTERNAL TABLE %s.%s (%s) STORED AS PARQUET LOCATION 's3://%s/%s'", scanDB, scanTable, scanColumns, bucket, scanPrefix)
	script := fmt.Sprintf("CREATE DATABASE %s; %s;", scanDB, r.Table)
	for _, g := range []struct{ name, grant string }{{scanFullUser, scanFullGrant}, {scanEUUser, scanEUGrant}} {
		script += fmt.Sprintf(" CREATE ROLE %[1]s; GRANT ROLE %[1]s TO GROUP %[1]s; %[2]s;", g.name, g.grant)
	}
	if err := e.rest(ctx, "/api/sql", map[string]string{"sql": script}, nil); err != nil {
		return u, err
	}
	for _, name := range []string{scanFullUser, scanEUUser} {
		var created struct {
			Token string `json:"token"`
		}
		if err := e.rest(ctx, "/api/users", map[string]any{"name": name, "groups": []string{name}}, &created); err != nil {
			return u, err
		}
		if created.Token == "" {
			return u, errors.New("POST /api/users: no token in the answer")
		}
		if name == scanFullUser {
			u.full = created.Token
		} else {
			u.eu = created.Token
		}
	}
	// A first look at each user's rows: the policy is what the grants say.
	q := fmt.Sprintf("SELECT id, name, ssn, region FROM %s.%s ORDER BY id LIMIT 5", scanDB, scanTable)
	full, err := e.scanJSON(ctx, u.full, q)
	if err != nil {
		return u, err
	}
	eu, err := e.scanJSON(ctx, u.eu, q)
	if err != nil {
		return u, err
	}
	if err := checkScanViews(full, eu); err != nil {
		return u, err
	}
	r.Checks = append(r.Checks, fmt.Sprintf("the %d files (%s) were uploaded through the proxy by the admin, the same bytes the baseline reads from local disk",
		len(r.Data.Files), mibs(r.Data.Bytes)),
		fmt.Sprintf("%s's first rows by id are the table's, unmasked; %s's are EU rows only, ssn `XXXXXXXdddd` (mask_last(4)), name a 64-hex-digit SHA-256", scanFullUser, scanEUUser))
	return u, nil
}

var (
	maskedSSN = regexp.MustCompile(`^XXXXXXX\d{4}$`)
	plainSSN  = regexp.MustCompile(`^\d{3}-\d{2}-\d{4}$`)
	hexName   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// checkScanViews checks the first rows of the full and the restricted user.
func checkScanViews(full, eu []map[string]any) error {
	if len(full) == 0 || len(eu) == 0 {
		return fmt.Errorf("first rows: %d for the full user, %d for the restricted one", len(full), len(eu))
	}
	for _, row := range full {
		if s, _ := row["ssn"].(string); !plainSSN.MatchString(s) {
			return fmt.Errorf("full user: ssn %q is not plain", s)
		}
		if n, _ := row["name"].(string); !strings.Contains(n, " ") {
			return fmt.Errorf("full user: name %q is not plain", n)
		}
	}
	for _, row := range eu {
		if reg, _ := row["region"].(string); reg != "EU" {
			return fmt.Errorf("restricted user sees region %q", reg)
		}
		if s, _ := row["ssn"].(string); !maskedSSN.MatchString(s) {
			return fmt.Errorf("restricted user: ssn %q is not mask_last(4)", s)
		}
		if n, _ := row["name"].(string); !hexName.MatchString(n) {
			return fmt.Errorf("restricted user: name %q is not a SHA-256", n)
		}
	}
	return nil
}

// scanPost sends POST /api/scan with token and returns the 200 answer's body.
func (e *env) scanPost(ctx context.Context, token, query, format string) (*http.Response, error) {
	b, err := json.Marshal(map[string]string{"query": query, "format": format})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.restURL+"/api/scan", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST /api/scan: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("POST /api/scan %q: %s: %s", query, resp.Status, bytes.TrimSpace(msg))
	}
	return resp, nil
}

// scanJSON runs query as the token's user and decodes the JSON rows.
func (e *env) scanJSON(ctx context.Context, token, query string) ([]map[string]any, error) {
	resp, err := e.scanPost(ctx, token, query, "json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var rows []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return nil, fmt.Errorf("POST /api/scan %q: %w", query, err)
	}
	return rows, nil
}

// scanArrow runs query as the token's user, reads the Arrow stream to its
// end and returns its rows and bytes; a truncated result is an error.
func (e *env) scanArrow(ctx context.Context, token, query string) (rows, n int64, err error) {
	resp, err := e.scanPost(ctx, token, query, "arrow")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	cw := &countingWriter{w: io.Discard}
	body := io.TeeReader(resp.Body, cw)
	rd, err := ipc.NewReader(body)
	if err != nil {
		return 0, 0, err
	}
	defer rd.Release()
	for rd.Next() {
		rows += rd.RecordBatch().NumRows()
	}
	if err := rd.Err(); err != nil {
		return rows, cw.n, err
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return rows, cw.n, err
	}
	if t := resp.Trailer.Get("X-Lakegate-Truncated"); t != "false" {
		return rows, cw.n, fmt.Errorf("POST /api/scan %q: truncated trailer %q after %d rows", query, t, rows)
	}
	return rows, cw.n, nil
}

// aggregate is the answer of scanAggSQL.
type aggregate struct {
	N       int64
	Sum     float64
	Regions int64
}

func (a aggregate) check(rows int64, sum float64, regions int) error {
	if a.N != rows || a.Regions != int64(regions) || math.Abs(a.Sum-sum) > 1e-6*math.Abs(sum) {
		return fmt.Errorf("aggregate (%d rows, sum %.2f, %d regions), want (%d, %.2f, %d)", a.N, a.Sum, a.Regions, rows, sum, regions)
	}
	return nil
}

func jsonAggregate(rows []map[string]any) (aggregate, error) {
	if len(rows) != 1 {
		return aggregate{}, fmt.Errorf("aggregate: %d rows, want 1", len(rows))
	}
	num := func(k string) float64 { v, _ := rows[0][k].(float64); return v }
	return aggregate{N: int64(num("n")), Sum: num("s"), Regions: int64(num("r"))}, nil
}

// measureScan runs every measurement, the order of each repetition's
// runs reversed on odd repetitions.
func (e *env) measureScan(ctx context.Context, r *scanResult, db *sql.DB, u scanUsers) error {
	d := r.Data
	glob := "read_parquet(" + sqlString(filepath.Join(d.Dir, "*.parquet")) + ")"
	table := scanDB + "." + scanTable
	local := func(ctx context.Context, stmts ...string) (scanRun, error) {
		var run scanRun
		var a aggregate
		conn, err := db.Conn(ctx)
		if err != nil {
			return run, err
		}
		defer conn.Close()
		for _, s := range stmts[:len(stmts)-1] {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return run, fmt.Errorf("%s: %w", s, err)
			}
		}
		last := stmts[len(stmts)-1]
		if err := conn.QueryRowContext(ctx, last).Scan(&a.N, &a.Sum, &a.Regions); err != nil {
			return run, fmt.Errorf("%s: %w", last, err)
		}
		for _, t := range []string{"raw", "secured"} {
			if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
				return run, err
			}
		}
		run.OutRows = 1
		return run, a.checkFor(d, strings.Contains(last, "secured"))
	}
	secured := "CREATE TABLE secured AS SELECT id, sha256(name) AS name, repeat('X', length(ssn) - 4) || right(ssn, 4) AS ssn, region, salary, birth_date FROM raw WHERE region = 'EU'"
	remote := func(ctx context.Context, token string, eu bool) (scanRun, error) {
		rows, err := e.scanJSON(ctx, token, fmt.Sprintf(scanAggSQL, table))
		if err != nil {
			return scanRun{}, err
		}
		a, err := jsonAggregate(rows)
		if err != nil {
			return scanRun{}, err
		}
		return scanRun{OutRows: 1}, a.checkFor(d, eu)
	}
	star := func(ctx context.Context, token string, want int64) (scanRun, error) {
		rows, n, err := e.scanArrow(ctx, token, "SELECT * FROM "+table)
		if err == nil && rows != want {
			err = fmt.Errorf("SELECT * streamed %d rows, want %d", rows, want)
		}
		return scanRun{OutRows: rows, OutBytes: n}, err
	}
	type measurement struct {
		s  *scanSeries
		fn func(context.Context) (scanRun, error)
	}
	agg := []measurement{
		{&scanSeries{Key: "local-agg", Name: "DuckDB, local files: aggregate",
			How: "`" + fmt.Sprintf(scanAggSQL, "read_parquet('dir/*.parquet')") + "` (reads only the two columns it needs)"},
			func(ctx context.Context) (scanRun, error) { return local(ctx, fmt.Sprintf(scanAggSQL, glob)) }},
		{&scanSeries{Key: "local-mat", Name: "DuckDB, local files: materialize, then aggregate",
			How: "`CREATE TABLE raw AS SELECT * FROM read_parquet(…)`, then the aggregate on `raw` (every column, as the scan stages)"},
			func(ctx context.Context) (scanRun, error) {
				return local(ctx, "CREATE TABLE raw AS SELECT * FROM "+glob, fmt.Sprintf(scanAggSQL, "raw"))
			}},
		{&scanSeries{Key: "local-sec", Name: "DuckDB, local files: materialize, secure (filter + 2 masks), aggregate",
			How: "as above, then `" + secured + "` and the aggregate on `secured`"},
			func(ctx context.Context) (scanRun, error) {
				return local(ctx, "CREATE TABLE raw AS SELECT * FROM "+glob, secured, fmt.Sprintf(scanAggSQL, "secured"))
			}},
		{&scanSeries{Key: "lg-full", Name: "lakegate /api/scan, full access: aggregate",
			How: "`POST /api/scan` as " + scanFullUser + ", `" + fmt.Sprintf(scanAggSQL, table) + "`, JSON answer"},
			func(ctx context.Context) (scanRun, error) { return remote(ctx, u.full, false) }},
		{&scanSeries{Key: "lg-eu", Name: "lakegate /api/scan, row filter + 2 masks: aggregate",
			How: "the same as " + scanEUUser},
			func(ctx context.Context) (scanRun, error) { return remote(ctx, u.eu, true) }},
	}
	stars := []measurement{
		{&scanSeries{Key: "lg-full-star", Name: "lakegate /api/scan, full access: SELECT * as Arrow",
			How: "`SELECT * FROM " + table + "`, `format: arrow`, the stream read to its end with arrow-go"},
			func(ctx context.Context) (scanRun, error) { return star(ctx, u.full, d.Rows) }},
		{&scanSeries{Key: "lg-eu-star", Name: "lakegate /api/scan, row filter + 2 masks: SELECT * as Arrow",
			How: "the same as " + scanEUUser},
			func(ctx context.Context) (scanRun, error) { return star(ctx, u.eu, d.EURows) }},
	}
	if err := resetHWM(e.lakegate.pid()); err != nil {
		e.logf("cannot reset lakegate's peak RSS: %v", err)
	}
	for _, set := range []struct {
		ms   []measurement
		reps int
	}{{agg, r.Sizes.Reps}, {stars, r.Sizes.StarReps}} {
		for rep := range set.reps {
			order := slices.Clone(set.ms)
			if rep%2 == 1 {
				slices.Reverse(order)
			}
			for _, m := range order {
				if err := ctx.Err(); err != nil {
					return err
				}
				var run scanRun
				cpu, err := e.cpuSpent(func() error {
					var err error
					run, err = m.fn(ctx)
					return err
				})
				if err != nil {
					return fmt.Errorf("%s: %w", m.s.Name, err)
				}
				run.Wall, run.CPU = cpu.Wall, cpu
				m.s.Runs = append(m.s.Runs, run)
				e.logf("%s, run %d: %.2f s", m.s.Name, rep+1, cpu.Wall.Seconds())
			}
		}
		for _, m := range set.ms {
			r.Series = append(r.Series, m.s)
		}
	}
	if _, hwm, err := procStatus(e.lakegate.pid()); err == nil {
		r.PeakRSS = hwm
	}
	r.Checks = append(r.Checks,
		fmt.Sprintf("every aggregate answered (%d rows, the generated salary sum, %d regions) for full access and the local baseline, (%d EU rows, their salary sum, 1 region) for the restricted user and the local secured table",
			d.Rows, d.Regions, d.EURows),
		fmt.Sprintf("SELECT * streamed %d rows to the full user and %d to the restricted one, trailer X-Lakegate-Truncated: false", d.Rows, d.EURows))
	return nil
}

// checkFor checks a against the generated data: the whole table, or its
// EU rows.
func (a aggregate) checkFor(d scanData, eu bool) error {
	if eu {
		return a.check(d.EURows, d.EUSum, 1)
	}
	return a.check(d.Rows, d.SalarySum, d.Regions)
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// renderScan writes the section.
func renderScan(cfg config, r *scanResult) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	d := r.Data
	m := describeMachine()
	p("## Scan data plane: /api/scan vs DuckDB on local files\n\n")
	p("- Command: `%s`\n", cfg.Command)
	p("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("- Machine: %d CPUs (nproc), %s, %.1f GiB RAM, Linux %s; %s\n", m.NProc, m.CPU, float64(m.MemBytes)/gib, m.Kernel, m.GoVersion)
	p("- lakegate: commit %s, `lakegate serve` built by the harness with `-tags duckdb_arrow`; MinIO on loopback\n", orUnknown(r.Commit))
	p("- Load average (1/5/15 min): %s at start, %s at end — the machine is shared with other work\n", r.LoadStart, loadAvg())
	p("- CPU placement: unpinned, every process on every CPU. A scan is CPU-bound in lakegate's DuckDB (which runs a thread per CPU), " +
		"so the harness's \"proxy on its own CPU\" placement would halve the engine; the baseline DuckDB runs in the harness's process with the same threads\n")
	p("- lakegate's scan settings (its configuration file): scan.memory_limit %s (the default 1GB is too small for %s staged in memory), "+
		"scan.max_rows 1000000000 (so that SELECT * is not cut at the default 100,000), scan.timeout 30m; the baseline sets the same memory_limit\n",
		scanMemoryLimit, mibs(d.Bytes))
	if cfg.Quick {
		p("- **Quick run** (%s of Parquet): the figures are not representative of the ≥ 1 GiB table the issue asks for.\n", mibs(d.Bytes))
	}
	p("\nThe table: `%s`, %d snappy-compressed Parquet files written with arrow-go (%s on disk, %d rows, row groups of %d rows; about %s as Arrow in memory), "+
		"generated in %.1f s: sequential ids, names from 40×30 first and last names, random SSNs, regions EU/US/APAC/LATAM/MEA weighted 30/35/20/10/5 %%, "+
		"salaries uniform in 30,000–200,000 with cents, birth dates 1950–2005. "+
		"The same files were uploaded through the proxy as the admin (%.1f s, %.0f MiB/s). ",
		r.Table, len(d.Files), mibs(d.Bytes), d.Rows, r.Sizes.BatchRows, mibs(d.UncompressedApprox), d.GenerateTime.Seconds(),
		d.UploadTime.Seconds(), float64(d.Bytes)/mib/d.UploadTime.Seconds())
	p("Users: `%s` holding `%s`; `%s` holding `%s` (%d of the rows are EU).\n\n", scanFullUser, scanFullGrant, scanEUUser, scanEUGrant, d.EURows)
	p("Rows/s and MiB/s are the table's rows and file bytes ÷ the median wall time of the runs (the time to the last byte of the answer), whatever the query returns; "+
		"the aggregates ran %s each, the SELECT * %s, the order of the runs reversed every repetition. CPU is per process from /proc over the median run.\n\n",
		plural(r.Sizes.Reps, "time"), plural(r.Sizes.StarReps, "time"))
	p("| Measurement | median | runs | rows/s | MiB/s | result | lakegate CPU | MinIO CPU | bench CPU (DuckDB) |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Series {
		med := s.median().Seconds()
		runs := make([]string, len(s.Runs))
		for i, run := range s.Runs {
			runs[i] = fmt.Sprintf("%.2f", run.Wall.Seconds())
		}
		res := fmt.Sprintf("%d row", s.Runs[0].OutRows)
		if s.Runs[0].OutRows != 1 {
			res += "s"
		}
		if s.Runs[0].OutBytes > 0 {
			res += ", " + mibs(s.Runs[0].OutBytes) + " of Arrow"
		}
		c := s.medianCPU()
		p("| %s | %.2f s | %s | %.2fM | %.0f | %s | %.1f s | %.1f s | %.1f s |\n", s.Name, med, strings.Join(runs, ", "),
			float64(d.Rows)/med/1e6, float64(d.Bytes)/mib/med, res, c.Proxy.Seconds(), c.Minio.Seconds(), c.Client.Seconds())
	}
	p("\nWhat each measurement runs:\n\n")
	for _, s := range r.Series {
		p("- %s: %s\n", s.Name, s.How)
	}
	ratio := func(a, b string) float64 {
		sa, sb := r.series(a), r.series(b)
		if sa == nil || sb == nil {
			return 0
		}
		return safeDiv(sa.median().Seconds(), sb.median().Seconds())
	}
	restricted := ratio("lg-eu", "lg-full")
	p("\n### Ratios (of median times; above 1 is slower)\n\n")
	p("| | ratio |\n|---|---:|\n")
	p("| lakegate full ÷ DuckDB local aggregate | %.2f× |\n", ratio("lg-full", "local-agg"))
	p("| lakegate full ÷ DuckDB local materialize + aggregate | %.2f× |\n", ratio("lg-full", "local-mat"))
	p("| **lakegate restricted ÷ lakegate full (aggregate; goal ≤ %.1f×)** | **%.2f×** |\n", scanGoal, restricted)
	p("| DuckDB local secured ÷ local materialized (the same policy work without lakegate) | %.2f× |\n", ratio("local-sec", "local-mat"))
	if r.series("lg-eu-star") != nil {
		p("| lakegate restricted ÷ full, SELECT * as Arrow | %.2f× |\n", ratio("lg-eu-star", "lg-full-star"))
		p("| lakegate full SELECT * as Arrow ÷ full aggregate | %.2f× |\n", ratio("lg-full-star", "lg-full"))
	}
	p("\nlakegate's peak resident memory over the measurements: %s.\n\n", mibs(r.PeakRSS))
	verdict := "**Met**"
	if restricted > scanGoal {
		verdict = "**Not met**"
	}
	p("%s: a row filter and two masks cost %.2f× the scan without a policy (goal ≤ %.1f×). ", verdict, restricted, scanGoal)
	p("Where the time goes: the scan service reads every file through the upstream client (range GETs to MinIO), decodes it with arrow-go, " +
		"copies it into a per-file scratch table through an Arrow view, casts it into the raw table and builds the secured table from the raw one " +
		"(projection, masks, row filter) before the user's query runs; all columns are staged whatever the query reads. " +
		"DuckDB on the local files reads only the columns the aggregate needs, in parallel, without copies; " +
		"the local materialize rows show what staging every column costs DuckDB alone, and the local secured row what the policy adds to that.\n\n")
	p("Checks that passed:\n\n")
	for _, c := range r.Checks {
		p("- %s\n", c)
	}
	return b.String()
}

// writeSection puts section between the begin and end marker lines in
// path, above the report's marker, replacing an earlier one; the rest of
// the file is kept as it is.
func writeSection(path, begin, end, section string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	block := []byte(begin + "\n\n" + strings.TrimRight(section, "\n") + "\n\n" + end + "\n")
	var out []byte
	if i := bytes.Index(old, []byte(begin)); i >= 0 {
		j := bytes.Index(old[i:], []byte(end))
		if j < 0 {
			return fmt.Errorf("%s: %q without %q", path, begin, end)
		}
		stop := i + j + len(end)
		if stop < len(old) && old[stop] == '\n' {
			stop++
		}
		out = slices.Concat(old[:i], block, old[stop:])
	} else if i := bytes.Index(old, []byte(marker)); i >= 0 {
		out = slices.Concat(old[:i], block, []byte("\n"), old[i:])
	} else {
		out = slices.Concat(old, []byte("\n"), block)
	}
	return os.WriteFile(path, out, 0o644)
}
