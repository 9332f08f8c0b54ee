//go:build duckdb_arrow

package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/api/apitest"
)

const scanPolicy = apitest.PeoplePolicy + `CREATE ROLE lister; GRANT ROLE lister TO GROUP lister;
GRANT SHOW ON DATABASE hr TO ROLE lister;
`

type scanFixture struct {
	srv                *httptest.Server
	alice, carol, dave string
}

func newScanFixture(t *testing.T) *scanFixture {
	t.Helper()
	srv, fx := apitest.ScanServer(t, apitest.ScanOptions{Script: scanPolicy, MaxRows: 100,
		Users: map[string][]string{"alice": {"eu"}, "carol": {"lister"}, "dave": {"nothing"}}})
	return &scanFixture{srv: srv, alice: fx.Token(t, "alice"), carol: fx.Token(t, "carol"), dave: fx.Token(t, "dave")}
}

func (f *scanFixture) do(t *testing.T, method, path, token, ctype, body string) (*http.Response, []byte) {
	t.Helper()
	return send(t, f.srv, method, path, token, ctype, body)
}

func TestScanFormats(t *testing.T) {
	f := newScanFixture(t)
	t.Run("json records", func(t *testing.T) {
		resp, body := f.do(t, "GET", "/api/scan/hr.people", f.alice, "", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != api.ContentTypeJSON {
			t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var rows []map[string]any
		if err := json.Unmarshal(body, &rows); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		want := `[{"id":1,"name":"Alice","region":"EU","ssn":"XXXXXXX6789"},{"id":3,"name":"Carol","region":"EU","ssn":"XXXXXXX3456"}]`
		if got, _ := json.Marshal(rows); string(got) != want {
			t.Errorf("rows %s\nwant %s", got, want)
		}
		if resp.Trailer.Get(api.TruncatedTrailer) != "false" {
			t.Errorf("trailer %q", resp.Trailer.Get(api.TruncatedTrailer))
		}
	})
	t.Run("records and columns", func(t *testing.T) {
		resp, body := f.do(t, "GET", "/api/scan/hr.people?records=1&columns=name,ssn", f.alice, "", "")
		if resp.StatusCode != 200 || string(body) != `[{"name":"Alice","ssn":"XXXXXXX6789"}]`+"\n" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("csv", func(t *testing.T) {
		resp, body := f.do(t, "GET", "/api/scan/hr.people?format=csv&columns=id,ssn", f.alice, "", "")
		if resp.StatusCode != 200 || string(body) != "id,ssn\n1,XXXXXXX6789\n3,XXXXXXX3456\n" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("csv without rows has the header", func(t *testing.T) {
		resp, body := f.do(t, "POST", "/api/scan?format=csv", f.alice, "application/json",
			`{"query": "SELECT id, name FROM hr.people WHERE id > 100"}`)
		if resp.StatusCode != 200 || string(body) != "id,name\n" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("json without rows", func(t *testing.T) {
		resp, body := f.do(t, "GET", "/api/scan/hr.people?records=0&columns=id", f.alice, "", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), `[{"id":1}`) {
			t.Errorf("records=0 means the server's limit: %d %q", resp.StatusCode, body)
		}
		resp, body = f.do(t, "POST", "/api/scan", f.alice, "application/json", `{"query": "SELECT id FROM hr.people WHERE false"}`)
		if resp.StatusCode != 200 || string(body) != "[]\n" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("arrow", func(t *testing.T) {
		resp, body := f.do(t, "GET", "/api/scan/hr.people?format=arrow", f.alice, "", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != api.ContentTypeArrow {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		rd, err := ipc.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Release()
		var n int64
		var names []string
		for rd.Next() {
			rec := rd.RecordBatch()
			n += rec.NumRows()
			for i := range int(rec.NumRows()) {
				names = append(names, rec.Column(1).ValueStr(i))
			}
		}
		if n != 2 || strings.Join(names, ",") != "Alice,Carol" {
			t.Errorf("%d rows, names %v", n, names)
		}
	})
	t.Run("query", func(t *testing.T) {
		resp, body := f.do(t, "POST", "/api/scan", f.alice, "application/json",
			`{"query": "SELECT count(*) AS n FROM hr.people WHERE ssn = '987-65-4321' OR region = 'US'"}`)
		if resp.StatusCode != 200 || string(body) != `[{"n":0}]`+"\n" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})
}

func TestScanErrors(t *testing.T) {
	f := newScanFixture(t)
	tests := []struct {
		name, method, path, token, ctype, body string
		status                                 int
		reason                                 string
	}{
		{"no token", "GET", "/api/scan/hr.people", "", "", "", 401, ""},
		{"table not visible", "GET", "/api/scan/hr.people", f.dave, "", "", 404, "table hr.people does not exist"},
		{"visible without SELECT", "GET", "/api/scan/hr.people", f.carol, "", "", 403, "holds no SELECT grant"},
		{"bad name", "GET", "/api/scan/people", f.alice, "", "", 400, "database.table"},
		{"bad records", "GET", "/api/scan/hr.people?records=x", f.alice, "", "", 400, "records"},
		{"bad format", "GET", "/api/scan/hr.people?format=xml", f.alice, "", "", 400, "format"},
		{"refused statement", "POST", "/api/scan", f.alice, "application/json", `{"query": "COPY hr.people TO '/tmp/x'"}`, 400, "refused"},
		{"table function", "POST", "/api/scan", f.alice, "application/json",
			`{"query": "SELECT * FROM read_csv('/etc/passwd')"}`, 400, "refused"},
		{"unknown column", "POST", "/api/scan", f.alice, "application/json", `{"query": "SELECT salary FROM hr.people"}`, 400, "salary"},
		{"empty query", "POST", "/api/scan", f.alice, "application/json", `{"query": " "}`, 400, "no query"},
		{"form body", "POST", "/api/scan", f.alice, "text/plain", `{"query": "SELECT 1"}`, 415, ""},
		{"GET on POST endpoint", "GET", "/api/scan", f.alice, "", "", 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, tc.method, tc.path, tc.token, tc.ctype, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body is not JSON: %q", body)
			}
			if !strings.Contains(e.Error, tc.reason) {
				t.Errorf("error %q lacks %q", e.Error, tc.reason)
			}
		})
	}
}
