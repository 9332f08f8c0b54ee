package nscale

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/feed"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/systoken"
)

// staticUpstream hands out fixed signing credentials.
type staticUpstream struct{}

func (staticUpstream) Credentials(_ context.Context, bucket string) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "UP-" + bucket, SecretAccessKey: "s", CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
}

// env is a real policy server (engine over SQLite, feed, internal API) and
// a Remote talking to it.
type env struct {
	fx      *authztest.Fixture
	feed    *feed.Feed
	srv     *httptest.Server
	remote  *Remote
	calls   atomic.Int64 // internal API requests served
	stale   atomic.Bool  // the server's policy is older than its max staleness
	now     atomic.Int64 // the Remote's clock (unix nanoseconds)
	keyID   string
	secret  string
	cancel  context.CancelFunc
	running sync.WaitGroup
}

const script = `
CREATE ROLE analyst;
GRANT ROLE analyst TO GROUP analysts;
GRANT SELECT ON URI 's3://lake/data' TO ROLE analyst;
GRANT SHOW ON URI 's3://lake/data/public/' TO ROLE analyst;
`

func newKey(t testing.TB) *systoken.Key {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	k, err := systoken.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEnv(t testing.TB, follow bool) *env {
	t.Helper()
	e := &env{fx: authztest.New(t, authztest.Options{Script: script, Users: map[string][]string{"nina": {"analysts"}}}), feed: feed.New(0)}
	key := newKey(t)
	creds := credentials.New(e.fx.Store)
	k, err := creds.Issue(t.Context(), "nina", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.keyID, e.secret = k.AccessKeyID, k.SecretAccessKey
	h, err := NewHandler(HandlerOptions{
		System: systoken.NewVerifier(key), Keys: creds, Engine: staleSwitch{e.fx.Engine, &e.stale},
		Upstream: staticUpstream{}, Feed: e.feed, SealKey: []byte("0123456789abcdef0123456789abcdef"),
		Targets: &testTargets,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.now.Store(time.Now().UnixNano())
	e.remote, err = NewRemote(RemoteOptions{
		Server: e.srv.URL, Token: systoken.NewMinter(key, time.Hour), MaxStaleness: time.Minute,
		Now: func() time.Time { return time.Unix(0, e.now.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if follow {
		e.running.Go(func() { e.remote.Run(ctx) })
		deadline := time.Now().Add(5 * time.Second)
		for !e.remote.feedUp.Load() {
			if time.Now().After(deadline) {
				t.Fatal("the remote did not start following the feed")
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Cleanup(func() { cancel(); e.running.Wait() })
	return e
}

func (e *env) principal() authz.Principal { return e.remote.SessionPrincipal("nina", nil) }

var (
	read   = request.Access{Scope: request.ScopeObject, AnyOf: grants.Privileges(grants.Select)}
	head   = request.Access{Scope: request.ScopeObject, AnyOf: grants.Privileges(grants.Select) | grants.Privileges(grants.Show)}
	write  = request.Access{Scope: request.ScopeObject, AnyOf: grants.Privileges(grants.Insert)}
	listed = request.Access{Scope: request.ScopeListing, AnyOf: grants.Privileges(grants.Show)}
)

func TestDecisionsMatchTheEngine(t *testing.T) {
	e := newEnv(t, false)
	p := e.principal()
	local := e.fx.Engine.SessionPrincipal("nina", nil)
	for _, q := range []struct {
		a           request.Access
		bucket, key string
	}{
		{read, "lake", "data/x"}, {read, "lake", "data"}, {read, "lake", "database/x"}, {read, "lake", ""},
		{write, "lake", "data/x"}, {head, "lake", "data/public/y"}, {read, "other", "data/x"},
		{listed, "lake", "data/"}, {listed, "lake", ""}, {request.Access{Scope: request.ScopeBucketAny}, "lake", ""},
	} {
		got, want := e.remote.Decide(p, q.a, q.bucket, q.key), e.fx.Engine.Decide(local, q.a, q.bucket, q.key)
		if got.Allowed != want.Allowed {
			t.Errorf("Decide(%v, %s/%s) = %v (%s); the engine says %v (%s)", q.a, q.bucket, q.key, got.Allowed, got.Reason, want.Allowed, want.Reason)
		}
	}
	if v := e.remote.View(p, "lake", grants.Select); v.All() || !v.Key("data/a/b") || v.Key("database") {
		t.Errorf("View = all %v paths %q", v.All(), v.Paths())
	}
	if !e.remote.BucketVisible(p, "lake") || e.remote.BucketVisible(p, "other") {
		t.Error("BucketVisible disagrees with the grants")
	}
	cred, err := e.remote.LookupCredential(t.Context(), e.keyID)
	if err != nil || cred.SecretAccessKey != e.secret || cred.Owner != "nina" {
		t.Errorf("LookupCredential = %+v, %v", cred, err)
	}
	if _, err := e.remote.LookupCredential(t.Context(), "AKNOSUCHKEY"); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Errorf("unknown key: %v", err)
	}
	up, err := e.remote.Credentials(t.Context(), "lake")
	if err != nil || up.AccessKeyID != "UP-lake" {
		t.Errorf("Credentials = %+v, %v", up, err)
	}
}

// TestPermissionCache: one server call answers every later request under
// the granted location, for any key below it; denials are never cached.
func TestPermissionCache(t *testing.T) {
	e := newEnv(t, false)
	p := e.principal()
	if !e.remote.Decide(p, read, "lake", "data/2026/01/part-0.parquet").Allowed {
		t.Fatal("first read refused")
	}
	before := e.calls.Load()
	for _, key := range []string{"data/2026/01/part-1.parquet", "data", "data/other", "data/public/z"} {
		if d := e.remote.Decide(p, read, "lake", key); !d.Allowed {
			t.Errorf("%s refused: %s", key, d.Reason)
		}
	}
	if n := e.calls.Load() - before; n != 0 {
		t.Errorf("%d server calls for keys under the cached grant location, want 0", n)
	}
	before = e.calls.Load()
	for range 3 {
		if e.remote.Decide(p, read, "lake", "database/x").Allowed {
			t.Fatal("a sibling of the granted path was allowed")
		}
	}
	if n := e.calls.Load() - before; n != 3 {
		t.Errorf("%d server calls for three denied requests, want 3 (denials are not cached)", n)
	}
	// Another session of the same user is another principal.
	other := e.remote.SessionPrincipal("nina-jwt", nil)
	if e.remote.Decide(other, read, "lake", "data/x").Allowed {
		t.Error("a cached allow leaked to another principal")
	}
}

// TestFeedInvalidates: with the remote following the feed, a REVOKE
// empties the cached allows, a revoked key is dropped, and a reset drops
// everything.
func TestFeedInvalidates(t *testing.T) {
	e := newEnv(t, true)
	ctx := t.Context()
	p := e.principal()
	if !e.remote.Decide(p, read, "lake", "data/x").Allowed {
		t.Fatal("read refused before the revoke")
	}
	if _, err := e.fx.Engine.Exec(ctx, e.fx.Engine.Principal("admin"), "REVOKE SELECT ON URI 's3://lake/data' FROM ROLE analyst"); err != nil {
		t.Fatal(err)
	}
	e.feed.Publish(feed.Event{Kind: feed.KindPolicy, Version: e.fx.Engine.Version()})
	waitFor(t, "the revoke", func() bool { return !e.remote.Decide(p, read, "lake", "data/x").Allowed })

	if _, err := e.remote.LookupCredential(ctx, e.keyID); err != nil {
		t.Fatal(err)
	}
	if e.remote.keys.Len() == 0 {
		t.Fatal("the key was not cached")
	}
	e.feed.Publish(feed.Event{Kind: feed.KindCredentials, AccessKeyIDs: []string{e.keyID}})
	waitFor(t, "the key revocation", func() bool { _, ok := e.remote.keys.Peek(e.keyID); return !ok })
}

// TestServerDown: cached allows and keys keep working within MaxStaleness
// of the last contact; misses fail closed with 503; beyond the bound
// everything is refused.
func TestServerDown(t *testing.T) {
	e := newEnv(t, false)
	ctx := t.Context()
	p := e.principal()
	if !e.remote.Decide(p, read, "lake", "data/x").Allowed {
		t.Fatal("read refused")
	}
	if _, err := e.remote.LookupCredential(ctx, e.keyID); err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	if d := e.remote.Decide(p, read, "lake", "data/y"); !d.Allowed {
		t.Errorf("cached location refused with the server down: %s", d.Reason)
	}
	if _, err := e.remote.LookupCredential(ctx, e.keyID); err != nil {
		t.Errorf("cached key refused with the server down: %v", err)
	}
	d := e.remote.Decide(p, read, "lake", "database/x")
	if d.Allowed || !d.Unavailable {
		t.Errorf("uncached decision with the server down = %+v, want an Unavailable refusal", d)
	}
	if _, err := e.remote.LookupCredential(ctx, "AKNEWKEY"); !errors.Is(err, s3err.PolicyUnavailable) {
		t.Errorf("uncached key with the server down: %v, want PolicyUnavailable", err)
	}
	e.now.Add(int64(2 * time.Minute)) // past MaxStaleness
	if d := e.remote.Decide(p, read, "lake", "data/x"); d.Allowed || !d.Unavailable {
		t.Errorf("cached allow past max staleness = %+v, want an Unavailable refusal", d)
	}
	if _, err := e.remote.LookupCredential(ctx, e.keyID); !errors.Is(err, s3err.PolicyUnavailable) {
		t.Errorf("cached key past max staleness: %v, want PolicyUnavailable", err)
	}
}

func TestInternalAPINeedsTheSystemToken(t *testing.T) {
	e := newEnv(t, false)
	other := NewMinter(newKey(t))
	for name, auth := range map[string]string{
		"none":            "",
		"garbage":         "Bearer nonsense",
		"another cluster": "Bearer " + mustToken(t, other),
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+PathKeys+e.keyID, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
}

// NewMinter is a test shorthand.
func NewMinter(k *systoken.Key) *systoken.Minter { return systoken.NewMinter(k, time.Hour) }

func mustToken(t *testing.T, m *systoken.Minter) string {
	tok, err := m.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach the remote within 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkWarmDecide is an nScale proxy's authorization with a warm user
// permission cache: the decision for an object under a granted location,
// answered from memory (issue 5's target: ≤ 1 µs).
func BenchmarkWarmDecide(b *testing.B) {
	e := newEnv(b, false)
	p := e.principal()
	if !e.remote.Decide(p, read, "lake", "data/warm").Allowed {
		b.Fatal("refused")
	}
	keys := []string{"data/2026/01/02/part-00000.parquet", "data/2026/01/02/part-00001.parquet", "data/x", "data/a/b/c/d/e/f"}
	calls := e.calls.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if !e.remote.Decide(p, read, "lake", keys[i%len(keys)]).Allowed {
			b.Fatal("refused")
		}
	}
	b.StopTimer()
	if n := e.calls.Load() - calls; n != 0 {
		b.Fatalf("%d server calls during a warm benchmark", n)
	}
}

// testTargets are the server's upstream targets in newEnv.
var testTargets = Targets{
	Default: Target{Endpoint: "http://127.0.0.1:9000", Region: "eu-west-1", PathStyle: true},
	Buckets: map[string]Target{"logs": {Region: "us-west-2"}},
	CORS: map[string][]CORSRule{"web": {{AllowedOrigins: []string{"https://app.test"}, AllowedMethods: []string{"PUT"},
		AllowedHeaders: []string{"content-type"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: new(300)}}},
}

// TestSettingsCarryUpstreamTargets: a proxy learns where to send each
// bucket's requests from the server, with the credentials, so that it
// needs no upstream configuration of its own.
func TestSettingsCarryUpstreamTargets(t *testing.T) {
	e := newEnv(t, false)
	s, err := e.remote.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Upstream == nil || !reflect.DeepEqual(*s.Upstream, testTargets) {
		t.Errorf("settings carry upstream %+v, want %+v", s.Upstream, testTargets)
	}
}

// TestAnswerWakesTheFeed: while the change feed is down (its loop waiting
// out a backoff of up to 2 s), any answer from the server wakes the loop at
// once, so a policy server that comes back is followed again before a
// change made on it could be missed (a REVOKE right after a restart took
// 1.9 s to reach node proxies waiting out their backoff).
func TestAnswerWakesTheFeed(t *testing.T) {
	e := newEnv(t, false)
	e.remote.feedUp.Store(false)
	if d := e.remote.Decide(e.principal(), read, "lake", "data/x"); !d.Allowed {
		t.Fatalf("read refused: %s", d.Reason)
	}
	select {
	case <-e.remote.wake:
	default:
		t.Fatal("an answer from the server while the feed is down did not wake the feed loop")
	}
	e.remote.feedUp.Store(true)
	if d := e.remote.Decide(e.principal(), read, "lake", "data/y"); !d.Allowed {
		t.Fatalf("read refused: %s", d.Reason)
	}
	select {
	case <-e.remote.wake:
		t.Error("an answer woke the feed loop although the feed is up")
	default:
	}
}
