package upstream_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lakegate/lakegate/internal/metrics"
	"github.com/lakegate/lakegate/internal/upstream"
)

// lakeSetup is moto with a system user and roles for the tests:
//
//	data-a, data-a2 → role-a   (bucket role map; one role, two buckets)
//	data-b          → role-b
//	data-c          → role-sys (the default role, OKERA_SYSTEM_IAM_ROLE_ARN)
//	plain                        the system user itself, no role
//	locked          → role-untrusted, which does not trust the system user
//
// Each role may use S3 on its own buckets only; the system user may use S3
// on plain and locked only (so that signing locked with the base
// credentials would succeed: failing closed is visible).
type lakeSetup struct {
	moto                                 *moto
	baseID, baseSecret                   string
	roleA, roleB, roleSys, roleUntrusted string
	bucketA, bucketA2, bucketB, bucketC  string
	plain, locked                        string
	base                                 aws.CredentialsProvider
}

func newLake(t *testing.T) *lakeSetup {
	t.Helper()
	m := startMoto(t)
	l := &lakeSetup{moto: m, bucketA: "data-a", bucketA2: "data-a2", bucketB: "data-b", bucketC: "data-c", plain: "plain", locked: "locked"}
	l.baseID, l.baseSecret = m.createUser(t, "lakegate-system", s3Allow(l.plain, l.locked))
	l.roleA = m.createRole(t, "role-a", "lakegate-system", l.bucketA, l.bucketA2)
	l.roleB = m.createRole(t, "role-b", "lakegate-system", l.bucketB)
	l.roleSys = m.createRole(t, "role-sys", "lakegate-system", l.bucketC)
	l.roleUntrusted = m.createRole(t, "role-untrusted", "someone-else", l.locked)
	for _, b := range []string{l.bucketA, l.bucketA2, l.bucketB, l.bucketC, l.plain, l.locked} {
		m.createBucket(t, b)
	}
	m.enforceAuth(t)
	l.base = credentials.NewStaticCredentialsProvider(l.baseID, l.baseSecret, "")
	return l
}

// roles returns the production mapping: the bucket role map plus role-sys
// as the default.
func (l *lakeSetup) roles() map[string]string {
	return map[string]string{l.bucketA: l.roleA, l.bucketA2: l.roleA, l.bucketB: l.roleB, l.locked: l.roleUntrusted}
}

func (l *lakeSetup) client(t *testing.T, endpoint string, src upstream.CredentialSource) *upstream.Client {
	t.Helper()
	c, err := upstream.New(upstream.Options{Default: upstream.Target{Endpoint: endpoint, Region: "us-east-1", PathStyle: true}, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAssumedRolesMoto checks the bucket → role mapping against a real STS
// and S3 (moto with IAM authentication on): each bucket is signed by its
// role's session (the identity STS reports), buckets of one role share one
// session, other buckets get the default role, and moto's S3 accepts each
// role on its own buckets and refuses it on another's. A role that cannot
// be assumed fails the request without anything reaching S3.
func TestAssumedRolesMoto(t *testing.T) {
	l := newLake(t)
	ctx := context.Background()
	src, err := upstream.NewRoleCredentials(ctx, upstream.RoleOptions{
		Base: l.base, BucketRoles: l.roles(), DefaultRoleARN: l.roleSys,
		STSEndpoint: l.moto.url, SessionDuration: 15 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := l.client(t, l.moto.url, src)

	keys := map[string]string{}
	for _, tt := range []struct{ bucket, role, identity string }{
		{l.bucketA, l.roleA, "assumed-role/role-a/lakegate"},
		{l.bucketA2, l.roleA, "assumed-role/role-a/lakegate"},
		{l.bucketB, l.roleB, "assumed-role/role-b/lakegate"},
		{l.bucketC, l.roleSys, "assumed-role/role-sys/lakegate"},
		{"", l.roleSys, "assumed-role/role-sys/lakegate"}, // ListBuckets names no bucket
	} {
		t.Run("bucket "+tt.bucket, func(t *testing.T) {
			if got := src.RoleARN(tt.bucket); got != tt.role {
				t.Errorf("RoleARN = %q, want %q", got, tt.role)
			}
			creds, err := c.Credentials(ctx, tt.bucket)
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID == l.baseID || creds.SessionToken == "" || !creds.CanExpire {
				t.Fatalf("credentials are not a role session: key %s, token set %v, expires %v", creds.AccessKeyID, creds.SessionToken != "", creds.CanExpire)
			}
			if left := time.Until(creds.Expires); left < 14*time.Minute || left > 15*time.Minute {
				t.Errorf("session expires in %s, want about 15m (the real expiry, not the renewal time)", left)
			}
			arn := l.moto.whoAmI(t, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
			if want := "arn:aws:sts::" + motoAccount + ":" + tt.identity; arn != want {
				t.Errorf("STS identity = %s, want %s", arn, want)
			}
			keys[tt.bucket] = creds.AccessKeyID
			if tt.bucket == "" {
				return
			}
			obj := []byte("object in " + tt.bucket)
			if status, body, err := forward(c, http.MethodPut, tt.bucket, "k", obj); err != nil || status != http.StatusOK {
				t.Fatalf("PUT signed by %s: %d %v %s", tt.role, status, err, body)
			}
			if status, body, err := forward(c, http.MethodGet, tt.bucket, "k", nil); err != nil || status != http.StatusOK || !bytes.Equal(body, obj) {
				t.Fatalf("GET signed by %s: %d %v %q", tt.role, status, err, body)
			}
		})
	}
	if keys[l.bucketA] != keys[l.bucketA2] {
		t.Error("two buckets of one role got different sessions; the role's session should be shared")
	}
	if keys[l.bucketA] == keys[l.bucketB] || keys[l.bucketB] == keys[l.bucketC] {
		t.Error("different roles share a session")
	}

	t.Run("moto enforces role policies", func(t *testing.T) {
		// Signing data-b with role-a's session is refused by S3: the
		// mapping above is what made those requests succeed.
		wrong, err := upstream.NewRoleCredentials(ctx, upstream.RoleOptions{
			Base: l.base, BucketRoles: map[string]string{l.bucketB: l.roleA}, STSEndpoint: l.moto.url,
		})
		if err != nil {
			t.Fatal(err)
		}
		status, body, err := forward(l.client(t, l.moto.url, wrong), http.MethodGet, l.bucketB, "k", nil)
		if err != nil || status != http.StatusForbidden {
			t.Errorf("GET data-b signed by role-a: %d %v %s; want 403 from S3", status, err, body)
		}
	})

	t.Run("base credentials without a default role", func(t *testing.T) {
		noDefault, err := upstream.NewRoleCredentials(ctx, upstream.RoleOptions{
			Base: l.base, BucketRoles: l.roles(), STSEndpoint: l.moto.url,
		})
		if err != nil {
			t.Fatal(err)
		}
		c := l.client(t, l.moto.url, noDefault)
		creds, err := c.Credentials(ctx, l.plain)
		if err != nil || creds.AccessKeyID != l.baseID {
			t.Fatalf("plain: %v, %v; want the base key", creds.AccessKeyID, err)
		}
		if status, body, err := forward(c, http.MethodPut, l.plain, "k", []byte("x")); err != nil || status != http.StatusOK {
			t.Errorf("PUT plain with the base key: %d %v %s", status, err, body)
		}
	})

	t.Run("fail closed", func(t *testing.T) {
		// The system user may write to locked, so a fallback to the base
		// credentials would succeed; the untrusted role must fail it.
		_, _, err := forward(c, http.MethodPut, l.locked, "k", []byte("must not be written"))
		var ce *upstream.CredentialsError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "AssumeRole") || !strings.Contains(err.Error(), "403") {
			t.Fatalf("PUT locked: %v; want a CredentialsError from STS refusing AssumeRole (403)", err)
		}
		t.Logf("refused: %v", err)
		base := l.client(t, l.moto.url, upstream.ProviderSource(l.base))
		if status, _, _ := forward(base, http.MethodGet, l.locked, "k", nil); status != http.StatusNotFound {
			t.Errorf("GET locked/k with the base key: %d, want 404 (nothing was written)", status)
		}
	})
}

// stsRecorder is the STS transport of the short-session test: it reads
// every AssumeRole answer, independently of the code under test, and keeps
// each session's expiry as STS stated it.
type stsRecorder struct {
	next    http.RoundTripper
	calls   atomic.Int64
	mu      sync.Mutex
	expires map[string]time.Time // access key → expiry
}

func (s *stsRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var ar struct {
		Key     string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
		Expires string `xml:"AssumeRoleResult>Credentials>Expiration"`
	}
	if xml.Unmarshal(body, &ar) == nil && ar.Key != "" {
		exp, err := time.Parse(time.RFC3339Nano, ar.Expires)
		if err != nil {
			return nil, fmt.Errorf("STS expiration %q: %w", ar.Expires, err)
		}
		s.calls.Add(1)
		s.mu.Lock()
		s.expires[ar.Key] = exp
		s.mu.Unlock()
	}
	return resp, nil
}

func (s *stsRecorder) expiry(key string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.expires[key]
	return t, ok
}

// expiryGate sits in front of moto's S3 and adds the one check moto lacks:
// a request signed with an expired session is refused (403 ExpiredToken),
// as AWS does. It records the least lifetime left at arrival.
type expiryGate struct {
	sts               *stsRecorder
	proxy             *httputil.ReverseProxy
	requests, expired atomic.Int64
	mu                sync.Mutex
	minLeft           time.Duration
}

func newExpiryGate(target string, rec *stsRecorder) *expiryGate {
	u, _ := url.Parse(target)
	g := &expiryGate{sts: rec, minLeft: time.Duration(1<<63 - 1)}
	g.proxy = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host // the signature covers the Host the client used
	}}
	return g
}

func (g *expiryGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	auth := r.Header.Get("Authorization")
	_, cred, _ := strings.Cut(auth, "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	if exp, ok := g.sts.expiry(key); ok {
		left := time.Until(exp)
		g.mu.Lock()
		g.minLeft = min(g.minLeft, left)
		g.mu.Unlock()
		if left <= 0 {
			g.expired.Add(1)
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>`)
			return
		}
	}
	g.proxy.ServeHTTP(w, r)
}

// signingProbe wraps the source the client signs with and records, per
// signing, the session's key and the lifetime it had left.
type signingProbe struct {
	src     upstream.CredentialSource
	mu      sync.Mutex
	calls   int
	minLeft time.Duration
	keys    map[string]map[string]bool // role ARN → session keys seen
	roleOf  func(bucket string) string
}

func (p *signingProbe) Credentials(ctx context.Context, bucket string) (aws.Credentials, error) {
	creds, err := p.src.Credentials(ctx, bucket)
	if err != nil {
		return creds, err
	}
	left := time.Until(creds.Expires)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.minLeft = min(p.minLeft, left)
	role := p.roleOf(bucket)
	if p.keys[role] == nil {
		p.keys[role] = map[string]bool{}
	}
	p.keys[role][creds.AccessKeyID] = true
	return creds, nil
}

// cacheCounters reads the assumed-role cache's counters from the process
// registry, as /metrics shows them.
func cacheCounters(t *testing.T) (hits, misses, evictions float64) {
	t.Helper()
	fams, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() != "cache" || lp.GetValue() != "assumed_role" {
					continue
				}
				switch f.GetName() {
				case "lakegate_cache_hits_total":
					hits = m.GetCounter().GetValue()
				case "lakegate_cache_misses_total":
					misses = m.GetCounter().GetValue()
				case "lakegate_cache_evictions_total":
					evictions = m.GetCounter().GetValue()
				}
			}
		}
	}
	return hits, misses, evictions
}

// Short-session test parameters: sessions of shortSession are renewed
// between RefreshWindow (5 s) and 1.5× that before expiry, so every 12.5
// to 15 s; the load runs for shortRun, four to five sessions per role.
const (
	shortSession = 20 * time.Second
	shortRun     = 62 * time.Second
	shortWorkers = 24
)

// TestAssumedRoleShortSessions drives signed requests through an
// upstream.Client into moto's S3 from many goroutines for several session
// lifetimes, and checks that sessions are renewed before they expire:
// every request was signed with a session that had at least RefreshWindow
// left (measured where it was signed, and at S3's door against the expiry
// STS stated), each renewal took one STS call however many goroutines were
// waiting, and no request failed. moto accepts any DurationSeconds (AWS's
// minimum is 900 s) but does not expire sessions itself: expiryGate does.
func TestAssumedRoleShortSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a minute; skipped with -short")
	}
	l := newLake(t)
	ctx := context.Background()

	rec := &stsRecorder{next: http.DefaultTransport.(*http.Transport).Clone(), expires: map[string]time.Time{}}
	src, err := upstream.NewRoleCredentials(ctx, upstream.RoleOptions{
		Base: l.base, BucketRoles: l.roles(), DefaultRoleARN: l.roleSys,
		STSEndpoint: l.moto.url, SessionDuration: shortSession, Transport: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	probe := &signingProbe{src: src, minLeft: time.Duration(1<<63 - 1), keys: map[string]map[string]bool{}, roleOf: src.RoleARN}
	gate := newExpiryGate(l.moto.url, rec)
	front := httptest.NewServer(gate)
	defer front.Close()
	c := l.client(t, front.URL, probe)

	hits0, misses0, evictions0 := cacheCounters(t)
	buckets := []string{l.bucketA, l.bucketA2, l.bucketB, l.bucketC}
	var (
		ok, failed atomic.Int64
		firstErr   atomic.Pointer[string]
		wg         sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(shortRun)
	for w := range shortWorkers {
		wg.Go(func() {
			for n := 0; time.Now().Before(deadline); n++ {
				bucket := buckets[(w+n)%len(buckets)]
				key := fmt.Sprintf("w%d/%d", w, n%8)
				body := []byte(fmt.Sprintf("worker %d request %d", w, n))
				check := func(method string, status int, got []byte, err error, want []byte) {
					if err == nil && status == http.StatusOK && (want == nil || bytes.Equal(got, want)) {
						ok.Add(1)
						return
					}
					failed.Add(1)
					msg := fmt.Sprintf("%s %s/%s: %d %v %.200s", method, bucket, key, status, err, got)
					firstErr.CompareAndSwap(nil, &msg)
				}
				status, got, err := forward(c, http.MethodPut, bucket, key, body)
				check("PUT", status, got, err, nil)
				status, got, err = forward(c, http.MethodGet, bucket, key, nil)
				check("GET", status, got, err, body)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	hits, misses, evictions := cacheCounters(t)
	hits, misses, evictions = hits-hits0, misses-misses0, evictions-evictions0
	window := upstream.RefreshWindow(shortSession)
	sessions := 0
	for _, keys := range probe.keys {
		sessions += len(keys)
	}
	renewals := sessions - len(probe.keys)
	gate.mu.Lock()
	gateMin := gate.minLeft
	gate.mu.Unlock()
	t.Logf("%d requests (%d ok, %d failed) in %s from %d goroutines, %.0f/s; %d roles, %d sessions (%d renewals), %d STS calls; "+
		"min lifetime left at signing %s, at S3 %s (window %s); cache hits %.0f misses %.0f evictions %.0f",
		ok.Load()+failed.Load(), ok.Load(), failed.Load(), elapsed.Round(time.Millisecond), shortWorkers,
		float64(ok.Load()+failed.Load())/elapsed.Seconds(), len(probe.keys), sessions, renewals, rec.calls.Load(),
		probe.minLeft.Round(time.Millisecond), gateMin.Round(time.Millisecond), window, hits, misses, evictions)

	if failed.Load() != 0 {
		t.Errorf("%d requests failed; first: %s", failed.Load(), *firstErr.Load())
	}
	if gate.expired.Load() != 0 {
		t.Errorf("%d requests reached S3 with an expired session", gate.expired.Load())
	}
	if probe.minLeft < window {
		t.Errorf("a request was signed with %s left, less than the refresh window %s", probe.minLeft, window)
	}
	// Signing to arrival is well under a second even on a loaded machine.
	if gateMin < window-time.Second {
		t.Errorf("a request reached S3 with %s left, want about the window %s or more", gateMin, window)
	}
	if len(probe.keys) != 3 {
		t.Errorf("sessions of %d roles were used, want 3 (role-a, role-b, role-sys)", len(probe.keys))
	}
	minRenewals := int(shortRun/(shortSession-window)) - 1 // each role renews at least every 15 s
	for role, keys := range probe.keys {
		if len(keys)-1 < minRenewals {
			t.Errorf("%s: %d renewals in %s, want at least %d", role, len(keys)-1, shortRun, minRenewals)
		}
	}
	if int(rec.calls.Load()) != sessions {
		t.Errorf("%d STS calls for %d sessions: concurrent callers did not share renewals", rec.calls.Load(), sessions)
	}
	if int(evictions) != renewals {
		t.Errorf("evictions counted %.0f, want one per renewal (%d)", evictions, renewals)
	}
	if int(misses) < sessions || hits+misses != float64(probe.calls) {
		t.Errorf("hits %.0f + misses %.0f: want %d lookups with at least %d misses", hits, misses, probe.calls, sessions)
	}
}
