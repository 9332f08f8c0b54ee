package request

import (
	"net/url"
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3name"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// Scope says what an operation's privileges are checked on.
type Scope uint8

// The scopes. The zero Scope denies: an operation lakegate does not know
// is never allowed.
const (
	// ScopeDenied: unclassified; always denied.
	ScopeDenied Scope = iota
	// ScopeObject: the object s3://bucket/key.
	ScopeObject
	// ScopeBucket: the bucket itself, s3://bucket, which only a grant on
	// the whole bucket (or the server) covers.
	ScopeBucket
	// ScopeBucketAny: allowed when the user holds any grant in the bucket
	// (HeadBucket, GetBucketLocation: clients probe a bucket before using
	// the part of it they were granted).
	ScopeBucketAny
	// ScopeListing: a listing of the bucket under the request's prefix,
	// allowed when one of the privileges covers the prefix or some grant
	// of one lies below it; the result is filtered to what the grants of
	// those privileges cover.
	ScopeListing
	// ScopeService: ListBuckets; always allowed, the result filtered to
	// buckets in which the user holds some grant.
	ScopeService
	// ScopeEachKey: DeleteObjects; every key of the body is authorized on
	// its own.
	ScopeEachKey
)

// Access is what an operation needs: one of AnyOf on its Scope.
type Access struct {
	Scope Scope
	AnyOf grants.Privileges
}

func access(s Scope, privs ...grants.Privilege) Access {
	a := Access{Scope: s}
	for _, p := range privs {
		a.AnyOf |= grants.Privileges(p)
	}
	return a
}

// accessByOperation follows seed 000's action table and DESIGN.md; every
// operation missing here needs ALL on the bucket (see Operation.Access).
var accessByOperation = map[Operation]Access{
	// Every user may list buckets; one whose SHOW or SELECT is ON SERVER
	// sees them all unfiltered (see ScopeService).
	"ListBuckets": access(ScopeService, grants.Select, grants.Show),

	"HeadBucket":        access(ScopeBucketAny),
	"GetBucketLocation": access(ScopeBucketAny),

	// Seed 000: SELECT means "read files, folders, and buckets", and
	// `aws s3 sync pathA …` or `aws s3 cp --recursive pathA …` need only
	// SELECT on pathA: listing objects is open to SELECT as to SHOW, the
	// result filtered to what those grants cover. Uploads in progress are
	// no files to read: listing them is SHOW's.
	"ListObjects":          access(ScopeListing, grants.Select, grants.Show),
	"ListObjectsV2":        access(ScopeListing, grants.Select, grants.Show),
	"ListObjectVersions":   access(ScopeListing, grants.Select, grants.Show),
	"ListMultipartUploads": access(ScopeListing, grants.Show),

	"GetObject":           access(ScopeObject, grants.Select),
	"GetObjectTorrent":    access(ScopeObject, grants.Select),
	"SelectObjectContent": access(ScopeObject, grants.Select),
	// Metadata: seed 000 maps head-object to "SHOW and SELECT", and SHOW is
	// "metadata retrieval for files"; either privilege suffices.
	"HeadObject":          access(ScopeObject, grants.Select, grants.Show),
	"GetObjectTagging":    access(ScopeObject, grants.Select, grants.Show),
	"GetObjectAttributes": access(ScopeObject, grants.Select, grants.Show),
	"GetObjectRetention":  access(ScopeObject, grants.Select, grants.Show),
	"GetObjectLegalHold":  access(ScopeObject, grants.Select, grants.Show),

	"PutObject":               access(ScopeObject, grants.Insert),
	"PostObject":              access(ScopeObject, grants.Insert),
	"CopyObject":              access(ScopeObject, grants.Insert),
	"CreateMultipartUpload":   access(ScopeObject, grants.Insert),
	"UploadPart":              access(ScopeObject, grants.Insert),
	"UploadPartCopy":          access(ScopeObject, grants.Insert),
	"CompleteMultipartUpload": access(ScopeObject, grants.Insert),
	"AbortMultipartUpload":    access(ScopeObject, grants.Insert),
	"ListParts":               access(ScopeObject, grants.Insert),
	"PutObjectTagging":        access(ScopeObject, grants.Insert),
	"DeleteObjectTagging":     access(ScopeObject, grants.Insert),

	"DeleteObject":  access(ScopeObject, grants.Delete),
	"DeleteObjects": access(ScopeEachKey, grants.Delete),
}

// Access returns what o needs. Operations without an entry of their own
// (bucket configuration, ACLs, object lock, restore…) need ALL on the
// bucket; Unknown is denied.
func (o Operation) Access() Access {
	if o == Unknown || o == "" {
		return Access{Scope: ScopeDenied}
	}
	if a, ok := accessByOperation[o]; ok {
		return a
	}
	return access(ScopeBucket, grants.All)
}

// ListPrefix returns the prefix a listing operation lists under: the
// prefix query parameter ("" when absent).
func (r *Request) ListPrefix() string { return r.Query.Get("prefix") }

// CopySource is the object named by x-amz-copy-source.
type CopySource struct {
	Bucket, Key, VersionID string
}

// Header returns the x-amz-copy-source value naming cs, fully
// percent-encoded: what the upstream receives is the source the proxy
// authorized, whatever spelling the client used (a raw '#' or '?' in a key
// would otherwise be read as the end of it).
func (cs CopySource) Header() string {
	v := "/" + cs.Bucket + "/" + strings.TrimPrefix(sigv4.EscapePath("/"+cs.Key), "/")
	if cs.VersionID != "" {
		v += "?versionId=" + strings.ReplaceAll(url.QueryEscape(cs.VersionID), "+", "%20")
	}
	return v
}

// ParseCopySource parses an x-amz-copy-source value: "bucket/key" or
// "/bucket/key", URL-encoded, with an optional "?versionId=…". Access-point
// and outpost ARNs are not supported. The key is checked like a request
// key: no '.' or '..' segments.
func ParseCopySource(v string) (CopySource, error) {
	bad := s3err.InvalidArgument.WithMessage("Invalid copy source: expected bucket/key, URL-encoded, with an optional ?versionId=.")
	path, query, hasQuery := strings.Cut(v, "?")
	var cs CopySource
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil || len(q) != 1 || len(q["versionId"]) != 1 || q.Get("versionId") == "" {
			return CopySource{}, bad
		}
		cs.VersionID = q.Get("versionId")
	}
	dec, err := url.PathUnescape(path)
	if err != nil {
		return CopySource{}, bad
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || key == "" || !s3name.ValidBucket(bucket) {
		return CopySource{}, bad
	}
	if s3name.HasDotSegment(key) {
		return CopySource{}, s3err.InvalidArgument.WithMessage("Copy sources with '.' or '..' path segments are not accepted by this proxy.")
	}
	cs.Bucket, cs.Key = bucket, key
	return cs, nil
}

// knownOperations are the operations of the allowlist.
var knownOperations = func() map[Operation]bool {
	m := map[Operation]bool{}
	for _, s := range operationSpecs {
		m[s.op] = true
	}
	return m
}()

// ParseOperation returns the operation named name (e.g. "GetObject"), or
// false when the proxy does not know it.
func ParseOperation(name string) (Operation, bool) {
	op := Operation(name)
	return op, knownOperations[op]
}
