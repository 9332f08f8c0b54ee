package e2e

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// The adversarial suite's table-driven section (issue 12): every query
// parameter and x-amz-* header of the S3 API reference (the operations'
// HTTP bindings in the AWS SDK's S3 model), MinIO's extensions and Ceph
// RGW's, is sent to every operation class by a user granted SELECT,
// INSERT, SHOW and DELETE on s3://L/public/ of an object-lock bucket, at a
// key inside the grant and one outside. What is checked is the backend's
// state, not the status (which is logged): nothing outside public/
// changes, no object gains retention, a legal hold or an ACL, no locked
// version goes, the bucket's configuration stays, no hidden content is
// copied into the grant, and no response shows hidden data.
//
// To stay fast the state is read only when the recorder saw a request
// that could change it (anything but GET and HEAD), and restored only
// when it changed.

// tableItem is one parameter or header with a value that makes it bite.
// Values may hold {vid} (the target's fixture version), {upload} (its
// fixture upload), {hidden} (a copy source outside the grant), {until}
// (a retain-until date) and {bucket}.
type tableItem struct {
	source string // aws, minio, ceph
	query  bool   // a query parameter, else a header
	name   string
	value  string
	// extra headers and query (name, value pairs) that the item needs to
	// take effect, e.g. a retain-until date with a lock mode.
	extraHeader []string
	extraQuery  []string
	// tarBody replaces a PUT body with a tar archive whose members lie
	// outside the grant.
	tarBody bool
	// lockedTarget sends the item's requests inside the grant to the
	// governance-locked key instead of the plain one.
	lockedTarget bool
}

func (it tableItem) String() string {
	kind := "header"
	if it.query {
		kind = "query"
	}
	return it.source + "_" + kind + "_" + it.name
}

// awsQueryParams are the query parameters of the S3 API reference: every
// operation's sub-resource and every parameter bound to the query
// (aws-sdk-go-v2 service/s3 serializers, which follow the API model).
var awsQueryParams = []tableItem{
	// Operation-selecting sub-resources.
	{name: "abac"}, {name: "accelerate"}, {name: "acl"}, {name: "analytics"}, {name: "annotation"},
	{name: "attributes"}, {name: "cors"}, {name: "delete"}, {name: "encryption"}, {name: "intelligent-tiering"},
	{name: "inventory"}, {name: "legal-hold"}, {name: "lifecycle"}, {name: "list-type", value: "2"}, {name: "location"},
	{name: "logging"}, {name: "metadataAnnotationTable"}, {name: "metadataConfiguration"}, {name: "metadataInventoryTable"},
	{name: "metadataJournalTable"}, {name: "metadataTable"}, {name: "metrics"}, {name: "notification"},
	{name: "object-lock"}, {name: "ownershipControls"}, {name: "policy"}, {name: "policyStatus"},
	{name: "publicAccessBlock"}, {name: "renameObject", extraHeader: []string{"X-Amz-Rename-Source", "{hidden}"}},
	{name: "replication"}, {name: "requestPayment"}, {name: "restore"}, {name: "retention"}, {name: "select"},
	{name: "select-type", value: "2"}, {name: "session"}, {name: "tagging"}, {name: "torrent"}, {name: "uploads"},
	{name: "versioning"}, {name: "versions"}, {name: "website"}, {name: "x-id", value: "PutObjectRetention"},
	// Parameters.
	{name: "annotation-prefix", value: "secret/"}, {name: "annotationName", value: "a"}, {name: "bucket-region", value: region},
	{name: "continuation-token", value: "c2VjcmV0L291dC50eHQ="}, {name: "delimiter", value: "/"},
	{name: "encoding-type", value: "url"}, {name: "fetch-owner", value: "true"}, {name: "id", value: "x"},
	{name: "key-marker", value: "secret/"}, {name: "marker", value: "secret/"}, {name: "max-annotation-results", value: "1"},
	{name: "max-buckets", value: "1"}, {name: "max-directory-buckets", value: "1"}, {name: "max-keys", value: "1"},
	{name: "max-parts", value: "1"}, {name: "max-uploads", value: "1"}, {name: "part-number-marker", value: "0"},
	{name: "partNumber", value: "1"}, {name: "prefix", value: "secret/"},
	{name: "response-cache-control", value: "no-cache"}, {name: "response-content-disposition", value: "attachment"},
	{name: "response-content-encoding", value: "gzip"}, {name: "response-content-language", value: "en"},
	{name: "response-content-type", value: "text/html"}, {name: "response-expires", value: "Thu, 01 Dec 2094 16:00:00 GMT"},
	{name: "start-after", value: "secret/"}, {name: "upload-id-marker", value: "{upload}"}, {name: "uploadId", value: "{upload}"},
	{name: "version-id-marker", value: "{vid}"}, {name: "versionId", value: "{vid}"},
	// Presigned-URL parameters mixed into a header-signed request.
	{name: "X-Amz-Algorithm", value: "AWS4-HMAC-SHA256"}, {name: "X-Amz-Expires", value: "60"},
	{name: "X-Amz-Security-Token", value: "junk"},
}

// awsHeaders are the x-amz-* request headers of the S3 API reference (the
// same model), with values that change what an operation does.
var awsHeaders = []tableItem{
	{name: "X-Amz-Acl", value: "public-read-write"},
	{name: "X-Amz-Bucket-Namespace", value: "account-regional"},
	{name: "X-Amz-Bucket-Object-Lock-Enabled", value: "true"},
	{name: "X-Amz-Bucket-Object-Lock-Token", value: "token"},
	{name: "X-Amz-Bypass-Governance-Retention", value: "true", extraQuery: []string{"versionId", "{vid}"}, lockedTarget: true},
	{name: "X-Amz-Checksum-Algorithm", value: "SHA256"},
	{name: "X-Amz-Checksum-Crc32", value: "AAAAAA=="},
	{name: "X-Amz-Checksum-Crc32c", value: "AAAAAA=="},
	{name: "X-Amz-Checksum-Crc64nvme", value: "AAAAAAAAAAA="},
	{name: "X-Amz-Checksum-Md5", value: "AAAAAAAAAAAAAAAAAAAAAA=="},
	{name: "X-Amz-Checksum-Mode", value: "ENABLED"},
	{name: "X-Amz-Checksum-Sha1", value: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
	{name: "X-Amz-Checksum-Sha256", value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
	{name: "X-Amz-Checksum-Sha512", value: "AAAA"},
	{name: "X-Amz-Checksum-Type", value: "COMPOSITE"},
	{name: "X-Amz-Checksum-Xxhash128", value: "AAAA"},
	{name: "X-Amz-Checksum-Xxhash3", value: "AAAA"},
	{name: "X-Amz-Checksum-Xxhash64", value: "AAAA"},
	{name: "X-Amz-Client-Token", value: "token"},
	{name: "X-Amz-Confirm-Remove-Self-Bucket-Access", value: "true"},
	{name: "X-Amz-Copy-Source", value: "{hidden}"},
	{name: "X-Amz-Copy-Source-If-Match", value: `"x"`},
	{name: "X-Amz-Copy-Source-If-Modified-Since", value: "Mon, 01 Jan 2001 00:00:00 GMT"},
	{name: "X-Amz-Copy-Source-If-None-Match", value: `"x"`},
	{name: "X-Amz-Copy-Source-If-Unmodified-Since", value: "Mon, 01 Jan 2001 00:00:00 GMT"},
	{name: "X-Amz-Copy-Source-Range", value: "bytes=0-3"},
	{name: "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm", value: "AES256"},
	{name: "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key", value: "MzJieXRlc2xvbmdzZWNyZXRrZXltdXN0cHJvdmlkZWQ="},
	{name: "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-Md5", value: "7PpPLAK26ONlVUGOWlusfg=="},
	{name: "X-Amz-Create-Session-Mode", value: "ReadWrite"},
	{name: "X-Amz-Expected-Bucket-Owner", value: "123456789012"},
	{name: "X-Amz-Fwd-Error-Code", value: "AccessDenied"},
	{name: "X-Amz-Fwd-Error-Message", value: "x"},
	{name: "X-Amz-Fwd-Header-Accept-Ranges", value: "bytes"},
	{name: "X-Amz-Fwd-Header-Cache-Control", value: "no-cache"},
	{name: "X-Amz-Fwd-Header-Content-Disposition", value: "attachment"},
	{name: "X-Amz-Fwd-Header-Content-Encoding", value: "gzip"},
	{name: "X-Amz-Fwd-Header-Content-Language", value: "en"},
	{name: "X-Amz-Fwd-Header-Content-Range", value: "bytes 0-1/2"},
	{name: "X-Amz-Fwd-Header-Content-Type", value: "text/html"},
	{name: "X-Amz-Fwd-Header-Etag", value: `"x"`},
	{name: "X-Amz-Fwd-Header-Expires", value: "Thu, 01 Dec 2094 16:00:00 GMT"},
	{name: "X-Amz-Fwd-Header-Last-Modified", value: "Mon, 01 Jan 2001 00:00:00 GMT"},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Crc32", value: "AAAAAA=="},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Crc32c", value: "AAAAAA=="},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Crc64nvme", value: "AAAAAAAAAAA="},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Md5", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Sha1", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Sha256", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Sha512", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Xxhash128", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Xxhash3", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Checksum-Xxhash64", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Delete-Marker", value: "true"},
	{name: "X-Amz-Fwd-Header-X-Amz-Expiration", value: "x"},
	{name: "X-Amz-Fwd-Header-X-Amz-Missing-Meta", value: "1"},
	{name: "X-Amz-Fwd-Header-X-Amz-Mp-Parts-Count", value: "1"},
	{name: "X-Amz-Fwd-Header-X-Amz-Object-Lock-Legal-Hold", value: "ON"},
	{name: "X-Amz-Fwd-Header-X-Amz-Object-Lock-Mode", value: "COMPLIANCE"},
	{name: "X-Amz-Fwd-Header-X-Amz-Object-Lock-Retain-Until-Date", value: "{until}"},
	{name: "X-Amz-Fwd-Header-X-Amz-Replication-Status", value: "COMPLETED"},
	{name: "X-Amz-Fwd-Header-X-Amz-Request-Charged", value: "requester"},
	{name: "X-Amz-Fwd-Header-X-Amz-Restore", value: `ongoing-request="false"`},
	{name: "X-Amz-Fwd-Header-X-Amz-Server-Side-Encryption", value: "AES256"},
	{name: "X-Amz-Fwd-Header-X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", value: "k"},
	{name: "X-Amz-Fwd-Header-X-Amz-Server-Side-Encryption-Bucket-Key-Enabled", value: "true"},
	{name: "X-Amz-Fwd-Header-X-Amz-Server-Side-Encryption-Customer-Algorithm", value: "AES256"},
	{name: "X-Amz-Fwd-Header-X-Amz-Server-Side-Encryption-Customer-Key-Md5", value: "AAAA"},
	{name: "X-Amz-Fwd-Header-X-Amz-Storage-Class", value: "GLACIER"},
	{name: "X-Amz-Fwd-Header-X-Amz-Tagging-Count", value: "1"},
	{name: "X-Amz-Fwd-Header-X-Amz-Version-Id", value: "{vid}"},
	{name: "X-Amz-Fwd-Status", value: "200"},
	{name: "X-Amz-Grant-Full-Control", value: `uri="http://acs.amazonaws.com/groups/global/AllUsers"`},
	{name: "X-Amz-Grant-Read", value: `uri="http://acs.amazonaws.com/groups/global/AllUsers"`},
	{name: "X-Amz-Grant-Read-Acp", value: `uri="http://acs.amazonaws.com/groups/global/AllUsers"`},
	{name: "X-Amz-Grant-Write", value: `uri="http://acs.amazonaws.com/groups/global/AllUsers"`},
	{name: "X-Amz-Grant-Write-Acp", value: `uri="http://acs.amazonaws.com/groups/global/AllUsers"`},
	{name: "X-Amz-If-Match-Initiated-Time", value: "Mon, 01 Jan 2001 00:00:00 GMT"},
	{name: "X-Amz-If-Match-Last-Modified-Time", value: "Mon, 01 Jan 2001 00:00:00 GMT"},
	{name: "X-Amz-If-Match-Size", value: "1"},
	{name: "X-Amz-Max-Parts", value: "1"},
	{name: "X-Amz-Meta-Foo", value: "bar"},
	{name: "X-Amz-Metadata-Directive", value: "REPLACE"},
	{name: "X-Amz-Mfa", value: "arn:aws:iam::123456789012:mfa/x 123456"},
	{name: "X-Amz-Mp-Object-Size", value: "4"},
	{name: "X-Amz-Object-Annotation-Directive", value: "REPLACE"},
	{name: "X-Amz-Object-Attributes", value: "ETag,ObjectSize"},
	{name: "X-Amz-Object-If-Match", value: `"x"`},
	{name: "X-Amz-Object-Lock-Legal-Hold", value: "ON"},
	{name: "X-Amz-Object-Lock-Mode", value: "GOVERNANCE", extraHeader: []string{"X-Amz-Object-Lock-Retain-Until-Date", "{until}"}},
	{name: "X-Amz-Object-Lock-Retain-Until-Date", value: "{until}"},
	{name: "X-Amz-Object-Ownership", value: "BucketOwnerPreferred"},
	{name: "X-Amz-Optional-Object-Attributes", value: "RestoreStatus"},
	{name: "X-Amz-Part-Number-Marker", value: "0"},
	{name: "X-Amz-Rename-Source", value: "{hidden}"},
	{name: "X-Amz-Rename-Source-If-Match", value: `"x"`},
	{name: "X-Amz-Rename-Source-If-Modified-Since", value: "Mon, 01 Jan 2001 00:00:00 GMT"},
	{name: "X-Amz-Rename-Source-If-None-Match", value: `"x"`},
	{name: "X-Amz-Rename-Source-If-Unmodified-Since", value: "Mon, 01 Jan 2001 00:00:00 GMT"},
	{name: "X-Amz-Request-Payer", value: "requester"},
	{name: "X-Amz-Request-Route", value: "route"},
	{name: "X-Amz-Request-Token", value: "token"},
	{name: "X-Amz-Sdk-Checksum-Algorithm", value: "CRC32"},
	{name: "X-Amz-Server-Side-Encryption", value: "AES256"},
	{name: "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", value: "key"},
	{name: "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled", value: "true"},
	{name: "X-Amz-Server-Side-Encryption-Context", value: "e30="},
	{name: "X-Amz-Server-Side-Encryption-Customer-Algorithm", value: "AES256"},
	{name: "X-Amz-Server-Side-Encryption-Customer-Key", value: "MzJieXRlc2xvbmdzZWNyZXRrZXltdXN0cHJvdmlkZWQ="},
	{name: "X-Amz-Server-Side-Encryption-Customer-Key-Md5", value: "7PpPLAK26ONlVUGOWlusfg=="},
	{name: "X-Amz-Skip-Destination-Validation", value: "true"},
	{name: "X-Amz-Source-Expected-Bucket-Owner", value: "123456789012"},
	{name: "X-Amz-Storage-Class", value: "REDUCED_REDUNDANCY"},
	{name: "X-Amz-Tagging", value: "owner=mallory"},
	{name: "X-Amz-Tagging-Directive", value: "REPLACE"},
	{name: "X-Amz-Transition-Default-Minimum-Object-Size", value: "all_storage_classes_128K"},
	{name: "X-Amz-Website-Redirect-Location", value: "/secret/out.txt"},
	{name: "X-Amz-Write-Offset-Bytes", value: "0"},
	// Common request headers of the reference, outside the model's
	// bindings (the signer's own are set by the client).
	{name: "X-Amz-Decoded-Content-Length", value: "4"},
	{name: "X-Amz-Trailer", value: "x-amz-checksum-crc32"},
	{name: "X-Amz-Security-Token", value: "junk"},
}

// minioItems are MinIO's extensions (internal/http/headers.go,
// cmd/api-router.go of minio).
var minioItems = []tableItem{
	{name: "X-Amz-Meta-Snowball-Auto-Extract", value: "true", tarBody: true},
	{name: "X-Amz-Meta-Minio-Snowball-Prefix", value: "secret", tarBody: true,
		extraHeader: []string{"X-Amz-Meta-Snowball-Auto-Extract", "true"}},
	{name: "X-Amz-Meta-Minio-Snowball-Ignore-Dirs", value: "true", tarBody: true},
	{name: "X-Amz-Meta-Minio-Snowball-Ignore-Errors", value: "true", tarBody: true},
	{name: "X-Minio-Extract", value: "true"},
	{name: "X-Minio-Source-Mtime", value: "2001-01-01T00:00:00Z"},
	{name: "X-Minio-Source-Etag", value: "00000000000000000000000000000000"},
	{name: "X-Minio-Force-Delete", value: "true"},
	{name: "X-Minio-Force-Create", value: "true"},
	{name: "X-Minio-Source-Proxy-Request", value: "true"},
	{name: "X-Minio-Source-Replication-Request", value: "true"},
	{name: "X-Minio-Source-Replication-Check", value: "true"},
	{name: "X-Minio-Source-Deletemarker", value: "true"},
	{name: "X-Minio-Source-Deletemarker-Delete", value: "true"},
	{name: "X-Minio-Source-Replication-Retention-Timestamp", value: "2001-01-01T00:00:00Z"},
	{name: "X-Minio-Source-Replication-Legalhold-Timestamp", value: "2001-01-01T00:00:00Z"},
	{name: "X-Minio-Source-Replication-Tagging-Timestamp", value: "2001-01-01T00:00:00Z"},
	{name: "X-Minio-Replication-Delete-Status", value: "COMPLETED"},
	{name: "X-Minio-Replication-Deletemarker-Status", value: "COMPLETED"},
	{name: "X-Minio-Internal-Compression", value: "klauspost/compress/s2"},
	{name: "X-Minio-Internal-Actual-Size", value: "1"},
	{name: "X-Amz-Meta-Minio-Object-Perf", value: "true"},
	{query: true, name: "metadata", value: "true"},
	{query: true, name: "events", value: "s3:ObjectCreated:*"},
	{query: true, name: "ping", value: "1"},
	{query: true, name: "lambdaArn", value: "arn:minio:s3-object-lambda::x:webhook"},
	{query: true, name: "replication-check"},
	{query: true, name: "replication-metrics"},
	{query: true, name: "replication-reset", extraQuery: []string{"older-than", "1h"}},
	{query: true, name: "replication-reset-status"},
	{query: true, name: "older-than", value: "1h"},
	{query: true, name: "reset-id", value: "x"},
	{query: true, name: "withUpdatedAt", value: "true"},
	{query: true, name: "arn", value: "arn:minio:replication::x:y"},
	{query: true, name: "suffix", value: ".txt"},
}

// cephItems are Ceph RGW's extensions (append, metadata search, usage,
// multisite parameters, x-rgw-* headers).
var cephItems = []tableItem{
	{query: true, name: "append", extraQuery: []string{"position", "0"}},
	{query: true, name: "position", value: "0"},
	{query: true, name: "usage"},
	{query: true, name: "mdsearch", value: "x-amz-meta-foo==bar"},
	{query: true, name: "allow-unordered", value: "true"},
	{query: true, name: "rgwx-uid", value: "admin"},
	{query: true, name: "rgwx-zonegroup", value: "default"},
	{query: true, name: "rgwx-source-zone", value: "default"},
	{query: true, name: "rgwx-copy-if-newer", value: "true"},
	{query: true, name: "rgwx-skip-decrypt", value: "true"},
	{query: true, name: "rgwx-prepend-metadata", value: "true"},
	{query: true, name: "rgwx-stat", value: "true"},
	{query: true, name: "rgwx-sync-manifest", value: "true"},
	{name: "X-Rgw-Object-Type", value: "Appendable"},
	{name: "X-Rgw-Next-Append-Position", value: "0"},
	{name: "X-Rgw-Storage-Class", value: "COLD"},
	{name: "X-Amz-Meta-Search", value: "x-amz-meta-foo; string"},
}

// allTableItems is the whole table, each item tagged with its source.
func allTableItems() []tableItem {
	var out []tableItem
	add := func(source string, query bool, items []tableItem) {
		for _, it := range items {
			it.source = source
			if query {
				it.query = true
			}
			out = append(out, it)
		}
	}
	add("aws", true, awsQueryParams)
	add("aws", false, awsHeaders)
	add("minio", false, minioItems)
	add("ceph", false, cephItems)
	return out
}

// tableClass is an operation class: the request a client would send,
// at key (inside or outside the grant).
type tableClass struct {
	name string
	// bucketLevel classes take no key and run once per item.
	bucketLevel bool
	build       func(tw *tableWorld, key string) rawReq
}

var tableClasses = []tableClass{
	{name: "get_object", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodGet, Path: tw.path(key)}
	}},
	{name: "head_object", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodHead, Path: tw.path(key)}
	}},
	{name: "put_object", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodPut, Path: tw.path(key), Body: []byte("table put")}
	}},
	{name: "create_upload", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodPost, Path: tw.path(key), Query: "uploads="}
	}},
	{name: "upload_part", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodPut, Path: tw.path(key), Query: "partNumber=1&uploadId=" + url.QueryEscape(tw.uploads[key]),
			Body: []byte("table part")}
	}},
	{name: "complete_upload", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodPost, Path: tw.path(key), Query: "uploadId=" + url.QueryEscape(tw.uploads[key]),
			Body: []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"00000000000000000000000000000000"</ETag></Part></CompleteMultipartUpload>`)}
	}},
	{name: "copy_object", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodPut, Path: tw.path(key), Header: headerOf("X-Amz-Copy-Source", "/"+tw.b+"/public/src.txt")}
	}},
	{name: "delete_object", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodDelete, Path: tw.path(key)}
	}},
	{name: "delete_objects", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodPost, Path: "/" + tw.b, Query: "delete=", Body: deleteObjectsBody(key)}
	}},
	{name: "list_v1", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodGet, Path: "/" + tw.b, Query: "prefix=" + url.QueryEscape(dirOf(key))}
	}},
	{name: "list_v2", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodGet, Path: "/" + tw.b, Query: "list-type=2&prefix=" + url.QueryEscape(dirOf(key))}
	}},
	{name: "list_versions", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodGet, Path: "/" + tw.b, Query: "prefix=" + url.QueryEscape(dirOf(key)) + "&versions="}
	}},
	{name: "list_uploads", build: func(tw *tableWorld, key string) rawReq {
		return rawReq{Method: http.MethodGet, Path: "/" + tw.b, Query: "prefix=" + url.QueryEscape(dirOf(key)) + "&uploads="}
	}},
	{name: "head_bucket", bucketLevel: true, build: func(tw *tableWorld, _ string) rawReq {
		return rawReq{Method: http.MethodHead, Path: "/" + tw.b}
	}},
	{name: "get_bucket_location", bucketLevel: true, build: func(tw *tableWorld, _ string) rawReq {
		return rawReq{Method: http.MethodGet, Path: "/" + tw.b, Query: "location="}
	}},
	{name: "create_bucket", bucketLevel: true, build: func(tw *tableWorld, _ string) rawReq {
		return rawReq{Method: http.MethodPut, Path: "/" + tw.b}
	}},
	{name: "delete_bucket", bucketLevel: true, build: func(tw *tableWorld, _ string) rawReq {
		return rawReq{Method: http.MethodDelete, Path: "/" + tw.b}
	}},
	{name: "list_buckets", bucketLevel: true, build: func(*tableWorld, string) rawReq {
		return rawReq{Method: http.MethodGet, Path: "/"}
	}},
}

func dirOf(key string) string {
	i := strings.LastIndex(key, "/")
	return key[:i+1]
}

// The table's fixture keys: the target inside the grant (plain, so that
// a backend without versioning lets it be overwritten), a locked one
// inside for the items that need one, and the target outside, all but
// the first under GOVERNANCE retention (only a bypass removes their
// versions); src.txt is the copy source in the grant.
const (
	tableInside       = "public/in.txt"
	tableInsideLocked = "public/locked.txt"
	tableOutside      = "secret/out.txt"
)

var tableFixture = map[string]bool{ // key → governance-locked
	tableInside: false, tableInsideLocked: true, "public/src.txt": false,
	tableOutside: true, "secret/other.txt": false, "root.txt": false,
}

// tableWorld is the bucket, its fixture and what the user may not see.
type tableWorld struct {
	st       *stack
	kind     backendKind
	b        string
	u        *s3User
	content  map[string]string // key → content
	versions map[string]string // key → fixture version id
	uploads  map[string]string // key → fixture upload id
	base     map[string]string // the state the next request starts from
	// defaults are the configuration answers of a fresh object
	// (retention, legal hold, ACL): a new version under public/ may have
	// these and no others.
	defaults map[string]string
	hidden   []string // names, ids and etags no response may show
	etags    map[string]string
	until    string
	tarBody  []byte // members outside the grant
}

func (tw *tableWorld) path(key string) string { return "/" + tw.b + "/" + key }

func newTableWorld(t *testing.T, kind backendKind, st *stack) *tableWorld {
	t.Helper()
	m := st.MinIO
	tw := &tableWorld{
		st: st, kind: kind, b: bucketName("table"),
		content: map[string]string{}, versions: map[string]string{}, uploads: map[string]string{},
		etags: map[string]string{},
		until: time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339),
	}
	tw.tarBody = tarOf(t, map[string]string{"secret/evil.txt": "evil", "evil-root.txt": "evil", "../escape.txt": "evil"})
	m.makeLockedBucket(t, tw.b)
	for key := range tableFixture {
		if strings.HasPrefix(key, "public/") {
			tw.content[key] = "PUBLIC:" + key
		} else {
			tw.content[key] = lockHidden + key + ":" + randString(16, anyAlnum)
			tw.etags[key] = md5Hex([]byte(tw.content[key]))
		}
		tw.putFixture(t, key)
	}
	for _, key := range []string{tableInside, tableOutside} {
		tw.uploads[key] = m.newUpload(t, tw.b, key)
	}
	tw.hidden = []string{tableOutside, "secret/other.txt", "root.txt", lockHidden, tw.uploads[tableOutside]}
	for _, key := range []string{tableOutside, "secret/other.txt", "root.txt"} {
		if v := tw.versions[key]; v != "" && v != "null" {
			tw.hidden = append(tw.hidden, v)
		}
	}
	snap := m.fullSnapshot(t, tw.b)
	tw.defaults = map[string]string{}
	for e, v := range snap {
		if key, ok := entryKey(tw.b, e); ok && key == "public/src.txt" {
			if c := entryConfig(e); c != "" {
				tw.defaults[c] = v
			}
		}
	}
	tw.u = grantUser(t, st.LG, "tabled", fmt.Sprintf("SELECT, INSERT, SHOW, DELETE ON URI 's3://%s/public/'", tw.b))
	tw.u.hc.Timeout = 5 * time.Second // a forwarded long poll must not stall the table
	tw.base = snap
	return tw
}

// putFixture writes a fixture object (a new version) and locks it when
// the fixture says so.
func (tw *tableWorld) putFixture(t *testing.T, key string) {
	t.Helper()
	m := tw.st.MinIO
	m.put(t, tw.b, key, tw.content[key])
	o, err := m.Client.StatObject(minioCtx(t), tw.b, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw.versions[key] = o.VersionID
	if tableFixture[key] {
		q := "retention="
		if o.VersionID != "" && o.VersionID != "null" {
			q += "&versionId=" + url.QueryEscape(o.VersionID)
		}
		if r := m.backendRequest(t, http.MethodPut, tw.path(key)+"?"+q, nil, retentionXML("GOVERNANCE", time.Now().Add(3*time.Hour))); r.Status != http.StatusOK {
			t.Fatalf("lock %s: %d\n%s", key, r.Status, r.Body)
		}
	}
}

// fill replaces the placeholders of an item's value for target key.
func (tw *tableWorld) fill(s, key string) string {
	return strings.NewReplacer(
		"{vid}", tw.versions[key],
		"{upload}", tw.uploads[key],
		"{hidden}", "/"+tw.b+"/"+tableOutside,
		"{until}", tw.until,
		"{bucket}", tw.b,
	).Replace(s)
}

// request is class c's request at key with item it added.
func (tw *tableWorld) request(c tableClass, it tableItem, key string) rawReq {
	r := c.build(tw, key)
	if r.Header == nil {
		r.Header = http.Header{}
	} else {
		r.Header = r.Header.Clone()
	}
	addQuery := func(name, value string) {
		kv := url.QueryEscape(name) + "=" + url.QueryEscape(tw.fill(value, key))
		if r.Query == "" {
			r.Query = kv
		} else {
			r.Query += "&" + kv
		}
	}
	if it.query {
		addQuery(it.name, it.value)
	} else {
		r.Header.Set(it.name, tw.fill(it.value, key))
	}
	for i := 0; i+1 < len(it.extraQuery); i += 2 {
		// A backend without versioning has no version id to name.
		if it.extraQuery[i+1] == "{vid}" && tw.versions[key] == "" {
			continue
		}
		addQuery(it.extraQuery[i], it.extraQuery[i+1])
	}
	for i := 0; i+1 < len(it.extraHeader); i += 2 {
		r.Header.Set(it.extraHeader[i], tw.fill(it.extraHeader[i+1], key))
	}
	if it.tarBody && r.Method == http.MethodPut && r.Body != nil {
		r.Body = tw.tarBody
	}
	return r
}

// violations lists what a change from before to after breaks: anything
// outside public/, retention / legal hold / ACL other than a fresh
// object's, a locked fixture version gone, bucket configuration, hidden
// content copied into the grant.
func (tw *tableWorld) violations(before, after map[string]string) []string {
	var out []string
	entries := map[string]bool{}
	for e := range before {
		entries[e] = true
	}
	for e := range after {
		entries[e] = true
	}
	for e := range entries {
		was, wasOK := before[e]
		now, nowOK := after[e]
		if wasOK && nowOK && was == now {
			continue
		}
		d := fmt.Sprintf("%s: %q → %q", e, was, now)
		key, isObject := entryKey(tw.b, e)
		cfg := entryConfig(e)
		switch {
		case !isObject:
			out = append(out, "bucket configuration: "+d)
		case !strings.HasPrefix(key, "public/"):
			out = append(out, "outside the grant: "+d)
		case cfg == "retention" || cfg == "legal-hold" || cfg == "acl":
			if !wasOK && now == tw.defaults[cfg] || !nowOK {
				continue // a new version as fresh objects are, or a version gone
			}
			if strings.Contains(now, " NoSuchKey") || strings.Contains(now, " NoSuchVersion") || strings.Contains(now, " MethodNotAllowed") {
				// MinIO answers a version's ?acl with NoSuchKey once a
				// delete marker is the latest version: no change to it.
				continue
			}
			out = append(out, "object lock or ACL: "+d)
		case cfg == "" && wasOK && !nowOK && tableFixture[key] && strings.HasSuffix(e, "@"+cmp.Or(tw.versions[key], "null")):
			out = append(out, "a locked version went: "+d)
		case cfg == "" && nowOK:
			for hk, etag := range tw.etags {
				// An object's ETag, or a part's (an UploadPartCopy of it).
				if strings.Contains(now, "etag="+etag+" ") || strings.Contains(now, ":"+etag) {
					out = append(out, "the content of "+hk+" was copied into the grant: "+d)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// restore brings the bucket back to its fixture as far as the backend's
// root can (compliance retention cannot be undone; the next request then
// starts from the state as it is) and takes a new baseline.
func (tw *tableWorld) restore(t *testing.T) {
	t.Helper()
	m := tw.st.MinIO
	if !m.bucketExists(t, tw.b) {
		t.Fatalf("bucket %s is gone", tw.b)
	}
	bypass := headerOf("X-Amz-Bypass-Governance-Retention", "true")
	type ver struct{ key, vid string }
	var extra []ver
	present := map[string]bool{}
	for o := range m.Client.ListObjects(minioCtx(t), tw.b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		vid := o.VersionID
		if vid == "" {
			vid = "null"
		}
		// A backend without versioning overwrites the "null" version in
		// place: the content tells.
		sameVersion := vid == tw.versions[o.Key] || (vid == "null" && tw.versions[o.Key] == "")
		if _, fixture := tableFixture[o.Key]; fixture && sameVersion && !o.IsDeleteMarker && o.ETag == md5Hex([]byte(tw.content[o.Key])) {
			present[o.Key] = true
			continue
		}
		extra = append(extra, ver{o.Key, vid})
	}
	for _, v := range extra {
		// Without versioning there is one version, named by no versionId.
		q := ""
		if v.vid != "null" {
			q = "versionId=" + url.QueryEscape(v.vid)
		}
		// A legal hold keeps a version even from a bypass.
		m.backendRequest(t, http.MethodPut, tw.path(v.key)+"?legal-hold=&"+q, nil, legalHoldXML("OFF"))
		if r := m.backendRequest(t, http.MethodDelete, tw.path(v.key)+"?"+q, bypass, nil); r.Status >= 300 {
			t.Logf("restore: cannot delete %s@%s: %d %s", v.key, v.vid, r.Status, answerState(r))
		}
	}
	for key := range tableFixture {
		q := ""
		if v := tw.versions[key]; v != "" && v != "null" {
			q = "&versionId=" + url.QueryEscape(v)
		}
		if !present[key] {
			tw.putFixture(t, key)
			continue
		}
		m.backendRequest(t, http.MethodPut, tw.path(key)+"?legal-hold="+q, nil, legalHoldXML("OFF"))
		m.backendRequest(t, http.MethodDelete, tw.path(key)+"?tagging="+q, nil, nil)
	}
	current := m.uploads(t, tw.b)
	for id, key := range current {
		if tw.uploads[key] != id {
			_ = m.core().AbortMultipartUpload(minioCtx(t), tw.b, key, id)
		}
	}
	for _, key := range []string{tableInside, tableOutside} {
		if _, ok := current[tw.uploads[key]]; !ok {
			tw.uploads[key] = m.newUpload(t, tw.b, key)
		}
	}
	// Bucket configuration back to none (versioning stays on: object
	// lock needs it).
	for _, c := range []string{"policy", "lifecycle", "tagging", "cors", "encryption", "website", "replication",
		"publicAccessBlock", "ownershipControls"} {
		if tw.base[tw.b+" ?"+c] != tw.st.MinIO.bucketConfigState(t, tw.b, c) {
			m.backendRequest(t, http.MethodDelete, "/"+tw.b+"?"+c+"=", nil, nil)
		}
	}
	tw.base = m.fullSnapshot(t, tw.b)
}

// bucketConfigState reads one bucket sub-resource as fullSnapshot does.
func (m *minioServer) bucketConfigState(t testing.TB, bucket, c string) string {
	t.Helper()
	return answerState(m.backendRequest(t, http.MethodGet, "/"+bucket+"?"+c+"=", nil, nil))
}

// mayMutate reports whether any upstream request since n could have
// changed the backend's state.
func mayMutate(reqs []recordedRequest) bool {
	for _, r := range reqs {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return true
		}
	}
	return false
}

// TestAllowlistTable: see the top of this file. One subtest per item
// (e.g. TestAllowlistTable/minio/aws_header_X-Amz-Object-Lock-Mode) runs
// every class at both keys and logs the statuses.
func TestAllowlistTable(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		tw := newTableWorld(t, kind, st)
		start := time.Now()
		sent, snapshots := 0, 0
		for _, it := range allTableItems() {
			t.Run(it.String(), func(t *testing.T) {
				var statuses []string
				for _, c := range tableClasses {
					keys := []string{tableInside, tableOutside}
					if it.lockedTarget {
						keys[0] = tableInsideLocked
					}
					if c.bucketLevel {
						keys = []string{""}
					}
					for _, key := range keys {
						r := tw.request(c, it, key)
						desc := r.String()
						n := st.Rec.Len()
						req := tw.u.build(t, r)
						resp, err := tw.u.hc.Do(req)
						status := "error"
						var body []byte
						if err == nil {
							body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
							_ = resp.Body.Close()
							status = fmt.Sprint(resp.StatusCode)
						}
						sent++
						where := "in"
						if key == tableOutside {
							where = "out"
						} else if key == "" {
							where = "bucket"
						}
						statuses = append(statuses, c.name+"/"+where+":"+status)
						for _, h := range tw.hidden {
							// A name the request itself carries (in its path,
							// query, headers or DeleteObjects body) may come back.
							if h != "" && strings.Contains(string(body), h) && !strings.Contains(desc+"\n"+string(r.Body), h) {
								t.Errorf("%s: the response shows hidden %q\n%s", desc, h, tail(string(body), 1500))
							}
						}
						settle(t, st.Rec)
						if !mayMutate(st.Rec.Since(n)) {
							continue
						}
						snapshots++
						after := st.MinIO.fullSnapshot(t, tw.b)
						if len(snapshotDiff(tw.base, after, nil)) == 0 {
							continue
						}
						for _, v := range tw.violations(tw.base, after) {
							t.Errorf("%s → %s: %s", desc, status, v)
						}
						tw.restore(t)
					}
				}
				t.Logf("%s", strings.Join(statuses, " "))
			})
		}
		t.Logf("%d requests, %d state reads, in %s", sent, snapshots, time.Since(start).Round(time.Millisecond))
	})
}
