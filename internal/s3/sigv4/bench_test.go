package sigv4

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// Benchmarks of the hot paths. Compare runs with benchstat:
//
//	go test -run='^$' -bench=. -count=10 ./internal/s3/sigv4/ > old.txt
//	(change something)
//	go test -run='^$' -bench=. -count=10 ./internal/s3/sigv4/ > new.txt
//	benchstat old.txt new.txt

func BenchmarkVerifyHeaderGET(b *testing.B) {
	now := time.Now().UTC()
	req := newClientReq(b, http.MethodGet, testHost, "/bucket/some/object key.txt", "versionId=3", nil)
	req.Header.Set("Range", "bytes=0-1023")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.0")
	awsSign(b, req, emptyDigest, awsCreds(testAK, testSK, ""), now)
	r := toServer(b, req)
	v := newTestVerifier(now, false)
	if _, err := v.Verify(r, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPresignedGET(b *testing.B) {
	now := time.Now().UTC()
	req := newClientReq(b, http.MethodGet, testHost, "/bucket/some/object key.txt", "", nil)
	r := toServer(b, awsPresign(b, req, time.Hour, awsCreds(testAK, testSK, ""), now))
	v := newTestVerifier(now, false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, ""); err != nil {
			b.Fatal(err)
		}
	}
}

const benchPayload = 64 << 20

// benchStream returns a verified 64 MiB aws-chunked upload in 64 KiB chunks.
func benchStream(b *testing.B, mode string) (*Result, []byte, *http.Request) {
	data := testData(benchPayload)
	var names []string
	var tr [][2]string
	if mode != streamingSigned {
		tr = [][2]string{{"x-amz-checksum-crc64nvme", "AAAAAAAAAAA="}}
		names = []string{tr[0][0]}
	}
	r := streamingRequest(b, mode, data, names, time.Now(), func(c *specChunkSigner) []byte {
		if mode == streamingUnsignedTrailer {
			return specEncodeUnsigned(data, 64<<10, tr)
		}
		return specEncodeSigned(c, data, 64<<10, tr)
	})
	res, err := NewVerifier(Options{Credentials: testCreds()}).Verify(r, "")
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		b.Fatal(err)
	}
	return res, body, r
}

func copyAll(b *testing.B, r io.Reader, buf []byte) int64 {
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkPayloadReader(b *testing.B, mode string) {
	res, body, _ := benchStream(b, mode)
	buf := make([]byte, 32<<10)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		pr := res.NewPayloadReader(bytes.NewReader(body), int64(len(body)))
		if n := copyAll(b, pr, buf); n != benchPayload {
			b.Fatalf("decoded %d bytes", n)
		}
	}
}

func BenchmarkPayloadReaderStreamingSigned64MiB(b *testing.B) {
	benchmarkPayloadReader(b, streamingSigned)
}

func BenchmarkPayloadReaderUnsignedTrailer64MiB(b *testing.B) {
	benchmarkPayloadReader(b, streamingUnsignedTrailer)
}

func BenchmarkPayloadReaderSHA256_64MiB(b *testing.B) {
	data := testData(benchPayload)
	res := &Result{Payload: PayloadSHA256, ContentSHA256: sha256Hex(data)}
	buf := make([]byte, 32<<10)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		copyAll(b, res.NewPayloadReader(bytes.NewReader(data), benchPayload), buf)
	}
}

func BenchmarkResignStreamingSigned64MiB(b *testing.B) {
	res, body, r := benchStream(b, streamingSigned)
	s := &Signer{AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK, Region: "us-east-1"}
	buf := make([]byte, 32<<10)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		up, err := http.NewRequest(http.MethodPut, "http://upstream.test"+r.URL.RequestURI(), nil)
		if err != nil {
			b.Fatal(err)
		}
		up.Header.Set("X-Amz-Decoded-Content-Length", r.Header.Get("X-Amz-Decoded-Content-Length"))
		sc := s.Sign(up, res.ContentSHA256, time.Now())
		if n := copyAll(b, Resign(res.NewPayloadReader(bytes.NewReader(body), int64(len(body))), sc), buf); n != int64(len(body)) {
			b.Fatalf("resigned %d bytes", n)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s := &Signer{AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK, Region: "us-east-1"}
	req := newClientReq(b, http.MethodGet, "upstream.test", "/bucket/some/object key.txt", "versionId=3", nil)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(req, unsignedPayload, now)
	}
}
