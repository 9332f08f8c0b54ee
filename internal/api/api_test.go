package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/store"
)

// fixture is a REST server over a real engine and credentials on SQLite:
// admin (catalog admin), alice (group analysts, holding role readers) and
// bob (group sales), each with a token.
type fixture struct {
	srv    *httptest.Server
	engine *authz.Engine
	store  *store.SQL
	keys   *credentials.Service
	tokens *credentials.Tokens
	// Tokens of the users.
	admin, alice, bob string
}

const fixturePolicy = `
CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts;
GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers;
CREATE ROLE sellers; GRANT ROLE sellers TO GROUP sales;
GRANT ALL ON URI 's3://sales' TO ROLE sellers;
`

func newFixture(t *testing.T, wrap func(api.Engine) api.Engine) *fixture {
	t.Helper()
	fx := authztest.New(t, authztest.Options{
		Script: fixturePolicy,
		Users:  map[string][]string{"alice": {"analysts"}, "bob": {"sales"}},
	})
	f := &fixture{
		engine: fx.Engine, store: fx.Store, keys: credentials.New(fx.Store), tokens: fx.Tokens,
		admin: fx.Token(t, "admin"), alice: fx.Token(t, "alice"), bob: fx.Token(t, "bob"),
	}
	var engine api.Engine = fx.Engine
	if wrap != nil {
		engine = wrap(fx.Engine)
	}
	h, err := api.New(api.Options{Engine: engine, Tokens: f.tokens, Keys: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// response is an answer of the server.
type response struct {
	status int
	header http.Header
	body   string // without the trailing newline
}

// do sends a request with token (none when empty) and body (none when
// empty) of content type ctype, and checks that the answer is JSON.
func (f *fixture) do(t *testing.T, method, path, token, ctype, body string) response {
	t.Helper()
	resp, b := send(t, f.srv, method, path, token, ctype, body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if method != http.MethodHead && !json.Valid(b) {
		t.Errorf("%s %s: body is not JSON: %q", method, path, b)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: strings.TrimSuffix(string(b), "\n")}
}

// send sends srv a request with token (none when empty) and body (none
// when empty) of content type ctype; it returns the answer and its body.
func send(t *testing.T, srv *httptest.Server, method, path, token, ctype, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestNewRequiresEverything(t *testing.T) {
	if _, err := api.New(api.Options{}); err == nil {
		t.Error("New without engine, tokens and keys succeeded")
	}
}

func TestHealthAndRouting(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name, method, path string
		status             int
		allow              string
		body               string
	}{
		{"health", "GET", "/api/health", 200, "", `{"health":"ok"}`},
		{"health HEAD", "HEAD", "/api/health", 200, "", ``},
		{"health POST", "POST", "/api/health", 405, "GET, HEAD", `{"error":"method not allowed"}`},
		{"health DELETE", "DELETE", "/api/health", 405, "GET, HEAD", `{"error":"method not allowed"}`},
		{"unknown path", "GET", "/api/nope", 404, "", `{"error":"no such endpoint"}`},
		{"root", "GET", "/", 404, "", `{"error":"no such endpoint"}`},
		{"sql is POST only, before authentication", "GET", "/api/sql", 405, "POST", `{"error":"method not allowed"}`},
		{"check is GET only", "POST", "/api/check", 405, "GET", `{"error":"method not allowed"}`},
		{"users is POST only", "GET", "/api/users", 405, "POST", `{"error":"method not allowed"}`},
		{"a user is DELETE only", "GET", "/api/users/alice", 405, "DELETE", `{"error":"method not allowed"}`},
		{"users with an empty name", "DELETE", "/api/users/", 404, "", `{"error":"no such endpoint"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, "", "", "")
			if r.status != tt.status || r.body != tt.body || r.header.Get("Allow") != tt.allow {
				t.Errorf("got %d Allow %q %s\nwant %d Allow %q %s", r.status, r.header.Get("Allow"), r.body, tt.status, tt.allow, tt.body)
			}
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", r.header)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, nil)
	const (
		required = `{"error":"authentication required: send Authorization: Bearer \u003ctoken\u003e"}`
		invalid  = `{"error":"invalid or expired token"}`
		realm    = `Bearer realm="lakegate"`
		bad      = `Bearer realm="lakegate", error="invalid_token"`
	)
	tests := []struct {
		name, authorization string
		body, challenge     string
	}{
		{"no header", "", required, realm},
		{"basic auth", "Basic YWRtaW46YWRtaW4=", required, realm},
		{"empty bearer", "Bearer ", required, realm},
		{"bearer without token", "Bearer", required, realm},
		{"another scheme starting like bearer", "Bearerish lgt_x", required, realm},
		{"blank bearer", "Bearer    ", required, realm},
		{"unknown token", "Bearer lgt_" + strings.Repeat("x", 40), invalid, bad},
		{"not a lakegate token", "Bearer eyJhbGciOiJub25lIn0.e30.", invalid, bad},
		{"access key instead of token", "Bearer LGADMIN0000000000000", invalid, bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ep := range []struct{ method, path string }{
				{"POST", "/api/sql"}, {"GET", "/api/check?uri=s3://b/k&operation=GetObject"},
				{"POST", "/api/users"}, {"DELETE", "/api/users/alice"},
			} {
				req, _ := http.NewRequestWithContext(t.Context(), ep.method, f.srv.URL+ep.path, strings.NewReader(`{"sql":"CREATE ROLE x"}`))
				req.Header.Set("Content-Type", jsonType)
				if tt.authorization != "" {
					req.Header.Set("Authorization", tt.authorization)
				}
				resp, err := f.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 401 || strings.TrimSpace(string(b)) != tt.body ||
					resp.Header.Get("WWW-Authenticate") != tt.challenge || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s %s: %d %s, WWW-Authenticate %q", ep.method, ep.path, resp.StatusCode, b, resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	// The scheme is case-insensitive.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", f.srv.URL+"/api/sql", strings.NewReader(`{"sql":"SHOW ROLES"}`))
	req.Header.Set("Authorization", "bearer "+f.alice)
	req.Header.Set("Content-Type", jsonType)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with scheme \"bearer\": %d, want 200", resp.StatusCode)
	}
	// Nothing was changed or deleted on the way.
	if !f.engine.KnownUser("alice") || strings.Contains(f.do(t, "POST", "/api/sql", f.admin, jsonType, sqlJSON("SHOW ROLES")).body, `"x"`) {
		t.Error("an unauthenticated request had an effect")
	}
}

func TestSQL(t *testing.T) {
	tests := []struct {
		name   string
		token  func(f *fixture) string
		ctype  string
		body   string
		status int
		want   string
	}{
		{
			name: "JSON body", token: admin, ctype: "application/json",
			body:   `{"sql": "CREATE ROLE r; GRANT ROLE r TO GROUP g;\nSHOW ROLE GRANT GROUP g"}`,
			status: 200,
			want: `{"results":[{"statement":"CREATE ROLE r","message":"role r created"},` +
				`{"statement":"GRANT ROLE r TO GROUP g","message":"role r granted to group g"},` +
				`{"statement":"SHOW ROLE GRANT GROUP g","columns":["role"],"rows":[["r"]]}]}`,
		},
		{
			name: "JSON with a charset", token: admin, ctype: "application/json; charset=utf-8",
			body:   sqlJSON("GRANT SELECT, SHOW ON URI ‘s3a://bkt/x’ TO ROLE readers"),
			status: 200,
			want:   `{"results":[{"statement":"GRANT SELECT, SHOW ON URI 's3://bkt/x' TO ROLE readers","message":"granted"}]}`,
		},
		{
			name: "only comments", token: admin, ctype: jsonType,
			body:   sqlJSON("-- nothing to do\n;"),
			status: 200,
			want:   `{"results":[]}`,
		},
		{
			name: "a user shows its roles", token: alice, ctype: jsonType,
			body:   sqlJSON("SHOW ROLES"),
			status: 200,
			want:   `{"results":[{"statement":"SHOW ROLES","columns":["role"],"rows":[["readers"]]}]}`,
		},
		{
			name: "syntax error", token: admin, ctype: jsonType,
			body:   sqlJSON("CREATE ROLE a;\n  GRANT SELECT ON URI 's3://bkt' TO GROUP g"),
			status: 400,
			want:   `{"error":"syntax error: line 2, column 37: expected ROLE, found \"GROUP\"","line":2,"column":37}`,
		},
		{
			name: "failing statement", token: admin, ctype: jsonType,
			body:   sqlJSON("CREATE ROLE a;\nDROP ROLE nosuch"),
			status: 400,
			want:   `{"error":"line 2, column 1: DROP ROLE nosuch: invalid request: role nosuch does not exist","line":2,"column":1}`,
		},
		{
			name: "a user may not change the policy", token: alice, ctype: "application/json",
			body:   `{"sql":"SHOW ROLES; GRANT ROLE sellers TO GROUP analysts"}`,
			status: 403,
			want:   `{"error":"line 1, column 13: GRANT ROLE sellers TO GROUP analysts: permission denied: only catalog admins (ALL ON SERVER) may change the policy","line":1,"column":13}`,
		},
		{
			name: "a user may not show another role", token: alice, ctype: jsonType,
			body:   sqlJSON("SHOW GRANTS ON ROLE sellers"),
			status: 403,
			want:   `{"error":"line 1, column 1: SHOW GRANTS ON ROLE sellers: permission denied: only catalog admins may show the grants of a role they do not hold","line":1,"column":1}`,
		},
		{
			name: "empty JSON script", token: admin, ctype: "application/json",
			body:   `{"sql": "  "}`,
			status: 400,
			want:   `{"error":"no statements: send {\"sql\": \"GRANT …;\"}"}`,
		},
		{
			name: "empty JSON body", token: admin, ctype: jsonType,
			status: 400,
			want:   `{"error":"invalid JSON body: EOF"}`,
		},
		{
			name: "invalid JSON", token: admin, ctype: "application/json",
			body:   `{"sql": `,
			status: 400,
			want:   `{"error":"invalid JSON body: unexpected EOF"}`,
		},
		{
			name: "unknown JSON field", token: admin, ctype: "application/json",
			body:   `{"query": "SHOW ROLES"}`,
			status: 400,
			want:   `{"error":"invalid JSON body: json: unknown field \"query\""}`,
		},
		{
			name: "script over 1 MiB", token: admin, ctype: jsonType,
			body:   sqlJSON("SHOW ROLES;" + strings.Repeat(" ", 1<<20)),
			status: 400,
			want:   `{"error":"invalid request: the script exceeds 1048576 bytes"}`,
		},
		// What a cross-site HTML form can send, and a body without a type:
		// refused before anything is read or run.
		{
			name: "text/plain body", token: admin, ctype: "text/plain; charset=utf-8",
			body:   "GRANT ROLE admin_role TO GROUP everyone",
			status: 415,
			want:   `{"error":"request bodies must be JSON, sent with Content-Type: application/json"}`,
		},
		{
			name: "urlencoded form", token: admin, ctype: "application/x-www-form-urlencoded",
			body:   "sql=GRANT+ROLE+admin_role+TO+GROUP+everyone",
			status: 415,
			want:   `{"error":"request bodies must be JSON, sent with Content-Type: application/json"}`,
		},
		{
			name: "multipart form", token: admin, ctype: "multipart/form-data; boundary=x",
			body:   "--x\r\nContent-Disposition: form-data; name=\"sql\"\r\n\r\nSHOW ROLES\r\n--x--\r\n",
			status: 415,
			want:   `{"error":"request bodies must be JSON, sent with Content-Type: application/json"}`,
		},
		{
			name: "JSON body without content type", token: admin,
			body:   `{"sql": "SHOW CURRENT ROLES"}`,
			status: 415,
			want:   `{"error":"request bodies must be JSON, sent with Content-Type: application/json"}`,
		},
		{
			name: "JSON lookalike type", token: admin, ctype: "application/jsonp",
			body:   `{"sql": "SHOW CURRENT ROLES"}`,
			status: 415,
			want:   `{"error":"request bodies must be JSON, sent with Content-Type: application/json"}`,
		},
		{
			name: "JSON body over 2 MiB", token: admin, ctype: "application/json",
			body:   `{"sql": "` + strings.Repeat(" ", 2<<20) + `"}`,
			status: 413,
			want:   `{"error":"request body too large"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			r := f.do(t, "POST", "/api/sql", tt.token(f), tt.ctype, tt.body)
			if r.status != tt.status || r.body != tt.want {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.body, tt.status, tt.want)
			}
		})
	}
}

func admin(f *fixture) string { return f.admin }

const jsonType = "application/json"

// sqlJSON is the JSON body of POST /api/sql running script.
func sqlJSON(script string) string {
	b, _ := json.Marshal(map[string]string{"sql": script})
	return string(b)
}
func alice(f *fixture) string { return f.alice }

// TestSQLChangeInForce: a change made through the API is what the next
// check sees.
func TestSQLChangeInForce(t *testing.T) {
	f := newFixture(t, nil)
	check := func() string {
		return f.do(t, "GET", "/api/check?user=bob&uri=s3://bkt/data/x&operation=GetObject", f.admin, "", "").body
	}
	if body := check(); !strings.Contains(body, `"decision":"DENY"`) {
		t.Fatalf("before: %s", body)
	}
	if r := f.do(t, "POST", "/api/sql", f.admin, jsonType, sqlJSON("GRANT ROLE readers TO GROUP sales")); r.status != 200 {
		t.Fatalf("GRANT: %d %s", r.status, r.body)
	}
	if body := check(); !strings.Contains(body, `"decision":"ALLOW"`) {
		t.Errorf("after: %s", body)
	}
}

// failingEngine fails Exec and Check with a technical error whose text
// must not reach the client. Exec fails as the engine does when the store
// fails on a statement: with an *authz.ExecError wrapping the store's
// error.
type failingEngine struct{ api.Engine }

var errSecret = errors.New("disk /var/lib/lakegate/db: I/O error")

func (failingEngine) Exec(_ context.Context, _ authz.Principal, script string) ([]authz.Result, error) {
	if strings.HasPrefix(script, "CREATE") {
		return nil, &authz.ExecError{Line: 1, Col: 1, Statement: script, Err: errSecret}
	}
	return nil, errSecret
}

func (failingEngine) Check(authz.Principal, string, string) (authz.Decision, error) {
	return authz.Decision{}, errSecret
}

func TestInternalErrorsHideDetail(t *testing.T) {
	f := newFixture(t, func(e api.Engine) api.Engine { return failingEngine{e} })
	for _, r := range []response{
		f.do(t, "POST", "/api/sql", f.admin, jsonType, sqlJSON("SHOW ROLES")),
		f.do(t, "POST", "/api/sql", f.admin, jsonType, sqlJSON("CREATE ROLE r")),
		f.do(t, "GET", "/api/check?uri=s3://bkt/x&operation=GetObject", f.admin, "", ""),
	} {
		if r.status != 500 || r.body != `{"error":"internal error"}` {
			t.Errorf("got %d %s, want 500 internal error", r.status, r.body)
		}
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name   string
		token  func(*fixture) string
		query  string
		status int
		want   string
	}{
		{
			name: "admin checks a user with its groups", token: admin,
			query:  "user=alice&uri=s3://bkt/data/x.csv&operation=GetObject",
			status: 200,
			want: `{"decision":"ALLOW","allowed":true,"reason":"GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)",` +
				`"user":"alice","groups":["analysts"],"uri":"s3://bkt/data/x.csv","operation":"GetObject"}`,
		},
		{
			name: "admin checks a user with other groups", token: admin,
			query:  "user=alice&groups=sales,%20other&uri=s3://sales/x&operation=DeleteObject",
			status: 200,
			want: `{"decision":"ALLOW","allowed":true,"reason":"GRANT ALL ON URI 's3://sales' TO ROLE sellers (role sellers via group sales)",` +
				`"user":"alice","groups":["sales","other"],"uri":"s3://sales/x","operation":"DeleteObject"}`,
		},
		{
			name: "admin checks an unknown user", token: admin,
			query:  "user=nobody&uri=s3://bkt/data/x&operation=GetObject",
			status: 200,
			want: `{"decision":"DENY","allowed":false,"reason":"user has no groups",` +
				`"user":"nobody","groups":[],"uri":"s3://bkt/data/x","operation":"GetObject"}`,
		},
		{
			name: "a user checks itself by default", token: alice,
			query:  "uri=s3://sales/x&operation=GetObject",
			status: 200,
			want: `{"decision":"DENY","allowed":false,"reason":"no role granted to groups [analysts] holds SELECT on s3://sales/x",` +
				`"user":"alice","groups":["analysts"],"uri":"s3://sales/x","operation":"GetObject"}`,
		},
		{
			name: "a user checks itself by name", token: alice,
			query:  "user=alice&uri=s3a://bkt/data/&operation=HeadObject",
			status: 200,
			want: `{"decision":"ALLOW","allowed":true,"reason":"GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)",` +
				`"user":"alice","groups":["analysts"],"uri":"s3a://bkt/data/","operation":"HeadObject"}`,
		},
		{
			name: "a user may not check another", token: alice,
			query:  "user=bob&uri=s3://sales/x&operation=GetObject",
			status: 403,
			want:   `{"error":"only catalog admins may check another user's access"}`,
		},
		{
			name: "a user may not choose groups", token: alice,
			query:  "groups=sales&uri=s3://sales/x&operation=GetObject",
			status: 403,
			want:   `{"error":"only catalog admins may check with groups of their choosing"}`,
		},
		{
			name: "a user may not choose groups, not even its own", token: alice,
			query:  "user=alice&groups=analysts&uri=s3://bkt/data/x&operation=GetObject",
			status: 403,
			want:   `{"error":"only catalog admins may check with groups of their choosing"}`,
		},
		{
			name: "missing uri", token: admin,
			query:  "user=alice&operation=GetObject",
			status: 400,
			want:   `{"error":"uri and operation are required, e.g. ?user=alice\u0026uri=s3://bucket/key\u0026operation=GetObject"}`,
		},
		{
			name: "missing operation", token: alice,
			query:  "uri=s3://bkt/x",
			status: 400,
			want:   `{"error":"uri and operation are required, e.g. ?user=alice\u0026uri=s3://bucket/key\u0026operation=GetObject"}`,
		},
		{
			name: "unknown operation", token: admin,
			query:  "uri=s3://bkt/x&operation=Frobnicate",
			status: 400,
			want:   `{"error":"invalid request: unknown S3 operation \"Frobnicate\" (use an API action name such as GetObject, PutObject, ListObjectsV2)"}`,
		},
		{
			name: "bad URI", token: admin,
			query:  "uri=bkt/x&operation=GetObject",
			status: 400,
			want:   `{"error":"invalid request: invalid URI \"bkt/x\": expected s3://bucket[/key]"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "GET", "/api/check?"+tt.query, tt.token(f), "", "")
			if r.status != tt.status || r.body != tt.want {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.body, tt.status, tt.want)
			}
		})
	}
}

var (
	keyIDRE = regexp.MustCompile(`^LG[A-Z0-9]{18}$`)
	tokenRE = regexp.MustCompile(`^lgt_[A-Za-z0-9]{40}$`)
)

func TestCreateUser(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "POST", "/api/users", f.admin, "application/json", `{"name": "carol", "groups": ["sales", "analysts"]}`)
	if r.status != 201 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var u struct {
		User            string   `json:"user"`
		Groups          []string `json:"groups"`
		AccessKeyID     string   `json:"access_key_id"`
		SecretAccessKey string   `json:"secret_access_key"`
		Token           string   `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.body), &u); err != nil {
		t.Fatal(err)
	}
	if u.User != "carol" || strings.Join(u.Groups, ",") != "analysts,sales" || !keyIDRE.MatchString(u.AccessKeyID) ||
		len(u.SecretAccessKey) != 40 || !tokenRE.MatchString(u.Token) {
		t.Errorf("answer %+v", u)
	}

	// The key is carol's.
	cred, err := f.keys.LookupCredential(t.Context(), u.AccessKeyID)
	if err != nil || cred.SecretAccessKey != u.SecretAccessKey || cred.Owner != "carol" || !cred.Expires.IsZero() {
		t.Errorf("stored key %+v, %v", cred, err)
	}
	// The token works, as carol with her groups.
	c := f.do(t, "GET", "/api/check?uri=s3://sales/x&operation=PutObject", u.Token, "", "")
	if c.status != 200 || !strings.Contains(c.body, `"decision":"ALLOW"`) || !strings.Contains(c.body, `"user":"carol","groups":["analysts","sales"]`) {
		t.Errorf("check with the new token: %d %s", c.status, c.body)
	}

	// Creating again replaces the groups and issues another key and token.
	r = f.do(t, "POST", "/api/users", f.admin, "application/json", `{"name": "carol"}`)
	if r.status != 201 || !strings.Contains(r.body, `"user":"carol","groups":[]`) || strings.Contains(r.body, u.Token) {
		t.Errorf("again: %d %s", r.status, r.body)
	}
	if g := f.engine.Principal("carol").Groups; len(g) != 0 {
		t.Errorf("carol's groups %v after replacing them with none", g)
	}
}

func TestCreateUserRefuses(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name   string
		token  func(*fixture) string
		body   string
		status int
		want   string
	}{
		{"not an admin", alice, `{"name": "eve", "groups": ["admin"]}`, 403, `{"error":"only catalog admins may create users"}`},
		{"no name", admin, `{"groups": ["g"]}`, 400, `{"error":"name must be 1 to 128 characters without spaces, slashes or control characters"}`},
		{"name with a space", admin, `{"name": "a b"}`, 400, `{"error":"name must be 1 to 128 characters without spaces, slashes or control characters"}`},
		{"name with a slash", admin, `{"name": "a/b"}`, 400, `{"error":"name must be 1 to 128 characters without spaces, slashes or control characters"}`},
		{"name too long", admin, `{"name": "` + strings.Repeat("a", 129) + `"}`, 400, `{"error":"name must be 1 to 128 characters without spaces, slashes or control characters"}`},
		{"group with a comma", admin, `{"name": "eve", "groups": ["a,b"]}`, 400, `{"error":"group \"a,b\" is not a valid name"}`},
		{"empty group", admin, `{"name": "eve", "groups": [""]}`, 400, `{"error":"group \"\" is not a valid name"}`},
		{"group with a control character", admin, `{"name": "eve", "groups": ["a\tb"]}`, 400, `{"error":"group \"a\\tb\" is not a valid name"}`},
		{"unknown field", admin, `{"name": "eve", "admin": true}`, 400, `{"error":"invalid JSON body: json: unknown field \"admin\""}`},
		{"not JSON", admin, `name=eve`, 400, `{"error":"invalid JSON body: invalid character 'a' in literal null (expecting 'u')"}`},
		{"body too large", admin, `{"name": "eve", "groups": ["` + strings.Repeat("g", 2<<20) + `"]}`, 413, `{"error":"request body too large"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "POST", "/api/users", tt.token(f), "application/json", tt.body)
			if r.status != tt.status || r.body != tt.want {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.body, tt.status, tt.want)
			}
			if f.engine.KnownUser("eve") {
				t.Fatal("eve was created")
			}
		})
	}
}

func TestDeleteUser(t *testing.T) {
	f := newFixture(t, nil)
	keys, err := f.keys.Issue(t.Context(), "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "DELETE", "/api/users/bob", f.alice, "", ""); r.status != 403 || r.body != `{"error":"only catalog admins may delete users"}` {
		t.Errorf("by a non-admin: %d %s", r.status, r.body)
	}
	if r := f.do(t, "DELETE", "/api/users/bob", f.admin, "", ""); r.status != 200 || r.body != `{"deleted":"bob","keys":1,"tokens":1}` {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if f.engine.KnownUser("bob") {
		t.Error("bob is still known")
	}
	// Its token and access key went with it.
	if r := f.do(t, "POST", "/api/sql", f.bob, jsonType, sqlJSON("SHOW ROLES")); r.status != 401 {
		t.Errorf("bob's token after the delete: %d %s", r.status, r.body)
	}
	if _, err := f.store.GetAccessKey(t.Context(), keys.AccessKeyID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob's access key after the delete: %v", err)
	}
	if r := f.do(t, "DELETE", "/api/users/bob", f.admin, "", ""); r.status != 404 || r.body != `{"error":"invalid request: user bob does not exist"}` {
		t.Errorf("delete again: %d %s", r.status, r.body)
	}
	if r := f.do(t, "DELETE", "/api/users/no%20such", f.admin, "", ""); r.status != 404 || r.body != `{"error":"invalid request: user no such does not exist"}` {
		t.Errorf("delete an escaped name: %d %s", r.status, r.body)
	}
}
