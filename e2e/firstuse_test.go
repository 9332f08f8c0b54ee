package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Issue 13's first-use and Okera-compatibility items, with the processes a
// user runs: `lakegate quickstart` with configuration, a former Okera
// user's JWT flow, an nScale node proxy without upstream settings, and
// `lakegate serve` without admin settings.

// quickstartRun is a running `lakegate quickstart` and what its banner said.
type quickstartRun struct {
	proc                *process
	Home, DataDir       string
	ProxyURL, RESTURL   string
	AdminKey, AdminSec  string
	Token               string
	ServerLine, Profile string // the banner's LAKEGATE_SERVER value and profile block
}

var (
	qsProfileRE = regexp.MustCompile(`(?s)\[profile lakegate\]\n.*?signature_version = s3v4\n`)
	qsKeyRE     = regexp.MustCompile(`(?m)^aws_access_key_id = (\S+)$`)
	qsSecretRE  = regexp.MustCompile(`(?m)^aws_secret_access_key = (\S+)$`)
	qsTokenRE   = regexp.MustCompile(`(?m)^LAKEGATE_TOKEN=(lgt_\S+)$`)
	qsServerRE  = regexp.MustCompile(`(?m)^LAKEGATE_SERVER=(\S+)$`)
)

// startQuickstart runs `lakegate quickstart` on free loopback ports with
// a private HOME, extra environment and arguments, and waits for its
// banner.
func startFirstUseQuickstart(t *testing.T, env []string, args ...string) *quickstartRun {
	t.Helper()
	skipShort(t)
	skipInBaseline(t)
	if buildErr != nil {
		t.Fatalf("lakegate did not build: %v", buildErr)
	}
	q := &quickstartRun{Home: t.TempDir()}
	q.DataDir = filepath.Join(q.Home, "qs")
	proxyAddr, restAddr := freeAddr(t), freeAddr(t)
	q.ProxyURL, q.RESTURL = "http://"+proxyAddr, "http://"+restAddr
	all := append([]string{"quickstart", "--data-dir", q.DataDir, "--proxy-addr", proxyAddr, "--rest-addr", restAddr}, args...)
	q.proc = startProcess(t, lakegateBin, append(baseEnv(q.Home), env...), all...)
	t.Cleanup(func() {
		if !q.proc.stop(15 * time.Second) {
			t.Errorf("quickstart did not stop on SIGTERM")
		}
		registerLogFiles(filepath.Join(q.DataDir, "audit"))
		if t.Failed() {
			t.Logf("quickstart output:\n%s", tail(q.proc.out.String(), 20000))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		out := q.proc.out.String()
		if p := qsProfileRE.FindString(out); p != "" && qsTokenRE.MatchString(out) {
			q.Profile = p
			q.AdminKey = qsKeyRE.FindStringSubmatch(p)[1]
			q.AdminSec = qsSecretRE.FindStringSubmatch(p)[1]
			q.Token = qsTokenRE.FindStringSubmatch(out)[1]
			if m := qsServerRE.FindStringSubmatch(out); m != nil {
				q.ServerLine = m[1]
			}
			// The banner shows the admin's secret and token by design, so
			// the suite's secret check must not look for them.
			return q
		}
		if q.proc.exited() {
			t.Fatalf("quickstart exited:\n%s", out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("quickstart printed no banner within 90s:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// adminAWS runs the AWS CLI with the banner's profile.
func (q *quickstartRun) adminAWS(t *testing.T, args ...string) string {
	t.Helper()
	aws := findTool("aws")
	if aws == "" {
		t.Skip("aws CLI not found on PATH")
	}
	cfg := filepath.Join(q.Home, "admin-aws-config")
	if err := os.WriteFile(cfg, []byte(q.Profile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(aws, append([]string{"--profile", "lakegate"}, args...)...)
	cmd.Env = append(baseEnv(q.Home), "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(q.Home, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "PYTHONWARNINGS=ignore", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cli runs the lakegate binary with a private HOME and env.
func cliRun(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return runCmd(ctx, append(baseEnv(t.TempDir()), env...), "", lakegateBin, args...)
}

// TestFirstUseQuickstart: quickstart takes --config and the environment
// like serve (item 10) and warns about the settings it cannot honour;
// with the REST API off the default address its banner prints
// LAKEGATE_SERVER=…, and `lakegate audit query` with nothing but that and
// the token finds quickstart's audit log (item 14).
func TestFirstUseQuickstart(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "lakegate.yaml")
	cfg, _ := yaml.Marshal(map[string]any{
		"log":      map[string]any{"format": "json"},
		"upstream": map[string]any{"endpoint": "http://s3.internal.example:9000"},
	})
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	q := startFirstUseQuickstart(t, []string{"LAKEGATE_GROUPS_CACHE_TTL=30s"}, "--config", cfgFile)

	step(t, "config_read_and_warned", func(t *testing.T) {
		out := q.proc.out.String()
		if !strings.Contains(out, `"level":"INFO"`) {
			t.Errorf("log.format json of --config is not applied: no JSON log line in\n%s", tail(out, 3000))
		}
		if !strings.Contains(out, "upstream.endpoint") || !strings.Contains(out, `"level":"WARN"`) {
			t.Errorf("no warning names upstream.endpoint, which quickstart replaces with its backend:\n%s", tail(out, 3000))
		}
	})
	step(t, "banner_server", func(t *testing.T) {
		if q.ServerLine != q.RESTURL {
			t.Errorf("banner LAKEGATE_SERVER=%q, want %q (the REST API is not on 127.0.0.1:8083)", q.ServerLine, q.RESTURL)
		}
	})
	step(t, "audit_query_finds_the_log", func(t *testing.T) {
		bucket := bucketName("qsaudit")
		q.adminAWS(t, "s3", "mb", "s3://"+bucket)
		src := filepath.Join(q.Home, "hello.txt")
		if err := os.WriteFile(src, []byte("hello\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		q.adminAWS(t, "s3", "cp", src, "s3://"+bucket+"/audited/hello.txt")
		env := []string{"LAKEGATE_TOKEN=" + q.Token, "LAKEGATE_SERVER=" + q.ServerLine}
		var stdout, stderr string
		var code int
		if _, ok := poll(10*time.Second, 200*time.Millisecond, func() bool {
			stdout, stderr, code = cliRun(t, env, "audit", "query", "--json", "--operation", "PutObject")
			return code == 0 && strings.Contains(stdout, "s3://"+bucket+"/audited/hello.txt")
		}); !ok {
			t.Errorf("lakegate audit query (LAKEGATE_SERVER and LAKEGATE_TOKEN from the banner, no flags): exit %d, "+
				"no PutObject of s3://%s/audited/hello.txt\nstdout:\n%s\nstderr:\n%s", code, bucket, tail(stdout, 2000), stderr)
		}
	})
}

// TestOkeraFormerUserFlow is issue 13's "Done when": a former Okera user
// keeps JWT_PUBLIC_KEY and JWT_ALGORITHM=RSA256 and starts quickstart; the
// admin grants to the JWT's group; POST /api/get-token with the JWT gives a
// token that carries the JWT's groups and expires no later than it; that
// token in ~/.lakegate/token feeds an AWS CLI profile with
// credential_process = lakegate credentials, which reads the granted
// prefix and is refused elsewhere.
func TestOkeraFormerUserFlow(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	signer := newJWTSigner(t, "")
	q := startFirstUseQuickstart(t, []string{"JWT_PUBLIC_KEY=" + signer.PEMFile, "JWT_ALGORITHM=RSA256"})
	// The banner prints the admin's secret and token by design; what the
	// flow hands out (the JWT, the token from get-token, the keys) must
	// appear nowhere.
	w := &secretWatch{}
	t.Cleanup(func() {
		assertNoSecrets(t, "quickstart's output:\n"+q.proc.out.String()+"\ncommands' stderr:\n"+strings.Join(w.logs, "\n"), w.secrets...)
	})

	bucket := bucketName("okera")
	const content = "id,name\n1,granted\n"
	q.adminAWS(t, "s3", "mb", "s3://"+bucket)
	for key, body := range map[string]string{"granted/x.csv": content, "other/y.csv": "hidden\n"} {
		src := filepath.Join(t.TempDir(), "obj")
		if err := os.WriteFile(src, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		q.adminAWS(t, "s3", "cp", src, "s3://"+bucket+"/"+key)
	}
	adminEnv := []string{"LAKEGATE_TOKEN=" + q.Token, "LAKEGATE_SERVER=" + q.RESTURL}
	if stdout, stderr, code := cliRun(t, adminEnv, "sql", "CREATE ROLE okera_analyst; "+
		"GRANT ROLE okera_analyst TO GROUP analysts; "+
		fmt.Sprintf("GRANT SELECT, SHOW ON URI 's3://%s/granted' TO ROLE okera_analyst", bucket)); code != 0 {
		t.Fatalf("lakegate sql with the admin token: exit %d\n%s\n%s", code, stdout, stderr)
	}

	jwtExp := time.Now().Add(time.Hour)
	jwt := signer.mint(t, "jdoe", []string{"Analysts"}, jwtExp)
	w.add(jwt)
	req, _ := http.NewRequest(http.MethodPost, q.RESTURL+"/api/get-token", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tok struct {
		Token   string `json:"token"`
		User    string `json:"user"`
		Expires string `json:"expires"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || !strings.HasPrefix(tok.Token, "lgt_") {
		t.Fatalf("POST /api/get-token with the RS256 JWT (JWT_PUBLIC_KEY, JWT_ALGORITHM=RSA256): %d %s", resp.StatusCode, body)
	}
	w.add(tok.Token)
	registerSecret("token from get-token", tok.Token)
	if exp, err := time.Parse(time.RFC3339, tok.Expires); err != nil || exp.After(jwtExp) {
		t.Errorf("the token expires %q, after the JWT (%s)", tok.Expires, jwtExp.UTC().Format(time.RFC3339))
	}
	lg := &lakegateServer{ProxyURL: q.ProxyURL, RESTURL: q.RESTURL}
	if u, res, ok := lg.getUser(t, bearer(tok.Token)); !ok || u.User != "jdoe" || !hasFold(u.Groups, "analysts") {
		t.Errorf("GET /api/get-user with the token: %s; want jdoe with the JWT's group analysts", res)
	}

	cli := newCredProcessCLI(t, &stack{LG: lg}, w)
	cli.writeToken(t, tok.Token)
	cli.read(t, bucket, "granted/x.csv", content)
	keys := cli.watchCachedKeys(t)
	if exp, err := time.Parse(time.RFC3339, keys.Expiration); err != nil || exp.After(jwtExp.Add(time.Second)) {
		t.Errorf("keys for the token expire %q, after the JWT (%v)", keys.Expiration, err)
	}
	out := filepath.Join(t.TempDir(), "y")
	stdout, stderr, code := cli.exec("s3api", "get-object", "--bucket", bucket, "--key", "other/y.csv", out)
	if code == 0 || !strings.Contains(stderr, "AccessDenied") {
		t.Errorf("aws s3api get-object other/y.csv: exit %d, want AccessDenied\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(out); err == nil && len(b) > 0 {
		t.Errorf("the refused read wrote %q", b)
	}
}

// TestFirstUseNodeProxyWithoutUpstream: a node proxy whose configuration
// names only the policy server and the system key (no upstream endpoint)
// sends requests where the server's configuration says, with the
// credentials the server hands out (item 11).
func TestFirstUseNodeProxyWithoutUpstream(t *testing.T) {
	systemKey := writeSystemKey(t)
	st := newPolicyStack(t, lakegateOptions{SystemKey: systemKey})
	bucket := bucketName("node")
	st.MinIO.makeBucket(t, bucket, false)
	st.MinIO.put(t, bucket, "data/x", "from the server's upstream\n")

	dir := t.TempDir()
	addr := freeAddr(t)
	cfg, err := yaml.Marshal(map[string]any{
		"data_dir": filepath.Join(dir, "data"),
		"proxy":    map[string]any{"addr": addr, "server": st.LG.RESTURL},
		"system":   map[string]any{"private_key": systemKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "proxy.yaml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, lakegateBin, baseEnv(dir), "proxy", "--config", cfgFile)
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		registerLogFiles(filepath.Join(dir, "data", "audit"))
		if t.Failed() {
			t.Logf("node proxy output:\n%s", tail(p.out.String(), 8000))
		}
	})
	if _, ok := poll(60*time.Second, 50*time.Millisecond, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil || p.exited()
	}); !ok || p.exited() {
		t.Fatalf("node proxy not listening:\n%s", p.out.String())
	}
	via := *st.LG
	via.ProxyURL = "http://" + addr
	admin := newS3User(&via, "admin via the node proxy", st.LG.AdminKey, st.LG.AdminSecret)
	before := st.Rec.Len()
	res := admin.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/data/x"})
	if res.Status != http.StatusOK || string(res.Body) != "from the server's upstream\n" {
		t.Fatalf("GET through a node proxy without upstream settings: %d %s", res.Status, tail(string(res.Body), 500))
	}
	if len(st.Rec.Since(before)) == 0 {
		t.Error("the read did not go through the server's upstream (the recorder saw nothing)")
	}
}

// TestFirstUseServeAdminToken: `lakegate serve` without admin.* creates an
// admin token in the data directory (mode 0600), says where at start, and
// that token runs lakegate sql; a refused token's error names the server
// it was sent to (item 15).
func TestFirstUseServeAdminToken(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	m := startMinIO(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	restAddr := freeAddr(t)
	cfg, err := yaml.Marshal(map[string]any{
		"data_dir": dataDir,
		"proxy":    map[string]any{"addr": freeAddr(t)},
		"rest":     map[string]any{"addr": restAddr},
		"upstream": map[string]any{"endpoint": m.Endpoint, "region": region, "path_style": true,
			"access_key_id": m.AccessKey, "secret_access_key": m.SecretKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "lakegate.yaml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, lakegateBin, baseEnv(dir), "serve", "--config", cfgFile)
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		registerLogFiles(filepath.Join(dataDir, "audit"))
		if t.Failed() {
			t.Logf("serve output:\n%s", tail(p.out.String(), 8000))
		}
	})
	tokenFile := filepath.Join(dataDir, "admin-token")
	// The listeners are bound before the store is ready: wait for an answer.
	if _, ok := poll(60*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + restAddr + "/api/health")
		if err == nil {
			resp.Body.Close()
		}
		return (err == nil && resp.StatusCode == http.StatusOK) || p.exited()
	}); !ok || p.exited() {
		t.Fatalf("serve not serving:\n%s", p.out.String())
	}
	if !strings.Contains(p.out.String(), tokenFile) {
		t.Errorf("serve's start log does not say where the admin token is (%s):\n%s", tokenFile, p.out.String())
	}
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatalf("no admin token file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", tokenFile, fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(raw))
	registerSecret("serve's created admin token", token)
	if strings.Contains(p.out.String(), token) {
		t.Error("serve logged the admin token itself")
	}
	server := "http://" + restAddr
	if stdout, stderr, code := cliRun(t, []string{"LAKEGATE_TOKEN=" + token, "LAKEGATE_SERVER=" + server}, "sql", "CREATE ROLE first_role"); code != 0 {
		t.Errorf("lakegate sql with the created admin token: exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, stderr, code := cliRun(t, []string{"LAKEGATE_TOKEN=lgt_" + strings.Repeat("0", 40), "LAKEGATE_SERVER=" + server}, "sql", "SHOW ROLES")
	if code == 0 || !strings.Contains(stderr, server) {
		t.Errorf("lakegate sql with a refused token: exit %d, stderr %q; want the error to name %s", code, stderr, server)
	}
}
