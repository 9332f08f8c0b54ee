//go:build duckdb_arrow

package dataplane_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/dataplane"
	"github.com/lakegate/lakegate/internal/lakefixture"
	"github.com/lakegate/lakegate/internal/scan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// people are the fixture's rows.
var people = lakefixture.People

// Policy is the PII fixture's: hr.people (Parquet) and hr.people_csv (the
// same rows as CSV), hr.regions; one role per kind of grant, each granted
// to the group of its name, and every group may read hr.regions.
const policyScript = `
CREATE DATABASE hr;
CREATE EXTERNAL TABLE hr.people (id BIGINT, name STRING, ssn STRING, region STRING, salary BIGINT, birth_date DATE)
  STORED AS PARQUET LOCATION 's3://lake/people';
CREATE EXTERNAL TABLE hr.people_csv (id BIGINT, name STRING, ssn STRING, region STRING, salary BIGINT, birth_date DATE)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION 's3://lake/people_csv';
CREATE EXTERNAL TABLE hr.regions (region STRING, manager STRING)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION 's3://lake/regions';
ALTER TABLE hr.people ALTER COLUMN ssn SET ATTRIBUTES pii.ssn;
ALTER TABLE hr.people ALTER COLUMN birth_date SET ATTRIBUTES pii.dob;
ALTER TABLE hr.people_csv ALTER COLUMN ssn SET ATTRIBUTES pii.ssn;
ALTER TABLE hr.people_csv ALTER COLUMN birth_date SET ATTRIBUTES pii.dob;
CREATE ROLE regions_r; GRANT SELECT ON TABLE hr.regions TO ROLE regions_r;
`

// roles are the fine-grained grants, one role each; %s is the table.
var roles = []struct{ name, grants string }{
	{"full", "GRANT SELECT ON TABLE %s TO ROLE full"},
	{"cols", "GRANT SELECT(id, name, region) ON TABLE %s TO ROLE cols"},
	{"eu", "GRANT SELECT ON TABLE %s WHERE region = 'EU' TO ROLE eu"},
	{"masked", "GRANT SELECT ON TABLE %s TRANSFORM ssn WITH mask_last(4) TRANSFORM salary WITH zero() TO ROLE masked"},
	{"combo", "GRANT SELECT(id, name, ssn) ON TABLE %s WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE combo"},
	{"us_mask", "GRANT SELECT ON TABLE %s WHERE region = 'US' TRANSFORM ssn WITH mask() TO ROLE us_mask"},
	{"self", "GRANT SELECT ON TABLE %s WHERE name = current_user() OR has_group('boss') TO ROLE self"},
}

// dbRoles are attribute grants on the whole database.
var dbRoles = []struct{ name, grant string }{
	{"nopii", "GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE NOT IN (pii) TO ROLE nopii"},
	{"piionly", "GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE IN (pii.ssn) TRANSFORM pii.ssn WITH sha256() TO ROLE piionly"},
	{"tag", "GRANT SELECT ON DATABASE hr TRANSFORM pii.dob WITH round_date('year') TRANSFORM pii.ssn WITH tokenize() TO ROLE tag"},
}

// users are the principals of the golden tests: one per kind of grant and
// combinations of two roles.
var users = []authz.Principal{
	{User: "full", Groups: []string{"full"}},
	{User: "cols", Groups: []string{"cols"}},
	{User: "eu", Groups: []string{"eu"}},
	{User: "masked", Groups: []string{"masked"}},
	{User: "combo", Groups: []string{"combo"}},
	{User: "Bob", Groups: []string{"self"}},
	{User: "nopii", Groups: []string{"nopii"}},
	{User: "piionly", Groups: []string{"piionly"}},
	{User: "tag", Groups: []string{"tag"}},
	{User: "eu+cols", Groups: []string{"eu", "cols"}},
	{User: "eu+masked", Groups: []string{"eu", "masked"}},
	{User: "eu+us_mask", Groups: []string{"eu", "us_mask"}},
	{User: "combo+us_mask", Groups: []string{"combo", "us_mask"}},
	{User: "nopii+piionly", Groups: []string{"nopii", "piionly"}},
	{User: "nobody", Groups: []string{"nobody"}},
}

// recorder is an Auditor keeping what it is given.
type recorder struct {
	mu      sync.Mutex
	decided []audit.Event
	done    []audit.Event
	fail    error
}

func (r *recorder) Decide(_ context.Context, ev *audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.decided = append(r.decided, *ev)
	return nil
}

func (r *recorder) Complete(ev *audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, *ev)
}

func (r *recorder) last() audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[len(r.done)-1]
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	svc *dataplane.Service
	rec *recorder
	fx  *authztest.Fixture
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	lake := filepath.Join(root, "lake")
	const createdBy = "lakegate dataplane test (arrow-go)"
	lakefixture.WriteFile(t, filepath.Join(lake, "people/part-0.parquet"), lakefixture.PeopleParquet(t, people[:3], createdBy))
	lakefixture.WriteFile(t, filepath.Join(lake, "people/part-1.parquet"), lakefixture.PeopleParquet(t, people[3:], createdBy))
	lakefixture.WriteFile(t, filepath.Join(lake, "people_csv/data.csv"), lakefixture.CSV(people))
	lakefixture.WriteFile(t, filepath.Join(lake, "regions/r.csv"), []byte("EU,Erin\nUS,Uma\nAPAC,Pat\n"))

	var script strings.Builder
	script.WriteString(policyScript)
	groups := map[string]bool{}
	for _, u := range users {
		for _, g := range u.Groups {
			groups[g] = true
		}
	}
	for _, r := range roles {
		fmt.Fprintf(&script, "CREATE ROLE %s;\n", r.name)
		for _, tb := range []string{"hr.people", "hr.people_csv"} {
			fmt.Fprintf(&script, r.grants+";\n", tb)
		}
		fmt.Fprintf(&script, "GRANT ROLE %s TO GROUP %s;\n", r.name, r.name)
	}
	for _, r := range dbRoles {
		fmt.Fprintf(&script, "CREATE ROLE %s; %s; GRANT ROLE %s TO GROUP %s;\n", r.name, r.grant, r.name, r.name)
	}
	for g := range groups {
		if g != "nobody" {
			fmt.Fprintf(&script, "GRANT ROLE regions_r TO GROUP `%s`;\n", g)
		}
	}
	fx := authztest.New(t, authztest.Options{Script: script.String()})
	go fx.Engine.Run(t.Context()) // keeps the policy Fresh
	eng, err := dataplane.NewEngine(dataplane.EngineOptions{Objects: &lakefixture.Dir{Root: root}, TokenizeKey: testKey, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	svc, err := dataplane.New(dataplane.Options{Policy: fx.Engine, Engine: eng, Audit: rec})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, rec: rec, fx: fx}
}

// collect reads a result as "v|v|v" lines, closing it.
func collect(res *dataplane.Result) ([]string, error) {
	defer res.Close()
	var rows []string
	for res.Next() {
		rec := res.RecordBatch()
		for i := range int(rec.NumRows()) {
			vals := make([]string, rec.NumCols())
			for j := range vals {
				vals[j] = rec.Column(j).ValueStr(i)
			}
			// ValueStr aliases the batch's memory, freed at the next
			// Next: copy (Join of one value returns it as is).
			rows = append(rows, strings.Clone(strings.Join(vals, "|")))
		}
	}
	return rows, res.Err()
}

func (f *fixture) query(p authz.Principal, sql string) ([]string, error) {
	res, err := f.svc.Query(context.Background(), p, sql)
	if err != nil {
		return nil, err
	}
	return collect(res)
}

// queries are the golden statements: %s is the people table (Parquet or
// CSV copy).
var queries = []struct{ name, sql string }{
	{"select star", "SELECT * FROM %s ORDER BY id"},
	{"join", "SELECT p.id, p.name, r.manager FROM %s AS p JOIN hr.regions AS r ON p.region = r.region ORDER BY p.id"},
	{"aggregate", "SELECT region, count(*) AS n, sum(salary) AS total FROM %s GROUP BY region ORDER BY region"},
	{"count past the row filter", "SELECT count(*) FROM %s"},
	{"where on a masked column", "SELECT id, name FROM %s WHERE ssn = '987-65-4321'"},
	{"like on a masked column", "SELECT id FROM %s WHERE ssn LIKE '%%4321' ORDER BY id"},
	{"order by a hidden column", "SELECT id FROM %s ORDER BY salary DESC, id"},
	{"quoted names", `SELECT "ssn" FROM "hr".%s ORDER BY "id"`},
	{"comment hides nothing", "SELECT ssn FROM %s -- ; COPY hr.people TO '/tmp/x.csv'\nORDER BY id"},
	{"block comment and a second statement", "SELECT ssn FROM %s /* */; COPY hr.people TO '/tmp/x.csv'"},
	{"read_parquet", "SELECT * FROM read_parquet('s3://lake/people/part-0.parquet') -- %s"},
	{"read_csv of a local file", "SELECT * FROM read_csv('/etc/passwd') -- %s"},
	{"copy to", "COPY (SELECT * FROM %s) TO '/tmp/lakegate-leak.csv'"},
	{"attach", "ATTACH '/tmp/lakegate-leak.db' AS leak -- %s"},
	{"install httpfs", "INSTALL httpfs -- %s"},
	{"tokenize a guess", "SELECT lakegate_tokenize('987-65-4321') FROM %s"},
	{"a table not named db.table", `SELECT * FROM "hr.people" -- %s`},
}

// TestGolden runs every golden statement for every user over the Parquet
// table, checks that the CSV copy gives the same answers, and compares
// with testdata/scan.golden (-update rewrites it).
func TestGolden(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "#### user %s (groups %s)\n", u.User, strings.Join(u.Groups, ", "))
		for _, q := range queries {
			out := map[string]string{}
			for _, table := range []string{"hr.people", "hr.people_csv"} {
				sql := fmt.Sprintf(q.sql, table)
				if q.name == "quoted names" {
					sql = fmt.Sprintf(q.sql, scan.QuoteIdent(strings.TrimPrefix(table, "hr.")))
				}
				rows, err := f.query(u, sql)
				var s strings.Builder
				if err != nil {
					first, _, _ := strings.Cut(err.Error(), "\n")
					first = strings.ReplaceAll(first, "people_csv", "people")
					fmt.Fprintf(&s, "  error %d: %s\n", dataplane.Status(err), first)
				}
				for _, r := range rows {
					s.WriteString("  " + r + "\n")
				}
				out[table] = s.String()
				checkInvariants(t, u, q.name, sql, rows, err)
			}
			if out["hr.people"] != out["hr.people_csv"] {
				t.Errorf("%s, %s: the CSV copy differs:\nparquet\n%s\ncsv\n%s", u.User, q.name, out["hr.people"], out["hr.people_csv"])
			}
			fmt.Fprintf(&b, "== %s\n%s", q.name, out["hr.people"])
		}
	}
	path := filepath.Join("testdata", "scan.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("%s differs (run with -update to rewrite it):\n%s", path, b.String())
	}
}

// checkInvariants asserts, independently of the golden file, what the
// policy promises for u.
func checkInvariants(t *testing.T, u authz.Principal, name, sql string, rows []string, err error) {
	t.Helper()
	has := func(g string) bool { return slices.Contains(u.Groups, g) }
	text := strings.Join(rows, "\n")
	// Statements that are not one SELECT over catalog tables never run.
	switch name {
	case "block comment and a second statement", "read_parquet", "read_csv of a local file", "copy to", "attach",
		"install httpfs", "tokenize a guess", "a table not named db.table":
		if !errors.Is(err, scan.ErrRefused) || dataplane.Status(err) != 400 {
			t.Errorf("%s: %s: %q: err = %v, want refused", u.User, name, sql, err)
		}
		return
	}
	if u.User == "nobody" {
		if !errors.Is(err, authz.ErrInvalid) {
			t.Errorf("nobody: %s: err = %v, want does not exist", name, err)
		}
		return
	}
	// No raw SSN reaches a user whose every grant showing it masks it.
	ssnRaw := has("full") || has("eu") || has("self")
	if !ssnRaw {
		for _, p := range people {
			if strings.Contains(text, p.SSN) {
				t.Errorf("%s: %s: raw ssn %s returned:\n%s", u.User, name, p.SSN, text)
			}
		}
		if name == "where on a masked column" && len(rows) > 0 {
			t.Errorf("%s: filtering on the raw value of a masked column matched %q", u.User, rows)
		}
	}
	// Only EU rows reach a user whose every grant filters to the EU.
	euOnly := !slices.ContainsFunc(u.Groups, func(g string) bool { return g != "eu" && g != "combo" })
	if euOnly {
		for _, p := range people {
			if p.Region != "EU" && strings.Contains(text, p.Name) {
				t.Errorf("%s: %s: non-EU row of %s returned", u.User, name, p.Name)
			}
		}
		if name == "count past the row filter" && err == nil && text != "3" {
			t.Errorf("%s: count(*) = %q, want the 3 EU rows", u.User, text)
		}
	}
	if u.User == "Bob" && err == nil && name == "count past the row filter" && text != "1" {
		t.Errorf("Bob: count(*) = %q, want his own row only", text)
	}
	// A hidden column cannot be ordered by.
	if name == "order by a hidden column" && (has("cols") && len(u.Groups) == 1 || has("combo") && len(u.Groups) == 1) {
		if !errors.Is(err, scan.ErrQuery) {
			t.Errorf("%s: ORDER BY hidden salary: err = %v, want a query error", u.User, err)
		}
	}
}

// TestAudit: each scan is one audit event with the tables, columns,
// effective policy and rows; refusals are recorded with the reason; a
// scan whose audit record cannot be written is refused.
func TestAudit(t *testing.T) {
	f := newFixture(t)
	combo := authz.Principal{User: "combo", Groups: []string{"combo"}}
	res, err := f.svc.Query(context.Background(), combo, "SELECT id, ssn FROM hr.people ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.rec.decided) != 1 {
		t.Fatalf("decided before the first row: %d events", len(f.rec.decided))
	}
	if _, err := collect(res); err != nil {
		t.Fatal(err)
	}
	ev := f.rec.last()
	want := "hr.people: rows where region = 'EU'; ssn masked (mask_last(4)); hidden region, salary, birth_date"
	if ev.Source != audit.SourceScan || ev.Operation != dataplane.OperationQuery || ev.User != "combo" ||
		ev.Decision != audit.DecisionAllow || !slices.Equal(ev.Tables, []string{"hr.people"}) ||
		!slices.Equal(ev.Columns, []string{"id", "ssn"}) || ev.Policy != want || ev.Rows != 3 || ev.RowsTruncated {
		t.Errorf("event %+v", ev)
	}

	_, err = f.svc.Query(context.Background(), combo, "COPY hr.people TO '/tmp/x'")
	if ev := f.rec.last(); err == nil || ev.Decision != audit.DecisionDeny || ev.Status != 400 || !strings.Contains(ev.Reason, "refused") {
		t.Errorf("refusal: err %v event %+v", err, ev)
	}
	_, err = f.svc.Scan(context.Background(), authz.Principal{User: "x", Groups: []string{"nobody"}}, "hr", "people", nil, 0)
	if ev := f.rec.last(); err == nil || ev.Decision != audit.DecisionDeny || ev.Status != 404 || ev.Operation != dataplane.OperationScan {
		t.Errorf("unseen table: err %v event %+v", err, ev)
	}

	f.rec.fail = errors.New("disk full")
	if _, err := f.svc.Query(context.Background(), combo, "SELECT id FROM hr.people"); dataplane.Status(err) != 503 {
		t.Errorf("audit failure: err = %v, want 503", err)
	}
}

// TestScanAndExplain: Scan reads the named columns with a limit; Explain
// shows the effective policy and its SQL.
func TestScanAndExplain(t *testing.T) {
	f := newFixture(t)
	eu := authz.Principal{User: "eu", Groups: []string{"eu"}}
	res, err := f.svc.Scan(context.Background(), eu, "HR", "People", []string{"name", "region"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := collect(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %q", rows)
	}
	for _, r := range rows {
		if !strings.HasSuffix(r, "|EU") {
			t.Errorf("row %q is not EU", r)
		}
	}
	x, err := f.svc.Explain(authz.Principal{User: "u", Groups: []string{"eu", "us_mask"}}, "hr", "people")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"GRANT SELECT ON TABLE hr.people WHERE region = 'EU' TO ROLE eu (role eu via group eu)",
		`"ssn" = CASE WHEN ("region" = 'EU') THEN "ssn" WHEN ("region" = 'US') THEN repeat('X', length(CAST("ssn" AS VARCHAR))) ELSE NULL END`,
		`WHERE (("region" = 'EU') OR ("region" = 'US'))`,
	} {
		if !strings.Contains(x, want) {
			t.Errorf("explain lacks %q:\n%s", want, x)
		}
	}
}
