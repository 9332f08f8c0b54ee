package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/upstream"
)

// keys is a CredentialLookup over a fixed map.
type keys map[string]string

func (k keys) LookupCredential(_ context.Context, id string) (sigv4.Credential, error) {
	s, ok := k[id]
	if !ok {
		return sigv4.Credential{}, fmt.Errorf("%q: %w", id, sigv4.ErrUnknownAccessKey)
	}
	return sigv4.Credential{AccessKeyID: id, SecretAccessKey: s, Owner: id}, nil
}

// newEngine is a real policy engine over a fresh SQLite store in which the
// client key's user is catalog admin and script has run.
func newEngine(t testing.TB, script string) *authz.Engine {
	t.Helper()
	return authztest.New(t, authztest.Options{AdminUser: clientKey, Script: script}).Engine
}

const (
	clientKey, clientSecret = "LGCLIENTKEY000000001", "client-secret-0123456789012345678901234"
	sysKey, sysSecret       = "SYSTEMKEY00000000001", "system-secret-012345678901234567890123"
)

// seen is what the upstream received.
type seen struct {
	method, path, rawPath, query string
	header                       http.Header
	body                         []byte
	bodyErr                      error
}

// testUpstream verifies every request with the system key, as S3 would,
// and records it.
type testUpstream struct {
	mu   sync.Mutex
	reqs []seen
}

func (u *testUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := sigv4.NewVerifier(sigv4.Options{Credentials: keys{sysKey: sysSecret}})
	res, err := v.Verify(r, "")
	s := seen{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone()}
	if err == nil {
		s.body, s.bodyErr = io.ReadAll(res.NewPayloadReader(r.Body, r.ContentLength))
	}
	u.mu.Lock()
	u.reqs = append(u.reqs, s)
	u.mu.Unlock()
	if err != nil {
		http.Error(w, "upstream rejected signature: "+err.Error(), http.StatusForbidden)
		return
	}
	if s.bodyErr != nil {
		http.Error(w, "upstream body: "+s.bodyErr.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("ETag", `"etag-from-upstream"`)
	_, _ = w.Write([]byte("upstream says hi"))
}

func (u *testUpstream) last(t *testing.T) seen {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream saw no request")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *testUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

func newProxy(t *testing.T, opts ...func(*Options)) (proxyURL string, up *testUpstream) {
	t.Helper()
	up = &testUpstream{}
	return startProxy(t, up, opts...), up
}

// startProxy runs the gateway in front of upstreamHandler, with the client
// key for clients and the system key for the upstream, and returns its URL.
func startProxy(t *testing.T, upstreamHandler http.Handler, opts ...func(*Options)) string {
	t.Helper()
	us := httptest.NewServer(upstreamHandler)
	t.Cleanup(us.Close)
	client, err := upstream.New(upstream.Options{
		Default:     upstream.Target{Endpoint: us.URL, Region: "us-east-1", PathStyle: true},
		Credentials: credentials.NewStaticCredentialsProvider(sysKey, sysSecret, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Verifier:   sigv4.NewVerifier(sigv4.Options{Credentials: keys{clientKey: clientSecret}, AllowSigV2: true}),
		Upstream:   client,
		Authorizer: newEngine(t, ""),
	}
	for _, f := range opts {
		f(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(h)
	t.Cleanup(ps.Close)
	return ps.URL
}

// signedPayloadsTo is an option sending the proxy's requests to h with
// upstream.Target.SignPayload set: bodies signed for the upstream even
// though it is on loopback.
func signedPayloadsTo(t *testing.T, h http.Handler) func(*Options) {
	us := httptest.NewServer(h)
	t.Cleanup(us.Close)
	client, err := upstream.New(upstream.Options{
		Default:     upstream.Target{Endpoint: us.URL, Region: "us-east-1", PathStyle: true, SignPayload: true},
		Credentials: credentials.NewStaticCredentialsProvider(sysKey, sysSecret, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(o *Options) { o.Upstream = client }
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func signV4(t *testing.T, r *http.Request, payloadHash string, at time.Time) {
	t.Helper()
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(
		context.Background(), aws.Credentials{AccessKeyID: clientKey, SecretAccessKey: clientSecret},
		r, payloadHash, "s3", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var e struct{ Code string }
	b, _ := io.ReadAll(resp.Body)
	if err := xml.Unmarshal(b, &e); err != nil {
		t.Fatalf("status %d, body %q is not S3 XML: %v", resp.StatusCode, b, err)
	}
	return e.Code
}

func TestForwardResignsAndStreams(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sign_payload=%v", signed), func(t *testing.T) { testForward(t, signed) })
	}
}

// testForward sends a PUT with a hex-digest payload. The upstream, on
// loopback, gets it UNSIGNED-PAYLOAD, or with the client's digest when
// payloads are always signed.
func testForward(t *testing.T, signed bool) {
	up := &testUpstream{}
	var opts []func(*Options)
	if signed {
		opts = append(opts, signedPayloadsTo(t, up))
	}
	proxy := startProxy(t, up, opts...)
	body := bytes.Repeat([]byte("lakegate "), 1000)
	key := "dir/a b+c!(1)*é.txt"
	// The client encodes the key the way S3 SDKs do (RFC 3986 unreserved
	// characters kept, everything else %XX).
	r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/dir/a%20b%2Bc%21%281%29%2A%C3%A9.txt", bytes.NewReader(body))
	r.Header.Set("X-Amz-Meta-Team", "data")
	r.Header.Set("Content-Type", "text/plain")
	signV4(t, r, sha(body), time.Now())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "upstream says hi" || resp.Header.Get("ETag") != `"etag-from-upstream"` {
		t.Fatalf("status %d body %q etag %q", resp.StatusCode, got, resp.Header.Get("ETag"))
	}
	s := up.last(t)
	if s.path != "/bucket1/"+key {
		t.Errorf("upstream path %q, want %q", s.path, "/bucket1/"+key)
	}
	if !bytes.Equal(s.body, body) {
		t.Errorf("upstream body differs (%d bytes, want %d)", len(s.body), len(body))
	}
	want := "UNSIGNED-PAYLOAD"
	if signed {
		want = sha(body)
	}
	if got := s.header.Get("X-Amz-Content-Sha256"); got != want {
		t.Errorf("upstream payload hash %q, want %q", got, want)
	}
	if strings.Contains(s.header.Get("Authorization"), clientKey) {
		t.Error("client credentials reached the upstream")
	}
	if s.header.Get("X-Amz-Meta-Team") != "data" {
		t.Error("metadata header lost")
	}
}

func TestPresignedGoesUpstreamHeaderSigned(t *testing.T) {
	proxy, up := newProxy(t)
	r, _ := http.NewRequest(http.MethodGet, proxy+"/bucket1/k?response-content-type=text%2Fplain&X-Amz-Expires=300", nil)
	u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: clientKey, SecretAccessKey: clientSecret}, r, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned GET status %d", resp.StatusCode)
	}
	s := up.last(t)
	if strings.Contains(s.query, "X-Amz-") {
		t.Errorf("presign parameters reached upstream: %q", s.query)
	}
	if s.query != "response-content-type=text%2Fplain" {
		t.Errorf("upstream query %q", s.query)
	}
	if !strings.HasPrefix(s.header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+sysKey+"/") {
		t.Errorf("upstream not header-signed with the system key: %q", s.header.Get("Authorization"))
	}
}

func TestStreamingChunksResigned(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sign_payload=%v", signed), func(t *testing.T) { testStreaming(t, signed) })
	}
}

// testStreaming sends a chunk-signed upload: the upstream, on loopback,
// gets it decoded with its verified length, or re-signed chunk by chunk
// when payloads are always signed.
func testStreaming(t *testing.T, signed bool) {
	up := &testUpstream{}
	var opts []func(*Options)
	if signed {
		opts = append(opts, signedPayloadsTo(t, up))
	}
	proxy := startProxy(t, up, opts...)
	data := make([]byte, 200<<10+123) // four 64 KiB chunks and a short one
	for i := range data {
		data[i] = byte(i * 7)
	}
	r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/stream", bytes.NewReader(data))
	r = signer.StreamingSignV4(r, clientKey, clientSecret, "", "us-east-1", int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	s := up.last(t)
	if !bytes.Equal(s.body, data) {
		t.Fatalf("upstream decoded %d bytes (err %v), want %d identical", len(s.body), s.bodyErr, len(data))
	}
	mode, encoding, decoded := s.header.Get("X-Amz-Content-Sha256"), s.header.Get("Content-Encoding"), s.header.Get("X-Amz-Decoded-Content-Length")
	if signed && mode != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" {
		t.Errorf("upstream payload mode %q", mode)
	}
	if !signed && (mode != "UNSIGNED-PAYLOAD" || strings.Contains(encoding, "aws-chunked") || decoded != "") {
		t.Errorf("upstream got mode %q, Content-Encoding %q, decoded length %q; want a plain UNSIGNED-PAYLOAD body", mode, encoding, decoded)
	}
}

func TestRefusedRequestsNeverReachUpstream(t *testing.T) {
	proxy, up := newProxy(t)
	body := []byte("payload")
	tests := []struct {
		name string
		mod  func(r *http.Request)
		code string
	}{
		{"wrong secret", func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sha(body))
			_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: clientKey, SecretAccessKey: "nope"}, r, sha(body), "s3", "us-east-1", time.Now())
		}, "SignatureDoesNotMatch"},
		{"header changed after signing", func(r *http.Request) {
			r.Header.Set("Content-Type", "a/b")
			signV4(t, r, sha(body), time.Now())
			r.Header.Set("Content-Type", "c/d")
		}, "SignatureDoesNotMatch"},
		{"unsigned amz header", func(r *http.Request) {
			signV4(t, r, sha(body), time.Now())
			r.Header.Set("X-Amz-Meta-Extra", "1")
		}, "AccessDenied"},
		{"skewed clock", func(r *http.Request) { signV4(t, r, sha(body), time.Now().Add(-20*time.Minute)) }, "RequestTimeTooSkewed"},
		{"unknown key", func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sha(body))
			_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "LGUNKNOWN", SecretAccessKey: "x"}, r, sha(body), "s3", "us-east-1", time.Now())
		}, "InvalidAccessKeyId"},
		{"anonymous", func(*http.Request) {}, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/k", bytes.NewReader(body))
			tc.mod(r)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if code := errorCode(t, resp); code != tc.code {
				t.Errorf("code %s, want %s", code, tc.code)
			}
			if up.count() != before {
				t.Error("the upstream saw a refused request")
			}
		})
	}
}

func TestBodyMismatchAbortsUpstream(t *testing.T) {
	proxy, up := newProxy(t)
	body := bytes.Repeat([]byte("x"), 1<<20)
	r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/k", bytes.NewReader(body))
	signV4(t, r, sha([]byte("something else")), time.Now())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if code := errorCode(t, resp); code != "XAmzContentSHA256Mismatch" {
		t.Errorf("code %s", code)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, s := range up.reqs {
		if s.bodyErr == nil && len(s.body) == len(body) {
			t.Error("the upstream received the complete mismatching body")
		}
	}
}

// sha256Hasher adapts crypto/sha256 to minio-go's md5simd.Hasher.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// stallingReader sends n bytes, then blocks until release is closed.
type stallingReader struct {
	n       int
	release chan struct{}
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.n == 0 {
		<-s.release
		return 0, io.EOF
	}
	k := min(len(p), s.n)
	for i := range p[:k] {
		p[i] = 'z'
	}
	s.n -= k
	return k, nil
}

func TestStalledUploadIsAbortedAfterBodyIdleTimeout(t *testing.T) {
	proxy, up := newProxy(t, func(o *Options) { o.BodyIdleTimeout = 200 * time.Millisecond })
	body := &stallingReader{n: 1000, release: make(chan struct{})}
	defer close(body.release)
	r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/stalled", body)
	r.ContentLength = 5000
	signV4(t, r, "UNSIGNED-PAYLOAD", time.Now())
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(r)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	deadline := time.After(10 * time.Second)
	for {
		up.mu.Lock()
		n := len(up.reqs)
		var s seen
		if n > 0 {
			s = up.reqs[n-1]
		}
		up.mu.Unlock()
		if n > 0 {
			if s.bodyErr == nil || len(s.body) == 5000 {
				t.Fatalf("upstream got a complete body (%d bytes, err %v)", len(s.body), s.bodyErr)
			}
			return
		}
		select {
		case <-deadline:
			t.Fatal("the stalled upload was not aborted within 10s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
