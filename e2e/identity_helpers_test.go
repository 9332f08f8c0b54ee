package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Helpers for the identity suites (TestJWTCredentialProcess,
// TestJWKSRotation, TestRevokedUserKeysRefused, TestLDAPLogin,
// TestKerberosNegotiate): JWTs signed by a test key, the REST identity
// endpoints, an AWS CLI whose keys come from `lakegate credentials`, and
// the check that no secret a test handed out was ever logged.

// ------------------------------------------------------------------ JWT

// jwtSigner signs RS256 JWTs with a fresh RSA key.
type jwtSigner struct {
	Kid     string // "" leaves the header without a kid
	PEMFile string // the public key, PKIX "PUBLIC KEY" PEM
	key     *rsa.PrivateKey
}

func newJWTSigner(t testing.TB, kid string) *jwtSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &jwtSigner{Kid: kid, key: key, PEMFile: filepath.Join(t.TempDir(), "jwt-"+kid+".pub.pem")}
	if err := os.WriteFile(s.PEMFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// mint returns a JWT for sub with a groups claim (nil: none), expiring at
// exp. Every token carries a fresh jti, so that two tokens minted in the
// same second differ.
func (s *jwtSigner) mint(t testing.TB, sub string, groups []string, exp time.Time) string {
	t.Helper()
	claims := jwt.MapClaims{
		"sub": sub,
		"iss": "lakegate-e2e",
		"iat": min(time.Now().Unix(), exp.Add(-time.Minute).Unix()),
		"exp": exp.Unix(),
		"jti": randString(16, lowerAlnum),
	}
	if groups != nil {
		claims["groups"] = groups
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if s.Kid != "" {
		tok.Header["kid"] = s.Kid
	}
	raw, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	registerSecret("JWT", raw)
	return raw
}

// jwk is the public key as a JSON Web Key.
func (s *jwtSigner) jwk() map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]string{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": s.Kid,
		"n": b64(s.key.N.Bytes()),
		"e": b64(big.NewInt(int64(s.key.E)).Bytes()),
	}
}

// jwtOptions is an auth section that verifies JWTs with the signers'
// public key files.
func jwtOptions(signers ...*jwtSigner) map[string]any {
	var files []string
	for _, s := range signers {
		files = append(files, s.PEMFile)
	}
	return map[string]any{"jwt": map[string]any{"public_keys": files, "algorithms": []string{"RS256"}}}
}

// ----------------------------------------------------------------- REST

// restResult is one REST API answer.
type restResult struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r restResult) String() string {
	return fmt.Sprintf("%d %s", r.Status, strings.TrimSpace(string(r.Body)))
}

// rest sends method path to the REST API with the Authorization header
// auth ("" for none).
func (l *lakegateServer) rest(t testing.TB, method, path, auth string) restResult {
	t.Helper()
	return restWithBody(t, l, method, path, auth, "", "", "")
}

// userInfo is GET /api/get-user's answer.
type userInfo struct {
	User       string   `json:"user"`
	Groups     []string `json:"groups"`
	AuthMethod string   `json:"auth_method"`
}

// getUser asks GET /api/get-user who auth is; ok is false (and the answer
// in res) when it is not 200.
func (l *lakegateServer) getUser(t testing.TB, auth string) (u userInfo, res restResult, ok bool) {
	t.Helper()
	res = l.rest(t, http.MethodGet, "/api/get-user", auth)
	if res.Status != http.StatusOK {
		return userInfo{}, res, false
	}
	if err := json.Unmarshal(res.Body, &u); err != nil {
		t.Fatalf("GET /api/get-user: %v: %s", err, res)
	}
	return u, res, true
}

// awsCreds is POST /api/aws-credentials' answer (credential_process JSON).
type awsCreds struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Expiration      string
}

// awsCredentials exchanges auth for keys and fails the test unless the
// server gives them.
func (l *lakegateServer) awsCredentials(t testing.TB, auth string) awsCreds {
	t.Helper()
	res := l.rest(t, http.MethodPost, "/api/aws-credentials", auth)
	var c awsCreds
	if res.Status != http.StatusOK {
		t.Fatalf("POST /api/aws-credentials: %s", res)
	}
	if err := json.Unmarshal(res.Body, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
		t.Fatalf("POST /api/aws-credentials: %v: %s", err, res)
	}
	registerSecret("secret key from /api/aws-credentials", c.SecretAccessKey)
	return c
}

func bearer(token string) string { return "Bearer " + token }

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// hasFold reports whether names holds name, ignoring case.
func hasFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// -------------------------------------------------------------- secrets

// secretWatch collects the secrets a test hands out (tokens, JWTs, secret
// keys, passwords) and the standard error of every command it runs; when
// the test ends, neither that nor the server's log may contain any of them.
type secretWatch struct {
	mu      sync.Mutex
	secrets []string
	logs    []string
}

// watchSecrets starts watching for lg; the check runs at cleanup, before
// lg stops.
func watchSecrets(t *testing.T, lg *lakegateServer) *secretWatch {
	t.Helper()
	w := &secretWatch{}
	w.add(lg.AdminToken, lg.AdminSecret)
	t.Cleanup(func() {
		w.mu.Lock()
		logs := strings.Join(w.logs, "\n")
		secrets := append([]string(nil), w.secrets...)
		w.mu.Unlock()
		assertNoSecrets(t, "lakegate serve's stderr:\n"+lg.Stderr()+"\ncommands' stderr:\n"+logs, secrets...)
	})
	return w
}

// add watches secrets. A JWT's signature is watched on its own too: a
// log that cut the token would still leak what makes it usable.
func (w *secretWatch) add(secrets ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		w.secrets = append(w.secrets, s)
		registerSecret("a test's watched secret", s)
		if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) >= 16 {
			w.secrets = append(w.secrets, parts[2])
		}
	}
}

// log adds a command's standard error to what is checked.
func (w *secretWatch) log(stderr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logs = append(w.logs, stderr)
	registerLogText("a watched command's stderr", stderr)
}

// run runs a command with a deadline of a minute, logging its stderr.
func (w *secretWatch) run(env []string, dir string, stdin io.Reader, name string, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := runCmdStdin(ctx, env, dir, stdin, name, args...)
	w.log(stderr)
	return stdout, stderr, code
}

// assertNoSecrets fails the test for every secret found in logs, naming it
// by its first characters only.
func assertNoSecrets(t testing.TB, logs string, secrets ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < 6 || seen[s] {
			continue
		}
		seen[s] = true
		i := strings.Index(logs, s)
		if i < 0 {
			continue
		}
		start, end := max(0, i-120), min(len(logs), i+len(s)+120)
		ctx := strings.ReplaceAll(logs[start:end], s, "[SECRET]")
		t.Errorf("secret %s… (%d characters) appears in the logs %d time(s); context: %q", s[:4], len(s), strings.Count(logs, s), ctx)
	}
}

// -------------------------------------------------- credential_process

// cpCLI is the AWS CLI v1 with a profile whose keys come from `lakegate
// credentials` and whose endpoint_url is the proxy: the set-up a user of
// lakegate has, with a private HOME for the token and the key cache.
type cpCLI struct {
	bin  string
	Home string
	env  []string
	w    *secretWatch
}

func newCredProcessCLI(t *testing.T, st *stack, w *secretWatch, extraEnv ...string) *cpCLI {
	t.Helper()
	bin := findTool("aws")
	if bin == "" {
		t.Skip("aws CLI not found on PATH")
	}
	home := t.TempDir()
	cfg := filepath.Join(home, "aws-config")
	config := fmt.Sprintf("[default]\nregion = %s\nendpoint_url = %s\ncredential_process = %s credentials --server %s\n"+
		"s3 =\n    signature_version = s3v4\n    addressing_style = path\n", region, st.LG.ProxyURL, lakegateBin, st.LG.RESTURL)
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(baseEnv(home),
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"PYTHONWARNINGS=ignore",
	)
	return &cpCLI{bin: bin, Home: home, env: append(env, extraEnv...), w: w}
}

// exec runs aws ARGS… (no --endpoint-url: the profile's endpoint_url
// applies).
func (c *cpCLI) exec(args ...string) (string, string, int) {
	return c.w.run(c.env, c.Home, nil, c.bin, args...)
}

// read runs `aws s3 cp s3://bucket/key -` and fails the test unless it
// prints want.
func (c *cpCLI) read(t *testing.T, bucket, key, want string) {
	t.Helper()
	stdout, stderr, code := c.exec("s3", "cp", "--no-progress", "s3://"+bucket+"/"+key, "-")
	if code != 0 || stdout != want {
		t.Fatalf("aws s3 cp s3://%s/%s -: exit %d, printed %q, want %q\nstderr:\n%s", bucket, key, code, tail(stdout, 400), want, tail(stderr, 4000))
	}
}

// writeToken puts token in ~/.lakegate/token.
func (c *cpCLI) writeToken(t testing.TB, token string) {
	t.Helper()
	writeTokenFile(t, c.Home, token)
}

// token is what ~/.lakegate/token holds, "" when there is no such file.
func (c *cpCLI) token(t testing.TB) string {
	t.Helper()
	return readTokenFile(t, c.Home)
}

// watchCachedKeys adds the secret key `lakegate credentials` cached in
// HOME to the secrets watched and returns the cached keys.
func (c *cpCLI) watchCachedKeys(t testing.TB) awsCreds {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Home, ".lakegate", "aws-credentials.json"))
	if err != nil {
		t.Fatalf("the key cache of lakegate credentials: %v", err)
	}
	var cache struct {
		Credentials awsCreds `json:"credentials"`
	}
	if err := json.Unmarshal(b, &cache); err != nil || cache.Credentials.SecretAccessKey == "" {
		t.Fatalf("the key cache of lakegate credentials holds no keys (%v)", err)
	}
	c.w.add(cache.Credentials.SecretAccessKey)
	return cache.Credentials
}

func writeTokenFile(t testing.TB, home, token string) {
	t.Helper()
	dir := filepath.Join(home, ".lakegate")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readTokenFile(t testing.TB, home string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, ".lakegate", "token"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// lakegateCLI runs the lakegate binary as a user (not the admin) with a
// private HOME and extra environment, logging its stderr.
func (w *secretWatch) lakegateCLI(t testing.TB, home string, stdin io.Reader, extraEnv []string, args ...string) (string, string, int) {
	t.Helper()
	if home == "" {
		home = t.TempDir()
	}
	return w.run(append(baseEnv(home), extraEnv...), home, stdin, lakegateBin, args...)
}

// poll calls try every interval until it returns true or within passes,
// and returns how long it took and whether it succeeded.
func poll(within, interval time.Duration, try func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if try() {
			return time.Since(start), true
		}
		if time.Since(start) >= within {
			return time.Since(start), false
		}
		time.Sleep(interval)
	}
}

// errorRecorder is a testing.TB that keeps what Errorf reports.
type errorRecorder struct {
	testing.TB
	errs []string
}

func (r *errorRecorder) Helper() {}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestAssertNoSecrets checks the check itself, without any server.
func TestAssertNoSecrets(t *testing.T) {
	const secret = "lgt_0123456789abcdefSECRET"
	logs := "level=INFO msg=ok\nlevel=INFO msg=\"token\" value=" + secret + "\n"
	r := &errorRecorder{TB: t}
	assertNoSecrets(r, logs, "absent-secret", secret, "short")
	if len(r.errs) != 1 || strings.Contains(r.errs[0], secret) || !strings.Contains(r.errs[0], "[SECRET]") {
		t.Errorf("assertNoSecrets reported %q; want one error that names the leak without repeating it", r.errs)
	}
	r.errs = nil
	assertNoSecrets(r, logs, "absent-secret")
	if len(r.errs) != 0 {
		t.Errorf("assertNoSecrets reported %q for a clean log", r.errs)
	}
}
