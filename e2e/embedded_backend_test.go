package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// The embedded backend: `lakegate quickstart` serves its buckets from
// versitygw's POSIX backend with sidecar metadata files, in process. The
// same server runs here as the versitygw binary (posix mode over a
// temporary directory, on a free 127.0.0.1 port, as CI installs it), so
// that a test can put lakegate serve in front of it through the same
// recorder as in front of MinIO and assert the same upstream state.

// backendKind names the S3 server behind the recorder.
type backendKind string

const (
	backendMinIO    backendKind = "minio"
	backendEmbedded backendKind = "embedded"
)

// backendKinds are the servers the findings' tests run against.
var backendKinds = []backendKind{backendMinIO, backendEmbedded}

// forEachBackend runs fn as a subtest per backend, each with its own
// stack (lakegate serve with an admin token, so that the client commands
// work).
func forEachBackend(t *testing.T, o lakegateOptions, fn func(t *testing.T, kind backendKind, st *stack)) {
	t.Helper()
	for _, kind := range backendKinds {
		t.Run(string(kind), func(t *testing.T) {
			st := newPolicyStackOn(t, kind, o)
			fn(t, kind, st)
		})
	}
}

// newPolicyStackOn is newPolicyStack in front of the given backend.
func newPolicyStackOn(t *testing.T, kind backendKind, o lakegateOptions) *stack {
	t.Helper()
	if kind == backendMinIO {
		return newPolicyStack(t, o)
	}
	skipInBaseline(t)
	skipShort(t)
	o.AdminToken = true
	if buildErr != nil {
		t.Fatalf("lakegate did not build: %v", buildErr)
	}
	return stackOver(t, startVersitygw(t), o)
}

// startVersitygw starts `versitygw posix` with sidecar metadata (the
// embedded backend's layout) and returns it in the shape of a MinIO
// server: Host, keys and a minio-go client, so that the storage helpers
// (makeBucket, put, snapshot…) work on it unchanged. It must not be
// reset(): that starts MinIO.
func startVersitygw(t testing.TB) *minioServer {
	t.Helper()
	bin := findTool("versitygw")
	if bin == "" {
		t.Skip("versitygw not found on PATH or in ~/go/bin; install with " +
			"GOTOOLCHAIN=local go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	}
	dir := t.TempDir()
	root, meta := filepath.Join(dir, "s3"), filepath.Join(dir, "meta")
	for _, d := range []string{root, meta} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m := &minioServer{
		Host:      freeAddr(t),
		AccessKey: "vgw" + randString(12, lowerAlnum),
		SecretKey: randString(32, anyAlnum),
		bin:       bin,
		dir:       dir,
	}
	m.Endpoint = "http://" + m.Host
	registerSecret("versitygw root secret", m.SecretKey)
	p, err := newProcess(bin, baseEnv(dir), "--access", m.AccessKey, "--secret", m.SecretKey,
		"--region", region, "--port", m.Host, "--quiet", "posix", "--sidecar", meta, root)
	if err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("versitygw output:\n%s", tail(p.out.String(), 4000))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", m.Host)
		if err == nil {
			_ = c.Close()
			break
		}
		if p.exited() {
			t.Fatalf("versitygw exited before listening: %v\n%s", p.err, p.out.String())
		}
		select {
		case <-ctx.Done():
			t.Fatalf("versitygw not listening on %s after 60s:\n%s", m.Host, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	c, err := minio.New(m.Host, &minio.Options{
		Creds:        miniocreds.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatalf("versitygw client: %v", err)
	}
	m.Client = c
	// Live: a signed ListBuckets answers.
	for {
		_, err := c.ListBuckets(ctx)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("versitygw does not answer ListBuckets: %v\n%s", err, p.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return m
}

// makeLockedBucket creates bucket with object lock enabled (and so
// versioning) directly on the backend.
func (m *minioServer) makeLockedBucket(t testing.TB, bucket string) {
	t.Helper()
	if err := m.Client.MakeBucket(minioCtx(t), bucket, minio.MakeBucketOptions{Region: region, ObjectLocking: true}); err != nil {
		t.Fatalf("make bucket %s with object lock: %v", bucket, err)
	}
}

// backendRequest signs and sends a request straight to the backend (not
// through the recorder) with its root keys.
func (m *minioServer) backendRequest(t testing.TB, method, pathAndQuery string, header http.Header, body []byte) rawResponse {
	t.Helper()
	req := newRawRequest(t, method, m.Endpoint, pathAndQuery, body)
	for k, v := range header {
		req.Header[k] = v
	}
	hash := emptySHA256
	if body != nil {
		hash = sha256Hex(body)
		req.Header.Set("Content-Md5", contentMD5(body))
	}
	signV4(t, req, m.AccessKey, m.SecretKey, hash, time.Now())
	return doRaw(t, http.DefaultClient, req)
}
