package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Hand-signed requests, for cases no SDK will produce.

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// newSigner returns a fresh signer per request: the SDK signer caches the
// derived signing key by access key id and day, not by secret, so a shared
// signer would sign a "wrong secret" case with the right key (or the reverse).
func newSigner() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// newRawRequest builds a request to base+path (path already escaped) with
// an optional body.
func newRawRequest(t testing.TB, method, base, path string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.ContentLength = 0
	}
	return req
}

// signV4 signs req in its Authorization header at time when.
func signV4(t testing.TB, req *http.Request, key, secret, payloadHash string, when time.Time) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	if err := newSigner().SignHTTP(context.Background(), creds, req, payloadHash, "s3", region, when); err != nil {
		t.Fatal(err)
	}
}

// presignV4 returns a presigned URL for req valid for expires from when.
func presignV4(t testing.TB, req *http.Request, key, secret string, expires time.Duration, when time.Time) string {
	t.Helper()
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.FormatInt(int64(expires/time.Second), 10))
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	u, _, err := newSigner().PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", region, when)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// rawResponse is a response read whole.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

func doRaw(t testing.TB, hc *http.Client, req *http.Request) rawResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := hc.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// s3Error is an S3 XML error body.
type s3Error struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Key        string   `xml:"Key"`
	BucketName string   `xml:"BucketName"`
	Resource   string   `xml:"Resource"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

func parseS3Error(body []byte) (s3Error, error) {
	var e s3Error
	err := xml.Unmarshal(body, &e)
	return e, err
}
