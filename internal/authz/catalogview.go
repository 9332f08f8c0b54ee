package authz

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/store"
)

// What a user may see of the catalog. A catalog admin (ALL ON SERVER), or
// anyone holding any SERVER grant, sees every database and table. Anyone
// else sees a database when one of their roles holds any grant (any
// privilege, restricted or not) on DATABASE d or on a TABLE d.x, and a
// table when one of their roles holds any grant on its database or on
// the table itself. A database or table someone may not see does not
// exist for them: the errors say "does not exist" either way, so that
// nothing reveals its existence. Names are compared lower-cased (the
// catalog's names are lower-case).

// catalogView is the part of a snapshot that answers who sees what of the
// catalog, built on first use (most snapshots never answer a catalog
// question) and then shared by every caller of that snapshot.
type catalogView struct {
	once sync.Once
	ix   *catalogIndex
}

// catalogIndex indexes a snapshot's catalog and its catalog grants.
type catalogIndex struct {
	databases map[string]int      // name → index in data.Databases
	tables    map[tableName]int   // → index in data.Tables
	byDB      map[string][]int    // database → its tables' indexes, in data order
	groups    map[string]*holding // group → what its roles hold
}

// tableName names a table of the catalog, lower-cased.
type tableName struct{ db, table string }

// holding is what the roles granted to one group hold grants on.
type holding struct {
	server  bool               // any SERVER grant
	onDB    map[string]bool    // a grant on DATABASE d
	inDB    map[string]bool    // a grant on DATABASE d or on some TABLE d.x
	onTable map[tableName]bool // a grant on TABLE d.t
}

// catalog returns s's catalog index, building it on first use.
func (s *snapshot) catalog() *catalogIndex {
	s.view.once.Do(func() { s.view.ix = buildCatalogIndex(s.data) })
	return s.view.ix
}

func buildCatalogIndex(data store.PolicyData) *catalogIndex {
	ix := &catalogIndex{
		databases: make(map[string]int, len(data.Databases)),
		tables:    make(map[tableName]int, len(data.Tables)),
		byDB:      map[string][]int{},
		groups:    map[string]*holding{},
	}
	for i, db := range data.Databases {
		ix.databases[foldName(db.Name)] = i
	}
	for i, t := range data.Tables {
		k := tableName{foldName(t.Database), foldName(t.Name)}
		ix.tables[k] = i
		ix.byDB[k.db] = append(ix.byDB[k.db], i)
	}
	for _, r := range data.Roles {
		var h holding
		for _, g := range r.Grants {
			addHolding(&h, g)
		}
		if !h.server && len(h.inDB) == 0 {
			continue // the role holds nothing that shows the catalog
		}
		for _, name := range r.Groups {
			gh := ix.groups[name]
			if gh == nil {
				gh = &holding{}
				ix.groups[name] = gh
			}
			gh.merge(&h)
		}
	}
	return ix
}

// addHolding records in h what the stored grant g is on. The snapshot's
// grants all parsed when it was compiled; one that no longer does shows
// nothing (fail closed).
func addHolding(h *holding, g store.Grant) {
	kind, ok := grants.ObjectKindByName(g.ObjectKind)
	if !ok {
		return
	}
	switch kind {
	case grants.ObjectServer:
		h.server = true
	case grants.ObjectDatabase, grants.ObjectTable:
		o, err := grants.ParseObjectKey(kind, g.Object, g.Columns)
		if err != nil {
			return
		}
		db := foldName(o.Database)
		if h.inDB == nil {
			h.inDB, h.onDB, h.onTable = map[string]bool{}, map[string]bool{}, map[tableName]bool{}
		}
		h.inDB[db] = true
		if kind == grants.ObjectDatabase {
			h.onDB[db] = true
		} else {
			h.onTable[tableName{db, foldName(o.Table)}] = true
		}
	}
}

// merge adds what o holds to h.
func (h *holding) merge(o *holding) {
	h.server = h.server || o.server
	if len(o.inDB) == 0 {
		return
	}
	if h.inDB == nil {
		h.inDB, h.onDB, h.onTable = map[string]bool{}, map[string]bool{}, map[tableName]bool{}
	}
	for k := range o.inDB {
		h.inDB[k] = true
	}
	for k := range o.onDB {
		h.onDB[k] = true
	}
	for k := range o.onTable {
		h.onTable[k] = true
	}
}

// seesDatabase reports whether database db exists in s and p may see it;
// admin says p is a catalog admin (Engine.IsCatalogAdmin). False means
// "database db does not exist" to p, whichever of the two it is.
func (s *snapshot) seesDatabase(p Principal, admin bool, db string) bool {
	ix := s.catalog()
	db = foldName(db)
	if _, ok := ix.databases[db]; !ok {
		return false
	}
	if admin {
		return true
	}
	for _, g := range p.Groups {
		if h := ix.groups[g]; h != nil && (h.server || h.inDB[db]) {
			return true
		}
	}
	return false
}

// seesTable reports whether table db.table exists in s and p may see it;
// admin as for seesDatabase. False means "table db.table does not exist"
// to p.
func (s *snapshot) seesTable(p Principal, admin bool, db, table string) bool {
	ix := s.catalog()
	k := tableName{foldName(db), foldName(table)}
	if _, ok := ix.tables[k]; !ok {
		return false
	}
	if admin {
		return true
	}
	for _, g := range p.Groups {
		if h := ix.groups[g]; h != nil && (h.server || h.onDB[k.db] || h.onTable[k]) {
			return true
		}
	}
	return false
}

// VisibleDatabases returns the databases p may see, ordered by name;
// none while the policy is not Fresh. The records returned here and by
// VisibleTables and VisibleTable share their slices with the policy in
// force: callers must not modify them.
func (e *Engine) VisibleDatabases(p Principal) []store.Database {
	if e.Fresh() != nil {
		return []store.Database{}
	}
	snap := e.cur.Load()
	admin := snap.pol.IsCatalogAdmin(p.Groups)
	out := []store.Database{}
	for _, db := range snap.data.Databases {
		if snap.seesDatabase(p, admin, db.Name) {
			out = append(out, db)
		}
	}
	return out
}

// VisibleTables returns the tables of database db that p may see, ordered
// by name. An error wraps ErrInvalid ("database db does not exist") when
// db does not exist or p may not see it, and the Fresh error (503) while
// the policy is not Fresh.
func (e *Engine) VisibleTables(p Principal, db string) ([]store.Table, error) {
	if err := e.Fresh(); err != nil {
		return nil, err
	}
	snap := e.cur.Load()
	admin := snap.pol.IsCatalogAdmin(p.Groups)
	if !snap.seesDatabase(p, admin, db) {
		return nil, unseenDatabase(db)
	}
	out := []store.Table{}
	for _, i := range snap.catalog().byDB[foldName(db)] {
		t := snap.data.Tables[i]
		if snap.seesTable(p, admin, t.Database, t.Name) {
			out = append(out, t)
		}
	}
	return out, nil
}

// VisibleTable returns table db.table when p may see it. An error wraps
// ErrInvalid ("table db.table does not exist") when it does not exist or
// p may not see it, and the Fresh error (503) while the policy is not
// Fresh.
func (e *Engine) VisibleTable(p Principal, db, table string) (store.Table, error) {
	if err := e.Fresh(); err != nil {
		return store.Table{}, err
	}
	snap := e.cur.Load()
	if !snap.seesTable(p, snap.pol.IsCatalogAdmin(p.Groups), db, table) {
		return store.Table{}, unseenTable(db, table)
	}
	return snap.data.Tables[snap.catalog().tables[tableName{foldName(db), foldName(table)}]], nil
}

// unseenDatabase is the error for a database that does not exist, or that
// the caller may not see.
func unseenDatabase(db string) error {
	return fmt.Errorf("%w: database %s does not exist", ErrInvalid, db)
}

// unseenTable is the error for a table that does not exist, or that the
// caller may not see.
func unseenTable(db, table string) error {
	return fmt.Errorf("%w: table %s.%s does not exist", ErrInvalid, db, table)
}

// The answers of CheckTable's TableAccess.Access.
const (
	// AccessFull: a grant with no column list or row filter (on the
	// table, its database or SERVER) gives the privilege.
	AccessFull = "full"
	// AccessRestricted: only grants with a column list or a row filter
	// give it; the data goes through the scan service, never as files.
	AccessRestricted = "restricted"
	// AccessNone: no grant on the table, its database or SERVER gives it.
	AccessNone = "none"
)

// TableAccess explains what a principal may do with a catalog table with
// one privilege.
type TableAccess struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	// Privilege is the privilege asked about (SELECT, INSERT…).
	Privilege string `json:"privilege"`
	// Access is AccessFull, AccessRestricted or AccessNone, from the
	// grants on the table, its database and SERVER.
	Access string `json:"access"`
	// Files says whether the access proxy allows the privilege on the
	// files under Location: through a full table grant (bypass), or a URI
	// grant over the location whatever Access says. Always false for
	// CREATE, DROP and ALTER, which are about the catalog only.
	Files bool `json:"files"`
	// Location is the table's.
	Location string `json:"location"`
	// Restrictions name what restricts a restricted access: "column list
	// (a, b)", "row filter x > 1".
	Restrictions []string `json:"restrictions,omitempty"`
	// Reason says what the access proxy does with the files, and why.
	Reason string `json:"reason"`
	// Grants are the grants that give the privilege on the table, its
	// database, SERVER or (for the files) a URI over the location, in
	// canonical text with the role and group through which they are held.
	Grants []string `json:"grants"`
	// Policy, for SELECT, is the effective policy the scan service
	// applies to the user's queries of the table (EffectivePolicy's
	// explanation: columns, row filter, masks); "" when they may not
	// query it.
	Policy string `json:"policy,omitempty"`
}

// CheckTable explains what p may do with table db.table with priv, for
// caller. A table caller may not see (see VisibleTable; a catalog admin
// sees every table) is an error wrapping ErrInvalid that says it does not
// exist, as is an invalid privilege; the Fresh error (503) while the
// policy is not Fresh. Whether the files are allowed comes from the
// compiled policy, the decision the access proxy makes.
func (e *Engine) CheckTable(caller, p Principal, db, table string, priv grants.Privilege) (TableAccess, error) {
	if err := e.Fresh(); err != nil {
		return TableAccess{}, err
	}
	snap := e.cur.Load()
	if !snap.seesTable(caller, snap.pol.IsCatalogAdmin(caller.Groups), db, table) {
		return TableAccess{}, unseenTable(db, table)
	}
	if priv.String() == "" {
		return TableAccess{}, fmt.Errorf("%w: invalid privilege %d", ErrInvalid, priv)
	}
	t := snap.data.Tables[snap.catalog().tables[tableName{foldName(db), foldName(table)}]]
	a := TableAccess{Database: t.Database, Table: t.Name, Privilege: priv.String(), Access: AccessNone,
		Location: t.Location, Grants: []string{}}
	bucket, path, err := splitLocation(t.Location)
	if err != nil {
		return TableAccess{}, err
	}
	// The files under the location: a key no grant can name (grant paths
	// hold no control characters), so that only grants covering the whole
	// location decide.
	probe := "\x00"
	if path != "" {
		probe = path + "/\x00"
	}
	full, err := snap.tableGrants(p, t, priv, bucket, probe, &a)
	if err != nil {
		return TableAccess{}, err
	}
	switch {
	case full:
		a.Access = AccessFull
	case len(a.Restrictions) > 0:
		a.Access = AccessRestricted
	}
	var d Decision
	if filePrivilege(priv) {
		d = snap.pol.Evaluate(policy.Request{User: p.User, Groups: p.Groups, Privilege: priv, URI: "s3://" + bucket + "/" + probe})
		a.Files = d.Allowed
	}
	a.Reason = accessReason(p, priv, a, d)
	if priv == grants.Select {
		if eff, err := e.EffectivePolicy(p, t.Database, t.Name); err == nil {
			a.Policy = eff.Explanation
		}
	}
	return a, nil
}

// filePrivilege reports whether priv means something for files (the
// others are about the catalog).
func filePrivilege(priv grants.Privilege) bool {
	switch priv {
	case grants.All, grants.Select, grants.Insert, grants.Show, grants.Delete:
		return true
	}
	return false
}

// tableGrants fills a.Grants with p's grants giving priv on t (on it, its
// database, SERVER, or a URI covering probe in bucket), and
// a.Restrictions with what restricts the restricted ones; it reports
// whether one of them is full.
func (s *snapshot) tableGrants(p Principal, t store.Table, priv grants.Privilege, bucket, probe string, a *TableAccess) (bool, error) {
	full := false
	for _, role := range s.data.Roles {
		via := ""
		for _, g := range p.Groups {
			if slices.Contains(role.Groups, g) {
				via = g
				break
			}
		}
		if via == "" {
			continue
		}
		gs, err := mergeGrants(role.Grants)
		if err != nil {
			return false, fmt.Errorf("authz: role %s: %w", role.Name, err)
		}
		for i := range gs {
			g := &gs[i]
			if !g.Privileges.Has(grants.All) && !g.Privileges.Has(priv) {
				continue
			}
			o := g.Object
			applies := false
			switch o.Kind {
			case grants.ObjectServer:
				applies, full = true, true
			case grants.ObjectDatabase, grants.ObjectTable:
				applies = strings.EqualFold(o.Database, t.Database) &&
					(o.Kind == grants.ObjectDatabase || strings.EqualFold(o.Table, t.Name))
				if applies && policy.Restricted(g) {
					if o.Columns != nil {
						a.Restrictions = appendNew(a.Restrictions, "column list ("+strings.Join(o.Columns, ", ")+")")
					}
					if g.Where != "" {
						a.Restrictions = appendNew(a.Restrictions, "row filter "+g.Where)
					}
				} else if applies {
					full = true
				}
			case grants.ObjectURI:
				applies = filePrivilege(priv) && o.Bucket == bucket && slices.Contains(slices.Collect(policy.CoveringPaths(probe)), o.Path)
			}
			if applies {
				a.Grants = append(a.Grants, g.String()+" (role "+role.Name+" via group "+via+")")
			}
		}
	}
	return full, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// fileVerbs say what each privilege does with files.
var fileVerbs = map[grants.Privilege]string{
	grants.All: "read, write, list and delete", grants.Select: "read", grants.Insert: "write",
	grants.Show: "list", grants.Delete: "delete",
}

// accessReason explains a, p's access with priv, whose files decision
// (for a file privilege) is d.
func accessReason(p Principal, priv grants.Privilege, a TableAccess, d Decision) string {
	name := a.Database + "." + a.Table
	files := "the files under " + a.Location
	switch {
	case p.MissingGroup != "" && len(p.Groups) == 0:
		return fmt.Sprintf("user %s is not a member of the required group %q (groups.required) and is not a catalog admin, so holds no grant",
			p.User, p.MissingGroup)
	case a.Access == AccessFull && !filePrivilege(priv):
		return fmt.Sprintf("holds %s on table %s (a catalog privilege: it gives no access to %s)", a.Privilege, name, files)
	case a.Access == AccessFull && a.Files:
		return fmt.Sprintf("may %s %s through the access proxy (bypass): %s", fileVerbs[priv], files, d.Reason)
	case a.Access == AccessFull:
		return fmt.Sprintf("holds %s on table %s, but the access proxy refuses %s: %s", a.Privilege, name, files, d.Reason)
	case a.Access == AccessRestricted:
		r := fmt.Sprintf("holds only restricted grants of %s on table %s (%s): %s are refused; the data is read through the scan API /api/scan/%s",
			a.Privilege, name, strings.Join(a.Restrictions, "; "), files, name)
		if a.Files {
			r += "; but a URI grant allows the files nonetheless: " + d.Reason
		}
		return r
	case a.Files:
		return fmt.Sprintf("holds no grant of %s on table %s, its database or SERVER, but a URI grant allows %s: %s",
			a.Privilege, name, files, d.Reason)
	case len(p.Groups) == 0:
		return fmt.Sprintf("user %s has no groups, so holds no grant", p.User)
	}
	return fmt.Sprintf("no role granted to groups %v holds %s on table %s, its database or SERVER, nor on %s",
		p.Groups, a.Privilege, name, files)
}

// foldName is a catalog name as matched: ASCII letters lower-cased, as
// the parser lower-cases names (a grant stored before it did may not be),
// and nothing else, as the policy matches them, so that names the parser
// keeps apart (`Ä` and `ä`) stay apart.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
