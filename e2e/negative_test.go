package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// upstreamExpect says what the recording upstream may have seen.
type upstreamExpect int

const (
	// upstreamNothing: the request never left the proxy.
	upstreamNothing upstreamExpect = iota
	// upstreamNoCommit: the proxy may have started forwarding, but no
	// request body reached MinIO whole and no object was created.
	upstreamNoCommit
	// upstreamCommitted: a control case that must succeed.
	upstreamCommitted
)

// sha256Hasher adapts crypto/sha256 to the hasher minio-go's signer wants.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func TestNegative(t *testing.T) {
	skipInBaseline(t)
	st := newStack(t, lakegateOptions{})
	bucket := bucketName("neg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := st.MinIO.Client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatal(err)
	}
	lg := st.LG
	hc := lg.HTTPClient()
	base := lg.ProxyURL
	body := randomBytes(1<<20, 21)
	streamBody := randomBytes(200<<10, 22) // minio-go chunks of 64 KiB: 64,64,64,8,0

	put := func(t *testing.T, key string, b []byte) *http.Request {
		return newRawRequest(t, http.MethodPut, base, "/"+bucket+"/"+key, b)
	}
	// streaming builds an aws-chunked, chunk-signed PUT with minio-go's
	// signer; tamper (if set) edits the encoded body.
	streaming := func(t *testing.T, key string, tamper func([]byte)) *http.Request {
		req := put(t, key, streamBody)
		req = signer.StreamingSignV4(req, lg.AdminKey, lg.AdminSecret, "", region, int64(len(streamBody)),
			time.Now().UTC(), sha256Hasher{sha256.New()})
		enc, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		if tamper != nil {
			tamper(enc)
		}
		req.Body = io.NopCloser(bytes.NewReader(enc))
		req.ContentLength = int64(len(enc))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(enc)), nil }
		return req
	}

	cases := []struct {
		name       string
		key        string
		build      func(t *testing.T, key string) *http.Request
		status     int
		code       string
		upstream   upstreamExpect
		wantObject []byte // for upstreamCommitted
	}{
		{
			name: "no_authentication", key: "anon",
			build: func(t *testing.T, key string) *http.Request {
				return newRawRequest(t, http.MethodGet, base, "/"+bucket+"/"+key, nil)
			},
			status: 403, code: "AccessDenied",
		},
		{
			name: "signed_put_control", key: "put-ok",
			build: func(t *testing.T, key string) *http.Request {
				req := put(t, key, body)
				signV4(t, req, lg.AdminKey, lg.AdminSecret, sha256Hex(body), time.Now())
				return req
			},
			status: 200, upstream: upstreamCommitted, wantObject: body,
		},
		{
			name: "wrong_secret", key: "wrong-secret",
			build: func(t *testing.T, key string) *http.Request {
				req := put(t, key, body)
				signV4(t, req, lg.AdminKey, lg.AdminSecret+"x", sha256Hex(body), time.Now())
				return req
			},
			status: 403, code: "SignatureDoesNotMatch",
		},
		{
			name: "sigv2_wrong_secret", key: "v2-wrong-secret",
			build: func(t *testing.T, key string) *http.Request {
				req := put(t, key, body)
				req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
				return signer.SignV2(*req, lg.AdminKey, lg.AdminSecret+"x", false)
			},
			status: 403, code: "SignatureDoesNotMatch",
		},
		{
			name: "header_changed_after_signing", key: "changed-header",
			build: func(t *testing.T, key string) *http.Request {
				req := put(t, key, body)
				req.Header.Set("X-Amz-Meta-Color", "blue")
				signV4(t, req, lg.AdminKey, lg.AdminSecret, sha256Hex(body), time.Now())
				req.Header.Set("X-Amz-Meta-Color", "red")
				return req
			},
			status: 403, code: "SignatureDoesNotMatch",
		},
		{
			name: "unsigned_amz_meta_header", key: "unsigned-meta",
			build: func(t *testing.T, key string) *http.Request {
				req := put(t, key, body)
				signV4(t, req, lg.AdminKey, lg.AdminSecret, sha256Hex(body), time.Now())
				req.Header.Set("X-Amz-Meta-Smuggled", "yes")
				return req
			},
			status: 403, code: "AccessDenied",
		},
		{
			name: "body_does_not_match_signed_sha256", key: "sha-mismatch",
			build: func(t *testing.T, key string) *http.Request {
				other := bytes.Clone(body)
				other[len(other)-1] ^= 0xff
				req := put(t, key, other)
				signV4(t, req, lg.AdminKey, lg.AdminSecret, sha256Hex(body), time.Now())
				return req
			},
			status: 400, code: "XAmzContentSHA256Mismatch", upstream: upstreamNoCommit,
		},
		{
			name: "streaming_chunks_intact_control", key: "stream-ok",
			build: func(t *testing.T, key string) *http.Request {
				return streaming(t, key, nil)
			},
			status: 200, upstream: upstreamCommitted, wantObject: streamBody,
		},
		{
			name: "streaming_chunk_2_tampered", key: "stream-tampered",
			build: func(t *testing.T, key string) *http.Request {
				return streaming(t, key, func(enc []byte) {
					// Chunk 2's data starts after its header line.
					const marker = ";chunk-signature="
					first := bytes.Index(enc, []byte(marker))
					next := -1
					if first >= 0 {
						next = bytes.Index(enc[first+1:], []byte(marker))
					}
					if next < 0 {
						t.Fatalf("cannot find chunk 2 in the encoded body")
					}
					second := first + 1 + next
					data := second + bytes.Index(enc[second:], []byte("\r\n")) + 2
					enc[data+1000] ^= 0x01
				})
			},
			status: 403, code: "SignatureDoesNotMatch", upstream: upstreamNoCommit,
		},
		{
			name: "presigned_url_expired", key: "presign-expired",
			build: func(t *testing.T, key string) *http.Request {
				req := newRawRequest(t, http.MethodGet, base, "/"+bucket+"/"+key, nil)
				u := presignV4(t, req, lg.AdminKey, lg.AdminSecret, time.Minute, time.Now().Add(-10*time.Minute))
				out, _ := http.NewRequest(http.MethodGet, u, nil)
				return out
			},
			status: 403, code: "AccessDenied",
		},
		{
			name: "clock_skewed_ahead_20m", key: "skew-ahead",
			build: func(t *testing.T, key string) *http.Request {
				req := put(t, key, body)
				signV4(t, req, lg.AdminKey, lg.AdminSecret, sha256Hex(body), time.Now().Add(20*time.Minute))
				return req
			},
			status: 403, code: "RequestTimeTooSkewed",
		},
		{
			name: "clock_skewed_behind_20m", key: "skew-behind",
			build: func(t *testing.T, key string) *http.Request {
				req := newRawRequest(t, http.MethodGet, base, "/"+bucket+"/"+key, nil)
				signV4(t, req, lg.AdminKey, lg.AdminSecret, emptySHA256, time.Now().Add(-20*time.Minute))
				return req
			},
			status: 403, code: "RequestTimeTooSkewed",
		},
		{
			name: "unknown_access_key", key: "unknown-key",
			build: func(t *testing.T, key string) *http.Request {
				req := put(t, key, body)
				signV4(t, req, "LGUNKNOWN"+randString(11, upperAlnum), lg.AdminSecret, sha256Hex(body), time.Now())
				return req
			},
			status: 403, code: "InvalidAccessKeyId",
		},
		{
			name: "presigned_expires_over_7_days", key: "presign-8d",
			build: func(t *testing.T, key string) *http.Request {
				req := newRawRequest(t, http.MethodGet, base, "/"+bucket+"/"+key, nil)
				u := presignV4(t, req, lg.AdminKey, lg.AdminSecret, 7*24*time.Hour+time.Second, time.Now())
				out, _ := http.NewRequest(http.MethodGet, u, nil)
				return out
			},
			status: 400, code: "AuthorizationQueryParametersError",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Sequential: each case reads the recorder from its own mark.
			before := st.Rec.Len()
			resp := doRaw(t, hc, tc.build(t, tc.key))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := st.Rec.WaitIdle(ctx); err != nil {
				t.Error(err)
			}
			seen := st.Rec.Since(before)

			if resp.Status != tc.status {
				t.Errorf("status %d, want %d; body:\n%s", resp.Status, tc.status, resp.Body)
			}
			if tc.code != "" {
				e, err := parseS3Error(resp.Body)
				switch {
				case err != nil:
					t.Errorf("body is not an S3 XML error (%v):\n%s", err, resp.Body)
				case e.Code != tc.code:
					t.Errorf("code %q (%s), want %q", e.Code, e.Message, tc.code)
				case strings.Contains(string(resp.Body), lg.AdminSecret):
					t.Errorf("error body leaks the secret key")
				}
			}
			switch tc.upstream {
			case upstreamNothing:
				for _, r := range seen {
					t.Errorf("upstream saw %s", r)
				}
			case upstreamNoCommit:
				for _, r := range seen {
					if r.BodyComplete {
						t.Errorf("upstream received a complete body: %s", r)
					} else {
						t.Logf("upstream saw an aborted request (as allowed): %s", r)
					}
				}
				if st.MinIO.objectExists(t, bucket, tc.key) {
					t.Errorf("object %s was committed on MinIO", tc.key)
				}
			case upstreamCommitted:
				obj, err := st.MinIO.Client.GetObject(ctx, bucket, tc.key, minio.GetObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(obj)
				_ = obj.Close()
				if err != nil || !bytes.Equal(got, tc.wantObject) {
					t.Errorf("object on MinIO: %d bytes (want %d identical), err %v", len(got), len(tc.wantObject), err)
				}
			}
		})
	}
}

// TestUpstreamErrorPassthrough checks that errors MinIO raises reach the
// client as MinIO sent them.
func TestUpstreamErrorPassthrough(t *testing.T) {
	st := newStack(t, lakegateOptions{})
	bucket := bucketName("errs")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := st.MinIO.Client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, code string
		status                   int
	}{
		{"get_missing_key", http.MethodGet, "/" + bucket + "/no/such/key.txt", "NoSuchKey", 404},
		{"get_missing_bucket", http.MethodGet, "/" + bucketName("nobucket") + "/key", "NoSuchBucket", 404},
		{"head_missing_key", http.MethodHead, "/" + bucket + "/missing", "", 404},
		{"delete_missing_bucket", http.MethodDelete, "/" + bucketName("nobucket"), "NoSuchBucket", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			viaProxy := newRawRequest(t, tc.method, st.LG.ProxyURL, tc.path, nil)
			signV4(t, viaProxy, st.LG.AdminKey, st.LG.AdminSecret, emptySHA256, time.Now())
			p := doRaw(t, st.LG.HTTPClient(), viaProxy)

			direct := newRawRequest(t, tc.method, st.MinIO.Endpoint, tc.path, nil)
			signV4(t, direct, st.MinIO.AccessKey, st.MinIO.SecretKey, emptySHA256, time.Now())
			d := doRaw(t, http.DefaultClient, direct)

			if p.Status != tc.status || d.Status != tc.status {
				t.Errorf("status: proxy %d, MinIO %d, want %d; proxy body:\n%s", p.Status, d.Status, tc.status, p.Body)
			}
			if tc.code == "" {
				if len(p.Body) != 0 {
					t.Errorf("HEAD body through proxy: %q", p.Body)
				}
				return
			}
			pe, perr := parseS3Error(p.Body)
			de, derr := parseS3Error(d.Body)
			if perr != nil || derr != nil {
				t.Fatalf("parse: proxy %v, MinIO %v\nproxy body:\n%s", perr, derr, p.Body)
			}
			if pe.Code != tc.code {
				t.Errorf("proxy code %q, want %q", pe.Code, tc.code)
			}
			// Request and host ids differ per request; everything else is
			// MinIO's.
			pe.RequestID, de.RequestID, pe.HostID, de.HostID = "", "", "", ""
			if pe != de {
				t.Errorf("error through proxy differs from MinIO's:\nproxy: %+v\nMinIO: %+v", pe, de)
			}
			if ct := p.Header.Get("Content-Type"); ct != d.Header.Get("Content-Type") {
				t.Errorf("Content-Type: proxy %q, MinIO %q", ct, d.Header.Get("Content-Type"))
			}
		})
	}
}
