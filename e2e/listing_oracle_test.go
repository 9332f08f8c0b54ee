package e2e

import (
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestListingOracle is issue 12's "listing oracle" check (findings 4, 5 and
// the owner part of 8): a user granted SHOW, SELECT, INSERT on s3://B/public/
// sends every combination of listing kind, prefix, delimiter, max-keys,
// marker (start-after, marker, key-marker) and encoding-type, and pages
// through each kind one entry at a time, first against a bucket holding only
// public/ objects and then against the same bucket with hidden objects,
// versions and uploads added beside them. The two sets of answers must be
// the same byte for byte, continuation tokens aside: nothing in a filtered
// listing (entries, IsTruncated, markers, counts) may depend on a key the
// user cannot see. Among the hidden keys is public%2Fhidden.txt, which a
// proxy that decodes raw names from a backend ignoring encoding-type=url
// (versitygw) would show as public/hidden.txt. No listing (nor ListParts,
// nor ListBuckets, the user's or the admin's) may carry <Owner> or
// <Initiator>, which name the backend's identity.
//
// It runs against MinIO and against versitygw's POSIX backend (the backend
// `lakegate quickstart` embeds), each started as lakegate's upstream.
func TestListingOracle(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	if buildErr != nil {
		t.Fatalf("lakegate did not build: %v", buildErr)
	}
	t.Run("minio", func(t *testing.T) {
		m := startMinIO(t)
		runListingOracle(t, m, m.Endpoint, true)
	})
	t.Run("versitygw_posix", func(t *testing.T) {
		m := startVersitygw(t)
		runListingOracle(t, m, m.Endpoint, false)
	})
}

// Fixture keys. The hidden ones sort before, between and after the public
// ones and share string prefixes with them; one is the URL encoding of a
// public-looking name.
var (
	oraclePublicKeys = []string{
		"public/a.txt",
		"public/b.txt",
		"public/odd key+&=é.txt",
		"public/sub/c.txt",
		"public/sub/d.txt",
	}
	oracleHiddenKeys = []string{
		"aa-hidden.txt",
		"private/s.txt",
		"pub",
		"public%2Fhidden.txt",
		"public-x.txt",
		"public.hidden",
		"public0",
		"publicity/x.txt",
		"publicx.txt",
		"zz-hidden.txt",
	}
	// oracleMarkers are sent as marker, start-after and key-marker: empty,
	// hidden names, visible names, and names between them.
	oracleMarkers = []string{"", "public.hidden", "public%2Fhidden.txt", "public/", "public/a.txt", "public/sub/", "publicx.txt", "aa"}
)

// oracleWorld is one backend behind lakegate, its bucket and the user.
type oracleWorld struct {
	m         *minioServer
	lg        *lakegateServer
	u         *s3User
	b         string
	versioned bool
}

func runListingOracle(t *testing.T, m *minioServer, upstreamURL string, versioned bool) {
	lg := startLakegate(t, upstreamURL, m, lakegateOptions{AdminToken: true})
	w := &oracleWorld{m: m, lg: lg, b: bucketName("oracle"), versioned: versioned}
	ctx := minioCtx(t)
	if err := m.Client.MakeBucket(ctx, w.b, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	if versioned {
		if err := m.Client.EnableVersioning(ctx, w.b); err != nil {
			t.Fatalf("enable versioning: %v", err)
		}
	}
	lg.sql(t,
		"CREATE ROLE oracle", "GRANT ROLE oracle TO GROUP oracle_g",
		fmt.Sprintf("GRANT SHOW, SELECT, INSERT ON URI 's3://%s/public/' TO ROLE oracle", w.b),
	)
	key, secret := lg.createUser(t, "eve", "oracle_g")
	w.u = newS3User(lg, "eve", key, secret)

	for _, k := range oraclePublicKeys {
		w.put(t, k, "PUBLIC:"+k)
	}
	mpu := w.upload(t, "public/mpu.bin")
	if versioned {
		// A visible key with two versions and a visible delete marker.
		w.put(t, "public/b.txt", "PUBLIC:b, second version")
		w.put(t, "public/gone.txt", "PUBLIC:gone")
		w.remove(t, "public/gone.txt")
	}
	before := w.answers(t)

	for _, k := range oracleHiddenKeys {
		w.put(t, k, hiddenMarker+k)
	}
	w.upload(t, "private/mpu.bin")
	w.upload(t, "public.mpu")
	if versioned {
		w.put(t, "private/s.txt", hiddenMarker+"second version")
		w.put(t, "private/deleted.txt", hiddenMarker+"deleted")
		w.remove(t, "private/deleted.txt")
	}
	after := w.answers(t)

	answered := map[string]string{}
	for _, a := range before {
		answered[a.req] = a.text
	}
	diffs := 0
	for _, a := range after {
		was, ok := answered[a.req]
		delete(answered, a.req)
		if ok && was == a.text {
			continue
		}
		diffs++
		if diffs <= 12 {
			t.Errorf("the answer depends on hidden keys: %s\nwithout hidden keys:\n%s\nwith hidden keys:\n%s", a.req, was, a.text)
		}
	}
	for req, text := range answered {
		diffs++
		if diffs <= 12 {
			t.Errorf("the answer depends on hidden keys: %s is only asked without them (a walk got shorter):\n%s", req, text)
		}
	}
	if diffs > 0 {
		t.Errorf("%d of %d listing answers differ once hidden keys exist", diffs, len(after))
	}
	bad := 0
	for _, a := range after {
		for _, s := range []string{"<Owner>", "<Initiator>", m.AccessKey, hiddenMarker} {
			if strings.Contains(a.text, s) {
				if bad++; bad <= 5 {
					t.Errorf("%s: the answer contains %q:\n%s", a.req, s, a.text)
				}
				break
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d answers name the backend's identity or carry hidden content", bad)
	}
	w.checkComplete(t)

	// ListParts and ListBuckets (filtered for the user, whole for the
	// admin) name no backend identity either.
	admin := newS3User(lg, "admin", lg.AdminKey, lg.AdminSecret)
	for _, c := range []struct {
		u   *s3User
		req rawReq
	}{
		{w.u, rawReq{Method: http.MethodGet, Path: "/" + w.b + "/public/mpu.bin", Query: "uploadId=" + url.QueryEscape(mpu)}},
		{w.u, rawReq{Method: http.MethodGet, Path: "/"}},
		{admin, rawReq{Method: http.MethodGet, Path: "/"}},
	} {
		r := c.u.do(t, c.req)
		if r.Status != http.StatusOK {
			t.Errorf("%s as %s: %d\n%s", c.req, c.u.Name, r.Status, r.Body)
		}
		for _, s := range []string{"<Owner>", "<Initiator>", m.AccessKey} {
			if strings.Contains(string(r.Body), s) {
				t.Errorf("%s as %s: the answer contains %q:\n%s", c.req, c.u.Name, s, r.Body)
			}
		}
	}
}

func (w *oracleWorld) put(t *testing.T, key, content string) {
	t.Helper()
	_, err := w.m.Client.PutObject(minioCtx(t), w.b, key, strings.NewReader(content), int64(len(content)),
		minio.PutObjectOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func (w *oracleWorld) remove(t *testing.T, key string) {
	t.Helper()
	if err := w.m.Client.RemoveObject(minioCtx(t), w.b, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("remove %s: %v", key, err)
	}
}

func (w *oracleWorld) upload(t *testing.T, key string) string {
	t.Helper()
	id, err := w.m.core().NewMultipartUpload(minioCtx(t), w.b, key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("create upload %s: %v", key, err)
	}
	return id
}

// oracleAnswer is one request and the client's view of its answer.
type oracleAnswer struct {
	req  string
	text string // status and body, continuation tokens replaced
}

// tokenRE matches continuation tokens, which are sealed afresh on every
// response (random nonce) and so differ between any two answers.
// Request ids differ too.
var tokenRE = regexp.MustCompile(`<((?:Next)?ContinuationToken|RequestId|HostId)>[^<]*</((?:Next)?ContinuationToken|RequestId|HostId)>`)

// listKinds are the listing requests by their selecting parameters, and
// the parameter each sends its marker and its page size in.
var oracleKinds = []struct {
	name, sel, marker, max string
}{
	{"v1", "", "marker", "max-keys"},
	{"v2", "list-type=2", "start-after", "max-keys"},
	{"versions", "versions", "key-marker", "max-keys"},
	{"uploads", "uploads", "key-marker", "max-uploads"},
}

// query encodes q in the canonical form (sorted, %20 for spaces) with the
// selecting parameter sel ("list-type=2", "versions", …) added.
func oracleQuery(sel string, q url.Values) string {
	q = maps.Clone(q)
	if sel != "" {
		k, v, _ := strings.Cut(sel, "=")
		q.Set(k, v)
	}
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}

func (w *oracleWorld) get(t *testing.T, query string) oracleAnswer {
	t.Helper()
	r := w.u.do(t, rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: query})
	body := tokenRE.ReplaceAll(r.Body, []byte("<$1>TOKEN</$2>"))
	return oracleAnswer{req: "GET /" + w.b + "?" + query, text: fmt.Sprintf("%d\n%s", r.Status, body)}
}

// answers sends every request of the oracle and pages through every kind.
func (w *oracleWorld) answers(t *testing.T) []oracleAnswer {
	t.Helper()
	var out []oracleAnswer
	for _, k := range oracleKinds {
		for _, prefix := range []string{"", "pub", "public/"} {
			for _, delim := range []string{"", "/"} {
				for _, maxKeys := range []string{"", "1", "2"} {
					for _, marker := range oracleMarkers {
						for _, enc := range []string{"", "url"} {
							q := url.Values{}
							for name, v := range map[string]string{"prefix": prefix, "delimiter": delim, k.max: maxKeys, k.marker: marker, "encoding-type": enc} {
								if v != "" {
									q.Set(name, v)
								}
							}
							out = append(out, w.get(t, oracleQuery(k.sel, q)))
						}
					}
				}
			}
		}
		for _, delim := range []string{"", "/"} {
			for _, enc := range []string{"", "url"} {
				out = append(out, w.walk(t, k.sel, k.max, delim, enc)...)
			}
		}
	}
	// A version or upload id marker beside a key marker naming a hidden
	// key (which exists only in the second world), inside and outside
	// the grant's prefix.
	for _, sub := range []string{"version-id-marker", "upload-id-marker"} {
		sel := map[string]string{"version-id-marker": "versions", "upload-id-marker": "uploads"}[sub]
		for _, prefix := range []string{"", "public/"} {
			for _, km := range []string{"private/s.txt", "private/mpu.bin", "public.hidden", "public/a.txt"} {
				for _, id := range []string{"null", "00000000-0000-0000-0000-000000000000"} {
					q := url.Values{"key-marker": {km}, sub: {id}}
					if prefix != "" {
						q.Set("prefix", prefix)
					}
					out = append(out, w.get(t, oracleQuery(sel, q)))
				}
			}
		}
	}
	return out
}

// walk pages through one kind one entry at a time, following the markers
// and tokens each page returns.
func (w *oracleWorld) walk(t *testing.T, sel, maxParam, delim, enc string) []oracleAnswer {
	t.Helper()
	var out []oracleAnswer
	next := url.Values{maxParam: {"1"}}
	for range 40 {
		q := maps.Clone(next)
		if delim != "" {
			q.Set("delimiter", delim)
		}
		if enc != "" {
			q.Set("encoding-type", enc)
		}
		query := oracleQuery(sel, q)
		r := w.u.do(t, rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: query})
		a := oracleAnswer{req: "GET /" + w.b + "?" + query, text: fmt.Sprintf("%d\n%s", r.Status, tokenRE.ReplaceAll(r.Body, []byte("<$1>TOKEN</$2>")))}
		// Requests carrying a sealed token differ; the page number
		// identifies them instead.
		a.req = fmt.Sprintf("walk %s delimiter=%q encoding-type=%q page %d", sel, delim, enc, len(out))
		out = append(out, a)
		if r.Status != http.StatusOK {
			return out
		}
		var l listXML
		if err := xml.Unmarshal(r.Body, &l); err != nil {
			t.Fatalf("%s: %v\n%s", query, err, r.Body)
		}
		if !l.IsTruncated {
			return out
		}
		next = url.Values{maxParam: {"1"}}
		switch {
		case sel == "list-type=2":
			if l.NextContinuationToken == "" {
				t.Fatalf("%s: truncated without NextContinuationToken", query)
			}
			next.Set("continuation-token", l.NextContinuationToken)
		case sel == "":
			marker := l.NextMarker
			if marker == "" && len(l.Contents) > 0 {
				marker = l.Contents[len(l.Contents)-1].Key
			}
			if marker == "" {
				t.Fatalf("%s: truncated with neither NextMarker nor keys", query)
			}
			next.Set("marker", l.decode(marker))
		default:
			if l.NextKeyMarker == "" {
				t.Fatalf("%s: truncated without NextKeyMarker", query)
			}
			next.Set("key-marker", l.decode(l.NextKeyMarker))
			if l.NextVersionIDMarker != "" {
				next.Set("version-id-marker", l.NextVersionIDMarker)
			}
			if l.NextUploadIDMarker != "" {
				next.Set("upload-id-marker", l.NextUploadIDMarker)
			}
		}
	}
	return append(out, oracleAnswer{req: fmt.Sprintf("walk %s delimiter=%q encoding-type=%q", sel, delim, enc), text: "more than 40 pages"})
}

// checkComplete makes sure the oracle is not satisfied by listings that
// hide everything: the user sees every public object, in both encodings.
func (w *oracleWorld) checkComplete(t *testing.T) {
	t.Helper()
	for _, enc := range []string{"", "url"} {
		for _, sel := range []string{"", "list-type=2"} {
			q := url.Values{}
			if enc != "" {
				q.Set("encoding-type", enc)
			}
			query := oracleQuery(sel, q)
			r := w.u.do(t, rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: query})
			var l listXML
			if err := xml.Unmarshal(r.Body, &l); r.Status != 200 || err != nil {
				t.Fatalf("%s: %d %v\n%s", query, r.Status, err, r.Body)
			}
			if got := l.keys(); !slices.Equal(got, sorted(oraclePublicKeys)) {
				t.Errorf("%s lists %q, want %q", query, got, sorted(oraclePublicKeys))
			}
		}
		q := url.Values{"delimiter": {"/"}}
		if enc != "" {
			q.Set("encoding-type", enc)
		}
		query := oracleQuery("list-type=2", q)
		r := w.u.do(t, rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: query})
		var l listXML
		if err := xml.Unmarshal(r.Body, &l); r.Status != 200 || err != nil {
			t.Fatalf("%s: %d %v\n%s", query, r.Status, err, r.Body)
		}
		if got := l.prefixes(); len(l.keys()) != 0 || !slices.Equal(got, []string{"public/"}) {
			t.Errorf("%s lists keys %q and prefixes %q, want only the prefix public/", query, l.keys(), got)
		}
	}
	r := w.u.do(t, rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "uploads="})
	var l listXML
	if err := xml.Unmarshal(r.Body, &l); r.Status != 200 || err != nil {
		t.Fatalf("uploads: %d %v\n%s", r.Status, err, r.Body)
	}
	if got := l.keys(); !slices.Equal(got, []string{"public/mpu.bin"}) {
		t.Errorf("uploads lists %q, want [public/mpu.bin]", got)
	}
}
