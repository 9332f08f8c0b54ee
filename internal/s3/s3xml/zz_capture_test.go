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

type capRT struct{ last []byte }

func (c *capRT) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.last = b
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func TestZZCapture(t *testing.T) {
	if os.Getenv("CAPTURE") == "" {
		t.Skip()
	}
	ctx := context.Background()
	rt := &capRT{}
	c := s3.New(s3.Options{BaseEndpoint: aws.String("http://127.0.0.1:19600"), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("minioadmin", "minioadmin", ""), HTTPClient: &http.Client{Transport: rt}})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"bkt", "secret-payroll", "zeta"} {
		_, _ = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("bkt"), VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	must(err)
	for _, k := range []string{"public/a.txt", "public/b c&d.txt", "public/sub/x", "public/€.txt", "secret/plans.txt", "secret/z+1.txt", "top.txt"} {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k), Body: strings.NewReader("hello " + k)})
		must(err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("secret/plans.txt"), Body: strings.NewReader("v2")})
	must(err)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("secret/old.txt")})
	must(err)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("public/b c&d.txt")})
	must(err)
	for _, k := range []string{"public/big.iso", "secret/big.iso"} {
		_, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(k)})
		must(err)
	}
	save := func(name string) {
		must(os.WriteFile(filepath.Join("testdata", "minio", name), rt.last, 0o644))
	}
	must(os.MkdirAll("testdata/minio", 0o755))
	b := aws.String("bkt")
	_, err = c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, MaxKeys: aws.Int32(4)})
	must(err)
	save("list-v1-truncated.xml")
	_, err = c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	must(err)
	save("list-v1-delimited.xml")
	_, err = c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, EncodingType: types.EncodingTypeUrl})
	must(err)
	save("list-v1-url.xml")
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	must(err)
	save("list-v2-delimited.xml")
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(5)})
	must(err)
	save("list-v2-truncated.xml")
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, EncodingType: types.EncodingTypeUrl})
	must(err)
	save("list-v2-url.xml")
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("nothing/")})
	must(err)
	save("list-v2-empty.xml")
	_, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(6)})
	must(err)
	save("versions-truncated.xml")
	_, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, Delimiter: aws.String("/")})
	must(err)
	save("versions-delimited.xml")
	_, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, EncodingType: types.EncodingTypeUrl})
	must(err)
	save("versions-url.xml")
	_, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	must(err)
	save("uploads.xml")
	_, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b, Delimiter: aws.String("/")})
	must(err)
	save("uploads-delimited.xml")
	_, err = c.ListBuckets(ctx, &s3.ListBucketsInput{})
	must(err)
	save("buckets.xml")
	_, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("public/a.txt")}, {Key: aws.String("public/sub/x"), VersionId: aws.String("nonexistent")}}}})
	must(err)
	save("delete-result.xml")
}
