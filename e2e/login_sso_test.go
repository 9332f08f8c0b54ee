package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoginSSO is seed 002's SSO_URL: `lakegate serve` with auth.sso_url
// (Okera's SSO_URL) pointing at a token-granting endpoint run by the test,
// which answers {"username", "password"} with a JWT signed by a key the
// server verifies (auth.jwt.public_keys). `lakegate login
// --password-stdin` stores that very JWT, `lakegate credentials` exchanges
// it for AWS keys that read what the user's group is granted, and a wrong
// password is refused with a clear message, saving nothing.
func TestLoginSSO(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	signer := newJWTSigner(t, "")
	const (
		password      = "jdoe-SSO-pa55word"
		wrongPassword = "not-jdoe-password"
	)
	var (
		mu     sync.Mutex
		issued []string
		asked  []string // "user:ok" per request, never the password
	)
	ssoSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body)
		ok := err == nil && r.Method == http.MethodPost && r.Header.Get("Accept") == "application/json" &&
			body.Username == "jdoe" && body.Password == password
		mu.Lock()
		asked = append(asked, body.Username+":"+map[bool]string{true: "ok", false: "refused"}[ok])
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid username or password"}`)
			return
		}
		tok := signer.mint(t, "jdoe", []string{"Analysts"}, time.Now().Add(time.Hour))
		mu.Lock()
		issued = append(issued, tok)
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 3600})
	}))
	t.Cleanup(ssoSrv.Close)

	auth := jwtOptions(signer)
	auth["sso_url"] = ssoSrv.URL + "/api/token"
	st := newPolicyStack(t, lakegateOptions{Auth: auth})
	lg := st.LG
	w := watchSecrets(t, lg)
	w.add(password, wrongPassword)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		w.add(issued...) // checked by watchSecrets' cleanup, which runs after this one
	})
	bucket := bucketName("sso")
	const content = "jdoe's data\n"
	st.MinIO.makeBucket(t, bucket, false)
	st.MinIO.put(t, bucket, "allowed/x", content)
	st.MinIO.put(t, bucket, "other/y", "hidden\n")
	grantAnalysts(t, lg, bucket)

	home := t.TempDir()
	login := func(home, user, password string) (string, string, int) {
		return w.lakegateCLI(t, home, strings.NewReader(password+"\n"), nil,
			"login", "--user", user, "--password-stdin", "--server", lg.RESTURL)
	}
	var token string
	if !step(t, "login", func(t *testing.T) {
		stdout, stderr, code := login(home, "jdoe", password)
		if code != 0 {
			t.Fatalf("lakegate login --user jdoe --password-stdin: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		token = readTokenFile(t, home)
		mu.Lock()
		granted := append([]string(nil), issued...)
		mu.Unlock()
		w.add(token)
		if len(granted) != 1 || token != granted[0] {
			t.Fatalf("~/.lakegate/token does not hold the token the SSO endpoint issued (%d issued)", len(granted))
		}
		if strings.Contains(stdout, token) {
			t.Errorf("lakegate login printed the token")
		}
		if !strings.Contains(stdout, "logged in as jdoe") || !strings.Contains(stdout, "SSO") {
			t.Errorf("lakegate login says %q; want it to name jdoe and the SSO endpoint", strings.TrimSpace(stdout))
		}
		t.Logf("lakegate login: %s", strings.TrimSpace(stdout))
	}) {
		return
	}
	step(t, "token_is_the_users", func(t *testing.T) {
		u, res, ok := lg.getUser(t, bearer(token))
		if !ok || u.User != "jdoe" || !hasFold(u.Groups, "analysts") || u.AuthMethod != "jwt" {
			t.Errorf("GET /api/get-user with the saved token: %s; want jdoe, group analysts, a JWT", res)
		}
	})
	step(t, "credentials", func(t *testing.T) {
		stdout, stderr, code := w.lakegateCLI(t, home, nil, nil, "credentials", "--server", lg.RESTURL)
		var c awsCreds
		if code != 0 || json.Unmarshal([]byte(stdout), &c) != nil || c.Version != 1 || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			t.Fatalf("lakegate credentials after the SSO login: exit %d\nstderr:\n%s", code, stderr)
		}
		w.add(c.SecretAccessKey)
		exp, err := time.Parse(time.RFC3339, c.Expiration)
		if err != nil || exp.After(time.Now().Add(time.Hour+time.Minute)) {
			t.Errorf("keys expire at %q, after the SSO token (in an hour) (%v)", c.Expiration, err)
		}
		u := newS3User(lg, "jdoe (SSO)", c.AccessKeyID, c.SecretAccessKey)
		if r := u.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/allowed/x"}); r.Status != http.StatusOK || string(r.Body) != content {
			t.Errorf("jdoe's keys: GET allowed/x: %d %s", r.Status, r.Body)
		}
		if r := u.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/other/y"}); r.Status != http.StatusForbidden {
			t.Errorf("jdoe's keys: GET other/y: %d %s, want 403", r.Status, r.Body)
		}
	})
	step(t, "aws_cli_credential_process", func(t *testing.T) {
		cli := newCredProcessCLI(t, st, w) // skips without the aws CLI
		cli.writeToken(t, token)
		cli.read(t, bucket, "allowed/x", content)
		cli.watchCachedKeys(t)
	})
	step(t, "wrong_password", func(t *testing.T) {
		home := t.TempDir()
		stdout, stderr, code := login(home, "jdoe", wrongPassword)
		if code != 1 {
			t.Errorf("lakegate login with a wrong password: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, "wrong user name or password") {
			t.Errorf("lakegate login with a wrong password: stderr %q does not say the password was wrong", stderr)
		}
		t.Logf("lakegate login with a wrong password: exit %d: %s", code, strings.TrimSpace(stderr))
		if got := readTokenFile(t, home); got != "" {
			t.Errorf("lakegate login with a wrong password saved a token")
		}
		if res := lg.rest(t, http.MethodPost, "/api/get-token", basicAuth("jdoe", wrongPassword)); res.Status != http.StatusUnauthorized {
			t.Errorf("POST /api/get-token with a wrong password: %s, want 401", res)
		}
	})
	step(t, "sso_endpoint_down", func(t *testing.T) {
		ssoSrv.Close()
		home := t.TempDir()
		stdout, stderr, code := login(home, "jdoe", password)
		if code != 1 || !strings.Contains(stderr, "could not be checked") {
			t.Errorf("lakegate login with the SSO endpoint down: exit %d, want 1 saying the password could not be checked\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if got := readTokenFile(t, home); got != "" {
			t.Errorf("lakegate login with the SSO endpoint down saved a token")
		}
	})
	mu.Lock()
	t.Logf("the SSO endpoint was asked: %v", asked)
	mu.Unlock()
	assertResigned(t, st)
}
