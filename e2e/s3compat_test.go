package e2e

// Issue 13, S3 behaviour: what a conformance suite and real clients tripped
// over, against MinIO and the embedded backend (versitygw posix).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needBoto3 returns python3, skipping the test without it or boto3 and
// requests.
func needBoto3(t *testing.T) string {
	t.Helper()
	python := findTool("python3")
	if python == "" {
		t.Skip("python3 not found")
	}
	if err := exec.Command(python, "-c", "import boto3, requests").Run(); err != nil {
		t.Skipf("python3 cannot import boto3 and requests: %v", err)
	}
	return python
}

// pythonSteps runs script (steps printing "STEP <name> OK|FAIL …", as
// boto3Script) against endpoint with u's keys and reports each named step
// as a subtest; it returns the script's output.
func pythonSteps(t *testing.T, python, script string, steps []string, env ...string) string {
	t.Helper()
	home := t.TempDir()
	path := filepath.Join(home, "scenario.py")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(append(baseEnv(home), env...),
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "E2E_WORK="+home)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stdout, stderr, code := runCmd(ctx, env, home, python, path)
	results := stepResults(stdout)
	for _, name := range steps {
		t.Run(name, func(t *testing.T) {
			switch r, ok := results[name]; {
			case !ok:
				t.Errorf("not reached\nstderr:\n%s", tail(stderr, 3000))
			case r != "OK":
				t.Errorf("%s\nstderr:\n%s", r, tail(stderr, 3000))
			}
		})
	}
	if code != 0 && !t.Failed() {
		t.Errorf("python exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 3000))
	}
	return stdout
}

// s3compatPrelude is the common start of the scenarios: a boto3 client for
// E2E_ENDPOINT with E2E_KEY/E2E_SECRET, and step/check as in boto3Script.
const s3compatPrelude = `
import os, sys, traceback
import boto3, requests
from botocore.config import Config

endpoint = os.environ["E2E_ENDPOINT"]
bucket = os.environ["E2E_BUCKET"]
ca = os.environ.get("E2E_CA") or None
verify = ca if ca else True

s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=os.environ["E2E_KEY"],
    aws_secret_access_key=os.environ["E2E_SECRET"],
    region_name="us-east-1",
    verify=verify,
    config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 1}),
)

def step(name, fn):
    try:
        fn()
    except Exception as e:
        detail = ""
        resp = getattr(e, "response", None)
        if resp:
            detail = " code=%s status=%s" % (resp.get("Error", {}).get("Code"), resp.get("ResponseMetadata", {}).get("HTTPStatusCode"))
        msg = ("%s: %s%s" % (type(e).__name__, e, detail)).replace("\n", " | ")
        print("STEP %s FAIL %s" % (name, msg), flush=True)
        traceback.print_exc(file=sys.stderr)
        return
    print("STEP %s OK" % name, flush=True)

def check(cond, msg):
    if not cond:
        raise AssertionError(msg)

def post(fields, filename, data, conditions=(), exact=True):
    # A form from boto3's generate_presigned_post, each extra field under an
    # exact condition unless exact is False, posted with requests.
    fields = dict(fields)
    key = fields.pop("key")
    conds = ([{k: v} for k, v in fields.items()] if exact else []) + list(conditions)
    p = s3.generate_presigned_post(bucket, key, Fields=fields, Conditions=conds, ExpiresIn=600)
    return requests.post(p["url"], data=p["fields"], files={"file": (filename, data)}, verify=verify, timeout=60)
`

// metadataCaseScript writes objects with user metadata every way a client
// can (PUT, copy with COPY and REPLACE directives, multipart, POST form)
// and reads the names back with head_object and get_object: S3 returns
// x-amz-meta-* in lower case, so boto3 reports {'foo': 'bar'}.
const metadataCaseScript = s3compatPrelude + `
def meta_of(key, want):
    h = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    check(h == want, "head_object %s: Metadata %r, want %r" % (key, h, want))
    g = s3.get_object(Bucket=bucket, Key=key)
    g["Body"].read()
    check(g["Metadata"] == want, "get_object %s: Metadata %r, want %r" % (key, g["Metadata"], want))

def put():
    s3.put_object(Bucket=bucket, Key="meta/put.txt", Body=b"put", Metadata={"foo": "bar", "two-words": "v2"})
    meta_of("meta/put.txt", {"foo": "bar", "two-words": "v2"})

def copy_keep():
    s3.copy_object(Bucket=bucket, Key="meta/copy.txt", CopySource={"Bucket": bucket, "Key": "meta/put.txt"})
    meta_of("meta/copy.txt", {"foo": "bar", "two-words": "v2"})

def copy_replace():
    s3.copy_object(Bucket=bucket, Key="meta/replaced.txt", CopySource={"Bucket": bucket, "Key": "meta/put.txt"},
        MetadataDirective="REPLACE", Metadata={"colour": "blue"})
    meta_of("meta/replaced.txt", {"colour": "blue"})

def multipart():
    up = s3.create_multipart_upload(Bucket=bucket, Key="meta/mp.bin", Metadata={"foo": "multipart"})
    part = s3.upload_part(Bucket=bucket, Key="meta/mp.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"m" * 1024)
    s3.complete_multipart_upload(Bucket=bucket, Key="meta/mp.bin", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    meta_of("meta/mp.bin", {"foo": "multipart"})

def post_form():
    r = post({"key": "meta/post.txt", "x-amz-meta-foo": "posted"}, "post.txt", b"posted")
    check(r.status_code in (200, 201, 204), "POST: %d %s" % (r.status_code, r.text))
    meta_of("meta/post.txt", {"foo": "posted"})

for name, fn in [("put", put), ("copy_keep", copy_keep), ("copy_replace", copy_replace),
                 ("multipart", multipart), ("post_form", post_form)]:
    step(name, fn)
`

// TestS3CompatMetadataCase is issue 13 item 1: user metadata names reach
// clients in lower case, as S3 and MinIO send them (Go's header map would
// canonicalise them to X-Amz-Meta-Foo), over http and https, after PUT,
// copy, multipart and POST uploads; boto3 and `aws s3api head-object`.
func TestS3CompatMetadataCase(t *testing.T) {
	python := needBoto3(t)
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		b := bucketName("meta")
		st.MinIO.makeBucket(t, b, false)
		u := grantUser(t, st.LG, "metauser", fmt.Sprintf("SELECT, INSERT ON URI 's3://%s/meta/'", b))
		for _, scheme := range []string{"http", "https"} {
			t.Run(scheme, func(t *testing.T) {
				endpoint, ca := st.LG.ProxyURL, ""
				if scheme == "https" {
					endpoint, ca = st.LG.TLSURL, st.LG.CA.CAFile
				}
				pythonSteps(t, python, metadataCaseScript, []string{"put", "copy_keep", "copy_replace", "multipart", "post_form"},
					"E2E_ENDPOINT="+endpoint, "E2E_BUCKET="+b, "E2E_CA="+ca, "E2E_KEY="+u.Key, "E2E_SECRET="+u.Secret)

				t.Run("awscli_head_object", func(t *testing.T) {
					cli := newAWSCLI(t, endpoint, u.Key, u.Secret, ca)
					out := cli.run(t, time.Minute, "s3api", "head-object", "--bucket", b, "--key", "meta/put.txt")
					var head struct{ Metadata map[string]string }
					if err := json.Unmarshal([]byte(out), &head); err != nil {
						t.Fatalf("head-object output: %v\n%s", err, out)
					}
					if want := map[string]string{"foo": "bar", "two-words": "v2"}; !equalMaps(head.Metadata, want) {
						t.Errorf("aws s3api head-object: Metadata %v, want %v", head.Metadata, want)
					}
				})
				t.Run("raw_names", func(t *testing.T) {
					// The names as written on the wire, HEAD and GET.
					for _, method := range []string{http.MethodHead, http.MethodGet} {
						names := wireHeaderNames(t, st.LG, scheme == "https", u, method, "/"+b+"/meta/put.txt")
						for _, want := range []string{"x-amz-meta-foo", "x-amz-meta-two-words"} {
							if !names[want] {
								t.Errorf("%s: the response does not name %q in lower case; names: %v", method, want, sortedKeys(names))
							}
						}
					}
				})
			})
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// dialProxy connects to lakegate's plain or TLS proxy listener.
func dialProxy(t *testing.T, lg *lakegateServer, useTLS bool) net.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	var (
		c   net.Conn
		err error
	)
	if useTLS {
		c, err = tls.DialWithDialer(d, "tcp", lg.TLSAddr, &tls.Config{RootCAs: lg.CA.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	} else {
		c, err = d.Dial("tcp", lg.ProxyAddr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// requestHead is req's request line and header as sent on the wire, with
// Content-Length n (the body, if any, is the caller's to send).
func requestHead(req *http.Request, n int64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.URL.Host)
	_ = req.Header.Write(&b)
	if n >= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", n)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// wireHeaderNames sends a signed request over a raw connection and returns
// the response's header names exactly as written.
func wireHeaderNames(t *testing.T, lg *lakegateServer, useTLS bool, u *s3User, method, path string) map[string]bool {
	t.Helper()
	base := lg.ProxyURL
	if useTLS {
		base = lg.TLSURL
	}
	req := newRawRequest(t, method, base, path, nil)
	signV4(t, req, u.Key, u.Secret, emptySHA256, time.Now())
	req.Header.Set("Connection", "close")
	c := dialProxy(t, lg, useTLS)
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(requestHead(req, -1)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if !strings.Contains(status, " 200 ") {
		t.Fatalf("%s %s: %s", method, path, status)
	}
	names := map[string]bool{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s %s: reading the header: %v", method, path, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return names
		}
		if name, _, ok := strings.Cut(line, ":"); ok {
			names[name] = true
		}
	}
}

// TestS3CompatExpectContinue is issue 13 item 2: a request sent with
// Expect: 100-continue that the proxy refuses (denied by a grant, a bad
// signature, refused by the allowlist) is answered with its final status
// before the client sends any of the body, and without 100 Continue; an
// allowed PUT gets 100 Continue, then 200, and its keep-alive connection
// serves the next request. Raw sockets, plain and TLS listeners, and Go's
// keep-alive client.
func TestS3CompatExpectContinue(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		b := bucketName("expect")
		st.MinIO.makeBucket(t, b, false)
		u := grantUser(t, st.LG, "continuer", fmt.Sprintf("SELECT, INSERT ON URI 's3://%s/public/'", b))
		// A large upload that is never sent: the answer must not wait for it.
		const announced = 1 << 30
		refusals := []struct {
			name    string
			key     string
			secret  string
			header  []string
			status  int
			code    string
			comment string
		}{
			{"denied_by_grant", "private/big.bin", u.Secret, nil, 403, "AccessDenied", "no INSERT outside public/"},
			{"bad_signature", "public/big.bin", u.Secret + "x", nil, 403, "SignatureDoesNotMatch", "wrong secret"},
			{"allowlist", "public/big.bin", u.Secret, []string{"X-Amz-Acl", "public-read"}, 403, "AccessDenied", "a header that needs ALL on the bucket"},
			{"allowlist_unknown_header", "public/big.bin", u.Secret, []string{"X-Amz-Made-Up-Header", "1"}, 0, "", "an x-amz-* header PutObject does not take"},
		}
		for _, useTLS := range []bool{false, true} {
			scheme, base := "http", st.LG.ProxyURL
			if useTLS {
				scheme, base = "https", st.LG.TLSURL
			}
			for _, c := range refusals {
				t.Run(scheme+"/"+c.name, func(t *testing.T) {
					req := newRawRequest(t, http.MethodPut, base, "/"+b+"/"+c.key, nil)
					req.ContentLength = announced
					req.Header.Set("Expect", "100-continue")
					for i := 0; i+1 < len(c.header); i += 2 {
						req.Header.Set(c.header[i], c.header[i+1])
					}
					signV4(t, req, u.Key, c.secret, "UNSIGNED-PAYLOAD", time.Now())
					n := st.Rec.Len()
					conn := dialProxy(t, st.LG, useTLS)
					if _, err := conn.Write(requestHead(req, announced)); err != nil {
						t.Fatal(err)
					}
					start := time.Now()
					_ = conn.SetReadDeadline(start.Add(10 * time.Second))
					br := bufio.NewReader(conn)
					resp, err := http.ReadResponse(br, req)
					if err != nil {
						t.Fatalf("%s (%s): no answer within 10 s while the body was held back: %v", c.name, c.comment, err)
					}
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
					_ = resp.Body.Close()
					if resp.StatusCode == http.StatusContinue {
						t.Fatalf("%s (%s): 100 Continue for a request the proxy refuses", c.name, c.comment)
					}
					if resp.StatusCode < 400 || c.status != 0 && resp.StatusCode != c.status {
						t.Fatalf("%s (%s): %d, want %d\n%s", c.name, c.comment, resp.StatusCode, c.status, body)
					}
					if e, err := parseS3Error(body); c.code != "" && (err != nil || e.Code != c.code) {
						t.Errorf("%s: error %q, want %q\n%s", c.name, e.Code, c.code, body)
					}
					t.Logf("%s: %d after %v without the body", c.name, resp.StatusCode, time.Since(start).Round(time.Millisecond))
					// The body the client did not send must not be read as the
					// next request: the proxy closes the connection.
					if !resp.Close {
						t.Errorf("%s: the refusal keeps the connection open while %d announced body bytes are pending", c.name, announced)
					}
					_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
					if _, err := br.ReadByte(); err == nil {
						t.Errorf("%s: more bytes after the refusal", c.name)
					}
					if got := st.Rec.Since(n); len(got) > 0 {
						t.Errorf("%s: %d requests reached the backend: %v", c.name, len(got), got)
					}
				})
			}
			t.Run(scheme+"/allowed", func(t *testing.T) {
				key := "public/" + scheme + "-continued.bin"
				data := randomBytes(1<<20, 7)
				req := newRawRequest(t, http.MethodPut, base, "/"+b+"/"+key, nil)
				req.ContentLength = int64(len(data))
				req.Header.Set("Expect", "100-continue")
				signV4(t, req, u.Key, u.Secret, sha256Hex(data), time.Now())
				conn := dialProxy(t, st.LG, useTLS)
				if _, err := conn.Write(requestHead(req, int64(len(data)))); err != nil {
					t.Fatal(err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, req)
				if err != nil {
					t.Fatalf("no 100 Continue: %v", err)
				}
				if resp.StatusCode != http.StatusContinue {
					body, _ := io.ReadAll(resp.Body)
					t.Fatalf("first answer %d, want 100 Continue\n%s", resp.StatusCode, body)
				}
				if _, err := conn.Write(data); err != nil {
					t.Fatal(err)
				}
				// The backend's own 100 Continue may be relayed too (RFC 9110
				// clients take any number of 1xx before the final answer).
				for {
					resp, err = http.ReadResponse(br, req)
					if err != nil {
						t.Fatalf("no final answer after the body: %v", err)
					}
					if resp.StatusCode >= 200 {
						break
					}
					t.Logf("another %d before the final answer", resp.StatusCode)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("PUT after 100 Continue: %d\n%s", resp.StatusCode, body)
				}
				if got := st.MinIO.get(t, b, key); got != string(data) {
					t.Fatalf("%s holds %d bytes, want %d", key, len(got), len(data))
				}
				// The same connection serves the next request.
				get := newRawRequest(t, http.MethodGet, base, "/"+b+"/"+key, nil)
				signV4(t, get, u.Key, u.Secret, emptySHA256, time.Now())
				if _, err := conn.Write(requestHead(get, -1)); err != nil {
					t.Fatalf("the connection was not kept after an allowed Expect PUT: %v", err)
				}
				resp, err = http.ReadResponse(br, get)
				if err != nil {
					t.Fatalf("GET on the kept connection: %v", err)
				}
				got, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
					t.Fatalf("GET on the kept connection: %d, %d bytes", resp.StatusCode, len(got))
				}
			})
			t.Run(scheme+"/keepalive_client", func(t *testing.T) {
				// Go's client, keeping connections, waiting up to 30 s for
				// 100 Continue: a refused PUT is answered without its body
				// being read, and the same client goes on with an allowed
				// PUT (Expect again) and a GET.
				tr := st.LG.Transport()
				tr.ExpectContinueTimeout = 30 * time.Second
				hc := &http.Client{Transport: tr}
				defer tr.CloseIdleConnections()
				put := func(key string, body *watchedBody) (int, time.Duration) {
					req, err := http.NewRequest(http.MethodPut, base+"/"+b+"/"+key, body)
					if err != nil {
						t.Fatal(err)
					}
					req.ContentLength = int64(body.Len())
					req.Header.Set("Expect", "100-continue")
					signV4(t, req, u.Key, u.Secret, "UNSIGNED-PAYLOAD", time.Now())
					start := time.Now()
					resp := doRaw(t, hc, req)
					return resp.Status, time.Since(start)
				}
				refused := &watchedBody{Reader: bytes.NewReader(make([]byte, 8<<20))}
				status, took := put("private/"+scheme+"-client.bin", refused)
				if status != http.StatusForbidden || took > 20*time.Second || refused.read {
					t.Fatalf("refused PUT: %d after %v, body read: %v; want 403 at once, body unread", status, took, refused.read)
				}
				data := randomBytes(2<<20, 9)
				key := "public/" + scheme + "-client.bin"
				if status, took := put(key, &watchedBody{Reader: bytes.NewReader(data)}); status != http.StatusOK || took > 20*time.Second {
					t.Fatalf("allowed PUT after the refusal: %d after %v", status, took)
				}
				get := newRawRequest(t, http.MethodGet, base, "/"+b+"/"+key, nil)
				signV4(t, get, u.Key, u.Secret, emptySHA256, time.Now())
				if resp := doRaw(t, hc, get); resp.Status != http.StatusOK || !bytes.Equal(resp.Body, data) {
					t.Fatalf("GET after: %d, %d bytes", resp.Status, len(resp.Body))
				}
			})
		}
	})
}

// watchedBody is a request body that notes whether it was read.
type watchedBody struct {
	*bytes.Reader
	read bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read = true
	return b.Reader.Read(p)
}

// postPolicyScript posts forms made by boto3's generate_presigned_post with
// python requests. A key with ${filename} is checked, by the policy and the
// grant, as the key the backend writes: the file part's base name
// substituted.
const postPolicyScript = s3compatPrelude + `
def exists(key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except s3.exceptions.ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise

def ok(r):
    check(r.status_code in (200, 201, 204), "POST: %d %s" % (r.status_code, r.text))

def prefix_filename():
    # boto3 turns a key ending in ${filename} into ["starts-with", "$key", "uploads/"].
    ok(post({"key": "uploads/${filename}"}, "photo.txt", b"photo"))
    check(exists("uploads/photo.txt"), "uploads/photo.txt was not written")
    check(not exists("uploads/${filename}"), "the key was written with ${filename} unsubstituted")
    check(s3.get_object(Bucket=bucket, Key="uploads/photo.txt")["Body"].read() == b"photo", "content differs")

def starts_with_substituted():
    # The conformance suite's case: key ${filename}, policy ["starts-with", "$key", "foo"].
    ok(post({"key": "${filename}"}, "foo.txt", b"foo", [["starts-with", "$key", "foo"]]))
    check(exists("foo.txt"), "foo.txt was not written")

def base_name():
    ok(post({"key": "${filename}"}, "dir/foo-2.txt", b"foo2", [["starts-with", "$key", "foo"]]))
    check(exists("foo-2.txt"), "foo-2.txt was not written")
    check(not exists("dir/foo-2.txt"), "dir/foo-2.txt was written: the file name's directory was used")

def condition_fails():
    r = post({"key": "${filename}"}, "bar.txt", b"bar", [["starts-with", "$key", "foo"]])
    check(r.status_code == 403, "POST of bar.txt under starts-with foo: %d %s" % (r.status_code, r.text))
    check("AccessDenied" in r.text, "not AccessDenied: %s" % r.text)
    check(not exists("bar.txt"), "bar.txt was written")

def storage_class_starts_with():
    ok(post({"key": "sc/${filename}", "x-amz-storage-class": "STANDARD"}, "c.txt", b"sc",
            [["starts-with", "$x-amz-storage-class", "STAND"]], exact=False))
    check(exists("sc/c.txt"), "sc/c.txt was not written")

def sse_starts_with():
    # Whether the backend can encrypt (MinIO needs a KMS) is its own
    # business: the proxy must accept the policy and forward the form,
    # which the test counts on the recorder.
    r = post({"key": "sse/${filename}", "x-amz-server-side-encryption": "AES256"}, "s.txt", b"sse",
             [["starts-with", "$x-amz-server-side-encryption", "AES"]], exact=False)
    print("SSE %d %s" % (r.status_code, r.text.replace("\n", " ")), flush=True)

def outside_grant():
    # The user holds INSERT on some prefixes only: a key the file name makes
    # elsewhere is refused by the proxy, whatever the policy allows.
    r = post({"key": "other/${filename}"}, "o.txt", b"o")
    check(r.status_code == 403, "POST of other/o.txt without INSERT there: %d %s" % (r.status_code, r.text))
    check(not exists("other/o.txt"), "other/o.txt was written")

for name, fn in [("prefix_filename", prefix_filename), ("starts_with_substituted", starts_with_substituted),
                 ("outside_grant", outside_grant),
                 ("base_name", base_name), ("condition_fails", condition_fails),
                 ("storage_class_starts_with", storage_class_starts_with), ("sse_starts_with", sse_starts_with)]:
    step(name, fn)
`

// TestS3CompatPostPolicyFilename is issue 13 item 4: a POST policy's
// conditions apply to the key with ${filename} replaced by the file's base
// name, and that is the key written, on MinIO and on the embedded backend
// alike (which does not substitute by itself); starts-with on
// $x-amz-server-side-encryption is accepted. boto3's generate_presigned_post
// and python requests; the user holds INSERT on the prefixes (and keys) the
// forms write only, which covers a ${filename} key whose substituted key is
// in them, and on nothing else (outside_grant).
func TestS3CompatPostPolicyFilename(t *testing.T) {
	python := needBoto3(t)
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		b := bucketName("postpol")
		st.MinIO.makeBucket(t, b, false)
		grants := []string{fmt.Sprintf("SELECT ON URI 's3://%s'", b)}
		for _, p := range []string{"uploads/", "foo.txt", "foo-2.txt", "sc/", "sse/"} {
			grants = append(grants, fmt.Sprintf("INSERT ON URI 's3://%s/%s'", b, p))
		}
		u := grantUser(t, st.LG, "poster", grants...)
		first := st.Rec.Len()
		stdout := pythonSteps(t, python, postPolicyScript,
			[]string{"prefix_filename", "starts_with_substituted", "outside_grant", "base_name", "condition_fails", "storage_class_starts_with", "sse_starts_with"},
			"E2E_ENDPOINT="+st.LG.ProxyURL, "E2E_BUCKET="+b, "E2E_KEY="+u.Key, "E2E_SECRET="+u.Secret)
		t.Run("forwarded_forms", func(t *testing.T) {
			// Every form but condition_fails' reached the backend: five,
			// the SSE one included whatever the backend made of it.
			posts := 0
			for _, r := range st.Rec.Since(first) {
				if r.Method == http.MethodPost && r.Path == "/"+b {
					posts++
				}
			}
			if posts != 5 {
				t.Errorf("%d POST forms reached the backend, want 5 (the SSE starts-with form refused by the proxy?)\n%s", posts, stdout)
			}
			for line := range strings.SplitSeq(stdout, "\n") {
				if strings.HasPrefix(line, "SSE ") {
					t.Logf("the SSE form through the proxy: %s", line)
				}
			}
		})
		t.Run("backend_state", func(t *testing.T) {
			keys := st.MinIO.listKeys(t, b)
			for k := range keys {
				if strings.Contains(k, "${") || k == "bar.txt" || strings.HasPrefix(k, "dir/") {
					t.Errorf("the backend holds %q", k)
				}
			}
		})
	})
}

// TestS3CompatPresignExpiry is issue 13 item 5: X-Amz-Expires=0 and a
// SigV2 Expires in the past are expired requests, 403 AccessDenied, as S3
// answers them; a negative or over-seven-days X-Amz-Expires stays 400
// AuthorizationQueryParametersError. Nothing reaches the backend.
func TestS3CompatPresignExpiry(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		b := bucketName("expiry")
		st.MinIO.makeBucket(t, b, false)
		st.MinIO.put(t, b, "public/a.txt", "PUBLIC")
		u := grantUser(t, st.LG, "presigner", fmt.Sprintf("SELECT ON URI 's3://%s/public/'", b))
		path := "/" + b + "/public/a.txt"
		v4 := func(expires time.Duration) string {
			req := newRawRequest(t, http.MethodGet, st.LG.ProxyURL, path, nil)
			return presignV4(t, req, u.Key, u.Secret, expires, time.Now())
		}
		cases := []struct {
			name   string
			url    string
			status int
			code   string
		}{
			{"v4_expires_0", v4(0), 403, "AccessDenied"},
			{"v4_expires_negative", v4(-time.Second), 400, "AuthorizationQueryParametersError"},
			{"v4_expires_over_7_days", v4(604801 * time.Second), 400, "AuthorizationQueryParametersError"},
			{"v2_expires_past", presignV2(st.LG.ProxyURL, http.MethodGet, path, u.Key, u.Secret, time.Now().Add(-time.Minute)), 403, "AccessDenied"},
			{"v4_valid", v4(time.Minute), 200, ""},
			{"v2_valid", presignV2(st.LG.ProxyURL, http.MethodGet, path, u.Key, u.Secret, time.Now().Add(time.Minute)), 200, ""},
		}
		hc := st.LG.HTTPClient()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				n := st.Rec.Len()
				req, err := http.NewRequest(http.MethodGet, c.url, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp := doRaw(t, hc, req)
				if resp.Status != c.status {
					t.Fatalf("%s: %d, want %d\n%s", c.name, resp.Status, c.status, resp.Body)
				}
				if c.code == "" {
					return
				}
				if e, err := parseS3Error(resp.Body); err != nil || e.Code != c.code {
					t.Errorf("%s: error %q, want %q\n%s", c.name, e.Code, c.code, resp.Body)
				}
				if got := st.Rec.Since(n); len(got) > 0 {
					t.Errorf("%s: %d requests reached the backend: %v", c.name, len(got), got)
				}
			})
		}
	})
}
