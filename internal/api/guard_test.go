package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/systoken"
)

// systemTokens accepts "system-token" as lakegate's system token.
type systemTokens struct{}

func (systemTokens) AuthenticateToken(_ context.Context, tok string) (identity.Identity, error) {
	if tok != "system-token" {
		return identity.Identity{}, identity.ErrUnauthenticated
	}
	return identity.Identity{User: systoken.Subject, Method: systoken.Method}, nil
}

// guardFixture is a REST server with allowed origins and metrics.
func guardFixture(t *testing.T) (srv *httptest.Server, adminTok, aliceTok string) {
	t.Helper()
	fx := authztest.New(t, authztest.Options{Script: fixturePolicy, Users: map[string][]string{"alice": {"analysts"}}})
	h, err := api.New(api.Options{
		Engine: fx.Engine, Tokens: fx.Tokens, Keys: credentials.New(fx.Store),
		TokenAuthenticators: []identity.TokenAuthenticator{systemTokens{}},
		AllowedOrigins:      []string{"https://UI.example.com"},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "lakegate_up 1\n")
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, fx.Token(t, "admin"), fx.Token(t, "alice")
}

func TestStateChangingRequestsGuarded(t *testing.T) {
	srv, adminTok, _ := guardFixture(t)
	own := srv.URL // http://127.0.0.1:port
	const (
		jsonErr   = `{"error":"request bodies must be JSON, sent with Content-Type: application/json"}`
		originErr = `{"error":"cross-origin request refused: the Origin header names neither this server nor an origin in rest.allowed_origins"}`
	)
	tests := []struct {
		name, method, path string
		origin             []string // nil: no Origin header
		ctype, body        string
		status             int
		want               string // exact body, "" for any
	}{
		{name: "JSON without Origin (curl, lakegate sql)", method: "POST", path: "/api/sql", ctype: jsonType, body: sqlJSON("SHOW ROLES"), status: 200},
		{name: "own origin", method: "POST", path: "/api/sql", origin: []string{own}, ctype: jsonType, body: sqlJSON("SHOW ROLES"), status: 200},
		{name: "allowed origin, case aside", method: "POST", path: "/api/sql", origin: []string{"https://ui.EXAMPLE.com"}, ctype: jsonType, body: sqlJSON("SHOW ROLES"), status: 200},
		{name: "foreign origin", method: "POST", path: "/api/sql", origin: []string{"https://evil.example"}, ctype: jsonType, body: sqlJSON("CREATE ROLE x"), status: 403, want: originErr},
		// TLS may end at a load balancer in front: https on the own host
		// is the own origin.
		{name: "own host over https", method: "POST", path: "/api/sql", origin: []string{strings.Replace(own, "http:", "https:", 1)}, ctype: jsonType, body: sqlJSON("SHOW ROLES"), status: 200},
		{name: "own host, other port", method: "POST", path: "/api/sql", origin: []string{own + "1"}, ctype: jsonType, body: sqlJSON("CREATE ROLE x"), status: 403, want: originErr},
		{name: "null origin (sandboxed frame)", method: "POST", path: "/api/sql", origin: []string{"null"}, ctype: jsonType, body: sqlJSON("CREATE ROLE x"), status: 403, want: originErr},
		{name: "empty origin", method: "POST", path: "/api/sql", origin: []string{""}, ctype: jsonType, body: sqlJSON("CREATE ROLE x"), status: 403, want: originErr},
		{name: "two origins", method: "POST", path: "/api/sql", origin: []string{own, "https://evil.example"}, ctype: jsonType, body: sqlJSON("CREATE ROLE x"), status: 403, want: originErr},
		{name: "foreign origin deleting a user", method: "DELETE", path: "/api/users/alice", origin: []string{"https://evil.example"}, status: 403, want: originErr},
		{name: "foreign origin asking for keys", method: "POST", path: "/api/aws-credentials", origin: []string{"https://evil.example"}, status: 403, want: originErr},
		{name: "form from the own origin", method: "POST", path: "/api/sql", origin: []string{own}, ctype: "text/plain", body: "CREATE ROLE x", status: 415, want: jsonErr},
		{name: "empty POST without type", method: "POST", path: "/api/get-token", status: 200},
		{name: "empty POST declared text/plain", method: "POST", path: "/api/get-token", ctype: "text/plain", status: 415, want: jsonErr},
		{name: "DELETE without body", method: "DELETE", path: "/api/users/alice", status: 200},
		{name: "GET with a foreign origin is read-only", method: "GET", path: "/api/get-user", origin: []string{"https://evil.example"}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+adminTok)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.origin != nil {
				req.Header["Origin"] = tt.origin
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := strings.TrimSpace(string(b))
			if resp.StatusCode != tt.status || (tt.want != "" && got != tt.want) {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, got, tt.status, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
		})
	}
}

func TestMetricsNeedAdminOrSystem(t *testing.T) {
	srv, adminTok, aliceTok := guardFixture(t)
	tests := []struct {
		name, auth string
		status     int
	}{
		{name: "anonymous", status: 401},
		{name: "a user", auth: "Bearer " + aliceTok, status: 403},
		{name: "a catalog admin", auth: "Bearer " + adminTok, status: 200},
		{name: "the system token", auth: "Bearer system-token", status: 200},
		{name: "a bad token", auth: "Bearer lgt_" + strings.Repeat("x", 40), status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/metrics", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.status)
			}
			if leaked := strings.Contains(string(b), "lakegate_up"); leaked != (tt.status == 200) {
				t.Errorf("metrics in the answer: %v, want %v: %s", leaked, tt.status == 200, b)
			}
		})
	}
}
