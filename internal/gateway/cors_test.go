package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/upstream"
)

const testVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

func intp(n int) *int { return &n }

// testRules: a site rule first, a public one after it (the example of S3's
// documentation, shortened).
var testRules = []CORSRule{
	{
		ID:             "site",
		AllowedOrigins: []string{"https://example.com", "https://*.example.com"},
		AllowedMethods: []string{"GET", "PUT", "DELETE"},
		AllowedHeaders: []string{"Content-Type", "x-amz-*"},
		ExposeHeaders:  []string{"ETag", "x-amz-request-id"},
		MaxAgeSeconds:  intp(3000),
	},
	{ID: "public", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "HEAD"}},
}

// TestCORSPreflightHeaders: the first rule that allows origin, method and
// every requested header answers, with S3's headers; none is nil.
func TestCORSPreflightHeaders(t *testing.T) {
	site := map[string]string{
		"Access-Control-Allow-Origin":      "https://example.com",
		"Access-Control-Allow-Methods":     "GET, PUT, DELETE",
		"Access-Control-Expose-Headers":    "ETag, x-amz-request-id",
		"Access-Control-Max-Age":           "3000",
		"Access-Control-Allow-Credentials": "true",
		"Vary":                             testVary,
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	public := map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD", "Vary": testVary}
	for _, c := range []struct {
		name                    string
		origin, method, headers string
		want                    map[string]string // nil: refused
	}{
		{"exact origin", "https://example.com", "PUT", "", site},
		{"requested headers are echoed in lower case", "https://example.com", "PUT", "Content-Type,X-Amz-Date ,  x-amz-meta-Name",
			with(site, "Access-Control-Allow-Headers", "content-type, x-amz-date, x-amz-meta-name")},
		{"origin pattern", "https://app.example.com", "DELETE", "",
			with(site, "Access-Control-Allow-Origin", "https://app.example.com")},
		{"only the literal * allows the origin", "https://example.org", "GET", "", public},
		{"only the second rule allows the method", "https://example.com", "HEAD", "", public},
		{"empty header names are dropped", "https://example.org", "GET", " , ,", public},
		{"origin no rule allows for the method", "https://example.org", "PUT", "", nil},
		{"origin in another case", "https://EXAMPLE.com", "PUT", "", nil},
		{"pattern needs its suffix", "https://example.com.evil.test", "PUT", "", nil},
		{"method no rule allows", "https://example.com", "POST", "", nil},
		{"header no rule allows", "https://example.com", "PUT", "content-type, authorization", nil},
		{"header for a rule without AllowedHeader", "https://example.org", "GET", "content-type", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			if c.headers != "" {
				h.Set("Access-Control-Request-Headers", c.headers)
			}
			names := requestedHeaders(h)
			i := matchCORS(testRules, c.origin, c.method, names)
			if c.want == nil {
				if i >= 0 {
					t.Fatalf("rule %d allows it, want none", i+1)
				}
				return
			}
			if i < 0 {
				t.Fatal("no rule allows it")
			}
			got := http.Header{}
			setCORSHeaders(got, &testRules[i], c.origin, names)
			if len(got) != len(c.want) {
				t.Errorf("headers %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
		})
	}
}

// TestCORSCredentials: Access-Control-Allow-Credentials is sent unless the
// rule allows every origin with the literal "*", even next to the origin
// itself.
func TestCORSCredentials(t *testing.T) {
	for _, c := range []struct {
		origins    []string
		wantOrigin string
		wantCreds  string
	}{
		{[]string{"*"}, "*", ""},
		{[]string{"https://example.com", "*"}, "*", ""},
		{[]string{"https://example.com"}, "https://example.com", "true"},
		{[]string{"https://*.com"}, "https://example.com", "true"},
		{[]string{"http*"}, "https://example.com", "true"},
	} {
		rules := []CORSRule{{AllowedOrigins: c.origins, AllowedMethods: []string{"GET"}}}
		i := matchCORS(rules, "https://example.com", "GET", nil)
		if i != 0 {
			t.Errorf("%v: no match", c.origins)
			continue
		}
		h := http.Header{}
		setCORSHeaders(h, &rules[0], "https://example.com", nil)
		if h.Get("Access-Control-Allow-Origin") != c.wantOrigin || h.Get("Access-Control-Allow-Credentials") != c.wantCreds {
			t.Errorf("%v: %v", c.origins, h)
		}
	}
}

func TestParseCORSConfiguration(t *testing.T) {
	const ns = ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	for _, c := range []struct {
		name, doc string
		want      []CORSRule // nil: an error
	}{
		{"full rule", `<CORSConfiguration` + ns + `><CORSRule><ID>a</ID><AllowedOrigin>https://*.example.com</AllowedOrigin>` +
			`<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader>` +
			`<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
			[]CORSRule{{ID: "a", AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"PUT", "GET"},
				AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: intp(300)}}},
		{"no namespace, no max age", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`,
			[]CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}},
		{"no rule", `<CORSConfiguration/>`, nil},
		{"another document", `<LifecycleConfiguration><CORSRule/></LifecycleConfiguration>`, nil},
		{"two wildcards", `<CORSConfiguration><CORSRule><AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`, nil},
		{"unknown method", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`, nil},
		{"no method", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>`, nil},
		{"no origin", `<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`, nil},
		{"negative max age", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`, nil},
		{"not XML", `CORS`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCORSConfiguration([]byte(c.doc))
			if c.want == nil {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if g.ID != w.ID || strings.Join(g.AllowedOrigins, "|") != strings.Join(w.AllowedOrigins, "|") ||
					strings.Join(g.AllowedMethods, "|") != strings.Join(w.AllowedMethods, "|") ||
					strings.Join(g.AllowedHeaders, "|") != strings.Join(w.AllowedHeaders, "|") ||
					strings.Join(g.ExposeHeaders, "|") != strings.Join(w.ExposeHeaders, "|") ||
					(g.MaxAgeSeconds == nil) != (w.MaxAgeSeconds == nil) || g.MaxAgeSeconds != nil && *g.MaxAgeSeconds != *w.MaxAgeSeconds {
					t.Errorf("rule %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// FuzzParseCORSConfiguration: the parser never panics, and what it
// accepts passes validation and matches without panicking.
func FuzzParseCORSConfiguration(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>` +
		`<AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3</MaxAgeSeconds></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration/>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		rules, err := ParseCORSConfiguration(doc)
		if err != nil {
			return
		}
		if err := validateCORSRules(rules); err != nil {
			t.Fatalf("accepted rules fail validation: %v", err)
		}
		for _, o := range []string{"https://example.com", "*", ""} {
			if i := matchCORS(rules, o, "GET", []string{"content-type"}); i >= 0 {
				setCORSHeaders(http.Header{}, &rules[i], o, nil)
			}
		}
	})
}

// fakeCORSSource serves one document per bucket and counts the reads.
type fakeCORSSource struct {
	mu    sync.Mutex
	docs  map[string][]byte
	errs  map[string]error
	reads atomic.Int64
	delay time.Duration
}

func (s *fakeCORSSource) BucketCORS(_ context.Context, bucket string) ([]byte, error) {
	s.reads.Add(1)
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.docs[bucket], s.errs[bucket]
}

func sendPreflight(t *testing.T, proxy, path, origin, method, headers string) (*http.Response, string) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodOptions, proxy+path, nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if method != "" {
		r.Header.Set("Access-Control-Request-Method", method)
	}
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestCORSPreflightHandler: preflights are answered without
// authentication from the configured rules, else the source's (read once
// per bucket while cached, the absence of a configuration too; failures
// refused and not cached); they never reach the upstream and are audited
// as unauthenticated allowed requests; OPTIONS that is not a preflight
// still goes through the pipeline.
func TestCORSPreflightHandler(t *testing.T) {
	src := &fakeCORSSource{
		docs: map[string][]byte{"withcors": []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>https://app.test</AllowedOrigin>` +
			`<AllowedMethod>PUT</AllowedMethod><AllowedHeader>content-type</AllowedHeader></CORSRule></CORSConfiguration>`)},
		errs: map[string]error{
			"down":    &upstream.CORSError{Unavailable: true, Err: errors.New("dial tcp: refused")},
			"refused": &upstream.CORSError{Status: http.StatusForbidden, Code: "AccessDenied"},
		},
		delay: 20 * time.Millisecond,
	}
	aud := &recordingAuditor{}
	proxy, up := newProxy(t, func(o *Options) {
		o.Audit = aud
		o.CORS = CORSOptions{Source: src, Buckets: map[string][]CORSRule{
			"configured": {{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}},
		}}
	})

	// Concurrent first preflights read the configuration once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, body := sendPreflight(t, proxy, "/withcors/k", "https://app.test", "PUT", "Content-Type")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.test" ||
				resp.Header.Get("Access-Control-Allow-Headers") != "content-type" {
				t.Errorf("preflight: %d %v %s", resp.StatusCode, resp.Header, body)
			}
		})
	}
	wg.Wait()
	if n := src.reads.Load(); n != 1 {
		t.Errorf("%d reads of the configuration for 8 preflights, want 1", n)
	}

	for _, c := range []struct {
		name, path, origin, method string
		status                     int
		message                    string
	}{
		{"no configuration", "/nocors/k", "https://app.test", "PUT", 403, "CORS is not enabled for this bucket"},
		{"no configuration, cached", "/nocors", "https://app.test", "GET", 403, "CORS is not enabled for this bucket"},
		{"foreign origin", "/withcors/k", "https://evil.test", "PUT", 403, "This CORS request is not allowed"},
		{"configured rules", "/configured/k", "https://any.test", "GET", 200, ""},
		{"configured rules, method", "/configured/k", "https://any.test", "PUT", 403, "This CORS request is not allowed"},
		{"backend unreachable", "/down/k", "https://app.test", "PUT", 503, "could not be read"},
		{"backend refuses", "/refused/k", "https://app.test", "PUT", 403, "could not be read"},
		{"bad method", "/withcors/k", "https://app.test", "put", 400, "Invalid Access-Control-Request-Method: put"},
		{"no bucket", "/", "https://app.test", "GET", 400, "InvalidBucketName"},
	} {
		resp, body := sendPreflight(t, proxy, c.path, c.origin, c.method, "")
		if resp.StatusCode != c.status || !strings.Contains(body, c.message) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, resp.StatusCode, body, c.status, c.message)
		}
		if c.status != 200 && resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: refusal carries Access-Control-Allow-Origin", c.name)
		}
	}
	reads := src.reads.Load()
	sendPreflight(t, proxy, "/nocors/k", "https://app.test", "PUT", "")
	sendPreflight(t, proxy, "/withcors/k", "https://app.test", "PUT", "")
	if n := src.reads.Load() - reads; n != 0 {
		t.Errorf("%d reads for cached buckets, want 0", n)
	}
	sendPreflight(t, proxy, "/down/k", "https://app.test", "PUT", "")
	if n := src.reads.Load() - reads; n != 1 {
		t.Errorf("a failed read was cached (%d reads)", n)
	}

	// Not preflights: the pipeline as before.
	for _, h := range []map[string]string{
		{"Origin": "https://app.test"},
		{"Access-Control-Request-Method": "PUT"},
		{},
	} {
		r, _ := http.NewRequest(http.MethodOptions, proxy+"/withcors/k", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("OPTIONS with %v: %d %v", h, resp.StatusCode, resp.Header)
		}
	}
	if up.count() != 0 {
		t.Errorf("the upstream saw %d requests", up.count())
	}

	// Audited: allowed, unauthenticated, the URI it named.
	var found bool
	for _, ev := range aud.waitCompletions(t, 20) {
		if ev.Operation == "CORSPreflight" && ev.Decision == audit.DecisionAllow && ev.User == "" &&
			len(ev.URIs) == 1 && ev.URIs[0] == "s3://withcors/k" && ev.Status == http.StatusOK {
			found = true
		}
	}
	if !found {
		t.Error("no audit record of an allowed preflight")
	}
}

// TestCORSActualResponse: a signed request with an Origin the rules allow
// gets the CORS headers (also on an upstream error); one without an Origin
// or from another origin gets none.
func TestCORSActualResponse(t *testing.T) {
	proxy, _ := newProxy(t, func(o *Options) {
		o.CORS = CORSOptions{Buckets: map[string][]CORSRule{
			"bucket1": {{AllowedOrigins: []string{"https://app.test"}, AllowedMethods: []string{"GET"}, ExposeHeaders: []string{"ETag"}}},
		}}
	})
	for _, c := range []struct {
		origin, want string
	}{
		{"https://app.test", "https://app.test"},
		{"https://evil.test", ""},
		{"", ""},
	} {
		r, _ := http.NewRequest(http.MethodGet, proxy+"/bucket1/k", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		signV4(t, r, sha(nil), time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != c.want {
			t.Errorf("Origin %q: %d %v", c.origin, resp.StatusCode, resp.Header)
		}
		if c.want != "" && (resp.Header.Get("Access-Control-Expose-Headers") != "ETag" || resp.Header.Get("Vary") != testVary) {
			t.Errorf("Origin %q: %v", c.origin, resp.Header)
		}
	}
}

func TestCORSOptionsValidated(t *testing.T) {
	_, err := newCORSRules(CORSOptions{Buckets: map[string][]CORSRule{
		"b": {{AllowedOrigins: []string{"**"}, AllowedMethods: []string{"PATCH"}}},
	}})
	if err == nil || !strings.Contains(err.Error(), `"b"`) || !strings.Contains(err.Error(), "PATCH") {
		t.Errorf("err = %v", err)
	}
}
