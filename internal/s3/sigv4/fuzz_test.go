package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// Run one target at a time, e.g.
//
//	go test -run='^$' -fuzz=FuzzPayloadReader -fuzztime=20s -fuzzminimizetime=2s ./internal/s3/sigv4/
//
// The pooled buffers make coverage slightly non-deterministic (a pool may
// be empty after a GC), which can keep the engine minimising one input for
// the default 60s and reporting no progress; -fuzzminimizetime bounds that.

func FuzzParseAuthorization(f *testing.F) {
	sig := strings.Repeat("0123456789abcdef", 4)
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=" + testAK + "/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=" + testAK + "/20260101/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=" + sig,
		"AWS4-HMAC-SHA256 Signature=" + sig + ", SignedHeaders=host, Credential=a/b/20260101/r/s3/aws4_request",
		"AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;;a, Signature=" + sig,
		"AWS4-HMAC-SHA256  Credential=,,",
		"AWS4-HMAC-SHA256 Credential=a=b, Credential=c",
		"AWS AKID:c2lnbmF0dXJl",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorizationV4(h)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Code != "AuthorizationHeaderMalformed" {
				t.Fatalf("error %v is not AuthorizationHeaderMalformed", err)
			}
			return
		}
		c, ok := parseCredential(a.credential)
		if !ok || c.accessKeyID+"/"+c.scope != a.credential {
			t.Fatalf("credential %q does not split back", a.credential)
		}
		names := splitSignedHeaders(a.signedHeaders)
		if !strings.EqualFold(strings.Join(names, ";"), a.signedHeaders) {
			t.Fatalf("signed headers %q do not join back", a.signedHeaders)
		}
		b, err := parseAuthorizationV4(a.format())
		if err != nil || b != a {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", a.format(), b, err, a)
		}
	})
}

func FuzzPresignedQuery(f *testing.F) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	req := newClientReq(f, http.MethodGet, testHost, "/bucket/key", "versionId=1", nil)
	presigned := awsPresign(f, req, time.Hour, awsCreds(testAK, testSK, ""), at)
	for _, s := range []string{
		presigned.URL.RawQuery,
		strings.Replace(presigned.URL.RawQuery, "X-Amz-Expires=3600", "X-Amz-Expires=-1", 1),
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Algorithm=AWS4-HMAC-SHA256",
		"X-Amz-Credential=%zz&X-Amz-Signature=",
		"AWSAccessKeyId=" + testAK + "&Expires=1767323045&Signature=abc%2B%3D",
		"AWSAccessKeyId=x&X-Amz-Algorithm=y",
		"a=1;b=2&X-Amz-Signature=00",
		"%41WSAccessKeyId=1&Signature=+",
	} {
		f.Add(s)
	}
	v := NewVerifier(Options{Credentials: testCreds(), AllowSigV2: true, Now: func() time.Time { return at }})
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{Method: http.MethodGet, Host: testHost, Header: http.Header{}}
		r.URL = &url.URL{Path: "/bucket/key", RawQuery: raw}
		res, err := v.Verify(r, "")
		if err == nil {
			if raw != presigned.URL.RawQuery {
				t.Fatalf("query %q verified: %+v", raw, res)
			}
		} else if e := (*s3err.Error)(nil); !errors.As(err, &e) && !errors.Is(err, errLookupDown) {
			t.Fatalf("error %v is not an S3 error", err)
		}
		w := getWork()
		defer putWork(w)
		if _, err := w.appendCanonicalQuery(nil, raw, true, false); err != nil {
			t.Fatalf("lenient canonical query failed: %v", err)
		}
		_, _ = w.appendCanonicalQuery(nil, raw, false, true)
	})
}

func FuzzChunkHeader(f *testing.F) {
	sig := strings.Repeat("ab", 32)
	for _, s := range []string{
		"10000;chunk-signature=" + sig,
		"0;chunk-signature=" + sig,
		"400",
		"ffffffffffffffff;chunk-signature=" + sig,
		"0000000000000000000001",
		"-1",
		"",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, line []byte, signed bool) {
		size, n, ok := parseChunkSize(line)
		if ok {
			if size < 0 || n < 1 || n > maxChunkSizeDigit {
				t.Fatalf("parseChunkSize(%q) = %d, %d", line, size, n)
			}
			back, _, ok2 := parseChunkSize([]byte(strconv.FormatInt(size, 16)))
			if !ok2 || back != size {
				t.Fatalf("size %d does not round trip", size)
			}
		}
		s := &chunkedState{signed: signed, br: bufioPool.Get().(*bufio.Reader)}
		s.br.Reset(bytes.NewReader(append(bytes.Clone(line), '\r', '\n')))
		defer s.release()
		got, err := s.readChunkHeader()
		if err == nil {
			if !ok || got != size {
				t.Fatalf("readChunkHeader(%q) = %d, parseChunkSize = %d, %v", line, got, size, ok)
			}
			if signed && (len(s.slots) != 1 || !isLowerHex(s.frame[s.slots[0].off:s.slots[0].off+64], 64)) {
				t.Fatalf("readChunkHeader(%q) slots %+v", line, s.slots)
			}
		}
	})
}

// fuzzChain is a fixed client signing context for FuzzPayloadReader.
func fuzzChain() (*SigningContext, *specChunkSigner) {
	sc := &SigningContext{
		key:     keys.get(testSK, "20260101", "us-east-1", "s3"),
		amzDate: "20260101T000000Z",
		scope:   "20260101/us-east-1/s3/aws4_request",
	}
	copy(sc.seed[:], strings.Repeat("5", 64))
	spec := &specChunkSigner{
		key:     specSigningKey(testSK, "20260101", "us-east-1"),
		amzDate: sc.amzDate, scope: sc.scope, prev: string(sc.seed[:]),
	}
	return sc, spec
}

func FuzzPayloadReader(f *testing.F) {
	// Small seeds keep the fuzzer's input minimisation fast.
	data := testData(600)
	tr := [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}
	_, spec := fuzzChain()
	f.Add(specEncodeSigned(spec, data, 256, nil), uint8(0), uint16(len(data)))
	_, spec = fuzzChain()
	f.Add(specEncodeSigned(spec, data, 200, tr), uint8(1), uint16(len(data)))
	f.Add(specEncodeUnsigned(data, 300, tr), uint8(2), uint16(len(data)))
	f.Add(specEncodeUnsigned(data[:10], 3, nil), uint8(2), uint16(10))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:x\n\r\n\r\n"), uint8(2), uint16(5))
	f.Add([]byte("201;chunk-signature="+strings.Repeat("0", 64)+"\r\n"), uint8(0), uint16(65535))
	f.Add([]byte("0;chunk-signature="+strings.Repeat("0", 64)+"\r\nx-amz-trailer-signature:"+strings.Repeat("0", 64)+"\r\n\r\n"), uint8(1), uint16(0))
	f.Fuzz(fuzzPayloadOnce)
}

func fuzzPayloadOnce(t *testing.T, body []byte, m uint8, decoded uint16) {
	const maxChunk = 512
	modes := []PayloadMode{PayloadStreamingSigned, PayloadStreamingSignedTrailer, PayloadStreamingUnsignedTrailer}
	mode := modes[int(m)%len(modes)]
	client, _ := fuzzChain()
	upstream := &SigningContext{key: keys.get(upstreamSK, "20260101", "us-east-1", "s3"), amzDate: client.amzDate, scope: client.scope}
	newRes := func() *Result {
		res := &Result{Payload: mode, DecodedContentLength: int64(decoded), maxChunkSize: maxChunk}
		if mode != PayloadStreamingSigned {
			res.Trailers = []string{"x-amz-checksum-crc32"}
		}
		if mode != PayloadStreamingUnsignedTrailer {
			res.chain = client
		}
		return res
	}
	pr := newRes().NewPayloadReader(bytes.NewReader(body), int64(len(body)))
	got, err := drain(pr, 333)
	if len(got) > int(decoded) {
		t.Fatalf("delivered %d bytes, decoded length %d", len(got), decoded)
	}
	if err == nil && len(got) != int(decoded) {
		t.Fatalf("EOF after %d of %d bytes", len(got), decoded)
	}
	if pr.s.maxAlloc > maxChunk {
		t.Fatalf("allocated %d bytes for a chunk", pr.s.maxAlloc)
	}
	if err != nil {
		if e := (*s3err.Error)(nil); !errors.As(err, &e) {
			t.Fatalf("error %v is not an S3 error", err)
		}
	}

	pr = newRes().NewPayloadReader(bytes.NewReader(body), int64(len(body)))
	out, rerr := drain(Resign(pr, upstream), 1000)
	if len(out) > len(body) {
		t.Fatalf("Resign produced %d bytes from %d", len(out), len(body))
	}
	if (rerr == nil) != (err == nil) {
		t.Fatalf("decode error %v but Resign error %v", err, rerr)
	}
	if rerr == nil && len(out) != len(body) {
		t.Fatalf("Resign output %d bytes, body %d", len(out), len(body))
	}
}

var _ io.Reader = (*PayloadReader)(nil)
