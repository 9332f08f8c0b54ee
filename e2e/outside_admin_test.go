package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestJWTNamedAdminIsNotAdmin: the bootstrap admin is user admin of the
// users table, whose lakegate token and keys are catalog admin; a JWT
// whose sub is admin is someone else named admin. With no groups claim it
// may not change the policy (CREATE ROLE pwned; GRANT ALL ON SERVER was
// 200), nor through the token get-token hands it, and get-user shows none
// of the users table's groups. The real admin still may.
func TestJWTNamedAdminIsNotAdmin(t *testing.T) {
	signer := newJWTSigner(t, "")
	st := newPolicyStack(t, lakegateOptions{Auth: jwtOptions(signer)})
	lg := st.LG
	w := watchSecrets(t, lg)
	raw := signer.mint(t, "admin", nil, time.Now().Add(time.Hour))
	w.add(raw)
	const grab = `{"sql": "CREATE ROLE pwned; GRANT ALL ON SERVER TO ROLE pwned"}`
	sql := func(auth string) restResult {
		return restWithBody(t, lg, http.MethodPost, "/api/sql", auth, "application/json", "", grab)
	}
	if res := sql(bearer(raw)); res.Status != http.StatusForbidden {
		t.Errorf("POST /api/sql with a JWT whose sub is admin: %s, want 403", res)
	}
	if u, res, ok := lg.getUser(t, bearer(raw)); !ok || u.User != "admin" || slices.Contains(u.Groups, "admin") {
		t.Errorf("GET /api/get-user with the JWT: %s; want user admin without the users table's group admin", res)
	}
	res := lg.rest(t, http.MethodPost, "/api/get-token", bearer(raw))
	var tok struct{ Token string }
	if err := json.Unmarshal(res.Body, &tok); res.Status != http.StatusOK || err != nil || !strings.HasPrefix(tok.Token, "lgt_") {
		t.Fatalf("POST /api/get-token with the JWT: %s (%v)", res, err)
	}
	registerSecret("token from get-token", tok.Token)
	w.add(tok.Token)
	if res := sql(bearer(tok.Token)); res.Status != http.StatusForbidden {
		t.Errorf("POST /api/sql with the token the JWT got: %s, want 403", res)
	}
	if out := lg.sql(t, "SHOW ROLES"); strings.Contains(out, "pwned") {
		t.Errorf("role pwned exists:\n%s", out)
	}
}
