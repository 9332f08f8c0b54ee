package quickstart_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakegate/lakegate/internal/quickstart"
)

// start runs quickstart.Start.
func start(t *testing.T, o quickstart.Options) *quickstart.Instance {
	t.Helper()
	q, err := quickstart.Start(t.Context(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return q
}

// serve runs q until stop is called (or the test ends) and checks it stops
// cleanly.
func serve(t *testing.T, q *quickstart.Instance) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Serve(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

var profileRE = regexp.MustCompile(`(?m)^\[profile lakegate\]
endpoint_url = (http://127\.0\.0\.1:\d+)
aws_access_key_id = (LG[A-Z0-9]{18})
aws_secret_access_key = ([A-Za-z0-9]{40})
region = us-east-1
s3 =
    signature_version = s3v4
`)

var tokenRE = regexp.MustCompile(`(?m)^LAKEGATE_TOKEN=(lgt_[A-Za-z0-9]{40})$`)

// TestQuickstart is the README's promise: start, paste the profile, use S3.
// A second run over the same data dir reuses the keys and the data.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	awsConfig := filepath.Join(t.TempDir(), "aws", "config")
	opts := func(out io.Writer) quickstart.Options {
		return quickstart.Options{
			DataDir:        dir,
			ProxyAddr:      "127.0.0.1:0",
			RESTAddr:       "127.0.0.1:0",
			Stdout:         out,
			Logger:         slog.New(slog.DiscardHandler),
			WriteAWSConfig: true,
			AWSConfigFile:  awsConfig,
		}
	}
	var banner bytes.Buffer
	q := start(t, opts(&banner))
	stop := serve(t, q)

	m := profileRE.FindStringSubmatch(banner.String())
	if m == nil {
		t.Fatalf("banner lacks the profile block:\n%s", banner.String())
	}
	endpoint, id, secret := m[1], m[2], m[3]
	tok := tokenRE.FindStringSubmatch(banner.String())
	if tok == nil {
		t.Fatalf("banner lacks LAKEGATE_TOKEN:\n%s", banner.String())
	}
	written, err := os.ReadFile(awsConfig)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != q.Profile.Section() || !strings.Contains(banner.String(), string(written)) {
		t.Errorf("AWS config file:\n%s\nwant the banner's block", written)
	}

	resp, err := http.Get(q.RESTURL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health: %d", resp.StatusCode)
	}

	ctx := t.Context()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: staticCreds(id, secret),
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("demo")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("demo"), Key: aws.String("hello.txt"), Body: strings.NewReader("hello\n"),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	stop()
	if _, err := os.Stat(filepath.Join(dir, "s3", "demo", "hello.txt")); err != nil {
		t.Errorf("object not stored under the data dir: %v", err)
	}

	// Second run: same keys, same token, same data.
	var banner2 bytes.Buffer
	q2 := start(t, opts(&banner2))
	serve(t, q2)
	m2 := profileRE.FindStringSubmatch(banner2.String())
	tok2 := tokenRE.FindStringSubmatch(banner2.String())
	if m2 == nil || tok2 == nil || m2[2] != id || m2[3] != secret || tok2[1] != tok[1] {
		t.Fatalf("second run changed keys or token:\n%s", banner2.String())
	}
	client2 := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m2[1]), UsePathStyle: true,
		Credentials: staticCreds(id, secret),
	})
	out, err := client2.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("demo"), Key: aws.String("hello.txt")})
	if err != nil {
		t.Fatalf("GetObject after restart: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "hello\n" {
		t.Errorf("body = %q", body)
	}
	st, err := os.Stat(filepath.Join(dir, "quickstart.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("quickstart.json mode = %o, want 600", st.Mode().Perm())
	}
}
