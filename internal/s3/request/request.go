// Package request parses an incoming S3 HTTP request into what the proxy
// decides on: which bucket and key it names, how the bucket was addressed,
// and which S3 operation it is. It is pure: no I/O, no authentication.
//
// The operation comes from an allowlist, not a classifier with a default
// (allowlist.go): each supported operation is a row naming the
// sub-resources that select it and the query parameters and x-amz-*
// headers it accepts, with what each needs. A request no row matches, or
// with anything its row does not name, is refused; what goes upstream is
// rebuilt from the row (ForwardHeader, ForwardQueryParam).
package request

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3name"
)

// Request is a parsed S3 request.
type Request struct {
	// Bucket is the bucket the request names; "" for service-level
	// requests (ListBuckets).
	Bucket string
	// Key is the decoded object key; "" for bucket- and service-level
	// requests.
	Key string
	// HostBucket is Bucket when it came from a virtual-hosted-style Host,
	// "" for path-style requests.
	HostBucket string
	// Operation is the S3 API action, e.g. "GetObject", "ListObjectsV2".
	Operation Operation
	// Query is the parsed query string.
	Query url.Values
	// BucketAll names the headers (lower case) and form fields that need
	// ALL on the bucket besides the operation's privilege (see the
	// allowlist in allowlist.go).
	BucketAll []string
	// Hoisted names the x-amz-* headers given as query parameters (as
	// presigned URLs may carry them). Only a SigV4 signature covers them.
	Hoisted []string
}

// Parse classifies r. baseDomains are the host names under which
// <bucket>.<base> is virtual-hosted-style addressing; a Host equal to a base
// domain, an IP address, or any other name is path-style.
//
// Errors are *s3err.Error values: an invalid bucket name, a repeated query
// parameter, a malformed path, or a request outside the allowlist
// (allowlist.go): no operation of the proxy's, more than one, or a
// parameter or header its operation does not accept.
func Parse(r *http.Request, baseDomains []string) (*Request, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, s3err.InvalidArgument.WithMessage("The query string is malformed.")
	}
	for name, vals := range q {
		// No S3 parameter repeats: a repeated one could be read
		// differently here and upstream.
		if len(vals) > 1 {
			return nil, s3err.InvalidArgument.WithMessage("Query parameter " + quote(name) + " may appear only once.")
		}
	}
	req := &Request{Query: q}
	path := r.URL.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if hb := HostBucket(r.Host, baseDomains); hb != "" {
		req.HostBucket, req.Bucket = hb, hb
		req.Key = path[1:]
	} else {
		rest := path[1:]
		bucket, key, _ := strings.Cut(rest, "/")
		req.Bucket, req.Key = bucket, key
	}
	if req.Bucket != "" && !s3name.ValidBucket(req.Bucket) {
		return nil, s3err.InvalidBucketName
	}
	if req.Bucket == "" && req.Key != "" {
		return nil, s3err.InvalidBucketName
	}
	if s3name.HasDotSegment(req.Key) {
		// S3 servers disagree on such keys (AWS keeps them literally, MinIO
		// cleans the path), so the object acted on would be ambiguous.
		return nil, s3err.InvalidArgument.WithMessage("Object keys with '.' or '..' path segments are not accepted by this proxy.")
	}
	if err := req.check(r.Method, r.Header); err != nil {
		return nil, err
	}
	return req, nil
}

// HostBucket returns the bucket a virtual-hosted-style Host names under
// one of baseDomains, or "" for path-style requests.
func HostBucket(host string, baseDomains []string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, base := range baseDomains {
		base = strings.ToLower(strings.TrimSuffix(base, "."))
		if base == "" {
			continue
		}
		if b, ok := strings.CutSuffix(host, "."+base); ok && b != "" {
			return b
		}
	}
	return ""
}
