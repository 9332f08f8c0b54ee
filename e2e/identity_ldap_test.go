package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/identity/ldap/ldaptest"
)

// TestLDAPLogin runs `lakegate login` against a real slapd (ldaptest's
// example directory: alice in group Analysts): the token it saves says
// alice with group analysts (LDAP groups are down-cased), a wrong password
// saves nothing, and with a grant to GROUP analysts the keys
// `lakegate credentials` gets for that token read through the proxy.
func TestLDAPLogin(t *testing.T) {
	skipShort(t)
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	dir := ldaptest.Start(t, ldaptest.Options{LDIF: ldaptest.Example()})
	st := newPolicyStack(t, lakegateOptions{Auth: map[string]any{"ldap": map[string]any{
		"host":          dir.URL,
		"base_dn":       ldaptest.Suffix,
		"bind_dn":       ldaptest.ServiceDN,
		"bind_password": ldaptest.ServicePassword,
	}}})
	lg := st.LG
	w := watchSecrets(t, lg)
	const wrongPassword = "not-alice-secret"
	w.add(ldaptest.AlicePassword, ldaptest.ServicePassword, wrongPassword, ldaptest.BobPassword)
	bucket := bucketName("ldap")
	const content = "alice's data\n"
	st.MinIO.makeBucket(t, bucket, false)
	st.MinIO.put(t, bucket, "allowed/x", content)
	st.MinIO.put(t, bucket, "other/y", "hidden\n")
	grantAnalysts(t, lg, bucket)

	cli := newCredProcessCLI(t, st, w)
	login := func(home, user, password string) (string, string, int) {
		return w.lakegateCLI(t, home, strings.NewReader(password+"\n"), nil,
			"login", "--user", user, "--password-stdin", "--server", lg.RESTURL)
	}
	var token string
	if !step(t, "login", func(t *testing.T) {
		stdout, stderr, code := login(cli.Home, "alice", ldaptest.AlicePassword)
		if code != 0 {
			t.Fatalf("lakegate login --user alice: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if token = cli.token(t); token == "" {
			t.Fatalf("lakegate login saved no token in ~/.lakegate/token (stdout %q)", stdout)
		}
		w.add(token)
		if strings.Contains(stdout, token) {
			t.Errorf("lakegate login printed the token")
		}
	}) {
		return
	}
	step(t, "get_user_with_token", func(t *testing.T) {
		u, res, ok := lg.getUser(t, bearer(token))
		if !ok || u.User != "alice" || len(u.Groups) != 1 || u.Groups[0] != "analysts" {
			t.Errorf("GET /api/get-user with the token from lakegate login: %s; want user alice, groups [\"analysts\"]", res)
		}
		// The same question with the password itself, for comparison.
		u, res, ok = lg.getUser(t, basicAuth("alice", ldaptest.AlicePassword))
		if !ok || u.User != "alice" || len(u.Groups) != 1 || u.Groups[0] != "analysts" {
			t.Errorf("GET /api/get-user with alice's LDAP password (Basic): %s; want user alice, groups [\"analysts\"]", res)
		}
	})
	step(t, "wrong_password", func(t *testing.T) {
		home := t.TempDir()
		stdout, stderr, code := login(home, "alice", wrongPassword)
		if code != 1 {
			t.Errorf("lakegate login with a wrong password: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		low := strings.ToLower(stderr)
		if !strings.Contains(low, "invalid") && !strings.Contains(low, "password") && !strings.Contains(low, "credentials") {
			t.Errorf("lakegate login with a wrong password: stderr %q does not say the credentials were refused", stderr)
		}
		t.Logf("lakegate login with a wrong password: exit %d: %s", code, strings.TrimSpace(stderr))
		if got := readTokenFile(t, home); got != "" {
			t.Errorf("lakegate login with a wrong password saved a token")
		}
		if _, res, ok := lg.getUser(t, basicAuth("alice", wrongPassword)); ok || res.Status != http.StatusUnauthorized {
			t.Errorf("GET /api/get-user with a wrong password: %s, want 401", res)
		}
		if _, _, code := login(home, "nobody", wrongPassword); code != 1 || readTokenFile(t, home) != "" {
			t.Errorf("lakegate login as an unknown user: exit %d, want 1 and no token", code)
		}
	})
	step(t, "credentials_read_through_proxy", func(t *testing.T) {
		// cli's HOME holds the token lakegate login saved.
		cli.read(t, bucket, "allowed/x", content)
		cli.watchCachedKeys(t)
		before := st.Rec.Len()
		stdout, stderr, code := cli.exec("s3", "cp", "--no-progress", "s3://"+bucket+"/other/y", "-")
		if code == 0 || !deniedOutput(stderr) || strings.Contains(stdout, "hidden") {
			t.Errorf("alice: aws s3 cp other/y: exit %d, want Access Denied\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		settle(t, st.Rec)
		for _, r := range st.Rec.Since(before) {
			t.Errorf("upstream saw %s for alice's refused read", r)
		}
	})
	step(t, "basic_aws_credentials", func(t *testing.T) {
		// Keys for the password itself (no token) carry the LDAP groups too.
		c := lg.awsCredentials(t, basicAuth("alice", ldaptest.AlicePassword))
		w.add(c.SecretAccessKey)
		u := newS3User(lg, "alice (Basic)", c.AccessKeyID, c.SecretAccessKey)
		if r := u.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/allowed/x"}); r.Status != http.StatusOK || string(r.Body) != content {
			t.Errorf("alice's keys from aws-credentials with Basic: GET allowed/x: %d %s", r.Status, r.Body)
		}
	})
	assertResigned(t, st)
}
