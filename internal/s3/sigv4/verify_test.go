package sigv4

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 test data
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

func TestVerify(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	const objPath = "/bucket/dir/my file+(1)~ü&=.txt"
	const listQuery = "list-type=2&prefix=a%20b%2Bc&delimiter=%2F&encoding-type=url&empty="
	payload := []byte("hello, lakegate")

	awsHeaderPut := func(t *testing.T) *http.Request {
		req := newClientReq(t, http.MethodPut, testHost, objPath, "", payload)
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("X-Amz-Meta-Color", "  deep   blue  ")
		req.Header.Add("X-Amz-Meta-Multi", "a")
		req.Header.Add("X-Amz-Meta-Multi", "b")
		awsSign(t, req, sha256Hex(payload), awsCreds(testAK, testSK, ""), now)
		return req
	}
	awsGet := func(t *testing.T, c func() (string, string, string), at time.Time) *http.Request {
		ak, sk, tok := c()
		req := newClientReq(t, http.MethodGet, testHost, "/bucket", listQuery, nil)
		req.Header.Set("Range", "bytes=0-9")
		awsSign(t, req, unsignedPayload, awsCreds(ak, sk, tok), at)
		return req
	}
	plain := func() (string, string, string) { return testAK, testSK, "" }
	awsPresigned := func(t *testing.T, expires time.Duration, at time.Time) *http.Request {
		req := newClientReq(t, http.MethodGet, testHost, objPath, "versionId=v%201&response-content-type=text%2Fplain", nil)
		return awsPresign(t, req, expires, awsCreds(testAK, testSK, ""), at)
	}
	minioHeader := func(t *testing.T) *http.Request {
		req := newClientReq(t, http.MethodGet, testHost, objPath, "tagging=&versionId=3", nil)
		req.Header.Set("X-Amz-Content-Sha256", emptyDigest)
		return signer.SignV4(*req, testAK, testSK, "", "us-east-1")
	}

	tests := []struct {
		name    string
		build   func(t *testing.T) *http.Request
		bucket  string
		allowV2 bool
		code    string // "" for success
		msg     string // substring of the error message
		check   func(t *testing.T, r *Result)
	}{
		{
			name:  "aws-sdk header, hex payload, path needing encoding",
			build: awsHeaderPut,
			check: func(t *testing.T, r *Result) {
				if r.Kind != HeaderV4 || r.Payload != PayloadSHA256 || r.Region != testRegion || r.AccessKeyID != testAK {
					t.Errorf("result = %+v", r)
				}
				if !slices.Contains(r.SignedHeaders, "x-amz-meta-color") || !slices.Contains(r.SignedHeaders, "host") {
					t.Errorf("signed headers = %v", r.SignedHeaders)
				}
				if r.ContentSHA256 != sha256Hex(payload) || r.DecodedContentLength != -1 {
					t.Errorf("payload = %q %d", r.ContentSHA256, r.DecodedContentLength)
				}
				if !r.RequestTime.Equal(now) {
					t.Errorf("request time = %v, want %v", r.RequestTime, now)
				}
			},
		},
		{
			name:  "aws-sdk header, unsigned payload, query",
			build: func(t *testing.T) *http.Request { return awsGet(t, plain, now) },
			check: func(t *testing.T, r *Result) {
				if r.Payload != PayloadUnsigned {
					t.Errorf("payload = %v", r.Payload)
				}
			},
		},
		{
			name: "aws-sdk header with session token",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return tokenAK, tokenSK, testToken }, now)
			},
			check: func(t *testing.T, r *Result) {
				if r.Credential.SessionToken != testToken {
					t.Errorf("credential = %+v", r.Credential)
				}
			},
		},
		{
			name:  "aws-sdk presigned",
			build: func(t *testing.T) *http.Request { return awsPresigned(t, 15*time.Minute, now) },
			check: func(t *testing.T, r *Result) {
				if r.Kind != PresignedV4 || r.Payload != PayloadUnsigned || r.ContentSHA256 != unsignedPayload {
					t.Errorf("result = %+v", r)
				}
			},
		},
		{
			name: "aws-sdk presigned with session token",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				return awsPresign(t, req, time.Hour, awsCreds(tokenAK, tokenSK, testToken), now)
			},
		},
		{
			name:  "minio-go header",
			build: minioHeader,
			check: func(t *testing.T, r *Result) {
				if r.Region != "us-east-1" || r.Payload != PayloadSHA256 {
					t.Errorf("result = %+v", r)
				}
			},
		},
		{
			name: "minio-go header with session token",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodDelete, testHost, objPath, "", nil)
				req.Header.Set("X-Amz-Content-Sha256", emptyDigest)
				return signer.SignV4(*req, tokenAK, tokenSK, testToken, "us-east-1")
			},
		},
		{
			name: "minio-go presigned",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "response-content-disposition=attachment%3B%20filename%3D%22a%20b%22", nil)
				return signer.PreSignV4(*req, testAK, testSK, "", "us-east-1", 3600)
			},
			check: func(t *testing.T, r *Result) {
				if r.Kind != PresignedV4 {
					t.Errorf("kind = %v", r.Kind)
				}
			},
		},
		{
			name: "minio-go streaming signed header",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodPut, testHost, objPath, "", bytes.Repeat([]byte("x"), 100))
				return signer.StreamingSignV4(req, testAK, testSK, "", "us-east-1", 100, time.Now().UTC(), stdHasher())
			},
			check: func(t *testing.T, r *Result) {
				if r.Payload != PayloadStreamingSigned || r.DecodedContentLength != 100 {
					t.Errorf("result = %+v", r)
				}
			},
		},
		{
			name: "minio-go V2 header, path style",
			build: func(t *testing.T) *http.Request {
				sum := md5.Sum(payload) //nolint:gosec
				req := newClientReq(t, http.MethodPut, testHost, objPath, "acl", payload)
				req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
				req.Header.Set("Content-Type", "text/plain")
				req.Header.Set("X-Amz-Meta-B", "2")
				req.Header.Set("X-Amz-Meta-A", "1")
				return signer.SignV2(*req, testAK, testSK, false)
			},
			allowV2: true,
			check: func(t *testing.T, r *Result) {
				if r.Kind != HeaderV2 || r.Payload != PayloadUnsigned || r.Region != "" || r.ContentSHA256 != "" {
					t.Errorf("result = %+v", r)
				}
				want := []string{"content-md5", "content-type", "date", "x-amz-meta-a", "x-amz-meta-b"}
				if !slices.Equal(r.SignedHeaders, want) {
					t.Errorf("signed headers = %v, want %v", r.SignedHeaders, want)
				}
			},
		},
		{
			name: "minio-go V2 header, virtual host",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, "bucket.s3.lakegate.test", "/dir/a b.txt", "uploadId=xyz&partNumber=2&foo=bar", nil)
				return signer.SignV2(*req, testAK, testSK, true)
			},
			bucket:  "bucket",
			allowV2: true,
		},
		{
			name: "V2 header with x-amz-date",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, "/bucket/k", "", nil)
				req.Header.Set("X-Amz-Date", time.Now().UTC().Format(http.TimeFormat))
				sts := "GET\n\n\n\nx-amz-date:" + req.Header.Get("X-Amz-Date") + "\n/bucket/k"
				req.Header.Set("Authorization", "AWS "+testAK+":"+v2Sign(testSK, sts))
				return req
			},
			allowV2: true,
		},
		{
			name: "minio-go V2 presigned",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "versionId=1", nil)
				return signer.PreSignV2(*req, testAK, testSK, 600, false)
			},
			allowV2: true,
			check: func(t *testing.T, r *Result) {
				if r.Kind != PresignedV2 {
					t.Errorf("kind = %v", r.Kind)
				}
			},
		},

		// Failures.
		{
			name: "wrong secret",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return testAK, "not-the-secret", "" }, now)
			},
			code: "SignatureDoesNotMatch",
		},
		{
			name: "signed header changed after signing",
			build: func(t *testing.T) *http.Request {
				req := awsHeaderPut(t)
				req.Header.Set("X-Amz-Meta-Color", "red")
				return req
			},
			code: "SignatureDoesNotMatch",
		},
		{
			name: "path changed after signing",
			build: func(t *testing.T) *http.Request {
				req := awsHeaderPut(t)
				req.URL.Path += "x"
				req.URL.RawPath = EscapePath(req.URL.Path)
				return req
			},
			code: "SignatureDoesNotMatch",
		},
		{
			name: "query changed after signing",
			build: func(t *testing.T) *http.Request {
				req := awsGet(t, plain, now)
				req.URL.RawQuery += "&max-keys=1"
				return req
			},
			code: "SignatureDoesNotMatch",
		},
		{
			name: "unsigned x-amz-meta header added",
			build: func(t *testing.T) *http.Request {
				req := awsHeaderPut(t)
				req.Header.Set("X-Amz-Meta-Sneaky", "1")
				return req
			},
			code: "AccessDenied",
			msg:  "There were headers present in the request which were not signed",
		},
		{
			name: "unsigned x-amz header on presigned request",
			build: func(t *testing.T) *http.Request {
				req := awsPresigned(t, time.Hour, now)
				req.Header.Set("X-Amz-Acl", "public-read")
				return req
			},
			code: "AccessDenied",
			msg:  "There were headers present in the request which were not signed",
		},
		{
			name:  "clock skewed",
			build: func(t *testing.T) *http.Request { return awsGet(t, plain, now.Add(-16*time.Minute)) },
			code:  "RequestTimeTooSkewed",
		},
		{
			name:  "clock skewed ahead",
			build: func(t *testing.T) *http.Request { return awsGet(t, plain, now.Add(16*time.Minute)) },
			code:  "RequestTimeTooSkewed",
		},
		{
			name:  "presigned expired",
			build: func(t *testing.T) *http.Request { return awsPresigned(t, time.Hour, now.Add(-61*time.Minute)) },
			code:  "AccessDenied",
			msg:   "Request has expired",
		},
		{
			name:  "presigned not valid yet",
			build: func(t *testing.T) *http.Request { return awsPresigned(t, time.Hour, now.Add(20*time.Minute)) },
			code:  "AccessDenied",
			msg:   "Request is not valid yet",
		},
		{
			// S3 answers X-Amz-Expires=0 as an expired request (issue 13).
			name:  "presigned expires 0",
			build: func(t *testing.T) *http.Request { return awsPresigned(t, 0, now) },
			code:  "AccessDenied",
			msg:   "Request has expired",
		},
		{
			name:  "presigned expires 0, signed in the future",
			build: func(t *testing.T) *http.Request { return awsPresigned(t, 0, now.Add(10*time.Minute)) },
			code:  "AccessDenied",
			msg:   "Request has expired",
		},
		{
			name:  "presigned expires negative",
			build: func(t *testing.T) *http.Request { return awsPresigned(t, -time.Second, now) },
			code:  "AuthorizationQueryParametersError",
			msg:   "non-negative",
		},
		{
			name:  "presigned expires beyond a week",
			build: func(t *testing.T) *http.Request { return awsPresigned(t, 7*24*time.Hour+time.Second, now) },
			code:  "AuthorizationQueryParametersError",
			msg:   "604800",
		},
		{
			name: "presigned signature tampered",
			build: func(t *testing.T) *http.Request {
				req := awsPresigned(t, time.Hour, now)
				q := req.URL.Query()
				s := []byte(q.Get("X-Amz-Signature"))
				s[0] = "10"[min(1, int(s[0]-'0'))]
				q.Set("X-Amz-Signature", string(s))
				req.URL.RawQuery = q.Encode()
				return req
			},
			code: "SignatureDoesNotMatch",
		},
		{
			name: "presigned missing algorithm",
			build: func(t *testing.T) *http.Request {
				req := awsPresigned(t, time.Hour, now)
				q := req.URL.Query()
				q.Del("X-Amz-Algorithm")
				req.URL.RawQuery = q.Encode()
				return req
			},
			code: "AuthorizationQueryParametersError",
		},
		{
			name: "unknown access key",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return "AKIANOSUCHKEY0000000", testSK, "" }, now)
			},
			code: "InvalidAccessKeyId",
		},
		{
			name: "credential lookup fails",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return brokenAK, testSK, "" }, now)
			},
			code: "technical: " + errLookupDown.Error(),
		},
		{
			name: "expired credential",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return expiredAK, testSK, "" }, now)
			},
			code: "ExpiredToken",
		},
		{
			name: "wrong session token",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return tokenAK, tokenSK, "forged-token" }, now)
			},
			code: "InvalidToken",
		},
		{
			name: "missing session token",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return tokenAK, tokenSK, "" }, now)
			},
			code: "InvalidToken",
		},
		{
			name: "token for a key without one",
			build: func(t *testing.T) *http.Request {
				return awsGet(t, func() (string, string, string) { return testAK, testSK, "some-token" }, now)
			},
			code: "InvalidToken",
		},
		{
			name:  "malformed authorization: no signature",
			build: withAuth("AWS4-HMAC-SHA256 Credential=" + testAK + "/20260101/us-east-1/s3/aws4_request, SignedHeaders=host"),
			code:  "AuthorizationHeaderMalformed",
		},
		{
			name:  "malformed authorization: bad credential",
			build: withAuth("AWS4-HMAC-SHA256 Credential=" + testAK + "/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("a", 64)),
			code:  "AuthorizationHeaderMalformed",
		},
		{
			name:  "malformed authorization: short signature",
			build: withAuth("AWS4-HMAC-SHA256 Credential=" + testAK + "/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc"),
			code:  "AuthorizationHeaderMalformed",
		},
		{
			name:  "malformed authorization: garbage",
			build: withAuth("AWS4-HMAC-SHA256"),
			code:  "AuthorizationHeaderMalformed",
		},
		{
			name: "authorization for another service",
			build: func(t *testing.T) *http.Request {
				req := awsGet(t, plain, now)
				req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/s3/", "/ec2/", 1))
				return req
			},
			code: "AuthorizationHeaderMalformed",
		},
		{
			name: "credential date differs from x-amz-date",
			build: func(t *testing.T) *http.Request {
				req := awsGet(t, plain, now)
				req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), now.Format("20060102"), "19990101", 1))
				return req
			},
			code: "AuthorizationHeaderMalformed",
		},
		{
			name: "host not signed",
			build: func(t *testing.T) *http.Request {
				req := awsGet(t, plain, now)
				req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
				return req
			},
			code: "AccessDenied",
		},
		{
			name: "missing x-amz-content-sha256",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, "/bucket", "", nil)
				if err := awsSigner().SignHTTP(context.Background(), awsCreds(testAK, testSK, ""), req, emptyDigest, "s3", testRegion, now); err != nil {
					t.Fatal(err)
				}
				return req
			},
			code: "InvalidRequest",
			msg:  "x-amz-content-sha256",
		},
		{
			name: "invalid x-amz-content-sha256",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, "/bucket", "", nil)
				awsSign(t, req, "NOT-A-HASH", awsCreds(testAK, testSK, ""), now)
				return req
			},
			code: "InvalidArgument",
		},
		{
			name: "sigv4a streaming payload",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodPut, testHost, "/bucket/k", "", nil)
				req.Header.Set("X-Amz-Decoded-Content-Length", "1")
				awsSign(t, req, streamingECDSA, awsCreds(testAK, testSK, ""), now)
				return req
			},
			code: "NotImplemented",
		},
		{
			name: "streaming without decoded length",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodPut, testHost, "/bucket/k", "", nil)
				awsSign(t, req, streamingSigned, awsCreds(testAK, testSK, ""), now)
				return req
			},
			code: "MissingContentLength",
		},
		{
			name: "anonymous",
			build: func(t *testing.T) *http.Request {
				return newClientReq(t, http.MethodGet, testHost, "/bucket/k", "", nil)
			},
			code: "AccessDenied",
			msg:  "Anonymous",
		},
		{
			name: "header and query auth together",
			build: func(t *testing.T) *http.Request {
				req := awsPresigned(t, time.Hour, now)
				req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
				return req
			},
			code: "InvalidArgument",
		},
		{
			name: "SigV2 header disabled",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				return signer.SignV2(*req, testAK, testSK, false)
			},
			code: "AccessDenied",
			msg:  "Signature Version 2 is disabled",
		},
		{
			name: "SigV2 presigned disabled",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				return signer.PreSignV2(*req, testAK, testSK, 600, false)
			},
			code: "AccessDenied",
			msg:  "Signature Version 2 is disabled",
		},
		{
			name: "SigV2 wrong secret",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				return signer.SignV2(*req, testAK, "wrong", false)
			},
			allowV2: true,
			code:    "SignatureDoesNotMatch",
		},
		{
			name: "SigV2 sub-resource changed",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "acl", nil)
				req = signer.SignV2(*req, testAK, testSK, false)
				req.URL.RawQuery = "policy"
				return req
			},
			allowV2: true,
			code:    "SignatureDoesNotMatch",
		},
		{
			name: "SigV2 header skewed",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				req.Header.Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
				return signer.SignV2(*req, testAK, testSK, false)
			},
			allowV2: true,
			code:    "RequestTimeTooSkewed",
		},
		{
			name: "SigV2 presigned expired",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				return signer.PreSignV2(*req, testAK, testSK, -10, false)
			},
			allowV2: true,
			code:    "AccessDenied",
			msg:     "Request has expired",
		},
		{
			name: "SigV2 presigned too far ahead",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				return signer.PreSignV2(*req, testAK, testSK, 8*24*3600, false)
			},
			allowV2: true,
			code:    "AuthorizationQueryParametersError",
		},
		{
			name: "SigV2 unknown key",
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodGet, testHost, objPath, "", nil)
				return signer.SignV2(*req, "NOSUCHKEY", testSK, false)
			},
			allowV2: true,
			code:    "InvalidAccessKeyId",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := toServer(t, tc.build(t))
			// now is the wall clock at the start; minio-go signs with it.
			res, err := newTestVerifier(time.Time{}, tc.allowV2).Verify(r, tc.bucket)
			if got := codeOf(err); got != tc.code {
				t.Fatalf("Verify: code %q (%v), want %q", got, err, tc.code)
			}
			if tc.msg != "" && !strings.Contains(messageOf(err), tc.msg) {
				t.Errorf("message %q does not contain %q", messageOf(err), tc.msg)
			}
			if err == nil && tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func withAuth(h string) func(t *testing.T) *http.Request {
	return func(t *testing.T) *http.Request {
		req := newClientReq(t, http.MethodGet, testHost, "/bucket", "", nil)
		req.Header.Set("X-Amz-Date", time.Now().UTC().Format(amzDateLayout))
		req.Header.Set("X-Amz-Content-Sha256", emptyDigest)
		req.Header.Set("Authorization", h)
		return req
	}
}

func TestErrorMessagesHideSecrets(t *testing.T) {
	now := time.Now().UTC()
	req := newClientReq(t, http.MethodGet, testHost, "/bucket", "", nil)
	awsSign(t, req, unsignedPayload, awsCreds(tokenAK, tokenSK, "forged"), now)
	r := toServer(t, req)
	for _, allow := range []bool{false, true} {
		_, err := newTestVerifier(now, allow).Verify(r, "")
		if err == nil {
			t.Fatal("forged token accepted")
		}
		for _, secret := range []string{tokenSK, testToken, "forged"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q reveals %q", err, secret)
			}
		}
	}
}

func TestIsAuthQueryParam(t *testing.T) {
	for _, name := range []string{"X-Amz-Algorithm", "x-amz-credential", "X-Amz-Date", "X-Amz-Expires",
		"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "AWSAccessKeyId", "Signature", "Expires"} {
		if !IsAuthQueryParam(name) {
			t.Errorf("IsAuthQueryParam(%q) = false", name)
		}
	}
	for _, name := range []string{"versionId", "response-expires", "X-Amz-Content-Sha256", "uploads", ""} {
		if IsAuthQueryParam(name) {
			t.Errorf("IsAuthQueryParam(%q) = true", name)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"acl", "acl="},
		{"b=2&a=1&a=0", "a=0&a=1&b=2"},
		{"prefix=a+b&x=%7e%2f", "prefix=a%20b&x=~%2F"},
		{"k=v&&", "k=v"},
		{"X-Amz-Signature=abc&z=1", "z=1"},
		{"a_=1&a%60=2", "a%60=2&a_=1"},
	}
	for _, tc := range tests {
		w := getWork()
		got, err := w.appendCanonicalQuery(nil, tc.raw, true, true)
		putWork(w)
		if err != nil || string(got) != tc.want {
			t.Errorf("canonical(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
	for _, bad := range []string{"a=%zz", "a=1;b=2", "a=%4"} {
		w := getWork()
		if _, err := w.appendCanonicalQuery(nil, bad, false, true); err == nil {
			t.Errorf("canonical(%q) accepted", bad)
		}
		putWork(w)
	}
}

func TestEscapePath(t *testing.T) {
	got := EscapePath("/b/a b+c/ü~!*'()")
	want := "/b/a%20b%2Bc/%C3%BC~%21%2A%27%28%29"
	if got != want {
		t.Errorf("EscapePath = %q, want %q", got, want)
	}
}

func TestNewVerifierPanicsWithoutCredentials(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	NewVerifier(Options{})
}

func TestVerifyDoesNotReadBody(t *testing.T) {
	now := time.Now().UTC()
	req := newClientReq(t, http.MethodPut, testHost, "/bucket/k", "", []byte("abc"))
	awsSign(t, req, sha256Hex([]byte("abc")), awsCreds(testAK, testSK, ""), now)
	r := toServer(t, req)
	r.Body = panicBody{}
	if _, err := newTestVerifier(now, false).Verify(r, ""); err != nil {
		t.Fatal(err)
	}
}

type panicBody struct{}

func (panicBody) Read([]byte) (int, error) { panic("Verify read the body") }
func (panicBody) Close() error             { return nil }

// v2Sign is an independent SigV2 signature for hand-built strings to sign.
func v2Sign(secret, sts string) string {
	return base64.StdEncoding.EncodeToString(hmacSHA1([]byte(secret), []byte(sts)))
}
