package s3xml

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakegate/lakegate/internal/s3/miniotest"
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

var update = flag.Bool("update", false, "TestCaptureMinIO: rewrite testdata/minio from the MinIO it captures")

// TestCaptureMinIO captures the bodies of testdata/minio from a real,
// empty MinIO server: one it starts (skipped when the minio binary is not
// installed), or the one S3XML_CAPTURE_ENDPOINT names (root user and
// password minioadmin). It checks that they have the shape of the files
// the tests read: the same bodies once what changes with every capture
// (dates, version and upload IDs) is masked. With -update it rewrites the
// files instead:
//
//	go test -run CaptureMinIO -update ./internal/s3/s3xml/
//
// Version and upload IDs change with every capture; tests that name them
// need updating after one.
func TestCaptureMinIO(t *testing.T) {
	endpoint, user, pass := os.Getenv("S3XML_CAPTURE_ENDPOINT"), "minioadmin", "minioadmin"
	if endpoint == "" {
		m := miniotest.Start(t)
		endpoint, user, pass = m.Endpoint, m.AccessKey, m.SecretKey
	}
	ctx := context.Background()
	rec := &recorder{}
	c := s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(user, pass, ""),
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
	// save("f.xml")(call) writes the body of call's response to f.xml with
	// -update, and else compares it with f.xml, masked.
	save := func(name string) func(any, error) {
		return func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(golden, rec.last, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got, want := maskCapture(rec.last), maskCapture(want); got != want {
				t.Errorf("MinIO's %s differs from %s beyond dates and IDs (run with -update to accept, then fix the tests naming IDs):\n--- got\n%s\n--- want\n%s",
					name, golden, got, want)
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

// volatile matches the elements whose text changes with every capture:
// dates, version and upload IDs (and the markers naming them).
var volatile = regexp.MustCompile(`<(LastModified|Initiated|CreationDate|VersionId|DeleteMarkerVersionId|NextVersionIdMarker|VersionIdMarker|UploadId|NextUploadIdMarker|UploadIdMarker)>[^<]*</`)

// maskCapture replaces the text of volatile elements with "…".
func maskCapture(body []byte) string {
	return volatile.ReplaceAllString(string(body), "<$1>…</")
}
