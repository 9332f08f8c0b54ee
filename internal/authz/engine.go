// Package authz is lakegate's live policy engine. It keeps a compiled copy
// of the policy store current (reloading at once after its own changes and
// within a poll interval after other processes' changes), answers the
// proxy's authorization questions for S3 operations with reasons, and
// executes grant-language statements for the REST API.
//
// The decisions themselves are internal/policy's; this package adds the
// users' groups, the operation scopes of internal/s3/request and the
// statement semantics.
package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/store"
)

// DefaultMaxStaleness is Options.MaxStaleness's default.
const DefaultMaxStaleness = 10 * time.Second

// Store is what the engine needs from the policy store.
type Store interface {
	UpdatePolicy(ctx context.Context, fn func(tx store.PolicyTx) error) error
	LoadPolicy(ctx context.Context) (store.PolicyData, error)
	PolicyVersion(ctx context.Context) (int64, error)
}

// Options configure an Engine.
type Options struct {
	// Store holds the policy. Required.
	Store Store
	// Logger receives reload failures; nil discards.
	Logger *slog.Logger
	// PollInterval is how often Run checks the store for changes made by
	// other processes; zero means one second.
	PollInterval time.Duration
	// Changes, when set, wakes Run at once to check the store (a
	// PostgreSQL notification that the policy changed); polling goes on
	// beside it, as a safety net.
	Changes <-chan struct{}
	// RequiredGroup is OKERA_REQUIRED_GROUP_MEMBERSHIP (groups.required):
	// when set, a principal whose groups do not include it, and who is not
	// a catalog admin, holds no groups at all (see Principal.MissingGroup),
	// so every request of theirs is denied. identity.Resolver enforces the
	// same rule for logins; this covers the users of the users table and
	// session keys issued before the setting changed.
	RequiredGroup string
	// ReservedGroups are groups only the users table confers: a session
	// (a JWT's claim, a group resolver, LDAP, the host) naming one of them,
	// in any case, is not in it. The server reserves the bootstrap admin
	// group, so that a directory group called "Admin" is not catalog admin
	// unless the configuration says so (admin.groups).
	ReservedGroups []string
	// MaxStaleness bounds how long the policy in force may go without
	// being confirmed current with the store (store.max_staleness): past
	// it, with reloads failing, every decision is refused as unavailable
	// rather than made on a policy that may miss a REVOKE committed through
	// another server. Zero means DefaultMaxStaleness; it is raised to twice
	// PollInterval, since the policy is confirmed only once a poll.
	MaxStaleness time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Files reads the data lake for LIKE PARQUET and RECOVER PARTITIONS;
	// nil refuses those statements.
	Files Files
}

// Engine is the live policy. It is safe for concurrent use.
type Engine struct {
	st      Store
	log     *slog.Logger
	poll    time.Duration
	changes <-chan struct{}
	cur     atomic.Pointer[snapshot]
	mu      sync.Mutex // serializes reloads
	// required is Options.RequiredGroup.
	required string
	// reserved is Options.ReservedGroups, lower-cased.
	reserved map[string]bool
	// maxStale is Options.MaxStaleness; now is Options.Now.
	maxStale time.Duration
	now      func() time.Time
	files    Files
	// confirmed is when the last successful check against the store
	// began (unix nanoseconds): the policy in force was current then.
	confirmed atomic.Int64
}

// snapshot is one compiled version of the policy.
type snapshot struct {
	version int64
	pol     *policy.Policy
	data    store.PolicyData
	users   map[string][]string // user → groups
	// folded maps lower-cased group names to the names roles are granted
	// to, for case-insensitive groups.
	folded map[string][]string
	// view answers who sees what of the catalog (catalogview.go).
	view catalogView
}

// New loads the policy once and returns the engine. Call Run to follow
// changes made by other processes.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("authz: a store is required")
	}
	if strings.TrimSpace(o.RequiredGroup) != o.RequiredGroup {
		return nil, fmt.Errorf("authz: required group %q has leading or trailing space", o.RequiredGroup)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	poll := o.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	e := &Engine{st: o.Store, log: log, poll: poll, changes: o.Changes, required: o.RequiredGroup,
		maxStale: o.MaxStaleness, now: o.Now, files: o.Files}
	if e.maxStale <= 0 {
		e.maxStale = DefaultMaxStaleness
	}
	e.maxStale = max(e.maxStale, 2*poll)
	if e.now == nil {
		e.now = time.Now
	}
	for _, g := range o.ReservedGroups {
		if e.reserved == nil {
			e.reserved = map[string]bool{}
		}
		e.reserved[strings.ToLower(g)] = true
	}
	if err := e.reload(ctx, true); err != nil {
		return nil, err
	}
	return e, nil
}

// Run polls the store's policy version until ctx ends, and checks it at
// once on every Options.Changes wake-up, reloading when it changed.
// Failures are logged (once until the store answers again) and the last
// good policy stays in force for at most Options.MaxStaleness after the
// last successful check; past it decisions are refused (see Fresh).
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.poll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.changes: // nil without Options.Changes: never ready
		}
		err := e.reload(ctx, false)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			e.log.Warn("policy reload failed; keeping the last policy for at most store.max_staleness, then refusing every request until the store answers",
				"max_staleness", e.maxStale, "err", err)
		case err == nil && failing:
			e.log.Info("policy store answers again", "version", e.Version())
		}
		failing = err != nil
	}
}

// Fresh returns nil while the policy in force was confirmed current with
// the store within Options.MaxStaleness, else an error wrapping
// store.ErrUnavailable (503): decisions are then refused, since a change
// committed through another server sharing the store (a REVOKE) may be
// missing from it.
func (e *Engine) Fresh() error {
	age := e.now().Sub(time.Unix(0, e.confirmed.Load()))
	if age <= e.maxStale {
		return nil
	}
	return fmt.Errorf("%w: the policy could not be reloaded from the store for %s (store.max_staleness %s)",
		store.ErrUnavailable, age.Truncate(time.Millisecond), e.maxStale)
}

// staleDecision is the refusal of every question while the policy is not
// Fresh, or nil.
func (e *Engine) staleDecision() *Decision {
	err := e.Fresh()
	if err == nil {
		return nil
	}
	return &Decision{Reason: err.Error(), Unavailable: true}
}

// Version is the policy version in force.
func (e *Engine) Version() int64 { return e.cur.Load().version }

// reload compiles the store's policy when its version differs from the
// one in force (always when force is set).
func (e *Engine) reload(ctx context.Context, force bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := e.now()
	if cur := e.cur.Load(); cur != nil && !force {
		v, err := e.st.PolicyVersion(ctx)
		if err != nil {
			return fmt.Errorf("authz: policy version: %w", err)
		}
		if v == cur.version {
			e.confirm(start)
			return nil
		}
	}
	data, err := e.st.LoadPolicy(ctx)
	if err != nil {
		return fmt.Errorf("authz: load policy: %w", err)
	}
	snap, err := compile(data)
	if err != nil {
		return err
	}
	e.cur.Store(snap)
	e.confirm(start)
	return nil
}

// reloadCommitted reloads the policy after a committed change (what names
// it, for the log). A failure is logged, not returned: the change is done (a client told to
// retry would hear that it exists already), and Run's next successful
// poll brings it in, within the poll interval or, failing that, before
// max staleness ends decisions.
func (e *Engine) reloadCommitted(ctx context.Context, what string) {
	if err := e.reload(ctx, true); err != nil {
		e.log.Warn("a policy change was committed but reloading the policy failed; the next poll brings it in",
			"change", what, "err", err)
	}
}

// confirm records that the policy in force was current at t.
func (e *Engine) confirm(t time.Time) {
	if n := t.UnixNano(); n > e.confirmed.Load() {
		e.confirmed.Store(n)
	}
}

// compile turns stored rows into a compiled policy. A row that does not
// parse fails the whole load rather than silently dropping a grant (which
// could matter for a REVOKE-less deny model only in one direction, but an
// operator must hear about a corrupt store either way).
func compile(data store.PolicyData) (*snapshot, error) {
	s := policy.Snapshot{Roles: make([]policy.Role, 0, len(data.Roles))}
	for _, r := range data.Roles {
		gs, err := mergeGrants(r.Grants)
		if err != nil {
			return nil, fmt.Errorf("authz: role %s: %w", r.Name, err)
		}
		s.Roles = append(s.Roles, policy.Role{Name: r.Name, Grants: gs, Groups: r.Groups})
	}
	tables, err := policyTables(data.Tables)
	if err != nil {
		return nil, err
	}
	s.Tables = tables
	users := make(map[string][]string, len(data.Users))
	for _, u := range data.Users {
		users[u.Name] = u.Groups
	}
	folded := map[string][]string{}
	for _, r := range data.Roles {
		for _, g := range r.Groups {
			k := strings.ToLower(g)
			if !slices.Contains(folded[k], g) {
				folded[k] = append(folded[k], g)
			}
		}
	}
	return &snapshot{version: data.Version, pol: policy.Compile(s), data: data, users: users, folded: folded}, nil
}

// grantObject is what one stored row grants on, without the privilege.
type grantObject struct {
	kind, object, columns, where, options string
}

// mergeGrants folds the one-privilege rows of a role into one grant per
// object, keeping the store's order.
func mergeGrants(rows []store.Grant) ([]grants.GrantPrivileges, error) {
	var out []grants.GrantPrivileges
	index := map[grantObject]int{}
	for _, g := range rows {
		priv, ok := grants.PrivilegeByName(g.Privilege)
		if !ok {
			return nil, fmt.Errorf("stored privilege %q is unknown", g.Privilege)
		}
		k := grantObject{g.ObjectKind, g.Object, g.Columns, g.RowFilter, g.Options}
		if i, ok := index[k]; ok {
			out[i].Privileges |= grants.Privileges(priv)
			continue
		}
		kind, ok := grants.ObjectKindByName(g.ObjectKind)
		if !ok {
			return nil, fmt.Errorf("stored object kind %q is unknown", g.ObjectKind)
		}
		obj, err := grants.ParseObjectKey(kind, g.Object, g.Columns)
		if err != nil {
			return nil, err
		}
		attrs, transforms, err := grants.ParseOptionsKey(g.Options)
		if err != nil {
			return nil, err
		}
		index[k] = len(out)
		out = append(out, grants.GrantPrivileges{
			Privileges: grants.Privileges(priv), Object: obj, Where: g.RowFilter, Role: g.Role,
			Attributes: attrs, Transforms: transforms,
		})
	}
	return out, nil
}

// Principal is a user and the groups whose roles it holds.
type Principal struct {
	User   string
	Groups []string
	// MissingGroup is the required group (Options.RequiredGroup) the user
	// is not a member of; when set, Groups is empty, so the principal holds
	// no grant, and Decide gives this as the reason of every refusal.
	MissingGroup string
	// Session, on a principal an nScale proxy builds for a remote policy
	// server, is the key's session groups (nil: none), which the server
	// resolves; the engine itself ignores it.
	Session *identity.Groups
	// CacheKey, set with Session, identifies the user and session in such
	// a proxy's caches.
	CacheKey string
	// Memberships are every group the user is in (the users table's, or
	// the session's but reserved ones), whether or not a role is granted
	// to it, for has_group() in row filters; MembershipsFold says they
	// compare without regard to case. Groups, by contrast, holds only the
	// policy's names of the groups that hold roles. A principal built
	// without them (nil) is taken to be in exactly Groups.
	Memberships     []string
	MembershipsFold bool
}

// Principal returns user with the groups the policy store lists for it. An
// unknown user has no groups, and so no permissions. A listed user outside
// the required group who is not a catalog admin gets no groups either.
func (e *Engine) Principal(user string) Principal {
	snap := e.cur.Load()
	g, ok := snap.users[user]
	p := Principal{User: user, Groups: slices.Clone(g), Memberships: slices.Clone(g)}
	if ok {
		p = e.requireGroup(snap, p, identity.Groups{Names: g})
	}
	return p
}

// SessionPrincipal is the principal of user with the groups of its
// session: without a session (nil: a lakegate credential issued to the
// user), the groups the users table lists for the user, or none; with one
// (an identity from outside, such as a JWT, LDAP or Kerberos, or a
// credential issued to it), the session's groups only, even when the
// users table lists a user of the same name: that name says nothing about
// who the outside identity is. Case-insensitive session groups are matched
// to the policy's group names without regard to case.
//
// With a required group (Options.RequiredGroup), the membership is checked
// on the groups the user is in, before they are matched to the policy's
// names (the required group need not be granted any role): the users
// table's names exactly, a session's under its own case rule. A user not
// in it and not a catalog admin gets no groups and a MissingGroup. An
// unlisted user without a session has no groups anyway and is left as is.
// A session's names among Options.ReservedGroups (in any case) are
// dropped first.
func (e *Engine) SessionPrincipal(user string, session *identity.Groups) Principal {
	snap := e.cur.Load()
	if session == nil {
		g, ok := snap.users[user]
		p := Principal{User: user, Groups: slices.Clone(g), Memberships: slices.Clone(g)}
		if ok {
			p = e.requireGroup(snap, p, identity.Groups{Names: g})
		}
		return p
	}
	if e.reserved != nil {
		s := *session
		s.Names = slices.DeleteFunc(slices.Clone(s.Names), func(n string) bool { return e.reserved[strings.ToLower(n)] })
		session = &s
	}
	if !session.CaseInsensitive {
		return e.requireGroup(snap, Principal{User: user, Groups: slices.Clone(session.Names),
			Memberships: slices.Clone(session.Names)}, *session)
	}
	groups := []string{}
	for _, n := range session.Names {
		groups = append(groups, snap.folded[strings.ToLower(n)]...)
	}
	slices.Sort(groups)
	return e.requireGroup(snap, Principal{User: user, Groups: slices.Compact(groups),
		Memberships: slices.Clone(session.Names), MembershipsFold: true}, *session)
}

// requireGroup enforces the required group on p, whose user is a member
// of member: p itself when there is no required group, when member holds
// it (under member's case rule) or when p is a catalog admin (seed 002:
// catalog administrators are exempt); else p without groups, with
// MissingGroup set.
func (e *Engine) requireGroup(snap *snapshot, p Principal, member identity.Groups) Principal {
	if e.required == "" || memberOf(member, e.required) || snap.pol.IsCatalogAdmin(p.Groups) {
		return p
	}
	return Principal{User: p.User, Groups: []string{}, MissingGroup: e.required}
}

// memberOf reports whether g holds group under g's case rule. Unlike
// identity.Groups.Contains it does not rely on case-insensitive names
// having been lower-cased already (a JWT's raw claim may reach here).
func memberOf(g identity.Groups, group string) bool {
	for _, n := range g.Names {
		if n == group || (g.CaseInsensitive && strings.EqualFold(n, group)) {
			return true
		}
	}
	return false
}

// KnownUser reports whether the policy store lists user.
func (e *Engine) KnownUser(user string) bool {
	_, ok := e.cur.Load().users[user]
	return ok
}

// IsCatalogAdmin reports whether p holds ALL ON SERVER; no one does while
// the policy is not Fresh.
func (e *Engine) IsCatalogAdmin(p Principal) bool {
	return e.Fresh() == nil && e.cur.Load().pol.IsCatalogAdmin(p.Groups)
}

// Policy returns the compiled policy in force.
func (e *Engine) Policy() *policy.Policy { return e.cur.Load().pol }

// MemberOf returns the groups p is in for has_group() in row filters, and
// whether they compare without regard to case: Memberships, or Groups for
// a principal built without them.
func (p Principal) MemberOf() (groups []string, fold bool) {
	if p.Memberships == nil {
		return p.Groups, false
	}
	return p.Memberships, p.MembershipsFold
}
