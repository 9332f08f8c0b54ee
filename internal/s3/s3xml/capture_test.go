package s3xml

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// recorder is an http.RoundTripper keeping the last response body.
type recorder struct{ last []byte }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if r.last, err = io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(r.last))
	return resp, nil
}

// TestCaptureMinIO rewrites testdata/minio from a real, empty MinIO server.
// It runs only when S3XML_CAPTURE_ENDPOINT is set, e.g.
//
//	MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin minio server /tmp/m --address 127.0.0.1:19600 &
//	S3XML_CAPTURE_ENDPOINT=http://127.0.0.1:19600 go test -run CaptureMinIO ./internal/s3/s3xml/
//
// Version and upload IDs change with every capture; tests that name them
// need updating after one.
func TestCaptureMinIO(t *testing.T) {
	endpoint := os.Getenv("S3XML_CAPTURE_ENDPOINT")
	if endpoint == "" {
		t.Skip("S3XML_CAPTURE_ENDPOINT not set")
	}
	ctx := context.Background()
	rec := &recorder{}
	c := s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("minioadmin", "minioadmin", ""),
		HTTPClient:  &http.Client{Transport: rec},
	})
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	b := aws.String("bkt")
	for _, name := range []string{"bkt", "secret-payroll", "zeta"} {
		must(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}))
	}
	must(c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}))
	for _, k := range []string{"public/a.txt", "public/b c&d.txt", "public/sub/x", "public/€.txt", "secret/plans.txt", "secret/z+1.txt", "top.txt"} {
		must(c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader("hello " + k)}))
	}
	must(c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("secret/plans.txt"), Body: strings.NewReader("v2")}))
	must(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("public/b c&d.txt")}))
	for _, k := range []string{"public/big.iso", "secret/big.iso"} {
		must(c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String(k)}))
	}
	dir := filepath.Join("testdata", "minio")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// save("f.xml")(call) writes the body of call's response to f.xml.
	save := func(name string) func(any, error) {
		return func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), rec.last, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	url := types.EncodingTypeUrl
	slash := aws.String("/")
	save("list-v1-truncated.xml")(c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, MaxKeys: aws.Int32(4)}))
	save("list-v1-delimited.xml")(c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, Delimiter: slash, MaxKeys: aws.Int32(2)}))
	save("list-v1-url.xml")(c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, EncodingType: url}))
	save("list-v2-delimited.xml")(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Delimiter: slash, MaxKeys: aws.Int32(2)}))
	save("list-v2-truncated.xml")(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(5)}))
	save("list-v2-url.xml")(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, EncodingType: url}))
	save("list-v2-empty.xml")(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("nothing/")}))
	save("versions-truncated.xml")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(6)}))
	save("versions-delimited.xml")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, Delimiter: slash}))
	save("versions-url.xml")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, EncodingType: url}))
	save("uploads.xml")(c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b}))
	save("uploads-delimited.xml")(c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b, Delimiter: slash}))
	save("buckets.xml")(c.ListBuckets(ctx, &s3.ListBucketsInput{}))
	save("delete-result.xml")(c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("public/a.txt")}, {Key: aws.String("public/sub/x"), VersionId: aws.String("nonexistent")}}}}))
}
