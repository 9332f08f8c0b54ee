package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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
// refused and cached for a few seconds); they never reach the upstream and are audited
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
	if n := src.reads.Load() - reads; n != 0 {
		t.Errorf("a failed read was not cached briefly (%d reads)", n)
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

// TestCORSNoLoadsBeforeAuthentication: a request with an Origin and a bad
// signature makes the proxy read no bucket's configuration (it only looks
// in the cache), whatever bucket it names; once the signature verifies,
// the configuration is read and its headers given.
func TestCORSNoLoadsBeforeAuthentication(t *testing.T) {
	src := &fakeCORSSource{docs: map[string][]byte{"bucket1": []byte(`<CORSConfiguration><CORSRule>` +
		`<AllowedOrigin>https://app.test</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)}}
	proxy, up := newProxy(t, func(o *Options) { o.CORS = CORSOptions{Source: src} })
	get := func(bucket string, sign bool) *http.Response {
		r, _ := http.NewRequest(http.MethodGet, proxy+"/"+bucket+"/k", nil)
		r.Header.Set("Origin", "https://app.test")
		signV4(t, r, sha(nil), time.Now())
		if !sign {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"0000")
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 50 {
		if resp := get(fmt.Sprintf("bucket-%d", i), false); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("bad signature: %d", resp.StatusCode)
		}
	}
	if n := src.reads.Load(); n != 0 {
		t.Errorf("50 requests with a bad signature made %d reads of CORS configurations, want 0", n)
	}
	if up.count() != 0 {
		t.Errorf("the upstream saw %d requests", up.count())
	}
	// Authenticated: read once, then cached, and a refused request to the
	// same bucket gets the cached headers.
	for range 2 {
		if resp := get("bucket1", true); resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.test" {
			t.Errorf("signed request: %d %v", resp.StatusCode, resp.Header)
		}
	}
	if n := src.reads.Load(); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}
	if resp := get("bucket1", false); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.test" {
		t.Errorf("refused request to a cached bucket: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestCORSPreflightLoadsBounded: preflights naming many unknown buckets
// cause a bounded number of reads (the rest are answered 503), and a
// bucket's cached entry survives the flood.
func TestCORSPreflightLoadsBounded(t *testing.T) {
	src := &fakeCORSSource{
		docs:  map[string][]byte{"real": []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)},
		delay: 5 * time.Millisecond,
	}
	proxy, _ := newProxy(t, func(o *Options) { o.CORS = CORSOptions{Source: src, MaxEntries: 100} })
	if resp, _ := sendPreflight(t, proxy, "/real/k", "https://app.test", "GET", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("preflight: %d", resp.StatusCode)
	}
	var wg sync.WaitGroup
	var unavailable atomic.Int64
	const n = 300
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			resp, _ := sendPreflight(t, proxy, fmt.Sprintf("/unknown-%d/k", i), "https://app.test", "GET", "")
			if resp.StatusCode == http.StatusServiceUnavailable {
				unavailable.Add(1)
			}
		})
	}
	wg.Wait()
	// The burst, and what the rate refilled meanwhile (a slow machine).
	bound := int64(corsPreflightBurst + math.Ceil(corsPreflightRate*time.Since(start).Seconds()))
	if reads := src.reads.Load() - 1; reads > bound {
		t.Errorf("%d preflights to unknown buckets made %d reads, want at most %d", n, reads, bound)
	}
	if unavailable.Load() == 0 {
		t.Error("no preflight was answered 503")
	}
	before := src.reads.Load()
	if resp, _ := sendPreflight(t, proxy, "/real/k", "https://app.test", "GET", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the real bucket after the flood: %d", resp.StatusCode)
	}
	if src.reads.Load() != before {
		t.Error("the real bucket's entry was pushed out by the flood")
	}
}

// TestCORSChangeInvalidation: a PutBucketCors the upstream refuses keeps
// the cached configuration; one it accepts drops it.
func TestCORSChangeInvalidation(t *testing.T) {
	src := &fakeCORSSource{docs: map[string][]byte{"bkt": []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)}}
	var refuse atomic.Bool
	refuse.Store(true)
	upstreamHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if refuse.Load() {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>no</Message></Error>`)
		}
	})
	proxy := startProxy(t, upstreamHandler, func(o *Options) { o.CORS = CORSOptions{Source: src} })
	put := func() int {
		body := []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>`)
		r, _ := http.NewRequest(http.MethodPut, proxy+"/bkt?cors", strings.NewReader(string(body)))
		signV4(t, r, sha(body), time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusBadRequest {
			t.Logf("%s", b)
		}
		return resp.StatusCode
	}
	sendPreflight(t, proxy, "/bkt/k", "https://app.test", "GET", "")
	if got := put(); got != http.StatusForbidden {
		t.Fatalf("refused PutBucketCors: %d", got)
	}
	sendPreflight(t, proxy, "/bkt/k", "https://app.test", "GET", "")
	if n := src.reads.Load(); n != 1 {
		t.Errorf("a refused PutBucketCors dropped the cached configuration (%d reads, want 1)", n)
	}
	refuse.Store(false)
	if got := put(); got != http.StatusOK {
		t.Fatalf("PutBucketCors: %d", got)
	}
	sendPreflight(t, proxy, "/bkt/k", "https://app.test", "GET", "")
	if n := src.reads.Load(); n != 2 {
		t.Errorf("an accepted PutBucketCors kept the cached configuration (%d reads, want 2)", n)
	}
}
