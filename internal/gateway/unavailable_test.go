package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/store"
)

// downKeys is a CredentialLookup whose database cannot be reached, as the
// store's drivers report it.
type downKeys struct{}

func (downKeys) LookupCredential(context.Context, string) (sigv4.Credential, error) {
	return sigv4.Credential{}, store.Unavailable(fmt.Errorf("store: get access key: %w", &net.OpError{
		Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 5432},
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED),
	}))
}

// TestStoreUnavailable503: a request whose key cannot be looked up because
// the policy store's database is down is refused with S3's 503
// ServiceUnavailable (clients retry it), never forwarded, and the answer
// says nothing of the database.
func TestStoreUnavailable503(t *testing.T) {
	up := &testUpstream{}
	proxy := startProxy(t, up, func(o *Options) {
		o.Verifier = sigv4.NewVerifier(sigv4.Options{Credentials: downKeys{}})
	})
	r, _ := http.NewRequest(http.MethodGet, proxy+"/bucket1/k", nil)
	signV4(t, r, sha(nil), time.Now())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "<Code>ServiceUnavailable</Code>") {
		t.Errorf("got %d %s, want 503 ServiceUnavailable", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "10.0.0.5") {
		t.Errorf("the answer names the database: %s", body)
	}
	if up.count() != 0 {
		t.Errorf("the upstream saw %d requests", up.count())
	}
}
