//go:build duckdb_arrow

package scan

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/lakefixture"
	"github.com/lakegate/lakegate/internal/store"
)

// person is a row of the fixture.
type person = lakefixture.Person

var people = lakefixture.People

var peopleColumns = []store.Column{
	{Name: "id", Type: "bigint"}, {Name: "name", Type: "string"}, {Name: "ssn", Type: "string"},
	{Name: "region", Type: "string"}, {Name: "salary", Type: "bigint"}, {Name: "birth_date", Type: "date"},
}

var testKey = []byte("test tokenize key")

func token(s string) string {
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// writeParquet writes rows as a Parquet file with arrow-go.
func writeParquet(t *testing.T, p string, rows []person) {
	t.Helper()
	lakefixture.WriteFile(t, p, lakefixture.PeopleParquet(t, rows, "lakegate scan test (arrow-go)"))
}

// fixture is a lake with the people table as Parquet (d.people, two
// files), as CSV partitioned by region (d.people_csv) and as JSON lines
// (d.people_json), with files every reader must skip.
type fixture struct {
	objects *lakefixture.Dir
	tables  map[string]store.Table
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	lake := filepath.Join(root, "lake")
	writeParquet(t, filepath.Join(lake, "people/part-0.parquet"), people[:3])
	writeParquet(t, filepath.Join(lake, "people/sub/part-1.parquet"), people[3:])
	lakefixture.WriteFile(t, filepath.Join(lake, "people/_SUCCESS"), []byte("not parquet"))
	lakefixture.WriteFile(t, filepath.Join(lake, "people/.part-0.parquet.crc"), []byte("not parquet"))
	lakefixture.WriteFile(t, filepath.Join(lake, "people/_temporary/0/part-9.parquet"), []byte("not parquet"))

	var parts []store.Partition
	for _, region := range []string{"APAC", "EU", "US"} {
		var csv strings.Builder
		csv.WriteString("id,name,ssn,salary,birth_date\n")
		var js strings.Builder
		for _, p := range people {
			if p.Region == region {
				fmt.Fprintf(&csv, "%d,%s,%s,%d,%s\n", p.ID, p.Name, p.SSN, p.Salary, p.BirthDate)
			}
		}
		lakefixture.WriteFile(t, filepath.Join(lake, "csv/region="+region+"/part-0.csv"), []byte(csv.String()))
		_ = js
		parts = append(parts, store.Partition{Spec: "region=" + region, Location: "s3://lake/csv/region=" + region})
	}
	lakefixture.WriteFile(t, filepath.Join(lake, "csv/region=EU/_SUCCESS"), []byte("99,Mallory,000-00-0000,1,2000-01-01\n"))
	var js strings.Builder
	for _, p := range people {
		fmt.Fprintf(&js, `{"id":%d,"name":%q,"ssn":%q,"region":%q,"salary":%d,"birth_date":%q}`+"\n", p.ID, p.Name, p.SSN, p.Region, p.Salary, p.BirthDate)
	}
	js.WriteString("not json\n")
	lakefixture.WriteFile(t, filepath.Join(lake, "json/people.json"), []byte(js.String()))

	dataCols := slices.DeleteFunc(slices.Clone(peopleColumns), func(c store.Column) bool { return c.Name == "region" })
	return &fixture{
		objects: &lakefixture.Dir{Root: root},
		tables: map[string]store.Table{
			"d.people": {Database: "d", Name: "people", Location: "s3://lake/people", Format: "PARQUET", Columns: peopleColumns},
			"d.people_csv": {Database: "d", Name: "people_csv", Location: "s3://lake/csv", Format: "TEXTFILE",
				Columns: dataCols, PartitionColumns: []store.Column{{Name: "region", Type: "string"}},
				FieldDelimiter: ",", Properties: []store.Property{{Key: "skip.header.line.count", Value: "1"}}, Partitions: parts},
			"d.people_json": {Database: "d", Name: "people_json", Location: "s3://lake/json", Format: "JSONFILE", Columns: peopleColumns},
		},
	}
}

var errUnknown = errors.New("no such table")

// euPolicy is the restricted user's policy: id, name tokenized, ssn
// masked but the last 4, region, birth_date rounded to the month; salary
// hidden; rows of the EU only.
func euPolicy(t *testing.T) TablePolicy {
	t.Helper()
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return TablePolicy{
		Columns: []SecuredColumn{
			{Name: "id", Expr: QuoteIdent("id")},
			{Name: "name", Expr: must(MaskExpr("tokenize", nil, "name", "string"))},
			{Name: "ssn", Expr: must(MaskExpr("mask_last", []string{"4"}, "ssn", "string"))},
			{Name: "region", Expr: QuoteIdent("region")},
			{Name: "birth_date", Expr: must(MaskExpr("round_date", []string{"month"}, "birth_date", "date"))},
		},
		Filter: QuoteIdent("region") + " = " + QuoteLiteral("EU"),
	}
}

// resolver gives every fixture table the policy pols names (by db.table),
// the EU policy otherwise.
func (f *fixture) resolver(t *testing.T, pols map[string]TablePolicy) ResolveFunc {
	return func(ctx context.Context, db, table string) (store.Table, TablePolicy, error) {
		tb, ok := f.tables[db+"."+table]
		if !ok {
			return store.Table{}, TablePolicy{}, fmt.Errorf("%s.%s: %w", db, table, errUnknown)
		}
		if p, ok := pols[db+"."+table]; ok {
			return tb, p, nil
		}
		return tb, euPolicy(t), nil
	}
}

func (f *fixture) engine(t *testing.T, opt Options) *Engine {
	t.Helper()
	opt.Objects = f.objects
	opt.TokenizeKey = testKey
	if opt.TempDir == "" {
		opt.TempDir = t.TempDir()
	}
	e, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs sql and renders the rows as "v|v|v" lines.
func run(t *testing.T, e *Engine, resolve ResolveFunc, sql string) ([]string, *Result, error) {
	t.Helper()
	res, err := e.Query(context.Background(), Request{SQL: sql, Resolve: resolve})
	if err != nil {
		return nil, nil, err
	}
	defer res.Close()
	var rows []string
	for res.Next() {
		rec := res.RecordBatch()
		for i := range int(rec.NumRows()) {
			vals := make([]string, rec.NumCols())
			for j := range vals {
				// ValueStr of a string column aliases the batch's
				// memory, which Next releases: copy it.
				vals[j] = strings.Clone(rec.Column(j).ValueStr(i))
			}
			rows = append(rows, strings.Join(vals, "|"))
		}
	}
	return rows, res, res.Err()
}

// euRows are the rows the EU policy shows of the fixture, computed from
// people independently of the engine.
func euRows() []string {
	var rows []string
	for _, p := range people {
		if p.Region != "EU" {
			continue
		}
		rows = append(rows, fmt.Sprintf("%d|%s|XXXXXXX%s|%s|%s-01", p.ID, token(p.Name), p.SSN[len(p.SSN)-4:], p.Region, p.BirthDate[:7]))
	}
	return rows
}

func TestSelectStarPolicy(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	for _, table := range []string{"d.people", "d.people_csv", "d.people_json"} {
		t.Run(table, func(t *testing.T) {
			sql := "SELECT * FROM " + table + " ORDER BY id"
			if table == "d.people_csv" { // partition column last
				sql = "SELECT id, name, ssn, region, birth_date FROM " + table + " ORDER BY id"
			}
			rows, res, err := run(t, e, f.resolver(t, nil), sql)
			if err != nil {
				t.Fatal(err)
			}
			if want := euRows(); !slices.Equal(rows, want) {
				t.Errorf("rows\n got %q\nwant %q", rows, want)
			}
			if !slices.Equal(res.Tables, []string{table}) || res.RowsReturned() != 3 || res.Truncated() {
				t.Errorf("audit: tables %v rows %d truncated %v", res.Tables, res.RowsReturned(), res.Truncated())
			}
		})
	}
	rows, res, err := run(t, e, f.resolver(t, nil), "SELECT * FROM d.people ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"id", "name", "ssn", "region", "birth_date"}; !slices.Equal(res.Columns, want) {
		t.Errorf("columns %v, want %v (salary hidden)", res.Columns, want)
	}
	if len(rows) != 3 {
		t.Errorf("%d rows", len(rows))
	}
}

// TestNoPolicy reads every row and column unmasked: the staging reads the
// files completely (two Parquet files, three partitions, no hidden file).
func TestNoPolicy(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	all := TablePolicy{}
	for _, c := range peopleColumns {
		all.Columns = append(all.Columns, SecuredColumn{Name: c.Name, Expr: QuoteIdent(c.Name)})
	}
	var want []string
	for _, p := range people {
		want = append(want, fmt.Sprintf("%d|%s|%s|%s|%d|%s", p.ID, p.Name, p.SSN, p.Region, p.Salary, p.BirthDate))
	}
	for _, table := range []string{"d.people", "d.people_csv", "d.people_json"} {
		pols := map[string]TablePolicy{table: all}
		rows, _, err := run(t, e, f.resolver(t, pols), "SELECT id, name, ssn, region, salary, birth_date FROM "+table+" ORDER BY id")
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if !slices.Equal(rows, want) {
			t.Errorf("%s rows\n got %q\nwant %q", table, rows, want)
		}
	}
}

func TestGetAroundPolicy(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	resolve := f.resolver(t, nil)
	tests := []struct {
		name    string
		sql     string
		want    []string
		wantErr error
	}{
		{"masked column compares masked values", "SELECT id FROM d.people WHERE ssn = '123-45-6789'", nil, nil},
		{"masked value matches", "SELECT id FROM d.people WHERE ssn = 'XXXXXXX6789'", []string{"1"}, nil},
		{"raw name does not match a token", "SELECT id FROM d.people WHERE name = 'Alice'", nil, nil},
		{"hidden column in ORDER BY", "SELECT id FROM d.people ORDER BY salary", nil, ErrQuery},
		{"hidden column in WHERE", "SELECT id FROM d.people WHERE salary > 0", nil, ErrQuery},
		{"count past the row filter", "SELECT count(*) FROM d.people", []string{"3"}, nil},
		{"count of hidden region", "SELECT count(*) FROM d.people WHERE region <> 'EU'", []string{"0"}, nil},
		{"error probe on filtered rows", "SELECT id FROM d.people WHERE CASE WHEN region <> 'EU' THEN error('leak') ELSE true END ORDER BY id", []string{"1", "3", "5"}, nil},
		{"division probe", "SELECT count(*) FROM d.people WHERE 1 / (id - 2) > -10", []string{"3"}, nil},
		{"aggregate", "SELECT region, count(*), min(birth_date) FROM d.people GROUP BY region", []string{"EU|3|1980-05-01"}, nil},
		{"cte", "WITH x AS (SELECT id FROM d.people) SELECT count(*) FROM x", []string{"3"}, nil},
		{"cte over an earlier cte", "WITH x AS (SELECT id FROM d.people), y AS (SELECT id FROM x) SELECT count(*) FROM y", []string{"3"}, nil},
		{"recursive cte", "WITH RECURSIVE r AS (SELECT min(id) AS i FROM d.people UNION ALL SELECT i + 1 FROM r WHERE i < 3) SELECT count(*) FROM r", []string{"3"}, nil},
		{"quoted names", `SELECT count(*) FROM "D"."people"`, []string{"3"}, nil},
		{"quoting trick in a table name", `SELECT * FROM d."people""; DROP TABLE x; --"`, nil, errUnknown},
		{"unknown table", "SELECT * FROM d.nope", nil, errUnknown},
		{"raw staging table", "SELECT * FROM main.raw_0", nil, errUnknown},
		{"system views go to Resolve", "SELECT * FROM information_schema.tables", nil, errUnknown},
		{"pg_catalog goes to Resolve", "SELECT * FROM pg_catalog.pg_tables", nil, errUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, _, err := run(t, e, resolve, tc.sql)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows, tc.want) {
				t.Errorf("rows %q, want %q", rows, tc.want)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	resolve := f.resolver(t, nil)
	for _, sql := range []string{
		"SELECT * FROM read_parquet('/etc/passwd')",
		"SELECT * FROM read_csv_auto('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM glob('/*')",
		"SELECT * FROM query_table('d.people')",
		"SELECT * FROM query('SELECT 1')",
		"SELECT * FROM duckdb_settings()",
		"SELECT * FROM d.people, read_parquet('s3://lake/people/part-0.parquet')",
		"SELECT * FROM d.people WHERE id IN (SELECT 1 FROM read_csv('/etc/passwd'))",
		"COPY (SELECT 1) TO '/tmp/x'",
		"ATTACH ':memory:' AS x",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"PRAGMA database_list",
		"SELECT 1; SELECT 2",
		"SELECT 1 --\n; DROP TABLE d.people",
		"SELECT 1; DROP TABLE d.people",
		"CREATE TABLE x AS SELECT 1",
		"EXPORT DATABASE '/tmp/x'",
		"EXPLAIN SELECT 1",
		"DESCRIBE d.people",
		"SELECT * FROM (DESCRIBE d.people)",
		"SELECT * FROM people",
		`SELECT * FROM "d.people"`,
		"SELECT * FROM memory.d.people",
		"SELECT * FROM sqlite_master",
		"SELECT lakegate_tokenize('Alice')",
		"SELECT 'Alice'.lakegate_tokenize()",
		`SELECT main."LAKEGATE_TOKENIZE"('Alice')`,
		"SELECT list_transform(['Alice'], x -> lakegate_tokenize(x))",
		"SELECT * FROM d.people AT (VERSION => 1)",
		"SELECT * FROM d.people, LATERAL (SELECT * FROM read_parquet('x'))",
		"SELECT (SELECT count(*) FROM duckdb_tables())",
		"WITH x AS (SELECT * FROM glob('/*')) SELECT * FROM x",
		// A CTE's own name in its body is DuckDB's catalog, not the CTE.
		"WITH duckdb_tables AS (SELECT * FROM duckdb_tables) SELECT * FROM duckdb_tables",
		"WITH p AS (SELECT * FROM d.people), sqlite_master AS (FROM sqlite_master) FROM sqlite_master",
		"WITH RECURSIVE duckdb_tables AS (FROM duckdb_tables) FROM duckdb_tables",
		"WITH RECURSIVE duckdb_columns AS (FROM duckdb_columns UNION ALL FROM duckdb_columns) FROM duckdb_columns",
		"",
	} {
		t.Run(sql, func(t *testing.T) {
			_, _, err := run(t, e, resolve, sql)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("err %v, want ErrRefused", err)
			}
			t.Log(err)
		})
	}
}

// TestLockedDown runs harmless statements that pass the check and proves
// the database they run in reads no file and changes no setting.
func TestLockedDown(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	resolve := f.resolver(t, nil)
	rows, _, err := run(t, e, resolve, "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows, []string{"false|true"}) {
		t.Errorf("settings %q", rows)
	}
}

func TestJoinEachSecured(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	tok, err := MaskExpr("tokenize", nil, "name", "string")
	if err != nil {
		t.Fatal(err)
	}
	pols := map[string]TablePolicy{"d.people_csv": {Columns: []SecuredColumn{
		{Name: "id", Expr: QuoteIdent("id")},
		{Name: "name", Expr: tok},
		{Name: "salary", Expr: QuoteIdent("salary")},
	}}}
	rows, res, err := run(t, e, f.resolver(t, pols),
		"SELECT p.id, c.salary, p.name = c.name FROM d.people p JOIN d.people_csv c ON p.name = c.name ORDER BY p.id")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range people {
		if p.Region == "EU" {
			want = append(want, fmt.Sprintf("%d|%d|true", p.ID, p.Salary))
		}
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if !slices.Equal(res.Tables, []string{"d.people", "d.people_csv"}) {
		t.Errorf("tables %v", res.Tables)
	}
}

func TestLimits(t *testing.T) {
	f := newFixture(t)
	t.Run("rows", func(t *testing.T) {
		e := f.engine(t, Options{MaxRows: 2})
		rows, res, err := run(t, e, f.resolver(t, nil), "SELECT id FROM d.people ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rows, []string{"1", "3"}) || !res.Truncated() || res.RowsReturned() != 2 {
			t.Errorf("rows %q truncated %v returned %d", rows, res.Truncated(), res.RowsReturned())
		}
		rows, res, err = run(t, e, f.resolver(t, nil), "SELECT id FROM d.people WHERE id < 5 ORDER BY id")
		if err != nil || len(rows) != 2 || res.Truncated() {
			t.Errorf("exactly MaxRows: rows %q truncated %v err %v", rows, res.Truncated(), err)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		e := f.engine(t, Options{MaxBytes: 100})
		_, _, err := run(t, e, f.resolver(t, nil), "SELECT id FROM d.people")
		if !errors.Is(err, ErrLimit) {
			t.Fatalf("err %v, want ErrLimit", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e := f.engine(t, Options{Timeout: 2 * time.Second})
		start := time.Now()
		_, _, err := run(t, e, f.resolver(t, nil), "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r")
		if !errors.Is(err, ErrLimit) {
			t.Fatalf("err %v, want ErrLimit", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

// TestTempDirRemoved checks each query's spill directory goes with it.
func TestTempDirRemoved(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	e := f.engine(t, Options{TempDir: dir})
	if _, _, err := run(t, e, f.resolver(t, nil), "SELECT count(*) FROM d.people"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, e, f.resolver(t, nil), "SELECT * FROM read_parquet('x')"); err == nil {
		t.Fatal("refused query ran")
	}
	left, err := os.ReadDir(dir)
	if err != nil || len(left) != 0 {
		t.Errorf("left behind: %v %v", left, err)
	}
}

func TestScan(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	res, err := e.Scan(context.Background(), f.resolver(t, nil), "D", "People", []string{"id", "ssn"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	n := int64(0)
	for res.Next() {
		n += res.RecordBatch().NumRows()
	}
	if err := res.Err(); err != nil || n != 2 || !slices.Equal(res.Columns, []string{"id", "ssn"}) {
		t.Errorf("rows %d columns %v err %v", n, res.Columns, err)
	}
	if _, err := e.Scan(context.Background(), f.resolver(t, nil), "d", "people", []string{"salary"}, 1); !errors.Is(err, ErrQuery) {
		t.Errorf("hidden column: %v", err)
	}
}

// TestMaskValues runs every mask on the fixture's first row and checks
// the values against ones computed here.
func TestMaskValues(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	masks := []struct {
		col, typ, fn string
		args         []string
	}{
		{"name", "string", "null", nil},
		{"name", "string", "redact", []string{"[x]"}},
		{"ssn", "string", "mask", nil},
		{"ssn", "string", "mask_last", []string{"4"}},
		{"ssn", "string", "sha256", nil},
		{"name", "string", "tokenize", nil},
		{"salary", "bigint", "zero", nil},
		{"name", "string", "zero", nil},
		{"birth_date", "date", "zero", nil},
		{"birth_date", "date", "round_date", []string{"year"}},
		{"salary", "bigint", "mask_last", []string{"2"}},
	}
	pol := TablePolicy{Filter: "id = 1"}
	for i, m := range masks {
		expr, err := MaskExpr(m.fn, m.args, m.col, m.typ)
		if err != nil {
			t.Fatal(err)
		}
		pol.Columns = append(pol.Columns, SecuredColumn{Name: fmt.Sprintf("m%d", i), Expr: expr})
	}
	rows, _, err := run(t, e, f.resolver(t, map[string]TablePolicy{"d.people": pol}), "SELECT * FROM d.people")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("123-45-6789"))
	want := strings.Join([]string{"(null)", "[x]", "XXXXXXXXXXX", "XXXXXXX6789", hex.EncodeToString(sum[:]),
		token("Alice"), "0", "", "1970-01-01", "1980-01-01", "XXX00"}, "|")
	if len(rows) != 1 || rows[0] != want {
		t.Errorf("rows %q\nwant %q", rows, want)
	}
}

// TestConcurrentQueries runs queries with different policies at once:
// each has its own database, and each gets its own policy's rows.
func TestConcurrentQueries(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	us := euPolicy(t)
	us.Filter = "region = 'US'"
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			pols := map[string]TablePolicy{}
			want := "3"
			if i%2 == 1 {
				pols["d.people"] = us
				want = "1"
			}
			rows, _, err := run(t, e, f.resolver(t, pols), "SELECT count(*) FROM d.people")
			if err == nil && !slices.Equal(rows, []string{want}) {
				err = fmt.Errorf("query %d: rows %q, want %s", i, rows, want)
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
