package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/quickstart"
	"github.com/lakegate/lakegate/internal/server"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newServer calls server.New.
func newServer(t *testing.T, ctx context.Context, cfg *config.Config, logger *slog.Logger) *server.Server {
	t.Helper()
	s, err := server.New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	return s
}

// serve runs s until the test ends and checks that it stops cleanly.
func serve(t *testing.T, s *server.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(server.ShutdownTimeout + 5*time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
}

// startBackend starts the embedded S3 server as the upstream.
func startBackend(t *testing.T) *quickstart.Backend {
	t.Helper()
	b, err := quickstart.StartBackend(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("StartBackend: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("backend Stop: %v", err)
		}
	})
	return b
}

// testConfig is a valid configuration on loopback port 0 with an admin key
// and, when b is not nil, b as the upstream.
func testConfig(t *testing.T, b *quickstart.Backend) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Proxy.Addr = "127.0.0.1:0"
	cfg.REST.Addr = "127.0.0.1:0"
	cfg.Log.Level = "debug"
	id, secret := credentials.Generate()
	cfg.Admin = config.Admin{AccessKeyID: id, SecretAccessKey: secret}
	if b != nil {
		cfg.Upstream = config.Upstream{
			Endpoint: b.Endpoint, Region: b.Region, PathStyle: true,
			AccessKeyID: b.Creds.AccessKeyID, SecretAccessKey: b.Creds.SecretAccessKey,
		}
	} else {
		cfg.Upstream = config.Upstream{
			Endpoint: "http://127.0.0.1:1", Region: "us-east-1", PathStyle: true,
			AccessKeyID: "UPSTREAMKEY", SecretAccessKey: "upstream-secret",
		}
	}
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func s3Client(endpoint, id, secret string, hc *http.Client) *s3.Client {
	o := s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  awscreds.NewStaticCredentialsProvider(id, secret, ""),
	}
	if hc != nil {
		o.HTTPClient = hc
	}
	return s3.New(o)
}

func getHealth(t *testing.T, hc *http.Client, url string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body["health"] != "ok" {
		t.Errorf("GET %s = %d %v, want 200 {health: ok}", url, resp.StatusCode, body)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Proxy.Addr = "nonsense"
	cfg.Log.Format = "xml"
	_, err := server.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "proxy.addr") || !strings.Contains(err.Error(), "log.format") {
		t.Fatalf("err = %v, want both problems reported", err)
	}
}

func TestNewFailsOnBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testConfig(t, nil)
	cfg.REST.Addr = "127.0.0.1:0"
	cfg.Proxy.Addr = busy.Addr().String()
	_, err = server.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "proxy listener") {
		t.Fatalf("err = %v, want a proxy listener error", err)
	}
}

// TestSmoke runs the whole server against the embedded S3 backend and
// drives it with the AWS SDK, as a user would.
func TestSmoke(t *testing.T) {
	b := startBackend(t)
	cfg := testConfig(t, b)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newServer(t, t.Context(), cfg, logger)
	addrs := s.Addrs()
	if !strings.HasPrefix(addrs.Proxy, "127.0.0.1:") || strings.HasSuffix(addrs.Proxy, ":0") || addrs.ProxyTLS != "" {
		t.Fatalf("Addrs = %+v", addrs)
	}
	serve(t, s)

	getHealth(t, http.DefaultClient, "http://"+addrs.REST+"/api/health")

	ctx := t.Context()
	client := s3Client("http://"+addrs.Proxy, cfg.Admin.AccessKeyID, cfg.Admin.SecretAccessKey, nil)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("smoke")}); err != nil {
		t.Fatalf("CreateBucket via proxy: %v", err)
	}
	body := strings.Repeat("lakegate smoke test\n", 1000)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("smoke"), Key: aws.String("a/b.txt"), Body: strings.NewReader(body),
	}); err != nil {
		t.Fatalf("PutObject via proxy: %v", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("smoke"), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatalf("GetObject via proxy: %v", err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || string(got) != body {
		t.Fatalf("GetObject body: %d bytes, err %v; want %d bytes", len(got), err, len(body))
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("smoke")})
	if err != nil {
		t.Fatalf("ListObjectsV2 via proxy: %v", err)
	}
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "a/b.txt" {
		t.Errorf("listed %+v", list.Contents)
	}

	// The object really is in the upstream.
	direct := s3Client(b.Endpoint, b.Creds.AccessKeyID, b.Creds.SecretAccessKey, nil)
	if _, err := direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("smoke"), Key: aws.String("a/b.txt")}); err != nil {
		t.Errorf("HeadObject on the backend: %v", err)
	}

	// Bad credentials are refused with S3's error codes.
	for name, c := range map[string]struct {
		client *s3.Client
		code   string
	}{
		"wrong secret": {s3Client("http://"+addrs.Proxy, cfg.Admin.AccessKeyID, "wrong-secret", nil), "SignatureDoesNotMatch"},
		"unknown key":  {s3Client("http://"+addrs.Proxy, "LGUNKNOWNUNKNOWN0000", "x", nil), "InvalidAccessKeyId"},
		// The upstream's own root key means nothing to the proxy.
		"upstream key": {s3Client("http://"+addrs.Proxy, b.Creds.AccessKeyID, b.Creds.SecretAccessKey, nil), "InvalidAccessKeyId"},
	} {
		_, err := c.client.ListBuckets(ctx, &s3.ListBucketsInput{})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != c.code {
			t.Errorf("%s: ListBuckets err = %v, want %s", name, err, c.code)
		}
		_, err = c.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("smoke"), Key: aws.String("refused"), Body: strings.NewReader("must not land"),
		})
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != c.code {
			t.Errorf("%s: PutObject err = %v, want %s", name, err, c.code)
		}
	}
	if _, err := direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("smoke"), Key: aws.String("refused")}); err == nil {
		t.Error("an object written with bad credentials reached the backend")
	}

	if !strings.Contains(logs.String(), "msg=\"proxy listening\" addr="+addrs.Proxy) {
		t.Errorf("logs lack the proxy address %s:\n%s", addrs.Proxy, logs.String())
	}
	if strings.Contains(logs.String(), cfg.Admin.SecretAccessKey) || strings.Contains(logs.String(), b.Creds.SecretAccessKey) {
		t.Error("logs contain a secret")
	}
}

// TestTLS serves the proxy and the REST API over HTTPS.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	b := startBackend(t)
	cfg := testConfig(t, b)
	cfg.Proxy.Addr = ""
	cfg.Proxy.TLSAddr = "127.0.0.1:0"
	cfg.Proxy.TLSCertFile, cfg.Proxy.TLSKeyFile = certFile, keyFile
	cfg.REST.TLSCertFile, cfg.REST.TLSKeyFile = certFile, keyFile
	s := newServer(t, t.Context(), cfg, slog.New(slog.DiscardHandler))
	addrs := s.Addrs()
	if addrs.Proxy != "" || addrs.ProxyTLS == "" {
		t.Fatalf("Addrs = %+v", addrs)
	}
	serve(t, s)

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	getHealth(t, hc, "https://"+addrs.REST+"/api/health")
	client := s3Client("https://"+addrs.ProxyTLS, cfg.Admin.AccessKeyID, cfg.Admin.SecretAccessKey, hc)
	if _, err := client.ListBuckets(t.Context(), &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("ListBuckets over TLS: %v", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key to temporary
// files and returns them with a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "lakegate test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
