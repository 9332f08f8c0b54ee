// Package e2e runs real S3 clients (AWS CLI v1, boto3, aws-sdk-go-v2,
// minio-go, versitygw's conformance suite) against a lakegate binary whose
// upstream is a real MinIO server, with a recording pass-through in between
// so that tests can assert what did, and did not, reach the storage.
//
// Run one scenario with e.g.
//
//	GOTOOLCHAIN=local go test ./e2e/ -run TestAWSCLI -v -timeout 30m
//
// Tests skip (with a message) when the minio binary, or a client they
// drive, is absent, and in -short mode; they fail when lakegate does not
// build or start. LAKEGATE_E2E_BASELINE=1 runs the client scenarios against
// MinIO (through the recorder) without lakegate, to tell proxy bugs from
// client or MinIO behaviour.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"gopkg.in/yaml.v3"
)

const region = "us-east-1"

// lakegateBin is the binary TestMain built; buildErr is why it is absent.
var (
	lakegateBin string
	buildErr    error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lakegate-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	lakegateBin = filepath.Join(dir, "lakegate")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	cmd := exec.CommandContext(ctx, goTool(), "build", "-tags", "duckdb_arrow", "-o", lakegateBin, "./cmd/lakegate")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/lakegate: %w\n%s", err, out)
	}
	cancel()
	code := m.Run()
	if !suiteSecretsReport() && code == 0 {
		code = 1
	}
	return code
}

// goTool returns the go command that runs this test: the one on PATH.
func goTool() string { return "go" }

// findTool returns the path of a binary from PATH or /root/go/bin, or "".
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	for _, dir := range []string{filepath.Join(home, "go", "bin"), "/root/go/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// handedOut are the addresses freeAddr has returned: the kernel may give
// a just-closed port again, and two listeners of one server configured
// with the same port fail to start.
var handedOut = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago and that it has not returned before in this run.
func freeAddr(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		if !handedOut.m[addr] {
			handedOut.m[addr] = true
			return addr
		}
	}
	t.Fatal("free port: the kernel keeps returning ports already handed out")
	return ""
}

// randString returns n characters from alphabet.
func randString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[mrand.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	anyAlnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// bucketName returns a fresh, valid bucket name.
func bucketName(prefix string) string {
	return prefix + "-" + randString(8, lowerAlnum)
}

// lockedBuffer collects a child process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// process is a started child that is stopped at cleanup.
type process struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

func startProcess(t testing.TB, name string, env []string, args ...string) *process {
	t.Helper()
	p, err := newProcess(name, env, args...)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return p
}

func newProcess(name string, env []string, args ...string) (*process, error) {
	p := &process{out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = env
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	registerLog(filepath.Base(name)+" "+strings.Join(args, " "), p.out.String)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL to the process group after grace. It
// reports whether the process exited on SIGTERM.
func (p *process) stop(grace time.Duration) bool {
	if p.exited() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return false
}

// baseEnv is a minimal child environment: PATH, a private HOME, nothing of
// the caller's AWS, MinIO or lakegate settings.
func baseEnv(home string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "TMPDIR=" + os.TempDir()}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// ---------------------------------------------------------------- MinIO

// minioServer is a MinIO started for one test.
type minioServer struct {
	Host      string // 127.0.0.1:port
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Client    *minio.Client

	bin, dir, console string
	mu                sync.Mutex
	proc              *process
}

func startMinIO(t testing.TB) *minioServer {
	t.Helper()
	bin := findTool("minio")
	if bin == "" {
		t.Skip("minio binary not found on PATH or in ~/go/bin; install it to run the e2e tests")
	}
	dir := t.TempDir()
	m := &minioServer{
		Host:      freeAddr(t),
		AccessKey: "minio" + randString(10, lowerAlnum),
		SecretKey: randString(32, anyAlnum),
		bin:       bin,
		dir:       dir,
		console:   freeAddr(t),
	}
	m.Endpoint = "http://" + m.Host
	t.Cleanup(func() {
		p := m.process()
		if p == nil {
			return
		}
		p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("minio output:\n%s", tail(p.out.String(), 4000))
		}
	})
	if err := m.launch(); err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(m.Host, &minio.Options{
		Creds:  miniocreds.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		Region: region,
	})
	if err != nil {
		t.Fatalf("minio client: %v", err)
	}
	m.Client = c
	return m
}

func (m *minioServer) process() *process {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc
}

// launch starts MinIO on m.Host with an empty data directory and waits
// until it is live.
func (m *minioServer) launch() error {
	data := filepath.Join(m.dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	env := append(baseEnv(m.dir),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	p, err := newProcess(m.bin, env, "server", data, "--address", m.Host, "--console-address", m.console, "--quiet")
	if err != nil {
		return fmt.Errorf("start minio: %w", err)
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/minio/health/live", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("minio exited before becoming live: %v\n%s", p.err, p.out.String())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("minio not live after 90s:\n%s", p.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// reset restarts MinIO on the same address with no data: the way to get
// rid of compliance-mode locked objects.
func (m *minioServer) reset() error {
	if p := m.process(); p != nil {
		p.stop(10 * time.Second)
	}
	return m.launch()
}

// objectExists asks MinIO directly whether bucket/key exists.
func (m *minioServer) objectExists(t testing.TB, bucket, key string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := m.Client.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true
	}
	if code := minio.ToErrorResponse(err).Code; code == "NoSuchKey" || code == "NoSuchBucket" {
		return false
	}
	t.Fatalf("stat %s/%s on minio: %v", bucket, key, err)
	return false
}

// bucketExists asks MinIO directly whether bucket exists.
func (m *minioServer) bucketExists(t testing.TB, bucket string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ok, err := m.Client.BucketExists(ctx, bucket)
	if err != nil {
		t.Fatalf("bucket exists %s on minio: %v", bucket, err)
	}
	return ok
}

// listKeys lists every key in bucket directly on MinIO.
func (m *minioServer) listKeys(t testing.TB, bucket string) map[string]minio.ObjectInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keys := map[string]minio.ObjectInfo{}
	for o := range m.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s on minio: %v", bucket, o.Err)
		}
		keys[o.Key] = o
	}
	return keys
}

// ------------------------------------------------------------ recorder

// recordedRequest is one request the recording upstream passed to MinIO.
type recordedRequest struct {
	Seq           int
	Method        string
	Path          string // escaped, as sent
	Query         string // raw
	Header        http.Header
	ContentLength int64
	BodyBytes     int64
	// BodyComplete: the whole body arrived (EOF without error, and as many
	// bytes as Content-Length announced).
	BodyComplete bool
	BodyErr      string
	Status       int // 0 when MinIO gave no response
	Err          string
	Done         bool
	Start        time.Time
	Took         time.Duration
}

func (r recordedRequest) String() string {
	s := fmt.Sprintf("#%d %s %s", r.Seq, r.Method, r.Path)
	if r.Query != "" {
		s += "?" + r.Query
	}
	s += fmt.Sprintf(" status=%d body=%d/%d complete=%v took=%s", r.Status, r.BodyBytes, r.ContentLength, r.BodyComplete, r.Took.Round(time.Millisecond))
	if r.BodyErr != "" {
		s += " bodyErr=" + r.BodyErr
	}
	if r.Err != "" {
		s += " err=" + r.Err
	}
	return s
}

// recorder is an HTTP server that forwards every request unchanged to MinIO
// (Host header included, since the proxy signed for the recorder's address)
// and remembers it.
type recorder struct {
	URL    string // http://127.0.0.1:port
	TLSURL string // https://127.0.0.1:port, baseline mode only
	target string // MinIO host:port
	srv    *httptest.Server
	tlsSrv *httptest.Server
	tr     *http.Transport

	mu       sync.Mutex
	reqs     []*recordedRequest
	inflight int
	changed  chan struct{}
}

func startRecorder(t testing.TB, m *minioServer) *recorder {
	t.Helper()
	rec := &recorder{
		target:  m.Host,
		changed: make(chan struct{}),
		tr: &http.Transport{
			DisableCompression:    true,
			MaxIdleConnsPerHost:   64,
			ExpectContinueTimeout: time.Second,
			ResponseHeaderTimeout: 5 * time.Minute,
		},
	}
	rec.srv = httptest.NewServer(rec)
	rec.URL = rec.srv.URL
	t.Cleanup(func() {
		rec.srv.CloseClientConnections()
		rec.srv.Close()
		rec.tr.CloseIdleConnections()
	})
	return rec
}

// startTLS adds an https listener (baseline mode's stand-in for the proxy's
// TLS listener).
func (rec *recorder) startTLS(t testing.TB, ca *testCA) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(ca.CertFile, ca.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	rec.tlsSrv = httptest.NewUnstartedServer(rec)
	rec.tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	rec.tlsSrv.StartTLS()
	rec.TLSURL = rec.tlsSrv.URL
	t.Cleanup(func() {
		rec.tlsSrv.CloseClientConnections()
		rec.tlsSrv.Close()
	})
}

var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// countingBody observes the request body as the transport reads it. Close
// does not close the server's body, so that what the transport left unread
// can be drained afterwards to learn whether the sender finished.
type countingBody struct {
	r    io.Reader
	n    int64
	err  error
	eof  bool
	lock sync.Mutex
}

func (c *countingBody) Read(p []byte) (int, error) {
	c.lock.Lock()
	defer c.lock.Unlock()
	n, err := c.r.Read(p)
	c.n += int64(n)
	if errors.Is(err, io.EOF) {
		c.eof = true
	} else if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *countingBody) Close() error { return nil }

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr := &recordedRequest{
		Method:        r.Method,
		Path:          r.URL.EscapedPath(),
		Query:         r.URL.RawQuery,
		Header:        r.Header.Clone(),
		ContentLength: r.ContentLength,
		Start:         time.Now(),
	}
	rec.mu.Lock()
	rr.Seq = len(rec.reqs) + 1
	rec.reqs = append(rec.reqs, rr)
	rec.inflight++
	rec.notifyLocked()
	rec.mu.Unlock()

	status, body, err := rec.forward(w, r)

	// Learn whether the sender delivered the whole body, even if MinIO
	// stopped reading early.
	if body != nil && !body.eof && body.err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<30))
	}
	rec.mu.Lock()
	rr.Status = status
	if err != nil {
		rr.Err = err.Error()
	}
	if body == nil {
		rr.BodyComplete = true
	} else {
		body.lock.Lock()
		rr.BodyBytes = body.n
		if body.err != nil {
			rr.BodyErr = body.err.Error()
		}
		rr.BodyComplete = body.eof && body.err == nil && (r.ContentLength < 0 || body.n == r.ContentLength)
		body.lock.Unlock()
	}
	rr.Done = true
	rr.Took = time.Since(rr.Start)
	rec.inflight--
	rec.notifyLocked()
	rec.mu.Unlock()
}

func (rec *recorder) forward(w http.ResponseWriter, r *http.Request) (int, *countingBody, error) {
	rawPath, _, _ := strings.Cut(r.RequestURI, "?")
	u := &url.URL{Scheme: "http", Host: rec.target, RawQuery: r.URL.RawQuery}
	if strings.HasPrefix(rawPath, "/") && !strings.HasPrefix(rawPath, "//") {
		u.Opaque = rawPath
	} else {
		u.Path, u.RawPath = r.URL.Path, r.URL.RawPath
	}
	var body *countingBody
	var rb io.ReadCloser
	if r.ContentLength != 0 {
		body = &countingBody{r: r.Body}
		rb = body
	}
	out := (&http.Request{
		Method:        r.Method,
		URL:           u,
		Host:          r.Host,
		Header:        r.Header.Clone(),
		Body:          rb,
		ContentLength: r.ContentLength,
		Proto:         "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}).WithContext(r.Context())
	if rb == nil {
		out.Body = nil
		out.ContentLength = 0
	}
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	resp, err := rec.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, "recorder: "+err.Error(), http.StatusBadGateway)
		return 0, body, err
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}
	w.WriteHeader(resp.StatusCode)
	buf := make([]byte, 64<<10)
	fl, _ := w.(http.Flusher)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return resp.StatusCode, body, werr
			}
			if fl != nil && resp.ContentLength < 0 {
				fl.Flush()
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				return resp.StatusCode, body, rerr
			}
			break
		}
	}
	return resp.StatusCode, body, nil
}

func (rec *recorder) notifyLocked() {
	close(rec.changed)
	rec.changed = make(chan struct{})
}

// Len is the number of requests received so far.
func (rec *recorder) Len() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

// Since returns copies of the requests after the first n.
func (rec *recorder) Since(n int) []recordedRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []recordedRequest
	for _, r := range rec.reqs[min(n, len(rec.reqs)):] {
		c := *r
		out = append(out, c)
	}
	return out
}

// WaitIdle waits until no request is being forwarded.
func (rec *recorder) WaitIdle(ctx context.Context) error {
	for {
		rec.mu.Lock()
		n, ch := rec.inflight, rec.changed
		rec.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("recorder: %d request(s) still in flight: %w", n, ctx.Err())
		case <-ch:
		}
	}
}

// ------------------------------------------------------------------ TLS

// testCA is a CA and a server certificate for 127.0.0.1, localhost and the
// virtual-host test domain, written to files.
type testCA struct {
	CAFile, CertFile, KeyFile string
	Pool                      *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lakegate e2e test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost", baseDomain, "*." + baseDomain},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile:  filepath.Join(dir, "key.pem"),
		Pool:     x509.NewCertPool(),
	}
	ca.Pool.AddCert(caCert)
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(ca.CAFile, "CERTIFICATE", caDER)
	write(ca.CertFile, "CERTIFICATE", leafDER)
	write(ca.KeyFile, "PRIVATE KEY", keyDER)
	return ca
}

// ------------------------------------------------------------- lakegate

// baseDomain is the virtual-hosted-style domain configured when a test asks
// for it; *.s3.lakegate.localhost is dialled as 127.0.0.1 by test clients.
const baseDomain = "s3.lakegate.localhost"

type lakegateOptions struct {
	// BaseDomains sets proxy.base_domains.
	BaseDomains []string
	// DisableSigV2 turns proxy.allow_sigv2 off (it is on by default here).
	DisableSigV2 bool
	// AdminToken sets admin.token, the REST API's bearer token for the
	// admin user, so that the client commands (sql, users, check) work.
	AdminToken bool
	// Auth and Groups, when set, are rendered as the auth (auth.jwt,
	// auth.ldap, auth.kerberos) and groups sections of the configuration.
	Auth   map[string]any
	Groups map[string]any
	// SystemKey is a PEM private key file for system.private_key: the
	// server then serves nScale proxies.
	SystemKey string
	// Audit, when set, is rendered as the audit section.
	Audit map[string]any
	// UpstreamBuckets, when set, is rendered as upstream.buckets (per-bucket
	// endpoint, region, addressing).
	UpstreamBuckets map[string]any
	// ProxyExtra and RESTExtra, when set, are merged into the proxy and
	// rest sections (timeouts, limits, allowed origins…).
	ProxyExtra map[string]any
	RESTExtra  map[string]any
	// Store, when set, is rendered as the store section (driver, dsn…)
	// instead of the data directory's SQLite.
	Store map[string]any
}

// lakegateServer is a running `lakegate serve`.
type lakegateServer struct {
	ProxyAddr   string // 127.0.0.1:port (http)
	TLSAddr     string // 127.0.0.1:port (https)
	ProxyURL    string // http://…
	TLSURL      string // https://…
	RESTAddr    string // 127.0.0.1:port (http)
	RESTURL     string // http://…, the client commands' --server
	SQLAddr     string // 127.0.0.1:port, Arrow Flight SQL (sql.addr)
	AdminKey    string
	AdminSecret string
	AdminToken  string // admin.token, when lakegateOptions.AdminToken is set
	CA          *testCA
	ConfigFile  string
	DataDir     string
	proc        *process
}

// Stderr is what the server has logged so far.
func (l *lakegateServer) Stderr() string {
	if l.proc == nil {
		return ""
	}
	return l.proc.out.String()
}

// HTTPClient returns a client that trusts the test CA and resolves
// *.s3.lakegate.localhost to 127.0.0.1.
func (l *lakegateServer) HTTPClient() *http.Client {
	return &http.Client{Transport: l.Transport()}
}

// Transport is the client transport HTTPClient uses.
func (l *lakegateServer) Transport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: l.CA.Pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err == nil && (host == baseDomain || strings.HasSuffix(host, "."+baseDomain)) {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost:   32,
		ResponseHeaderTimeout: 5 * time.Minute,
		ExpectContinueTimeout: time.Second,
	}
}

// stack is MinIO, the recording upstream and lakegate in front of them.
type stack struct {
	MinIO *minioServer
	Rec   *recorder
	LG    *lakegateServer
}

// baselineMode (LAKEGATE_E2E_BASELINE=1) points the clients at the
// recorder, which passes requests straight to MinIO, instead of at
// lakegate: it shows whether a failing scenario fails without the proxy
// too. Tests that only make sense with the proxy skip in this mode.
var baselineMode = os.Getenv("LAKEGATE_E2E_BASELINE") == "1"

// skipShort keeps `go test -short ./...` fast: every e2e test starts real
// servers.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e test skipped in -short mode")
	}
}

func skipInBaseline(t testing.TB) {
	t.Helper()
	if baselineMode {
		t.Skip("not meaningful without the proxy (LAKEGATE_E2E_BASELINE=1)")
	}
}

func newStack(t testing.TB, o lakegateOptions) *stack {
	t.Helper()
	skipShort(t)
	if baselineMode {
		m := startMinIO(t)
		ca := newTestCA(t)
		rec := startRecorder(t, m)
		rec.startTLS(t, ca)
		lg := &lakegateServer{
			ProxyAddr: strings.TrimPrefix(rec.URL, "http://"), TLSAddr: strings.TrimPrefix(rec.TLSURL, "https://"),
			ProxyURL: rec.URL, TLSURL: rec.TLSURL, AdminKey: m.AccessKey, AdminSecret: m.SecretKey, CA: ca,
		}
		return &stack{MinIO: m, Rec: rec, LG: lg}
	}
	if buildErr != nil {
		t.Fatalf("lakegate did not build: %v", buildErr)
	}
	return stackOver(t, startMinIO(t), o)
}

// stackOver puts the recorder and lakegate serve in front of a running
// S3 server (MinIO, or the embedded backend's versitygw).
func stackOver(t testing.TB, m *minioServer, o lakegateOptions) *stack {
	t.Helper()
	rec := startRecorder(t, m)
	lg := startLakegate(t, rec.URL, m, o)
	return &stack{MinIO: m, Rec: rec, LG: lg}
}

// lakegateConfig renders the serve configuration. The shape follows
// internal/config.
func lakegateConfig(dataDir string, lg *lakegateServer, upstreamURL string, m *minioServer, o lakegateOptions) ([]byte, error) {
	proxy := map[string]any{
		"addr":          lg.ProxyAddr,
		"tls_addr":      lg.TLSAddr,
		"tls_cert_file": lg.CA.CertFile,
		"tls_key_file":  lg.CA.KeyFile,
		"allow_sigv2":   !o.DisableSigV2,
	}
	if len(o.BaseDomains) > 0 {
		proxy["base_domains"] = o.BaseDomains
	}
	cfg := map[string]any{
		"data_dir": dataDir,
		"proxy":    proxy,
		"rest":     map[string]any{"addr": lg.RESTAddr},
		"sql":      map[string]any{"addr": lg.SQLAddr},
		"store":    map[string]any{"driver": "sqlite"},
		"upstream": map[string]any{
			"endpoint":          upstreamURL,
			"region":            region,
			"path_style":        true,
			"access_key_id":     m.AccessKey,
			"secret_access_key": m.SecretKey,
		},
	}
	if o.Store != nil {
		cfg["store"] = o.Store
	}
	maps.Copy(proxy, o.ProxyExtra)
	maps.Copy(cfg["rest"].(map[string]any), o.RESTExtra)
	if o.UpstreamBuckets != nil {
		cfg["upstream"].(map[string]any)["buckets"] = o.UpstreamBuckets
	}
	admin := map[string]any{
		"access_key_id":     lg.AdminKey,
		"secret_access_key": lg.AdminSecret,
	}
	if o.AdminToken {
		admin["token"] = lg.AdminToken
	}
	cfg["admin"] = admin
	if o.Auth != nil {
		cfg["auth"] = o.Auth
	}
	if o.Groups != nil {
		cfg["groups"] = o.Groups
	}
	if o.SystemKey != "" {
		cfg["system"] = map[string]any{"private_key": o.SystemKey}
	}
	if o.Audit != nil {
		cfg["audit"] = o.Audit
	}
	return yaml.Marshal(cfg)
}

func startLakegate(t testing.TB, upstreamURL string, m *minioServer, o lakegateOptions) *lakegateServer {
	t.Helper()
	dir := t.TempDir()
	lg := &lakegateServer{
		ProxyAddr:   freeAddr(t),
		TLSAddr:     freeAddr(t),
		RESTAddr:    freeAddr(t),
		SQLAddr:     freeAddr(t),
		AdminKey:    "LGADMIN" + randString(13, upperAlnum),
		AdminSecret: randString(40, anyAlnum),
		CA:          newTestCA(t),
		ConfigFile:  filepath.Join(dir, "lakegate.yaml"),
	}
	lg.ProxyURL = "http://" + lg.ProxyAddr
	lg.TLSURL = "https://" + lg.TLSAddr
	lg.RESTURL = "http://" + lg.RESTAddr
	if o.AdminToken {
		lg.AdminToken = "lgt_" + randString(40, anyAlnum)
	}
	registerSecret("admin secret/token", lg.AdminSecret, lg.AdminToken)
	registerSecret("MinIO root secret", m.SecretKey)
	cfg, err := lakegateConfig(filepath.Join(dir, "data"), lg, upstreamURL, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lg.ConfigFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	lg.DataDir = filepath.Join(dir, "data")
	lg.proc = startProcess(t, lakegateBin, baseEnv(dir), "serve", "--config", lg.ConfigFile)
	t.Cleanup(func() {
		graceful := lg.proc.stop(15 * time.Second)
		if !graceful {
			t.Errorf("lakegate did not exit within 15s of SIGTERM")
		}
		// The audit log is a log too: the suite's secret check reads it
		// before the temporary directory goes.
		registerLogFiles(filepath.Join(lg.DataDir, "audit"))
		if t.Failed() {
			t.Logf("lakegate stderr:\n%s", tail(lg.proc.out.String(), 20000))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Ready when the plain listener accepts and the TLS one completes a
	// handshake with the test CA (a bare dial would log a handshake error).
	probe := func(addr string, useTLS bool) error {
		d := &net.Dialer{Timeout: time.Second}
		if !useTLS {
			c, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				_ = c.Close()
			}
			return err
		}
		c, err := (&tls.Dialer{NetDialer: d, Config: &tls.Config{RootCAs: lg.CA.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	for _, l := range []struct {
		addr   string
		useTLS bool
	}{{lg.ProxyAddr, false}, {lg.TLSAddr, true}, {lg.RESTAddr, false}} {
		for {
			err := probe(l.addr, l.useTLS)
			if err == nil {
				break
			}
			if lg.proc.exited() {
				t.Fatalf("lakegate serve exited before listening on %s: %v\nconfig:\n%s\nstderr:\n%s",
					l.addr, lg.proc.err, cfg, lg.proc.out.String())
			}
			select {
			case <-ctx.Done():
				t.Fatalf("lakegate not serving on %s after 60s (%v)\nconfig:\n%s\nstderr:\n%s", l.addr, err, cfg, lg.proc.out.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return lg
}

// --------------------------------------------------------------- helpers

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// writeRandomFile writes size pseudo-random bytes to path, streaming, and
// returns their hex SHA-256.
func writeRandomFile(t testing.TB, path string, size int64, seed uint64) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(bw, newRandReader(seed), size); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newRandReader is a fast deterministic stream of bytes.
func newRandReader(seed uint64) io.Reader {
	var s [32]byte
	for i := range 4 {
		s[i*8] = byte(seed >> (8 * i))
	}
	s[31] = 0x5a
	return mrand.NewChaCha8(s)
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	_, _ = io.ReadFull(newRandReader(seed), b)
	return b
}

// fileSHA256 hashes a file.
func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// runCmd runs a command with a deadline and returns stdout, stderr and the
// exit code (-1 if it could not run or was killed).
func runCmd(ctx context.Context, env []string, dir, name string, args ...string) (string, string, int) {
	return runCmdStdin(ctx, env, dir, nil, name, args...)
}

// runCmdStdin is runCmd with stdin (nil: none) as the command's input.
func runCmdStdin(ctx context.Context, env []string, dir string, stdin io.Reader, name string, args ...string) (string, string, int) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			code = ee.ExitCode()
		} else {
			code = -1
			stderr.WriteString("\n[run: " + err.Error() + "]")
		}
	}
	registerLogText(filepath.Base(name)+" "+strings.Join(args, " ")+" (stderr)", stderr.String())
	return stdout.String(), stderr.String(), code
}

// fetchURL GETs a (presigned) URL with curl when it is installed, else
// net/http, and returns the body and status.
func fetchURL(t testing.TB, rawURL, caFile string, lg *lakegateServer) ([]byte, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if curl := findTool("curl"); curl != "" {
		dst := filepath.Join(t.TempDir(), "body")
		args := []string{"-sS", "-g", "--path-as-is", "--max-time", "110", "-o", dst, "-w", "%{http_code}"}
		if caFile != "" {
			args = append(args, "--cacert", caFile)
		}
		stdout, stderr, code := runCmd(ctx, baseEnv(t.TempDir()), "", curl, append(args, rawURL)...)
		if code != 0 {
			t.Fatalf("curl %s: exit %d: %s", rawURL, code, stderr)
		}
		body, err := os.ReadFile(dst)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		var status int
		if _, err := fmt.Sscanf(strings.TrimSpace(stdout), "%d", &status); err != nil {
			t.Fatalf("curl status %q: %v", stdout, err)
		}
		return body, status
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := lg.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", rawURL, err)
	}
	return body, resp.StatusCode
}

// assertResigned checks that every request that reached the upstream was
// signed with the upstream credentials and carried none of the client's
// authentication.
func assertResigned(t testing.TB, st *stack) {
	t.Helper()
	if baselineMode {
		return
	}
	bad := 0
	for _, r := range st.Rec.Since(0) {
		auth := r.Header.Get("Authorization")
		q, _ := url.ParseQuery(r.Query)
		var problem string
		switch {
		case strings.Contains(auth, st.LG.AdminKey) || strings.Contains(r.Query, st.LG.AdminKey):
			problem = "carries the client's access key"
		case auth == "":
			problem = "has no Authorization header"
		case !strings.Contains(auth, "Credential="+st.MinIO.AccessKey+"/"):
			problem = "is not signed with the upstream key: " + auth
		case q.Has("X-Amz-Signature") || q.Has("Signature") || q.Has("AWSAccessKeyId"):
			problem = "forwards presigned query authentication"
		}
		if problem != "" {
			bad++
			if bad <= 10 {
				t.Errorf("upstream request %s %s", r, problem)
			}
		}
	}
	if bad > 10 {
		t.Errorf("… %d upstream requests in all were not re-signed", bad)
	}
}
