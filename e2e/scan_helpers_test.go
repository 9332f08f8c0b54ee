package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakegate/lakegate/internal/lakefixture"
)

// Helpers for the scan data plane suites (TestScan*): a PII table written
// through the proxy as arrow-go Parquet and as CSV, users holding each
// kind of fine-grained grant, and a model of what each may see, from
// which the expected records are derived.

// piiRow is a row of the PII fixture.
type piiRow = lakefixture.Person

// piiRows is the fixture: two regions besides EU, so that a row filter
// shows and hides rows.
var piiRows = lakefixture.People

// piiColumns is the table's column order.
var piiColumns = lakefixture.PeopleColumns

// regionManagers is the joined table scan.regions.
var regionManagers = map[string]string{"EU": "Erin", "US": "Uma", "APAC": "Pat"}

const (
	scanBucket    = "lake"
	scanDB        = "hr"
	scanTable     = "hr.people"     // Parquet
	scanCSVTable  = "hr.people_csv" // the same rows as CSV (TEXTFILE)
	scanPIIColumn = "id BIGINT, name STRING, ssn STRING, region STRING, salary BIGINT, birth_date DATE"
)

// scanUser is a user of the scan world: a key for the proxy and a
// lakegate token for the REST API, and the model of their policy.
type scanUser struct {
	name, key, secret, token string
	// see is the user's view of a row: nil when the row is hidden, else
	// the value of each column (nil for NULL); absent columns are not
	// visible to the user at all.
	see func(piiRow) map[string]any
	// cols are the columns the user's SELECT * returns, in order.
	cols []string
}

// maskLast is mask_last(n) as the grant language defines it: every
// character but the last n becomes 'X'.
func maskLast(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.Repeat("X", len(s)-n) + s[len(s)-n:]
}

// fullView is every column of r unchanged.
func fullView(r piiRow) map[string]any {
	return map[string]any{"id": r.ID, "name": r.Name, "ssn": r.SSN, "region": r.Region, "salary": r.Salary, "birth_date": r.BirthDate}
}

// scanWorld is a stack with the PII fixture and its users.
type scanWorld struct {
	st    *stack
	admin *s3User
	files map[string][]byte // key in scanBucket → content
	users map[string]*scanUser
}

// scanGrants are the roles of the scan world; regions_r (SELECT on
// hr.regions) goes to every group so that joins can be tried.
const scanGrants = `
CREATE DATABASE hr;
CREATE EXTERNAL TABLE hr.people (` + scanPIIColumn + `) STORED AS PARQUET LOCATION 's3://lake/people';
CREATE EXTERNAL TABLE hr.people_csv (` + scanPIIColumn + `)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION 's3://lake/people_csv';
CREATE EXTERNAL TABLE hr.regions (region STRING, manager STRING)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION 's3://lake/regions';
CREATE EXTERNAL TABLE hr.secret (id BIGINT) STORED AS PARQUET LOCATION 's3://lake/secret';
CREATE ROLE regions_r; GRANT SELECT ON TABLE hr.regions TO ROLE regions_r;
CREATE ROLE analyst_r;
GRANT SELECT ON TABLE hr.people TO ROLE analyst_r;
GRANT SELECT ON TABLE hr.people_csv TO ROLE analyst_r;
CREATE ROLE eu_r;
GRANT SELECT ON TABLE hr.people WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE eu_r;
GRANT SELECT ON TABLE hr.people_csv WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE eu_r;
CREATE ROLE cols_r;
GRANT SELECT (id, region) ON TABLE hr.people TO ROLE cols_r;
GRANT SELECT (id, region) ON TABLE hr.people_csv TO ROLE cols_r;
GRANT ROLE analyst_r TO GROUP analysts; GRANT ROLE regions_r TO GROUP analysts;
GRANT ROLE eu_r TO GROUP eu; GRANT ROLE regions_r TO GROUP eu;
GRANT ROLE cols_r TO GROUP cols; GRANT ROLE regions_r TO GROUP cols;
GRANT ROLE eu_r TO GROUP both; GRANT ROLE cols_r TO GROUP both; GRANT ROLE regions_r TO GROUP both;
`

// newScanWorld starts a stack, has the admin create the bucket and PUT
// the fixture through the proxy (Parquet in two files, CSV, regions),
// registers the tables and the roles and creates the users analyst,
// eu, cols and both (the roles of eu and cols).
func newScanWorld(t *testing.T) *scanWorld {
	t.Helper()
	st := newPolicyStack(t, lakegateOptions{})
	w := &scanWorld{st: st, admin: newS3User(st.LG, "admin", st.LG.AdminKey, st.LG.AdminSecret), files: map[string][]byte{}}
	if code, s3code := w.admin.status(t, rawReq{Method: http.MethodPut, Path: "/" + scanBucket}); code != http.StatusOK {
		t.Fatalf("admin CreateBucket %s through the proxy: %d %s", scanBucket, code, s3code)
	}
	w.files["people/part-0.parquet"] = lakefixture.PeopleParquet(t, piiRows[:3], e2eParquetWriter)
	w.files["people/part-1.parquet"] = lakefixture.PeopleParquet(t, piiRows[3:], e2eParquetWriter)
	w.files["people_csv/part-0.csv"] = lakefixture.CSV(piiRows)
	var regions bytes.Buffer
	for _, r := range []string{"EU", "US", "APAC"} {
		fmt.Fprintf(&regions, "%s,%s\n", r, regionManagers[r])
	}
	w.files["regions/r.csv"] = regions.Bytes()
	for k, b := range w.files {
		if resp := w.admin.put(t, scanBucket, k, b); resp.Status != http.StatusOK {
			t.Fatalf("admin PUT %s/%s through the proxy: %d\n%s", scanBucket, k, resp.Status, resp.Body)
		}
	}
	if stdout, stderr, code := st.LG.sqlFile(t, scanGrants); code != 0 {
		t.Fatalf("lakegate sql -f (scan grants): exit %d\n%s\n%s", code, stdout, stderr)
	}
	eu := func(r piiRow) map[string]any {
		if r.Region != "EU" {
			return nil
		}
		v := fullView(r)
		v["ssn"] = maskLast(r.SSN, 4)
		return v
	}
	w.users = map[string]*scanUser{
		"analyst": {see: fullView, cols: piiColumns},
		"eu":      {see: eu, cols: piiColumns},
		"cols": {see: func(r piiRow) map[string]any {
			return map[string]any{"id": r.ID, "region": r.Region}
		}, cols: []string{"id", "region"}},
		// Union: a column any role shows is shown; on a row only cols_r
		// shows (outside EU), the columns only eu_r grants are NULL.
		"both": {see: func(r piiRow) map[string]any {
			if v := eu(r); v != nil {
				return v
			}
			return map[string]any{"id": r.ID, "name": nil, "ssn": nil, "region": r.Region, "salary": nil, "birth_date": nil}
		}, cols: piiColumns},
	}
	groups := map[string]string{"analyst": "analysts", "eu": "eu", "cols": "cols", "both": "both"}
	for name, u := range w.users {
		u.name = name
		u.key, u.secret, u.token = catalogUser(t, st.LG, name, groups[name])
	}
	return w
}

// expectRows is what u gets from SELECT cols FROM the PII table (all
// visible columns when cols is empty), first limit rows (0: all), in the
// fixture's order.
func (u *scanUser) expectRows(cols []string, limit int) []map[string]any {
	if len(cols) == 0 {
		cols = u.cols
	}
	var out []map[string]any
	for _, r := range piiRows {
		v := u.see(r)
		if v == nil {
			continue
		}
		row := map[string]any{}
		for _, c := range cols {
			row[c] = v[c]
		}
		out = append(out, row)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// normalize turns decoded JSON values into the model's: integral numbers
// int64, other numbers float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}

// decodeRecords reads a JSON scan answer: an array of objects.
func decodeRecords(body []byte) ([]map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var raw []map[string]any
	if err := d.Decode(&raw); err != nil {
		return nil, err
	}
	if raw == nil {
		raw = []map[string]any{}
	}
	for _, r := range raw {
		for k, v := range r {
			r[k] = normalize(v)
		}
	}
	return raw, nil
}

// arrowRecords reads an Arrow IPC stream into records (and the schema's
// column names), with arrow-go's reader.
func arrowRecords(body []byte) ([]map[string]any, []string, error) {
	rd, err := ipc.NewReader(bytes.NewReader(body), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, nil, err
	}
	defer rd.Release()
	var names []string
	for _, f := range rd.Schema().Fields() {
		names = append(names, f.Name)
	}
	out := []map[string]any{}
	for rd.Next() {
		rec := rd.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := map[string]any{}
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					row[names[j]] = nil
					continue
				}
				v := col.GetOneForMarshal(i)
				if d, ok := v.(arrow.Date32); ok {
					v = d.FormattedString()
				}
				row[names[j]] = normalize(v)
			}
			out = append(out, row)
		}
	}
	return out, names, rd.Err()
}

// csvOf renders records as CSV with a header of cols; NULL is empty.
func csvOf(cols []string, rows []map[string]any) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(cols)
	for _, r := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			if r[c] != nil {
				rec[i] = fmt.Sprint(r[c])
			}
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return b.String()
}

// recordMatch compares an answer's records with the expected ones.
type recordMatch func(got, want []map[string]any) bool

// inOrder: got equals want, in order.
func inOrder(got, want []map[string]any) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(got, want)
}

// anyOrder: got holds the records of want, in any order.
func anyOrder(got, want []map[string]any) bool {
	return len(got) == len(want) && limitOf(len(want))(got, want)
}

// limitOf(n): got is n distinct records of want (a scan with records=n
// and no ORDER BY may return any n).
func limitOf(n int) recordMatch {
	return func(got, want []map[string]any) bool {
		if len(got) != n {
			return false
		}
		used := make([]bool, len(want))
	next:
		for _, g := range got {
			for i, w := range want {
				if !used[i] && reflect.DeepEqual(g, w) {
					used[i] = true
					continue next
				}
			}
			return false
		}
		return true
	}
}

// showRecords prints records one a line with sorted keys, for failures.
func showRecords(rs []map[string]any) string {
	var b strings.Builder
	for _, r := range rs {
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s=%#v", k, r[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// scanAuditEvent is the part of a scan's audit event the tests read.
type scanAuditEvent struct {
	RequestID string   `json:"request_id"`
	Source    string   `json:"source"`
	User      string   `json:"user"`
	Operation string   `json:"operation"`
	Decision  string   `json:"decision"`
	Status    int      `json:"status"`
	Reason    string   `json:"reason"`
	Query     string   `json:"query"`
	Tables    []string `json:"tables"`
	Columns   []string `json:"columns"`
	Policy    string   `json:"policy"`
	Rows      int64    `json:"rows"`
}

// scanAudit reads the server's local audit log (`lakegate audit query
// --json --dir`) with the given filters and returns the scan events.
func scanAudit(t testing.TB, lg *lakegateServer, args ...string) []scanAuditEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	full := append([]string{"audit", "query", "--json", "--config", lg.ConfigFile, "--dir", filepath.Join(lg.DataDir, "audit")}, args...)
	stdout, stderr, code := runCmd(ctx, baseEnv(home), home, lakegateBin, full...)
	if code != 0 {
		t.Fatalf("lakegate %s: exit %d\n%s", strings.Join(full, " "), code, stderr)
	}
	var out []scanAuditEvent
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e scanAuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit query printed a line that is not an event: %v: %q", err, sc.Text())
		}
		if e.Source == "scan" {
			out = append(out, e)
		}
	}
	return out
}

// sortedLines is text's lines sorted, for answers without an order.
func sortedLines(text string) string {
	lines := strings.Split(text, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
