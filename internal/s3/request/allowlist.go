package request

// The allowlist: what the proxy forwards is what it authorized.
//
// Every operation the proxy supports is a row of operationSpecs: the method
// and level (service, bucket, object) it is sent to, the operation-selecting
// sub-resources that name it (exactly those, no more), and the query
// parameters and x-amz-* headers it accepts, each with what it needs beyond
// the operation's own privilege (Covered, or BucketAll: ALL on the bucket).
// Parse refuses, before authentication and before anything is forwarded:
//
//   - a request whose method, level and sub-resources match no row (an
//     unknown sub-resource such as ?session, or one a backend adds next
//     year, is never read as GetObject or PutObject);
//   - a request with more than one operation-selecting sub-resource
//     (PUT key?retention&uploadId=x), which S3 servers resolve differently;
//   - a query parameter, or an x-amz-* header, not on its row;
//   - a vendor header the proxy does not know (x-minio-*, x-rgw-*);
//   - an x-amz-* header given twice, or both as a header and (presigned
//     URLs may hoist headers) as a query parameter.
//
// The upstream request is then rebuilt from what was accepted: the query
// parameters on the row (ForwardQueryParam), the x-amz-* headers on the row
// and a fixed set of standard HTTP headers (ForwardHeader). Nothing else
// reaches the upstream.
//
// Headers that change what an operation does (object lock, legal hold,
// governance bypass, ACLs and grants, MFA, MinIO's tar auto-extract) need
// ALL on the bucket: Request.BucketAll names them and the gateway decides
// that privilege as well as the operation's.

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// Need is what a query parameter or header needs beyond the privilege of
// the operation it is sent with.
type Need uint8

const (
	// Covered: the operation's own privilege covers it.
	Covered Need = iota + 1
	// BucketAll: it changes what the operation does in ways only the
	// bucket's owner may choose (locks, ACLs…), so it needs ALL on the
	// bucket.
	BucketAll
)

// level is what a request addresses.
type level uint8

const (
	levelService level = iota + 1 // no bucket
	levelBucket                   // a bucket, no key
	levelObject                   // an object
)

// copySourceRule says whether a row applies to requests with
// x-amz-copy-source.
type copySourceRule uint8

const (
	copyNever    copySourceRule = iota // the header is refused
	copyRequired                       // only with the header (CopyObject)
)

// opSpec is one row of the allowlist.
type opSpec struct {
	op     Operation
	method string
	level  level
	// selectors are the operation-selecting sub-resources that name the
	// operation, all present and no other; a value of "" accepts any
	// value, another value only itself (list-type=2).
	selectors map[string]string
	// required are further parameters the operation must have
	// (UploadPart's partNumber).
	required []string
	// params are the other query parameters it accepts.
	params []string
	// headers are the x-amz-* headers it accepts: exact lower-case names,
	// or prefixes ending in '-' or '*' ("x-amz-meta-", "x-amz-grant-*").
	headers []headerRule
	copy    copySourceRule
}

type headerRule struct {
	name string
	need Need
}

// Header groups the rows share.
var (
	// hdrCommon go with every operation: authentication (removed before
	// forwarding, and verified), and conditions that only narrow what
	// S3 does.
	// Body checksums and the aws-chunked encoding's headers are in it too:
	// SDKs add them to requests of every kind, and they only describe the
	// body.
	hdrCommon = covered("x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
		"x-amz-expected-bucket-owner", "x-amz-request-payer", "x-amz-user-agent",
		"x-amz-decoded-content-length", "x-amz-trailer", "x-amz-sdk-checksum-algorithm", "x-amz-checksum-*")
	// hdrSSEC are customer-provided encryption keys.
	hdrSSEC = covered("x-amz-server-side-encryption-customer-*")
	// hdrNewObject set the properties of an object being created.
	hdrNewObject = slices.Concat(
		covered("x-amz-meta-*", "x-amz-storage-class", "x-amz-tagging", "x-amz-website-redirect-location",
			"x-amz-server-side-encryption", "x-amz-server-side-encryption-*", "x-amz-checksum-algorithm",
			"x-amz-checksum-type"),
		// Choosing the KMS key (and its context) lets a writer have the
		// proxy's credentials encrypt with a key the writer controls,
		// perhaps in another account, and later revoke it.
		bucketAll("x-amz-acl", "x-amz-grant-*",
			"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
			"x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-context"),
	)
	// hdrCopySource name and condition the source of a copy.
	hdrCopySource = covered("x-amz-copy-source", "x-amz-copy-source-if-*",
		"x-amz-copy-source-server-side-encryption-customer-*", "x-amz-source-expected-bucket-owner")
	// hdrLockOverride override object lock protections or ask for MFA.
	hdrLockOverride = bucketAll("x-amz-bypass-governance-retention", "x-amz-mfa")
	// hdrBucketConfig go with bucket configuration operations, which need
	// ALL on the bucket anyway.
	hdrBucketConfig = covered("x-amz-acl", "x-amz-grant-*", "x-amz-mfa", "x-amz-bucket-object-lock-enabled",
		"x-amz-bucket-object-lock-token", "x-amz-object-ownership", "x-amz-confirm-remove-self-bucket-access",
		"x-amz-skip-destination-validation", "x-amz-sdk-checksum-algorithm", "x-amz-checksum-*")
)

// Query parameter groups.
var (
	prmGetObject = []string{"versionId", "partNumber", "response-cache-control", "response-content-disposition",
		"response-content-encoding", "response-content-language", "response-content-type", "response-expires"}
	prmListing = []string{"delimiter", "encoding-type", "max-keys", "prefix"}
)

func covered(names ...string) []headerRule   { return rules(Covered, names) }
func bucketAll(names ...string) []headerRule { return rules(BucketAll, names) }

func rules(n Need, names []string) []headerRule {
	r := make([]headerRule, len(names))
	for i, name := range names {
		r[i] = headerRule{name: name, need: n}
	}
	return r
}

func sel(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		name, value, _ := strings.Cut(n, "=")
		m[name] = value
	}
	return m
}

func hdrs(groups ...[]headerRule) []headerRule { return slices.Concat(groups...) }

// operationSpecs is the allowlist. Bucket configuration operations (and
// object ACLs, retention, legal holds, restores) need ALL on the bucket
// (see Operation.Access); their rows still say what they accept.
var operationSpecs = func() []opSpec {
	get, put, post, del, head := http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead
	specs := []opSpec{
		// The gateway refuses max-buckets and continuation-token to users
		// whose list is filtered.
		{op: "ListBuckets", method: get, level: levelService,
			params: []string{"prefix", "bucket-region", "max-buckets", "continuation-token"}, headers: hdrCommon},

		{op: "HeadBucket", method: head, level: levelBucket, headers: hdrCommon},
		{op: "GetBucketLocation", method: get, level: levelBucket, selectors: sel("location"), headers: hdrCommon},
		{op: "ListObjects", method: get, level: levelBucket, params: slices.Concat(prmListing, []string{"marker"}),
			headers: hdrs(hdrCommon, covered("x-amz-optional-object-attributes"))},
		{op: "ListObjectsV2", method: get, level: levelBucket, selectors: sel("list-type=2"),
			params:  slices.Concat(prmListing, []string{"continuation-token", "fetch-owner", "start-after"}),
			headers: hdrs(hdrCommon, covered("x-amz-optional-object-attributes"))},
		{op: "ListObjectVersions", method: get, level: levelBucket, selectors: sel("versions"),
			params:  slices.Concat(prmListing, []string{"key-marker", "version-id-marker"}),
			headers: hdrs(hdrCommon, covered("x-amz-optional-object-attributes"))},
		{op: "ListMultipartUploads", method: get, level: levelBucket, selectors: sel("uploads"),
			params:  slices.Concat(prmListing, []string{"key-marker", "upload-id-marker", "max-uploads"}),
			headers: hdrCommon},
		{op: "CreateBucket", method: put, level: levelBucket, headers: hdrs(hdrCommon, hdrBucketConfig)},
		{op: "DeleteBucket", method: del, level: levelBucket, headers: hdrCommon},
		{op: "DeleteObjects", method: post, level: levelBucket, selectors: sel("delete"),
			headers: hdrs(hdrCommon, hdrLockOverride)},
		// Browser uploads: the form's fields are checked by FormField.
		{op: "PostObject", method: post, level: levelBucket, headers: hdrCommon},

		{op: "GetObject", method: get, level: levelObject, params: prmGetObject,
			headers: hdrs(hdrCommon, hdrSSEC, covered("x-amz-checksum-mode"))},
		{op: "HeadObject", method: head, level: levelObject, params: prmGetObject,
			headers: hdrs(hdrCommon, hdrSSEC, covered("x-amz-checksum-mode"))},
		{op: "GetObjectAttributes", method: get, level: levelObject, selectors: sel("attributes"), params: []string{"versionId"},
			headers: hdrs(hdrCommon, hdrSSEC, covered("x-amz-max-parts", "x-amz-part-number-marker", "x-amz-object-attributes"))},
		{op: "ListParts", method: get, level: levelObject, selectors: sel("uploadId"),
			params: []string{"max-parts", "part-number-marker"}, headers: hdrs(hdrCommon, hdrSSEC)},
		{op: "SelectObjectContent", method: post, level: levelObject, selectors: sel("select", "select-type=2"),
			headers: hdrs(hdrCommon, hdrSSEC)},

		{op: "PutObject", method: put, level: levelObject, headers: hdrs(hdrCommon, hdrNewObject)},
		{op: "CopyObject", method: put, level: levelObject, copy: copyRequired,
			headers: hdrs(hdrCommon, hdrNewObject, hdrCopySource, covered("x-amz-metadata-directive", "x-amz-tagging-directive"))},
		{op: "CreateMultipartUpload", method: post, level: levelObject, selectors: sel("uploads"),
			headers: hdrs(hdrCommon, hdrNewObject)},
		{op: "UploadPart", method: put, level: levelObject, selectors: sel("uploadId"), required: []string{"partNumber"},
			headers: hdrs(hdrCommon, hdrSSEC)},
		{op: "UploadPartCopy", method: put, level: levelObject, selectors: sel("uploadId"), required: []string{"partNumber"},
			copy: copyRequired, headers: hdrs(hdrCommon, hdrSSEC, hdrCopySource, covered("x-amz-copy-source-range"))},
		{op: "CompleteMultipartUpload", method: post, level: levelObject, selectors: sel("uploadId"),
			headers: hdrs(hdrCommon, hdrSSEC, covered("x-amz-mp-object-size", "x-amz-checksum-type"))},
		{op: "AbortMultipartUpload", method: del, level: levelObject, selectors: sel("uploadId"),
			headers: hdrs(hdrCommon, covered("x-amz-if-match-initiated-time"))},
		{op: "PutObjectTagging", method: put, level: levelObject, selectors: sel("tagging"), params: []string{"versionId"},
			headers: hdrCommon},
		{op: "DeleteObjectTagging", method: del, level: levelObject, selectors: sel("tagging"), params: []string{"versionId"},
			headers: hdrCommon},

		{op: "DeleteObject", method: del, level: levelObject, params: []string{"versionId"},
			headers: hdrs(hdrCommon, hdrLockOverride, covered("x-amz-if-match-last-modified-time", "x-amz-if-match-size"))},
	}
	// Object sub-resources read with GET (tagging, retention…) and, for
	// those that have one, written with PUT (ALL on the bucket).
	for _, s := range objectSubresources {
		if s.param == "attributes" {
			continue // its own row above
		}
		specs = append(specs, opSpec{op: Operation("GetObject" + s.name), method: get, level: levelObject,
			selectors: sel(s.param), params: []string{"versionId"}, headers: hdrCommon})
		if s.param == "tagging" || s.param == "torrent" {
			continue
		}
		specs = append(specs, opSpec{op: Operation("PutObject" + s.name), method: put, level: levelObject,
			selectors: sel(s.param), params: []string{"versionId"},
			headers: hdrs(hdrCommon, covered("x-amz-acl", "x-amz-grant-*", "x-amz-bypass-governance-retention"))})
	}
	specs = append(specs, opSpec{op: "RestoreObject", method: post, level: levelObject, selectors: sel("restore"),
		params: []string{"versionId"}, headers: hdrCommon})
	for _, s := range bucketSubresources {
		for _, m := range []struct{ verb, method string }{{"Get", get}, {"Put", put}, {"Delete", del}} {
			specs = append(specs, opSpec{op: Operation(m.verb + "Bucket" + s.name), method: m.method, level: levelBucket,
				selectors: sel(s.param), params: []string{"id"}, headers: hdrs(hdrCommon, hdrBucketConfig)})
		}
	}
	return specs
}()

// selectorParams are the operation-selecting sub-resources: every name a
// row selects on, and the sub-resources of S3 and of S3-compatible servers
// that lakegate does not support, so that such a request is refused as a
// whole rather than read as another operation.
var selectorParams = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range operationSpecs {
		for p := range s.selectors {
			m[p] = true
		}
	}
	for _, p := range []string{
		"website", "requestPayment", "replication", "notification", "logging", "analytics", "inventory",
		"metrics", "intelligent-tiering", "ownershipControls", "publicAccessBlock", "policyStatus",
		"accelerate", "object-lock", "lifecycle", "versioning", "cors", "encryption", "policy", "acl",
		"legal-hold", "retention", "torrent", "tagging", "attributes", "restore", "select", "uploads",
		"uploadId", "delete", "location", "versions", "list-type",
		// Not supported by lakegate: S3 Express, MinIO and Ceph RGW
		// extensions, and others.
		"session", "renameObject", "append", "metadataTable", "metadataConfiguration", "abac",
		"obo", "lambda", "events", "torrents", "minio-replication", "replication-reset", "replication-metrics",
		"replication-check", "lambda-config", "notification-listen", "events-listen", "usage", "admin",
		"mdsearch", "bucket-logging", "bucket-usage",
	} {
		m[p] = true
	}
	return m
}()

// standardHeaders are the non-x-amz headers the upstream receives: what
// describes the body, ranges and conditions. Every other header the
// client sends (its user agent, tracing, proxies' forwarding headers) is
// dropped; the ones that Go's HTTP transport manages (Content-Length,
// Transfer-Encoding, Host) are set by it.
var standardHeaders = map[string]bool{
	"Content-Type": true, "Content-Md5": true, "Content-Encoding": true, "Content-Language": true,
	"Content-Disposition": true, "Cache-Control": true, "Expires": true, "Range": true,
	"If-Match": true, "If-None-Match": true, "If-Modified-Since": true, "If-Unmodified-Since": true,
	"Expect": true, "Accept-Encoding": true,
}

// vendorPrefixes start headers that S3-compatible servers act on. Unless
// on an operation's row they are refused, not silently dropped: the
// client asked for something the proxy will not do.
var vendorPrefixes = []string{"x-amz-", "x-minio-", "x-rgw-"}

// minioReservedMeta are user metadata names MinIO acts on (the tar
// auto-extract of its "snowball" uploads writes the archive's members
// wherever their names say): they need ALL on the bucket.
var minioReservedMeta = []string{"x-amz-meta-snowball-", "x-amz-meta-minio-"}

// errSelectors refuses a request naming two operations.
func errSelectors(a, b string) error {
	return s3err.InvalidArgument.WithMessage("The request names more than one operation (" + a + " and " + b +
		"); this proxy accepts one sub-resource per request.")
}

// errUnsupported refuses what no row accepts.
func errUnsupported(what string) error {
	return s3err.NotImplemented.WithMessage(what + " is not supported by this proxy.")
}

// ForwardHeader reports whether a request header named name (canonical
// form) goes upstream. x-amz-* headers reaching the upstream have been
// checked against the operation's row by Parse.
func ForwardHeader(name string) bool {
	if standardHeaders[name] {
		return true
	}
	return hasVendorPrefixFold(name)
}

// hasVendorPrefixFold reports whether a name, in any case, starts with
// one of vendorPrefixes; it does not allocate (it runs for every header of
// every request).
func hasVendorPrefixFold(name string) bool {
	for _, p := range vendorPrefixes {
		if hasPrefixFold(name, p) {
			return true
		}
	}
	return false
}

// hasPrefixFold is strings.HasPrefix ignoring case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// check applies the allowlist to a parsed request: it selects the
// operation and records what needs ALL on the bucket. h is the request's
// header.
func (req *Request) check(method string, h http.Header) error {
	lv := levelObject
	switch {
	case req.Bucket == "":
		lv = levelService
	case req.Key == "":
		lv = levelBucket
	}
	var buf [4]string
	selected := buf[:0]
	for name := range req.Query {
		if selectorParams[name] {
			selected = append(selected, name)
		}
	}
	slices.Sort(selected)
	copySource := len(h["X-Amz-Copy-Source"]) > 0
	spec, err := findSpec(method, lv, req.Query, selected, copySource)
	if err != nil {
		return err
	}
	req.Operation = spec.op
	for name, vals := range h {
		if !hasVendorPrefixFold(name) {
			continue
		}
		// Header names are canonicalized, so any two spellings of one
		// name are one entry here.
		if len(vals) > 1 && !repeatable(name) {
			return errTwice(name)
		}
		if err := req.checkHeader(spec, name, vals); err != nil {
			return err
		}
	}
	var hoisted map[string]bool // lower-case x-amz-* names in the query
	for name := range req.Query {
		if sigv4.IsAuthQueryParam(name) || name == "x-id" || hasKey(spec.selectors, name) ||
			slices.Contains(spec.params, name) || slices.Contains(spec.required, name) {
			continue
		}
		if !hasVendorPrefixFold(name) {
			return errUnsupported("The query parameter " + quote(name) + " of " + string(spec.op))
		}
		lower := strings.ToLower(name)
		// A header hoisted into a presigned URL's query: the same rules
		// as in the header, and not also in a header or in another
		// spelling. Only a SigV4 signature covers it (SigV2 signs a few
		// sub-resources of the query, never these): the gateway refuses
		// Hoisted under any other.
		if !repeatable(lower) && (len(h.Values(lower)) > 0 || hoisted[lower]) {
			return errTwice(lower)
		}
		if hoisted == nil {
			hoisted = map[string]bool{}
		}
		hoisted[lower] = true
		if err := req.checkHeader(spec, lower, req.Query[name]); err != nil {
			return err
		}
		req.Hoisted = append(req.Hoisted, name)
	}
	return nil
}

func errTwice(name string) error {
	return s3err.InvalidArgument.WithMessage("The header " + strings.ToLower(name) + " is given twice.")
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// repeatable reports whether an x-amz-* header (named in any case) may be
// given more than once:
// S3 joins the values of these, as HTTP says repeated headers are joined,
// and the proxy reads none of them (user metadata, lists of attribute
// names). Every other one given twice is refused: the proxy and the
// upstream could read different values.
func repeatable(name string) bool {
	if strings.EqualFold(name, "x-amz-object-attributes") || strings.EqualFold(name, "x-amz-optional-object-attributes") {
		return true
	}
	const meta = "x-amz-meta-"
	return len(name) > len(meta) && hasPrefixFold(name, meta) && !minioReserved(name)
}

// checkHeader checks one x-amz-* (or vendor) header name against spec.
func (req *Request) checkHeader(spec *opSpec, name string, values []string) error {
	need, ok := headerNeed(spec, name)
	if !ok {
		return errUnsupported("The header " + strings.ToLower(name) + " with " + string(spec.op))
	}
	if need == BucketAll && !(strings.EqualFold(name, "x-amz-acl") && len(values) == 1 && ownerOnlyACL(values[0])) {
		req.BucketAll = append(req.BucketAll, strings.ToLower(name))
	}
	return nil
}

// ownerOnlyACL reports whether a canned ACL grants nobody but the bucket's
// owner: private and bucket-owner-full-control change nothing another
// grant could, and clients (rclone, the AWS CLI, Hadoop's s3a) send them by
// configuration. Every other ACL needs ALL on the bucket.
func ownerOnlyACL(v string) bool {
	switch strings.TrimSpace(v) {
	case "private", "bucket-owner-full-control":
		return true
	}
	return false
}

// headerNeed looks a header name (in any case) up on spec's row.
func headerNeed(spec *opSpec, name string) (Need, bool) {
	if minioReserved(name) && ruleMatches(spec.headers, "x-amz-meta-x") {
		return BucketAll, true
	}
	best, found := Need(0), false
	for _, r := range spec.headers {
		if matchRule(r.name, name) {
			// The strictest rule that matches wins.
			if !found || r.need > best {
				best = r.need
			}
			found = true
		}
	}
	return best, found
}

func ruleMatches(rules []headerRule, name string) bool {
	for _, r := range rules {
		if matchRule(r.name, name) {
			return true
		}
	}
	return false
}

// matchRule matches a header name, in any case, against a rule: an exact
// lower-case name or a prefix ending in '*'.
func matchRule(rule, name string) bool {
	if p, ok := strings.CutSuffix(rule, "*"); ok {
		return len(name) > len(p) && hasPrefixFold(name, p)
	}
	return strings.EqualFold(rule, name)
}

// minioReserved reports whether a header name (any case) is user metadata
// MinIO acts on.
func minioReserved(name string) bool {
	for _, p := range minioReservedMeta {
		if hasPrefixFold(name, p) {
			return true
		}
	}
	return false
}

// specKey indexes the rows by method, level and their selectors' names
// joined with '&' in order.
type specKey struct {
	method string
	lv     level
	sel    string
}

var specIndex = func() map[specKey][]*opSpec {
	m := map[specKey][]*opSpec{}
	for i := range operationSpecs {
		s := &operationSpecs[i]
		names := slices.Sorted(maps.Keys(s.selectors))
		k := specKey{s.method, s.level, strings.Join(names, "&")}
		m[k] = append(m[k], s)
	}
	return m
}()

// findSpec finds the one row for a request; selected are its
// operation-selecting parameters, sorted.
func findSpec(method string, lv level, q url.Values, selected []string, copySource bool) (*opSpec, error) {
	sel := ""
	switch len(selected) {
	case 0:
	case 1:
		sel = selected[0]
	default:
		sel = strings.Join(selected, "&")
	}
	for _, s := range specIndex[specKey{method, lv, sel}] {
		match := true
		for _, name := range selected {
			if want := s.selectors[name]; want != "" && q.Get(name) != want {
				match = false
				break
			}
		}
		if !match || (s.copy == copyRequired) != copySource {
			continue
		}
		for _, name := range s.required {
			if q.Get(name) == "" {
				return nil, s3err.InvalidArgument.WithMessage(string(s.op) + " needs the query parameter " + name + ".")
			}
		}
		return s, nil
	}
	switch {
	case len(selected) > 1:
		return nil, errSelectors(selected[0], selected[1])
	case copySource && lv == levelObject && method == http.MethodPut:
		return nil, errUnsupported("x-amz-copy-source with this sub-resource")
	case copySource:
		return nil, errUnsupported("The header x-amz-copy-source with this request")
	case len(selected) == 1:
		return nil, errUnsupported("The sub-resource " + quote(selected[0]) + " with " + method)
	case lv == levelService:
		return nil, errUnsupported(method + " on the service")
	}
	// With no row for the method here, a parameter the proxy does not know
	// is the likelier intent (a backend's extension) than a wrong method.
	for name := range q {
		if !sigv4.IsAuthQueryParam(name) && name != "x-id" && !knownParams[name] {
			return nil, errUnsupported("The query parameter " + quote(name) + " with " + method)
		}
	}
	return nil, s3err.MethodNotAllowed
}

// knownParams are the query parameters some row accepts.
var knownParams = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range operationSpecs {
		for _, p := range slices.Concat(s.params, s.required) {
			m[p] = true
		}
		for p := range s.selectors {
			m[p] = true
		}
	}
	return m
}()

// ForwardQueryParam reports whether the query parameter name of op goes
// upstream: the sub-resources and parameters on op's row and the x-amz-*
// headers hoisted into a presigned URL. Authentication parameters never
// do.
func ForwardQueryParam(op Operation, name string) bool {
	if sigv4.IsAuthQueryParam(name) {
		return false
	}
	if name == "x-id" {
		return true
	}
	s := specOf(op)
	if s == nil {
		return false
	}
	if hasKey(s.selectors, name) || slices.Contains(s.params, name) || slices.Contains(s.required, name) {
		return true
	}
	_, ok := headerNeed(s, name)
	return ok
}

var specByOp = func() map[Operation]*opSpec {
	m := make(map[Operation]*opSpec, len(operationSpecs))
	for i := range operationSpecs {
		m[operationSpecs[i].op] = &operationSpecs[i]
	}
	return m
}()

func specOf(op Operation) *opSpec { return specByOp[op] }

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return "'" + strings.ToValidUTF8(s, "?") + "'"
}

// FormField is what a field of a browser upload form needs: the fields S3
// documents for POST Object, with the same rules as the headers they stand
// for. ok is false for a field the proxy does not accept.
func FormField(name, value string) (need Need, ok bool) {
	lower := strings.ToLower(name)
	switch lower {
	case "key", "file", "policy", "success_action_redirect", "redirect", "success_action_status",
		"cache-control", "content-type", "content-disposition", "content-encoding", "content-language", "expires",
		"content-md5", "tagging", "awsaccesskeyid", "signature",
		"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "x-amz-security-token":
		return Covered, true
	case "acl":
		if ownerOnlyACL(value) {
			return Covered, true
		}
		return BucketAll, true
	case "bucket":
		// Some clients repeat the bucket; the caller checks that it is
		// the request's.
		return Covered, true
	}
	if strings.HasPrefix(lower, "x-ignore-") {
		return Covered, true // S3 ignores these by definition
	}
	spec := specOf("PutObject")
	return headerNeed(spec, lower)
}
