package authz

import (
	"fmt"
	"strings"
	"sync"

	"github.com/lakegate/lakegate/internal/grants"
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
		ix.databases[strings.ToLower(db.Name)] = i
	}
	for i, t := range data.Tables {
		k := tableName{strings.ToLower(t.Database), strings.ToLower(t.Name)}
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
		db := strings.ToLower(o.Database)
		if h.inDB == nil {
			h.inDB, h.onDB, h.onTable = map[string]bool{}, map[string]bool{}, map[tableName]bool{}
		}
		h.inDB[db] = true
		if kind == grants.ObjectDatabase {
			h.onDB[db] = true
		} else {
			h.onTable[tableName{db, strings.ToLower(o.Table)}] = true
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
	db = strings.ToLower(db)
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
	k := tableName{strings.ToLower(db), strings.ToLower(table)}
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
// none while the policy is not Fresh.
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
	for _, i := range snap.catalog().byDB[strings.ToLower(db)] {
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
	return snap.data.Tables[snap.catalog().tables[tableName{strings.ToLower(db), strings.ToLower(table)}]], nil
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
