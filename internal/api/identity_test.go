package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
)

// fakeJWT accepts tokens "jwt:<user>" as a JWT authenticator would, with
// the groups claim ["Analysts"] and an expiry in 30 minutes.
type fakeJWT struct{ exp time.Time }

func (f fakeJWT) AuthenticateToken(_ context.Context, token string) (identity.Identity, error) {
	user, ok := strings.CutPrefix(token, "jwt:")
	if !ok {
		return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, errors.New("bad signature"))
	}
	return identity.Identity{User: user, Groups: []string{"analysts"}, Method: "jwt", Expires: f.exp}, nil
}

// fakeLDAP accepts carol/secret.
type fakeLDAP struct{}

func (fakeLDAP) AuthenticatePassword(_ context.Context, user, password string) (identity.Identity, error) {
	if user == "carol" && password == "secret" {
		return identity.Identity{User: "carol", Method: "ldap"}, nil
	}
	return identity.Identity{}, identity.ErrUnauthenticated
}

// groupsByUser resolves groups from a map.
type groupsByUser map[string][]string

func (g groupsByUser) Resolve(_ context.Context, id identity.Identity) (identity.Groups, error) {
	if gs, ok := g[id.User]; ok {
		return identity.Groups{Names: gs, CaseInsensitive: true, Source: identity.SourceLDAP}, nil
	}
	return identity.Groups{Names: id.Groups, CaseInsensitive: true, Source: identity.SourceJWT}, nil
}

func TestIdentityEndpoints(t *testing.T) {
	fx := authztest.New(t, authztest.Options{
		Script: "CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts; GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers",
		Users:  map[string][]string{"listed": {"from-table"}},
	})
	keys := credentials.New(fx.Store)
	exp := time.Now().Add(30 * time.Minute)
	h, err := api.New(api.Options{
		Engine: fx.Engine, Tokens: fx.Tokens, Keys: keys,
		TokenAuthenticators: []identity.TokenAuthenticator{fakeJWT{exp: exp}},
		Passwords:           fakeLDAP{},
		Groups:              groupsByUser{"carol": {"ldap-group"}},
		CredentialTTL:       time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	call := func(method, path, auth string, out any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
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
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("carol:secret"))

	t.Run("health-authenticated", func(t *testing.T) {
		var got map[string]any
		if code := call("GET", "/api/health-authenticated", "Bearer jwt:alice", &got); code != 200 {
			t.Fatalf("status %d", code)
		}
		if got["health"] != "ok" || got["user"] != "alice" || got["token"] != nil {
			t.Errorf("got %v", got)
		}
		if code := call("GET", "/api/health-authenticated", "Bearer not-a-jwt", nil); code != 401 {
			t.Errorf("bad JWT: status %d, want 401", code)
		}
	})
	t.Run("get-user with each method", func(t *testing.T) {
		for _, tc := range []struct {
			auth, user, method string
			groups             []string
		}{
			{"Bearer jwt:alice", "alice", "jwt", []string{"analysts"}},
			{basic, "carol", "ldap", []string{"ldap-group"}},
			// A JWT is not the users table's user of the same name.
			{"Bearer jwt:listed", "listed", "jwt", []string{"analysts"}},
		} {
			var got api.UserResponse
			if code := call("GET", "/api/get-user", tc.auth, &got); code != 200 {
				t.Fatalf("%s: status %d", tc.user, code)
			}
			if got.User != tc.user || got.Method != tc.method || !slices.Equal(got.Groups, tc.groups) {
				t.Errorf("get-user = %+v, want %s %s %v", got, tc.user, tc.method, tc.groups)
			}
		}
		wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte("carol:wrong"))
		if code := call("GET", "/api/get-user", wrong, nil); code != 401 {
			t.Errorf("wrong password: status %d, want 401", code)
		}
	})
	t.Run("get-token is reused for an hour and works", func(t *testing.T) {
		var a, b api.TokenResponse
		call("POST", "/api/get-token", basic, &a)
		call("POST", "/api/get-token", basic, &b)
		if a.Token == "" || a.Token != b.Token {
			t.Fatalf("tokens %q and %q: want one token, reused", a.Token, b.Token)
		}
		var got api.UserResponse
		if code := call("GET", "/api/get-user", "Bearer "+a.Token, &got); code != 200 || got.User != "carol" {
			t.Errorf("the issued token: status %d, user %q", code, got.User)
		}
	})
	t.Run("aws-credentials", func(t *testing.T) {
		var c api.AWSCredentials
		if code := call("POST", "/api/aws-credentials", "Bearer jwt:alice", &c); code != 200 {
			t.Fatalf("status %d", code)
		}
		if c.Version != 1 || !strings.HasPrefix(c.AccessKeyID, "LG") || len(c.SecretAccessKey) < 40 {
			t.Errorf("credentials %+v", c)
		}
		expires, err := time.Parse(time.RFC3339, c.Expiration)
		if err != nil || expires.After(exp.Add(time.Second)) {
			t.Errorf("Expiration %q: want at most the JWT's expiry %v", c.Expiration, exp)
		}
		k, err := keys.LookupCredential(t.Context(), c.AccessKeyID)
		if err != nil || k.Owner != "alice" || !slices.Equal(k.SessionGroups, []string{"analysts"}) || !k.SessionGroupsFold {
			t.Errorf("issued key: %v, owner %q, groups %v (fold %v)", err, k.Owner, k.SessionGroups, k.SessionGroupsFold)
		}
		p := fx.Engine.SessionPrincipal(k.Owner, &identity.Groups{Names: k.SessionGroups, CaseInsensitive: k.SessionGroupsFold})
		d, _ := fx.Engine.Check(p, "s3://bkt/data/x", "GetObject")
		if !d.Allowed {
			t.Errorf("alice's session is denied: %s", d.Reason)
		}
		if code := call("POST", "/api/aws-credentials", "", nil); code != 401 {
			t.Errorf("anonymous: status %d, want 401", code)
		}
	})
}

func TestRevokeCredentials(t *testing.T) {
	f := newFixture(t, nil)
	var dropped []string
	h, err := api.New(api.Options{Engine: f.engine, Tokens: f.tokens, Keys: f.keys, OnRevoke: func(id string) { dropped = append(dropped, id) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.srv = srv
	// jdoe is known only to an identity provider: keys, no users-table row.
	k, err := f.keys.Issue(t.Context(), "jdoe", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "POST", "/api/credentials/revoke", f.alice, "application/json", `{"user":"jdoe"}`); r.status != 403 {
		t.Errorf("alice revoking jdoe: %d %s", r.status, r.body)
	}
	if r := f.do(t, "DELETE", "/api/users/jdoe", f.admin, "", ""); r.status != 200 || r.body != `{"deleted":"jdoe","keys":1,"tokens":0}` {
		t.Errorf("deleting a user known only by its keys: %d %s", r.status, r.body)
	}
	if len(dropped) != 1 || dropped[0] != k.AccessKeyID {
		t.Errorf("caches told to drop %v, want [%s]", dropped, k.AccessKeyID)
	}
	if _, err := f.keys.LookupCredential(t.Context(), k.AccessKeyID); err == nil {
		t.Error("jdoe's key still resolves")
	}
	if r := f.do(t, "DELETE", "/api/users/nobody", f.admin, "", ""); r.status != 404 {
		t.Errorf("deleting nobody: %d %s", r.status, r.body)
	}
	// Users may revoke their own credentials.
	if r := f.do(t, "POST", "/api/credentials/revoke", f.bob, "application/json", `{}`); r.status != 200 || r.body != `{"user":"bob","keys":0,"tokens":1}` {
		t.Errorf("bob revoking his own: %d %s", r.status, r.body)
	}
}

// claimsJWT accepts "jwt:<user>:<minutes>:<group,…>" as a JWT
// authenticator would: that user, groups claim and expiry in so many
// minutes.
type claimsJWT struct{ now time.Time }

func (f claimsJWT) AuthenticateToken(_ context.Context, token string) (identity.Identity, error) {
	parts := strings.Split(token, ":")
	if len(parts) != 4 || parts[0] != "jwt" {
		return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, errors.New("bad signature"))
	}
	minutes, err := time.ParseDuration(parts[2] + "m")
	if err != nil {
		return identity.Identity{}, errors.Join(identity.ErrUnauthenticated, err)
	}
	var groups []string
	if parts[3] != "" {
		groups = strings.Split(parts[3], ",")
	}
	return identity.Identity{User: parts[1], Groups: groups, Method: "jwt", Expires: f.now.Add(minutes)}, nil
}

// TestGetTokenWithJWT: seed 002 treats a JWT and a token from get-token as
// interchangeable, so the token got with a JWT carries the JWT's groups
// (get-user shows them, keys for the token act with them) and stops
// working no later than the JWT.
func TestGetTokenWithJWT(t *testing.T) {
	fx := authztest.New(t, authztest.Options{
		Script: "CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts; GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers",
	})
	keys := credentials.New(fx.Store)
	now := time.Now()
	resolver, err := identity.NewResolver(identity.ResolverOptions{JWTOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Options{
		Engine: fx.Engine, Tokens: fx.Tokens, Keys: keys,
		TokenAuthenticators: []identity.TokenAuthenticator{claimsJWT{now: now}},
		Groups:              resolver,
		CredentialTTL:       12 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	call := func(method, path, auth string, out any) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		req.Header.Set("Authorization", auth)
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

	jwtExp := now.Add(30 * time.Minute)
	var tok api.TokenResponse
	if code := call("POST", "/api/get-token", "Bearer jwt:jdoe:30:Analysts,Finance", &tok); code != 200 || !strings.HasPrefix(tok.Token, credentials.TokenPrefix) {
		t.Fatalf("get-token with a JWT: status %d, %+v", code, tok)
	}
	if exp, err := time.Parse(time.RFC3339, tok.Expires); err != nil || exp.After(jwtExp) {
		t.Errorf("the token expires %q, after the JWT (%v) (%v)", tok.Expires, jwtExp.UTC().Format(time.RFC3339), err)
	}
	var u api.UserResponse
	if code := call("GET", "/api/get-user", "Bearer "+tok.Token, &u); code != 200 || u.User != "jdoe" ||
		!slices.Equal(u.Groups, []string{"analysts", "finance"}) {
		t.Errorf("get-user with the token: status %d, %+v; want jdoe with the JWT's groups [analysts finance]", code, u)
	}
	var c api.AWSCredentials
	if code := call("POST", "/api/aws-credentials", "Bearer "+tok.Token, &c); code != 200 {
		t.Fatalf("aws-credentials with the token: status %d", code)
	}
	if exp, err := time.Parse(time.RFC3339, c.Expiration); err != nil || exp.After(jwtExp.Add(time.Second)) {
		t.Errorf("keys for the token expire %q, after the JWT (%v)", c.Expiration, err)
	}
	k, err := keys.LookupCredential(t.Context(), c.AccessKeyID)
	if err != nil || !slices.Equal(k.SessionGroups, []string{"analysts", "finance"}) || !k.SessionGroupsFold {
		t.Fatalf("keys for the token: %v, groups %v (fold %v)", err, k.SessionGroups, k.SessionGroupsFold)
	}
	d, _ := fx.Engine.Check(fx.Engine.SessionPrincipal(k.Owner, &identity.Groups{Names: k.SessionGroups, CaseInsensitive: true}), "s3://bkt/data/x", "GetObject")
	if !d.Allowed {
		t.Errorf("the token's keys are denied what the JWT's groups allow: %s", d.Reason)
	}

	// Within the hour the same token would be handed out again, but not to
	// a JWT that expires sooner or carries other groups.
	var short api.TokenResponse
	call("POST", "/api/get-token", "Bearer jwt:jdoe:5:Analysts,Finance", &short)
	if exp, err := time.Parse(time.RFC3339, short.Expires); err != nil || exp.After(now.Add(5*time.Minute)) {
		t.Errorf("get-token with a JWT expiring in 5 minutes: token expires %q (%v)", short.Expires, err)
	}
	var other api.TokenResponse
	call("POST", "/api/get-token", "Bearer jwt:jdoe:30:Sales", &other)
	if other.Token == tok.Token || other.Token == short.Token {
		t.Error("a JWT with other groups got the token issued for the first one")
	}
	if code := call("GET", "/api/get-user", "Bearer "+other.Token, &u); code != 200 || !slices.Equal(u.Groups, []string{"sales"}) {
		t.Errorf("get-user with the Sales token: %d %+v", code, u)
	}
}
