package authz_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/store"
)

// outageStore, while failing is set, fails PolicyVersion (the database
// is away) or, with loadOnly, announces a new version and fails LoadPolicy
// (a load exceeding statement_timeout), or with corrupt loads a row this
// binary cannot compile (a newer server's grant during a rolling upgrade).
// checks counts the failed polls.
type outageStore struct {
	*store.SQL
	failing           atomic.Bool
	loadOnly, corrupt bool
	checks            atomic.Int64
}

func (f *outageStore) PolicyVersion(ctx context.Context) (int64, error) {
	if !f.failing.Load() {
		return f.SQL.PolicyVersion(ctx)
	}
	if f.loadOnly || f.corrupt {
		v, err := f.SQL.PolicyVersion(ctx)
		return v + 1, err
	}
	f.checks.Add(1)
	return 0, errors.New("dial tcp: connection refused")
}

func (f *outageStore) LoadPolicy(ctx context.Context) (store.PolicyData, error) {
	if !f.failing.Load() {
		return f.SQL.LoadPolicy(ctx)
	}
	f.checks.Add(1)
	if f.corrupt {
		data, err := f.SQL.LoadPolicy(ctx)
		if err == nil && len(data.Roles) > 0 {
			data.Version++
			data.Roles[0].Grants = append(data.Roles[0].Grants, store.Grant{Role: data.Roles[0].Name, Privilege: "FUTURE", ObjectKind: "URI", Object: "s3://bkt"})
		}
		return data, err
	}
	return store.PolicyData{}, errors.New("canceling statement due to statement timeout")
}

// clock is a settable time for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestStalePolicyFailsClosed: while the store cannot be read the last
// policy stays in force for Options.MaxStaleness; past it every decision
// is refused as unavailable (503), not allowed on a policy that may miss a
// REVOKE made through another server, until a reload succeeds again.
func TestStalePolicyFailsClosed(t *testing.T) {
	for _, tt := range []struct {
		name              string
		loadOnly, corrupt bool
	}{
		{"PolicyVersion fails", false, false},
		{"LoadPolicy fails", true, false},
		{"a row does not compile", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := &outageStore{SQL: openStore(t, ""), loadOnly: tt.loadOnly, corrupt: tt.corrupt}
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			e, err := authz.New(t.Context(), authz.Options{Store: fs, PollInterval: time.Millisecond, MaxStaleness: 10 * time.Second, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { e.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			get := request.Access{Scope: request.ScopeObject, AnyOf: grants.Privileges(grants.Select)}
			waitPolls := func() {
				t.Helper()
				n := fs.checks.Load()
				deadline := time.Now().Add(5 * time.Second)
				for fs.checks.Load() < n+3 {
					if time.Now().After(deadline) {
						t.Fatal("Run does not poll")
					}
					time.Sleep(time.Millisecond)
				}
			}

			fs.failing.Store(true)
			waitPolls()
			clk.Add(9 * time.Second)
			waitPolls()
			if err := e.Fresh(); err != nil {
				t.Errorf("within max staleness: Fresh() = %v", err)
			}
			if d := e.Decide(admin, get, "bkt", "k"); !d.Allowed {
				t.Errorf("within max staleness: %+v, want allowed on the last policy", d)
			}

			clk.Add(2 * time.Second)
			waitPolls()
			err = e.Fresh()
			if !store.IsUnavailable(err) {
				t.Errorf("past max staleness: Fresh() = %v, want a store-unavailable error", err)
			}
			if d := e.Decide(admin, get, "bkt", "k"); d.Allowed || !d.Unavailable {
				t.Errorf("past max staleness: %+v, want refused as unavailable", d)
			}
			if _, err := e.Check(admin, "s3://bkt/k", "GetObject"); !store.IsUnavailable(err) {
				t.Errorf("past max staleness: Check error %v, want unavailable", err)
			}
			if e.IsCatalogAdmin(admin) {
				t.Error("past max staleness: admin is catalog admin")
			}
			if !e.View(admin, "bkt", grants.Show).Empty() {
				t.Error("past max staleness: View is not empty")
			}
			if e.BucketVisible(admin, "bkt") {
				t.Error("past max staleness: a bucket is visible")
			}

			fs.failing.Store(false)
			deadline := time.Now().Add(5 * time.Second)
			for !e.Decide(admin, get, "bkt", "k").Allowed {
				if time.Now().After(deadline) {
					t.Fatal("the store answers again, yet decisions stay refused")
				}
				time.Sleep(time.Millisecond)
			}
			if err := e.Fresh(); err != nil {
				t.Errorf("after recovery: Fresh() = %v", err)
			}
		})
	}
}

// reloadFailsAfterCommit, once armed, commits updates, then fails the
// next LoadPolicy.
type reloadFailsAfterCommit struct {
	*store.SQL
	armed, failNext atomic.Bool
}

func (f *reloadFailsAfterCommit) UpdatePolicy(ctx context.Context, fn func(store.PolicyTx) error) error {
	err := f.SQL.UpdatePolicy(ctx, fn)
	f.failNext.Store(err == nil && f.armed.Load())
	return err
}

func (f *reloadFailsAfterCommit) LoadPolicy(ctx context.Context) (store.PolicyData, error) {
	if f.failNext.Swap(false) {
		return store.PolicyData{}, errors.New("canceling statement due to statement timeout")
	}
	return f.SQL.LoadPolicy(ctx)
}

// TestExecCommittedReloadFails: when the reload after a committed change
// fails, Exec (and PutUser, DeleteUser) still report the change done (a client told to retry would
// get "already exists"), and the next check picks the change up.
func TestExecCommittedReloadFails(t *testing.T) {
	fs := &reloadFailsAfterCommit{SQL: openStore(t, "")}
	e := newEngine(t, fs, time.Hour)
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	fs.armed.Store(true)
	res, err := e.Exec(t.Context(), admin, "CREATE ROLE r")
	if err != nil {
		t.Fatalf("Exec after a committed change whose reload failed: %v, want its results", err)
	}
	if len(res) != 1 || res[0].Message != "role r created" {
		t.Errorf("results %+v, want role r created", res)
	}
	if err := e.PutUser(t.Context(), "carol", []string{"g"}); err != nil {
		t.Errorf("PutUser whose reload failed: %v, want nil (it was committed)", err)
	}
	if err := e.DeleteUser(t.Context(), "carol"); err != nil {
		t.Errorf("DeleteUser whose reload failed: %v, want nil (it was committed)", err)
	}
	res = mustExec(t, e, admin, "SHOW ROLES")
	if len(res) != 1 || !slices.ContainsFunc(res[0].Rows, func(row []string) bool { return slices.Contains(row, "r") }) {
		t.Errorf("SHOW ROLES after the next reload: %+v, want role r", res)
	}
}
