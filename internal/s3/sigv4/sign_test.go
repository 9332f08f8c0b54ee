package sigv4

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 test data
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/s3/miniotest"
)

// TestSignerMatchesAWSSDK signs the same request with Signer and with the
// aws-sdk-go-v2 signer; with only the headers Signer covers present, the
// Authorization values must be identical.
func TestSignerMatchesAWSSDK(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name, method, path, query, payloadHash, token string
		headers                                       map[string]string
	}{
		{name: "get with query", method: http.MethodGet, path: "/bucket", query: "list-type=2&prefix=a%20b&delimiter=%2F", payloadHash: emptyDigest},
		{name: "encoded key", method: http.MethodGet, path: "/bucket/a b+c/ü(1).txt", payloadHash: unsignedPayload},
		{
			name: "put with metadata", method: http.MethodPut, path: "/bucket/k", payloadHash: sha256Hex([]byte("x")),
			headers: map[string]string{"Content-Type": "text/plain", "X-Amz-Meta-A": "1  2", "X-Amz-Storage-Class": "STANDARD"},
		},
		{name: "session token", method: http.MethodHead, path: "/bucket/k", payloadHash: unsignedPayload, token: testToken},
		{
			name: "streaming", method: http.MethodPut, path: "/bucket/k", payloadHash: streamingSignedTrailer,
			headers: map[string]string{"X-Amz-Decoded-Content-Length": "10", "X-Amz-Trailer": "x-amz-checksum-crc32"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mine := newClientReq(t, tc.method, testHost, tc.path, tc.query, nil)
			theirs := newClientReq(t, tc.method, testHost, tc.path, tc.query, nil)
			for k, v := range tc.headers {
				mine.Header.Set(k, v)
				theirs.Header.Set(k, v)
			}
			s := &Signer{AccessKeyID: testAK, SecretAccessKey: testSK, SessionToken: tc.token, Region: testRegion}
			s.Sign(mine, tc.payloadHash, at)
			theirs.Header.Set("X-Amz-Content-Sha256", tc.payloadHash)
			if err := awsSigner().SignHTTP(context.Background(), awsCreds(testAK, testSK, tc.token), theirs, tc.payloadHash, "s3", testRegion, at); err != nil {
				t.Fatal(err)
			}
			if got, want := mine.Header.Get("Authorization"), theirs.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestSignerRoundTrip(t *testing.T) {
	body := []byte("payload")
	sum := md5.Sum(body) //nolint:gosec
	req := newClientReq(t, http.MethodPut, testHost, "/bucket/dir/a b.txt", "tagging", body)
	req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Amz-Meta-Owner", "lakegate")
	req.Header.Set("User-Agent", "unsigned/1.0")
	req.Header.Set("X-Amz-Security-Token", "client-token-must-go")
	sc := (&Signer{AccessKeyID: testAK, SecretAccessKey: testSK, Region: "us-east-1"}).Sign(req, sha256Hex(body), time.Now())
	if sc == nil {
		t.Fatal("nil SigningContext")
	}
	if req.Header.Get("X-Amz-Security-Token") != "" {
		t.Error("client token forwarded")
	}
	res, err := newTestVerifier(time.Time{}, false).Verify(toServer(t, req), "")
	if err != nil {
		t.Fatal(err)
	}
	want := "content-md5;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-owner"
	if got := strings.Join(res.SignedHeaders, ";"); got != want {
		t.Errorf("signed headers %s, want %s", got, want)
	}
}

// TestSignerAgainstMinIO sends requests signed by Signer, including a
// re-signed aws-chunked upload, to a real MinIO server: one it starts
// (skipped when the minio binary is not installed), or the one
// LAKEGATE_TEST_MINIO names, e.g.
//
//	LAKEGATE_TEST_MINIO=http://minioadmin:minioadmin@127.0.0.1:9000/bucket
func TestSignerAgainstMinIO(t *testing.T) {
	endpoint := os.Getenv("LAKEGATE_TEST_MINIO")
	if endpoint == "" {
		m := miniotest.Start(t)
		u, err := url.Parse(m.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		u.User, u.Path = url.UserPassword(m.AccessKey, m.SecretKey), "/lakegate-sigv4"
		endpoint = u.String()
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	s := &Signer{AccessKeyID: u.User.Username(), SecretAccessKey: pass, Region: "us-east-1"}
	mk := func(method, path, rawQuery string, body []byte) *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		r, err := http.NewRequest(method, u.Scheme+"://"+u.Host, rd)
		if err != nil {
			t.Fatal(err)
		}
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = path, EscapePath(path), rawQuery
		return r
	}
	do := func(r *http.Request, okStatus ...int) []byte {
		t.Helper()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 && !slices.Contains(okStatus, resp.StatusCode) {
			t.Fatalf("%s %s: %s\n%s", r.Method, r.URL, resp.Status, b)
		}
		return b
	}
	mb := mk(http.MethodPut, u.Path, "", nil)
	s.Sign(mb, emptyDigest, time.Now())
	do(mb, http.StatusConflict)
	key := u.Path + "/lakegate sigv4/ü+(1)=&.bin"

	// Signed single-chunk PUT.
	data := testData(100_000)
	put := mk(http.MethodPut, key, "", data)
	put.Header.Set("X-Amz-Meta-Test", "1")
	put.Header.Set("Content-Type", "application/x-test")
	s.Sign(put, sha256Hex(data), time.Now())
	do(put)

	// GET with a query.
	get := mk(http.MethodGet, key, "response-content-type=text%2Fplain%3B%20x%3D1", nil)
	s.Sign(get, emptyDigest, time.Now())
	if got := do(get); !bytes.Equal(got, data) {
		t.Fatal("GET returned different bytes")
	}

	// A client's signed aws-chunked upload, verified and re-signed for MinIO.
	for _, mode := range []string{streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer} {
		tr := [][2]string{{"x-amz-checksum-crc64nvme", crc64nvmeB64(data)}}
		var names []string
		if mode != streamingSigned {
			names = []string{tr[0][0]}
		} else {
			tr = nil
		}
		cr := streamingRequest(t, mode, data, names, time.Now(), func(c *specChunkSigner) []byte {
			if mode == streamingUnsignedTrailer {
				return specEncodeUnsigned(data, 64*1024, tr)
			}
			return specEncodeSigned(c, data, 64*1024, tr)
		})
		res := verifyStream(t, cr, 0)
		up := mk(http.MethodPut, key, "", nil)
		for _, h := range []string{"Content-Encoding", "X-Amz-Decoded-Content-Length", "X-Amz-Trailer"} {
			if v, ok := cr.Header[h]; ok {
				up.Header[h] = v
			}
		}
		up.ContentLength = cr.ContentLength
		sc := s.Sign(up, res.ContentSHA256, time.Now())
		up.Body = io.NopCloser(Resign(res.NewPayloadReader(cr.Body, cr.ContentLength), sc))
		do(up)
		get = mk(http.MethodGet, key, "", nil)
		s.Sign(get, emptyDigest, time.Now())
		if got := do(get); !bytes.Equal(got, data) {
			t.Fatalf("%s: GET returned different bytes", mode)
		}
	}
}
