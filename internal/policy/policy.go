// Package policy decides whether a user may exercise a privilege on an S3
// URI. It compiles a snapshot of roles, their grants and the groups they are
// granted to into an index, and evaluates plain requests against it,
// returning a decision together with the reason for it: the grant that
// allowed the request, or why nothing did.
//
// It is pure: no I/O, no clock, no caching. Mapping S3 operations to
// privileges, cleaning keys and resolving groups happen before Evaluate;
// caching decisions is a decorator's job.
//
// Rules:
//   - a user's permissions are the union over the roles granted to any of
//     the user's groups; group and role names are compared exactly;
//   - ALL implies every privilege;
//   - a grant ON SERVER covers every URI for the privileges it names, so
//     ALL ON SERVER (catalog admin) allows everything;
//   - a URI grant covers the object it names and everything below it on a
//     '/' boundary: s3://b/data covers data and data/x, never database/x;
//     a grant on s3://b covers the whole bucket; a grant path ending in '/'
//     covers the paths under it (data/ covers data/ and data/x, not the
//     object data); bucket names are compared exactly;
//   - s3a:// is the same as s3://;
//   - DATABASE and TABLE grants cover the locations of the snapshot's
//     tables when they are full (tables.go): dynamic bypass.
package policy

import (
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
)

// Snapshot is the policy as plain data: every role with its grants and the
// groups it is granted to.
type Snapshot struct {
	Roles []Role
	// Tables are the catalog's tables, whose locations DATABASE and TABLE
	// grants cover.
	Tables []Table
}

// Role is one role of a snapshot.
type Role struct {
	Name string
	// Grants are the privileges held by the role. Their Role field is
	// ignored: Compile sets it to Name.
	Grants []grants.GrantPrivileges
	// Groups are the groups the role is granted to.
	Groups []string
}

// Request is one authorization question: may User, a member of Groups,
// exercise Privilege on URI ("s3://bucket/key"; "s3a://" is accepted)?
type Request struct {
	User      string
	Groups    []string
	Privilege grants.Privilege
	URI       string
}

// Decision is the answer to a Request. Reason always explains it: for an
// allowed request it names the grant and the group through which it is
// held; for a denied one it says what was missing.
type Decision struct {
	Allowed bool
	Reason  string
	// Grant is the grant that allowed the request; nil when denied.
	Grant *Match
	// Unavailable marks a refusal because no decision could be had (an
	// nScale proxy's policy server unreachable); the policy never sets it.
	Unavailable bool
	// Table names the table (and partition) under whose location the
	// request lies when a table grant decided it: the grant that allowed
	// it (also in Grant.Table), or, with Restricted, the table on which
	// the user holds only restricted grants.
	Table *TableMatch
	// Restricted marks a refusal under the location of a table on which
	// the user holds only restricted grants (column lists, row filters):
	// its data is read through the scan service, never as files.
	Restricted bool
}

// Match names the grant that allowed a request, the role holding it and the
// user's group through which the user holds that role.
type Match struct {
	Role  string
	Group string
	// Grant points into the compiled policy and must not be modified.
	Grant *grants.GrantPrivileges
	// Table, for a DATABASE or TABLE grant, is the table whose location
	// the request lies under.
	Table *TableMatch
}

// String prints the match, e.g. "GRANT SHOW ON URI 's3://b/p' TO ROLE r
// (role r via group g)", or for a table grant "GRANT SELECT ON TABLE d.t
// TO ROLE r (role r via group g; table d.t at s3://b/t, partition k=v)".
func (m *Match) String() string {
	s := m.Grant.String() + " (role " + m.Role + " via group " + m.Group
	if t := m.Table; t != nil {
		s += "; table " + t.Name() + " at " + t.Location
		if t.Partition != "" {
			s += ", partition " + t.Partition
		}
	}
	return s + ")"
}

// Policy is a compiled snapshot. It is immutable and safe for concurrent
// use; a new snapshot means a new Policy.
type Policy struct {
	roles   []string          // role names, sorted; an entry's role is an index here
	groups  map[string]*group // group name → the roles granted to it
	buckets map[string]*bucketIndex
	server  []entry // SERVER grants, sorted by role
	tables  *tableIndex
	// objects holds the DATABASE and TABLE grants by object ("d" or
	// "d.t", see objectKey), each list sorted by role.
	objects map[string][]entry
	// restricted holds, per bucket and location path, the restricted
	// table grants (tables.go), which allow nothing but explain refusals.
	restricted map[string]map[string][]entry
}

type group struct {
	roles []int32 // sorted, distinct
	// admin is the first SERVER entry (in role order) holding ALL among
	// this group's roles, or nil.
	admin *entry
}

// entry is one grant as indexed: its role, what it grants, and the grant
// itself for explanations; table is set for a DATABASE or TABLE grant
// indexed at a table's (or partition's) location.
type entry struct {
	role  int32
	privs grants.Privileges
	grant *grants.GrantPrivileges
	table *TableMatch
}

// bucketIndex holds the grants on one bucket, keyed by path ("" for the
// whole bucket), each list sorted by role: URI grants in nodes, table
// grants at table locations in tables. Table grants cover the keys under
// a location, never the bucket itself (its configuration, ACL, policy).
type bucketIndex struct {
	nodes  map[string][]entry
	tables map[string][]entry
	roles  map[int32]struct{} // roles with any grant in the bucket
}

// Compile builds the index of s. Roles named more than once are merged.
// Grants other than URI and SERVER are kept out of the URI index.
func Compile(s Snapshot) *Policy {
	p := &Policy{groups: map[string]*group{}, buckets: map[string]*bucketIndex{},
		tables: newTableIndex(s.Tables), restricted: map[string]map[string][]entry{}, objects: map[string][]entry{}}
	byName := map[string][]*Role{}
	for i := range s.Roles {
		r := &s.Roles[i]
		if _, ok := byName[r.Name]; !ok {
			p.roles = append(p.roles, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	sort.Strings(p.roles)
	for id, name := range p.roles {
		rid := int32(id)
		for _, r := range byName[name] {
			for _, gname := range r.Groups {
				g := p.groups[gname]
				if g == nil {
					g = &group{}
					p.groups[gname] = g
				}
				g.roles = append(g.roles, rid)
			}
			for _, gr := range r.Grants {
				gp := new(grants.GrantPrivileges)
				*gp = gr
				gp.Role = name
				e := entry{role: rid, privs: gp.Privileges, grant: gp}
				switch gp.Object.Kind {
				case grants.ObjectServer:
					p.server = append(p.server, e)
				case grants.ObjectURI:
					b := p.bucket(gp.Object.Bucket)
					b.nodes[gp.Object.Path] = append(b.nodes[gp.Object.Path], e)
					b.roles[rid] = struct{}{}
				case grants.ObjectDatabase, grants.ObjectTable:
					k := objectKey(gp.Object)
					p.objects[k] = append(p.objects[k], e)
					p.indexTableGrant(e)
				}
			}
		}
	}
	// Entries were appended in role order already; groups' role lists too,
	// but a role may name a group twice.
	for _, g := range p.groups {
		slices.Sort(g.roles)
		g.roles = slices.Compact(g.roles)
		for i := range p.server {
			e := &p.server[i]
			if e.privs.Has(grants.All) && hasRole(g.roles, e.role) {
				g.admin = e
				break
			}
		}
	}
	return p
}

// bucket returns the index of bucket, made on first use.
func (p *Policy) bucket(name string) *bucketIndex {
	b := p.buckets[name]
	if b == nil {
		b = &bucketIndex{nodes: map[string][]entry{}, tables: map[string][]entry{}, roles: map[int32]struct{}{}}
		p.buckets[name] = b
	}
	return b
}

// indexTableGrant indexes a DATABASE or TABLE grant at the location of
// each table (and partition located elsewhere) it is on: a full grant
// with the privileges that mean something for files, a restricted one
// among the restricted entries.
func (p *Policy) indexTableGrant(e entry) {
	privs := e.privs & s3Privileges
	restricted := Restricted(e.grant)
	for _, t := range p.tables.tablesOf(e.grant.Object) {
		for _, m := range p.tables.matches[t] {
			bucket, path := t.Bucket, m.Root
			if m.Spec != "" {
				bucket = bucketOf(m.Location)
			}
			te := entry{role: e.role, privs: privs, grant: e.grant, table: m}
			switch {
			case restricted:
				r := p.restricted[bucket]
				if r == nil {
					r = map[string][]entry{}
					p.restricted[bucket] = r
				}
				r[path] = append(r[path], te)
			case privs != 0:
				b := p.bucket(bucket)
				b.tables[path] = append(b.tables[path], te)
				b.roles[e.role] = struct{}{}
			}
		}
	}
}

// bucketOf is the bucket of a canonical s3:// URI.
func bucketOf(uri string) string {
	b, _, _ := splitURI(uri)
	return b
}

func hasRole(sorted []int32, r int32) bool {
	_, ok := slices.BinarySearch(sorted, r)
	return ok
}

// userGroups resolves the request's groups that hold any role. The result
// keeps the request's order.
type userGroups struct {
	names []string
	gs    []*group
	nrole int // total roles over gs, counting repeats
}

func (p *Policy) resolve(names []string, buf []*group, nbuf []string) userGroups {
	u := userGroups{gs: buf[:0], names: nbuf[:0]}
	for _, n := range names {
		if g := p.groups[n]; g != nil {
			u.gs = append(u.gs, g)
			u.names = append(u.names, n)
			u.nrole += len(g.roles)
		}
	}
	return u
}

// via returns the first of the user's groups holding role r.
func (u *userGroups) via(r int32) (string, bool) {
	for i, g := range u.gs {
		if hasRole(g.roles, r) {
			return u.names[i], true
		}
	}
	return "", false
}

// best returns the matching entry with the lowest role (then the first
// listed) among entries, which are sorted by role, that grants priv to a
// role the user holds.
func (u *userGroups) best(entries []entry, priv grants.Privilege) *entry {
	if len(entries) == 0 {
		return nil
	}
	covers := func(e *entry) bool { return e.privs.Has(grants.All) || e.privs.Has(priv) }
	if len(entries) <= 4*u.nrole {
		// Few grants here: check each against the user's groups.
		for i := range entries {
			e := &entries[i]
			if covers(e) {
				if _, ok := u.via(e.role); ok {
					return e
				}
			}
		}
		return nil
	}
	// Many grants here: look up each role the user holds.
	var found *entry
	for _, g := range u.gs {
		for _, r := range g.roles {
			if found != nil && r >= found.role {
				break
			}
			i, _ := slices.BinarySearchFunc(entries, r, func(e entry, r int32) int { return int(e.role - r) })
			for ; i < len(entries) && entries[i].role == r; i++ {
				if covers(&entries[i]) {
					found = &entries[i]
					break
				}
			}
		}
	}
	return found
}

// splitURI accepts s3://bucket[/key] and s3a://bucket[/key], the scheme in
// any case, and returns the bucket and key ("" for the bucket itself).
func splitURI(uri string) (bucket, key string, ok bool) {
	scheme, rest, found := strings.Cut(uri, "://")
	if !found || !(strings.EqualFold(scheme, "s3") || strings.EqualFold(scheme, "s3a")) {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, bucket != ""
}

func canonical(bucket, key string) string {
	if key == "" {
		return "s3://" + bucket
	}
	return "s3://" + bucket + "/" + key
}

func validPrivilege(p grants.Privilege) bool {
	return p != 0 && p&(p-1) == 0 && p.String() != ""
}

// Evaluate decides req. The most specific covering grant explains an allowed
// request: the grant on the longest path, then SERVER grants; among grants
// on the same object, the role first by name, held through the first of the
// user's groups (in request order) that holds it.
func (p *Policy) Evaluate(req Request) Decision {
	if !validPrivilege(req.Privilege) {
		return Decision{Reason: fmt.Sprintf("invalid privilege %d", req.Privilege)}
	}
	bucket, key, ok := splitURI(req.URI)
	if !ok {
		return Decision{Reason: fmt.Sprintf("invalid URI %q: expected s3://bucket[/key]", req.URI)}
	}
	if len(req.Groups) == 0 {
		return Decision{Reason: "user has no groups"}
	}
	var buf [8]*group
	var nbuf [8]string
	u := p.resolve(req.Groups, buf[:], nbuf[:])
	if e := p.find(&u, bucket, key, req.Privilege); e != nil {
		g, _ := u.via(e.role)
		m := &Match{Role: p.roles[e.role], Group: g, Grant: e.grant}
		if e.table != nil {
			m.Table = e.table.At(key)
		}
		reason := m.String()
		if e.grant.Object.Kind == grants.ObjectServer && e.privs.Has(grants.All) {
			reason = "catalog admin: " + reason
		}
		return Decision{Allowed: true, Reason: reason, Grant: m, Table: m.Table}
	}
	if e := p.findRestricted(&u, bucket, key); e != nil {
		g, _ := u.via(e.role)
		t := e.table.At(key)
		return Decision{Restricted: true, Table: t, Reason: fmt.Sprintf(
			"table %s at %s is restricted for groups %v (%s, role %s via group %s, has a column list or row filter): its data is read through the scan service, not as files",
			t.Name(), t.Location, req.Groups, e.grant, p.roles[e.role], g)}
	}
	return Decision{Reason: fmt.Sprintf("no role granted to groups %v holds %s on %s",
		req.Groups, req.Privilege, canonical(bucket, key))}
}

// findRestricted returns a restricted table entry of the user's roles
// whose location covers key, the longest first; nil when none does.
func (p *Policy) findRestricted(u *userGroups, bucket, key string) *entry {
	r := p.restricted[bucket]
	if len(r) == 0 || len(u.gs) == 0 || key == "" {
		return nil
	}
	for path := range CoveringPaths(key) {
		for i := range r[path] {
			if _, ok := u.via(r[path][i].role); ok {
				return &r[path][i]
			}
		}
	}
	return nil
}

// find walks the grant paths that cover key, longest first: key itself, then
// at each '/' boundary the prefix with and without its slash, then the whole
// bucket, then SERVER. O(depth of key) map lookups.
func (p *Policy) find(u *userGroups, bucket, key string, priv grants.Privilege) *entry {
	if len(u.gs) == 0 {
		return nil
	}
	if b := p.buckets[bucket]; b != nil {
		// Table grants never cover the bucket itself; most buckets hold
		// none, and their lookups are skipped.
		tables := key != "" && len(b.tables) > 0
		for path := range CoveringPaths(key) {
			if e := u.best(b.nodes[path], priv); e != nil {
				return e
			}
			if !tables {
				continue
			}
			if e := u.best(b.tables[path], priv); e != nil {
				return e
			}
		}
	}
	return u.best(p.server, priv)
}

// CoveringPaths yields the grant paths in a bucket that cover key, longest
// first: key itself, then at each '/' boundary the prefix with and without
// its slash, then "/" for a key starting with one, then "" (the whole
// bucket). A SERVER grant covers every key as well.
func CoveringPaths(key string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if key != "" {
			if !yield(key) {
				return
			}
			for i := len(key) - 1; i > 0; i-- {
				if key[i] != '/' {
					continue
				}
				if i+1 < len(key) && !yield(key[:i+1]) {
					return
				}
				if !yield(key[:i]) {
					return
				}
			}
			// A key starting with '/' has the prefix "/" too.
			if key[0] == '/' && len(key) > 1 && !yield("/") {
				return
			}
		}
		yield("")
	}
}

// IsCatalogAdmin reports whether any of groups holds a role with ALL ON
// SERVER.
func (p *Policy) IsCatalogAdmin(groups []string) bool {
	for _, n := range groups {
		if g := p.groups[n]; g != nil && g.admin != nil {
			return true
		}
	}
	return false
}

// VisibleBuckets returns what ListBuckets may show to groups: every bucket
// (all) when they hold a SERVER grant, else the buckets in which they hold
// some grant; see HasAnyGrantInBucket.
func (p *Policy) VisibleBuckets(groups []string) (all bool, buckets []string) {
	for _, n := range groups {
		g := p.groups[n]
		if g == nil {
			continue
		}
		for i := range p.server {
			if hasRole(g.roles, p.server[i].role) {
				return true, nil
			}
		}
	}
	for name := range p.buckets {
		if p.HasAnyGrantInBucket(groups, name) {
			buckets = append(buckets, name)
		}
	}
	sort.Strings(buckets)
	return false, buckets
}

// HasAnyGrantInBucket reports whether any of groups holds a role with a URI
// grant somewhere in bucket, or with any SERVER grant (which covers every
// bucket). It is meant for filtering ListBuckets.
func (p *Policy) HasAnyGrantInBucket(groups []string, bucket string) bool {
	b := p.buckets[bucket]
	for _, n := range groups {
		g := p.groups[n]
		if g == nil {
			continue
		}
		for _, r := range g.roles {
			if b != nil {
				if _, ok := b.roles[r]; ok {
					return true
				}
			}
		}
		for i := range p.server {
			if hasRole(g.roles, p.server[i].role) {
				return true
			}
		}
	}
	return false
}

// View is what one user may see of one bucket with one privilege: the
// answer to many questions about keys and prefixes of a listing, computed
// once. The zero View sees nothing.
type View struct {
	all   bool
	paths map[string]struct{} // granted paths in the bucket
	keys  []string            // the same, sorted, for prefix queries
}

// View returns the view of groups on bucket for priv (ALL counts for
// every privilege). A SERVER grant or a grant on the whole bucket makes a
// view that sees everything.
func (p *Policy) View(groups []string, bucket string, priv grants.Privilege) *View {
	v := &View{paths: map[string]struct{}{}}
	if !validPrivilege(priv) || len(groups) == 0 {
		return v
	}
	var buf [8]*group
	var nbuf [8]string
	u := p.resolve(groups, buf[:], nbuf[:])
	if len(u.gs) == 0 {
		return v
	}
	if u.best(p.server, priv) != nil {
		v.all = true
		return v
	}
	b := p.buckets[bucket]
	if b == nil {
		return v
	}
	for _, nodes := range []map[string][]entry{b.nodes, b.tables} {
		for path, entries := range nodes {
			if _, dup := v.paths[path]; dup || u.best(entries, priv) == nil {
				continue
			}
			if path == "" {
				return &View{all: true}
			}
			v.paths[path] = struct{}{}
			v.keys = append(v.keys, path)
		}
	}
	sort.Strings(v.keys)
	return v
}

// NewView returns the view that sees everything when all is set, else the
// granted paths (as Paths returns them); it rebuilds a view sent over the
// wire.
func NewView(all bool, paths []string) *View {
	v := &View{all: all, paths: make(map[string]struct{}, len(paths))}
	for _, p := range paths {
		if p == "" {
			return &View{all: true}
		}
		if _, dup := v.paths[p]; !dup {
			v.paths[p] = struct{}{}
			v.keys = append(v.keys, p)
		}
	}
	sort.Strings(v.keys)
	return v
}

// Union returns the view that sees what any of views sees: a listing open
// to several privileges (SHOW or SELECT) is decided and filtered through
// the union of their views. Key, Prefix and Under of the union are true
// exactly when they are true of one of the views. Nil views see nothing.
func Union(views ...*View) *View {
	var paths []string
	for _, v := range views {
		if v == nil {
			continue
		}
		if v.all {
			return &View{all: true}
		}
		paths = append(paths, v.keys...)
	}
	return NewView(false, paths)
}

// ViewAny is what a request open to any privilege of privs (a listing:
// SELECT or SHOW) may see: the union of each privilege's view, as view
// returns it. The proxy filters listings through it and authz decides
// them with it, so that both combine the privileges the same way.
func ViewAny(privs grants.Privileges, view func(grants.Privilege) *View) *View {
	list := privs.List()
	if len(list) == 1 {
		return view(list[0])
	}
	views := make([]*View, len(list))
	for i, priv := range list {
		views[i] = view(priv)
	}
	return Union(views...)
}

// Paths returns the granted paths of a view that does not see everything,
// sorted.
func (v *View) Paths() []string { return slices.Clone(v.keys) }

// All reports whether the view sees the whole bucket.
func (v *View) All() bool { return v.all }

// Empty reports whether the view sees nothing at all.
func (v *View) Empty() bool { return !v.all && len(v.keys) == 0 }

// Key reports whether a grant of the view covers key, by the rules of
// Evaluate.
func (v *View) Key(key string) bool {
	if v.all {
		return true
	}
	if len(v.keys) == 0 || key == "" {
		return false
	}
	for path := range CoveringPaths(key) {
		if _, ok := v.paths[path]; ok {
			return true
		}
	}
	return false
}

// Prefix reports whether a listing prefix (a common prefix, or the prefix
// a listing asks for) may be shown: a grant covers it, or a grant lies
// below it, i.e. a granted path starts with it.
func (v *View) Prefix(prefix string) bool {
	if v.all {
		return true
	}
	if v.Key(prefix) {
		return true
	}
	i := sort.SearchStrings(v.keys, prefix)
	return i < len(v.keys) && strings.HasPrefix(v.keys[i], prefix)
}

// Under reports whether the view covers every key that starts with prefix,
// so that a listing under prefix needs no filtering: a grant on the whole
// bucket, on a path ending in '/' that prefix starts with, or on a path p
// with prefix starting with p + "/".
func (v *View) Under(prefix string) bool {
	if v.all {
		return true
	}
	if _, ok := v.paths[prefix]; ok && strings.HasSuffix(prefix, "/") {
		return true
	}
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != '/' {
			continue
		}
		// prefix[:i+1] ends with '/': covers everything below it; and
		// prefix[:i] covers everything below prefix[:i] + "/".
		if _, ok := v.paths[prefix[:i+1]]; ok {
			return true
		}
		if _, ok := v.paths[prefix[:i]]; ok && i > 0 {
			return true
		}
	}
	return false
}
