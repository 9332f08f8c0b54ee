package authz_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/store"
)

func TestNewRequiresStore(t *testing.T) {
	if _, err := authz.New(t.Context(), authz.Options{}); err == nil {
		t.Error("New without a store succeeded")
	}
}

func TestBootstrapFreshStore(t *testing.T) {
	st := openStore(t, "")
	e := newEngine(t, st, 0)
	if e.Version() != 0 {
		t.Fatalf("fresh store at version %d", e.Version())
	}
	if e.IsCatalogAdmin(admin) || e.KnownUser("admin") {
		t.Fatal("admin exists before Bootstrap")
	}
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, st); got != bootDump {
		t.Errorf("after Bootstrap:\n%s\nwant\n%s", got, bootDump)
	}
	p := e.Principal("admin")
	if !slices.Equal(p.Groups, []string{"admin"}) || !e.IsCatalogAdmin(p) || !e.KnownUser("admin") {
		t.Errorf("Principal(admin) = %+v, catalog admin %v", p, e.IsCatalogAdmin(p))
	}
	d, err := e.Check(p, "s3://any/thing", "DeleteObject")
	if err != nil || !d.Allowed || d.Reason != "catalog admin: GRANT ALL ON SERVER TO ROLE admin_role (role admin_role via group admin)" {
		t.Errorf("Check as admin: %+v, %v", d, err)
	}
	// Bootstrapping again changes nothing, not even the version.
	v := e.Version()
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if e.Version() != v || dump(t, st) != bootDump {
		t.Errorf("second Bootstrap changed the store: version %d → %d\n%s", v, e.Version(), dump(t, st))
	}
}

// TestBootstrapRevokeSticks: an admin's REVOKE of the bootstrap role is
// not undone by the next start, by this process or by a new one.
func TestBootstrapRevokeSticks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := openStore(t, path)
	e := newEngine(t, st, 0)
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e, admin, "CREATE ROLE ops; GRANT ALL ON SERVER TO ROLE ops; GRANT ROLE ops TO GROUP ops; REVOKE ROLE admin_role FROM GROUP admin")
	if e.IsCatalogAdmin(admin) {
		t.Fatal("admin is still catalog admin after the REVOKE")
	}
	want := dump(t, st)
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if e.IsCatalogAdmin(e.Principal("admin")) {
		t.Error("a second Bootstrap restored admin_role to group admin")
	}
	// A new process on the same database.
	e2 := newEngine(t, openStore(t, path), 0)
	if err := e2.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if e2.IsCatalogAdmin(e2.Principal("admin")) {
		t.Error("Bootstrap in a new engine restored admin_role to group admin")
	}
	if got := dump(t, st); got != want {
		t.Errorf("Bootstrap changed the policy:\n--- got\n%s--- want\n%s", got, want)
	}
}

// TestBootstrapAddsAdminGroup: on a store that is not fresh, Bootstrap
// only puts the admin user back in its group, keeping its other groups.
func TestBootstrapAddsAdminGroup(t *testing.T) {
	e, st := bootstrapped(t, "")
	if err := e.PutUser(t.Context(), "admin", []string{"ops", "dev"}); err != nil {
		t.Fatal(err)
	}
	if e.IsCatalogAdmin(e.Principal("admin")) {
		t.Fatal("admin outside group admin is still catalog admin")
	}
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	p := e.Principal("admin")
	if !slices.Equal(p.Groups, []string{"admin", "dev", "ops"}) || !e.IsCatalogAdmin(p) {
		t.Errorf("after Bootstrap: %+v, catalog admin %v\n%s", p, e.IsCatalogAdmin(p), dump(t, st))
	}
}

// TestBootstrapNotFresh: a store with committed changes but no admin role
// is not bootstrapped into one.
func TestBootstrapNotFresh(t *testing.T) {
	st := openStore(t, "")
	e := newEngine(t, st, 0)
	if err := e.PutUser(t.Context(), "alice", []string{"analysts"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if want := "user admin [admin]\nuser alice [analysts]\n"; dump(t, st) != want {
		t.Errorf("store:\n%s\nwant\n%s", dump(t, st), want)
	}
}

func TestUsers(t *testing.T) {
	e, st := bootstrapped(t, "CREATE ROLE r; GRANT ROLE r TO GROUP analysts; GRANT SELECT ON URI 's3://bkt' TO ROLE r")
	ctx := t.Context()
	get := request.Operation("GetObject").Access()

	if e.KnownUser("alice") {
		t.Fatal("alice known before PutUser")
	}
	if p := e.Principal("alice"); p.User != "alice" || len(p.Groups) != 0 {
		t.Errorf("unknown user: %+v, want no groups", p)
	}
	if err := e.PutUser(ctx, "alice", []string{"sales", "analysts", "sales"}); err != nil {
		t.Fatal(err)
	}
	p := e.Principal("alice")
	if !slices.Equal(p.Groups, []string{"analysts", "sales"}) || !e.KnownUser("alice") {
		t.Errorf("after PutUser: %+v", p)
	}
	if d := e.Decide(p, get, "bkt", "x"); !d.Allowed {
		t.Errorf("alice's new group does not count at once: %s", d.Reason)
	}
	// Principal hands out a copy.
	p.Groups[0] = "mutated"
	if e.Principal("alice").Groups[0] != "analysts" {
		t.Error("changing a Principal's groups changed the engine's")
	}

	if err := e.PutUser(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if p := e.Principal("alice"); len(p.Groups) != 0 || !e.KnownUser("alice") {
		t.Errorf("after PutUser without groups: %+v", p)
	}

	if err := e.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if e.KnownUser("alice") {
		t.Error("alice known after DeleteUser")
	}
	if want := "role r\n  group analysts\n  SELECT URI \"s3://bkt\"\n"; state(t, st) != want {
		t.Errorf("store after DeleteUser:\n%s", state(t, st))
	}

	err := e.DeleteUser(ctx, "alice")
	if !errors.Is(err, authz.ErrInvalid) || err.Error() != "invalid request: user alice does not exist" {
		t.Errorf("DeleteUser of a missing user: %v", err)
	}
	if err := e.PutUser(ctx, "", []string{"g"}); !errors.Is(err, authz.ErrInvalid) {
		t.Errorf("PutUser with an empty name: %v, want ErrInvalid", err)
	}
}

// TestRunFollowsOtherEngine: a change committed by another engine on the
// same database file is in force here within the poll interval.
func TestRunFollowsOtherEngine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	const poll = 20 * time.Millisecond
	here := newEngine(t, openStore(t, path), poll)
	there := newEngine(t, openStore(t, path), poll)
	if err := there.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { here.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	alice := authz.Principal{User: "alice", Groups: []string{"g"}}
	get := request.Operation("GetObject").Access()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		// Generous against a loaded machine; the poll interval is 20 ms.
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen after 5s (poll interval %v)", what, poll)
			}
			time.Sleep(poll / 4)
		}
	}
	waitFor("Bootstrap by the other engine", func() bool { return here.IsCatalogAdmin(admin) })

	mustExec(t, there, admin, "CREATE ROLE r; GRANT ROLE r TO GROUP g; GRANT SELECT ON URI 's3://bkt/data' TO ROLE r")
	start := time.Now()
	waitFor("GRANT by the other engine", func() bool { return here.Decide(alice, get, "bkt", "data/x").Allowed })
	t.Logf("GRANT seen after %v", time.Since(start))
	if here.Version() != there.Version() {
		t.Errorf("versions %d here, %d there", here.Version(), there.Version())
	}

	mustExec(t, there, admin, "DROP ROLE r")
	waitFor("DROP ROLE by the other engine", func() bool { return !here.Decide(alice, get, "bkt", "data/x").Allowed })

	if err := there.PutUser(t.Context(), "alice", []string{"g"}); err != nil {
		t.Fatal(err)
	}
	waitFor("PutUser by the other engine", func() bool { return here.KnownUser("alice") })
}

// failingStore fails PolicyVersion on demand, to check that Run keeps the
// last good policy.
type failingStore struct {
	*store.SQL
	fail chan bool
}

func (f *failingStore) PolicyVersion(ctx context.Context) (int64, error) {
	select {
	case f.fail <- true:
		return 0, errors.New("database unavailable")
	default:
		return f.SQL.PolicyVersion(ctx)
	}
}

func TestRunKeepsPolicyWhenReloadFails(t *testing.T) {
	st := openStore(t, "")
	fs := &failingStore{SQL: st, fail: make(chan bool)}
	e := newEngine(t, fs, 5*time.Millisecond)
	if err := e.Bootstrap(t.Context(), "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	for range 3 {
		<-fs.fail // Run polled and failed
	}
	if !e.IsCatalogAdmin(admin) {
		t.Error("the policy was lost after failed reloads")
	}
	cancel()
	<-done
}

// fixedStore serves one PolicyData and refuses changes.
type fixedStore struct{ data store.PolicyData }

func (f *fixedStore) UpdatePolicy(context.Context, func(store.PolicyTx) error) error {
	return errors.New("read-only")
}
func (f *fixedStore) LoadPolicy(context.Context) (store.PolicyData, error) { return f.data, nil }
func (f *fixedStore) PolicyVersion(context.Context) (int64, error)         { return f.data.Version, nil }

// TestNewRefusesCorruptPolicy: a stored row that does not parse fails the
// load, naming the role, rather than silently dropping a grant.
func TestNewRefusesCorruptPolicy(t *testing.T) {
	tests := []struct {
		name  string
		grant store.Grant
		want  string
	}{
		{"unknown privilege", store.Grant{Privilege: "READ", ObjectKind: "URI", Object: "s3://bkt"},
			`authz: role r: stored privilege "READ" is unknown`},
		{"unknown object kind", store.Grant{Privilege: "SELECT", ObjectKind: "VIEW", Object: "db.v"},
			`authz: role r: stored object kind "VIEW" is unknown`},
		{"bad URI", store.Grant{Privilege: "SELECT", ObjectKind: "URI", Object: "http://bkt"},
			`authz: role r: grants: stored URI "http://bkt": scheme "http" is not supported; use s3:// (or s3a://)`},
		{"bad table name", store.Grant{Privilege: "SELECT", ObjectKind: "TABLE", Object: "db"},
			`authz: role r: grants: stored TABLE name "db" is invalid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.grant
			g.Role = "r"
			st := &fixedStore{data: store.PolicyData{Version: 3, Roles: []store.RoleRecord{{Name: "r", Groups: []string{"g"}, Grants: []store.Grant{g}}}}}
			_, err := authz.New(t.Context(), authz.Options{Store: st})
			if err == nil || err.Error() != tt.want {
				t.Errorf("New: %v\nwant %s", err, tt.want)
			}
		})
	}
}
