package api_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/store"
)

// unavailableEngine fails as the engine does while the policy store's
// database cannot be reached: statements with an *authz.ExecError wrapping
// the driver's connection error, checks with that error.
type unavailableEngine struct{ api.Engine }

var errDBDown = store.Unavailable(fmt.Errorf("store: update policy: %w", &net.OpError{
	Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 5432},
	Err: os.NewSyscallError("connect", syscall.ECONNREFUSED),
}))

func (unavailableEngine) Exec(_ context.Context, _ authz.Principal, script string) ([]authz.Result, error) {
	return nil, &authz.ExecError{Line: 1, Col: 1, Statement: script, Err: errDBDown}
}

func (unavailableEngine) Check(authz.Principal, string, string) (authz.Decision, error) {
	return authz.Decision{}, errDBDown
}

// TestStoreUnavailable503: while the database is unreachable, REST
// requests that need it fail closed with 503 and Retry-After, in JSON, and
// say nothing of the database's address.
func TestStoreUnavailable503(t *testing.T) {
	f := newFixture(t, func(e api.Engine) api.Engine { return unavailableEngine{e} })
	for _, r := range []response{
		f.do(t, "POST", "/api/sql", f.admin, jsonType, sqlJSON("GRANT ROLE readers TO GROUP sales")),
		f.do(t, "GET", "/api/check?uri=s3://bkt/x&operation=GetObject", f.admin, "", ""),
	} {
		if r.status != 503 || !strings.Contains(r.body, "policy store is unavailable") || r.header.Get("Retry-After") == "" {
			t.Errorf("got %d %s (Retry-After %q), want 503 policy store is unavailable", r.status, r.body, r.header.Get("Retry-After"))
		}
		if strings.Contains(r.body, "10.0.0.5") {
			t.Errorf("the answer names the database: %s", r.body)
		}
	}
}

// staleEngine is an engine whose policy could not be reloaded for longer
// than store.max_staleness (authz.Engine.Fresh).
type staleEngine struct{ api.Engine }

func (staleEngine) Fresh() error {
	return fmt.Errorf("%w: the policy could not be reloaded from the store for 11s (store.max_staleness 10s)", store.ErrUnavailable)
}

// TestStalePolicy503: while the policy in force is older than
// store.max_staleness, authenticated REST requests, catalog admins'
// changes included, fail closed with 503 rather than being decided on a
// policy that may miss a REVOKE made through another server.
func TestStalePolicy503(t *testing.T) {
	f := newFixture(t, func(e api.Engine) api.Engine { return staleEngine{e} })
	for _, r := range []response{
		f.do(t, "POST", "/api/users", f.admin, jsonType, `{"name": "carol", "groups": ["admin"]}`),
		f.do(t, "DELETE", "/api/users/alice", f.admin, "", ""),
		f.do(t, "GET", "/api/get-user", f.bob, "", ""),
	} {
		if r.status != 503 || !strings.Contains(r.body, "policy store is unavailable") || r.header.Get("Retry-After") == "" {
			t.Errorf("got %d %s (Retry-After %q), want 503 policy store is unavailable", r.status, r.body, r.header.Get("Retry-After"))
		}
	}
	if f.engine.KnownUser("carol") || !f.engine.KnownUser("alice") {
		t.Error("a change went through on a stale policy")
	}
}
