package identity

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Group sources, as Groups.Source names them.
const (
	SourceUnix = "unix" // approach 1: the host's Unix groups
	SourceJWT  = "jwt"  // approach 2: the JWT's groups claim
	SourceREST = "rest" // approach 3: OKERA_GROUP_RESOLVER_URL
	SourceLDAP = "ldap" // approach 4: OKERA_GROUP_RESOLVER_LDAP_HOST
	// SourceSession: the groups a lakegate credential carries from the
	// session it was issued to (Identity.Session).
	SourceSession = "session"
)

// ErrNotInRequiredGroup is wrapped by Resolve when the user is not a member
// of the required group (OKERA_REQUIRED_GROUP_MEMBERSHIP) and is not a
// catalog administrator. It is a denial of a valid credential (HTTP 403), so it is
// deliberately not ErrUnauthenticated (HTTP 401): presenting the credential
// again, or another one for the same user, cannot help.
var ErrNotInRequiredGroup = errors.New("not a member of the required group")

// Groups are a user's resolved groups.
type Groups struct {
	// Names are the group names, without empty or repeated ones. When
	// CaseInsensitive they are lower-cased (strings.ToLower).
	Names []string
	// CaseInsensitive says how Names compare to the group names of grants
	// (seed 002 "Case Sensitivity"): when true, "Admin" and "admin" are the
	// same group, and a grant's group name must be lower-cased before it is
	// compared with Names; when false, they are different groups.
	CaseInsensitive bool
	// Source names where Names came from: SourceUnix, SourceJWT,
	// SourceREST or SourceLDAP.
	Source string
}

// Contains reports whether group is one of g.Names under g's case rule.
func (g Groups) Contains(group string) bool {
	if g.CaseInsensitive {
		group = strings.ToLower(group)
	}
	for _, n := range g.Names {
		if n == group {
			return true
		}
	}
	return false
}

// ResolverOptions configure a Resolver.
type ResolverOptions struct {
	// JWTOnly is set when only JWT support is configured (a system token
	// is specified): groups then come from the JWT's groups claim, with
	// REST and LDAP as fallbacks. When false (Kerberos alone, or Kerberos
	// and JWT together) every user's groups are the host's Unix groups,
	// and REST and LDAP are not used.
	JWTOnly bool
	// REST resolves groups from OKERA_GROUP_RESOLVER_URL (a RESTGroups);
	// nil when that is unset.
	REST GroupResolver
	// LDAP resolves groups from OKERA_GROUP_RESOLVER_LDAP_HOST; nil when
	// that is unset. Besides its seed-002 role as a JWT fallback, it gives
	// the groups of users who signed in with their LDAP password (Method
	// "ldap") and of lakegate-token users it knows, in every mode.
	LDAP GroupResolver
	// Unix resolves the host's groups; nil means UnixGroups{}.
	Unix GroupResolver
	// RequiredGroup is OKERA_REQUIRED_GROUP_MEMBERSHIP: when not empty,
	// every user must be in it, compared under the source's case rule.
	RequiredGroup string
	// IsCatalogAdmin reports whether user, in groups (Groups.Names), is a
	// catalog administrator and so exempt from RequiredGroup. Required
	// when RequiredGroup is set; it must be safe for concurrent use.
	IsCatalogAdmin func(user string, groups []string) bool
	// CacheTTL is how long the answer of a REST, LDAP or Unix lookup is
	// reused for the same user (see CachedGroups); zero or negative means
	// no cache. The configuration's default is DefaultGroupCacheTTL.
	CacheTTL time.Duration
	// CacheMaxEntries bounds each cache; zero means
	// DefaultGroupCacheMaxEntries.
	CacheMaxEntries int
	// Now returns the current time for the caches; nil means time.Now.
	Now func() time.Time
}

// Validate reports every problem with o, joined; it changes nothing.
func (o ResolverOptions) Validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		r    GroupResolver
	}{{"REST", o.REST}, {"LDAP", o.LDAP}, {"Unix", o.Unix}} {
		if isNilValue(r.r) {
			errs = append(errs, fmt.Errorf("identity: the %s group resolver is a nil %T; leave it nil instead", r.name, r.r))
		}
	}
	if o.RequiredGroup != "" {
		if strings.TrimSpace(o.RequiredGroup) != o.RequiredGroup {
			errs = append(errs, fmt.Errorf("identity: required group %q has leading or trailing space", o.RequiredGroup))
		}
		if o.IsCatalogAdmin == nil {
			errs = append(errs, errors.New("identity: a required group needs IsCatalogAdmin, since catalog administrators are exempt from it"))
		}
	}
	if o.CacheMaxEntries < 0 {
		errs = append(errs, fmt.Errorf("identity: group cache size %d is negative", o.CacheMaxEntries))
	}
	return errors.Join(errs...)
}

// isNilValue reports whether r holds a nil pointer (or map, func, …): an
// interface that is not nil but whose methods would panic.
func isNilValue(r GroupResolver) bool {
	if r == nil {
		return false
	}
	switch v := reflect.ValueOf(r); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// Resolver resolves a user's groups as seed 002 "Group Resolution" says,
// then enforces "Required Groups". Resolve's rules, in order:
//
//  0. The identity carries the groups of the session its credential was
//     issued to (Identity.Session: a lakegate token got with a JWT, whose
//     claim cannot be read again): those, under their own case rule.
//  1. Not JWTOnly (Kerberos alone, or Kerberos and JWT together): the
//     host's Unix groups (approach 1), for every user including JWT ones.
//     Names are kept as the host spells them; case-sensitive.
//  2. JWTOnly, and the identity's groups claim (Identity.Groups) holds at
//     least one non-empty name: the claim (approach 2), lower-cased,
//     case-insensitive. REST and LDAP are not asked.
//  3. JWTOnly, and neither REST nor LDAP is set: the claim exclusively,
//     so a token without one gives no groups (not an error).
//  4. JWTOnly, the claim is absent or has no non-empty name (approach 2
//     was attempted and gave nothing), and REST is set: REST's groups
//     (approach 3), lower-cased, case-insensitive.
//  5. JWTOnly, the claim gave nothing, LDAP is set, and REST is unset or
//     answered no groups: LDAP's groups (approach 4), down-cased as seed
//     002 says, and so case-insensitive like approaches 2 and 3.
//  6. A failing lookup (REST down, LDAP unreachable, the host's group
//     database unreadable) makes Resolve fail; it does not fall through to
//     the next source, since an outage must not silently change which
//     groups, and so which grants, apply. An empty answer is not a failure.
//  7. RequiredGroup set: a user whose groups do not contain it (under the
//     source's case rule, Groups.Contains) gets an error wrapping
//     ErrNotInRequiredGroup, unless IsCatalogAdmin(user, Names) holds.
//     The check runs on every call, cached groups or not.
//
// With a CacheTTL, the REST, LDAP and Unix resolvers are each wrapped in a
// CachedGroups keyed by user: their answers are reused for CacheTTL,
// concurrent misses share one lookup, and errors are not cached. The claim
// is never cached (reading it costs nothing), so a token with a changed or
// new claim is answered from that claim at once, and the cache only holds
// what a directory said about a user, which does not depend on the token.
type Resolver struct {
	jwtOnly  bool
	rest     GroupResolver
	ldap     GroupResolver
	unix     GroupResolver
	required string
	isAdmin  func(user string, groups []string) bool
}

// NewResolver returns a Resolver for o, or o.Validate's error.
func NewResolver(o ResolverOptions) (*Resolver, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Unix == nil {
		o.Unix = UnixGroups{}
	}
	cached := func(g GroupResolver) GroupResolver {
		if g == nil || o.CacheTTL <= 0 {
			return g
		}
		return NewCachedGroups(g, CachedGroupsOptions{TTL: o.CacheTTL, MaxEntries: o.CacheMaxEntries, Now: o.Now})
	}
	r := &Resolver{
		jwtOnly:  o.JWTOnly,
		unix:     cached(o.Unix),
		ldap:     cached(o.LDAP), // also for users LDAP authenticated, in every mode
		required: o.RequiredGroup,
		isAdmin:  o.IsCatalogAdmin,
	}
	if o.JWTOnly {
		// Outside JWT-only mode REST is never asked (rule 1), nor is LDAP
		// as a fallback.
		r.rest = cached(o.REST)
	}
	return r, nil
}

// Resolve returns id's groups by the rules on Resolver. Its errors wrap
// ErrNotInRequiredGroup (a denial) or are technical failures of a lookup,
// about which nothing may be concluded; Groups is zero with any error.
func (r *Resolver) Resolve(ctx context.Context, id Identity) (Groups, error) {
	if id.User == "" {
		return Groups{}, errors.New("identity: resolving groups: the identity has no user")
	}
	g, err := r.lookup(ctx, id)
	if err != nil {
		return Groups{}, err
	}
	if r.required != "" && !g.Contains(r.required) && !r.isAdmin(id.User, g.Names) {
		return Groups{}, fmt.Errorf("identity: user %q, groups from %s: %w %q", id.User, g.Source, ErrNotInRequiredGroup, r.required)
	}
	return g, nil
}

func (r *Resolver) lookup(ctx context.Context, id Identity) (Groups, error) {
	if id.Session != nil {
		// Rule 0: the groups the credential's session was resolved to.
		return Groups{Names: slices.Clone(id.Session.Names), CaseInsensitive: id.Session.CaseInsensitive, Source: SourceSession}, nil
	}
	// Beyond seed 002, which names LDAP only as a fallback for JWT users:
	// a user LDAP itself authenticated (a password login, or a lakegate
	// token such a login issued) gets its LDAP groups, since no other
	// source could be more right. A token user LDAP does not know (one
	// who got the token with Kerberos) falls through to the rules below.
	if r.ldap != nil && (id.Method == "ldap" || id.Method == "token") {
		names, err := r.ldap.Groups(ctx, id.User)
		if err != nil {
			return Groups{}, fmt.Errorf("identity: resolving groups from %s: %w", SourceLDAP, err)
		}
		if len(names) > 0 || id.Method == "ldap" {
			return Groups{Names: normalize(names, true), CaseInsensitive: true, Source: SourceLDAP}, nil
		}
	}
	if !r.jwtOnly {
		names, err := r.unix.Groups(ctx, id.User)
		if err != nil {
			return Groups{}, fmt.Errorf("identity: resolving groups from %s: %w", SourceUnix, err)
		}
		return Groups{Names: normalize(names, false), Source: SourceUnix}, nil
	}
	claim := Groups{Names: normalize(id.Groups, true), CaseInsensitive: true, Source: SourceJWT}
	if len(claim.Names) > 0 || (r.rest == nil && r.ldap == nil) {
		return claim, nil
	}
	if r.rest != nil {
		names, err := r.rest.Groups(ctx, id.User)
		if err != nil {
			return Groups{}, fmt.Errorf("identity: resolving groups from %s: %w", SourceREST, err)
		}
		g := Groups{Names: normalize(names, true), CaseInsensitive: true, Source: SourceREST}
		if len(g.Names) > 0 || r.ldap == nil {
			return g, nil
		}
	}
	names, err := r.ldap.Groups(ctx, id.User)
	if err != nil {
		return Groups{}, fmt.Errorf("identity: resolving groups from %s: %w", SourceLDAP, err)
	}
	return Groups{Names: normalize(names, true), CaseInsensitive: true, Source: SourceLDAP}, nil
}

// normalize returns names without empty or repeated ones, lower-cased
// when fold, in their first order; nil when none is left.
func normalize(names []string, fold bool) []string {
	var out []string
	seen := make(map[string]struct{}, len(names))
	for _, n := range names {
		if fold {
			n = strings.ToLower(n)
		}
		if n == "" {
			continue
		}
		if _, dup := seen[n]; dup {
			continue
		}
		seen[n] = struct{}{}
		out = append(out, n)
	}
	return out
}
