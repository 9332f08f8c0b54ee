package client_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/credentials"
)

// server runs the real REST API over SQLite, with admin (catalog admin)
// and alice (group analysts, role readers), and returns their tokens.
func server(t *testing.T) (srv *httptest.Server, adminToken, aliceToken string) {
	t.Helper()
	fx := authztest.New(t, authztest.Options{
		Script: "CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts; GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers",
		Users:  map[string][]string{"alice": {"analysts"}},
	})
	h, err := api.New(api.Options{Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store)})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, fx.Token(t, "admin"), fx.Token(t, "alice")
}

func newClient(t *testing.T, url, token string) *client.Client {
	t.Helper()
	c, err := client.New(url, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSQL(t *testing.T) {
	srv, adminToken, _ := server(t)
	c := newClient(t, srv.URL+"/", adminToken) // a trailing slash is fine
	got, err := c.SQL(t.Context(), "CREATE ROLE r; GRANT ROLE r TO GROUP g; SHOW ROLE GRANT GROUP g")
	if err != nil {
		t.Fatal(err)
	}
	want := []authz.Result{
		{Statement: "CREATE ROLE r", Message: "role r created"},
		{Statement: "GRANT ROLE r TO GROUP g", Message: "role r granted to group g"},
		{Statement: "SHOW ROLE GRANT GROUP g", Columns: []string{"role"}, Rows: [][]string{{"r"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results\n got %#v\nwant %#v", got, want)
	}
}

// TestErrors checks the *APIError of each kind of failure and the message
// a terminal shows for it.
func TestErrors(t *testing.T) {
	srv, adminToken, aliceToken := server(t)
	tests := []struct {
		name  string
		token string
		call  func(c *client.Client) error
		want  client.APIError
		msg   string
	}{
		{
			name: "syntax error", token: adminToken,
			call: func(c *client.Client) error { _, err := c.SQL(t.Context(), "CREATE ROLE a;\nCREATE ROLE"); return err },
			want: client.APIError{Status: 400, Line: 2, Column: 12, Message: "syntax error: line 2, column 12: expected role name, found end of input"},
			msg:  "syntax error: line 2, column 12: expected role name, found end of input",
		},
		{
			name: "failing statement", token: adminToken,
			call: func(c *client.Client) error { _, err := c.SQL(t.Context(), "DROP ROLE nosuch"); return err },
			want: client.APIError{Status: 400, Line: 1, Column: 1, Message: "line 1, column 1: DROP ROLE nosuch: invalid request: role nosuch does not exist"},
			msg:  "line 1, column 1: DROP ROLE nosuch: invalid request: role nosuch does not exist",
		},
		{
			name: "forbidden", token: aliceToken,
			call: func(c *client.Client) error { _, err := c.SQL(t.Context(), "CREATE ROLE mine"); return err },
			want: client.APIError{Status: 403, Line: 1, Column: 1, Message: "line 1, column 1: CREATE ROLE mine: permission denied: only catalog admins (ALL ON SERVER) may change the policy"},
			msg:  "line 1, column 1: CREATE ROLE mine: permission denied: only catalog admins (ALL ON SERVER) may change the policy",
		},
		{
			name: "no token", token: "",
			call: func(c *client.Client) error { _, err := c.SQL(t.Context(), "SHOW ROLES"); return err },
			want: client.APIError{Status: 401, Message: "authentication required: send Authorization: Bearer <token>"},
			msg:  "$SERVER: authentication required: send Authorization: Bearer <token> (set LAKEGATE_TOKEN or write the token to ~/.lakegate/token)",
		},
		{
			name: "bad token", token: "lgt_" + strings.Repeat("0", 40),
			call: func(c *client.Client) error { _, err := c.SQL(t.Context(), "SHOW ROLES"); return err },
			want: client.APIError{Status: 401, Message: "invalid or expired token"},
			msg:  "$SERVER refused the token: invalid or expired token (set LAKEGATE_TOKEN or write the token to ~/.lakegate/token)",
		},
		{
			name: "missing user", token: adminToken,
			call: func(c *client.Client) error { return c.DeleteUser(t.Context(), "nobody") },
			want: client.APIError{Status: 404, Message: "invalid request: user nobody does not exist"},
			msg:  "invalid request: user nobody does not exist",
		},
		{
			name: "check another user", token: aliceToken,
			call: func(c *client.Client) error {
				_, err := c.Check(t.Context(), "admin", nil, "s3://bkt/x", "GetObject")
				return err
			},
			want: client.APIError{Status: 403, Message: "only catalog admins may check another user's access"},
			msg:  "only catalog admins may check another user's access",
		},
		{
			name: "create user as non-admin", token: aliceToken,
			call: func(c *client.Client) error { _, err := c.CreateUser(t.Context(), "eve", nil); return err },
			want: client.APIError{Status: 403, Message: "only catalog admins may create users"},
			msg:  "only catalog admins may create users",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(newClient(t, srv.URL, tt.token))
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T), want *client.APIError", err, err)
			}
			if ae.Status != tt.want.Status || ae.Message != tt.want.Message || ae.Line != tt.want.Line || ae.Column != tt.want.Column {
				t.Errorf("got %+v\nwant %+v", *ae, tt.want)
			}
			if want := strings.ReplaceAll(tt.msg, "$SERVER", srv.URL); err.Error() != want {
				t.Errorf("message\n got %q\nwant %q", err, want)
			}
		})
	}
}

func TestUsersAndCheck(t *testing.T) {
	srv, adminToken, aliceToken := server(t)
	ctx := t.Context()
	c := newClient(t, srv.URL, adminToken)
	u, err := c.CreateUser(ctx, "carol smith", nil)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Errorf("a name with a blank: %+v, %v", u, err)
	}
	u, err = c.CreateUser(ctx, "carol", []string{"analysts", "etl"})
	if err != nil {
		t.Fatal(err)
	}
	if u.User != "carol" || !reflect.DeepEqual(u.Groups, []string{"analysts", "etl"}) ||
		!strings.HasPrefix(u.AccessKeyID, "LG") || len(u.SecretAccessKey) != 40 || !strings.HasPrefix(u.Token, "lgt_") {
		t.Errorf("created %+v", u)
	}

	// Carol's token works, and without groups she is checked with hers.
	res, err := newClient(t, srv.URL, u.Token).Check(ctx, "", nil, "s3://bkt/data/x", "GetObject")
	if err != nil {
		t.Fatal(err)
	}
	want := client.CheckResult{
		Decision: "ALLOW", Allowed: true, User: "carol", Groups: []string{"analysts", "etl"},
		Reason: "GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)",
		URI:    "s3://bkt/data/x", Operation: "GetObject",
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("check\n got %+v\nwant %+v", res, want)
	}
	// The admin checks carol with groups of its choosing.
	res, err = c.Check(ctx, "carol", []string{"etl"}, "s3://bkt/data/x", "GetObject")
	if err != nil {
		t.Fatal(err)
	}
	if res.Allowed || res.Decision != "DENY" || res.Reason != "no role granted to groups [etl] holds SELECT on s3://bkt/data/x" {
		t.Errorf("check with groups: %+v", res)
	}
	// Alice checks herself.
	res, err = newClient(t, srv.URL, aliceToken).Check(ctx, "alice", nil, "s3://bkt/data/x", "PutObject")
	if err != nil || res.Decision != "DENY" || res.Reason != "no role granted to groups [analysts] holds INSERT on s3://bkt/data/x" {
		t.Errorf("alice checks herself: %+v, %v", res, err)
	}

	if err := c.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv.URL, u.Token).SQL(ctx, "SHOW ROLES"); !errors.As(err, &ae) || ae.Status != 401 {
		t.Errorf("carol's token after the delete: %v", err)
	}
	// Names are escaped in the path.
	err = c.DeleteUser(ctx, "a/b?c")
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "invalid request: user a/b?c does not exist" {
		t.Errorf("delete a name with / and ?: %v", err)
	}
}

// TestUnexpectedAnswers: answers that are not the API's own still give
// errors that say what happened.
func TestUnexpectedAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/sql":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		case "/api/users":
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("not json"))
		default:
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte(`{"error": ""}`))
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, "lgt_x")
	_, err := c.SQL(t.Context(), "SHOW ROLES")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || err.Error() != srv.URL+" answered 502 Bad Gateway" {
		t.Errorf("HTML error page: %v", err)
	}
	_, err = c.CreateUser(t.Context(), "x", nil)
	if err == nil || !strings.HasPrefix(err.Error(), srv.URL+" answered with unexpected JSON: ") {
		t.Errorf("non-JSON success: %v", err)
	}
	err = c.DeleteUser(t.Context(), "x")
	if !errors.As(err, &ae) || ae.Status != 418 || err.Error() != srv.URL+" answered 418 I'm a teapot" {
		t.Errorf("empty error message: %v", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	_, err = newClient(t, url, "lgt_x").SQL(t.Context(), "SHOW ROLES")
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the lakegate server at "+url+": ") {
		t.Errorf("error %v", err)
	}
}

func TestNewRejectsBadServer(t *testing.T) {
	for _, s := range []string{"", "127.0.0.1:8083", "ftp://host", "http://", "http//host:1", "://x"} {
		if _, err := client.New(s, "t"); err == nil || !strings.Contains(err.Error(), "expected http://host:port or https://host:port") {
			t.Errorf("New(%q): %v", s, err)
		}
	}
	for _, s := range []string{client.DefaultServer, "https://lakegate.example.com", "http://[::1]:8083/"} {
		if _, err := client.New(s, ""); err != nil {
			t.Errorf("New(%q): %v", s, err)
		}
	}
}

func TestFindToken(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		files  map[string]string // under HOME
		noHome bool
		want   string
	}{
		{"nothing", "", nil, false, ""},
		{"no home", "", nil, true, ""},
		{"environment first", " lgt_env\n", map[string]string{".lakegate/token": "lgt_lakegate", ".okera/token": "lgt_okera"}, false, "lgt_env"},
		{"environment without home", "lgt_env", nil, true, "lgt_env"},
		{"lakegate file before okera", "", map[string]string{".lakegate/token": "lgt_lakegate\n", ".okera/token": "lgt_okera"}, false, "lgt_lakegate"},
		{"okera file", "", map[string]string{".okera/token": "  okera-jwt  \nsecond line"}, false, "okera-jwt"},
		{"first line only", "", map[string]string{".lakegate/token": "lgt_first\r\nlgt_second\n"}, false, "lgt_first"},
		{"blank lakegate file falls through", "", map[string]string{".lakegate/token": "\n", ".okera/token": "lgt_okera"}, false, "lgt_okera"},
		{"blank environment falls through", "  ", map[string]string{".lakegate/token": "lgt_lakegate"}, false, "lgt_lakegate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(home, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{client.TokenEnv: tt.env, "HOME": home}
			if tt.noHome {
				env["HOME"] = ""
			}
			got, err := client.FindToken(func(k string) string { return env[k] })
			if err != nil || got != tt.want {
				t.Errorf("FindToken = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFindTokenUnreadableFile(t *testing.T) {
	home := t.TempDir()
	// A directory where the token file should be cannot be read.
	if err := os.MkdirAll(filepath.Join(home, ".lakegate", "token"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := client.FindToken(func(k string) string { return map[string]string{"HOME": home}[k] })
	if err == nil {
		t.Error("no error for an unreadable token file")
	}
}
