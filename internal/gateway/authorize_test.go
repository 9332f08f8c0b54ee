package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3xml"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

const userKey, userSecret = "LGUSERKEY00000000001", "user-secret-0123456789012345678901234567"

// policyUpstream answers like S3 for the few operations the authorization
// tests need and records what reached it.
type policyUpstream struct {
	mu   sync.Mutex
	reqs []seen
}

const listBody = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bk1</Name><Prefix></Prefix><KeyCount>4</KeyCount><MaxKeys>4</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>` +
	`<Contents><Key>public/a</Key><Size>1</Size></Contents><Contents><Key>secret-a</Key><Size>1</Size></Contents>` +
	`<CommonPrefixes><Prefix>public/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>secret/</Prefix></CommonPrefixes>` +
	`<NextContinuationToken>token-naming-secret/zzz</NextContinuationToken></ListBucketResult>`

const bucketsBody = `<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID></Owner><Buckets>` +
	`<Bucket><Name>bk1</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>` +
	`<Bucket><Name>hidden-bucket</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>`

func (u *policyUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := sigv4.NewVerifier(sigv4.Options{Credentials: keys{sysKey: sysSecret}})
	res, err := v.Verify(r, "")
	s := seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone()}
	if err == nil {
		s.body, s.bodyErr = io.ReadAll(res.NewPayloadReader(r.Body, r.ContentLength))
	}
	u.mu.Lock()
	u.reqs = append(u.reqs, s)
	u.mu.Unlock()
	if err != nil || s.bodyErr != nil {
		http.Error(w, "upstream rejected the request", http.StatusForbidden)
		return
	}
	switch {
	case r.URL.Path == "/":
		_, _ = io.WriteString(w, bucketsBody)
	case r.Method == http.MethodGet && r.URL.Path == "/bk1" && r.URL.Query().Has("continuation-token"):
		_, _ = io.WriteString(w, strings.Replace(listBody, "<IsTruncated>true", "<IsTruncated>false", 1))
	case r.Method == http.MethodGet && r.URL.Path == "/bk1":
		_, _ = io.WriteString(w, listBody)
	case r.Method == http.MethodPost && r.URL.Query().Has("delete"):
		del, err := s3xml.ParseDelete(bytes.NewReader(s.body), 1<<20)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var b strings.Builder
		b.WriteString(`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
		for _, o := range del.Objects {
			b.WriteString("<Deleted><Key>" + o.Key + "</Key></Deleted>")
		}
		b.WriteString("</DeleteResult>")
		_, _ = io.WriteString(w, b.String())
	default:
		_, _ = io.WriteString(w, "ok")
	}
}

func (u *policyUpstream) all() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// newPolicyProxy runs the gateway with a user granted ALL on s3://bk1/public/
// only, and returns a function that sends signed requests as that user.
func newPolicyProxy(t *testing.T) (send sender, up *policyUpstream) {
	t.Helper()
	return newPolicyProxyWith(t, nil)
}

// newPolicyProxyWith is newPolicyProxy with the engine wrapped by wrap
// (unless nil).
func newPolicyProxyWith(t *testing.T, wrap func(Authorizer) Authorizer) (send sender, up *policyUpstream) {
	t.Helper()
	up = &policyUpstream{}
	sealer, err := s3xml.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	engine := newEngine(t, `CREATE ROLE public_rw; GRANT ROLE public_rw TO GROUP analysts;
		GRANT ALL ON URI 's3://bk1/public/' TO ROLE public_rw;`)
	if err := engine.PutUser(context.Background(), userKey, []string{"analysts"}); err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, up, func(o *Options) {
		o.Verifier = sigv4.NewVerifier(sigv4.Options{Credentials: keys{clientKey: clientSecret, userKey: userSecret}})
		o.Authorizer = engine
		if wrap != nil {
			o.Authorizer = wrap(engine)
		}
		o.Sealer = sealer
	})
	send = signedSender(t, proxy, userKey, userSecret)
	return send, up
}

// sender sends the proxy a request signed by one user.
type sender func(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte)

// signedSender sends requests to the proxy at base with headers hdr,
// signed with SigV4 as key/secret, and returns the answer and its body.
func signedSender(t *testing.T, base, key, secret string) sender {
	return func(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		r, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		r.Header.Set("X-Amz-Content-Sha256", sha(body))
		err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r, sha(body), "s3", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
}

func TestAuthorizeObjects(t *testing.T) {
	send, up := newPolicyProxy(t)
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
	}{
		{"get inside", http.MethodGet, "/bk1/public/a", nil, 200},
		{"get outside", http.MethodGet, "/bk1/secret", nil, 403},
		{"get sibling sharing the prefix", http.MethodGet, "/bk1/publicity/a", nil, 403},
		{"get the grant path without its slash", http.MethodGet, "/bk1/public", nil, 403},
		{"put inside", http.MethodPut, "/bk1/public/new", nil, 200},
		{"put outside", http.MethodPut, "/bk1/other/new", nil, 403},
		{"delete outside", http.MethodDelete, "/bk1/secret", nil, 403},
		{"copy from outside", http.MethodPut, "/bk1/public/copy", map[string]string{"X-Amz-Copy-Source": "/bk1/secret"}, 403},
		{"copy from another bucket", http.MethodPut, "/bk1/public/copy", map[string]string{"X-Amz-Copy-Source": "bk2/public/a"}, 403},
		{"copy from inside", http.MethodPut, "/bk1/public/copy", map[string]string{"X-Amz-Copy-Source": "bk1/public/a"}, 200},
		{"copy source with dot segments", http.MethodPut, "/bk1/public/copy", map[string]string{"X-Amz-Copy-Source": "bk1/public/../secret"}, 400},
		{"upload part copy from outside", http.MethodPut, "/bk1/public/mp?partNumber=1&uploadId=u", map[string]string{"X-Amz-Copy-Source": "bk1/secret"}, 403},
		{"bucket admin", http.MethodPut, "/bk1?versioning", nil, 403},
		{"delete bucket", http.MethodDelete, "/bk1", nil, 403},
		{"other bucket listing", http.MethodGet, "/bk2?list-type=2", nil, 403},
		{"listing a hidden prefix", http.MethodGet, "/bk1?list-type=2&prefix=secret%2F", nil, 403},
		{"head bucket with a grant in it", http.MethodHead, "/bk1", nil, 200},
		{"head bucket without", http.MethodHead, "/bk2", nil, 403},
		{"POST to a bucket that is not a form", http.MethodPost, "/bk1", nil, 403},
		{"unknown method", http.MethodPatch, "/bk1/public/a", nil, 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.all())
			resp, body := send(tc.method, tc.path, nil, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if reached := len(up.all()) > before; reached != (tc.status == 200) {
				t.Errorf("upstream reached: %v, want %v", reached, tc.status == 200)
			}
		})
	}
}

func TestAuthorizeListingFiltered(t *testing.T) {
	send, up := newPolicyProxy(t)
	resp, body := send(http.MethodGet, "/bk1?list-type=2&delimiter=%2F", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, hidden := range []string{"secret", "hidden"} {
		if bytes.Contains(body, []byte(hidden)) {
			t.Errorf("listing reveals %q:\n%s", hidden, body)
		}
	}
	// With the delimiter, public/a rolls up into public/.
	if bytes.Contains(body, []byte("<Key>")) || !bytes.Contains(body, []byte("<Prefix>public/</Prefix>")) {
		t.Errorf("listing lost what the user may see:\n%s", body)
	}
	// The proxy listed the granted prefix itself, never the client's
	// query, and the page names no upstream token.
	reqs := up.all()
	if q := reqs[len(reqs)-1].query; !strings.Contains(q, "prefix=public%2F") || strings.Contains(q, "delimiter") {
		t.Errorf("upstream got query %q, want a listing of the granted prefix", q)
	}
	if bytes.Contains(body, []byte("token-naming-secret")) {
		t.Errorf("the page passes the upstream's token:\n%s", body)
	}

	// A forged sealed token is refused, not forwarded.
	before := len(up.all())
	resp, body = send(http.MethodGet, "/bk1?list-type=2&continuation-token=lg1.Zm9yZ2Vk", nil, nil)
	if resp.StatusCode != http.StatusBadRequest || len(up.all()) != before {
		t.Errorf("forged token: status %d, upstream reached %v: %s", resp.StatusCode, len(up.all()) != before, body)
	}

	// A filtered listing is asked for unencoded: a gzipped body cannot be
	// filtered.
	resp, body = send(http.MethodGet, "/bk1?list-type=2", nil, map[string]string{"Accept-Encoding": "gzip"})
	reqs = up.all()
	if resp.StatusCode != 200 || strings.Contains(reqs[len(reqs)-1].header.Get("Accept-Encoding"), "gzip") || !bytes.Contains(body, []byte("<Key>public/a</Key>")) {
		t.Errorf("gzip listing: status %d, upstream Accept-Encoding %q: %s", resp.StatusCode, reqs[len(reqs)-1].header.Get("Accept-Encoding"), body)
	}

	// Listing inside the grant needs no filter: the upstream's body comes
	// back as it was (here, with the names the canned listing holds).
	resp, body = send(http.MethodGet, "/bk1?list-type=2&prefix=public%2F", nil, nil)
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("token-naming-secret")) {
		t.Errorf("listing inside the grant was filtered: status %d\n%s", resp.StatusCode, body)
	}

	resp, body = send(http.MethodGet, "/", nil, nil)
	if resp.StatusCode != 200 || bytes.Contains(body, []byte("hidden-bucket")) || !bytes.Contains(body, []byte("<Name>bk1</Name>")) {
		t.Errorf("ListBuckets: status %d body\n%s", resp.StatusCode, body)
	}
}

func TestAuthorizeDeleteObjects(t *testing.T) {
	send, up := newPolicyProxy(t)
	deleteBody := func(keys ...string) ([]byte, map[string]string) {
		var b strings.Builder
		b.WriteString("<Delete>")
		for _, k := range keys {
			b.WriteString("<Object><Key>" + k + "</Key></Object>")
		}
		b.WriteString("</Delete>")
		sum := md5.Sum([]byte(b.String()))
		return []byte(b.String()), map[string]string{"Content-Md5": base64.StdEncoding.EncodeToString(sum[:])}
	}

	body, hdr := deleteBody("public/a", "secret", "public/../secret", "publicity/x", "public/b")
	before := len(up.all())
	resp, out := send(http.MethodPost, "/bk1?delete", body, hdr)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	reqs := up.all()[before:]
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(reqs))
	}
	sent := string(reqs[0].body)
	for _, k := range []string{"secret", "publicity"} {
		if strings.Contains(sent, k) {
			t.Errorf("denied key %q reached the upstream: %s", k, sent)
		}
	}
	if !strings.Contains(sent, "<Key>public/a</Key>") || !strings.Contains(sent, "<Key>public/b</Key>") {
		t.Errorf("allowed keys missing upstream: %s", sent)
	}
	for _, want := range []string{"<Deleted><Key>public/a</Key>", "<Deleted><Key>public/b</Key>",
		"<Key>secret</Key>", "<Key>publicity/x</Key>", "<Key>public/../secret</Key>", "AccessDenied"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("result lacks %q:\n%s", want, out)
		}
	}

	body, hdr = deleteBody("secret", "other/x")
	before = len(up.all())
	resp, out = send(http.MethodPost, "/bk1?delete", body, hdr)
	if resp.StatusCode != 200 || strings.Count(string(out), "AccessDenied") != 2 {
		t.Errorf("all denied: status %d body %s", resp.StatusCode, out)
	}
	if len(up.all()) != before {
		t.Error("a DeleteObjects with no allowed key reached the upstream")
	}
}

// TestListBucketsNeedsTheRequiredGroup: ListBuckets, allowed to everyone
// and filtered, is refused outright to a user outside groups.required.
func TestListBucketsNeedsTheRequiredGroup(t *testing.T) {
	for _, tc := range []struct {
		groups []string
		want   int
	}{{[]string{"analysts"}, http.StatusForbidden}, {[]string{"analysts", "staff"}, http.StatusOK}} {
		fx := authztest.New(t, authztest.Options{AdminUser: clientKey, RequiredGroup: "staff",
			Users: map[string][]string{userKey: tc.groups}})
		up := &policyUpstream{}
		proxy := startProxy(t, up, func(o *Options) {
			o.Verifier = sigv4.NewVerifier(sigv4.Options{Credentials: keys{clientKey: clientSecret, userKey: userSecret}})
			o.Authorizer = fx.Engine
		})
		r, _ := http.NewRequest(http.MethodGet, proxy+"/", nil)
		r.Header.Set("X-Amz-Content-Sha256", sha(nil))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: userKey, SecretAccessKey: userSecret},
			r, sha(nil), "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("ListBuckets by a user in %v: %d, want %d", tc.groups, resp.StatusCode, tc.want)
		}
		if tc.want != http.StatusOK && len(up.all()) != 0 {
			t.Errorf("a refused ListBuckets reached the upstream")
		}
	}
}

// unavailableAuthorizer has no decision to give (the engine's policy is
// stale, or an nScale proxy's server is away).
type unavailableAuthorizer struct{ Authorizer }

func (unavailableAuthorizer) Decide(authz.Principal, request.Access, string, string) authz.Decision {
	return authz.Decision{Reason: "authz: store unavailable: the policy could not be reloaded", Unavailable: true}
}

// View and BucketVisible show nothing, as authz.Engine's do while stale.
func (u unavailableAuthorizer) View(_ authz.Principal, bucket string, priv grants.Privilege) *policy.View {
	return u.Authorizer.View(authz.Principal{}, bucket, priv)
}

func (unavailableAuthorizer) BucketVisible(authz.Principal, string) bool { return false }

// TestAuthorizeUnavailable: without a decision every request, a
// DeleteObjects' keys included, is refused with 503 ServiceUnavailable (a
// client retries), and nothing reaches the upstream.
func TestAuthorizeUnavailable(t *testing.T) {
	send, up := newPolicyProxyWith(t, func(a Authorizer) Authorizer { return unavailableAuthorizer{a} })
	body := []byte("<Delete><Object><Key>public/a</Key></Object></Delete>")
	sum := md5.Sum(body)
	for _, c := range []struct {
		method, path string
		body         []byte
		hdr          map[string]string
	}{
		{http.MethodGet, "/bk1/public/a", nil, nil},
		{http.MethodGet, "/bk1?list-type=2", nil, nil},
		{http.MethodGet, "/", nil, nil},
		{http.MethodPost, "/bk1?delete", body, map[string]string{"Content-Md5": base64.StdEncoding.EncodeToString(sum[:])}},
	} {
		before := len(up.all())
		resp, out := send(c.method, c.path, c.body, c.hdr)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(out), "<Code>ServiceUnavailable</Code>") {
			t.Errorf("%s %s: %d %s, want 503 ServiceUnavailable", c.method, c.path, resp.StatusCode, out)
		}
		if len(up.all()) != before {
			t.Errorf("%s %s reached the upstream without a decision", c.method, c.path)
		}
	}
}
