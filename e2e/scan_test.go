package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scan data plane end to end (issue 16): the REST scan API with curl
// and Okera's bearer token, a restricted user's files refused while the
// same data comes back through the scan API, `lakegate query`, and the
// audit record of each scan. Expected records come from the fixture
// (scan_helpers_test.go) through a model of each user's policy.

// curlResult is one answer curl received.
type curlResult struct {
	Status      int
	ContentType string
	Body        []byte
}

func (r curlResult) String() string {
	return strconv.Itoa(r.Status) + " " + r.ContentType + " " + tail(string(r.Body), 2000)
}

// curlScan sends method path to the REST API with the real curl binary,
// Okera style (`-H 'authorization: Bearer …'`; no header when token is
// empty), with body as JSON when not empty.
func curlScan(t testing.TB, lg *lakegateServer, token, method, path, body string) curlResult {
	t.Helper()
	curl := findTool("curl")
	if curl == "" {
		t.Fatal("curl not found on PATH")
	}
	dir := t.TempDir()
	out, hdr := filepath.Join(dir, "body"), filepath.Join(dir, "headers")
	args := []string{"-sS", "-g", "--max-time", "55", "-X", method, "-o", out, "-D", hdr, "-w", "%{http_code}"}
	if token != "" {
		args = append(args, "-H", "authorization: Bearer "+token)
	}
	if body != "" {
		args = append(args, "-H", "content-type: application/json", "--data-binary", body)
	}
	args = append(args, lg.RESTURL+path)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := runCmd(ctx, baseEnv(dir), dir, curl, args...)
	if code != 0 {
		t.Fatalf("curl %s %s: exit %d\n%s", method, path, code, stderr)
	}
	status, err := strconv.Atoi(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatalf("curl %s %s: status %q", method, path, stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	h, _ := os.ReadFile(hdr)
	res := curlResult{Status: status, Body: b}
	for line := range strings.SplitSeq(string(h), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "content-type") {
			res.ContentType = strings.TrimSpace(v)
		}
	}
	return res
}

// queryBody is POST /api/scan's body.
func queryBody(t testing.TB, sql string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"query": sql})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantJSONRecords checks a 200 JSON answer holding exactly want, in
// order (a statement with ORDER BY).
func wantJSONRecords(t testing.TB, what string, res curlResult, want []map[string]any) {
	t.Helper()
	wantJSON(t, what, res, want, inOrder)
}

// wantJSONScan checks a 200 JSON answer of a table scan, which has no
// ORDER BY: with limit 0 exactly the records of want in any order, else
// limit of them.
func wantJSONScan(t testing.TB, what string, res curlResult, want []map[string]any, limit int) {
	t.Helper()
	if limit > 0 {
		wantJSON(t, what, res, want, limitOf(limit))
		return
	}
	wantJSON(t, what, res, want, anyOrder)
}

func wantJSON(t testing.TB, what string, res curlResult, want []map[string]any, match recordMatch) {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Errorf("%s: %s, want 200", what, res)
		return
	}
	if !strings.HasPrefix(res.ContentType, "application/json") {
		t.Errorf("%s: content type %q, want application/json", what, res.ContentType)
	}
	got, err := decodeRecords(res.Body)
	if err != nil {
		t.Errorf("%s: the answer is not an array of JSON objects: %v\n%s", what, err, res.Body)
		return
	}
	if !match(got, want) {
		t.Errorf("%s: got\n%swant\n%s", what, showRecords(got), showRecords(want))
	}
}

// wantJSONError checks an error answer: status and a JSON body whose
// "error" holds the reason, containing each of reason.
func wantJSONError(t testing.TB, what string, res curlResult, status int, reason ...string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if res.Status != status {
		t.Errorf("%s: %s, want %d", what, res, status)
		return
	}
	if err := json.Unmarshal(res.Body, &e); err != nil || e.Error == "" {
		t.Errorf("%s: %d answer is not JSON with an error reason (%v): %s", what, status, err, res.Body)
		return
	}
	for _, r := range reason {
		if !strings.Contains(strings.ToLower(e.Error), strings.ToLower(r)) {
			t.Errorf("%s: reason %q does not say %q", what, e.Error, r)
		}
	}
}

const (
	joinSQL      = "SELECT p.id, r.manager FROM hr.people AS p JOIN hr.regions AS r ON p.region = r.region ORDER BY p.id"
	countSQL     = "SELECT region, count(*) AS n FROM hr.people GROUP BY region ORDER BY region"
	sumSalarySQL = "SELECT region, count(*) AS n, CAST(sum(salary) AS BIGINT) AS total FROM hr.people GROUP BY region ORDER BY region"
)

// expectJoin is joinSQL's answer for u: the id and region manager of each
// row u sees.
func (u *scanUser) expectJoin() []map[string]any {
	var out []map[string]any
	for _, r := range u.expectRows([]string{"id", "region"}, 0) {
		out = append(out, map[string]any{"id": r["id"], "manager": regionManagers[r["region"].(string)]})
	}
	return out
}

// expectAggregate is countSQL's (withSum: sumSalarySQL's) answer for u:
// per region in order, the rows u sees and the sum of the salaries u
// sees (NULL when u sees none).
func (u *scanUser) expectAggregate(withSum bool) []map[string]any {
	type agg struct {
		n     int64
		total any
	}
	by := map[string]*agg{}
	for _, r := range piiRows {
		v := u.see(r)
		if v == nil {
			continue
		}
		a := by[r.Region]
		if a == nil {
			a = &agg{}
			by[r.Region] = a
		}
		a.n++
		if s, ok := v["salary"].(int64); ok {
			prev, _ := a.total.(int64)
			a.total = prev + s
		}
	}
	regions := make([]string, 0, len(by))
	for r := range by {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	var out []map[string]any
	for _, r := range regions {
		row := map[string]any{"region": r, "n": by[r].n}
		if withSum {
			row["total"] = by[r].total
		}
		out = append(out, row)
	}
	return out
}

// seesSalary reports whether u's policy shows the salary column.
func (u *scanUser) seesSalary() bool { return slices.Contains(u.cols, "salary") }

// TestScanRESTWithCurl: per user (analyst: full SELECT; eu: rows where
// region = 'EU', ssn masked with mask_last(4); cols: id and region; both:
// the roles of eu and cols, their union), the exact records of GET
// /api/scan/{table} (all, records=, columns=) on the Parquet and the CSV
// copy, POST /api/scan with a join and aggregates, format=csv and
// format=arrow; refused statements are 400 JSON with a reason, a table
// the user may not see 404, no token 401.
func TestScanRESTWithCurl(t *testing.T) {
	start := time.Now()
	w := newScanWorld(t)
	lg := w.st.LG
	t.Logf("stack and fixture ready in %s", time.Since(start).Round(time.Millisecond))
	for _, name := range []string{"analyst", "eu", "cols", "both"} {
		u := w.users[name]
		t.Run(name, func(t *testing.T) {
			for _, table := range []string{scanTable, scanCSVTable} {
				base := "/api/scan/" + table
				wantJSONScan(t, "GET "+base, curlScan(t, lg, u.token, http.MethodGet, base, ""), u.expectRows(nil, 0), 0)
				wantJSONScan(t, "GET "+base+"?records=2", curlScan(t, lg, u.token, http.MethodGet, base+"?records=2", ""), u.expectRows(nil, 0), 2)
				wantJSONScan(t, "GET "+base+"?columns=region,id", curlScan(t, lg, u.token, http.MethodGet, base+"?columns=region,id", ""),
					u.expectRows([]string{"region", "id"}, 0), 0)
				res := curlScan(t, lg, u.token, http.MethodGet, base+"?columns=id,ssn&records=1", "")
				if slices.Contains(u.cols, "ssn") {
					wantJSONScan(t, "GET "+base+"?columns=id,ssn&records=1", res, u.expectRows([]string{"id", "ssn"}, 0), 1)
				} else {
					wantJSONError(t, "GET "+base+"?columns=id,ssn (hidden column)", res, http.StatusBadRequest, "ssn")
				}
			}
			wantJSONRecords(t, "POST join", curlScan(t, lg, u.token, http.MethodPost, "/api/scan", queryBody(t, joinSQL)), u.expectJoin())
			wantJSONRecords(t, "POST count", curlScan(t, lg, u.token, http.MethodPost, "/api/scan", queryBody(t, countSQL)), u.expectAggregate(false))
			res := curlScan(t, lg, u.token, http.MethodPost, "/api/scan", queryBody(t, sumSalarySQL))
			if u.seesSalary() {
				wantJSONRecords(t, "POST sum(salary)", res, u.expectAggregate(true))
			} else {
				wantJSONError(t, "POST sum(salary) (hidden column)", res, http.StatusBadRequest, "salary")
			}

			res = curlScan(t, lg, u.token, http.MethodGet, "/api/scan/"+scanTable+"?format=csv", "")
			if want := csvOf(u.cols, u.expectRows(nil, 0)); res.Status != http.StatusOK || sortedLines(string(res.Body)) != sortedLines(want) ||
				!strings.HasPrefix(string(res.Body), strings.Join(u.cols, ",")+"\n") {
				t.Errorf("GET ?format=csv: %s\nwant 200 with\n%s", res, want)
			} else if !strings.HasPrefix(res.ContentType, "text/csv") {
				t.Errorf("GET ?format=csv: content type %q", res.ContentType)
			}

			res = curlScan(t, lg, u.token, http.MethodGet, "/api/scan/"+scanCSVTable+"?format=arrow", "")
			if res.Status != http.StatusOK {
				t.Errorf("GET ?format=arrow: %s", res)
			} else if got, names, err := arrowRecords(res.Body); err != nil {
				t.Errorf("GET ?format=arrow: arrow-go's IPC reader: %v", err)
			} else if !slices.Equal(names, u.cols) || !anyOrder(got, u.expectRows(nil, 0)) {
				t.Errorf("GET ?format=arrow: columns %v, records\n%swant %v\n%s", names, showRecords(got), u.cols, showRecords(u.expectRows(nil, 0)))
			}
			res = curlScan(t, lg, u.token, http.MethodPost, "/api/scan?format=arrow", queryBody(t, joinSQL))
			if got, names, err := arrowRecords(res.Body); res.Status != http.StatusOK || err != nil ||
				!slices.Equal(names, []string{"id", "manager"}) || !inOrder(got, u.expectJoin()) {
				t.Errorf("POST ?format=arrow join: %d %v, columns %v, records\n%swant\n%s", res.Status, err, names, showRecords(got), showRecords(u.expectJoin()))
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		eu := w.users["eu"]
		for _, q := range []struct{ name, sql string }{
			{"read_parquet", "SELECT * FROM read_parquet('s3://lake/people/part-0.parquet')"},
			{"copy", "COPY (SELECT * FROM hr.people) TO '/tmp/lakegate-e2e-scan-copy.csv'"},
			{"attach", "ATTACH '/tmp/lakegate-e2e-scan.db' AS x"},
		} {
			wantJSONError(t, "POST "+q.name, curlScan(t, lg, eu.token, http.MethodPost, "/api/scan", queryBody(t, q.sql)), http.StatusBadRequest, "refused")
		}
		if _, err := os.Stat("/tmp/lakegate-e2e-scan-copy.csv"); err == nil {
			t.Errorf("COPY … TO wrote /tmp/lakegate-e2e-scan-copy.csv")
		}
		for _, p := range []string{"/api/scan/hr.secret", "/api/scan/hr.nothing", "/api/scan/nodb.people"} {
			wantJSONError(t, "GET "+p, curlScan(t, lg, eu.token, http.MethodGet, p, ""), http.StatusNotFound)
		}
		wantJSONError(t, "POST SELECT from hr.secret", curlScan(t, lg, eu.token, http.MethodPost, "/api/scan", queryBody(t, "SELECT * FROM hr.secret")), http.StatusNotFound)
		if res := curlScan(t, lg, "", http.MethodGet, "/api/scan/"+scanTable, ""); res.Status != http.StatusUnauthorized {
			t.Errorf("GET without a token: %s, want 401", res)
		}
		if res := curlScan(t, lg, "", http.MethodPost, "/api/scan", queryBody(t, countSQL)); res.Status != http.StatusUnauthorized {
			t.Errorf("POST without a token: %s, want 401", res)
		}
		if res := curlScan(t, lg, "lgt_"+randString(40, anyAlnum), http.MethodGet, "/api/scan/"+scanTable, ""); res.Status != http.StatusUnauthorized {
			t.Errorf("GET with a made-up token: %s, want 401", res)
		}
	})
	t.Logf("TestScanRESTWithCurl took %s", time.Since(start).Round(time.Millisecond))
}

// TestScanRestrictedFilesRefusedDataServed: eu's AWS CLI GetObject of the
// table's files (Parquet and CSV) is refused AccessDenied naming the scan
// API, nothing reaches MinIO; the same data comes back through the scan
// API with the policy applied (no raw SSN, no row outside EU); the
// analyst's bypass GET returns the files as written.
func TestScanRestrictedFilesRefusedDataServed(t *testing.T) {
	if findTool("aws") == "" {
		t.Fatal("aws CLI not found on PATH")
	}
	start := time.Now()
	w := newScanWorld(t)
	lg := w.st.LG
	eu, analyst := w.users["eu"], w.users["analyst"]
	euCLI := userCLI(t, w.st, eu.key, eu.secret)
	before := w.st.Rec.Len()
	for key, table := range map[string]string{"people/part-0.parquet": scanTable, "people_csv/part-0.csv": scanCSVTable} {
		out := filepath.Join(t.TempDir(), "out")
		_, stderr, code := euCLI.exec(time.Minute, "s3api", "get-object", "--bucket", scanBucket, "--key", key, out)
		if code == 0 || !strings.Contains(stderr, "AccessDenied") || !strings.Contains(stderr, "/api/scan/"+table) {
			t.Errorf("eu's get-object %s: exit %d, want AccessDenied naming /api/scan/%s:\n%s", key, code, table, stderr)
		}
		if b, err := os.ReadFile(out); err == nil && len(b) > 0 {
			t.Errorf("eu's get-object %s wrote %d bytes", key, len(b))
		}
	}
	settle(t, w.st.Rec)
	for _, r := range w.st.Rec.Since(before) {
		t.Errorf("a refused request reached MinIO: %s", r)
	}

	for _, table := range []string{scanTable, scanCSVTable} {
		res := curlScan(t, lg, eu.token, http.MethodGet, "/api/scan/"+table, "")
		wantJSONScan(t, "eu's GET /api/scan/"+table, res, eu.expectRows(nil, 0), 0)
		for _, r := range piiRows {
			if strings.Contains(string(res.Body), r.SSN) {
				t.Errorf("eu's scan of %s holds the raw SSN %s", table, r.SSN)
			}
			if r.Region != "EU" && strings.Contains(string(res.Body), r.Name) {
				t.Errorf("eu's scan of %s holds %s, outside the row filter", table, r.Name)
			}
		}
	}

	anCLI := userCLI(t, w.st, analyst.key, analyst.secret)
	for _, key := range []string{"people/part-0.parquet", "people/part-1.parquet", "people_csv/part-0.csv"} {
		out := filepath.Join(t.TempDir(), "out")
		if _, stderr, code := anCLI.exec(time.Minute, "s3api", "get-object", "--bucket", scanBucket, "--key", key, out); code != 0 {
			t.Errorf("analyst's get-object %s: exit %d\n%s", key, code, stderr)
			continue
		}
		if b, err := os.ReadFile(out); err != nil || string(b) != string(w.files[key]) {
			t.Errorf("analyst's get-object %s: %d bytes (%v), not the %d written", key, len(b), err, len(w.files[key]))
		}
	}
	wantJSONScan(t, "analyst's GET /api/scan/"+scanTable, curlScan(t, lg, analyst.token, http.MethodGet, "/api/scan/"+scanTable, ""), analyst.expectRows(nil, 0), 0)
	t.Logf("TestScanRestrictedFilesRefusedDataServed took %s", time.Since(start).Round(time.Millisecond))
}

// lakegateQuery runs `lakegate query --server … [--format f] SQL` with
// token in LAKEGATE_TOKEN.
func lakegateQuery(t testing.TB, lg *lakegateServer, token, format, sql string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	args := []string{"query", "--server", lg.RESTURL}
	if format != "" {
		args = append(args, "--format", format)
	}
	return runCmd(ctx, append(baseEnv(home), "LAKEGATE_TOKEN="+token), home, lakegateBin, append(args, sql)...)
}

// tableLines are the lines of a text table that carry values, split into
// their cells (borders and separator lines dropped).
func tableLines(out string) [][]string {
	var rows [][]string
	for line := range strings.SplitSeq(out, "\n") {
		cells := strings.FieldsFunc(line, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '|' || r == '│' || r == '┃'
		})
		if len(cells) == 0 || strings.Trim(strings.Join(cells, ""), "+-=─━┼┿╋┌┐└┘├┤┬┴╞╡╪═") == "" {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

// TestScanQueryCLI: `lakegate query` of a grouped count as the restricted
// users eu (row filter: EU only) and both (union: every region), with
// each format; the column names are those the REST API's Arrow answer
// gives the same statement.
func TestScanQueryCLI(t *testing.T) {
	start := time.Now()
	w := newScanWorld(t)
	lg := w.st.LG
	const sql = "SELECT region, count(*) FROM hr.people GROUP BY region ORDER BY region"
	for _, name := range []string{"eu", "both"} {
		u := w.users[name]
		t.Run(name, func(t *testing.T) {
			res := curlScan(t, lg, u.token, http.MethodPost, "/api/scan?format=arrow", queryBody(t, sql))
			_, names, err := arrowRecords(res.Body)
			if res.Status != http.StatusOK || err != nil || len(names) != 2 {
				t.Fatalf("POST /api/scan?format=arrow %q: %s (%v)", sql, res, err)
			}
			var want []map[string]any
			for _, r := range u.expectAggregate(false) {
				want = append(want, map[string]any{names[0]: r["region"], names[1]: r["n"]})
			}

			stdout, stderr, code := lakegateQuery(t, lg, u.token, "json", sql)
			if code != 0 {
				t.Errorf("lakegate query --format json: exit %d\n%s", code, stderr)
			} else if got, err := decodeRecords([]byte(stdout)); err != nil || !inOrder(got, want) {
				t.Errorf("lakegate query --format json (%v):\n%s\nwant\n%s", err, stdout, showRecords(want))
			}

			stdout, stderr, code = lakegateQuery(t, lg, u.token, "csv", sql)
			if wantCSV := csvOf(names, want); code != 0 || stdout != wantCSV {
				t.Errorf("lakegate query --format csv: exit %d\n%s\nwant\n%s\nstderr:\n%s", code, stdout, wantCSV, stderr)
			}

			wantTable := [][]string{names}
			for _, r := range want {
				wantTable = append(wantTable, []string{r[names[0]].(string), strconv.FormatInt(r[names[1]].(int64), 10)})
			}
			for _, format := range []string{"table", ""} {
				stdout, stderr, code = lakegateQuery(t, lg, u.token, format, sql)
				if format == "table" {
					t.Logf("lakegate query --format table:\n%s", stdout)
				}
				got := tableLines(stdout)
				// A table may end with a row count line; only the lines
				// before it are the table's.
				if len(got) > len(wantTable) {
					got = got[:len(wantTable)]
				}
				if code != 0 || !slices.EqualFunc(got, wantTable, slices.Equal[[]string]) {
					t.Errorf("lakegate query --format %q: exit %d\n%s\nwant the cells %v\nstderr:\n%s", format, code, stdout, wantTable, stderr)
				}
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		stdout, stderr, code := lakegateQuery(t, lg, w.users["eu"].token, "", "SELECT * FROM read_parquet('s3://lake/people/part-0.parquet')")
		if code == 0 || !strings.Contains(strings.ToLower(stderr), "refused") {
			t.Errorf("lakegate query read_parquet: exit %d, want non-zero saying refused\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Logf("TestScanQueryCLI took %s", time.Since(start).Round(time.Millisecond))
}

// TestScanAudit: each scan (GET with columns, POST join, the analyst's
// full scan, a refused statement) writes an audit event with the user,
// the tables, the columns returned, the effective policy (row filter and
// mask for eu, full for the analyst) and the rows returned.
func TestScanAudit(t *testing.T) {
	start := time.Now()
	w := newScanWorld(t)
	lg := w.st.LG
	eu, analyst, both := w.users["eu"], w.users["analyst"], w.users["both"]
	if res := curlScan(t, lg, eu.token, http.MethodGet, "/api/scan/"+scanTable+"?columns=id,ssn", ""); res.Status != http.StatusOK {
		t.Fatalf("eu's scan: %s", res)
	}
	if res := curlScan(t, lg, eu.token, http.MethodPost, "/api/scan", queryBody(t, joinSQL)); res.Status != http.StatusOK {
		t.Fatalf("eu's join: %s", res)
	}
	if res := curlScan(t, lg, analyst.token, http.MethodGet, "/api/scan/"+scanCSVTable, ""); res.Status != http.StatusOK {
		t.Fatalf("analyst's scan: %s", res)
	}
	if res := curlScan(t, lg, both.token, http.MethodGet, "/api/scan/"+scanTable, ""); res.Status != http.StatusOK {
		t.Fatalf("both's scan: %s", res)
	}
	if res := curlScan(t, lg, eu.token, http.MethodPost, "/api/scan", queryBody(t, "ATTACH '/tmp/x.db' AS x")); res.Status != http.StatusBadRequest {
		t.Fatalf("eu's ATTACH: %s", res)
	}

	// The audit broker writes in batches: poll until every event is there.
	var evs []scanAuditEvent
	if _, ok := poll(15*time.Second, 300*time.Millisecond, func() bool {
		evs = scanAudit(t, lg)
		return len(evs) >= 5
	}); !ok {
		t.Fatalf("%d scan events in the audit log after 15 s, want 5: %+v", len(evs), evs)
	}
	for _, e := range evs {
		t.Logf("audit: %s %s %s %d tables=%v columns=%v rows=%d policy=%q reason=%q", e.User, e.Operation, e.Decision, e.Status, e.Tables, e.Columns, e.Rows, e.Policy, e.Reason)
	}
	find := func(user, op string, match func(scanAuditEvent) bool) scanAuditEvent {
		t.Helper()
		for _, e := range evs {
			if e.User == user && e.Operation == op && match(e) {
				return e
			}
		}
		t.Fatalf("no %s event of %s in the audit log: %+v", op, user, evs)
		return scanAuditEvent{}
	}
	policyHas := func(what string, e scanAuditEvent, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(e.Policy, p) {
				t.Errorf("%s: policy %q does not say %q", what, e.Policy, p)
			}
		}
	}

	e := find("eu", "Scan", func(scanAuditEvent) bool { return true })
	if e.Decision != "allow" || e.Status != 200 || !slices.Equal(e.Tables, []string{scanTable}) ||
		!slices.Equal(e.Columns, []string{"id", "ssn"}) || e.Rows != int64(len(eu.expectRows(nil, 0))) {
		t.Errorf("eu's scan: %+v, want allow 200, tables [%s], columns [id ssn], rows %d", e, scanTable, len(eu.expectRows(nil, 0)))
	}
	policyHas("eu's scan", e, scanTable, "region = 'EU'", "ssn", "mask_last(4)")

	e = find("eu", "Query", func(e scanAuditEvent) bool { return e.Decision == "allow" })
	if !slices.Contains(e.Tables, scanTable) || !slices.Contains(e.Tables, "hr.regions") || len(e.Tables) != 2 ||
		!slices.Equal(e.Columns, []string{"id", "manager"}) || e.Rows != int64(len(eu.expectJoin())) || e.Query != joinSQL {
		t.Errorf("eu's join: %+v, want tables hr.people and hr.regions, columns [id manager], rows %d, the statement", e, len(eu.expectJoin()))
	}
	policyHas("eu's join", e, "region = 'EU'", "mask_last(4)", "hr.regions: full")

	e = find("analyst", "Scan", func(scanAuditEvent) bool { return true })
	if e.Decision != "allow" || !slices.Equal(e.Tables, []string{scanCSVTable}) || !slices.Equal(e.Columns, piiColumns) || e.Rows != int64(len(piiRows)) {
		t.Errorf("analyst's scan: %+v, want tables [%s], columns %v, rows %d", e, scanCSVTable, piiColumns, len(piiRows))
	}
	policyHas("analyst's scan", e, scanCSVTable+": full")

	e = find("both", "Scan", func(scanAuditEvent) bool { return true })
	if e.Decision != "allow" || e.Rows != int64(len(piiRows)) || !slices.Equal(e.Columns, piiColumns) {
		t.Errorf("both's scan: %+v, want allow, columns %v, rows %d", e, piiColumns, len(piiRows))
	}
	policyHas("both's scan", e, "region = 'EU'", "mask_last(4)")

	e = find("eu", "Query", func(e scanAuditEvent) bool { return e.Decision != "allow" })
	if e.Decision != "deny" || e.Status != http.StatusBadRequest || !strings.Contains(e.Reason, "refused") || e.Rows != 0 {
		t.Errorf("eu's ATTACH: %+v, want deny 400 with the reason", e)
	}
	t.Logf("TestScanAudit took %s", time.Since(start).Round(time.Millisecond))
}
