package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
)

// anyPassword accepts every user with the password "pw", as an LDAP
// server holding that user would.
type anyPassword struct{}

func (anyPassword) AuthenticatePassword(_ context.Context, user, password string) (identity.Identity, error) {
	if password != "pw" {
		return identity.Identity{}, identity.ErrUnauthenticated
	}
	return identity.Identity{User: user, Method: "ldap"}, nil
}

// negotiateAs accepts "Negotiate <principal>" as a Kerberos acceptor
// would accept a ticket for that principal.
type negotiateAs struct{}

func (negotiateAs) Negotiate(r *http.Request) (identity.Identity, error) {
	_, p, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if p == "" {
		return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, errors.New("no ticket"))
	}
	return identity.Identity{User: p, Method: "kerberos"}, nil
}

// noGroups resolves no groups for anyone (a host or LDAP without them).
type noGroups struct{}

func (noGroups) Resolve(_ context.Context, id identity.Identity) (identity.Groups, error) {
	if id.Session != nil {
		return *id.Session, nil
	}
	return identity.Groups{Names: id.Groups, CaseInsensitive: true, Source: identity.SourceJWT}, nil
}

// TestOutsideIdentityNamedAdmin: the users table's groups (the bootstrap
// admin's above all) are for lakegate credentials issued to that user; an
// identity from a JWT, LDAP or Kerberos that is merely named like it gets
// its own groups, and so do the tokens and keys it is issued.
func TestOutsideIdentityNamedAdmin(t *testing.T) {
	fx := authztest.New(t, authztest.Options{})
	keys := credentials.New(fx.Store)
	h, err := api.New(api.Options{
		Engine: fx.Engine, Tokens: fx.Tokens, Keys: keys,
		TokenAuthenticators: []identity.TokenAuthenticator{fakeJWT{exp: time.Now().Add(30 * time.Minute)}},
		Passwords:           anyPassword{},
		Negotiator:          negotiateAs{},
		Groups:              noGroups{},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	call := func(method, path, auth, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil && resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	grab := `{"sql": "CREATE ROLE pwned; GRANT ALL ON SERVER TO ROLE pwned"}`
	for _, tc := range []struct{ name, auth string }{
		{"JWT sub admin", "Bearer jwt:admin"},
		{"LDAP user admin", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:pw"))},
		{"Kerberos principal admin", "Negotiate admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := call("POST", "/api/sql", tc.auth, grab, nil); code != http.StatusForbidden {
				t.Errorf("CREATE ROLE; GRANT ALL ON SERVER: status %d, want 403", code)
			}
			var u api.UserResponse
			if code := call("GET", "/api/get-user", tc.auth, "", &u); code != 200 || len(u.Groups) > 0 && u.Groups[0] == "admin" {
				t.Errorf("get-user: status %d, %+v; want none of the users table's groups", code, u)
			}
			var tok api.TokenResponse
			if code := call("POST", "/api/get-token", tc.auth, "", &tok); code != 200 {
				t.Fatalf("get-token: status %d", code)
			}
			if code := call("POST", "/api/sql", "Bearer "+tok.Token, grab, nil); code != http.StatusForbidden {
				t.Errorf("with the token it was issued: status %d, want 403", code)
			}
			var c api.AWSCredentials
			if code := call("POST", "/api/aws-credentials", tc.auth, "", &c); code != 200 {
				t.Fatalf("aws-credentials: status %d", code)
			}
			k, err := keys.LookupCredential(t.Context(), c.AccessKeyID)
			if err != nil {
				t.Fatal(err)
			}
			var session *identity.Groups
			if k.SessionGroups != nil {
				session = &identity.Groups{Names: k.SessionGroups, CaseInsensitive: k.SessionGroupsFold}
			}
			if p := fx.Engine.SessionPrincipal(k.Owner, session); fx.Engine.IsCatalogAdmin(p) {
				t.Errorf("the keys it was issued are catalog admin: %+v", p)
			}
		})
	}
	// The bootstrap admin's own token still is.
	if code := call("POST", "/api/sql", "Bearer "+fx.Token(t, "admin"), `{"sql": "CREATE ROLE mine"}`, nil); code != 200 {
		t.Errorf("the admin's lakegate token: status %d, want 200", code)
	}
}
