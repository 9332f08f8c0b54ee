package nscale

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"

	"github.com/lakegate/lakegate/internal/feed"
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
