package gateway

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3xml"
	"github.com/lakegate/lakegate/internal/upstream"
)

// Listings.
//
// A listing whose prefix the user's grants cover entirely goes upstream as
// the client sent it; only the owners of its entries are removed on the way
// back (they name the upstream's identities). Any other listing is
// answered by the proxy itself: it lists upstream, with its own signed
// requests, only the granted parts of the bucket that start with the
// requested prefix (each granted path ending in '/', or a granted object
// and the tree below it), in key order, and composes the client's page from
// what it found: max-keys counts visible entries, common prefixes are
// rolled up from visible keys, and IsTruncated, the markers, KeyCount and
// the continuation token are computed from visible entries only. The
// client's markers are positions, not upstream parameters: a marker naming
// a hidden key gives the same page as any other name between the same two
// visible entries. So no answer depends on a key the user cannot see.
//
// ListMultipartUploads is answered the same way, but from one scan of the
// requested prefix (MinIO lists uploads under a prefix only when the
// prefix names the object), keeping the first max-uploads visible uploads
// in (key, upload id) order.

// maxListKeys is S3's cap on max-keys and max-uploads.
const maxListKeys = 1000

// maxListPages bounds the upstream pages one client page may need (a scope
// is listed at most until the client's page is full, so this is reached
// only when uploads of a huge bucket are scanned).
const maxListPages = 1000

// cursorPrefix starts the plaintext of the V2 continuation tokens the proxy
// issues: a position, the last name of the page.
const cursorPrefix = "c1:"

// authorizeListing authorizes a listing and either prepares call to forward
// it (done false, with the reason to audit) or answers it itself (done
// true, including refusals).
func (h *Handler) authorizeListing(w http.ResponseWriter, r *http.Request, req *request.Request, p authz.Principal, acc request.Access, call *upstream.Call) (reason string, done bool) {
	// The view decides the listing (View.Prefix is the listing rule of
	// Decide: a privilege of the operation, SHOW or SELECT, covers the
	// prefix or a grant of one lies below it) and then shapes it, so the
	// grants are gathered once; Decide only explains a refusal.
	prefix := req.ListPrefix()
	view := h.viewAny(p, req.Bucket, acc.AnyOf)
	privs := strings.ReplaceAll(acc.AnyOf.String(), ", ", " or ")
	if !view.Prefix(prefix) {
		h.fail(w, r, denied(h.opts.Authorizer.Decide(p, acc, req.Bucket, prefix)))
		return "", true
	}
	kind := listKinds[req.Operation]
	// Every key a listing returns starts with its prefix: when the grants
	// cover all of those, the upstream's answer reveals nothing hidden,
	// provided the upstream is asked about nothing hidden either (a key
	// marker naming a hidden key with a version id marker beside it). A
	// continuation token the proxy issued is a position only it reads.
	if view.Under(prefix) && visibleMarkers(req.Query, view) {
		h.listingTable(w, p, acc, req.Bucket, prefix)
		call.ModifyResponse = filterOn200(func(dst io.Writer, src io.Reader) error {
			_, err := s3xml.FilterList(dst, src, kind, everything{}, s3xml.FilterOptions{})
			return err
		})
		return privs + " covers every key under the listing's prefix", false
	}
	lq, err := h.parseListQuery(req, kind)
	if err != nil {
		h.fail(w, r, err)
		return "", true
	}
	if !h.admit(w, r, acc.AnyOf.String(), privs+" lies below the listing's prefix; the proxy lists only what the grants cover") {
		return "", true
	}
	res, err := h.list(r.Context(), view, lq)
	if err != nil {
		h.fail(w, r, err)
		return "", true
	}
	var body bytes.Buffer
	if err := s3xml.WriteResult(&body, res); err != nil {
		h.fail(w, r, err)
		return "", true
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/xml")
	hd.Set("Content-Length", strconv.Itoa(body.Len()))
	if x := xOf(w); x != nil {
		hd.Set("x-amz-request-id", x.ev.RequestID)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
	return "", true
}

// listingTable records in the audit event the table (and partition) of a
// listing whose prefix lies under a table's location and is covered by a
// grant on it: the object decision on the prefix names it. (On an nScale
// proxy that decision is one the user permission cache answers.)
func (h *Handler) listingTable(w http.ResponseWriter, p authz.Principal, acc request.Access, bucket, prefix string) {
	x := xOf(w)
	if x == nil || prefix == "" {
		return
	}
	d := h.opts.Authorizer.Decide(p, request.Access{Scope: request.ScopeObject, AnyOf: acc.AnyOf}, bucket, prefix)
	if d.Allowed {
		x.table(d.Table)
	}
}

// viewAny is what p may see of bucket through any privilege of privs
// (policy.ViewAny, as authz decides listings).
func (h *Handler) viewAny(p authz.Principal, bucket string, privs grants.Privileges) *policy.View {
	return policy.ViewAny(privs, func(priv grants.Privilege) *policy.View {
		return h.opts.Authorizer.View(p, bucket, priv)
	})
}

// positionParams are the listing parameters that name keys to start after.
var positionParams = []string{"marker", "start-after", "key-marker"}

// visibleMarkers reports whether every key q names as a position is
// visible, and q has no continuation token of the proxy's.
func visibleMarkers(q url.Values, view *policy.View) bool {
	if tok := q.Get("continuation-token"); strings.HasPrefix(tok, sealedPrefix) || strings.HasPrefix(tok, cursorPrefix) {
		return false
	}
	for _, name := range positionParams {
		if m := q.Get(name); m != "" && !view.Key(m) {
			return false
		}
	}
	return true
}

// everything is the Visibility of a listing the grants cover entirely.
type everything struct{}

func (everything) Key(string) bool    { return true }
func (everything) Prefix(string) bool { return true }

// listQuery is a client's listing as the proxy serves it.
type listQuery struct {
	bucket    string
	kind      s3xml.ListKind
	prefix    string
	delimiter string
	max       int
	// after and afterSub are the position the page starts after: a
	// name (key or common prefix), and for versions and uploads a version
	// or upload id of that key ("" for all of them).
	after, afterSub string
	// res holds what the page echoes.
	res s3xml.Result
}

// parseListQuery reads and checks the listing parameters of req.
func (h *Handler) parseListQuery(req *request.Request, kind s3xml.ListKind) (*listQuery, error) {
	q := req.Query
	lq := &listQuery{bucket: req.Bucket, kind: kind, prefix: q.Get("prefix"), delimiter: q.Get("delimiter")}
	switch enc := q.Get("encoding-type"); {
	case enc == "":
	case strings.EqualFold(enc, "url"):
		lq.res.URLEncoded = true
	default:
		return nil, s3err.InvalidArgument.WithMessage("Invalid Encoding Method specified in Request")
	}
	maxParam := "max-keys"
	if kind == s3xml.ListMultipartUploads {
		maxParam = "max-uploads"
	}
	lq.max = maxListKeys
	if v := q.Get(maxParam); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, s3err.InvalidArgument.WithMessage("Argument " + maxParam + " must be an integer between 0 and 2147483647")
		}
		lq.max = min(n, maxListKeys)
	}
	switch kind {
	case s3xml.ListObjects:
		lq.after = q.Get("marker")
		lq.res.Marker = lq.after
	case s3xml.ListObjectsV2:
		lq.after = q.Get("start-after")
		lq.res.Marker = lq.after
		if tok := q.Get("continuation-token"); tok != "" {
			pos, ok := h.openCursor(tok)
			if !ok {
				return nil, s3err.InvalidArgument.WithMessage("The continuation token provided is incorrect")
			}
			lq.after = pos // S3 ignores start-after on later pages
			lq.res.ContinuationToken = tok
		}
	case s3xml.ListObjectVersions, s3xml.ListMultipartUploads:
		sub := "version-id-marker"
		if kind == s3xml.ListMultipartUploads {
			sub = "upload-id-marker"
		}
		lq.after, lq.afterSub = q.Get("key-marker"), q.Get(sub)
		if lq.after == "" && lq.afterSub != "" {
			if kind == s3xml.ListObjectVersions {
				return nil, s3err.InvalidArgument.WithMessage("A version-id marker cannot be specified without a key marker.")
			}
			lq.afterSub = "" // S3 ignores an upload-id-marker without a key-marker
		}
		lq.res.Marker, lq.res.SubMarker = lq.after, lq.afterSub
	}
	lq.res.Kind, lq.res.Bucket, lq.res.Prefix, lq.res.Delimiter, lq.res.MaxKeys = kind, req.Bucket, lq.prefix, lq.delimiter, lq.max
	return lq, nil
}

// cursor is the V2 continuation token of a page ending at name.
func (h *Handler) cursor(name string) string {
	if h.sealer == nil {
		return cursorPrefix + name
	}
	return h.sealer.Seal(cursorPrefix + name)
}

// openCursor returns the position a token made by cursor holds.
func (h *Handler) openCursor(tok string) (string, bool) {
	if h.sealer != nil {
		var ok bool
		if tok, ok = h.sealer.Open(tok); !ok {
			return "", false
		}
	}
	return strings.CutPrefix(tok, cursorPrefix)
}

// rollUp returns the name under which a listing shows name: the common
// prefix it falls in (up to and including the first delimiter after the
// listing's prefix), or name itself. name starts with the prefix. For
// names in key order the results are in order too, so equal common
// prefixes are adjacent.
func (lq *listQuery) rollUp(name string) (shown string, isPrefix bool) {
	if lq.delimiter == "" {
		return name, false
	}
	if i := strings.Index(name[len(lq.prefix):], lq.delimiter); i >= 0 {
		return name[:len(lq.prefix)+i+len(lq.delimiter)], true
	}
	return name, false
}

// scope is one granted part of a bucket: the object path (exact) or
// every key starting with path.
type scope struct {
	path  string
	exact bool
}

func (s scope) covers(name string) bool {
	if s.exact {
		return name == s.path
	}
	return strings.HasPrefix(name, s.path)
}

// listScopes returns the granted parts of the bucket under prefix, in key
// order and disjoint, for a view that does not cover prefix entirely
// (View.Under is false): only grants starting with prefix then matter.
// A grant on a path ending in '/' covers the keys starting with it; one on
// any other path covers that object and the keys starting with path + "/".
func listScopes(view *policy.View, prefix string) []scope {
	var all []scope
	for _, g := range view.Paths() {
		if !strings.HasPrefix(g, prefix) {
			continue
		}
		if strings.HasSuffix(g, "/") {
			all = append(all, scope{path: g})
			continue
		}
		all = append(all, scope{path: g, exact: true}, scope{path: g + "/"})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].path < all[j].path })
	var out []scope
	lastTree := ""
	for _, s := range all {
		if lastTree != "" && strings.HasPrefix(s.path, lastTree) {
			continue // inside a tree already listed
		}
		if n := len(out); n > 0 && out[n-1] == s {
			continue
		}
		out = append(out, s)
		if !s.exact {
			lastTree = s.path
		}
	}
	return out
}

// list composes the page lq asks for from what view may see.
func (h *Handler) list(ctx context.Context, view *policy.View, lq *listQuery) (*s3xml.Result, error) {
	c := &collector{lq: lq, view: view, limit: lq.max + 1}
	res := lq.res
	if lq.max == 0 {
		return &res, nil
	}
	var err error
	if lq.kind == s3xml.ListMultipartUploads {
		err = h.scanUploads(ctx, c)
	} else {
		for _, s := range listScopes(view, lq.prefix) {
			if c.full() {
				break
			}
			if err = h.listScope(ctx, c, s); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	res.Entries = c.out
	if len(c.out) > lq.max {
		res.Entries = c.out[:lq.max]
		res.IsTruncated = true
		last := res.Entries[lq.max-1]
		res.NextMarker = last.Name
		switch last.Kind {
		case s3xml.EntryVersion, s3xml.EntryDeleteMarker:
			res.NextSubMarker = last.VersionID
		case s3xml.EntryUpload:
			res.NextSubMarker = last.UploadID
		}
		if lq.kind == s3xml.ListObjectsV2 {
			res.NextMarker = ""
			res.NextContinuationToken = h.cursor(last.Name)
		}
	}
	return &res, nil
}

// collector gathers the visible entries of a page in listing order, one
// more than the page holds (to know whether it is truncated).
type collector struct {
	lq    *listQuery
	view  *policy.View
	limit int
	out   []s3xml.Entry
}

func (c *collector) full() bool { return len(c.out) >= c.limit }

// after reports whether an entry shown as name (a common prefix when
// isPrefix) lies after the page's start position.
func (c *collector) after(name string, isPrefix bool) bool {
	switch strings.Compare(name, c.lq.after) {
	case 1:
		return true
	case 0:
		// Only versions of the marker key after its version-id-marker:
		// the upstream was asked for exactly those.
		return !isPrefix && c.lq.afterSub != "" && c.lq.kind == s3xml.ListObjectVersions
	}
	return false
}

// add appends an upstream entry of a granted scope, as the listing shows
// it, if it is visible and after the start position.
func (c *collector) add(e s3xml.Entry) {
	if c.full() || !strings.HasPrefix(e.Name, c.lq.prefix) {
		return
	}
	shown, isPrefix := c.lq.rollUp(e.Name)
	switch {
	case e.Kind == s3xml.EntryPrefix && !isPrefix:
		return // an upstream common prefix without the delimiter
	case isPrefix && !c.view.Prefix(shown):
		return
	case !isPrefix && !c.view.Key(e.Name):
		return
	case !c.after(shown, isPrefix):
		return
	}
	if n := len(c.out); n > 0 {
		// Names come in key order (the versions of a key share it); an
		// upstream that repeats or goes back is not followed, so that a
		// page always moves on.
		last := c.out[n-1]
		if shown < last.Name || shown == last.Name && (isPrefix || c.lq.kind != s3xml.ListObjectVersions) {
			return
		}
	}
	if isPrefix {
		e = s3xml.Entry{Kind: s3xml.EntryPrefix, Name: shown}
	}
	c.out = append(c.out, e)
}

// listScope adds the entries of one granted scope, in key order, until
// the page is full.
func (h *Handler) listScope(ctx context.Context, c *collector, s scope) error {
	lq := c.lq
	q := url.Values{"prefix": {s.path}, "encoding-type": {"url"}}
	versions := lq.kind == s3xml.ListObjectVersions
	if versions {
		q.Set("versions", "")
	} else {
		q.Set("list-type", "2")
	}
	// probe: one entry tells all the scope can add (an object, or a
	// common prefix that holds the whole scope).
	probe := false
	shown, isPrefix := lq.rollUp(s.path)
	switch {
	case isPrefix && len(shown) <= len(s.path):
		// The delimiter falls inside the scope's path: the scope is one
		// common prefix, shown if it holds anything.
		if !c.after(shown, true) {
			return nil
		}
		if n := len(c.out); n > 0 && c.out[n-1].Kind == s3xml.EntryPrefix && c.out[n-1].Name == shown {
			return nil
		}
		probe = true
	case s.exact && !versions:
		if !c.after(shown, false) {
			return nil
		}
		probe = true
	case s.exact:
		// The object's versions come first among the keys starting with
		// its path.
		if !c.after(shown, false) {
			return nil
		}
		if shown == lq.after && lq.afterSub != "" {
			q.Set("key-marker", lq.after)
			q.Set("version-id-marker", lq.afterSub)
		}
	default:
		if lq.after > s.path && !strings.HasPrefix(lq.after, s.path) {
			return nil // the whole scope lies before the start
		}
		if lq.delimiter != "" {
			q.Set("delimiter", lq.delimiter)
		}
		if lq.after >= s.path {
			if versions {
				q.Set("key-marker", lq.after)
				if lq.afterSub != "" && c.view.Key(lq.after) {
					q.Set("version-id-marker", lq.afterSub)
				}
			} else {
				q.Set("start-after", lq.after)
			}
		}
	}
	if probe {
		q.Set("max-keys", "1")
	} else {
		q.Set("max-keys", strconv.Itoa(maxListKeys))
	}
	for range maxListPages {
		page, err := h.listPage(ctx, lq.bucket, lq.kind, q)
		if err != nil {
			return err
		}
		// S3 writes a page's common prefixes after its other entries;
		// together they are one range of names.
		slices.SortStableFunc(page.Entries, func(a, b s3xml.Entry) int { return strings.Compare(a.Name, b.Name) })
		for _, e := range page.Entries {
			if !s.covers(e.Name) {
				if s.exact {
					return nil // past the object's own entries
				}
				continue
			}
			c.add(e)
			if probe || c.full() {
				return nil
			}
		}
		if probe || !page.IsTruncated {
			return nil
		}
		before := q.Encode()
		if versions {
			if page.NextKeyMarker == "" {
				return nil
			}
			q.Set("key-marker", page.NextKeyMarker)
			q.Set("version-id-marker", page.NextVersionIDMarker)
		} else {
			if page.NextContinuationToken == "" {
				return nil
			}
			q.Del("start-after")
			q.Set("continuation-token", page.NextContinuationToken)
		}
		if q.Encode() == before {
			return fmt.Errorf("gateway: the upstream listing of %s under %q does not move on: %w", lq.bucket, s.path, s3err.BadGateway)
		}
	}
	return fmt.Errorf("gateway: listing %s under %q takes more than %d upstream pages: %w", lq.bucket, s.path, maxListPages, s3err.ServiceUnavailable)
}

// scanUploads adds the first visible uploads under the prefix, in (key,
// upload id) order after the start position, from a scan of every upload
// under the prefix.
func (h *Handler) scanUploads(ctx context.Context, c *collector) error {
	lq := c.lq
	q := url.Values{"uploads": {""}, "encoding-type": {"url"}, "max-uploads": {strconv.Itoa(maxListKeys)}}
	if lq.prefix != "" {
		q.Set("prefix", lq.prefix)
	}
	for range maxListPages {
		page, err := h.listPage(ctx, lq.bucket, lq.kind, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if e.Kind == s3xml.EntryUpload && strings.HasPrefix(e.Name, lq.prefix) && c.view.Key(e.Name) {
				c.insertUpload(e)
			}
		}
		if !page.IsTruncated || page.NextKeyMarker == "" && page.NextUploadIDMarker == "" {
			return nil
		}
		q.Set("key-marker", page.NextKeyMarker)
		q.Set("upload-id-marker", page.NextUploadIDMarker)
	}
	return fmt.Errorf("gateway: listing the uploads of %s takes more than %d upstream pages: %w", lq.bucket, maxListPages, s3err.ServiceUnavailable)
}

// insertUpload puts a visible upload in its place among the first entries
// after the start position, ordered by shown name then upload id.
func (c *collector) insertUpload(e s3xml.Entry) {
	lq := c.lq
	shown, isPrefix := lq.rollUp(e.Name)
	id := e.UploadID
	if isPrefix {
		e, id = s3xml.Entry{Kind: s3xml.EntryPrefix, Name: shown}, ""
	}
	switch strings.Compare(shown, lq.after) {
	case -1:
		return
	case 0:
		if isPrefix || lq.afterSub == "" || id <= lq.afterSub {
			return
		}
	}
	less := func(i int) bool {
		o := c.out[i]
		return o.Name > shown || o.Name == shown && o.UploadID >= id
	}
	i := sort.Search(len(c.out), less)
	if i < len(c.out) && c.out[i].Name == shown && (isPrefix || c.out[i].UploadID == id) {
		return // the common prefix is there already
	}
	if i >= c.limit {
		return
	}
	c.out = append(c.out, s3xml.Entry{})
	copy(c.out[i+1:], c.out[i:])
	c.out[i] = e
	if len(c.out) > c.limit {
		c.out = c.out[:c.limit]
	}
}

// maxListError bounds the upstream error body read to name the error.
const maxListError = 64 << 10

// listPage fetches and parses one upstream listing page.
func (h *Handler) listPage(ctx context.Context, bucket string, kind s3xml.ListKind, q url.Values) (*s3xml.Page, error) {
	resp, err := h.opts.Upstream.List(ctx, bucket, q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Code string }
		_ = xml.NewDecoder(io.LimitReader(resp.Body, maxListError)).Decode(&e)
		return nil, fmt.Errorf("gateway: upstream listing of %s: %d %q: %w", bucket, resp.StatusCode, e.Code, listError(e.Code))
	}
	return s3xml.ParsePage(resp.Body, kind)
}

// listError is the client's error for an upstream listing failure: the
// codes a client may act on pass, anything else (the upstream refusing the
// proxy's own credentials, say) is the proxy's failure.
func listError(code string) *s3err.Error {
	switch code {
	case "NoSuchBucket":
		return &s3err.Error{Code: code, Message: "The specified bucket does not exist", Status: http.StatusNotFound}
	case "InvalidArgument":
		return s3err.InvalidArgument
	case "SlowDown", "ServiceUnavailable":
		return s3err.ServiceUnavailable
	}
	return s3err.BadGateway.WithMessage("The upstream storage service could not list the bucket.")
}
