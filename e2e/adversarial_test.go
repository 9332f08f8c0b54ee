package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// The adversarial suite: a user whose only grant is on s3://B/public/
// tries to reach anything else in B, another bucket, or the bucket's
// configuration, through every trick of path, query, Host, copy source,
// multi-delete, listing and presigning. Every case asserts the client's
// result, that nothing outside public/ changed upstream, that no response
// body names a hidden object (or carries its content, version id or
// upload id), and, for refused requests, that the upstream saw nothing.

// Fixture keys of the granted bucket (versioned). Hidden keys sort before,
// between and after the public ones, and share string prefixes with them.
var (
	advPublicKeys = []string{
		"public/a.txt",
		"public/b.txt",
		"public/odd key+&=é.txt",
		"public/sub/c.txt",
	}
	advHiddenKeys = []string{
		"aa-first-secret.txt",
		"private/odd key+&=é.txt",
		"private/s1.txt",
		"private/s2.txt",
		"public-x.txt",
		"public.hidden",
		"publicity/x.txt",
		"publicx.txt",
		"secret.txt",
		"zz-last-secret.txt",
	}
	// advOtherKeys are in the other bucket, which the user has no grant in.
	advOtherKeys = []string{"other/secret.txt", "public/a.txt"}
	// advHiddenTokens must never appear in a response unless the request
	// itself contains them.
	advHiddenTokens = []string{
		"aa-first-secret", "private/", "private%2F", "public-x", "public.hidden",
		"publicity", "publicx", "secret.txt", "zz-last-secret", "other/secret", "deleted.txt",
	}
)

const hiddenMarker = "HIDDEN:"

// advWorld is the stack, the buckets and what the user must never learn.
type advWorld struct {
	st        *stack
	b, ob     string
	content   map[string]string // "bucket/key" → content of every fixture
	port      string            // the proxy's plain port, for Host headers
	hiddenIDs []string          // version ids and upload ids of hidden objects
	uploads   map[string]string // fixture upload key → upload id
}

func newAdvWorld(t *testing.T, st *stack) *advWorld {
	t.Helper()
	_, port, _ := net.SplitHostPort(st.LG.ProxyAddr)
	w := &advWorld{
		st: st, b: bucketName("adv"), ob: bucketName("advother"),
		content: map[string]string{}, port: port, uploads: map[string]string{},
	}
	m := st.MinIO
	m.makeBucket(t, w.b, true)
	m.makeBucket(t, w.ob, false)
	for _, k := range advPublicKeys {
		w.content[w.b+"/"+k] = "PUBLIC:" + k + ":" + randString(16, anyAlnum)
	}
	for _, k := range advHiddenKeys {
		w.content[w.b+"/"+k] = hiddenMarker + k + ":" + randString(16, anyAlnum)
	}
	for _, k := range advOtherKeys {
		w.content[w.ob+"/"+k] = hiddenMarker + "other/" + k + ":" + randString(16, anyAlnum)
	}
	for bk, c := range w.content {
		bucket, key, _ := strings.Cut(bk, "/")
		m.put(t, bucket, key, c)
	}
	// A deleted hidden object: a version and a delete marker.
	m.put(t, w.b, "private/deleted.txt", hiddenMarker+"deleted")
	m.remove(t, w.b, "private/deleted.txt")
	for _, k := range []string{"public/mpu.bin", "private/mpu.bin"} {
		w.uploads[k] = m.newUpload(t, w.b, k)
	}
	w.hiddenIDs = append(w.hiddenIDs, w.uploads["private/mpu.bin"])
	for o := range m.Client.ListObjects(minioCtx(t), w.b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if !strings.HasPrefix(o.Key, "public/") && o.VersionID != "" {
			w.hiddenIDs = append(w.hiddenIDs, o.VersionID)
		}
	}
	return w
}

// restore puts back every fixture a case may have changed and removes
// what it added.
func (w *advWorld) restore(t *testing.T) {
	t.Helper()
	m := w.st.MinIO
	for _, bucket := range []string{w.b, w.ob} {
		current := m.listKeys(t, bucket)
		for k, o := range current {
			if _, ok := w.content[bucket+"/"+k]; !ok {
				m.remove(t, bucket, k)
			} else if o.ETag != md5Hex([]byte(w.content[bucket+"/"+k])) {
				m.put(t, bucket, k, w.content[bucket+"/"+k])
			}
		}
		for bk, c := range w.content {
			b, k, _ := strings.Cut(bk, "/")
			if _, ok := current[k]; b == bucket && !ok {
				m.put(t, bucket, k, c)
			}
		}
	}
	for id, k := range m.uploads(t, w.b) {
		if w.uploads[k] != id {
			if err := m.core().AbortMultipartUpload(minioCtx(t), w.b, k, id); err != nil {
				t.Fatalf("abort %s %s: %v", k, id, err)
			}
		}
	}
}

// versionID returns the current version id of a fixture in the granted
// bucket.
func (w *advWorld) versionID(t *testing.T, key string) string {
	t.Helper()
	o, err := w.st.MinIO.Client.StatObject(minioCtx(t), w.b, key, minio.StatObjectOptions{})
	if err != nil || o.VersionID == "" {
		t.Fatalf("stat %s: version %q, %v", key, o.VersionID, err)
	}
	return o.VersionID
}

// unescapings are the forms in which a name may hide in a response body.
func unescapings(s string) []string {
	out := []string{s, html.UnescapeString(s)}
	if u, err := url.QueryUnescape(html.UnescapeString(s)); err == nil {
		out = append(out, u)
	}
	if u, err := url.PathUnescape(html.UnescapeString(s)); err == nil {
		out = append(out, u)
	}
	return out
}

// leaks lists what body reveals that the request (its description) did
// not already name: hidden names, content, version or upload ids.
func (w *advWorld) leaks(body []byte, request string) []string {
	var out []string
	if strings.Contains(string(body), hiddenMarker) {
		out = append(out, "the content of a hidden object")
	}
	req := strings.Join(unescapings(request), "\n")
	forms := unescapings(string(body))
	for _, tok := range append(slices.Clone(advHiddenTokens), w.hiddenIDs...) {
		if strings.Contains(req, tok) {
			continue
		}
		for _, f := range forms {
			if strings.Contains(f, tok) {
				out = append(out, fmt.Sprintf("%q", tok))
				break
			}
		}
	}
	return out
}

// listXML is any S3 listing result: objects (V1, V2), versions, uploads.
type listXML struct {
	XMLName               xml.Name
	EncodingType          string
	IsTruncated           bool
	NextMarker            string
	NextContinuationToken string
	NextKeyMarker         string
	NextVersionIDMarker   string `xml:"NextVersionIdMarker"`
	NextUploadIDMarker    string `xml:"NextUploadIdMarker"`
	Contents              []struct{ Key string }
	Versions              []struct{ Key string } `xml:"Version"`
	DeleteMarkers         []struct{ Key string } `xml:"DeleteMarker"`
	Uploads               []struct{ Key string } `xml:"Upload"`
	CommonPrefixes        []struct{ Prefix string }
	Buckets               []struct{ Name string } `xml:"Buckets>Bucket"`
}

// keys returns every object key the listing names (decoded).
func (l listXML) keys() []string {
	var out []string
	for _, c := range l.Contents {
		out = append(out, l.decode(c.Key))
	}
	for _, c := range l.Versions {
		out = append(out, l.decode(c.Key))
	}
	for _, c := range l.DeleteMarkers {
		out = append(out, l.decode(c.Key))
	}
	for _, c := range l.Uploads {
		out = append(out, l.decode(c.Key))
	}
	return out
}

func (l listXML) prefixes() []string {
	var out []string
	for _, p := range l.CommonPrefixes {
		out = append(out, l.decode(p.Prefix))
	}
	return out
}

func (l listXML) decode(s string) string {
	if l.EncodingType != "url" {
		return s
	}
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

func advVisible(key string) bool { return strings.HasPrefix(key, "public/") }

// towardGrant: a common prefix that leads to the grant (e.g. "pub" with
// delimiter "l" gives "publ").
func towardGrant(p string) bool { return strings.HasPrefix("public/", p) }

// checkListing parses a listing and checks that it shows only visible
// keys, prefixes that are visible or lead to the grant, and markers that
// are visible or sealed.
func (w *advWorld) checkListing(t *testing.T, body []byte, request string) listXML {
	t.Helper()
	var l listXML
	if err := xml.Unmarshal(body, &l); err != nil {
		t.Fatalf("listing is not XML (%v):\n%s", err, tail(string(body), 3000))
	}
	for _, k := range l.keys() {
		if !advVisible(k) {
			t.Errorf("listing shows hidden key %q", k)
		}
	}
	for _, p := range l.prefixes() {
		if !advVisible(p) && !towardGrant(p) {
			t.Errorf("listing shows common prefix %q, which is neither visible nor on the way to the grant", p)
		}
	}
	for name, m := range map[string]string{"NextMarker": l.NextMarker, "NextKeyMarker": l.NextKeyMarker} {
		m = l.decode(m)
		if m != "" && !advVisible(m) && !towardGrant(m) && !strings.HasPrefix(m, "lg1.") {
			t.Errorf("%s %q reveals a hidden key (want a visible key or a sealed lg1. value)", name, m)
		}
	}
	for _, tok := range []string{l.NextContinuationToken, l.NextMarker, l.NextKeyMarker, l.NextVersionIDMarker, l.NextUploadIDMarker} {
		if tok == "" || strings.HasPrefix(tok, "lg1.") {
			continue
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if dec, err := enc.DecodeString(tok); err == nil {
				for _, leak := range w.leaks(dec, request) {
					t.Errorf("marker/token %q decodes to %q, which reveals %s", tok, dec, leak)
				}
			}
		}
	}
	return l
}

// outcome is an acceptable answer: status and S3 error code ("" for
// success or a HEAD).
type outcome struct {
	status int
	code   string
}

var (
	denied     = []outcome{{403, "AccessDenied"}}
	invalidArg = []outcome{{400, "InvalidArgument"}}
	ok200      = []outcome{{200, ""}}
	// deniedOrInvalid: a request whose key or bucket the proxy may refuse
	// either as not granted or as malformed; both are safe.
	deniedOrInvalid = []outcome{{403, "AccessDenied"}, {400, "InvalidArgument"}, {400, "InvalidBucketName"}, {400, "XMinioInvalidObjectName"}}
)

// advCase is one adversarial request.
type advCase struct {
	name string
	// req builds the request the user signs; url instead builds a URL
	// fetched as is (presigned).
	req func(t *testing.T) rawReq
	url func(t *testing.T) string
	// want lists the acceptable outcomes.
	want []outcome
	// upstream: the request may reach the upstream (otherwise it must not).
	upstream bool
	// mutates: objects and uploads under public/ may change.
	mutates bool
	// check inspects the response further.
	check func(t *testing.T, r rawResponse, request string)
}

// TestAdversarial: see the top of this file. It runs the cases for a user
// granted ALL on s3://B/public/ and for one granted SELECT, INSERT, SHOW,
// DELETE there: ALL on a prefix is not ALL on the bucket.
func TestAdversarial(t *testing.T) {
	st := newPolicyStack(t, lakegateOptions{BaseDomains: []string{baseDomain}})
	w := newAdvWorld(t, st)
	lg := st.LG
	lg.sql(t,
		"CREATE ROLE adv_all", "GRANT ROLE adv_all TO GROUP adv_all_g",
		fmt.Sprintf("GRANT ALL ON URI 's3://%s/public/' TO ROLE adv_all", w.b),
		"CREATE ROLE adv_four", "GRANT ROLE adv_four TO GROUP adv_four_g",
		fmt.Sprintf("GRANT SELECT, INSERT, SHOW, DELETE ON URI 's3://%s/public/' TO ROLE adv_four", w.b),
	)
	for _, v := range []struct{ name, user, group string }{
		{"grant_ALL", "mallory_all", "adv_all_g"},
		{"grant_SELECT_INSERT_SHOW_DELETE", "mallory", "adv_four_g"},
	} {
		t.Run(v.name, func(t *testing.T) {
			key, secret := lg.createUser(t, v.user, v.group)
			u := newS3User(lg, v.user, key, secret)
			for _, c := range advCases(w, u) {
				t.Run(c.name, func(t *testing.T) { w.run(t, u, c) })
			}
			t.Run("paging", func(t *testing.T) { w.paging(t, u) })
			t.Run("check_explains", func(t *testing.T) {
				for _, c := range []struct{ uri, op, want string }{
					{"s3://" + w.b + "/public/a.txt", "GetObject", "ALLOW"},
					{"s3a://" + w.b + "/public/sub/c.txt", "DeleteObject", "ALLOW"},
					{"s3://" + w.b + "/publicity/x.txt", "GetObject", "DENY"},
					{"s3://" + w.b + "/secret.txt", "HeadObject", "DENY"},
					{"s3://" + w.b, "PutBucketPolicy", "DENY"},
					{"s3://" + w.ob + "/public/a.txt", "GetObject", "DENY"},
				} {
					got, reason := lg.check(t, v.user, []string{v.group}, c.uri, c.op)
					if got != c.want || strings.TrimSpace(reason) == "" {
						t.Errorf("lakegate check %s %s: %q, reason %q; want %s with a reason", c.uri, c.op, got, reason, c.want)
					}
				}
			})
		})
	}
}

// run sends one case and checks everything the suite promises.
func (w *advWorld) run(t *testing.T, u *s3User, c advCase) {
	t.Helper()
	w.restore(t)
	m := w.st.MinIO
	// Build first: builders may prepare storage or list as another user.
	var req *http.Request
	var desc string
	if c.url != nil {
		raw := c.url(t)
		desc = "GET " + raw
		var err error
		if req, err = http.NewRequest(http.MethodGet, raw, nil); err != nil {
			t.Fatal(err)
		}
	} else {
		r := c.req(t)
		desc = r.String()
		if r.Body != nil {
			desc += "\n" + string(r.Body)
		}
		req = u.build(t, r)
	}
	before := m.snapshot(t, w.b, w.ob)
	n := w.st.Rec.Len()
	resp := doRaw(t, u.hc, req)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		resp.Body = gunzip(t, resp.Body)
	}
	settle(t, w.st.Rec)
	show := fmt.Sprintf("request: %s\nresponse: %d\n%s", desc, resp.Status, tail(string(resp.Body), 3000))

	matched := false
	var code string
	if len(resp.Body) > 0 && resp.Status >= 300 {
		if e, err := parseS3Error(resp.Body); err == nil {
			code = e.Code
		} else {
			t.Errorf("error response is not S3 XML (%v)\n%s", err, show)
		}
	}
	for _, o := range c.want {
		if resp.Status == o.status && (o.code == "" || o.code == code || len(resp.Body) == 0) {
			matched = true
		}
	}
	if !matched {
		t.Errorf("got %d %s, want one of %v\n%s", resp.Status, code, c.want, show)
	} else {
		t.Logf("%s → %d %s", strings.SplitN(desc, "\n", 2)[0], resp.Status, code)
	}
	for _, leak := range w.leaks(resp.Body, desc) {
		t.Errorf("response reveals %s\n%s", leak, show)
	}
	if !c.upstream {
		for _, r := range w.st.Rec.Since(n) {
			t.Errorf("upstream saw %s\n%s", r, show)
		}
	}
	var skip func(string) bool
	if c.mutates {
		skip = func(e string) bool {
			return strings.HasPrefix(e, w.b+"/public/") ||
				(strings.HasPrefix(e, w.b+"?uploadId=") && strings.Contains(e, " public/") && !strings.Contains(e, w.uploads["public/mpu.bin"]))
		}
	}
	for _, d := range snapshotDiff(before, m.snapshot(t, w.b, w.ob), skip) {
		t.Errorf("upstream state changed: %s\n%s", d, show)
	}
	if c.check != nil {
		c.check(t, resp, desc)
	}
}

func advCases(w *advWorld, u *s3User) []advCase {
	m := w.st.MinIO
	b, ob := w.b, w.ob
	p := func(key string) string { return "/" + b + "/" + key }
	get := func(path string) func(*testing.T) rawReq {
		return func(*testing.T) rawReq { return rawReq{Method: http.MethodGet, Path: path} }
	}
	// getPct2F sends path with its %2F but signs it decoded, as servers
	// canonicalize it.
	getPct2F := func(path string) func(*testing.T) rawReq {
		return func(*testing.T) rawReq {
			return rawReq{Method: http.MethodGet, Path: path, SignPath: strings.ReplaceAll(path, "%2F", "/")}
		}
	}
	put := func(path string) func(*testing.T) rawReq {
		return func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: path, Body: []byte("written by " + u.Name)}
		}
	}
	del := func(path string) func(*testing.T) rawReq {
		return func(*testing.T) rawReq { return rawReq{Method: http.MethodDelete, Path: path} }
	}
	list := func(query string) func(*testing.T) rawReq {
		return func(*testing.T) rawReq { return rawReq{Method: http.MethodGet, Path: "/" + b, Query: query} }
	}
	host := func(bucket string) string { return bucket + "." + baseDomain + ":" + w.port }
	onHost := func(h, method, path string) func(*testing.T) rawReq {
		return func(*testing.T) rawReq { return rawReq{Method: method, Path: path, Host: h} }
	}
	copyReq := func(dst, src string) func(*testing.T) rawReq {
		return func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: dst, Header: http.Header{"X-Amz-Copy-Source": {src}}}
		}
	}
	partCopy := func(key, src string) func(*testing.T) rawReq {
		return func(t *testing.T) rawReq {
			id := m.newUpload(t, b, key)
			return rawReq{Method: http.MethodPut, Path: p(key), Query: "partNumber=1&uploadId=" + url.QueryEscape(id),
				Header: http.Header{"X-Amz-Copy-Source": {src}}}
		}
	}
	multiDelete := func(keys ...string) func(*testing.T) rawReq {
		return func(t *testing.T) rawReq {
			for _, k := range keys {
				if strings.HasPrefix(k, "public/del") {
					m.put(t, b, k, "to delete")
				}
			}
			return rawReq{Method: http.MethodPost, Path: "/" + b, Query: "delete=", Body: deleteObjectsBody(keys...)}
		}
	}
	bodyIs := func(want string) func(*testing.T, rawResponse, string) {
		return func(t *testing.T, r rawResponse, _ string) {
			if r.Status == 200 && string(r.Body) != want {
				t.Errorf("body %q, want %q", r.Body, want)
			}
		}
	}
	exists := func(bucket, key string, want bool) func(*testing.T, rawResponse, string) {
		return func(t *testing.T, _ rawResponse, _ string) {
			if got := m.objectExists(t, bucket, key); got != want {
				t.Errorf("%s/%s exists: %v, want %v", bucket, key, got, want)
			}
		}
	}
	listing := func(wantKeys, wantPrefixes []string) func(*testing.T, rawResponse, string) {
		return func(t *testing.T, r rawResponse, req string) {
			if r.Status != 200 {
				return
			}
			l := w.checkListing(t, r.Body, req)
			if wantKeys != nil && !slices.Equal(sorted(l.keys()), sorted(wantKeys)) {
				t.Errorf("listing keys %q, want %q", l.keys(), wantKeys)
			}
			if wantPrefixes != nil && !slices.Equal(sorted(l.prefixes()), sorted(wantPrefixes)) {
				t.Errorf("listing common prefixes %q, want %q", l.prefixes(), wantPrefixes)
			}
		}
	}
	none := []string{}
	pub := advPublicKeys
	deleteResult := func(wantDeleted, wantDenied []string) func(*testing.T, rawResponse, string) {
		return func(t *testing.T, r rawResponse, _ string) {
			if r.Status != 200 {
				return
			}
			var res struct {
				Deleted []struct{ Key string }
				Error   []struct{ Key, Code string }
			}
			if err := xml.Unmarshal(r.Body, &res); err != nil {
				t.Fatalf("DeleteObjects result: %v\n%s", err, r.Body)
			}
			var deleted, refused []string
			for _, d := range res.Deleted {
				deleted = append(deleted, d.Key)
			}
			for _, e := range res.Error {
				if e.Code != "AccessDenied" {
					t.Errorf("key %q: error %s, want AccessDenied", e.Key, e.Code)
				}
				refused = append(refused, e.Key)
			}
			if !slices.Equal(sorted(deleted), sorted(wantDeleted)) || !slices.Equal(sorted(refused), sorted(wantDenied)) {
				t.Errorf("DeleteObjects: deleted %q, refused %q; want deleted %q, refused %q", deleted, refused, wantDeleted, wantDenied)
			}
			for _, k := range wantDeleted {
				if m.objectExists(t, b, k) {
					t.Errorf("%s still exists after DeleteObjects", k)
				}
			}
		}
	}
	newBucket := bucketName("advnew")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + b + `/*"]}]}`

	return []advCase{
		// --- objects outside the grant
		{name: "get_public_control", req: get(p("public/a.txt")), want: ok200, upstream: true, check: bodyIs(w.content[b+"/public/a.txt"])},
		{name: "get_outside", req: get(p("secret.txt")), want: denied},
		{name: "head_outside", req: func(*testing.T) rawReq { return rawReq{Method: http.MethodHead, Path: p("private/s1.txt")} }, want: denied},
		{name: "put_outside", req: put(p("private/new.txt")), want: denied},
		{name: "put_public_control", req: put(p("public/put-ok.txt")), want: ok200, upstream: true, mutates: true, check: exists(b, "public/put-ok.txt", true)},
		{name: "delete_outside", req: del(p("secret.txt")), want: denied},
		{name: "delete_outside_version", req: func(t *testing.T) rawReq {
			return rawReq{Method: http.MethodDelete, Path: p("secret.txt"), Query: "versionId=" + w.versionID(t, "secret.txt")}
		}, want: denied},
		{name: "get_outside_version", req: func(t *testing.T) rawReq {
			return rawReq{Method: http.MethodGet, Path: p("private/s1.txt"), Query: "versionId=" + w.versionID(t, "private/s1.txt")}
		}, want: denied},
		{name: "put_tagging_outside", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: p("secret.txt"), Query: "tagging=",
				Body: []byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`)}
		}, want: denied},
		{name: "get_sibling_publicity", req: get(p("publicity/x.txt")), want: denied},
		{name: "get_sibling_publicx", req: get(p("publicx.txt")), want: denied},
		{name: "get_sibling_public_dash", req: get(p("public-x.txt")), want: denied},
		{name: "put_sibling_publicity", req: put(p("publicity/new.txt")), want: denied},

		// --- '.' and '..' segments, plain and encoded
		{name: "get_dotdot", req: get(p("public/../secret.txt")), want: invalidArg},
		{name: "put_dotdot", req: put(p("public/../private/evil.txt")), want: invalidArg},
		{name: "delete_dotdot", req: del(p("public/../secret.txt")), want: invalidArg},
		{name: "get_dot", req: get(p("public/./a.txt")), want: invalidArg},
		{name: "get_trailing_dotdot", req: get(p("public/sub/..")), want: invalidArg},
		{name: "get_dotdot_encoded", req: get(p("public/%2E%2E/secret.txt")), want: invalidArg},
		{name: "get_dotdot_half_encoded", req: get(p("public/%2e./secret.txt")), want: invalidArg},
		{name: "get_dotdot_out_of_bucket", req: get(p("../" + ob + "/other/secret.txt")), want: deniedOrInvalid},

		// --- %2F and double encoding
		{name: "get_pct2F_dotdot", req: getPct2F(p("public%2F..%2Fsecret.txt")), want: invalidArg},
		{name: "get_pct2F_hidden", req: getPct2F(p("private%2Fs1.txt")), want: denied},
		{name: "get_pct2F_hidden_signed_as_sent", req: get(p("private%2Fs1.txt")), want: append([]outcome{{403, "SignatureDoesNotMatch"}}, deniedOrInvalid...)},
		{name: "get_pct2F_public", req: getPct2F(p("public%2Fa.txt")), want: ok200, upstream: true, check: bodyIs(w.content[b+"/public/a.txt"])},
		{name: "get_double_encoded_outside", req: get(p("public%252F..%252Fsecret.txt")), want: denied},
		{name: "get_double_encoded_inside", req: get(p("public/%252E%252E%252Fsecret.txt")), want: []outcome{{404, "NoSuchKey"}}, upstream: true},
		{name: "put_double_encoded_inside", req: put(p("public/%252E%252E%252Fx.txt")), want: ok200, upstream: true, mutates: true,
			check: exists(b, "public/%2E%2E%2Fx.txt", true)},

		// --- runs of '/'
		{name: "get_public_double_slash", req: get(p("public//a.txt")), upstream: true,
			want: []outcome{{404, ""}, {400, ""}}},
		{name: "put_public_double_slash", req: put(p("public//x.txt")), upstream: true, mutates: true,
			want: []outcome{{200, ""}, {400, ""}}},
		{name: "get_key_leading_slash_hidden", req: get(p("/secret.txt")), want: deniedOrInvalid},
		{name: "put_key_leading_slash_hidden", req: put(p("/private/evil.txt")), want: deniedOrInvalid},
		{name: "put_key_leading_slash_public", req: put(p("/public/x.txt")), want: deniedOrInvalid},
		{name: "get_key_leading_pct2F_hidden", req: getPct2F(p("%2Fprivate/s1.txt")), want: deniedOrInvalid},
		{name: "get_empty_bucket_segment", req: get("//" + b + "/public/a.txt"), want: deniedOrInvalid},
		{name: "get_publicx_not_public_slash", req: get(p("publicx.txt")), want: denied},

		// --- virtual-hosted style vs path style
		{name: "vhost_control", req: onHost(host(b), http.MethodGet, "/public/a.txt"), want: ok200, upstream: true,
			check: bodyIs(w.content[b+"/public/a.txt"])},
		{name: "vhost_unknown_bucket_path_b", req: onHost(host("other"), http.MethodGet, p("public/a.txt")), want: deniedOrInvalid},
		{name: "vhost_other_bucket_path_b", req: onHost(host(ob), http.MethodGet, p("public/a.txt")), want: deniedOrInvalid},
		{name: "vhost_other_bucket_public", req: onHost(host(ob), http.MethodGet, "/public/a.txt"), want: denied},
		{name: "vhost_b_path_other_bucket", req: onHost(host(b), http.MethodGet, "/"+ob+"/other/secret.txt"), want: deniedOrInvalid},
		{name: "vhost_put_other_bucket", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: "/public/x.txt", Host: host(ob), Body: []byte("x")}
		}, want: denied},
		{name: "vhost_list_other_bucket", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodGet, Path: "/", Query: "list-type=2", Host: host(ob)}
		}, want: denied},
		{name: "host_base_domain_path_other", req: onHost(baseDomain+":"+w.port, http.MethodGet, "/"+ob+"/other/secret.txt"), want: denied},
		{name: "host_lookalike_path_other", req: onHost(b+"."+baseDomain+".evil.test:"+w.port, http.MethodGet, "/"+ob+"/other/secret.txt"), want: denied},

		// --- CopyObject and UploadPartCopy sources and destinations
		{name: "copy_control", req: copyReq(p("public/copy.txt"), "/"+b+"/public/a.txt"), want: ok200, upstream: true, mutates: true,
			check: exists(b, "public/copy.txt", true)},
		{name: "copy_src_outside", req: copyReq(p("public/copy.txt"), "/"+b+"/secret.txt"), want: denied},
		{name: "copy_src_dotdot", req: copyReq(p("public/copy.txt"), "/"+b+"/public/../secret.txt"), want: invalidArg},
		{name: "copy_src_dotdot_encoded", req: copyReq(p("public/copy.txt"), "/"+b+"/public/%2E%2E/secret.txt"), want: invalidArg},
		{name: "copy_src_pct2F_dotdot", req: copyReq(p("public/copy.txt"), b+"/public%2F..%2Fsecret.txt"), want: invalidArg},
		{name: "copy_src_other_bucket", req: copyReq(p("public/copy.txt"), "/"+ob+"/other/secret.txt"), want: denied},
		{name: "copy_src_other_bucket_same_path", req: copyReq(p("public/copy.txt"), "/"+ob+"/public/a.txt"), want: denied},
		{name: "copy_src_sibling", req: copyReq(p("public/copy.txt"), "/"+b+"/publicity/x.txt"), want: denied},
		{name: "copy_src_hidden_version", req: func(t *testing.T) rawReq {
			return copyReq(p("public/copy.txt"), "/"+b+"/secret.txt?versionId="+w.versionID(t, "secret.txt"))(t)
		}, want: denied},
		{name: "copy_src_double_slash", req: copyReq(p("public/copy.txt"), "//"+b+"/secret.txt"), want: deniedOrInvalid},
		{name: "copy_dst_outside", req: copyReq(p("private/copy.txt"), "/"+b+"/public/a.txt"), want: denied},
		{name: "upload_part_copy_control", req: partCopy("public/upc.bin", "/"+b+"/public/a.txt"), want: ok200, upstream: true, mutates: true},
		{name: "upload_part_copy_src_outside", req: partCopy("public/upc.bin", "/"+b+"/secret.txt"), want: denied},
		{name: "upload_part_copy_src_dotdot", req: partCopy("public/upc.bin", "/"+b+"/public/../secret.txt"), want: invalidArg},
		{name: "upload_part_copy_src_other_bucket", req: partCopy("public/upc.bin", "/"+ob+"/other/secret.txt"), want: denied},
		{name: "upload_part_copy_dst_outside", req: partCopy("private/upc.bin", "/"+b+"/public/a.txt"), want: denied},

		// --- multipart uploads of hidden keys
		{name: "create_upload_outside", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPost, Path: p("private/new.bin"), Query: "uploads="}
		}, want: denied},
		{name: "upload_part_hidden_upload", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: p("private/mpu.bin"), Query: "partNumber=1&uploadId=" + url.QueryEscape(w.uploads["private/mpu.bin"]), Body: []byte("part")}
		}, want: denied},
		{name: "list_parts_hidden_upload", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodGet, Path: p("private/mpu.bin"), Query: "uploadId=" + url.QueryEscape(w.uploads["private/mpu.bin"])}
		}, want: denied},
		{name: "abort_hidden_upload", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodDelete, Path: p("private/mpu.bin"), Query: "uploadId=" + url.QueryEscape(w.uploads["private/mpu.bin"])}
		}, want: denied},
		{name: "complete_hidden_upload", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPost, Path: p("private/mpu.bin"), Query: "uploadId=" + url.QueryEscape(w.uploads["private/mpu.bin"]),
				Body: []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`)}
		}, want: denied},
		{name: "upload_part_public_key_hidden_upload_id", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: p("public/mpu.bin"), Query: "partNumber=1&uploadId=" + url.QueryEscape(w.uploads["private/mpu.bin"]), Body: []byte("part")}
		}, want: []outcome{{404, "NoSuchUpload"}, {400, ""}, {403, "AccessDenied"}}, upstream: true, mutates: true},

		// --- DeleteObjects
		{name: "delete_objects_mixed", req: multiDelete("public/del1.txt", "secret.txt", "public/del2.txt", "private/s1.txt", "publicity/x.txt"),
			want: ok200, upstream: true, mutates: true,
			check: deleteResult([]string{"public/del1.txt", "public/del2.txt"}, []string{"secret.txt", "private/s1.txt", "publicity/x.txt"})},
		{name: "delete_objects_all_denied", req: multiDelete("secret.txt", "private/s2.txt"), want: ok200,
			check: deleteResult(nil, []string{"secret.txt", "private/s2.txt"})},
		{name: "delete_objects_leading_slash", req: multiDelete("/secret.txt", "public/del3.txt"), want: ok200, upstream: true, mutates: true,
			check: deleteResult([]string{"public/del3.txt"}, []string{"/secret.txt"})},
		{name: "delete_objects_dot_segments", req: multiDelete("public/../secret.txt", "public/./a.txt"),
			want: []outcome{{200, ""}, {400, "InvalidArgument"}},
			check: func(t *testing.T, r rawResponse, _ string) {
				if r.Status == 200 && strings.Contains(string(r.Body), "<Deleted>") {
					t.Errorf("a key with dot segments was deleted:\n%s", r.Body)
				}
			}},
		{name: "delete_objects_hidden_version", req: func(t *testing.T) rawReq {
			vid := w.versionID(t, "secret.txt")
			body := `<Delete><Object><Key>secret.txt</Key><VersionId>` + vid + `</VersionId></Object></Delete>`
			return rawReq{Method: http.MethodPost, Path: "/" + b, Query: "delete=", Body: []byte(body)}
		}, want: ok200, check: deleteResult(nil, []string{"secret.txt"})},

		// --- listings
		{name: "list_v2_root", req: list("list-type=2"), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v2_root_delimiter", req: list("delimiter=%2F&list-type=2"), want: ok200, upstream: true, check: listing(none, []string{"public/"})},
		{name: "list_v1_root", req: list(""), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v1_prefix_pub", req: list("prefix=pub"), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v2_prefix_pub_delimiter", req: list("delimiter=%2F&list-type=2&prefix=pub"), want: ok200, upstream: true,
			check: listing(none, []string{"public/"})},
		{name: "list_v2_prefix_public_no_slash", req: list("list-type=2&prefix=public"), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v2_prefix_public_delimiter", req: list("delimiter=%2F&list-type=2&prefix=public%2F"), want: ok200, upstream: true,
			check: listing([]string{"public/a.txt", "public/b.txt", "public/odd key+&=é.txt"}, []string{"public/sub/"})},
		{name: "list_v2_delimiter_t", req: list("delimiter=t&list-type=2"), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_v2_delimiter_i", req: list("delimiter=i&list-type=2"), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_v1_delimiter_dot", req: list("delimiter=."), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_v2_delimiter_c_prefix_pub", req: list("delimiter=c&list-type=2&prefix=pub"), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_v2_start_after_hidden", req: list("list-type=2&start-after=private%2Fs1.txt"), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v2_start_after_past_public", req: list("list-type=2&start-after=public0"), want: ok200, upstream: true, check: listing(none, none)},
		{name: "list_v1_marker_hidden", req: list("marker=aa-first-secret.txt"), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v1_marker_between", req: list("marker=public-x.txt"), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v1_marker_forged_lg1", req: list("marker=lg1.AAAAAAAAAAAAAAAAAAAAAAAA"), want: []outcome{{200, ""}, {400, "InvalidArgument"}},
			upstream: true, check: listing(nil, nil)},
		// A token the proxy cannot open goes to the upstream as it is,
		// which refuses it; either way the client learns nothing.
		{name: "list_v2_token_forged_lg1", req: list("continuation-token=lg1.AAAAAAAAAAAAAAAAAAAAAAAA&list-type=2"), want: invalidArg, upstream: true},
		{name: "list_v2_token_forged_raw", req: list("continuation-token=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("secret.txt[minio_cache:v2,return:]"))) + "&list-type=2"),
			want: []outcome{{200, ""}, {400, "InvalidArgument"}}, upstream: true, check: listing(nil, nil)},
		{name: "list_v2_token_of_admin", req: func(t *testing.T) rawReq {
			admin := newS3User(w.st.LG, "admin", w.st.LG.AdminKey, w.st.LG.AdminSecret)
			r := admin.do(t, rawReq{Method: http.MethodGet, Path: "/" + b, Query: "list-type=2&max-keys=2"})
			var l listXML
			if err := xml.Unmarshal(r.Body, &l); err != nil || l.NextContinuationToken == "" {
				t.Fatalf("admin listing gave no continuation token (%v):\n%s", err, r.Body)
			}
			return rawReq{Method: http.MethodGet, Path: "/" + b, Query: "continuation-token=" + url.QueryEscape(l.NextContinuationToken) + "&list-type=2&max-keys=2"}
		}, want: []outcome{{200, ""}, {400, "InvalidArgument"}}, upstream: true, check: listing(nil, nil)},
		{name: "list_v2_token_of_other_listing", req: func(t *testing.T) rawReq {
			r := u.do(t, rawReq{Method: http.MethodGet, Path: "/" + b, Query: "list-type=2&max-keys=1&prefix=public%2F"})
			l := w.checkListing(t, r.Body, "")
			if l.NextContinuationToken == "" {
				t.Fatalf("listing of public/ with max-keys=1 gave no continuation token:\n%s", r.Body)
			}
			return rawReq{Method: http.MethodGet, Path: "/" + b, Query: "continuation-token=" + url.QueryEscape(l.NextContinuationToken) + "&list-type=2"}
		}, want: []outcome{{200, ""}, {400, "InvalidArgument"}}, upstream: true, check: listing(nil, nil)},
		{name: "list_v2_encoding_url", req: list("encoding-type=url&list-type=2"), want: ok200, upstream: true,
			check: func(t *testing.T, r rawResponse, req string) {
				listing(pub, none)(t, r, req)
				if strings.Contains(string(r.Body), "odd key") {
					t.Errorf("encoding-type=url: the odd key is not URL-encoded:\n%s", r.Body)
				}
			}},
		{name: "list_v2_accept_gzip", req: func(*testing.T) rawReq {
			// Go's net/http, curl --compressed and browsers ask for gzip;
			// MinIO then compresses listings over about 1 KiB.
			return rawReq{Method: http.MethodGet, Path: "/" + b, Query: "list-type=2", Header: http.Header{"Accept-Encoding": {"gzip"}}}
		}, want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_v2_fetch_owner", req: list("fetch-owner=true&list-type=2"), want: ok200, upstream: true, check: listing(pub, none)},
		{name: "list_denied_private", req: list("list-type=2&prefix=private%2F"), want: denied},
		{name: "list_denied_publicity", req: list("prefix=publicity"), want: denied},
		{name: "list_denied_secret", req: list("list-type=2&prefix=secret"), want: denied},
		{name: "list_duplicate_prefix", req: list("list-type=2&prefix=public%2F&prefix=private%2F"), want: invalidArg},
		{name: "list_other_bucket", req: func(*testing.T) rawReq { return rawReq{Method: http.MethodGet, Path: "/" + ob, Query: "list-type=2"} }, want: denied},
		{name: "list_versions", req: list("versions="), want: ok200, upstream: true,
			check: func(t *testing.T, r rawResponse, req string) {
				l := w.checkListing(t, r.Body, req)
				for _, k := range pub {
					if !slices.Contains(l.keys(), k) {
						t.Errorf("ListObjectVersions lacks %s", k)
					}
				}
			}},
		{name: "list_versions_key_marker_hidden", req: list("key-marker=private%2Fs1.txt&versions="), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_versions_prefix_pub_delimiter", req: list("delimiter=%2F&prefix=pub&versions="), want: ok200, upstream: true,
			check: listing(none, []string{"public/"})},
		{name: "list_versions_encoding_url", req: list("encoding-type=url&versions="), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_versions_denied_private", req: list("prefix=private%2F&versions="), want: denied},
		{name: "list_uploads", req: list("uploads="), want: ok200, upstream: true, check: listing([]string{"public/mpu.bin"}, nil)},
		{name: "list_uploads_key_marker_hidden", req: list("key-marker=private%2F&uploads="), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_uploads_delimiter", req: list("delimiter=%2F&uploads="), want: ok200, upstream: true, check: listing(nil, nil)},
		{name: "list_uploads_denied_private", req: list("prefix=private%2Fmpu.bin&uploads="), want: denied},
		{name: "list_buckets", req: func(*testing.T) rawReq { return rawReq{Method: http.MethodGet, Path: "/"} }, want: ok200, upstream: true,
			check: func(t *testing.T, r rawResponse, _ string) {
				var l listXML
				if err := xml.Unmarshal(r.Body, &l); err != nil {
					t.Fatalf("ListBuckets: %v\n%s", err, r.Body)
				}
				var names []string
				for _, bk := range l.Buckets {
					names = append(names, bk.Name)
				}
				if !slices.Equal(names, []string{b}) {
					t.Errorf("ListBuckets shows %q, want only %q", names, b)
				}
			}},
		{name: "head_bucket_control", req: func(*testing.T) rawReq { return rawReq{Method: http.MethodHead, Path: "/" + b} }, want: ok200, upstream: true},
		{name: "head_other_bucket", req: func(*testing.T) rawReq { return rawReq{Method: http.MethodHead, Path: "/" + ob} }, want: denied},
		{name: "get_bucket_location_other", req: func(*testing.T) rawReq { return rawReq{Method: http.MethodGet, Path: "/" + ob, Query: "location="} }, want: denied},

		// --- presigned URLs
		{name: "presign_public_control", url: func(t *testing.T) string { return presignGet(t, w.st.LG, p("public/a.txt"), u.Key, u.Secret) },
			want: ok200, upstream: true, check: bodyIs(w.content[b+"/public/a.txt"])},
		{name: "presign_other_key_id_own_secret", url: func(t *testing.T) string {
			return presignGet(t, w.st.LG, p("secret.txt"), w.st.LG.AdminKey, u.Secret)
		}, want: []outcome{{403, "SignatureDoesNotMatch"}}},
		{name: "presign_other_key_id_own_secret_public", url: func(t *testing.T) string {
			return presignGet(t, w.st.LG, p("public/a.txt"), w.st.LG.AdminKey, u.Secret)
		}, want: []outcome{{403, "SignatureDoesNotMatch"}}},
		{name: "presign_hidden", url: func(t *testing.T) string { return presignGet(t, w.st.LG, p("secret.txt"), u.Key, u.Secret) }, want: denied},
		{name: "presign_dotdot", url: func(t *testing.T) string {
			return presignGet(t, w.st.LG, p("public/../secret.txt"), u.Key, u.Secret)
		}, want: invalidArg},

		// --- bucket administration needs ALL on the bucket
		{name: "put_bucket_policy", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: "/" + b, Query: "policy=", Body: []byte(policy)}
		}, want: denied, check: func(t *testing.T, _ rawResponse, _ string) {
			if got, err := m.Client.GetBucketPolicy(minioCtx(t), b); err != nil || got != "" {
				t.Errorf("bucket policy on MinIO: %q, %v; want none", got, err)
			}
		}},
		{name: "get_bucket_policy", req: list("policy="), want: denied},
		{name: "delete_bucket", req: del("/" + b), want: denied},
		{name: "delete_other_bucket", req: del("/" + ob), want: denied},
		{name: "put_bucket_versioning", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: "/" + b, Query: "versioning=",
				Body: []byte(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status></VersioningConfiguration>`)}
		}, want: denied, check: func(t *testing.T, _ rawResponse, _ string) {
			if c, err := m.Client.GetBucketVersioning(minioCtx(t), b); err != nil || !c.Enabled() {
				t.Errorf("versioning on MinIO: %+v, %v; want Enabled", c, err)
			}
		}},
		{name: "put_bucket_lifecycle", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: "/" + b, Query: "lifecycle=",
				Body: []byte(`<LifecycleConfiguration><Rule><ID>x</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`)}
		}, want: denied},
		{name: "put_bucket_acl", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: "/" + b, Query: "acl=", Header: http.Header{"X-Amz-Acl": {"public-read"}}}
		}, want: denied},
		{name: "put_object_acl_in_grant", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPut, Path: p("public/a.txt"), Query: "acl=", Header: http.Header{"X-Amz-Acl": {"public-read"}}}
		}, want: denied},
		{name: "create_bucket", req: func(*testing.T) rawReq { return rawReq{Method: http.MethodPut, Path: "/" + newBucket} }, want: denied,
			check: func(t *testing.T, _ rawResponse, _ string) {
				if m.bucketExists(t, newBucket) {
					t.Errorf("bucket %s was created on MinIO", newBucket)
				}
			}},
		{name: "unclassified_method", req: func(*testing.T) rawReq { return rawReq{Method: "PATCH", Path: p("public/a.txt")} },
			want: []outcome{{403, "AccessDenied"}, {405, "MethodNotAllowed"}}},
		{name: "restore_object_in_grant", req: func(*testing.T) rawReq {
			return rawReq{Method: http.MethodPost, Path: p("public/a.txt"), Query: "restore=",
				Body: []byte(`<RestoreRequest><Days>1</Days></RestoreRequest>`)}
		}, want: denied},
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Content-Encoding: gzip, but the body is not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip body: %v", err)
	}
	return out
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// paging lists the bucket one key at a time, with every paginated listing
// the proxy filters, and checks that the user pages through exactly the
// visible keys and never sees a hidden name.
func (w *advWorld) paging(t *testing.T, u *s3User) {
	w.restore(t)
	walk := func(t *testing.T, build func(prev *listXML) (string, bool)) (keys, prefixes []string) {
		t.Helper()
		var prev *listXML
		for range 60 {
			q, ok := build(prev)
			if !ok {
				return keys, prefixes
			}
			r := u.do(t, rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: q})
			desc := "GET /" + w.b + "?" + q
			if r.Status != 200 {
				t.Fatalf("%s: %d\n%s", desc, r.Status, r.Body)
			}
			for _, leak := range w.leaks(r.Body, desc) {
				t.Errorf("%s reveals %s:\n%s", desc, leak, r.Body)
			}
			l := w.checkListing(t, r.Body, desc)
			keys = append(keys, l.keys()...)
			prefixes = append(prefixes, l.prefixes()...)
			prev = &l
		}
		t.Fatalf("more than 60 pages")
		return nil, nil
	}
	esc := url.QueryEscape
	t.Run("v2_max_keys_1", func(t *testing.T) {
		keys, _ := walk(t, func(prev *listXML) (string, bool) {
			switch {
			case prev == nil:
				return "list-type=2&max-keys=1", true
			case !prev.IsTruncated:
				return "", false
			case prev.NextContinuationToken == "":
				t.Fatalf("truncated V2 page without NextContinuationToken")
			}
			return "continuation-token=" + esc(prev.NextContinuationToken) + "&list-type=2&max-keys=1", true
		})
		if !slices.Equal(sorted(keys), sorted(advPublicKeys)) {
			t.Errorf("paged through %q, want %q", keys, advPublicKeys)
		}
	})
	t.Run("v2_max_keys_1_delimiter", func(t *testing.T) {
		keys, prefixes := walk(t, func(prev *listXML) (string, bool) {
			switch {
			case prev == nil:
				return "delimiter=%2F&list-type=2&max-keys=1", true
			case !prev.IsTruncated:
				return "", false
			case prev.NextContinuationToken == "":
				t.Fatalf("truncated V2 page without NextContinuationToken")
			}
			return "continuation-token=" + esc(prev.NextContinuationToken) + "&delimiter=%2F&list-type=2&max-keys=1", true
		})
		if len(keys) != 0 || !slices.Equal(prefixes, []string{"public/"}) {
			t.Errorf("paged through keys %q and prefixes %q, want only the prefix public/", keys, prefixes)
		}
	})
	t.Run("v1_max_keys_1", func(t *testing.T) {
		keys, _ := walk(t, func(prev *listXML) (string, bool) {
			if prev == nil {
				return "max-keys=1", true
			}
			if !prev.IsTruncated {
				return "", false
			}
			marker := prev.NextMarker
			if marker == "" && len(prev.Contents) > 0 {
				marker = prev.Contents[len(prev.Contents)-1].Key
			}
			if marker == "" {
				t.Fatalf("truncated V1 page with neither keys nor NextMarker: the client cannot go on")
			}
			return "marker=" + esc(marker) + "&max-keys=1", true
		})
		if !slices.Equal(sorted(keys), sorted(advPublicKeys)) {
			t.Errorf("paged through %q, want %q", keys, advPublicKeys)
		}
	})
	t.Run("versions_max_keys_1", func(t *testing.T) {
		keys, _ := walk(t, func(prev *listXML) (string, bool) {
			if prev == nil {
				return "max-keys=1&versions=", true
			}
			if !prev.IsTruncated {
				return "", false
			}
			if prev.NextKeyMarker == "" {
				t.Fatalf("truncated ListObjectVersions page without NextKeyMarker")
			}
			return "key-marker=" + esc(prev.NextKeyMarker) + "&max-keys=1&version-id-marker=" + esc(prev.NextVersionIDMarker) + "&versions=", true
		})
		for _, k := range advPublicKeys {
			if !slices.Contains(keys, k) {
				t.Errorf("paging ListObjectVersions never showed %s (got %q)", k, keys)
			}
		}
	})
	t.Run("uploads_max_uploads_1", func(t *testing.T) {
		keys, _ := walk(t, func(prev *listXML) (string, bool) {
			if prev == nil {
				return "max-uploads=1&uploads=", true
			}
			if !prev.IsTruncated {
				return "", false
			}
			if prev.NextKeyMarker == "" {
				t.Fatalf("truncated ListMultipartUploads page without NextKeyMarker")
			}
			return "key-marker=" + esc(prev.NextKeyMarker) + "&max-uploads=1&upload-id-marker=" + esc(prev.NextUploadIDMarker) + "&uploads=", true
		})
		if !slices.Equal(keys, []string{"public/mpu.bin"}) {
			t.Errorf("paged through uploads %q, want only public/mpu.bin", keys)
		}
	})
}
