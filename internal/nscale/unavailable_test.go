package nscale

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/feed"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/systoken"
)

// downKeys looks keys up in a store whose database cannot be reached.
type downKeys struct{}

func (downKeys) LookupCredential(context.Context, string) (sigv4.Credential, error) {
	return sigv4.Credential{}, store.Unavailable(fmt.Errorf("store: get access key: %w", &net.OpError{
		Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED),
	}))
}

// TestInternalAPIStoreUnavailable: the internal API answers a key lookup
// that fails because the policy store's database is down with 503, not
// 500, so that the node proxy and whoever reads the server's log see a
// transient outage.
func TestInternalAPIStoreUnavailable(t *testing.T) {
	e := newEnv(t, false)
	key := newKey(t)
	h, err := NewHandler(HandlerOptions{
		System: systoken.NewVerifier(key), Keys: downKeys{}, Engine: e.fx.Engine,
		Upstream: staticUpstream{}, Feed: feed.New(0), SealKey: []byte("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+PathKeys+"AKANY", nil)
	req.Header.Set("Authorization", "Bearer "+mustToken(t, NewMinter(key)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("key lookup with the store down: %d, want 503", resp.StatusCode)
	}
}

// staleSwitch is the engine, whose policy is older than its max staleness
// (authz.Engine.Fresh fails) while stale is set.
type staleSwitch struct {
	*authz.Engine
	stale *atomic.Bool
}

func (s staleSwitch) Fresh() error {
	if s.stale.Load() {
		return fmt.Errorf("%w: the policy could not be reloaded from the store for 11s (store.max_staleness 10s)", store.ErrUnavailable)
	}
	return s.Engine.Fresh()
}

// TestServerPolicyStale: while the server's own policy is stale, its
// internal API answers 503 (change feed, decisions, views, bucket lists),
// and those answers do not count as contact: past max_staleness the node
// proxy refuses what it had cached, as when the server is unreachable.
func TestServerPolicyStale(t *testing.T) {
	e := newEnv(t, false)
	ctx := t.Context()
	p := e.principal()
	if !e.remote.Decide(p, read, "lake", "data/x").Allowed {
		t.Fatal("read refused")
	}
	e.stale.Store(true)
	nina := Principal{User: "nina"}
	for _, c := range []struct {
		method, path string
		in           any
	}{
		{http.MethodGet, PathChanges + "?wait=0s", nil},
		{http.MethodPost, PathAuthorize, AuthorizeRequest{Principal: nina, Scope: read.Scope, AnyOf: read.AnyOf, Bucket: "lake", Key: "data/x"}},
		{http.MethodPost, PathView, ViewRequest{Principal: nina, Bucket: "lake", Privilege: grants.Show}},
		{http.MethodPost, PathBuckets, nina},
	} {
		var out json.RawMessage
		if err := e.remote.call(ctx, c.method, c.path, c.in, &out); err == nil || !strings.Contains(err.Error(), ": 503 ") {
			t.Errorf("%s %s with a stale policy: %v %s, want 503", c.method, c.path, err, out)
		}
	}
	e.now.Add(int64(2 * time.Minute)) // past the proxy's MaxStaleness
	if d := e.remote.Decide(p, read, "lake", "database/x"); d.Allowed || !d.Unavailable {
		t.Errorf("uncached decision on a stale server = %+v, want an Unavailable refusal", d)
	}
	if d := e.remote.Decide(p, read, "lake", "data/x"); d.Allowed || !d.Unavailable {
		t.Errorf("cached allow past max staleness, the server's policy stale = %+v, want an Unavailable refusal", d)
	}
}
