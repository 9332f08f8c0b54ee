package sigv4

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/crc64nvme"
	"github.com/minio/minio-go/v7/pkg/signer"
)

func testData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 42))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// drain reads r with reads of at most size bytes and returns what was
// delivered and the terminal error (nil for io.EOF).
func drain(r io.Reader, size int) ([]byte, error) {
	var out []byte
	buf := make([]byte, size)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func crc64nvmeB64(b []byte) string {
	h := crc64nvme.New()
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestPayloadSHA256(t *testing.T) {
	body := testData(10_000)
	digest := sha256Hex(body)
	wrong := append(bytes.Clone(body[:len(body)-1]), body[len(body)-1]^1)
	tests := []struct {
		name    string
		body    []byte
		length  int64
		bufSize int
		code    string
	}{
		{"known length", body, int64(len(body)), 4096, ""},
		{"unknown length", body, -1, 4096, ""},
		{"unknown length, one-byte reads", body, -1, 1, ""},
		{"unknown length, big buffer", body, -1, 1 << 20, ""},
		{"wrong last byte, known length", wrong, int64(len(body)), 4096, "XAmzContentSHA256Mismatch"},
		{"wrong last byte, unknown length", wrong, -1, 4096, "XAmzContentSHA256Mismatch"},
		{"wrong last byte, one-byte reads", wrong, -1, 1, "XAmzContentSHA256Mismatch"},
		{"truncated", body[:5000], int64(len(body)), 4096, "IncompleteBody"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := &Result{Payload: PayloadSHA256, ContentSHA256: digest}
			got, err := drain(res.NewPayloadReader(bytes.NewReader(tc.body), tc.length), tc.bufSize)
			if codeOf(err) != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if tc.code == "" && !bytes.Equal(got, body) {
				t.Fatalf("decoded %d bytes, differs from body", len(got))
			}
			if tc.code != "" && len(got) >= len(body) {
				t.Fatalf("all %d bytes delivered before the error", len(got))
			}
		})
	}
	t.Run("empty body", func(t *testing.T) {
		res := &Result{Payload: PayloadSHA256, ContentSHA256: emptyDigest}
		for _, n := range []int64{0, -1} {
			if got, err := drain(res.NewPayloadReader(http.NoBody, n), 10); err != nil || len(got) != 0 {
				t.Errorf("length %d: %q, %v", n, got, err)
			}
		}
	})
}

func TestPayloadUnsignedPassesThrough(t *testing.T) {
	body := testData(1000)
	res := &Result{Payload: PayloadUnsigned}
	got, err := drain(res.NewPayloadReader(bytes.NewReader(body), -1), 7)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}

// streamCase is one aws-chunked body and what reading it must give.
type streamCase struct {
	name     string
	data     []byte
	build    func(t *testing.T) *http.Request
	trailer  map[string]string // expected trailers
	maxChunk int
	mutate   func(res *Result, body []byte) []byte
	code     string
	// maxDelivered bounds the decoded bytes delivered before the error.
	maxDelivered int
}

func verifyStream(t *testing.T, r *http.Request, maxChunk int) *Result {
	t.Helper()
	v := NewVerifier(Options{Credentials: testCreds(), MaxChunkSize: maxChunk})
	res, err := v.Verify(r, "")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func minioStreaming(t *testing.T, data []byte, trailer http.Header) *http.Request {
	req := newClientReq(t, http.MethodPut, testHost, "/bucket/minio/obj", "", data)
	req.Trailer = trailer
	return toServer(t, signer.StreamingSignV4(req, testAK, testSK, "", "us-east-1", int64(len(data)), time.Now().UTC(), stdHasher()))
}

func streamCases() []streamCase {
	now := func() time.Time { return time.Now().UTC() }
	data := testData(200*1024 + 123)
	small := testData(3000)
	crc := crc64nvmeB64(data)
	trailers := [][2]string{{"x-amz-checksum-crc64nvme", crc}}
	signedSpec := func(d []byte, chunk int, tr [][2]string) func(t *testing.T) *http.Request {
		mode, names := streamingSigned, []string(nil)
		if tr != nil {
			mode = streamingSignedTrailer
			for _, x := range tr {
				names = append(names, x[0])
			}
		}
		return func(t *testing.T) *http.Request {
			return streamingRequest(t, mode, d, names, now(), func(c *specChunkSigner) []byte {
				return specEncodeSigned(c, d, chunk, tr)
			})
		}
	}
	unsignedSpec := func(d []byte, chunk int, tr [][2]string) func(t *testing.T) *http.Request {
		var names []string
		for _, x := range tr {
			names = append(names, x[0])
		}
		return func(t *testing.T) *http.Request {
			return streamingRequest(t, streamingUnsignedTrailer, d, names, now(), func(*specChunkSigner) []byte {
				return specEncodeUnsigned(d, chunk, tr)
			})
		}
	}
	// chunkOffset finds the start of the n-th (0-based) chunk header.
	flipDataByte := func(at int) func(*Result, []byte) []byte {
		return func(_ *Result, b []byte) []byte {
			b = bytes.Clone(b)
			b[at] ^= 0x55
			return b
		}
	}
	hdr := len(fmt.Sprintf("%x;chunk-signature=%s\r\n", 64*1024, strings.Repeat("0", 64)))
	return []streamCase{
		{name: "signed, spec encoder", data: data, build: signedSpec(data, 64*1024, nil)},
		{name: "signed, single small chunk", data: small, build: signedSpec(small, 64*1024, nil)},
		{name: "signed, empty payload", data: []byte{}, build: signedSpec([]byte{}, 64*1024, nil)},
		{name: "signed, odd chunk size", data: data, build: signedSpec(data, 8191, nil)},
		{name: "signed, one chunk larger than a buffer granule", data: data, build: signedSpec(data, len(data), nil)},
		{name: "signed, minio-go", data: data, build: func(t *testing.T) *http.Request { return minioStreaming(t, data, nil) }},
		{
			name: "signed trailer, spec encoder", data: data, build: signedSpec(data, 64*1024, trailers),
			trailer: map[string]string{"x-amz-checksum-crc64nvme": crc},
		},
		{
			name: "signed trailer, two trailers", data: small,
			build:   signedSpec(small, 1024, [][2]string{{"x-amz-checksum-crc32c", "sOO8/Q=="}, {"x-amz-meta-late", "v"}}),
			trailer: map[string]string{"x-amz-checksum-crc32c": "sOO8/Q==", "x-amz-meta-late": "v"},
		},
		{
			name: "signed trailer, minio-go", data: data,
			build: func(t *testing.T) *http.Request {
				return minioStreaming(t, data, http.Header{"X-Amz-Checksum-Crc64nvme": {crc}})
			},
			trailer: map[string]string{"x-amz-checksum-crc64nvme": crc},
		},
		{
			name: "unsigned trailer, spec encoder", data: data, build: unsignedSpec(data, 64*1024, trailers),
			trailer: map[string]string{"x-amz-checksum-crc64nvme": crc},
		},
		{
			name: "unsigned trailer, one chunk above MaxChunkSize (aws-sdk-go-v2 style)", data: data,
			build: unsignedSpec(data, len(data), trailers), maxChunk: 1024,
			trailer: map[string]string{"x-amz-checksum-crc64nvme": crc},
		},
		{
			name: "unsigned trailer, empty payload", data: []byte{}, build: unsignedSpec([]byte{}, 1024, trailers[:1:1]),
			trailer: map[string]string{"x-amz-checksum-crc64nvme": trailers[0][1]},
		},
		{
			name: "unsigned trailer, minio-go", data: data,
			build: func(t *testing.T) *http.Request {
				req := newClientReq(t, http.MethodPut, testHost, "/bucket/minio/obj", "", data)
				req.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrailer)
				signed := signer.SignV4Trailer(*req, testAK, testSK, "", "us-east-1", http.Header{"X-Amz-Checksum-Crc64nvme": {crc}})
				return toServer(t, signed)
			},
			trailer: map[string]string{"x-amz-checksum-crc64nvme": crc},
		},

		// Failures.
		{
			name: "tampered second chunk", data: data, build: signedSpec(data, 64*1024, nil),
			mutate: flipDataByte(2*hdr + 64*1024 + 2 + 10), code: "SignatureDoesNotMatch", maxDelivered: 64 * 1024,
		},
		{
			name: "tampered first chunk", data: data, build: signedSpec(data, 64*1024, nil),
			mutate: flipDataByte(hdr + 5), code: "SignatureDoesNotMatch", maxDelivered: 0,
		},
		{
			name: "tampered last chunk", data: small, build: signedSpec(small, 1000, nil),
			mutate: flipDataByte(2*(len(fmt.Sprintf("%x;chunk-signature=%s\r\n", 1000, strings.Repeat("0", 64)))+1000+2) + 90),
			code:   "SignatureDoesNotMatch", maxDelivered: 2000,
		},
		{
			name: "tampered trailer value", data: small, build: signedSpec(small, 1024, trailers),
			mutate: func(_ *Result, b []byte) []byte {
				return bytes.Replace(b, []byte(crc), []byte(strings.Repeat("A", len(crc))), 1)
			},
			code: "SignatureDoesNotMatch", maxDelivered: len(small) - 1,
		},
		{
			name: "decoded length larger than sent", data: small, build: signedSpec(small, 1024, nil),
			mutate: func(res *Result, b []byte) []byte { res.DecodedContentLength++; return b },
			code:   "IncompleteBody", maxDelivered: len(small),
		},
		{
			name: "decoded length smaller than sent", data: small, build: signedSpec(small, 1024, nil),
			mutate: func(res *Result, b []byte) []byte { res.DecodedContentLength--; return b },
			code:   "IncompleteBody", maxDelivered: len(small) - 1,
		},
		{
			name: "chunk larger than MaxChunkSize", data: data, build: signedSpec(data, 64*1024, nil),
			maxChunk: 32 * 1024, code: "InvalidRequest", maxDelivered: 0,
		},
		{
			name: "truncated body", data: data, build: signedSpec(data, 64*1024, nil),
			mutate: func(_ *Result, b []byte) []byte { return b[:len(b)-40] },
			code:   "IncompleteBody", maxDelivered: len(data) - 1,
		},
		{
			name: "data after the final chunk", data: small, build: signedSpec(small, 1024, nil),
			mutate: func(_ *Result, b []byte) []byte { return append(bytes.Clone(b), "junk"...) },
			code:   "IncompleteBody", maxDelivered: len(small) - 1,
		},
		{
			name: "unsigned trailer not announced", data: small,
			build: func(t *testing.T) *http.Request {
				return streamingRequest(t, streamingUnsignedTrailer, small, nil, now(), func(*specChunkSigner) []byte {
					return specEncodeUnsigned(small, 1024, trailers)
				})
			},
			code: "InvalidRequest", maxDelivered: len(small) - 1,
		},
		{
			name: "announced trailer missing", data: small,
			build: func(t *testing.T) *http.Request {
				return streamingRequest(t, streamingUnsignedTrailer, small, []string{"x-amz-checksum-crc32"}, now(), func(*specChunkSigner) []byte {
					return specEncodeUnsigned(small, 1024, nil)
				})
			},
			code: "IncompleteBody", maxDelivered: len(small) - 1,
		},
		{
			name: "unsigned chunk framing broken", data: small, build: unsignedSpec(small, 1000, trailers),
			mutate: func(_ *Result, b []byte) []byte {
				b = bytes.Clone(b)
				i := bytes.Index(b, []byte("\r\n3e8\r\n"))
				b[i] = 'X'
				return b
			},
			code: "IncompleteBody", maxDelivered: 1000,
		},
	}
}

func TestPayloadReaderStreaming(t *testing.T) {
	for _, tc := range streamCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.build(t)
			res := verifyStream(t, r, tc.maxChunk)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mutate != nil {
				body = tc.mutate(res, body)
			}
			for _, size := range []int{1 << 20, 1000, 1} {
				pr := res.NewPayloadReader(bytes.NewReader(body), int64(len(body)))
				got, err := drain(pr, size)
				if codeOf(err) != tc.code {
					t.Fatalf("read size %d: error %v, want code %q", size, err, tc.code)
				}
				if tc.code != "" {
					if len(got) > tc.maxDelivered {
						t.Fatalf("read size %d: %d bytes delivered before the error, want at most %d", size, len(got), tc.maxDelivered)
					}
					if pr.Trailer() != nil {
						t.Errorf("Trailer() = %v after an error", pr.Trailer())
					}
					if tc.maxChunk > 0 && pr.s.maxAlloc > tc.maxChunk {
						t.Errorf("allocated a %d-byte chunk buffer with MaxChunkSize %d", pr.s.maxAlloc, tc.maxChunk)
					}
					continue
				}
				if !bytes.Equal(got, tc.data) {
					t.Fatalf("read size %d: decoded %d bytes, want %d identical bytes", size, len(got), len(tc.data))
				}
				checkTrailer(t, pr.Trailer(), tc.trailer)
			}
		})
	}
}

// TestChunkBufferGrowsWithData: a client that announces a large signed
// chunk and stops sending holds a buffer the size of what it sent, not of
// what it announced.
func TestChunkBufferGrowsWithData(t *testing.T) {
	data := testData(8 << 20)
	r := streamingRequest(t, streamingSigned, data, nil, time.Now().UTC(), func(c *specChunkSigner) []byte {
		return specEncodeSigned(c, data, len(data), nil)
	})
	res := verifyStream(t, r, 16<<20)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, sent := range []int{100, 70 << 10, 300 << 10} {
		pr := res.NewPayloadReader(bytes.NewReader(body[:sent]), int64(len(body)))
		if _, err := drain(pr, 32<<10); codeOf(err) != "IncompleteBody" {
			t.Fatalf("sent %d bytes: error %v, want IncompleteBody", sent, err)
		}
		if limit := max(2*sent, chunkBufGranule); pr.s.maxAlloc > limit {
			t.Errorf("sent %d bytes of an 8 MiB chunk: a %d-byte buffer, want at most %d", sent, pr.s.maxAlloc, limit)
		}
	}
}

func checkTrailer(t *testing.T, got http.Header, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Trailer() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("Trailer().Get(%q) = %q, want %q", k, got.Get(k), v)
		}
	}
}

func TestTrailerNilBeforeEOF(t *testing.T) {
	data := testData(5000)
	r := streamingRequest(t, streamingUnsignedTrailer, data, []string{"x-amz-checksum-crc64nvme"}, time.Now(), func(*specChunkSigner) []byte {
		return specEncodeUnsigned(data, 1024, [][2]string{{"x-amz-checksum-crc64nvme", crc64nvmeB64(data)}})
	})
	res := verifyStream(t, r, 0)
	pr := res.NewPayloadReader(r.Body, r.ContentLength)
	buf := make([]byte, len(data))
	if _, err := io.ReadFull(pr, buf); err != nil {
		t.Fatal(err)
	}
	if pr.Trailer() != nil {
		t.Error("Trailer() before io.EOF")
	}
	if n, err := pr.Read(buf); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Read = %d, %v; want io.EOF", n, err)
	}
	if pr.Trailer().Get("x-amz-checksum-crc64nvme") == "" {
		t.Error("Trailer() empty after io.EOF")
	}
}

// upstreamRequest builds the request a gateway would send upstream for the
// client request r, signed by s.
func upstreamRequest(t *testing.T, r *http.Request, res *Result, s *Signer) (*http.Request, *SigningContext) {
	t.Helper()
	up, err := http.NewRequest(r.Method, "http://upstream.test:9000"+r.URL.RequestURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Content-Encoding", "Content-Type", "X-Amz-Decoded-Content-Length", "X-Amz-Trailer"} {
		if v, ok := r.Header[h]; ok {
			up.Header[h] = v
		}
	}
	up.ContentLength = r.ContentLength
	return up, s.Sign(up, res.ContentSHA256, time.Now())
}

func TestResignRoundTrip(t *testing.T) {
	s := &Signer{AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK, Region: "us-east-1"}
	for _, tc := range streamCases() {
		if tc.code != "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			r := tc.build(t)
			res := verifyStream(t, r, tc.maxChunk)
			clientBody, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			up, sc := upstreamRequest(t, r, res, s)
			pr := res.NewPayloadReader(bytes.NewReader(clientBody), int64(len(clientBody)))
			out, err := drain(Resign(pr, sc), 777)
			if err != nil {
				t.Fatalf("Resign: %v", err)
			}
			if len(out) != len(clientBody) {
				t.Fatalf("Resign output %d bytes, client sent %d", len(out), len(clientBody))
			}
			checkTrailer(t, pr.Trailer(), tc.trailer)
			if res.Payload == PayloadStreamingUnsignedTrailer && !bytes.Equal(out, clientBody) {
				t.Fatal("unsigned-trailer framing changed")
			}

			// The upstream verifies the re-signed body as a request of its own.
			up.Body = io.NopCloser(bytes.NewReader(out))
			ur := toServer(t, up)
			ures := verifyStream(t, ur, tc.maxChunk)
			if ures.AccessKeyID != upstreamAK {
				t.Fatalf("upstream verified as %q", ures.AccessKeyID)
			}
			upr := ures.NewPayloadReader(ur.Body, ur.ContentLength)
			got, err := drain(upr, 4096)
			if err != nil {
				t.Fatalf("upstream decode: %v", err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Fatal("upstream decoded payload differs")
			}
			checkTrailer(t, upr.Trailer(), tc.trailer)
		})
	}
}

// TestResignMatchesSpecEncoder checks the re-signed framing against the
// independent encoder seeded with the upstream request's signature.
func TestResignMatchesSpecEncoder(t *testing.T) {
	data := testData(70_000)
	tr := [][2]string{{"x-amz-checksum-crc64nvme", crc64nvmeB64(data)}}
	for _, trailers := range [][][2]string{nil, tr} {
		mode, names := streamingSigned, []string(nil)
		if trailers != nil {
			mode, names = streamingSignedTrailer, []string{tr[0][0]}
		}
		r := streamingRequest(t, mode, data, names, time.Now(), func(c *specChunkSigner) []byte {
			return specEncodeSigned(c, data, 16*1024, trailers)
		})
		res := verifyStream(t, r, 0)
		up, sc := upstreamRequest(t, r, res, &Signer{AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK, Region: "us-east-1"})
		out, err := io.ReadAll(Resign(res.NewPayloadReader(r.Body, r.ContentLength), sc))
		if err != nil {
			t.Fatal(err)
		}
		c := newSpecChunkSigner(t, up.Header.Get("Authorization"), upstreamSK)
		c.amzDate = up.Header.Get("X-Amz-Date")
		if want := specEncodeSigned(c, data, 16*1024, trailers); !bytes.Equal(out, want) {
			t.Errorf("mode %s: Resign output differs from the specification encoder", mode)
		}
	}
}

func TestResignStopsBeforeTamperedChunk(t *testing.T) {
	data := testData(3 * 1024)
	r := streamingRequest(t, streamingSigned, data, nil, time.Now(), func(c *specChunkSigner) []byte {
		return specEncodeSigned(c, data, 1024, nil)
	})
	res := verifyStream(t, r, 0)
	body, _ := io.ReadAll(r.Body)
	unit := len(fmt.Sprintf("%x;chunk-signature=%s\r\n", 1024, strings.Repeat("0", 64))) + 1024 + 2
	body[unit+200] ^= 1 // inside the second chunk's header or data
	up, sc := upstreamRequest(t, r, res, &Signer{AccessKeyID: upstreamAK, SecretAccessKey: upstreamSK, Region: "us-east-1"})
	_ = up
	out, err := drain(Resign(res.NewPayloadReader(bytes.NewReader(body), int64(len(body))), sc), 100)
	if codeOf(err) != "SignatureDoesNotMatch" {
		t.Fatalf("error %v", err)
	}
	if len(out) != unit {
		t.Fatalf("%d bytes delivered, want exactly the first unit (%d)", len(out), unit)
	}
}

func TestResignNeedsContextForSignedPayload(t *testing.T) {
	data := testData(10)
	r := streamingRequest(t, streamingSigned, data, nil, time.Now(), func(c *specChunkSigner) []byte {
		return specEncodeSigned(c, data, 1024, nil)
	})
	res := verifyStream(t, r, 0)
	_, err := io.ReadAll(Resign(res.NewPayloadReader(r.Body, r.ContentLength), nil))
	if err == nil || codeOf(err) != "technical: "+err.Error() {
		t.Fatalf("error %v, want a technical error", err)
	}
}

func TestNewPayloadReaderRejectsForeignResult(t *testing.T) {
	res := &Result{Payload: PayloadStreamingSigned, DecodedContentLength: 0}
	if _, err := io.ReadAll(res.NewPayloadReader(strings.NewReader("0;chunk-signature="+strings.Repeat("0", 64)+"\r\n\r\n"), -1)); err == nil {
		t.Fatal("a hand-made signed streaming Result was accepted")
	}
}
