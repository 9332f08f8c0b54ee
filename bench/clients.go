package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// endpoint is one side of the comparison: where requests go and with which
// key. Both sides use identical client code and transports.
type endpoint struct {
	name string // "direct" or "proxy"
	url  string // http://127.0.0.1:port
	ak   string
	sk   string

	rec   *recorder
	aws   *s3.Client
	minio *minio.Client
}

func newEndpoint(name, rawURL, ak, sk string) (*endpoint, error) {
	tr, err := newTransport()
	if err != nil {
		return nil, err
	}
	rec := &recorder{next: tr}
	hc := &http.Client{Transport: rec}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	// s3.New with explicit options rather than config.LoadDefaultConfig:
	// LoadDefaultConfig applies AWS_CA_BUNDLE by type-asserting the HTTP
	// client to its own BuildableClient and fails ("unable to add custom
	// RootCAs") for any other client. The bundle is honoured in
	// newTransport instead, and nothing else from the environment
	// (profiles, region, retry mode) leaks into the measurement.
	awsc := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(rawURL),
		UsePathStyle: true,
		Credentials:  awscreds.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:   hc,
		// A failure must show, not be hidden by a retry.
		Retryer: aws.NopRetryer{},
	})
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:        miniocreds.NewStaticV4(ak, sk, ""),
		Secure:       u.Scheme == "https",
		Region:       "us-east-1", // no GetBucketLocation round trip
		BucketLookup: minio.BucketLookupPath,
		Transport:    rec,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, err
	}
	return &endpoint{name: name, url: rawURL, ak: ak, sk: sk, rec: rec, aws: awsc, minio: mc}, nil
}

// newTransport is the HTTP transport of both endpoints: keep-alive pools
// large enough for the concurrency used, no compression, no proxy from the
// environment, Expect: 100-continue honoured as SDKs do, and TLS roots that
// include AWS_CA_BUNDLE when it is set.
func newTransport() (*http.Transport, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if p := os.Getenv("AWS_CA_BUNDLE"); p != "" {
		pem, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AWS_CA_BUNDLE %s: no PEM certificates", p)
		}
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}, nil
}

// recorder remembers the payload-related headers of the last PUT, so that
// the report states the payload mode the clients really used.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last putHeaders
}

type putHeaders struct {
	ContentSHA256   string
	ContentEncoding string
	Checksums       []string
	Expect          string
	Trailer         string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		h := putHeaders{
			ContentSHA256:   req.Header.Get("X-Amz-Content-Sha256"),
			ContentEncoding: req.Header.Get("Content-Encoding"),
			Expect:          req.Header.Get("Expect"),
			Trailer:         req.Header.Get("X-Amz-Trailer"),
		}
		for k := range req.Header {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-checksum-") {
				h.Checksums = append(h.Checksums, lk)
			}
		}
		sort.Strings(h.Checksums)
		r.mu.Lock()
		r.last = h
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *recorder) lastPut() putHeaders {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// describe names the payload mode in words for the report.
func (h putHeaders) describe() string {
	var mode string
	switch v := h.ContentSHA256; {
	case v == "":
		mode = "no x-amz-content-sha256"
	case len(v) == 64 && strings.Trim(v, "0123456789abcdef") == "":
		mode = "hex SHA-256 of the body in x-amz-content-sha256"
	default:
		mode = "x-amz-content-sha256: " + v
	}
	var extra []string
	if len(h.Checksums) > 0 {
		extra = append(extra, "headers "+strings.Join(h.Checksums, ", "))
	}
	if h.Trailer != "" {
		extra = append(extra, "trailer "+h.Trailer)
	}
	if h.ContentEncoding != "" {
		extra = append(extra, "Content-Encoding: "+h.ContentEncoding)
	}
	if h.Expect != "" {
		extra = append(extra, "Expect: "+h.Expect)
	}
	if len(extra) > 0 {
		mode += "; " + strings.Join(extra, "; ")
	}
	return mode
}

// pattern is the content every generated object repeats: pseudo-random, so
// nothing along the way can compress it, and a period that is not a power of
// two, so it never lines up with buffer or chunk sizes.
var pattern = func() []byte {
	b := make([]byte, 1<<20+4099)
	rng := rand.NewChaCha8([32]byte{'l', 'a', 'k', 'e', 'g', 'a', 't', 'e'})
	_, _ = rng.Read(b)
	return b
}()

// genReader produces size bytes of pattern starting at offset base, without
// holding the object in memory. It is an io.ReadSeeker and io.ReaderAt.
type genReader struct {
	base, size, off int64
}

func newGen(size int64) *genReader { return &genReader{size: size} }

func (g *genReader) Read(b []byte) (int, error) {
	n, err := g.ReadAt(b, g.off)
	g.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (g *genReader) ReadAt(b []byte, off int64) (int, error) {
	if off >= g.size {
		return 0, io.EOF
	}
	if rem := g.size - off; int64(len(b)) > rem {
		b = b[:rem]
	}
	n := 0
	p := (g.base + off) % int64(len(pattern))
	for n < len(b) {
		c := copy(b[n:], pattern[p:])
		n += c
		p = 0
	}
	if off+int64(n) == g.size {
		return n, io.EOF
	}
	return n, nil
}

func (g *genReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.off
	case io.SeekEnd:
		offset += g.size
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek: negative offset %d", offset)
	}
	g.off = offset
	return offset, nil
}

// streamOnly hides Seek and ReadAt, so a client must stream the body.
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(b []byte) (int, error) { return s.r.Read(b) }
