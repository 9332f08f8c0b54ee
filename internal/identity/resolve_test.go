package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeGroups is a GroupResolver answering from a map. When gate is set,
// every lookup waits for it to close.
type fakeGroups struct {
	mu    sync.Mutex
	users map[string][]string
	err   error
	calls int
	gate  chan struct{}
}

func fake(users map[string][]string) *fakeGroups { return &fakeGroups{users: users} }

func (f *fakeGroups) Groups(_ context.Context, user string) ([]string, error) {
	f.mu.Lock()
	f.calls++
	err, g, gate := f.err, slices.Clone(f.users[user]), f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

func (f *fakeGroups) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeGroups) count() int {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

var _ GroupResolver = (*fakeGroups)(nil)

var (
	errDown = errors.New("resolver down")
	// errAny in step.wantErr asks for some error, whichever.
	errAny = errors.New("any error")
)

// calls counts the lookups of each fake.
type calls struct{ rest, ldap, unix int }

type step struct {
	id Identity
	// advance moves the clock before the call.
	advance time.Duration
	// before changes the fakes before the call.
	before func(rest, ldap, unix *fakeGroups)
	// concurrent > 1 makes that many calls at once, all held inside the
	// resolver until every one has started.
	concurrent int
	want       Groups
	// wantErr is matched with errors.Is (errAny: any error).
	wantErr error
	// contains maps a grant's group name to whether want.Contains it.
	contains map[string]bool
	// calls, when set, are the lookups counted after this step.
	calls *calls
}

type resolveCase struct {
	name string
	// opts are completed with the fakes below and the test clock.
	opts ResolverOptions
	// rest and ldap are nil when unset; unix nil means one that knows
	// nobody (the table never asks the real host).
	rest, ldap, unix *fakeGroups
	steps            []step
}

// catalogAdmin is the IsCatalogAdmin of the table: members of
// catalog-admins are catalog administrators.
func catalogAdmin(_ string, groups []string) bool {
	return slices.Contains(groups, "catalog-admins")
}

func jwtUser(user string, groups ...string) Identity {
	return Identity{User: user, Groups: groups, Method: "jwt"}
}

func TestResolveSeed002(t *testing.T) {
	const ttl = time.Minute
	users := func(u string, g ...string) map[string][]string { return map[string][]string{u: g} }
	c := func(rest, ldap, unix int) *calls { return &calls{rest, ldap, unix} }
	jwtOnly := ResolverOptions{JWTOnly: true}
	cached := ResolverOptions{JWTOnly: true, CacheTTL: ttl}

	cases := []resolveCase{
		// Approach 2, exclusively when no fallback is configured.
		{
			name: "jwt-only/claim is the groups, lower-cased",
			opts: jwtOnly,
			steps: []step{{
				id:   jwtUser("alice", "Analysts", "FINANCE"),
				want: Groups{Names: []string{"analysts", "finance"}, CaseInsensitive: true, Source: SourceJWT},
			}},
		},
		{
			name: "jwt-only/no claim and no fallback: no groups, no error",
			opts: jwtOnly,
			unix: fake(users("alice", "wheel")),
			steps: []step{{
				id:    jwtUser("alice"),
				want:  Groups{CaseInsensitive: true, Source: SourceJWT},
				calls: c(0, 0, 0),
			}},
		},
		{
			name: "jwt-only/empty claim and no fallback: no groups",
			opts: jwtOnly,
			steps: []step{{
				id:   Identity{User: "alice", Groups: []string{}, Method: "jwt"},
				want: Groups{CaseInsensitive: true, Source: SourceJWT},
			}},
		},
		{
			name: "jwt-only/claim without duplicates or empty names",
			opts: jwtOnly,
			steps: []step{{
				id:   jwtUser("alice", "Eng", "", "ENG", "eng", "ops"),
				want: Groups{Names: []string{"eng", "ops"}, CaseInsensitive: true, Source: SourceJWT},
			}},
		},
		// Approach 3 as the fallback of approach 2.
		{
			name: "jwt-only+rest/claim present: rest not asked",
			opts: jwtOnly,
			rest: fake(users("alice", "from-rest")),
			steps: []step{{
				id:    jwtUser("alice", "From-Claim"),
				want:  Groups{Names: []string{"from-claim"}, CaseInsensitive: true, Source: SourceJWT},
				calls: c(0, 0, 0),
			}},
		},
		{
			name: "jwt-only+rest/claim absent: rest, lower-cased",
			opts: jwtOnly,
			rest: fake(users("alice", "Data-Eng", "Ops")),
			steps: []step{{
				id:    jwtUser("alice"),
				want:  Groups{Names: []string{"data-eng", "ops"}, CaseInsensitive: true, Source: SourceREST},
				calls: c(1, 0, 0),
			}},
		},
		{
			name: "jwt-only+rest/claim an empty list: rest",
			opts: jwtOnly,
			rest: fake(users("alice", "ops")),
			steps: []step{{
				id:   Identity{User: "alice", Groups: []string{}, Method: "jwt"},
				want: Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST},
			}},
		},
		{
			name: "jwt-only+rest/claim of empty names only: rest",
			opts: jwtOnly,
			rest: fake(users("alice", "ops")),
			steps: []step{{
				id:   jwtUser("alice", "", ""),
				want: Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST},
			}},
		},
		{
			name: "jwt-only+rest/claim absent, rest knows no groups: none, no error",
			opts: jwtOnly,
			rest: fake(nil),
			steps: []step{{
				id:   jwtUser("alice"),
				want: Groups{CaseInsensitive: true, Source: SourceREST},
			}},
		},
		{
			name: "jwt-only+rest/non-jwt identity (no claim) in jwt-only mode: rest",
			opts: jwtOnly,
			rest: fake(users("svc", "batch")),
			steps: []step{{
				id:   Identity{User: "svc", Method: "token"},
				want: Groups{Names: []string{"batch"}, CaseInsensitive: true, Source: SourceREST},
			}},
		},
		// Approach 4 as the fallback of approach 2.
		{
			name: "jwt-only+ldap/claim present: ldap not asked",
			opts: jwtOnly,
			ldap: fake(users("alice", "from-ldap")),
			steps: []step{{
				id:    jwtUser("alice", "claimed"),
				want:  Groups{Names: []string{"claimed"}, CaseInsensitive: true, Source: SourceJWT},
				calls: c(0, 0, 0),
			}},
		},
		{
			name: "jwt-only+ldap/claim absent: ldap, down-cased",
			opts: jwtOnly,
			ldap: fake(users("alice", "CN-Admins", "Staff")),
			steps: []step{{
				id:       jwtUser("alice"),
				want:     Groups{Names: []string{"cn-admins", "staff"}, CaseInsensitive: true, Source: SourceLDAP},
				contains: map[string]bool{"Staff": true, "STAFF": true, "staff": true},
				calls:    c(0, 1, 0),
			}},
		},
		// Both fallbacks: REST first, then LDAP.
		{
			name: "jwt-only+rest+ldap/claim present: neither asked",
			opts: jwtOnly,
			rest: fake(users("alice", "r")),
			ldap: fake(users("alice", "l")),
			steps: []step{{
				id:    jwtUser("alice", "j"),
				want:  Groups{Names: []string{"j"}, CaseInsensitive: true, Source: SourceJWT},
				calls: c(0, 0, 0),
			}},
		},
		{
			name: "jwt-only+rest+ldap/claim absent: rest, ldap not asked",
			opts: jwtOnly,
			rest: fake(users("alice", "R")),
			ldap: fake(users("alice", "L")),
			steps: []step{{
				id:    jwtUser("alice"),
				want:  Groups{Names: []string{"r"}, CaseInsensitive: true, Source: SourceREST},
				calls: c(1, 0, 0),
			}},
		},
		{
			name: "jwt-only+rest+ldap/rest answers none: ldap",
			opts: jwtOnly,
			rest: fake(nil),
			ldap: fake(users("alice", "L")),
			steps: []step{{
				id:    jwtUser("alice"),
				want:  Groups{Names: []string{"l"}, CaseInsensitive: true, Source: SourceLDAP},
				calls: c(1, 1, 0),
			}},
		},
		{
			name: "jwt-only+rest+ldap/both answer none: no groups, no error",
			opts: jwtOnly,
			rest: fake(nil),
			ldap: fake(nil),
			steps: []step{{
				id:   jwtUser("alice"),
				want: Groups{CaseInsensitive: true, Source: SourceLDAP},
			}},
		},
		// Failing lookups are errors, never a fall-through.
		{
			name: "jwt-only+rest+ldap/rest down: error, ldap not asked",
			opts: jwtOnly,
			rest: &fakeGroups{err: errDown},
			ldap: fake(users("alice", "l")),
			steps: []step{{
				id:      jwtUser("alice"),
				wantErr: errDown,
				calls:   c(1, 0, 0),
			}},
		},
		{
			name: "jwt-only+rest/rest down but claim present: claim",
			opts: jwtOnly,
			rest: &fakeGroups{err: errDown},
			steps: []step{{
				id:    jwtUser("alice", "j"),
				want:  Groups{Names: []string{"j"}, CaseInsensitive: true, Source: SourceJWT},
				calls: c(0, 0, 0),
			}},
		},
		{
			name: "jwt-only+rest+ldap/rest answers none, ldap down: error",
			opts: jwtOnly,
			rest: fake(nil),
			ldap: &fakeGroups{err: errDown},
			steps: []step{{
				id:      jwtUser("alice"),
				wantErr: errDown,
			}},
		},
		{
			name: "unix down: error",
			unix: &fakeGroups{err: errDown},
			steps: []step{{
				id:      Identity{User: "alice", Method: "kerberos"},
				wantErr: errDown,
			}},
		},
		{
			name:  "identity without a user: error",
			opts:  jwtOnly,
			steps: []step{{id: Identity{Groups: []string{"g"}}, wantErr: errAny}},
		},
		// Approach 1 in every other configuration.
		{
			name: "kerberos+jwt configured: unix groups even for a jwt user with a claim",
			opts: ResolverOptions{JWTOnly: false},
			rest: fake(users("alice", "r")),
			ldap: fake(users("alice", "l")),
			unix: fake(users("alice", "Wheel", "staff")),
			steps: []step{{
				id:    jwtUser("alice", "claimed"),
				want:  Groups{Names: []string{"Wheel", "staff"}, Source: SourceUnix},
				calls: c(0, 0, 1),
			}},
		},
		{
			name: "kerberos only: unix groups",
			unix: fake(users("alice@EXAMPLE.COM", "hadoop")),
			steps: []step{{
				id:   Identity{User: "alice@EXAMPLE.COM", Method: "kerberos"},
				want: Groups{Names: []string{"hadoop"}, Source: SourceUnix},
			}},
		},
		// Users LDAP authenticated, in any mode.
		{
			name: "ldap login: ldap groups, even outside jwt-only mode",
			ldap: fake(users("alice", "Analysts")),
			unix: fake(users("alice", "wheel")),
			steps: []step{{
				id:   Identity{User: "alice", Method: "ldap"},
				want: Groups{Names: []string{"analysts"}, CaseInsensitive: true, Source: SourceLDAP},
			}},
		},
		{
			name: "token user ldap does not know: the usual rules (unix)",
			ldap: fake(nil),
			unix: fake(users("alice@EXAMPLE.COM", "hadoop")),
			steps: []step{{
				id:   Identity{User: "alice@EXAMPLE.COM", Method: "token"},
				want: Groups{Names: []string{"hadoop"}, Source: SourceUnix},
			}},
		},
		{
			name: "unix user without groups: none, no error",
			unix: fake(nil),
			steps: []step{{
				id:   Identity{User: "nobody-here", Method: "ldap"},
				want: Groups{Source: SourceUnix},
			}},
		},
		// Case sensitivity.
		{
			name: "case: jwt Admin matches grant group admin",
			opts: jwtOnly,
			steps: []step{{
				id:       jwtUser("alice", "Admin"),
				want:     Groups{Names: []string{"admin"}, CaseInsensitive: true, Source: SourceJWT},
				contains: map[string]bool{"admin": true, "Admin": true, "ADMIN": true, "admins": false},
			}},
		},
		{
			name: "case: rest names compare case-insensitively",
			opts: jwtOnly,
			rest: fake(users("alice", "ADMIN")),
			steps: []step{{
				id:       jwtUser("alice"),
				want:     Groups{Names: []string{"admin"}, CaseInsensitive: true, Source: SourceREST},
				contains: map[string]bool{"admin": true, "Admin": true},
			}},
		},
		{
			name: "case: unix names unchanged and case-sensitive",
			unix: fake(users("alice", "Admin", "admin", "Admin")),
			steps: []step{{
				id:       jwtUser("alice", "ignored"),
				want:     Groups{Names: []string{"Admin", "admin"}, Source: SourceUnix},
				contains: map[string]bool{"Admin": true, "admin": true, "ADMIN": false},
			}},
		},
		{
			name: "case: unix Admin does not match grant group admin",
			unix: fake(users("alice", "Admin")),
			steps: []step{{
				id:       Identity{User: "alice", Method: "kerberos"},
				want:     Groups{Names: []string{"Admin"}, Source: SourceUnix},
				contains: map[string]bool{"admin": false, "Admin": true},
			}},
		},
		// Required groups.
		{
			name: "required: jwt member, compared case-insensitively",
			opts: ResolverOptions{JWTOnly: true, RequiredGroup: "Okera-Users", IsCatalogAdmin: catalogAdmin},
			steps: []step{{
				id:   jwtUser("alice", "OKERA-USERS", "eng"),
				want: Groups{Names: []string{"okera-users", "eng"}, CaseInsensitive: true, Source: SourceJWT},
			}},
		},
		{
			name: "required: jwt non-member denied",
			opts: ResolverOptions{JWTOnly: true, RequiredGroup: "okera-users", IsCatalogAdmin: catalogAdmin},
			steps: []step{{
				id:      jwtUser("bob", "eng"),
				wantErr: ErrNotInRequiredGroup,
			}},
		},
		{
			name: "required: user without any group denied",
			opts: ResolverOptions{JWTOnly: true, RequiredGroup: "okera-users", IsCatalogAdmin: catalogAdmin},
			steps: []step{{
				id:      jwtUser("bob"),
				wantErr: ErrNotInRequiredGroup,
			}},
		},
		{
			name: "required: catalog admin outside the group is exempt",
			opts: ResolverOptions{JWTOnly: true, RequiredGroup: "okera-users", IsCatalogAdmin: catalogAdmin},
			steps: []step{{
				id:   jwtUser("root", "Catalog-Admins"),
				want: Groups{Names: []string{"catalog-admins"}, CaseInsensitive: true, Source: SourceJWT},
			}},
		},
		{
			name: "required: unix member, exact case",
			opts: ResolverOptions{RequiredGroup: "Okera-Users", IsCatalogAdmin: catalogAdmin},
			unix: fake(users("alice", "Okera-Users")),
			steps: []step{{
				id:   Identity{User: "alice", Method: "kerberos"},
				want: Groups{Names: []string{"Okera-Users"}, Source: SourceUnix},
			}},
		},
		{
			name: "required: unix group differing in case is not the required group",
			opts: ResolverOptions{RequiredGroup: "okera-users", IsCatalogAdmin: catalogAdmin},
			unix: fake(users("alice", "Okera-Users")),
			steps: []step{{
				id:      Identity{User: "alice", Method: "kerberos"},
				wantErr: ErrNotInRequiredGroup,
			}},
		},
		{
			name: "required: unix catalog admin exempt",
			opts: ResolverOptions{RequiredGroup: "okera-users", IsCatalogAdmin: catalogAdmin},
			unix: fake(users("root", "catalog-admins")),
			steps: []step{{
				id:   Identity{User: "root", Method: "kerberos"},
				want: Groups{Names: []string{"catalog-admins"}, Source: SourceUnix},
			}},
		},
		{
			name: "required: rest fallback member, case-insensitive",
			opts: ResolverOptions{JWTOnly: true, RequiredGroup: "OKERA-USERS", IsCatalogAdmin: catalogAdmin},
			rest: fake(users("alice", "Okera-Users")),
			steps: []step{{
				id:   jwtUser("alice"),
				want: Groups{Names: []string{"okera-users"}, CaseInsensitive: true, Source: SourceREST},
			}},
		},
		{
			name: "required: ldap fallback non-member denied",
			opts: ResolverOptions{JWTOnly: true, RequiredGroup: "okera-users", IsCatalogAdmin: catalogAdmin},
			ldap: fake(users("bob", "Staff")),
			steps: []step{{
				id:      jwtUser("bob"),
				wantErr: ErrNotInRequiredGroup,
			}},
		},
		{
			name: "required: enforced on cached groups too",
			opts: ResolverOptions{JWTOnly: true, CacheTTL: ttl, RequiredGroup: "okera-users", IsCatalogAdmin: catalogAdmin},
			rest: fake(users("bob", "staff")),
			steps: []step{
				{id: jwtUser("bob"), wantErr: ErrNotInRequiredGroup, calls: c(1, 0, 0)},
				{id: jwtUser("bob"), wantErr: ErrNotInRequiredGroup, calls: c(1, 0, 0)},
			},
		},
		// The cache.
		{
			name: "cache: hit does not ask again",
			opts: ResolverOptions{CacheTTL: ttl},
			unix: fake(users("alice", "staff")),
			steps: []step{
				{id: Identity{User: "alice"}, want: Groups{Names: []string{"staff"}, Source: SourceUnix}, calls: c(0, 0, 1)},
				{id: Identity{User: "alice"}, want: Groups{Names: []string{"staff"}, Source: SourceUnix}, calls: c(0, 0, 1)},
				{id: Identity{User: "bob"}, want: Groups{Source: SourceUnix}, calls: c(0, 0, 2)},
			},
		},
		{
			name: "cache: kept until the TTL, asked again at it",
			opts: cached,
			rest: fake(users("alice", "old")),
			steps: []step{
				{id: jwtUser("alice"), want: Groups{Names: []string{"old"}, CaseInsensitive: true, Source: SourceREST}, calls: c(1, 0, 0)},
				{
					id: jwtUser("alice"), advance: ttl - time.Second,
					before: func(rest, _, _ *fakeGroups) { rest.users["alice"] = []string{"new"} },
					want:   Groups{Names: []string{"old"}, CaseInsensitive: true, Source: SourceREST}, calls: c(1, 0, 0),
				},
				{id: jwtUser("alice"), advance: time.Second, want: Groups{Names: []string{"new"}, CaseInsensitive: true, Source: SourceREST}, calls: c(2, 0, 0)},
			},
		},
		{
			name: "cache: errors are not cached",
			opts: cached,
			rest: &fakeGroups{users: users("alice", "ops"), err: errDown},
			steps: []step{
				{id: jwtUser("alice"), wantErr: errDown, calls: c(1, 0, 0)},
				{
					id:     jwtUser("alice"),
					before: func(rest, _, _ *fakeGroups) { rest.set(nil) },
					want:   Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST}, calls: c(2, 0, 0),
				},
				{id: jwtUser("alice"), want: Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST}, calls: c(2, 0, 0)},
			},
		},
		{
			name: "cache: a claim is never masked by cached fallback groups",
			opts: cached,
			rest: fake(users("alice", "from-rest")),
			steps: []step{
				{id: jwtUser("alice"), want: Groups{Names: []string{"from-rest"}, CaseInsensitive: true, Source: SourceREST}, calls: c(1, 0, 0)},
				{id: jwtUser("alice", "b"), want: Groups{Names: []string{"b"}, CaseInsensitive: true, Source: SourceJWT}, calls: c(1, 0, 0)},
				{id: jwtUser("alice", "c"), want: Groups{Names: []string{"c"}, CaseInsensitive: true, Source: SourceJWT}, calls: c(1, 0, 0)},
				{id: jwtUser("alice"), want: Groups{Names: []string{"from-rest"}, CaseInsensitive: true, Source: SourceREST}, calls: c(1, 0, 0)},
			},
		},
		{
			name: "cache: ldap answers cached like rest's",
			opts: cached,
			ldap: fake(users("alice", "L")),
			steps: []step{
				{id: jwtUser("alice"), want: Groups{Names: []string{"l"}, CaseInsensitive: true, Source: SourceLDAP}, calls: c(0, 1, 0)},
				{id: jwtUser("alice"), want: Groups{Names: []string{"l"}, CaseInsensitive: true, Source: SourceLDAP}, calls: c(0, 1, 0)},
			},
		},
		{
			name: "cache: zero TTL disables it",
			opts: jwtOnly,
			rest: fake(users("alice", "ops")),
			steps: []step{
				{id: jwtUser("alice"), want: Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST}, calls: c(1, 0, 0)},
				{id: jwtUser("alice"), want: Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST}, calls: c(2, 0, 0)},
			},
		},
		{
			name: "cache: negative TTL disables it",
			opts: ResolverOptions{CacheTTL: -time.Second},
			unix: fake(users("alice", "staff")),
			steps: []step{
				{id: Identity{User: "alice"}, want: Groups{Names: []string{"staff"}, Source: SourceUnix}, calls: c(0, 0, 1)},
				{id: Identity{User: "alice"}, want: Groups{Names: []string{"staff"}, Source: SourceUnix}, calls: c(0, 0, 2)},
			},
		},
		{
			name: "cache: concurrent misses share one lookup",
			opts: cached,
			rest: fake(users("alice", "ops")),
			steps: []step{
				{id: jwtUser("alice"), concurrent: 16, want: Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST}, calls: c(1, 0, 0)},
				{id: jwtUser("alice"), want: Groups{Names: []string{"ops"}, CaseInsensitive: true, Source: SourceREST}, calls: c(1, 0, 0)},
			},
		},
		{
			name: "cache: concurrent misses of unix groups share one lookup",
			opts: ResolverOptions{CacheTTL: ttl},
			unix: fake(users("alice", "staff")),
			steps: []step{
				{id: Identity{User: "alice"}, concurrent: 16, want: Groups{Names: []string{"staff"}, Source: SourceUnix}, calls: c(0, 0, 1)},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The bubble lets a concurrent step wait until every caller is
			// blocked inside the resolver.
			synctest.Test(t, func(t *testing.T) { runResolveCase(t, tc) })
		})
	}
}

func runResolveCase(t *testing.T, tc resolveCase) {
	now := time.Unix(1_700_000_000, 0)
	o := tc.opts
	o.Now = func() time.Time { return now }
	if tc.rest != nil {
		o.REST = tc.rest
	}
	if tc.ldap != nil {
		o.LDAP = tc.ldap
	}
	if tc.unix == nil {
		tc.unix = fake(nil)
	}
	o.Unix = tc.unix
	r, err := NewResolver(o)
	if err != nil {
		t.Fatalf("NewResolver: %v", err)
	}
	for i, s := range tc.steps {
		now = now.Add(s.advance)
		if s.before != nil {
			s.before(tc.rest, tc.ldap, tc.unix)
		}
		n := max(s.concurrent, 1)
		gots := make([]Groups, n)
		errs := make([]error, n)
		var gate chan struct{}
		if n > 1 {
			gate = make(chan struct{})
			for _, f := range []*fakeGroups{tc.rest, tc.ldap, tc.unix} {
				if f != nil {
					f.mu.Lock()
					f.gate = gate
					f.mu.Unlock()
				}
			}
		}
		var wg sync.WaitGroup
		for j := range n {
			wg.Go(func() { gots[j], errs[j] = r.Resolve(context.Background(), s.id) })
		}
		if gate != nil {
			synctest.Wait() // every caller is now blocked in the resolver
			close(gate)
		}
		wg.Wait()
		for j := range n {
			checkStep(t, i, s, gots[j], errs[j])
		}
		if s.calls != nil {
			got := calls{tc.rest.count(), tc.ldap.count(), tc.unix.count()}
			if got != *s.calls {
				t.Errorf("step %d: lookups (rest, ldap, unix) = %v, want %v", i, got, *s.calls)
			}
		}
	}
}

func checkStep(t *testing.T, i int, s step, got Groups, err error) {
	t.Helper()
	switch {
	case s.wantErr == nil && err != nil:
		t.Errorf("step %d: Resolve(%+v) error: %v", i, s.id, err)
		return
	case s.wantErr != nil && err == nil:
		t.Errorf("step %d: Resolve(%+v) = %+v, want error %v", i, s.id, got, s.wantErr)
		return
	case s.wantErr != nil:
		if s.wantErr != errAny && !errors.Is(err, s.wantErr) {
			t.Errorf("step %d: Resolve(%+v) error %v, want %v", i, s.id, err, s.wantErr)
		}
		if errors.Is(err, ErrNotInRequiredGroup) && errors.Is(err, ErrUnauthenticated) {
			t.Errorf("step %d: %v is both a denial and a bad credential", i, err)
		}
		if (got.Names != nil || got.Source != "") && err != nil {
			t.Errorf("step %d: Resolve returned %+v with its error", i, got)
		}
		return
	}
	if !slices.Equal(got.Names, s.want.Names) || got.CaseInsensitive != s.want.CaseInsensitive || got.Source != s.want.Source {
		t.Errorf("step %d: Resolve(%+v) = %+v, want %+v", i, s.id, got, s.want)
	}
	for g, want := range s.contains {
		if got.Contains(g) != want {
			t.Errorf("step %d: %+v.Contains(%q) = %v, want %v", i, got, g, !want, want)
		}
	}
}

func TestResolveRequiredGroupError(t *testing.T) {
	var gotUser string
	var gotGroups []string
	r, err := NewResolver(ResolverOptions{
		JWTOnly:       true,
		RequiredGroup: "okera-users",
		IsCatalogAdmin: func(user string, groups []string) bool {
			gotUser, gotGroups = user, groups
			return false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(context.Background(), jwtUser("bob", "Eng"))
	if !errors.Is(err, ErrNotInRequiredGroup) || errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("error %v, want ErrNotInRequiredGroup and not ErrUnauthenticated", err)
	}
	for _, s := range []string{`"bob"`, `"okera-users"`, SourceJWT} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %s", err, s)
		}
	}
	if gotUser != "bob" || !slices.Equal(gotGroups, []string{"eng"}) {
		t.Errorf("IsCatalogAdmin(%q, %q), want (bob, [eng])", gotUser, gotGroups)
	}
}

func TestResolverOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    ResolverOptions
		want []string // substrings of the joined error; nil: valid
	}{
		{name: "zero", o: ResolverOptions{}},
		{name: "jwt-only with fallbacks", o: ResolverOptions{JWTOnly: true, REST: fake(nil), LDAP: fake(nil), CacheTTL: time.Minute}},
		{name: "required group with admin check", o: ResolverOptions{RequiredGroup: "g", IsCatalogAdmin: catalogAdmin}},
		{name: "required group without admin check", o: ResolverOptions{RequiredGroup: "g"}, want: []string{"IsCatalogAdmin"}},
		{name: "required group with spaces", o: ResolverOptions{RequiredGroup: " g ", IsCatalogAdmin: catalogAdmin}, want: []string{"space"}},
		{name: "typed nil resolver", o: ResolverOptions{REST: (*RESTGroups)(nil)}, want: []string{"REST", "nil *identity.RESTGroups"}},
		{
			name: "every problem at once",
			o:    ResolverOptions{RequiredGroup: "g ", LDAP: (*fakeGroups)(nil), CacheMaxEntries: -1},
			want: []string{"LDAP", "space", "IsCatalogAdmin", "negative"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tc.o)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error %q does not mention %q", err, w)
				}
			}
			if _, err := NewResolver(tc.o); err == nil {
				t.Errorf("NewResolver accepted %+v", tc.o)
			}
		})
	}
}

// TestResolveSessionGroups: rule 0, the groups a credential carries from
// its session (a token got with a JWT) are returned as they are, no source
// asked, and the required group still applies.
func TestResolveSessionGroups(t *testing.T) {
	ldap, rest := fake(map[string][]string{"jdoe": {"from-ldap"}}), fake(map[string][]string{"jdoe": {"from-rest"}})
	r, err := NewResolver(ResolverOptions{JWTOnly: true, LDAP: ldap, REST: rest, RequiredGroup: "staff",
		IsCatalogAdmin: func(string, []string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{User: "jdoe", Method: "token", Session: &Groups{Names: []string{"analysts", "staff"}, CaseInsensitive: true}}
	g, err := r.Resolve(t.Context(), id)
	if err != nil || !slices.Equal(g.Names, []string{"analysts", "staff"}) || !g.CaseInsensitive || g.Source != SourceSession {
		t.Errorf("Resolve = %+v, %v; want the session's groups", g, err)
	}
	if ldap.count()+rest.count() != 0 {
		t.Errorf("LDAP asked %d, REST %d times; want neither", ldap.count(), rest.count())
	}
	id.Session = &Groups{Names: []string{"analysts"}, CaseInsensitive: true}
	if _, err := r.Resolve(t.Context(), id); !errors.Is(err, ErrNotInRequiredGroup) {
		t.Errorf("a session outside the required group: %v, want ErrNotInRequiredGroup", err)
	}
}
