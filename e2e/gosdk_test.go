package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/tags"
)

const (
	sdkSmallSize = 1 << 10
	sdkBigSize   = 64 << 20
)

// sdkData is the payload the Go SDK scenarios upload.
type sdkData struct {
	small, big []byte
	bigSum     string
}

func newSDKData() *sdkData {
	d := &sdkData{small: randomBytes(sdkSmallSize, 11), big: randomBytes(sdkBigSize, 12)}
	d.bigSum = sha256Hex(d.big)
	return d
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// awsSDKClient builds an aws-sdk-go-v2 S3 client without
// config.LoadDefaultConfig, so that nothing is read from the environment
// (AWS_CA_BUNDLE with a custom HTTP client makes LoadDefaultConfig fail
// with "unable to add custom RootCAs").
func awsSDKClient(lg *lakegateServer, endpoint string, pathStyle bool) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: pathStyle,
		Credentials:  credentials.NewStaticCredentialsProvider(lg.AdminKey, lg.AdminSecret, ""),
		HTTPClient:   lg.HTTPClient(),
	})
}

func minioGoClient(t testing.TB, lg *lakegateServer, hostport string, secure bool, lookup minio.BucketLookupType) *minio.Client {
	t.Helper()
	c, err := minio.New(hostport, &minio.Options{
		Creds:        miniocreds.NewStaticV4(lg.AdminKey, lg.AdminSecret, ""),
		Secure:       secure,
		Region:       region,
		Transport:    lg.Transport(),
		BucketLookup: lookup,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sdkCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// httpStatus extracts the HTTP status of an SDK error, 0 if none.
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestGoSDK(t *testing.T) {
	st := newStack(t, lakegateOptions{})
	data := newSDKData()
	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		for _, scheme := range []string{"http", "https"} {
			t.Run(scheme, func(t *testing.T) {
				ep, raw := st.LG.ProxyURL, st.LG.ProxyURL
				if scheme == "https" {
					ep, raw = st.LG.TLSURL, st.LG.TLSURL
				}
				awsSDKScenario(t, st, awsSDKClient(st.LG, ep, true), raw, data)
			})
		}
	})
	t.Run("minio-go", func(t *testing.T) {
		for _, scheme := range []string{"http", "https"} {
			t.Run(scheme, func(t *testing.T) {
				hostport, secure := st.LG.ProxyAddr, false
				if scheme == "https" {
					hostport, secure = st.LG.TLSAddr, true
				}
				first := st.Rec.Len()
				minioGoScenario(t, st, minioGoClient(t, st.LG, hostport, secure, minio.BucketLookupPath), data)
				modes := map[string]int{}
				for _, r := range st.Rec.Since(first) {
					if r.Method == http.MethodPut {
						modes[r.Header.Get("X-Amz-Content-Sha256")]++
					}
				}
				t.Logf("x-amz-content-sha256 of PUTs that reached MinIO: %v", modes)
			})
		}
	})
	assertResigned(t, st)
}

// TestGoSDKVirtualHost addresses buckets as <bucket>.s3.lakegate.localhost
// (proxy.base_domains); the upstream stays path style.
func TestGoSDKVirtualHost(t *testing.T) {
	skipInBaseline(t)
	st := newStack(t, lakegateOptions{BaseDomains: []string{baseDomain}})
	data := newSDKData()
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		for _, scheme := range []string{"http", "https"} {
			t.Run(scheme, func(t *testing.T) {
				addr := st.LG.ProxyAddr
				if scheme == "https" {
					addr = st.LG.TLSAddr
				}
				ep := scheme + "://" + baseDomain + ":" + port(addr)
				first := st.Rec.Len()
				awsSDKScenario(t, st, awsSDKClient(st.LG, ep, false), ep, data)
				for _, r := range st.Rec.Since(first) {
					if r.Path == "/" && r.Method != http.MethodGet {
						t.Errorf("upstream request without a bucket in its path: %s", r)
					}
				}
			})
		}
	})
	t.Run("minio-go", func(t *testing.T) {
		minioGoScenario(t, st, minioGoClient(t, st.LG, baseDomain+":"+port(st.LG.ProxyAddr), false, minio.BucketLookupDNS), data)
	})
	assertResigned(t, st)
}

// awsSDKScenario runs the object lifecycle with aws-sdk-go-v2. rawBase is
// the base URL for hand-signed requests (path style).
func awsSDKScenario(t *testing.T, st *stack, c *s3.Client, rawBase string, data *sdkData) {
	bucket := bucketName("sdk")
	b := aws.String(bucket)
	if !step(t, "make_bucket", func(t *testing.T) {
		if _, err := c.CreateBucket(sdkCtx(t, time.Minute), &s3.CreateBucketInput{Bucket: b}); err != nil {
			t.Fatal(err)
		}
		if !st.MinIO.bucketExists(t, bucket) {
			t.Fatalf("bucket %s not on MinIO", bucket)
		}
	}) {
		return
	}
	var smallETag string
	if !step(t, "put_1KiB", func(t *testing.T) {
		out, err := c.PutObject(sdkCtx(t, time.Minute), &s3.PutObjectInput{Bucket: b, Key: aws.String("small.bin"),
			Body: bytes.NewReader(data.small), ContentType: aws.String("application/x-test")})
		if err != nil {
			t.Fatal(err)
		}
		smallETag = aws.ToString(out.ETag)
		if want := `"` + md5Hex(data.small) + `"`; smallETag != want {
			t.Errorf("ETag %s, want %s", smallETag, want)
		}
	}) {
		return
	}
	step(t, "put_64MiB_multipart", func(t *testing.T) {
		tm := transfermanager.New(c, func(o *transfermanager.Options) {
			o.PartSizeBytes = 16 << 20
			o.MultipartUploadThreshold = 16 << 20
			o.Concurrency = 4
		})
		_, err := tm.UploadObject(sdkCtx(t, 10*time.Minute), &transfermanager.UploadObjectInput{
			Bucket: b, Key: aws.String("big.bin"), Body: bytes.NewReader(data.big)})
		if err != nil {
			t.Fatal(err)
		}
		o := st.MinIO.listKeys(t, bucket)["big.bin"]
		if o.Size != sdkBigSize || !strings.HasSuffix(o.ETag, "-4") {
			t.Errorf("big.bin on MinIO: size %d ETag %q, want %d bytes in 4 parts", o.Size, o.ETag, sdkBigSize)
		}
	})
	step(t, "list", func(t *testing.T) {
		out, err := c.ListObjectsV2(sdkCtx(t, time.Minute), &s3.ListObjectsV2Input{Bucket: b})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, o := range out.Contents {
			got[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
		if got["small.bin"] != sdkSmallSize || got["big.bin"] != sdkBigSize || len(got) != 2 {
			t.Errorf("listed %v", got)
		}
	})
	step(t, "get_full", func(t *testing.T) {
		for key, want := range map[string][]byte{"small.bin": data.small, "big.bin": data.big} {
			out, err := c.GetObject(sdkCtx(t, 5*time.Minute), &s3.GetObjectInput{Bucket: b, Key: aws.String(key)})
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			body, err := io.ReadAll(out.Body)
			_ = out.Body.Close()
			if err != nil {
				t.Fatalf("%s: reading: %v", key, err)
			}
			if sha256Hex(body) != sha256Hex(want) {
				t.Errorf("%s: got %d bytes that differ from the %d uploaded", key, len(body), len(want))
			}
		}
	})
	step(t, "get_range", func(t *testing.T) {
		out, err := c.GetObject(sdkCtx(t, time.Minute), &s3.GetObjectInput{Bucket: b, Key: aws.String("small.bin"),
			Range: aws.String("bytes=100-199")})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(out.Body)
		_ = out.Body.Close()
		if !bytes.Equal(body, data.small[100:200]) {
			t.Errorf("range body differs (%d bytes)", len(body))
		}
		if got := aws.ToString(out.ContentRange); got != "bytes 100-199/1024" {
			t.Errorf("Content-Range %q", got)
		}
		// The status, which the SDK hides, from a hand-signed request.
		req := newRawRequest(t, http.MethodGet, rawBase, "/"+bucket+"/small.bin", nil)
		if !strings.Contains(rawBase, "//"+bucket+".") && strings.Contains(rawBase, baseDomain) {
			req = newRawRequest(t, http.MethodGet, strings.Replace(rawBase, "://", "://"+bucket+".", 1), "/small.bin", nil)
		}
		req.Header.Set("Range", "bytes=1000-1023")
		signV4(t, req, st.LG.AdminKey, st.LG.AdminSecret, emptySHA256, time.Now())
		resp := doRaw(t, st.LG.HTTPClient(), req)
		if resp.Status != http.StatusPartialContent || !bytes.Equal(resp.Body, data.small[1000:]) {
			t.Errorf("raw range GET: status %d, %d bytes (want 206, 24 bytes): %s", resp.Status, len(resp.Body), tail(string(resp.Body), 500))
		}
	})
	step(t, "head", func(t *testing.T) {
		out, err := c.HeadObject(sdkCtx(t, time.Minute), &s3.HeadObjectInput{Bucket: b, Key: aws.String("small.bin")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt64(out.ContentLength) != sdkSmallSize || aws.ToString(out.ETag) != smallETag ||
			aws.ToString(out.ContentType) != "application/x-test" {
			t.Errorf("head: length %d ETag %s type %q", aws.ToInt64(out.ContentLength), aws.ToString(out.ETag), aws.ToString(out.ContentType))
		}
	})
	step(t, "copy_object", func(t *testing.T) {
		_, err := c.CopyObject(sdkCtx(t, time.Minute), &s3.CopyObjectInput{Bucket: b, Key: aws.String("copy.bin"),
			CopySource: aws.String(bucket + "/small.bin")})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.GetObject(sdkCtx(t, time.Minute), &s3.GetObjectInput{Bucket: b, Key: aws.String("copy.bin")})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(out.Body)
		_ = out.Body.Close()
		if !bytes.Equal(body, data.small) {
			t.Errorf("copy differs")
		}
	})
	step(t, "tagging", func(t *testing.T) {
		ctx := sdkCtx(t, time.Minute)
		_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: aws.String("small.bin"),
			Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("team"), Value: aws.String("lake gate")}}}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: aws.String("small.bin")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TagSet) != 1 || aws.ToString(out.TagSet[0].Key) != "team" || aws.ToString(out.TagSet[0].Value) != "lake gate" {
			t.Errorf("tags %+v", out.TagSet)
		}
	})
	step(t, "multipart_by_hand", func(t *testing.T) {
		ctx := sdkCtx(t, 5*time.Minute)
		key := aws.String("dir/multi part+key.bin")
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		parts := [][]byte{data.big[:5<<20], data.small}
		var done []types.CompletedPart
		for i, p := range parts {
			n := aws.Int32(int32(i + 1))
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: key, UploadId: cr.UploadId,
				PartNumber: n, Body: bytes.NewReader(p)})
			if err != nil {
				t.Fatalf("part %d: %v", i+1, err)
			}
			done = append(done, types.CompletedPart{PartNumber: n, ETag: up.ETag,
				ChecksumCRC32: up.ChecksumCRC32, ChecksumCRC32C: up.ChecksumCRC32C, ChecksumCRC64NVME: up.ChecksumCRC64NVME,
				ChecksumSHA1: up.ChecksumSHA1, ChecksumSHA256: up.ChecksumSHA256})
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: key, UploadId: cr.UploadId})
		if err != nil {
			t.Fatalf("list parts: %v", err)
		}
		if len(lp.Parts) != 2 {
			t.Errorf("ListParts: %d parts", len(lp.Parts))
		}
		if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: key,
			UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
			t.Fatalf("complete: %v", err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(out.Body)
		_ = out.Body.Close()
		if !bytes.Equal(body, append(append([]byte{}, parts[0]...), parts[1]...)) {
			t.Errorf("completed object differs (%d bytes)", len(body))
		}
		if !st.MinIO.objectExists(t, bucket, *key) {
			t.Errorf("%q not on MinIO", *key)
		}
	})
	step(t, "conditional_get", func(t *testing.T) {
		_, err := c.GetObject(sdkCtx(t, time.Minute), &s3.GetObjectInput{Bucket: b, Key: aws.String("small.bin"),
			IfNoneMatch: aws.String(smallETag)})
		if httpStatus(err) != http.StatusNotModified {
			t.Errorf("If-None-Match: want 304, got %v", err)
		}
		_, err = c.GetObject(sdkCtx(t, time.Minute), &s3.GetObjectInput{Bucket: b, Key: aws.String("small.bin"),
			IfMatch: aws.String(`"00000000000000000000000000000000"`)})
		if httpStatus(err) != http.StatusPreconditionFailed {
			t.Errorf("If-Match: want 412, got %v", err)
		}
	})
	step(t, "delete", func(t *testing.T) {
		ctx := sdkCtx(t, 2*time.Minute)
		for _, k := range []string{"small.bin", "big.bin", "copy.bin", "dir/multi part+key.bin"} {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String(k)}); err != nil {
				t.Errorf("delete %s: %v", k, err)
			}
		}
		if left := st.MinIO.listKeys(t, bucket); len(left) != 0 {
			t.Errorf("%d objects left on MinIO", len(left))
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
			t.Fatal(err)
		}
		if st.MinIO.bucketExists(t, bucket) {
			t.Errorf("bucket still on MinIO")
		}
	})
}

// onlyReader hides every interface but io.Reader, so that clients cannot
// seek or learn the size.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// minioGoScenario runs the object lifecycle with minio-go, which over plain
// http signs PUT bodies as STREAMING-AWS4-HMAC-SHA256-PAYLOAD chunks.
func minioGoScenario(t *testing.T, st *stack, c *minio.Client, data *sdkData) {
	bucket := bucketName("mgo")
	if !step(t, "make_bucket", func(t *testing.T) {
		if err := c.MakeBucket(sdkCtx(t, time.Minute), bucket, minio.MakeBucketOptions{Region: region}); err != nil {
			t.Fatal(err)
		}
	}) {
		return
	}
	var smallETag string
	if !step(t, "put_1KiB_known_size", func(t *testing.T) {
		info, err := c.PutObject(sdkCtx(t, time.Minute), bucket, "small.bin", onlyReader{bytes.NewReader(data.small)},
			int64(len(data.small)), minio.PutObjectOptions{ContentType: "application/x-test"})
		if err != nil {
			t.Fatal(err)
		}
		smallETag = info.ETag
	}) {
		return
	}
	step(t, "put_1KiB_unknown_size", func(t *testing.T) {
		_, err := c.PutObject(sdkCtx(t, time.Minute), bucket, "small-unknown.bin", onlyReader{bytes.NewReader(data.small)},
			-1, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
	})
	step(t, "put_64MiB_known_size", func(t *testing.T) {
		_, err := c.PutObject(sdkCtx(t, 10*time.Minute), bucket, "big.bin", onlyReader{bytes.NewReader(data.big)},
			int64(len(data.big)), minio.PutObjectOptions{PartSize: 16 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if o := st.MinIO.listKeys(t, bucket)["big.bin"]; o.Size != sdkBigSize || !strings.Contains(o.ETag, "-") {
			t.Errorf("big.bin on MinIO: size %d ETag %q", o.Size, o.ETag)
		}
	})
	step(t, "put_64MiB_unknown_size", func(t *testing.T) {
		_, err := c.PutObject(sdkCtx(t, 10*time.Minute), bucket, "big-unknown.bin", onlyReader{bytes.NewReader(data.big)},
			-1, minio.PutObjectOptions{PartSize: 16 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if o := st.MinIO.listKeys(t, bucket)["big-unknown.bin"]; o.Size != sdkBigSize {
			t.Errorf("big-unknown.bin on MinIO: size %d", o.Size)
		}
	})
	step(t, "list", func(t *testing.T) {
		got := map[string]int64{}
		for o := range c.ListObjects(sdkCtx(t, time.Minute), bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			got[o.Key] = o.Size
		}
		want := map[string]int64{"small.bin": sdkSmallSize, "small-unknown.bin": sdkSmallSize, "big.bin": sdkBigSize, "big-unknown.bin": sdkBigSize}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("listed %v, want %v", got, want)
		}
	})
	step(t, "get_full", func(t *testing.T) {
		for key, want := range map[string][]byte{"small.bin": data.small, "small-unknown.bin": data.small, "big.bin": data.big, "big-unknown.bin": data.big} {
			o, err := c.GetObject(sdkCtx(t, 5*time.Minute), bucket, key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(o)
			_ = o.Close()
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if sha256Hex(body) != sha256Hex(want) {
				t.Errorf("%s: %d bytes that differ from the %d uploaded", key, len(body), len(want))
			}
		}
	})
	step(t, "get_range", func(t *testing.T) {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(100, 199); err != nil {
			t.Fatal(err)
		}
		o, err := c.GetObject(sdkCtx(t, time.Minute), bucket, "big.bin", opts)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(o)
		_ = o.Close()
		if err != nil || !bytes.Equal(body, data.big[100:200]) {
			t.Errorf("range: %d bytes, err %v", len(body), err)
		}
	})
	step(t, "stat", func(t *testing.T) {
		info, err := c.StatObject(sdkCtx(t, time.Minute), bucket, "small.bin", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != sdkSmallSize || info.ETag != smallETag || info.ContentType != "application/x-test" {
			t.Errorf("stat: size %d ETag %s type %q (put ETag %s)", info.Size, info.ETag, info.ContentType, smallETag)
		}
	})
	step(t, "copy_object", func(t *testing.T) {
		_, err := c.CopyObject(sdkCtx(t, time.Minute), minio.CopyDestOptions{Bucket: bucket, Object: "copy.bin"},
			minio.CopySrcOptions{Bucket: bucket, Object: "small.bin"})
		if err != nil {
			t.Fatal(err)
		}
		if !st.MinIO.objectExists(t, bucket, "copy.bin") {
			t.Errorf("copy.bin not on MinIO")
		}
	})
	step(t, "tagging", func(t *testing.T) {
		ctx := sdkCtx(t, time.Minute)
		tg, err := tags.NewTags(map[string]string{"team": "lakegate"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PutObjectTagging(ctx, bucket, "small.bin", tg, minio.PutObjectTaggingOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetObjectTagging(ctx, bucket, "small.bin", minio.GetObjectTaggingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m := got.ToMap(); len(m) != 1 || m["team"] != "lakegate" {
			t.Errorf("tags %v", m)
		}
	})
	step(t, "multipart_by_hand", func(t *testing.T) {
		ctx := sdkCtx(t, 5*time.Minute)
		core := &minio.Core{Client: c}
		key := "dir/hand made.bin"
		id, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		parts := [][]byte{data.big[:5<<20], data.small}
		var done []minio.CompletePart
		for i, p := range parts {
			pi, err := core.PutObjectPart(ctx, bucket, key, id, i+1, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
			if err != nil {
				t.Fatalf("part %d: %v", i+1, err)
			}
			done = append(done, minio.CompletePart{PartNumber: i + 1, ETag: pi.ETag,
				ChecksumCRC32: pi.ChecksumCRC32, ChecksumCRC32C: pi.ChecksumCRC32C, ChecksumSHA1: pi.ChecksumSHA1,
				ChecksumSHA256: pi.ChecksumSHA256, ChecksumCRC64NVME: pi.ChecksumCRC64NVME})
		}
		if _, err := core.CompleteMultipartUpload(ctx, bucket, key, id, done, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("complete: %v", err)
		}
		if info, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{}); err != nil || info.Size != int64(5<<20+len(data.small)) {
			t.Errorf("stat after complete: %+v %v", info.Size, err)
		}
	})
	step(t, "conditional_get", func(t *testing.T) {
		opts := minio.GetObjectOptions{}
		if err := opts.SetMatchETagExcept(smallETag); err != nil {
			t.Fatal(err)
		}
		o, err := c.GetObject(sdkCtx(t, time.Minute), bucket, "small.bin", opts)
		if err == nil {
			_, err = o.Stat()
			_ = o.Close()
		}
		if resp := minio.ToErrorResponse(err); resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: want 304, got %v (%+v)", err, resp)
		}
	})
	step(t, "delete", func(t *testing.T) {
		ctx := sdkCtx(t, 2*time.Minute)
		for _, k := range []string{"small.bin", "small-unknown.bin", "big.bin", "big-unknown.bin", "copy.bin", "dir/hand made.bin"} {
			if err := c.RemoveObject(ctx, bucket, k, minio.RemoveObjectOptions{}); err != nil {
				t.Errorf("remove %s: %v", k, err)
			}
		}
		if left := st.MinIO.listKeys(t, bucket); len(left) != 0 {
			t.Errorf("%d objects left on MinIO", len(left))
		}
		if err := c.RemoveBucket(ctx, bucket); err != nil {
			t.Fatal(err)
		}
		if st.MinIO.bucketExists(t, bucket) {
			t.Errorf("bucket still on MinIO")
		}
	})
}
