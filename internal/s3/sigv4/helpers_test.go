package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // SigV2 test signatures
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsv4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	md5simd "github.com/minio/md5-simd"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

const (
	testAK      = "AKIAIOSFODNN7EXAMPLE"
	testSK      = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tokenAK     = "ASIATOKENKEYEXAMPLE"
	tokenSK     = "tokenSecretKeyEXAMPLEtokenSecretKeyEXAMPL"
	testToken   = "FwoGZXIvYXdzEXAMPLE//token+value="
	expiredAK   = "AKIAEXPIREDEXAMPLE00"
	brokenAK    = "AKIABROKENLOOKUP0000"
	upstreamAK  = "UPSTREAMACCESSKEY000"
	upstreamSK  = "upstreamSecretKey/0000000000000000000000"
	testRegion  = "eu-west-1"
	testHost    = "s3.lakegate.test:9000"
	emptyDigest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

var errLookupDown = errors.New("credential store unavailable")

// credMap is a CredentialLookup over a fixed set of keys.
type credMap map[string]Credential

func (m credMap) LookupCredential(_ context.Context, ak string) (Credential, error) {
	if ak == brokenAK {
		return Credential{}, errLookupDown
	}
	c, ok := m[ak]
	if !ok {
		return Credential{}, fmt.Errorf("lookup %q: %w", ak, ErrUnknownAccessKey)
	}
	return c, nil
}

func testCreds() credMap {
	return credMap{
		testAK:     {AccessKeyID: testAK, SecretAccessKey: testSK},
		tokenAK:    {AccessKeyID: tokenAK, SecretAccessKey: tokenSK, SessionToken: testToken},
		expiredAK:  {AccessKeyID: expiredAK, SecretAccessKey: testSK, Expires: time.Now().Add(-time.Hour)},
		upstreamAK: {AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK},
	}
}

func newTestVerifier(now time.Time, allowV2 bool) *Verifier {
	o := Options{Credentials: testCreds(), AllowSigV2: allowV2}
	if !now.IsZero() {
		o.Now = func() time.Time { return now }
	}
	return NewVerifier(o)
}

// newClientReq builds a client-side request whose path is sent in S3
// encoding, as the SDKs do.
func newClientReq(t testing.TB, method, host, path, rawQuery string, body []byte) *http.Request {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: host, Path: path, RawPath: EscapePath(path), RawQuery: rawQuery}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u.String(), rd)
	if err != nil {
		t.Fatal(err)
	}
	req.URL = u
	return req
}

// toServer sends req through HTTP/1.1 serialisation and parses it back as a
// server would receive it.
func toServer(t testing.TB, req *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

func awsCreds(ak, sk, token string) aws.Credentials {
	return aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk, SessionToken: token}
}

func awsSigner() *awsv4.Signer {
	return awsv4.NewSigner(func(o *awsv4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// awsSign signs req in place with the aws-sdk-go-v2 SigV4 signer.
func awsSign(t testing.TB, req *http.Request, payloadHash string, c aws.Credentials, at time.Time) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := awsSigner().SignHTTP(context.Background(), c, req, payloadHash, "s3", testRegion, at); err != nil {
		t.Fatal(err)
	}
}

// awsPresign presigns req with aws-sdk-go-v2 and returns the request a
// client would send for the URL.
func awsPresign(t testing.TB, req *http.Request, expires time.Duration, c aws.Credentials, at time.Time) *http.Request {
	t.Helper()
	q := req.URL.Query()
	q.Set("X-Amz-Expires", fmt.Sprint(int64(expires/time.Second)))
	req.URL.RawQuery = q.Encode()
	u, hdr, err := awsSigner().PresignHTTP(context.Background(), c, req, unsignedPayload, "s3", testRegion, at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := http.NewRequest(req.Method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vv := range hdr {
		if strings.EqualFold(k, "host") {
			continue
		}
		out.Header[k] = vv
	}
	return out
}

func hmacSHA1(key, data []byte) []byte {
	m := hmac.New(sha1.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// stdHasher adapts crypto/sha256 to the md5simd.Hasher minio-go's streaming
// signer takes.
func stdHasher() md5simd.Hasher { return sha256Hasher{sha256.New()} }

type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	var e *s3err.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "technical: " + err.Error()
}

func messageOf(err error) string {
	var e *s3err.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// --- An independent aws-chunked encoder written from the specification, so
// that the decoder is not only tested against itself.

func hmacRaw(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func specSigningKey(secret, date, region string) []byte {
	k := hmacRaw([]byte("AWS4"+secret), date)
	k = hmacRaw(k, region)
	k = hmacRaw(k, "s3")
	return hmacRaw(k, "aws4_request")
}

type specChunkSigner struct {
	key            []byte
	amzDate, scope string
	prev           string
}

// newSpecChunkSigner derives the chain of a request whose Authorization was
// signed at amzDate in testRegion.
func newSpecChunkSigner(t testing.TB, authz, secret string) *specChunkSigner {
	t.Helper()
	i := strings.Index(authz, "Signature=")
	j := strings.Index(authz, "Credential=")
	if i < 0 || j < 0 {
		t.Fatalf("no signature in %q", authz)
	}
	cred := authz[j+len("Credential="):]
	cred = cred[:strings.IndexByte(cred, ',')]
	parts := strings.Split(cred, "/")
	date, region := parts[1], parts[2]
	return &specChunkSigner{
		key:   specSigningKey(secret, date, region),
		scope: strings.Join(parts[1:], "/"),
		prev:  authz[i+len("Signature="):],
	}
}

func (c *specChunkSigner) chunk(data []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + emptyDigest + "\n" + sha256Hex(data)
	c.prev = hex.EncodeToString(hmacRaw(c.key, sts))
	return c.prev
}

func (c *specChunkSigner) trailer(canonical string) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + sha256Hex([]byte(canonical))
	c.prev = hex.EncodeToString(hmacRaw(c.key, sts))
	return c.prev
}

// specEncodeSigned encodes data as signed aws-chunked; with trailers it uses
// the signed-trailer form exactly as the AWS documentation shows it.
func specEncodeSigned(c *specChunkSigner, data []byte, chunkSize int, trailers [][2]string) []byte {
	var b bytes.Buffer
	for off := 0; off < len(data); off += chunkSize {
		end := min(off+chunkSize, len(data))
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", end-off, c.chunk(data[off:end]))
		b.Write(data[off:end])
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "0;chunk-signature=%s\r\n", c.chunk(nil))
	if trailers == nil {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	var canon strings.Builder
	for _, tr := range trailers {
		fmt.Fprintf(&b, "%s:%s\r\n", tr[0], tr[1])
		fmt.Fprintf(&canon, "%s:%s\n", tr[0], tr[1])
	}
	fmt.Fprintf(&b, "x-amz-trailer-signature:%s\r\n\r\n", c.trailer(canon.String()))
	return b.Bytes()
}

// specEncodeUnsigned encodes data in the unsigned-trailer form that
// aws-sdk-go-v2 and botocore send.
func specEncodeUnsigned(data []byte, chunkSize int, trailers [][2]string) []byte {
	var b bytes.Buffer
	for off := 0; off < len(data); off += chunkSize {
		end := min(off+chunkSize, len(data))
		fmt.Fprintf(&b, "%x\r\n", end-off)
		b.Write(data[off:end])
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n")
	for _, tr := range trailers {
		fmt.Fprintf(&b, "%s:%s\r\n", tr[0], tr[1])
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// streamingRequest returns a server-side request carrying an aws-chunked
// body built by encode from the seed signature of an aws-sdk-go-v2 signed
// header.
func streamingRequest(t testing.TB, mode string, data []byte, trailerNames []string,
	at time.Time, encode func(c *specChunkSigner) []byte,
) *http.Request {
	t.Helper()
	req := newClientReq(t, http.MethodPut, testHost, "/bucket/stream/object.bin", "", nil)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	if len(trailerNames) > 0 {
		req.Header.Set("X-Amz-Trailer", strings.Join(trailerNames, ","))
	}
	// The encoded length does not depend on the signatures, so encode once
	// with a throw-away signer to learn Content-Length.
	dummy := &specChunkSigner{key: []byte("k"), prev: strings.Repeat("0", 64)}
	req.ContentLength = int64(len(encode(dummy)))
	awsSign(t, req, mode, awsCreds(testAK, testSK, ""), at)
	var body []byte
	if mode == streamingUnsignedTrailer {
		body = encode(nil)
	} else {
		c := newSpecChunkSigner(t, req.Header.Get("Authorization"), testSK)
		c.amzDate = req.Header.Get("X-Amz-Date")
		body = encode(c)
	}
	if int64(len(body)) != req.ContentLength {
		t.Fatalf("encoded length changed: %d != %d", len(body), req.ContentLength)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return toServer(t, req)
}
