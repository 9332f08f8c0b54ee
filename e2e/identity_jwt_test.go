package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// grantAnalysts lets group analysts read and list s3://bucket/allowed.
func grantAnalysts(t *testing.T, lg *lakegateServer, bucket string) {
	t.Helper()
	lg.sql(t,
		"CREATE ROLE analyst_role",
		"GRANT ROLE analyst_role TO GROUP analysts",
		fmt.Sprintf("GRANT SELECT, SHOW ON URI 's3://%s/allowed' TO ROLE analyst_role", bucket),
	)
}

// TestJWTCredentialProcess is the identity issue's JWT path end to end: a
// JWT from a test key (auth.jwt.public_keys, RS256) with sub jdoe and
// groups ["Analysts"]; a grant to GROUP analysts; an AWS CLI v1 profile
// whose credential_process is `lakegate credentials` reads what the grant
// allows and is refused the rest. An expired JWT makes `lakegate
// credentials` fail clearly; the token retrieval script replaces it.
func TestJWTCredentialProcess(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	signer := newJWTSigner(t, "")
	st := newPolicyStack(t, lakegateOptions{Auth: jwtOptions(signer)})
	lg := st.LG
	w := watchSecrets(t, lg)
	bucket := bucketName("jwt")
	const content = "id,name\n1,allowed\n"
	st.MinIO.makeBucket(t, bucket, false)
	st.MinIO.put(t, bucket, "allowed/x", content)
	st.MinIO.put(t, bucket, "other/y", "hidden\n")
	grantAnalysts(t, lg, bucket)

	fresh := signer.mint(t, "jdoe", []string{"Analysts"}, time.Now().Add(time.Hour))
	expired := signer.mint(t, "jdoe", []string{"Analysts"}, time.Now().Add(-time.Hour))
	w.add(fresh, expired)

	step(t, "get_user", func(t *testing.T) {
		u, res, ok := lg.getUser(t, bearer(fresh))
		if !ok || u.User != "jdoe" || !hasFold(u.Groups, "analysts") {
			t.Errorf("GET /api/get-user with the JWT: %s; want user jdoe with group Analysts", res)
		}
		if res := lg.rest(t, http.MethodGet, "/api/health-authenticated", bearer(fresh)); res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"jdoe"`) {
			t.Errorf("GET /api/health-authenticated with the JWT: %s", res)
		}
	})
	step(t, "token_in_env", func(t *testing.T) {
		cli := newCredProcessCLI(t, st, w, "LAKEGATE_TOKEN="+fresh)
		cli.read(t, bucket, "allowed/x", content)
		keys := cli.watchCachedKeys(t)
		if exp, err := time.Parse(time.RFC3339, keys.Expiration); err != nil || exp.After(time.Now().Add(time.Hour+time.Minute)) {
			t.Errorf("keys expire at %q, after the JWT (in an hour) (%v)", keys.Expiration, err)
		}
		before := st.Rec.Len()
		out := filepath.Join(t.TempDir(), "y")
		stdout, stderr, code := cli.exec("s3api", "get-object", "--bucket", bucket, "--key", "other/y", out)
		if code == 0 || !strings.Contains(stderr, "AccessDenied") {
			t.Errorf("aws s3api get-object other/y: exit %d, want AccessDenied\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if b, err := os.ReadFile(out); err == nil && len(b) > 0 {
			t.Errorf("the refused read wrote %q", b)
		}
		settle(t, st.Rec)
		for _, r := range st.Rec.Since(before) {
			t.Errorf("upstream saw %s for the refused read", r)
		}
		// The grant is SELECT and SHOW on allowed/ only: no writes.
		src := filepath.Join(t.TempDir(), "new")
		if err := os.WriteFile(src, []byte("new\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code = cli.exec("s3api", "put-object", "--bucket", bucket, "--key", "allowed/new", "--body", src)
		if code == 0 || !deniedOutput(stderr) {
			t.Errorf("aws s3api put-object allowed/new: exit %d, want AccessDenied\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if st.MinIO.objectExists(t, bucket, "allowed/new") {
			t.Errorf("the refused put-object stored allowed/new")
		}
	})
	step(t, "token_in_file", func(t *testing.T) {
		cli := newCredProcessCLI(t, st, w)
		cli.writeToken(t, fresh)
		cli.read(t, bucket, "allowed/x", content)
		cli.watchCachedKeys(t)
	})
	step(t, "expired_token", func(t *testing.T) {
		stdout, stderr, code := w.lakegateCLI(t, "", nil, []string{"LAKEGATE_TOKEN=" + expired}, "credentials", "--server", lg.RESTURL)
		if code != 1 {
			t.Errorf("lakegate credentials with an expired JWT: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if low := strings.ToLower(stderr); !strings.Contains(low, "expired") && !strings.Contains(low, "invalid") {
			t.Errorf("lakegate credentials with an expired JWT: stderr %q does not say the token is invalid or expired", stderr)
		}
		if strings.Contains(stdout, "AccessKeyId") {
			t.Errorf("lakegate credentials printed keys for an expired JWT:\n%s", stdout)
		}
		cli := newCredProcessCLI(t, st, w, "LAKEGATE_TOKEN="+expired)
		before := st.Rec.Len()
		stdout, stderr, code = cli.exec("s3", "cp", "--no-progress", "s3://"+bucket+"/allowed/x", "-")
		if code == 0 || strings.Contains(stdout, content) {
			t.Errorf("aws s3 cp with an expired JWT: exit %d, printed %q; want a failure\nstderr:\n%s", code, stdout, stderr)
		}
		t.Logf("the AWS CLI with an expired JWT: exit %d: %s", code, strings.TrimSpace(tail(stderr, 300)))
		settle(t, st.Rec)
		for _, r := range st.Rec.Since(before) {
			t.Errorf("upstream saw %s with an expired JWT", r)
		}
	})
	step(t, "retrieval_script_renews", func(t *testing.T) {
		renewed := signer.mint(t, "jdoe", []string{"Analysts"}, time.Now().Add(time.Hour))
		w.add(renewed)
		dir := t.TempDir()
		script := filepath.Join(dir, "get-token.sh")
		body := fmt.Sprintf("#!/bin/sh\necho run >> %s\nprintf '%%s\\n' '%s'\n", filepath.Join(dir, "runs"), renewed)
		if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
		cli := newCredProcessCLI(t, st, w, "LAKEGATE_TOKEN_RETRIEVAL_SCRIPT="+script)
		cli.writeToken(t, expired)
		cli.read(t, bucket, "allowed/x", content)
		if got := cli.token(t); got != renewed {
			t.Errorf("~/.lakegate/token after the script ran: %.20s…, want the script's token %.20s…", got, renewed)
		}
		runs, _ := os.ReadFile(filepath.Join(dir, "runs"))
		if n := strings.Count(string(runs), "run"); n != 1 {
			t.Errorf("the retrieval script ran %d times, want 1", n)
		}
		cli.watchCachedKeys(t)
		// The renewed token and the cached keys now serve without the script.
		cli.read(t, bucket, "allowed/x", content)
		runs, _ = os.ReadFile(filepath.Join(dir, "runs"))
		if n := strings.Count(string(runs), "run"); n != 1 {
			t.Errorf("the retrieval script ran %d times after a second read, want 1", n)
		}
	})
	assertResigned(t, st)
}

// jwksServer is a JSON Web Key Set on 127.0.0.1 whose keys a test swaps.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     []byte
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		doc := s.doc
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

// publish makes the set hold exactly the signers' keys.
func (s *jwksServer) publish(t testing.TB, signers ...*jwtSigner) {
	t.Helper()
	keys := []map[string]string{}
	for _, sg := range signers {
		keys = append(keys, sg.jwk())
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.doc = doc
	s.mu.Unlock()
}

// TestJWKSRotation: with auth.jwt.jwks_url, a token whose kid is k1
// works; once the key set holds k2 instead, a k2 token works without
// restarting lakegate, and the k1 token is refused. lakegate refreshes the
// set on an unknown kid at most every 10 s, so both are polled.
func TestJWKSRotation(t *testing.T) {
	k1, k2 := newJWTSigner(t, "k1"), newJWTSigner(t, "k2")
	jwks := newJWKSServer(t)
	jwks.publish(t, k1)
	st := newPolicyStack(t, lakegateOptions{Auth: map[string]any{"jwt": map[string]any{"jwks_url": jwks.URL + "/.well-known/jwks.json"}}})
	lg := st.LG
	w := watchSecrets(t, lg)
	t1 := k1.mint(t, "jdoe", []string{"Analysts"}, time.Now().Add(time.Hour))
	t2 := k2.mint(t, "jdoe", []string{"Analysts"}, time.Now().Add(time.Hour))
	w.add(t1, t2)

	if u, res, ok := lg.getUser(t, bearer(t1)); !ok || u.User != "jdoe" || !hasFold(u.Groups, "analysts") {
		t.Fatalf("GET /api/get-user with the k1 token: %s; want jdoe with group Analysts", res)
	}
	// k2 is not published yet: its token is refused.
	if _, res, ok := lg.getUser(t, bearer(t2)); ok || res.Status != http.StatusUnauthorized {
		t.Errorf("GET /api/get-user with a k2 token before k2 is published: %s, want 401", res)
	}

	jwks.publish(t, k2)
	fetchesBefore := jwks.fetches.Load()
	var last restResult
	took, ok := poll(25*time.Second, 250*time.Millisecond, func() bool {
		var ok bool
		_, last, ok = lg.getUser(t, bearer(t2))
		return ok
	})
	if !ok {
		t.Fatalf("the k2 token is still refused %s after k2 replaced k1 in the key set: %s", took.Round(time.Millisecond), last)
	}
	t.Logf("the k2 token works %s after the rotation (%d JWKS fetches since)", took.Round(time.Millisecond), jwks.fetches.Load()-fetchesBefore)
	if u, res, _ := lg.getUser(t, bearer(t2)); u.User != "jdoe" {
		t.Errorf("GET /api/get-user with the k2 token: %s, want jdoe", res)
	}
	took, ok = poll(25*time.Second, 250*time.Millisecond, func() bool {
		last = lg.rest(t, http.MethodGet, "/api/get-user", bearer(t1))
		return last.Status == http.StatusUnauthorized
	})
	if !ok {
		t.Errorf("the k1 token still works %s after k1 left the key set: %s", took.Round(time.Millisecond), last)
	} else {
		t.Logf("the k1 token is refused %s after the k2 token first worked", took.Round(time.Millisecond))
	}
	if lg.proc.exited() {
		t.Errorf("lakegate exited during the rotation: %v", lg.proc.err)
	}
	// A refused token gets no keys either.
	if res := lg.rest(t, http.MethodPost, "/api/aws-credentials", bearer(t1)); res.Status != http.StatusUnauthorized {
		t.Errorf("POST /api/aws-credentials with the retired k1 token: %s, want 401", res)
	}
}
