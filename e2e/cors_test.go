package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue 13, item 3: browsers send CORS preflights (OPTIONS with Origin and
// Access-Control-Request-Method, unsigned) before a cross-origin PUT
// through a presigned URL. The proxy answers them from the bucket's CORS
// configuration, as S3 does (the backend's, read with the system
// credentials; or upstream.buckets.<b>.cors for a backend such as MinIO
// that does not implement bucket CORS), and adds the CORS headers to the
// actual responses. Nothing else goes unauthenticated.

// corsVary is the Vary header S3 sends with CORS answers.
const corsVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

// corsNotAllowed is S3's message for a preflight no rule allows (sic).
const corsNotAllowed = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, " +
	"request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

// corsPage is a web app on its own origin: it serves a page whose script
// PUTs through a presigned URL, then GETs the object through another,
// and reports what it saw in the page and to /result.
type corsPage struct {
	srv     *httptest.Server
	origin  string
	results chan string
	page    string
}

func startCORSPage(t *testing.T) *corsPage {
	t.Helper()
	p := &corsPage{results: make(chan string, 4)}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/result":
			b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
			select {
			case p.results <- string(b):
			default:
			}
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, p.page)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	p.origin = p.srv.URL
	return p
}

// corsScript is the page's script: fetch(PUT) with a JSON content type
// (not CORS-safelisted, so the preflight asks for it), then fetch(GET);
// the outcome goes into <pre id="out"> and to /result.
const corsScript = `
(async () => {
  const out = [];
  try {
    const put = await fetch(%s, {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: %s});
    out.push('put=' + put.status + ' etag=' + (put.headers.get('ETag') || 'hidden'));
    const get = await fetch(%s);
    out.push('get=' + get.status + ' body=' + await get.text());
  } catch (e) {
    out.push('error=' + e.name);
  }
  document.getElementById('out').textContent = out.join(' ');
  try { await fetch('/result', {method: 'POST', body: out.join(' ')}); } catch (e) {}
})();
`

// load sets the page to PUT body through putURL and GET getURL, opens it
// in headless Chromium and returns the outcome the script wrote into the
// page.
func (p *corsPage) load(t *testing.T, chromium, putURL, getURL, body string) string {
	t.Helper()
	js := func(s string) string {
		b, err := json.Marshal(s) // escapes <, > and &: safe inside <script>
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p.page = `<!doctype html><html><head><title>cors</title></head><body><pre id="out">pending</pre><script>` +
		fmt.Sprintf(corsScript, js(putURL), js(body), js(getURL)) + `</script></body></html>`
	for len(p.results) > 0 {
		<-p.results
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=30000", "--dump-dom", p.origin+"/")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(stderr.String(), 2000))
	}
	m := regexp.MustCompile(`(?s)<pre id="out">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("chromium: no outcome in the page:\n%s\n%s", dom, tail(stderr.String(), 2000))
	}
	got := html.UnescapeString(string(m[1]))
	defer func() { t.Logf("chromium on %s: %s", p.origin, got) }()
	if got == "pending" {
		// The virtual time budget ran out before the script ended; the
		// script still reports to /result.
		select {
		case got = <-p.results:
		case <-time.After(30 * time.Second):
			t.Fatalf("chromium: the page's script did not finish:\n%s", tail(stderr.String(), 2000))
		}
	}
	return got
}

// corsRuleXML is the bucket CORS configuration the tests use, for origin.
func corsRuleXML(origin string) string {
	return `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule>` +
		`<AllowedOrigin>` + origin + `</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>` +
		`<AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-meta-*</AllowedHeader>` +
		`<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>`
}

// preflight sends an unsigned OPTIONS as a browser does; reqHeaders ""
// leaves Access-Control-Request-Headers out, method "" leaves
// Access-Control-Request-Method out.
func preflight(t *testing.T, lg *lakegateServer, path, origin, method, reqHeaders string) rawResponse {
	t.Helper()
	req := newRawRequest(t, http.MethodOptions, lg.ProxyURL, path, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if method != "" {
		req.Header.Set("Access-Control-Request-Method", method)
	}
	if reqHeaders != "" {
		req.Header.Set("Access-Control-Request-Headers", reqHeaders)
	}
	return doRaw(t, lg.HTTPClient(), req)
}

// corsHeaders returns r's Access-Control-* headers and Vary, one line
// each, for failure messages.
func corsHeaders(r rawResponse) string {
	var b strings.Builder
	for k, v := range r.Header {
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(v, " | "))
		}
	}
	return b.String()
}

func noCORSHeaders(t *testing.T, what string, r rawResponse) {
	t.Helper()
	for k := range r.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("%s: answer carries %s: %v", what, k, r.Header[k])
		}
	}
}

func wantCORSRefusal(t *testing.T, what string, r rawResponse, message string) {
	t.Helper()
	if r.Status != http.StatusForbidden {
		t.Errorf("%s: status %d, want 403\n%s", what, r.Status, r.Body)
		return
	}
	e, err := parseS3Error(r.Body)
	if err != nil || e.Code != "AccessForbidden" || e.Message != message {
		t.Errorf("%s: got %q %q (%v), want AccessForbidden %q", what, e.Code, e.Message, err, message)
	}
	noCORSHeaders(t, what, r)
}

// TestCORSPreflightBrowser: a web app on another origin uploads and
// downloads through presigned URLs from headless Chromium, in front of
// MinIO (rules in upstream.buckets.<b>.cors: MinIO answers PutBucketCors
// NotImplemented) and of the embedded backend (rules set with
// PutBucketCors on the backend, read by the proxy with the system
// credentials). A bucket without CORS, and an origin the rules do not
// name, are refused; exact headers are checked with raw requests; an
// OPTIONS that is not a preflight, and an unsigned request with an Origin,
// still need a signature.
func TestCORSPreflightBrowser(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	chromium := findTool("chromium")
	if chromium == "" {
		t.Skip("chromium not found; install it with apt-get install chromium (.ci/run does)")
	}
	for _, kind := range backendKinds {
		t.Run(string(kind), func(t *testing.T) {
			app := startCORSPage(t)
			other := startCORSPage(t) // an origin no rule names
			bucket, plain := bucketName("cors"), bucketName("nocors")
			var o lakegateOptions
			if kind == backendMinIO {
				o.UpstreamBuckets = map[string]any{bucket: map[string]any{"cors": []any{map[string]any{
					"allowed_origins": []string{app.origin},
					"allowed_methods": []string{"PUT", "GET"},
					"allowed_headers": []string{"content-type", "x-amz-meta-*"},
					"expose_headers":  []string{"ETag"},
					"max_age_seconds": 300,
				}}}}
			}
			st := newPolicyStackOn(t, kind, o)
			st.MinIO.makeBucket(t, bucket, false)
			st.MinIO.makeBucket(t, plain, false)
			if kind == backendEmbedded {
				r := st.MinIO.backendRequest(t, http.MethodPut, "/"+bucket+"?cors", nil, []byte(corsRuleXML(app.origin)))
				if r.Status != http.StatusOK {
					t.Fatalf("PutBucketCors on the backend: %d %s", r.Status, r.Body)
				}
			}
			u := grantUser(t, st.LG, "webapp", "SELECT, INSERT ON URI 's3://"+bucket+"/web'",
				"SELECT, INSERT ON URI 's3://"+plain+"/web'")
			presign := func(method, path string) string {
				req := newRawRequest(t, method, st.LG.ProxyURL, path, nil)
				return presignV4(t, req, u.Key, u.Secret, 10*time.Minute, time.Now())
			}
			start := st.Rec.Len()

			// The browser: preflight, presigned PUT, presigned GET.
			got := app.load(t, chromium, presign(http.MethodPut, "/"+bucket+"/web/up.json"),
				presign(http.MethodGet, "/"+bucket+"/web/up.json"), `{"from":"browser"}`)
			if want := regexp.MustCompile(`^put=200 etag="[0-9a-f-]+" get=200 body=\{"from":"browser"\}$`); !want.MatchString(got) {
				t.Errorf("browser upload through the proxy: got %q", got)
			}
			if c := st.MinIO.get(t, bucket, "web/up.json"); c != `{"from":"browser"}` {
				t.Errorf("backend holds %q after the browser's upload", c)
			}

			// A bucket without CORS: the preflight is refused, so the
			// browser never sends the PUT.
			got = app.load(t, chromium, presign(http.MethodPut, "/"+plain+"/web/up.json"),
				presign(http.MethodGet, "/"+plain+"/web/up.json"), `{"from":"browser"}`)
			if got != "error=TypeError" {
				t.Errorf("browser upload to a bucket without CORS: got %q, want the fetch to fail", got)
			}
			if st.MinIO.objectExists(t, plain, "web/up.json") {
				t.Errorf("the upload to a bucket without CORS reached the backend")
			}

			// An origin the rules do not name.
			got = other.load(t, chromium, presign(http.MethodPut, "/"+bucket+"/web/other.json"),
				presign(http.MethodGet, "/"+bucket+"/web/up.json"), `{"from":"other"}`)
			if got != "error=TypeError" {
				t.Errorf("browser upload from an origin the rules do not name: got %q, want the fetch to fail", got)
			}
			if st.MinIO.objectExists(t, bucket, "web/other.json") {
				t.Errorf("the upload from a foreign origin reached the backend")
			}
			for _, r := range st.Rec.Since(start) {
				if r.Method == http.MethodOptions || strings.Contains(r.Path, "other.json") || strings.HasPrefix(r.Path, "/"+plain+"/") {
					t.Errorf("reached the backend: %s", r)
				}
			}

			// Exact headers, as S3 sends them.
			r := preflight(t, st.LG, "/"+bucket+"/web/x", app.origin, "PUT", "Content-Type, X-Amz-Meta-Note")
			want := map[string]string{
				"Access-Control-Allow-Origin":      app.origin,
				"Access-Control-Allow-Methods":     "PUT, GET",
				"Access-Control-Allow-Headers":     "content-type, x-amz-meta-note",
				"Access-Control-Expose-Headers":    "ETag",
				"Access-Control-Max-Age":           "300",
				"Access-Control-Allow-Credentials": "true",
				"Vary":                             corsVary,
			}
			if r.Status != http.StatusOK {
				t.Errorf("preflight: status %d, want 200\n%s", r.Status, r.Body)
			}
			for k, v := range want {
				if got := strings.Join(r.Header.Values(k), " | "); got != v {
					t.Errorf("preflight: %s = %q, want %q", k, got, v)
				}
			}
			if t.Failed() {
				t.Logf("preflight headers:\n%s", corsHeaders(r))
			}
			// On the bucket itself too.
			if r := preflight(t, st.LG, "/"+bucket, app.origin, "GET", ""); r.Status != http.StatusOK ||
				r.Header.Get("Access-Control-Allow-Origin") != app.origin || r.Header.Get("Access-Control-Allow-Headers") != "" {
				t.Errorf("bucket preflight: %d\n%s%s", r.Status, corsHeaders(r), r.Body)
			}

			wantCORSRefusal(t, "no CORS configuration", preflight(t, st.LG, "/"+plain+"/web/x", app.origin, "PUT", ""),
				"CORSResponse: CORS is not enabled for this bucket.")
			wantCORSRefusal(t, "foreign origin", preflight(t, st.LG, "/"+bucket+"/web/x", other.origin, "PUT", ""), corsNotAllowed)
			wantCORSRefusal(t, "origin in another case", preflight(t, st.LG, "/"+bucket+"/web/x", strings.ToUpper(app.origin), "PUT", ""), corsNotAllowed)
			wantCORSRefusal(t, "method not allowed", preflight(t, st.LG, "/"+bucket+"/web/x", app.origin, "DELETE", ""), corsNotAllowed)
			wantCORSRefusal(t, "header not allowed", preflight(t, st.LG, "/"+bucket+"/web/x", app.origin, "PUT", "content-type, x-amz-acl"), corsNotAllowed)
			if r := preflight(t, st.LG, "/"+bucket+"/web/x", app.origin, "PATCH", ""); r.Status != http.StatusBadRequest {
				t.Errorf("preflight for PATCH: status %d, want 400\n%s", r.Status, r.Body)
			}

			// Not preflights: authenticated as before, and refused unsigned.
			for _, c := range []struct {
				what           string
				method, origin string
				acrm           string
			}{
				{"OPTIONS with an Origin only", http.MethodOptions, app.origin, ""},
				{"OPTIONS with Access-Control-Request-Method only", http.MethodOptions, "", "PUT"},
				{"bare OPTIONS", http.MethodOptions, "", ""},
				{"unsigned GET with an Origin", http.MethodGet, app.origin, ""},
				{"unsigned PUT with an Origin and Access-Control-Request-Method", http.MethodPut, app.origin, "PUT"},
			} {
				before := st.Rec.Len()
				req := newRawRequest(t, c.method, st.LG.ProxyURL, "/"+bucket+"/web/up.json", nil)
				if c.origin != "" {
					req.Header.Set("Origin", c.origin)
				}
				if c.acrm != "" {
					req.Header.Set("Access-Control-Request-Method", c.acrm)
				}
				r := doRaw(t, st.LG.HTTPClient(), req)
				if r.Status < 400 {
					t.Errorf("%s: status %d, want a refusal\n%s", c.what, r.Status, r.Body)
				}
				if c.method == http.MethodOptions {
					noCORSHeaders(t, c.what, r)
				}
				for _, rr := range st.Rec.Since(before) {
					if !strings.Contains(rr.Query, "cors") {
						t.Errorf("%s: reached the backend: %s", c.what, rr)
					}
				}
			}
			if c := st.MinIO.get(t, bucket, "web/up.json"); c != `{"from":"browser"}` {
				t.Errorf("backend holds %q after the unsigned requests", c)
			}

			// A signed request with an Origin gets the CORS headers of an
			// actual request; one without an Origin gets none.
			r = u.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/web/up.json", Header: headerOf("Origin", app.origin)})
			if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != app.origin ||
				r.Header.Get("Access-Control-Expose-Headers") != "ETag" || r.Header.Get("Vary") != corsVary {
				t.Errorf("signed GET with an Origin: %d\n%s", r.Status, corsHeaders(r))
			}
			r = u.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/web/up.json"})
			noCORSHeaders(t, "signed GET without an Origin", r)
			r = u.do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/web/up.json", Header: headerOf("Origin", other.origin)})
			noCORSHeaders(t, "signed GET from a foreign origin", r)
		})
	}
}

// TestCORSConfigurationChange: on the embedded backend, which implements
// bucket CORS, a PutBucketCors or DeleteBucketCors sent through the proxy
// (ALL on the bucket) takes effect for the next preflight, although the
// answer before it was cached.
func TestCORSConfigurationChange(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	st := newPolicyStackOn(t, backendEmbedded, lakegateOptions{})
	bucket := bucketName("corschange")
	st.MinIO.makeBucket(t, bucket, false)
	owner := grantUser(t, st.LG, "owner", "ALL ON URI 's3://"+bucket+"'")
	const origin = "https://app.example"

	wantCORSRefusal(t, "before PutBucketCors", preflight(t, st.LG, "/"+bucket+"/k", origin, "PUT", ""),
		"CORSResponse: CORS is not enabled for this bucket.")
	r := owner.do(t, rawReq{Method: http.MethodPut, Path: "/" + bucket, Query: "cors", Body: []byte(corsRuleXML("https://*.example"))})
	if r.Status != http.StatusOK {
		t.Fatalf("PutBucketCors through the proxy: %d %s", r.Status, r.Body)
	}
	r = preflight(t, st.LG, "/"+bucket+"/k", origin, "PUT", "")
	if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("after PutBucketCors: %d\n%s%s", r.Status, corsHeaders(r), r.Body)
	}
	r = owner.do(t, rawReq{Method: http.MethodDelete, Path: "/" + bucket, Query: "cors"})
	if r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Fatalf("DeleteBucketCors through the proxy: %d %s", r.Status, r.Body)
	}
	wantCORSRefusal(t, "after DeleteBucketCors", preflight(t, st.LG, "/"+bucket+"/k", origin, "PUT", ""),
		"CORSResponse: CORS is not enabled for this bucket.")
}

// TestCORSNodeProxy: a node proxy (`lakegate proxy`), which holds no
// storage credentials of its own, answers preflights from the bucket's
// CORS configuration and adds the CORS headers to a signed GET: on the
// embedded backend the configuration set on the backend, read with the
// credentials the policy server hands it; on MinIO (no bucket CORS) the
// rules of the policy server's upstream.buckets.<b>.cors, which the server
// hands its node proxies with the other upstream settings (the node's own
// configuration names no bucket).
func TestCORSNodeProxy(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	for _, kind := range backendKinds {
		t.Run(string(kind), func(t *testing.T) {
			systemKey := writeSystemKey(t)
			bucket := bucketName("corsnode")
			const origin = "https://app.example"
			o := lakegateOptions{SystemKey: systemKey}
			if kind == backendMinIO {
				o.UpstreamBuckets = map[string]any{bucket: map[string]any{"cors": []any{map[string]any{
					"allowed_origins": []string{origin},
					"allowed_methods": []string{"PUT", "GET"},
					"allowed_headers": []string{"Content-Type", "x-amz-meta-*"},
					"expose_headers":  []string{"ETag"},
					"max_age_seconds": 300,
				}}}}
			}
			st := newPolicyStackOn(t, kind, o)
			st.MinIO.makeBucket(t, bucket, false)
			st.MinIO.put(t, bucket, "web/x", "x")
			if kind == backendEmbedded {
				if r := st.MinIO.backendRequest(t, http.MethodPut, "/"+bucket+"?cors", nil, []byte(corsRuleXML(origin))); r.Status != http.StatusOK {
					t.Fatalf("PutBucketCors on the backend: %d %s", r.Status, r.Body)
				}
			}
			u := grantUser(t, st.LG, "noder", "SELECT ON URI 's3://"+bucket+"/web'")
			node := startNScaleProxy(t, st, "node1", systemKey, 10*time.Second)
			via := *st.LG
			via.ProxyURL = node.URL

			r := preflight(t, &via, "/"+bucket+"/web/x", origin, "PUT", "content-type")
			if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != origin ||
				r.Header.Get("Access-Control-Allow-Headers") != "content-type" || r.Header.Get("Access-Control-Max-Age") != "300" {
				t.Errorf("preflight through the node proxy: %d\n%s%s", r.Status, corsHeaders(r), r.Body)
			}
			wantCORSRefusal(t, "foreign origin through the node proxy", preflight(t, &via, "/"+bucket+"/web/x", "https://evil.example", "PUT", ""), corsNotAllowed)
			r = node.user(st.LG, "noder", u.Key, u.Secret).do(t, rawReq{Method: http.MethodGet, Path: "/" + bucket + "/web/x", Header: headerOf("Origin", origin)})
			if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Errorf("signed GET with an Origin through the node proxy: %d\n%s", r.Status, corsHeaders(r))
			}
		})
	}
}
