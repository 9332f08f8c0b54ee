package upstream_test

// A real STS and S3 for the assumed-role tests: the Python moto server
// (moto_server, preinstalled), started per test on a loopback port picked
// at run time. IAM users, roles and their policies are created through
// moto's IAM API; then IAM authentication is switched on, so that moto's S3
// checks every signature, session token and role policy, and its STS checks
// the caller's permission and the role's trust policy.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// motoAccount is the account moto creates everything in.
const motoAccount = "123456789012"

type moto struct {
	url string // http://127.0.0.1:<port>
}

// motoServerPath finds moto_server on PATH, else in pyenv's shims (where
// the preinstalled one lives when the shell did not run pyenv init).
func motoServerPath() (string, bool) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, true
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	p := filepath.Join(root, "shims", "moto_server")
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p, true
	}
	return "", false
}

// startMoto starts moto_server on 127.0.0.1 and stops it when t ends.
func startMoto(t *testing.T) *moto {
	t.Helper()
	bin, ok := motoServerPath()
	if !ok {
		t.Skip("moto_server (Python moto) is not installed: the assumed-role tests need a real STS; pip install 'moto[server]'")
	}
	var lastErr error
	for range 3 { // a port picked free can be taken before moto binds it
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		m, err := runMoto(t, bin, port)
		if err == nil {
			return m
		}
		lastErr = err
	}
	t.Fatalf("moto_server did not start: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runMoto(t *testing.T, bin string, port int) (*moto, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the shim execs python; stop the whole group
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	m := &moto{url: "http://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.url + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("moto_server exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("moto_server not ready after 30s: %s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(stop)
	return m, nil
}

// setupKey signs the requests made before authentication is switched on;
// moto routes by the service in the signature and checks nothing yet.
var setupKey = sigv4.Signer{AccessKeyID: "AKIASETUPSETUPSETUP0", SecretAccessKey: "setup", Region: "us-east-1"}

// call sends a signed request for service and returns the body, failing t
// on a non-2xx status.
func (m *moto) call(t *testing.T, signer sigv4.Signer, service, method, path string, body []byte, contentType string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, m.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	sum := sha256.Sum256(body)
	signer.Service = service
	signer.Sign(req, hex.EncodeToString(sum[:]), time.Now().UTC())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s %s: %s: %s", service, method, path, resp.Status, out)
	}
	return out
}

// iam calls an IAM query action.
func (m *moto) iam(t *testing.T, action string, params map[string]string) []byte {
	t.Helper()
	v := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
	for k, p := range params {
		v.Set(k, p)
	}
	return m.call(t, setupKey, "iam", http.MethodPost, "/", []byte(v.Encode()), "application/x-www-form-urlencoded")
}

func policyJSON(t *testing.T, statements ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// createUser creates an IAM user allowed to assume any role, with extra
// statements, and returns its access key.
func (m *moto) createUser(t *testing.T, name string, extra ...map[string]any) (id, secret string) {
	t.Helper()
	m.iam(t, "CreateUser", map[string]string{"UserName": name})
	stmts := append([]map[string]any{{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}, extra...)
	m.iam(t, "PutUserPolicy", map[string]string{"UserName": name, "PolicyName": "p", "PolicyDocument": policyJSON(t, stmts...)})
	var r struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(m.iam(t, "CreateAccessKey", map[string]string{"UserName": name}), &r); err != nil || r.ID == "" {
		t.Fatalf("CreateAccessKey: %v %+v", err, r)
	}
	return r.ID, r.Secret
}

// createRole creates a role that trusts user and may use S3 on buckets,
// and returns its ARN.
func (m *moto) createRole(t *testing.T, name, trustedUser string, buckets ...string) string {
	t.Helper()
	trust := policyJSON(t, map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": "arn:aws:iam::" + motoAccount + ":user/" + trustedUser},
		"Action":    "sts:AssumeRole",
	})
	m.iam(t, "CreateRole", map[string]string{"RoleName": name, "AssumeRolePolicyDocument": trust, "MaxSessionDuration": "43200"})
	if len(buckets) > 0 {
		m.iam(t, "PutRolePolicy", map[string]string{"RoleName": name, "PolicyName": "s3", "PolicyDocument": policyJSON(t, s3Allow(buckets...))})
	}
	return "arn:aws:iam::" + motoAccount + ":role/" + name
}

// s3Allow is a statement allowing all of S3 on buckets and their objects.
func s3Allow(buckets ...string) map[string]any {
	var res []string
	for _, b := range buckets {
		res = append(res, "arn:aws:s3:::"+b, "arn:aws:s3:::"+b+"/*")
	}
	return map[string]any{"Effect": "Allow", "Action": "s3:*", "Resource": res}
}

func (m *moto) createBucket(t *testing.T, name string) {
	t.Helper()
	m.call(t, setupKey, "s3", http.MethodPut, "/"+name, nil, "")
}

// enforceAuth switches on moto's IAM authentication for every later request.
func (m *moto) enforceAuth(t *testing.T) {
	t.Helper()
	resp, err := http.Post(m.url+"/moto-api/reset-auth", "text/plain", strings.NewReader("0"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset-auth: %s", resp.Status)
	}
}

// whoAmI returns the ARN STS reports for key (GetCallerIdentity).
func (m *moto) whoAmI(t *testing.T, id, secret, token string) string {
	t.Helper()
	s := sigv4.Signer{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Region: "us-east-1"}
	body := m.call(t, s, "sts", http.MethodPost, "/", []byte("Action=GetCallerIdentity&Version=2011-06-15"), "application/x-www-form-urlencoded")
	var r struct {
		Arn string `xml:"GetCallerIdentityResult>Arn"`
	}
	if err := xml.Unmarshal(body, &r); err != nil {
		t.Fatalf("GetCallerIdentity: %v: %s", err, body)
	}
	return r.Arn
}
