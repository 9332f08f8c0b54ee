package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
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

// denied is the error of a refused request. The reason stays in the log;
// the client gets S3's plain AccessDenied.
func denied(d authz.Decision) error {
	if d.Unavailable {
		return fmt.Errorf("%w (%s)", s3err.PolicyUnavailable, d.Reason)
	}
	return &deniedError{reason: d.Reason}
}

type deniedError struct{ reason string }

func (e *deniedError) Error() string { return "access denied: " + e.reason }

// authorizeAndForward enforces the policy on a verified request and
// forwards what may go upstream.
func (h *Handler) authorizeAndForward(w http.ResponseWriter, r *http.Request, req *request.Request, auth *sigv4.Result) {
	p := h.opts.Authorizer.SessionPrincipal(auth.Credential.Owner, sessionOf(auth.Credential))
	xOf(w).principal(p)
	call := upstream.Call{
		Bucket: req.Bucket, Key: req.Key, Auth: auth,
		Operation: string(req.Operation), VirtualHost: req.HostBucket != "",
	}
	acc := req.Operation.Access()
	var reason string
	var extraURIs []string
	switch acc.Scope {
	case request.ScopeEachKey:
		h.deleteObjects(w, r, req, p, call)
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
		// all only through one): nothing to filter.
		if h.opts.Authorizer.View(p, "", grants.Show).All() {
			reason = "a SERVER grant shows every bucket"
			break
		}
		call.ModifyResponse = filterOn200(func(dst io.Writer, src io.Reader) error {
			_, err := s3xml.FilterBuckets(dst, src, func(b string) bool { return h.opts.Authorizer.BucketVisible(p, b) }, h.seal())
			return err
		})
	case request.ScopeListing:
		// The view decides the listing (View.Prefix is the listing rule of
		// Decide: SHOW covers the prefix or a grant lies below it) and
		// then filters it, so the grants are gathered once; Decide only
		// explains a refusal.
		view := h.opts.Authorizer.View(p, req.Bucket, grants.Show)
		if !view.Prefix(req.ListPrefix()) {
			h.fail(w, r, denied(h.opts.Authorizer.Decide(p, acc, req.Bucket, req.ListPrefix())))
			return
		}
		reason = "SHOW covers the listing's prefix or lies below it; the listing shows only what the grants cover"
		if err := h.unsealMarkers(r, req); err != nil {
			h.fail(w, r, err)
			return
		}
		// Every key a listing returns starts with its prefix: when the
		// grants cover all of those, there is nothing to filter.
		if !view.Under(req.ListPrefix()) {
			kind := listKinds[req.Operation]
			opts := s3xml.FilterOptions{URLEncoded: req.Query.Get("encoding-type") == "url", Seal: h.seal()}
			call.ModifyResponse = filterOn200(func(dst io.Writer, src io.Reader) error {
				_, err := s3xml.FilterList(dst, src, kind, view, opts)
				return err
			})
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
			extraURIs = append(extraURIs, s3URI(src.Bucket, src.Key))
		}
	}
	if !h.admit(w, r, acc.AnyOf.String(), reason, extraURIs...) {
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

// markerParams are the listing parameters into which clients copy the
// markers and tokens of a previous page, which may be sealed.
var markerParams = []string{"marker", "continuation-token", "key-marker", "version-id-marker", "upload-id-marker"}

// sealedPrefix starts every sealed marker (s3xml.Sealer).
const sealedPrefix = "lg1."

// unsealMarkers replaces sealed markers in the request's query by what
// they seal, for the upstream. Verification is done, so the query may
// change. A value that looks sealed but does not open (forged, or sealed
// with another key) is refused.
func (h *Handler) unsealMarkers(r *http.Request, req *request.Request) error {
	if h.sealer == nil {
		return nil
	}
	var q url.Values
	for _, name := range markerParams {
		v := req.Query.Get(name)
		if !strings.HasPrefix(v, sealedPrefix) {
			continue
		}
		plain, ok := h.sealer.Open(v)
		if !ok {
			return s3err.InvalidArgument.WithMessage("The " + name + " is not one this proxy issued.")
		}
		if q == nil {
			q = maps.Clone(req.Query)
		}
		q.Set(name, plain)
	}
	if q != nil {
		r.URL.RawQuery = q.Encode()
	}
	return nil
}

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
func (h *Handler) deleteObjects(w http.ResponseWriter, r *http.Request, req *request.Request, p authz.Principal, call upstream.Call) {
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
	for _, o := range del.Objects {
		uris = append(uris, s3URI(req.Bucket, o.Key))
		d := h.opts.Authorizer.Decide(p, acc, req.Bucket, o.Key)
		// A key with '.' or '..' segments names different objects on
		// different S3 servers; it is refused like such a request path.
		if d.Allowed && !s3name.HasDotSegment(o.Key) {
			allowed = append(allowed, o)
		} else {
			refused = append(refused, o)
		}
	}
	x := xOf(w)
	if x != nil {
		x.ev.URIs = uris
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
	if !h.admit(w, r, acc.AnyOf.String(), fmt.Sprintf("DeleteObjects: %d of %d keys may be deleted; the others are answered AccessDenied",
		len(allowed), len(del.Objects))) {
		return
	}
	h.opts.Upstream.Forward(w, r, call, h.fail)
}

// filenameVar is the POST form key placeholder S3 replaces with the name of
// the uploaded file.
const filenameVar = "${filename}"

// authorizePostForm authorizes a browser upload of key. A key with
// ${filename} names an object the client picks when it sends the file,
// after this decision, so it needs INSERT on the whole bucket.
func (h *Handler) authorizePostForm(auth *sigv4.Result, bucket, key string) (authz.Decision, error) {
	p := h.opts.Authorizer.SessionPrincipal(auth.Credential.Owner, sessionOf(auth.Credential))
	acc := request.Operation("PostObject").Access()
	if strings.Contains(key, filenameVar) {
		acc.Scope, key = request.ScopeBucket, ""
	} else if s3name.HasDotSegment(key) {
		return authz.Decision{}, s3err.InvalidArgument.WithMessage("Object keys with '.' or '..' path segments are not accepted by this proxy.")
	}
	d := h.opts.Authorizer.Decide(p, acc, bucket, key)
	if !d.Allowed {
		return d, denied(d)
	}
	return d, nil
}
