package quickstart_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/lakegate/lakegate/internal/quickstart"
)

// newS3Client builds a path-style client for endpoint without loading any
// shared AWS configuration, so the developer's ~/.aws, AWS_PROFILE and
// AWS_CA_BUNDLE cannot interfere.
func newS3Client(endpoint, region string, creds quickstart.StaticCreds) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  awscreds.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	})
}

// startBackend starts the embedded backend over dir and stops it when the
// test ends. Backends cannot run in parallel (one per process).
func startBackend(t *testing.T, dir string) *quickstart.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b, err := quickstart.StartBackend(ctx, dir)
	if err != nil {
		t.Fatalf("StartBackend: %v", err)
	}
	t.Cleanup(func() { stopBackend(t, b) })
	return b
}

func stopBackend(t *testing.T, b *quickstart.Backend) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestBackendPutGetAndRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	b := startBackend(t, dir)
	if !strings.HasPrefix(b.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want loopback http", b.Endpoint)
	}
	client := newS3Client(b.Endpoint, b.Region, b.Creds)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("demo")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	body := "hello from the embedded backend\n"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String("demo"),
		Key:         aws.String("dir/hello.txt"),
		Body:        strings.NewReader(body),
		ContentType: aws.String("text/plain"),
		Metadata:    map[string]string{"owner": "tester"},
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	get := func(client *s3.Client) {
		t.Helper()
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("demo"), Key: aws.String("dir/hello.txt")})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		defer out.Body.Close()
		got, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != body {
			t.Errorf("body = %q, want %q", got, body)
		}
		if out.Metadata["owner"] != "tester" || aws.ToString(out.ContentType) != "text/plain" {
			t.Errorf("metadata lost: %v, content type %q", out.Metadata, aws.ToString(out.ContentType))
		}
	}
	get(client)

	// Wrong keys are refused.
	bad := newS3Client(b.Endpoint, b.Region, quickstart.StaticCreds{AccessKeyID: b.Creds.AccessKeyID, SecretAccessKey: "wrong"})
	_, err := bad.ListBuckets(ctx, &s3.ListBucketsInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: err = %v, want SignatureDoesNotMatch", err)
	}

	// Keys and data survive a restart.
	first := b.Creds
	stopBackend(t, b)
	b2 := startBackend(t, dir)
	if b2.Creds != first {
		t.Errorf("keys changed across restarts")
	}
	get(newS3Client(b2.Endpoint, b2.Region, b2.Creds))

	st, err := os.Stat(filepath.Join(dir, "backend.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backend.json mode = %o, want 600", st.Mode().Perm())
	}
}
