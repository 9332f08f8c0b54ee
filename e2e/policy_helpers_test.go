package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Helpers for the policy suites (TestSeedExample, TestCLIPermissionTable,
// TestAdversarial): the client commands of the lakegate binary run as the
// admin, users made with `lakegate users create`, and hand-signed requests
// made as one of them.

// newPolicyStack starts a stack whose admin token lets the client commands
// reach the REST API.
func newPolicyStack(t *testing.T, o lakegateOptions) *stack {
	t.Helper()
	skipInBaseline(t)
	o.AdminToken = true
	return newStack(t, o)
}

// client runs `lakegate CMD… --server REST_URL ARGS…` as the admin
// (LAKEGATE_TOKEN) and returns its output and exit code.
func (l *lakegateServer) client(t testing.TB, cmd []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	env := append(baseEnv(home), "LAKEGATE_TOKEN="+l.AdminToken)
	full := append(append(slices.Clone(cmd), "--server", l.RESTURL), args...)
	return runCmd(ctx, env, home, lakegateBin, full...)
}

// sql runs the statements in one `lakegate sql` call and fails the test if
// it does not succeed. A trailing ';' on a statement is optional.
func (l *lakegateServer) sql(t testing.TB, stmts ...string) string {
	t.Helper()
	parts := make([]string, 0, len(stmts))
	for _, s := range stmts {
		parts = append(parts, strings.TrimSuffix(strings.TrimSpace(s), ";"))
	}
	text := strings.Join(parts, ";\n") + ";"
	stdout, stderr, code := l.client(t, []string{"sql"}, text)
	if code != 0 {
		t.Fatalf("lakegate sql %q: exit %d\nstdout:\n%s\nstderr:\n%s", text, code, stdout, stderr)
	}
	return stdout
}

// sqlFile writes text to a file and runs `lakegate sql -f FILE`.
func (l *lakegateServer) sqlFile(t testing.TB, text string) (string, string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "grants.sql")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return l.client(t, []string{"sql"}, "-f", path)
}

// createUser runs `lakegate users create NAME GROUP…` and returns the
// access key it printed.
func (l *lakegateServer) createUser(t testing.TB, name string, groups ...string) (key, secret string) {
	t.Helper()
	out := l.usersCreate(t, name, groups...)
	key, secret = out["aws_access_key_id"], out["aws_secret_access_key"]
	registerSecret("secret key from lakegate users create", secret)
	if key == "" || secret == "" {
		t.Fatalf("lakegate users create %s printed no aws_access_key_id / aws_secret_access_key lines, only %v", name, slices.Sorted(maps.Keys(out)))
	}
	return key, secret
}

// usersCreate runs `lakegate users create NAME GROUP…` and returns the
// key = value lines it printed.
func (l *lakegateServer) usersCreate(t testing.TB, name string, groups ...string) map[string]string {
	t.Helper()
	stdout, stderr, code := l.client(t, []string{"users", "create"}, append([]string{name}, groups...)...)
	if code != 0 {
		t.Fatalf("lakegate users create %s %v: exit %d\nstdout:\n%s\nstderr:\n%s", name, groups, code, stdout, stderr)
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(stdout, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// check runs `lakegate check` and returns its first line (ALLOW or DENY)
// and the rest (the reason).
func (l *lakegateServer) check(t testing.TB, user string, groups []string, uri, op string) (string, string) {
	t.Helper()
	args := []string{"--user", user}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	stdout, stderr, code := l.client(t, []string{"check"}, append(args, uri, op)...)
	if code != 0 {
		t.Fatalf("lakegate check %v %s %s: exit %d\nstdout:\n%s\nstderr:\n%s", args, uri, op, code, stdout, stderr)
	}
	first, rest, _ := strings.Cut(strings.TrimSpace(stdout), "\n")
	return strings.TrimSpace(first), rest
}

// userCLI is an AWS CLI with a user's key, pointed at the plain proxy
// listener.
func userCLI(t *testing.T, st *stack, key, secret string) *awsCLI {
	t.Helper()
	return newAWSCLI(t, st.LG.ProxyURL, key, secret, "")
}

// deniedOutput reports whether an AWS CLI error output says access was
// denied. HEAD requests carry no error body, so botocore reports their 403
// as "(403) … Forbidden".
func deniedOutput(stderr string) bool {
	for _, s := range []string{"AccessDenied", "Access Denied", "(403)", "Forbidden"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// s3User signs raw requests with one user's key.
type s3User struct {
	Name, Key, Secret string
	lg                *lakegateServer
	hc                *http.Client
}

// newS3User returns a user whose client does not follow redirects: a
// redirect is an answer to assert, not to act on.
func newS3User(lg *lakegateServer, name, key, secret string) *s3User {
	hc := lg.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &s3User{Name: name, Key: key, Secret: secret, lg: lg, hc: hc}
}

// rawReq describes one hand-signed request. Path is sent exactly as given
// (already escaped); Host overrides the Host header.
//
// Requests ask for Accept-Encoding: identity, as the AWS SDKs do, unless
// Header sets it: Go's transport would otherwise ask for gzip on its own.
type rawReq struct {
	Method string
	Path   string
	// SignPath, when set, is the path the signature covers instead of
	// Path: the canonical form a server computes for a path it decodes
	// (MinIO and lakegate sign "/b/x%2Fy" as "/b/x/y").
	SignPath string
	Query    string // raw
	Host     string
	Header   http.Header
	Body     []byte
}

// String is the request as a test failure shows it.
func (r rawReq) String() string {
	s := r.Method + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	if r.Host != "" {
		s += " (Host: " + r.Host + ")"
	}
	for k, v := range r.Header {
		s += " " + k + ": " + strings.Join(v, ",")
	}
	return s
}

// build returns the signed *http.Request.
func (u *s3User) build(t testing.TB, r rawReq) *http.Request {
	t.Helper()
	signPath := r.Path
	if r.SignPath != "" {
		signPath = r.SignPath
	}
	target := signPath
	if r.Query != "" {
		target += "?" + r.Query
	}
	req := newRawRequest(t, r.Method, u.lg.ProxyURL, target, r.Body)
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Host != "" {
		req.Host = r.Host
	}
	hash := emptySHA256
	if r.Body != nil {
		hash = sha256Hex(r.Body)
		if req.Header.Get("Content-Md5") == "" {
			req.Header.Set("Content-Md5", contentMD5(r.Body))
		}
	}
	signV4(t, req, u.Key, u.Secret, hash, time.Now())
	if r.SignPath != "" {
		wire, err := url.Parse(u.lg.ProxyURL + r.Path)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path, req.URL.RawPath = wire.Path, wire.RawPath
	}
	return req
}

// do signs and sends r.
func (u *s3User) do(t testing.TB, r rawReq) rawResponse {
	t.Helper()
	return doRaw(t, u.hc, u.build(t, r))
}

// presign returns a presigned GET URL for path signed with key and secret.
func presignGet(t testing.TB, lg *lakegateServer, path, key, secret string) string {
	t.Helper()
	req := newRawRequest(t, http.MethodGet, lg.ProxyURL, path, nil)
	return presignV4(t, req, key, secret, 10*time.Minute, time.Now())
}

// contentMD5 is the Content-MD5 header value of b.
func contentMD5(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// deleteObjectsBody is a DeleteObjects request body for keys.
func deleteObjectsBody(keys ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>false</Quiet>`)
	for _, k := range keys {
		b.WriteString("<Object><Key>")
		_ = xml.EscapeText(&b, []byte(k))
		b.WriteString("</Key></Object>")
	}
	b.WriteString("</Delete>")
	return b.Bytes()
}

// ------------------------------------------------- MinIO, directly

func (m *minioServer) core() minio.Core { return minio.Core{Client: m.Client} }

func minioCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// makeBucket creates bucket on MinIO, optionally versioned.
func (m *minioServer) makeBucket(t testing.TB, bucket string, versioned bool) {
	t.Helper()
	ctx := minioCtx(t)
	if err := m.Client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatalf("make bucket %s on minio: %v", bucket, err)
	}
	if versioned {
		if err := m.Client.EnableVersioning(ctx, bucket); err != nil {
			t.Fatalf("enable versioning on %s: %v", bucket, err)
		}
	}
}

// put stores content at bucket/key directly on MinIO.
func (m *minioServer) put(t testing.TB, bucket, key, content string) {
	t.Helper()
	_, err := m.Client.PutObject(minioCtx(t), bucket, key, strings.NewReader(content), int64(len(content)),
		minio.PutObjectOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatalf("put %s/%s on minio: %v", bucket, key, err)
	}
}

// remove deletes bucket/key directly on MinIO (a delete marker when
// versioned).
func (m *minioServer) remove(t testing.TB, bucket, key string) {
	t.Helper()
	if err := m.Client.RemoveObject(minioCtx(t), bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("remove %s/%s on minio: %v", bucket, key, err)
	}
}

// get returns the content of bucket/key on MinIO.
func (m *minioServer) get(t testing.TB, bucket, key string) string {
	t.Helper()
	obj, err := m.Client.GetObject(minioCtx(t), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s/%s on minio: %v", bucket, key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("get %s/%s on minio: %v", bucket, key, err)
	}
	return string(b)
}

// newUpload starts a multipart upload directly on MinIO.
func (m *minioServer) newUpload(t testing.TB, bucket, key string) string {
	t.Helper()
	id, err := m.core().NewMultipartUpload(minioCtx(t), bucket, key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("create multipart upload %s/%s on minio: %v", bucket, key, err)
	}
	return id
}

// uploadPart uploads part n directly on MinIO and returns its ETag.
func (m *minioServer) uploadPart(t testing.TB, bucket, key, id string, n int, data string) string {
	t.Helper()
	p, err := m.core().PutObjectPart(minioCtx(t), bucket, key, id, n, strings.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatalf("upload part %d of %s/%s on minio: %v", n, bucket, key, err)
	}
	return p.ETag
}

// parts lists the part ETags of an upload; ok is false when the upload
// does not exist.
func (m *minioServer) parts(t testing.TB, bucket, key, id string) (etags []string, ok bool) {
	t.Helper()
	res, err := m.core().ListObjectParts(minioCtx(t), bucket, key, id, 0, 1000)
	if code := minio.ToErrorResponse(err).Code; code == "NoSuchUpload" {
		return nil, false
	} else if err != nil {
		t.Fatalf("list parts of %s/%s (%s) on minio: %v", bucket, key, id, err)
	}
	for _, p := range res.ObjectParts {
		etags = append(etags, fmt.Sprintf("%d:%s", p.PartNumber, p.ETag))
	}
	return etags, true
}

// uploads returns the multipart uploads of bucket as upload id → key.
func (m *minioServer) uploads(t testing.TB, bucket string) map[string]string {
	t.Helper()
	res, err := m.core().ListMultipartUploads(minioCtx(t), bucket, "", "", "", "", 1000)
	if err != nil {
		t.Fatalf("list multipart uploads of %s on minio: %v", bucket, err)
	}
	out := map[string]string{}
	for _, u := range res.Uploads {
		out[u.UploadID] = u.Key
	}
	return out
}

// abortUploads aborts every upload of bucket/key on MinIO.
func (m *minioServer) abortUploads(t testing.TB, bucket, key string) {
	t.Helper()
	for id, k := range m.uploads(t, bucket) {
		if k == key {
			if err := m.core().AbortMultipartUpload(minioCtx(t), bucket, k, id); err != nil {
				t.Fatalf("abort upload %s of %s/%s: %v", id, bucket, k, err)
			}
		}
	}
}

// snapshot describes the storage state of buckets: every current object
// (ETag, size, modification time) as "bucket/key", and every multipart
// upload with its parts as "bucket?uploadId=ID key".
func (m *minioServer) snapshot(t testing.TB, buckets ...string) map[string]string {
	t.Helper()
	s := map[string]string{}
	for _, b := range buckets {
		if !m.bucketExists(t, b) {
			s[b] = "(no bucket)"
			continue
		}
		for k, o := range m.listKeys(t, b) {
			s[b+"/"+k] = fmt.Sprintf("etag=%s size=%d modified=%s", o.ETag, o.Size, o.LastModified.Format(time.RFC3339Nano))
		}
		for id, k := range m.uploads(t, b) {
			etags, _ := m.parts(t, b, k, id)
			s[b+"?uploadId="+id+" "+k] = "parts=" + strings.Join(etags, ",")
		}
	}
	return s
}

// snapshotDiff lists the differences between two snapshots, skipping
// entries for which skip returns true.
func snapshotDiff(before, after map[string]string, skip func(entry string) bool) []string {
	var diffs []string
	for k, v := range before {
		if skip != nil && skip(k) {
			continue
		}
		switch w, ok := after[k]; {
		case !ok:
			diffs = append(diffs, "removed: "+k+" ("+v+")")
		case w != v:
			diffs = append(diffs, "changed: "+k+": "+v+" → "+w)
		}
	}
	for k, v := range after {
		if skip != nil && skip(k) {
			continue
		}
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "added: "+k+" ("+v+")")
		}
	}
	slices.Sort(diffs)
	return diffs
}

// mutations are the upstream requests that could change storage.
func mutations(reqs []recordedRequest) []string {
	var out []string
	for _, r := range reqs {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			out = append(out, r.String())
		}
	}
	return out
}

// settle waits until the recorder has finished forwarding.
func settle(t testing.TB, rec *recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rec.WaitIdle(ctx); err != nil {
		t.Error(err)
	}
}
