package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3name"
	"github.com/lakegate/lakegate/internal/s3/s3xml"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/upstream"
)

// Authorizer answers the proxy's authorization questions. Implementations
// are pure lookups in memory: they never fail, and an unknown user has no
// permissions.
type Authorizer interface {
	// SessionPrincipal returns the user of an access key with its groups;
	// see authz.Engine.SessionPrincipal.
	SessionPrincipal(user string, session *identity.Groups) authz.Principal
	// Decide answers one question; see authz.Engine.Decide.
	Decide(p authz.Principal, a request.Access, bucket, key string) authz.Decision
	// View is what p may see of bucket with priv, for filtering listings.
	View(p authz.Principal, bucket string, priv grants.Privilege) *policy.View
	// BucketVisible reports whether ListBuckets may show bucket to p.
	BucketVisible(p authz.Principal, bucket string) bool
}

var _ Authorizer = (*authz.Engine)(nil)

// sessionOf is the session groups a key carries, nil for none.
func sessionOf(c sigv4.Credential) *identity.Groups {
	if c.SessionGroups == nil {
		return nil
	}
	return &identity.Groups{Names: c.SessionGroups, CaseInsensitive: c.SessionGroupsFold}
}

// maxDeleteBody bounds a DeleteObjects request body: 1000 keys of at most
// 1024 bytes each, escaped, with their version ids, fit well inside.
const maxDeleteBody = 2 << 20

// denied is the error of a refused request. The reason stays in the log
// and the audit record; the client gets S3's plain AccessDenied, or, under
// the location of a table on which its grants are restricted, an
// AccessDenied that says so and names the scan endpoint (restrictedError),
// and nothing more.
func denied(d authz.Decision) error {
	if d.Unavailable {
		return fmt.Errorf("%w (%s)", s3err.PolicyUnavailable, d.Reason)
	}
	e := &deniedError{reason: d.Reason, table: d.Table}
	if d.Restricted && d.Table != nil {
		e.restricted = true
	}
	return e
}

// deniedError is a refusal. table is the table under whose location the
// refused request lies when a table grant decided it; restricted says the
// user's grants on it are restricted.
type deniedError struct {
	reason     string
	table      *policy.TableMatch
	restricted bool
}

func (e *deniedError) Error() string { return "access denied: " + e.reason }

// restrictedError is the S3 error of a refusal under the location of
// table, on which the user's grants are restricted: the files are not for
// them, the table's data is, through the scan API (under base, the REST
// server's public URL; the path alone when base is empty).
func restrictedError(base string, table *policy.TableMatch) *s3err.Error {
	name := table.Name()
	endpoint := strings.TrimSuffix(base, "/") + "/api/scan/" + url.PathEscape(name)
	return s3err.AccessDenied.WithMessage("Access to the files of table " + name +
		" is restricted for you (column, row or mask policy): query it through the scan API at " + endpoint)
}

// authorizeAndForward enforces the policy on a verified request and
// forwards what may go upstream.
func (h *Handler) authorizeAndForward(w http.ResponseWriter, r *http.Request, req *request.Request, auth *sigv4.Result) {
	p := h.opts.Authorizer.SessionPrincipal(auth.Credential.Owner, sessionOf(auth.Credential))
	xOf(w).principal(p)
	call := upstream.Call{
		Bucket: req.Bucket, Key: req.Key, Auth: auth,
		Operation: string(req.Operation), VirtualHost: req.HostBucket != "",
		LogError: h.upstreamErrorLog(w, r),
	}
	if len(req.Hoisted) > 0 && auth.Kind != sigv4.HeaderV4 && auth.Kind != sigv4.PresignedV4 {
		// SigV2 signs a few sub-resources of the query, never these: anyone
		// holding the URL could add them.
		h.fail(w, r, s3err.InvalidArgument.WithMessage("x-amz-* query parameters are accepted only with Signature Version 4, which signs them."))
		return
	}
	acc := req.Operation.Access()
	bucketAll, err := h.decideBucketAll(p, req.Bucket, req.BucketAll)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var reason string
	var extraURIs []string
	switch acc.Scope {
	case request.ScopeEachKey:
		h.deleteObjects(w, r, req, p, call, bucketAll)
		return
	case request.ScopeService:
		// Every user may list buckets (the list is filtered below), but
		// one outside the required group is refused outright.
		d := h.opts.Authorizer.Decide(p, acc, "", "")
		if !d.Allowed {
			h.fail(w, r, denied(d))
			return
		}
		reason = d.Reason
		// A SERVER grant covers every bucket (the view of no bucket sees
		// all only through one): only the owner, the upstream's account,
		// is removed.
		if h.viewAny(p, "", acc.AnyOf).All() {
			reason = "a SERVER grant shows every bucket"
			call.ModifyResponse = filterOn200(func(dst io.Writer, src io.Reader) error {
				_, err := s3xml.FilterBuckets(dst, src, func(string) bool { return true }, nil)
				return err
			})
			break
		}
		// A page of a filtered list would say, by being empty yet
		// truncated, that hidden buckets exist and what they start with.
		if req.Query.Has("max-buckets") || req.Query.Has("continuation-token") {
			h.fail(w, r, s3err.NotImplemented.WithMessage("Paginated ListBuckets is only for users who may see every bucket."))
			return
		}
		call.ModifyResponse = filterOn200(func(dst io.Writer, src io.Reader) error {
			_, err := s3xml.FilterBuckets(dst, src, func(b string) bool { return h.opts.Authorizer.BucketVisible(p, b) }, h.seal())
			return err
		})
	case request.ScopeListing:
		var done bool
		if reason, done = h.authorizeListing(w, r, req, p, acc, &call); done {
			return
		}
	default:
		if req.Operation == "PostObject" {
			// Browser uploads (multipart forms) are authorized in
			// servePostForm; any other POST to a bucket is not S3.
			h.fail(w, r, denied(authz.Decision{Reason: "a POST to a bucket that is not a form upload"}))
			return
		}
		d := h.opts.Authorizer.Decide(p, acc, req.Bucket, req.Key)
		if !d.Allowed {
			h.fail(w, r, denied(d))
			return
		}
		reason = d.Reason
		xOf(w).table(d.Table)
		if req.Operation == "ListParts" {
			// The initiator and owner name the upstream's identities.
			call.ModifyResponse = filterOn200(s3xml.FilterParts)
		}
		if req.Operation == "CopyObject" || req.Operation == "UploadPartCopy" {
			src, err := request.ParseCopySource(r.Header.Get("X-Amz-Copy-Source"))
			if err != nil {
				h.fail(w, r, err)
				return
			}
			read := request.Access{Scope: request.ScopeObject, AnyOf: grants.Privileges(grants.Select)}
			sd := h.opts.Authorizer.Decide(p, read, src.Bucket, src.Key)
			if !sd.Allowed {
				h.fail(w, r, denied(sd))
				return
			}
			reason += "; copy source: " + sd.Reason
			if x := xOf(w); x != nil && sd.Table != nil {
				x.ev.SourceTable = sd.Table.Name()
			}
			r.Header.Set("X-Amz-Copy-Source", src.Header())
			extraURIs = append(extraURIs, s3URI(src.Bucket, src.Key))
		}
	}
	if !h.admit(w, r, acc.AnyOf.String(), reason+bucketAll, extraURIs...) {
		return
	}
	if call.ModifyResponse != nil {
		identityEncoding(r)
	}
	h.watchBody(w, r)
	h.opts.Upstream.Forward(w, r, call, h.fail)
}

// identityEncoding asks the upstream for an unencoded body, which a filter
// can read: MinIO gzips listings for clients that accept it. Go's HTTP
// client decodes gzip itself, and other clients send no Accept-Encoding
// for S3, so they are served the same.
func identityEncoding(r *http.Request) {
	r.Header.Del("Accept-Encoding")
}

var listKinds = map[request.Operation]s3xml.ListKind{
	"ListObjects":          s3xml.ListObjects,
	"ListObjectsV2":        s3xml.ListObjectsV2,
	"ListObjectVersions":   s3xml.ListObjectVersions,
	"ListMultipartUploads": s3xml.ListMultipartUploads,
}

// sealedPrefix starts every sealed marker (s3xml.Sealer).
const sealedPrefix = "lg1."

// seal is the sealing function for s3xml, nil without a sealer (markers
// that would leak a name are then dropped).
func (h *Handler) seal() func(string) string {
	if h.sealer == nil {
		return nil
	}
	return h.sealer.Seal
}

// errEncodedBody is the failure of a filter handed an encoded body.
var errEncodedBody = errors.New("gateway: the upstream sent a content-encoded body to filter")

// filterOn200 rewrites successful response bodies through filter as they
// stream; errors and other statuses pass unchanged. The caller must have
// removed Accept-Encoding from the request (see identityEncoding); an
// encoded body anyway fails the response rather than reach the client
// unfiltered.
func filterOn200(filter func(dst io.Writer, src io.Reader) error) func(*http.Response) error {
	return func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
			return errEncodedBody
		}
		src := resp.Body
		pr, pw := io.Pipe()
		go func() {
			err := filter(pw, src)
			_ = src.Close()
			_ = pw.CloseWithError(err)
		}()
		resp.Body = pr
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
		resp.Header.Del("Content-Md5")
		return nil
	}
}

// deleteObjects authorizes each key of a DeleteObjects body: allowed keys
// are deleted upstream, the others answered with per-key AccessDenied, as
// S3 itself reports per-key failures.
func (h *Handler) deleteObjects(w http.ResponseWriter, r *http.Request, req *request.Request, p authz.Principal, call upstream.Call, bucketAll string) {
	h.watchBody(w, r)
	body := call.Auth.NewPayloadReader(r.Body, r.ContentLength)
	raw, err := io.ReadAll(io.LimitReader(body, maxDeleteBody+1))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(raw) > maxDeleteBody {
		h.fail(w, r, s3err.MalformedXML.WithMessage("The DeleteObjects request body is too large."))
		return
	}
	del, err := s3xml.ParseDelete(bytes.NewReader(raw), maxDeleteBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	acc := req.Operation.Access()
	var allowed, refused []s3xml.ObjectID
	var uris []string
	// keysTable is the table all allowed keys lie in (nil if none or not
	// all); mixedTables says they do not share one.
	var keysTable *policy.TableMatch
	mixedTables := false
	for _, o := range del.Objects {
		uris = append(uris, s3URI(req.Bucket, o.Key))
		d := h.opts.Authorizer.Decide(p, acc, req.Bucket, o.Key)
		if d.Unavailable {
			// No decision (the policy is stale or its server away): the
			// whole request is refused as retryable, not its keys as
			// denied.
			h.fail(w, r, denied(d))
			return
		}
		// A key with '.' or '..' segments names different objects on
		// different S3 servers; it is refused like such a request path.
		if d.Allowed && !s3name.HasDotSegment(o.Key) {
			allowed = append(allowed, o)
			keysTable, mixedTables = sameTable(keysTable, d.Table, len(allowed) == 1, mixedTables)
		} else {
			refused = append(refused, o)
		}
	}
	x := xOf(w)
	if x != nil {
		x.ev.URIs = uris
		if !mixedTables {
			x.table(keysTable)
		}
	}
	if len(allowed) == 0 {
		if x != nil {
			x.ev.Decision, x.ev.Privilege = audit.DecisionDeny, acc.AnyOf.String()
			x.ev.Reason = fmt.Sprintf("DeleteObjects: none of the %d keys may be deleted", len(refused))
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		_ = s3xml.WriteDeleteResult(w, nil, refused)
		return
	}
	// The upstream gets the request as parsed here, never the client's
	// bytes: another XML parser could read different keys from them.
	sub := &s3xml.DeleteRequest{Quiet: del.Quiet, Objects: allowed}
	call.Body = sub.Marshal()
	if len(refused) > 0 {
		call.ModifyResponse = filterOn200(func(dst io.Writer, src io.Reader) error {
			return s3xml.WriteDeleteResult(dst, src, refused)
		})
		identityEncoding(r)
	}
	if !h.admit(w, r, acc.AnyOf.String(), fmt.Sprintf("DeleteObjects: %d of %d keys may be deleted; the others are answered AccessDenied%s",
		len(allowed), len(del.Objects), bucketAll)) {
		return
	}
	h.opts.Upstream.Forward(w, r, call, h.fail)
}

// sameTable folds the table of one more allowed key of a DeleteObjects
// into the table of the keys before it: all of them lie in one table
// (and, for the partition to be kept, in one partition) or not.
func sameTable(acc, next *policy.TableMatch, first, mixed bool) (*policy.TableMatch, bool) {
	switch {
	case mixed:
		return nil, true
	case first:
		return next, false
	case acc == nil || next == nil || acc.Database != next.Database || acc.Table != next.Table:
		return nil, true
	case acc.Partition != next.Partition:
		c := *acc
		c.Partition = ""
		return &c, false
	}
	return acc, false
}

// bucketAllAccess is what a header that changes an operation's meaning
// needs: ALL on the bucket.
var bucketAllAccess = request.Access{Scope: request.ScopeBucket, AnyOf: grants.Privileges(grants.All)}

// decideBucketAll decides the headers (or form fields) of a request that
// need ALL on the bucket besides the operation's privilege (object lock,
// governance bypass, ACLs, MinIO's tar auto-extract). It returns the part
// of the audit reason that says so, "" when there are none.
func (h *Handler) decideBucketAll(p authz.Principal, bucket string, names []string) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	d := h.opts.Authorizer.Decide(p, bucketAllAccess, bucket, "")
	if !d.Allowed {
		d.Reason = strings.Join(names, ", ") + " needs ALL on the bucket: " + d.Reason
		return "", denied(d)
	}
	return "; " + strings.Join(names, ", ") + ": " + d.Reason, nil
}

// authorizePostForm authorizes a browser upload. Its key is the one the
// upload writes, form.Key(): the template with ${filename} replaced by the
// file's base name, the key the policy was checked against and the
// upstream is sent. It is authorized at object scope like any key (the
// file name is the client's choice, so it is held to the same rules as
// the rest of the key by form.CheckKey): a grant on a prefix covers
// prefix/${filename} exactly when the key made is under the prefix. Every
// form field must be one S3 documents; those that change what the upload
// does (acl, object lock) need ALL on the bucket.
func (h *Handler) authorizePostForm(auth *sigv4.Result, bucket string, form *upstream.PostForm) (authz.Decision, error) {
	p := h.opts.Authorizer.SessionPrincipal(auth.Credential.Owner, sessionOf(auth.Credential))
	var bucketAll []string
	for _, f := range form.Fields {
		need, ok := request.FormField(f.Name, f.Value)
		if !ok {
			return authz.Decision{}, s3err.NotImplemented.WithMessage("The form field " + strconv.Quote(f.Name) + " is not supported by this proxy.")
		}
		if need == request.BucketAll {
			bucketAll = append(bucketAll, strings.ToLower(f.Name))
		}
		if strings.EqualFold(f.Name, "bucket") && f.Value != bucket {
			return authz.Decision{}, s3err.InvalidArgument.WithMessage("The form's bucket field names another bucket than the request.")
		}
	}
	if err := form.CheckKey(); err != nil {
		return authz.Decision{}, err
	}
	d := h.opts.Authorizer.Decide(p, request.Operation("PostObject").Access(), bucket, form.Key())
	if !d.Allowed {
		return d, denied(d)
	}
	extra, err := h.decideBucketAll(p, bucket, bucketAll)
	if err != nil {
		return d, err
	}
	d.Reason += extra
	return d, nil
}
