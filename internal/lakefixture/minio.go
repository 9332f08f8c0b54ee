package lakefixture

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lakegate/lakegate/internal/s3/miniotest"
	"github.com/lakegate/lakegate/internal/upstream"
)

// StartMinIO starts a real MinIO for the test (skipping it where the
// binary is not installed) with bucket created, and returns lakegate's
// upstream client signing with its root keys, a minio-go client to set up
// objects with, and the server.
func StartMinIO(t testing.TB, bucket string) (*upstream.Client, *minio.Client, *miniotest.Server) {
	t.Helper()
	m := miniotest.Start(t)
	mc, err := minio.New(strings.TrimPrefix(m.Endpoint, "http://"), &minio.Options{
		Creds: miniocreds.NewStaticV4(m.AccessKey, m.SecretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	c, err := upstream.New(upstream.Options{
		Default:     upstream.Target{Endpoint: m.Endpoint, PathStyle: true},
		Credentials: credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, mc, m
}

// Put uploads body as bucket/key with mc.
func Put(t testing.TB, mc *minio.Client, bucket, key string, body []byte) minio.UploadInfo {
	t.Helper()
	info, err := mc.PutObject(context.Background(), bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return info
}
