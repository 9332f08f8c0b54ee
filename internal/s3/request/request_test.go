package request

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3name"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

func TestParse(t *testing.T) {
	base := []string{"s3.lakegate.test"}
	tests := []struct {
		name            string
		method, target  string
		host            string
		header          http.Header
		bucket, key, hb string
		op              Operation
		wantCode        string
	}{
		{name: "list buckets", method: "GET", target: "/", op: "ListBuckets"},
		{name: "path style get", method: "GET", target: "/bk1/a/b.txt", bucket: "bk1", key: "a/b.txt", op: "GetObject"},
		{name: "encoded key decoded", method: "GET", target: "/bk1/a%2Fb%20c", bucket: "bk1", key: "a/b c", op: "GetObject"},
		{name: "key keeps double slash", method: "GET", target: "/bk1/a//b", bucket: "bk1", key: "a//b", op: "GetObject"},
		{name: "dot dot segment refused", method: "GET", target: "/bk1/a/%2E%2E/b", wantCode: "InvalidArgument"},
		{name: "dot segment refused", method: "GET", target: "/bk1/./b", wantCode: "InvalidArgument"},
		{name: "dots inside names kept", method: "GET", target: "/bk1/a..b/.c/d.", bucket: "bk1", key: "a..b/.c/d.", op: "GetObject"},
		{name: "virtual host", method: "GET", target: "/k", host: "bk1.s3.lakegate.test:5010", bucket: "bk1", key: "k", hb: "bk1", op: "GetObject"},
		{name: "virtual host bucket level", method: "GET", target: "/?list-type=2", host: "bk1.s3.lakegate.test", bucket: "bk1", hb: "bk1", op: "ListObjectsV2"},
		{name: "base domain itself is path style", method: "GET", target: "/bk1/k", host: "s3.lakegate.test", bucket: "bk1", key: "k", op: "GetObject"},
		{name: "unknown host is path style", method: "GET", target: "/bk1/k", host: "b2.example.com", bucket: "bk1", key: "k", op: "GetObject"},
		{name: "list v1", method: "GET", target: "/bk1?prefix=a", bucket: "bk1", op: "ListObjects"},
		{name: "list v2 trailing slash", method: "GET", target: "/bk1/?list-type=2", bucket: "bk1", op: "ListObjectsV2"},
		{name: "location", method: "GET", target: "/bk1?location", bucket: "bk1", op: "GetBucketLocation"},
		{name: "versions", method: "GET", target: "/bk1?versions", bucket: "bk1", op: "ListObjectVersions"},
		{name: "uploads", method: "GET", target: "/bk1?uploads", bucket: "bk1", op: "ListMultipartUploads"},
		{name: "bucket tagging", method: "PUT", target: "/bk1?tagging", bucket: "bk1", op: "PutBucketTagging"},
		{name: "bucket policy delete", method: "DELETE", target: "/bk1?policy", bucket: "bk1", op: "DeleteBucketPolicy"},
		{name: "create bucket", method: "PUT", target: "/bk1", bucket: "bk1", op: "CreateBucket"},
		{name: "head bucket", method: "HEAD", target: "/bk1", bucket: "bk1", op: "HeadBucket"},
		{name: "delete bucket", method: "DELETE", target: "/bk1", bucket: "bk1", op: "DeleteBucket"},
		{name: "multi delete", method: "POST", target: "/bk1?delete", bucket: "bk1", op: "DeleteObjects"},
		{name: "put object", method: "PUT", target: "/bk1/k", bucket: "bk1", key: "k", op: "PutObject"},
		{name: "copy object", method: "PUT", target: "/bk1/k", header: http.Header{"X-Amz-Copy-Source": {"/b2/src"}}, bucket: "bk1", key: "k", op: "CopyObject"},
		{name: "upload part", method: "PUT", target: "/bk1/k?partNumber=1&uploadId=u", bucket: "bk1", key: "k", op: "UploadPart"},
		{name: "upload part copy", method: "PUT", target: "/bk1/k?partNumber=1&uploadId=u", header: http.Header{"X-Amz-Copy-Source": {"/b2/src"}}, bucket: "bk1", key: "k", op: "UploadPartCopy"},
		{name: "create multipart", method: "POST", target: "/bk1/k?uploads", bucket: "bk1", key: "k", op: "CreateMultipartUpload"},
		{name: "complete multipart", method: "POST", target: "/bk1/k?uploadId=u", bucket: "bk1", key: "k", op: "CompleteMultipartUpload"},
		{name: "abort multipart", method: "DELETE", target: "/bk1/k?uploadId=u", bucket: "bk1", key: "k", op: "AbortMultipartUpload"},
		{name: "list parts", method: "GET", target: "/bk1/k?uploadId=u", bucket: "bk1", key: "k", op: "ListParts"},
		{name: "object tagging", method: "GET", target: "/bk1/k?tagging", bucket: "bk1", key: "k", op: "GetObjectTagging"},
		{name: "delete object tagging", method: "DELETE", target: "/bk1/k?tagging", bucket: "bk1", key: "k", op: "DeleteObjectTagging"},
		{name: "head object", method: "HEAD", target: "/bk1/k", bucket: "bk1", key: "k", op: "HeadObject"},
		{name: "select", method: "POST", target: "/bk1/k?select&select-type=2", bucket: "bk1", key: "k", op: "SelectObjectContent"},
		{name: "post object unknown", method: "POST", target: "/bk1/k", wantCode: "MethodNotAllowed"},
		{name: "service put unknown", method: "PUT", target: "/", wantCode: "NotImplemented"},
		{name: "bad list type", method: "GET", target: "/bk1?list-type=3", wantCode: "NotImplemented"},
		{name: "retention with upload id", method: "PUT", target: "/bk1/k?retention&uploadId=x", wantCode: "InvalidArgument"},
		{name: "acl with tagging", method: "GET", target: "/bk1/k?acl&tagging", wantCode: "InvalidArgument"},
		{name: "restore with select", method: "POST", target: "/bk1/k?restore&select&select-type=2", wantCode: "InvalidArgument"},
		{name: "unknown sub-resource session", method: "GET", target: "/bk1?session", wantCode: "NotImplemented"},
		{name: "unknown sub-resource on object", method: "PUT", target: "/bk1/k?renameObject", wantCode: "NotImplemented"},
		{name: "ceph append", method: "PUT", target: "/bk1/k?append&position=0", wantCode: "NotImplemented"},
		{name: "unknown parameter", method: "GET", target: "/bk1/k?frobnicate=1", wantCode: "NotImplemented"},
		{name: "rename source header", method: "PUT", target: "/bk1/k", header: http.Header{"X-Amz-Rename-Source": {"/bk1/x"}}, wantCode: "NotImplemented"},
		{name: "minio vendor header", method: "GET", target: "/bk1/k", header: http.Header{"X-Minio-Extract": {"true"}}, wantCode: "NotImplemented"},
		{name: "duplicated x-amz header", method: "PUT", target: "/bk1/k", header: http.Header{"X-Amz-Copy-Source": {"/b2/a", "/b2/b"}}, wantCode: "InvalidArgument"},
		{name: "header and hoisted header", method: "PUT", target: "/bk1/k?X-Amz-Acl=private", header: http.Header{"X-Amz-Acl": {"private"}}, wantCode: "InvalidArgument"},
		{name: "hoisted header twice in two spellings", method: "PUT", target: "/bk1/k?X-Amz-Acl=private&x-amz-acl=private", wantCode: "InvalidArgument"},
		{name: "part number without upload", method: "PUT", target: "/bk1/k?partNumber=1", wantCode: "NotImplemented"},
		{name: "upload id without part number", method: "PUT", target: "/bk1/k?uploadId=u", wantCode: "InvalidArgument"},
		{name: "copy source on a sub-resource", method: "PUT", target: "/bk1/k?tagging", header: http.Header{"X-Amz-Copy-Source": {"/b2/a"}}, wantCode: "NotImplemented"},
		{name: "get part of object", method: "GET", target: "/bk1/k?partNumber=2&versionId=v", bucket: "bk1", key: "k", op: "GetObject"},
		{name: "repeated any parameter refused", method: "GET", target: "/bk1/k?response-content-type=a&response-content-type=b", wantCode: "InvalidArgument"},
		{name: "repeated prefix refused", method: "GET", target: "/bk1?prefix=a&prefix=b", wantCode: "InvalidArgument"},
		{name: "repeated uploadId refused", method: "PUT", target: "/bk1/k?partNumber=1&uploadId=a&uploadId=b", wantCode: "InvalidArgument"},
		{name: "bucket with slash dots refused", method: "GET", target: "/../k", wantCode: "InvalidBucketName"},
		{name: "short bucket refused", method: "GET", target: "/ab/k", wantCode: "InvalidBucketName"},
		{name: "bad vhost bucket refused", method: "GET", target: "/k", host: "a..b.s3.lakegate.test", wantCode: "InvalidBucketName"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			for k, v := range tc.header {
				r.Header[k] = v
			}
			got, err := Parse(r, base)
			if tc.wantCode != "" {
				var e *s3err.Error
				if !errors.As(err, &e) || e.Code != tc.wantCode {
					t.Fatalf("err = %v, want code %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Bucket != tc.bucket || got.Key != tc.key || got.HostBucket != tc.hb || got.Operation != tc.op {
				t.Errorf("got bucket=%q key=%q hostBucket=%q op=%q, want %q %q %q %q",
					got.Bucket, got.Key, got.HostBucket, got.Operation, tc.bucket, tc.key, tc.hb, tc.op)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/", "/bk1/k", "/bk1?list-type=2&prefix=a", "/bk1/k?uploadId=x&partNumber=2", "/%2e%2e/x", "/bk1//a/./b",
		"/bk1/k?retention&uploadId=x", "/bk1?session", "/bk1/k?x-amz-acl=private&X-Amz-Acl=x", "/bk1?versions&uploads"} {
		f.Add("GET", s, "bk1.s3.test")
	}
	f.Fuzz(func(t *testing.T, method, target, host string) {
		r, err := http.NewRequest(method, "http://x"+target, nil)
		if err != nil {
			return
		}
		r.Host = host
		got, err := Parse(r, []string{"s3.test"})
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) {
				t.Fatalf("non-S3 error %v", err)
			}
			return
		}
		if got.Key != "" && got.Bucket == "" {
			t.Fatalf("key %q without bucket", got.Key)
		}
		if got.Bucket != "" && !s3name.ValidBucket(got.Bucket) {
			t.Fatalf("invalid bucket %q accepted", got.Bucket)
		}
		// An accepted request is one row of the allowlist, and all of its
		// parameters are the row's (or authentication).
		if specOf(got.Operation) == nil {
			t.Fatalf("operation %q has no row", got.Operation)
		}
		for name, vals := range got.Query {
			if len(vals) != 1 {
				t.Fatalf("parameter %q repeated", name)
			}
			if !ForwardQueryParam(got.Operation, name) && !sigv4.IsAuthQueryParam(name) {
				t.Fatalf("%s accepted parameter %q it does not forward", got.Operation, name)
			}
		}
	})
}
