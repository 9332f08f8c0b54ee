package gateway

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3xml"
)

// fakeLister answers ListObjectsV2, ListObjectVersions and
// ListMultipartUploads over a fixed set of keys, by S3's rules: names in
// key order, rolled up into common prefixes at the first delimiter after
// the prefix, a page of max-keys names, and markers as positions (every
// name after the marker). Each key has two versions ("v2" latest, "v1")
// and one upload ("u-" + key). ignoreEncoding makes it send raw names
// whatever encoding-type asks, as versitygw does.
type fakeLister struct {
	keys           []string // sorted
	ignoreEncoding bool
	calls          int
}

// fakeItem is one listed thing: a key with a version or upload id.
type fakeItem struct{ key, sub string }

func (f *fakeLister) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls++
	q := r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	kind, maxParam := s3xml.ListObjectsV2, "max-keys"
	switch {
	case q.Has("versions"):
		kind = s3xml.ListObjectVersions
	case q.Has("uploads"):
		kind, maxParam = s3xml.ListMultipartUploads, "max-uploads"
	}
	var items []fakeItem
	for _, k := range f.keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		switch kind {
		case s3xml.ListObjectVersions:
			items = append(items, fakeItem{k, "v2"}, fakeItem{k, "v1"})
		case s3xml.ListMultipartUploads:
			items = append(items, fakeItem{k, "u-" + k})
		default:
			items = append(items, fakeItem{k, ""})
		}
	}
	after, afterSub := q.Get("start-after"), ""
	if tok := q.Get("continuation-token"); tok != "" {
		after = tok
	}
	if kind != s3xml.ListObjectsV2 {
		after = q.Get("key-marker")
		afterSub = q.Get("version-id-marker") + q.Get("upload-id-marker")
	}
	max := 1000
	if v := q.Get(maxParam); v != "" {
		max, _ = strconv.Atoi(v)
	}
	res := s3xml.Result{Kind: kind, URLEncoded: q.Get("encoding-type") == "url" && !f.ignoreEncoding}
	lq := &listQuery{prefix: prefix, delimiter: delim}
	for _, it := range items {
		shown, isPrefix := lq.rollUp(it.key)
		switch {
		case afterSub == "" || isPrefix || it.key != after:
			if shown <= after {
				continue
			}
		case kind == s3xml.ListObjectVersions:
			// The marker key's versions after the marker version.
			if afterSub != "v2" || it.sub != "v1" {
				continue
			}
		case it.sub <= afterSub:
			continue
		}
		if n := len(res.Entries); n > 0 && isPrefix && res.Entries[n-1].Name == shown {
			continue
		}
		if len(res.Entries) == max {
			res.IsTruncated = true
			break
		}
		e := s3xml.Entry{Kind: s3xml.EntryObject, Name: it.key, Size: strconv.Itoa(len(it.key))}
		switch {
		case isPrefix:
			e = s3xml.Entry{Kind: s3xml.EntryPrefix, Name: shown}
		case kind == s3xml.ListObjectVersions:
			e.Kind, e.VersionID, e.IsLatest = s3xml.EntryVersion, it.sub, it.sub == "v2"
		case kind == s3xml.ListMultipartUploads:
			e.Kind, e.UploadID = s3xml.EntryUpload, it.sub
		}
		res.Entries = append(res.Entries, e)
	}
	if res.IsTruncated {
		last := res.Entries[len(res.Entries)-1]
		res.NextMarker, res.NextSubMarker, res.NextContinuationToken = last.Name, last.VersionID+last.UploadID, last.Name
	}
	var b bytes.Buffer
	_ = s3xml.WriteResult(&b, &res)
	_, _ = w.Write(b.Bytes())
}

// newListHandler is a Handler whose upstream is f (no sealer, so that
// continuation tokens are deterministic).
func newListHandler(t *testing.T, f http.Handler) *Handler {
	t.Helper()
	var o Options
	signedPayloadsTo(t, f)(&o)
	return &Handler{opts: o}
}

// listQueryFor builds a listing query as parseListQuery would.
func listQueryFor(kind s3xml.ListKind, prefix, delim string, max int, after, afterSub string) *listQuery {
	lq := &listQuery{bucket: "b", kind: kind, prefix: prefix, delimiter: delim, max: max, after: after, afterSub: afterSub}
	lq.res = s3xml.Result{Kind: kind, Bucket: "b", Prefix: prefix, Delimiter: delim, MaxKeys: max, Marker: after, SubMarker: afterSub}
	return lq
}

// walk pages through a listing with page size max from after, following
// the markers each page returns, and returns every page.
func walk(t *testing.T, h *Handler, view *policy.View, kind s3xml.ListKind, prefix, delim string, max int, after string) []*s3xml.Result {
	t.Helper()
	var pages []*s3xml.Result
	sub := ""
	for range 200 {
		res, err := h.list(context.Background(), view, listQueryFor(kind, prefix, delim, max, after, sub))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, res)
		if !res.IsTruncated {
			return pages
		}
		after, sub = res.NextMarker, res.NextSubMarker
		if kind == s3xml.ListObjectsV2 {
			var ok bool
			if after, ok = h.openCursor(res.NextContinuationToken); !ok {
				t.Fatalf("token %q does not open", res.NextContinuationToken)
			}
		}
	}
	t.Fatal("more than 200 pages")
	return nil
}

func shownNames(pages []*s3xml.Result) []string {
	var out []string
	for _, p := range pages {
		for _, e := range p.Entries {
			out = append(out, e.Name+"@"+e.VersionID+e.UploadID)
		}
	}
	return out
}

func TestListScopes(t *testing.T) {
	tests := []struct {
		name   string
		grants []string
		prefix string
		want   []scope
	}{
		{"a grant ending in '/'", []string{"public/"}, "", []scope{{path: "public/"}}},
		{"an object grant covers the object and its tree", []string{"public"}, "pub", []scope{{"public", true}, {path: "public/"}}},
		{"grants not under the prefix are left out", []string{"public/", "data/"}, "p", []scope{{path: "public/"}}},
		{"grants inside a granted tree are listed with it", []string{"a/", "a/b/", "a/c", "a-b/"}, "", []scope{{path: "a-b/"}, {path: "a/"}}},
		{"an object and its tree granted twice", []string{"x", "x/"}, "", []scope{{"x", true}, {path: "x/"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := listScopes(policy.NewView(false, tc.grants), tc.prefix)
			if !slices.Equal(got, tc.want) {
				t.Errorf("scopes %v, want %v", got, tc.want)
			}
		})
	}
}

// TestListingOracleModel: over random buckets and grants, every paged
// listing the proxy composes is the same whether or not hidden keys exist,
// and equals what S3 itself answers for a bucket holding only the visible
// keys; a backend that ignores encoding-type changes nothing.
func TestListingOracleModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 34))
	alphabet := []string{"a", "b", "/", "p", "%2F", " ", "é"}
	name := func(n int) string {
		var b strings.Builder
		for range 1 + rng.IntN(n) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for trial := range 60 {
		grants := []string{name(3)}
		if rng.IntN(2) == 0 {
			grants = append(grants, name(3)+"/")
		}
		view := policy.NewView(false, grants)
		var all, visible []string
		for range 25 {
			all = append(all, name(5))
		}
		slices.Sort(all)
		all = slices.Compact(all)
		for _, k := range all {
			if view.Key(k) {
				visible = append(visible, k)
			}
		}
		full := newListHandler(t, &fakeLister{keys: all, ignoreEncoding: trial%2 == 1})
		bare := newListHandler(t, &fakeLister{keys: visible})
		for _, kind := range []s3xml.ListKind{s3xml.ListObjectsV2, s3xml.ListObjects, s3xml.ListObjectVersions, s3xml.ListMultipartUploads} {
			prefix := ""
			if rng.IntN(2) == 0 {
				prefix = grants[0][:rng.IntN(len(grants[0])+1)]
			}
			if view.Under(prefix) {
				continue // forwarded as is
			}
			delim := []string{"", "/", "b"}[rng.IntN(3)]
			max := 1 + rng.IntN(3)
			after := ""
			if rng.IntN(2) == 0 {
				after = name(4)
			}
			desc := fmt.Sprintf("trial %d %v grants %q keys %q prefix %q delimiter %q max %d after %q", trial, kind, grants, all, prefix, delim, max, after)
			got := walk(t, full, view, kind, prefix, delim, max, after)
			without := walk(t, bare, view, kind, prefix, delim, max, after)
			if g, w := fmt.Sprint(pagesText(got)), fmt.Sprint(pagesText(without)); g != w {
				t.Fatalf("%s: the pages depend on hidden keys:\n%s\nwithout them:\n%s", desc, g, w)
			}
			// S3's own answer over the visible keys alone, in one page.
			if g, w := shownNames(got), reference(t, visible, kind, prefix, delim, after); !slices.Equal(g, w) {
				t.Fatalf("%s: listed %q, want %q", desc, g, w)
			}
		}
	}
}

// reference is what fakeLister holding keys answers to one listing with
// no page limit.
func reference(t *testing.T, keys []string, kind s3xml.ListKind, prefix, delim, after string) []string {
	t.Helper()
	q := url.Values{"prefix": {prefix}, "delimiter": {delim}, "max-keys": {"100000"}, "max-uploads": {"100000"}}
	switch kind {
	case s3xml.ListObjectVersions:
		q.Set("versions", "")
		q.Set("key-marker", after)
	case s3xml.ListMultipartUploads:
		q.Set("uploads", "")
		q.Set("key-marker", after)
	default:
		q.Set("start-after", after)
	}
	w := httptest.NewRecorder()
	(&fakeLister{keys: keys}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/b?"+q.Encode(), nil))
	p, err := s3xml.ParsePage(w.Body, kind)
	if err != nil {
		t.Fatal(err)
	}
	// A page lists the common prefixes after the other entries: put
	// them back in name order.
	slices.SortStableFunc(p.Entries, func(a, b s3xml.Entry) int { return strings.Compare(a.Name, b.Name) })
	return shownNames([]*s3xml.Result{{Entries: p.Entries}})
}

// pagesText is the client's view of pages.
func pagesText(pages []*s3xml.Result) []string {
	var out []string
	for _, p := range pages {
		var b bytes.Buffer
		_ = s3xml.WriteResult(&b, p)
		out = append(out, b.String())
	}
	return out
}

func TestParseListQuery(t *testing.T) {
	h := &Handler{}
	tests := []struct {
		name  string
		kind  s3xml.ListKind
		query string
		max   int
		after string
		err   bool
	}{
		{"defaults", s3xml.ListObjectsV2, "list-type=2", 1000, "", false},
		{"max-keys capped", s3xml.ListObjects, "max-keys=5000&marker=m", 1000, "m", false},
		{"negative max-keys", s3xml.ListObjects, "max-keys=-1", 0, "", true},
		{"bad encoding", s3xml.ListObjects, "encoding-type=base64", 0, "", true},
		{"version marker without key marker", s3xml.ListObjectVersions, "versions&version-id-marker=v", 0, "", true},
		{"upstream token is not a position", s3xml.ListObjectsV2, "list-type=2&continuation-token=abc", 0, "", true},
		{"proxy token", s3xml.ListObjectsV2, "list-type=2&continuation-token=c1%3Apublic%2Fa&start-after=public%2Fb", 1000, "public/a", false},
		{"max-uploads", s3xml.ListMultipartUploads, "uploads&max-uploads=3&key-marker=k", 3, "k", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			lq, err := h.parseListQuery(&request.Request{Bucket: "b", Query: q}, tc.kind)
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if err == nil && (lq.max != tc.max || lq.after != tc.after) {
				t.Errorf("max %d after %q, want %d %q", lq.max, lq.after, tc.max, tc.after)
			}
		})
	}
}

func TestVisibleMarkers(t *testing.T) {
	view := policy.NewView(false, []string{"public/"})
	tests := []struct {
		query string
		want  bool
	}{
		{"list-type=2&prefix=public%2F", true},
		{"prefix=public%2F&marker=public%2Fa", true},
		{"versions&prefix=public%2F&key-marker=private%2Fs.txt&version-id-marker=null", false},
		{"list-type=2&prefix=public%2F&start-after=publicity", false},
		{"uploads&prefix=public%2F&key-marker=public.hidden", false},
		{"list-type=2&prefix=public%2F&continuation-token=lg1.abc", false},
		{"list-type=2&prefix=public%2F&continuation-token=c1%3Apublic%2Fa", false},
		{"list-type=2&prefix=public%2F&continuation-token=upstream-token", true},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		if got := visibleMarkers(q, view); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestCursorSealed(t *testing.T) {
	sealer, err := s3xml.NewSealer(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{sealer: sealer}
	tok := h.cursor("public/odd key")
	if !strings.HasPrefix(tok, sealedPrefix) || strings.Contains(tok, "public") {
		t.Fatalf("cursor %q is not sealed", tok)
	}
	if pos, ok := h.openCursor(tok); !ok || pos != "public/odd key" {
		t.Errorf("openCursor: %q %v", pos, ok)
	}
	for _, bad := range []string{"c1:public/a", sealer.Seal("public/a"), tok[:len(tok)-2], "lg1.AAAA"} {
		if pos, ok := h.openCursor(bad); ok {
			t.Errorf("openCursor(%q) = %q, want refused", bad, pos)
		}
	}
}
