package policy

import (
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
)

// Table-derived access (dynamic bypass). A grant ON TABLE d.t, or ON
// DATABASE d for each table of d, gives the privileges it names on the
// files under the table's location, and under the location of each of its
// partitions, as a URI grant on those locations would, with no URI grant
// needed:
//
//   - only when the grant is full: no column list and no row filter (and,
//     later, no mask) restricts it. A restricted grant gives no file
//     access at all: the user's data must go through the scan service,
//     which applies the restriction. A refusal under such a table says so
//     (Decision.Restricted);
//   - with the S3 meaning of the privilege: SELECT reads (and lists, as the
//     proxy lets SELECT list), INSERT writes, DELETE deletes, SHOW lists,
//     ALL does everything, Spark's committers' _temporary/ included;
//     CREATE, DROP and ALTER are about the catalog and give no file access;
//   - a location covers what a URI grant on it covers: the object it names
//     and everything below it on a '/' boundary (s3://b/t covers t and t/x,
//     never t2/x);
//   - permissions remain a union: a URI grant allows what it allows whether
//     or not a table lies below it, and a full grant through one role wins
//     over a restricted one through another.

// Table is a catalog table as the policy sees it: its name and where its
// files are.
type Table struct {
	Database, Name string
	// Bucket and Path are the table's location, as a URI object's (Path ""
	// for a whole bucket).
	Bucket, Path string
	// PartitionColumns name the table's partition columns in order, so
	// that the partition of a key under the location can be named.
	PartitionColumns []string
	// Partitions are the table's partitions with their locations; only
	// those outside the table's own location add anything to it.
	Partitions []Partition
}

// Partition is a partition of a table and its location.
type Partition struct {
	// Spec is "k=v/k2=w" in partition column order.
	Spec         string
	Bucket, Path string
}

// TableMatch names the table (and partition) whose location a decision
// was made under. It travels to nScale proxies as JSON, which rebuild the
// partition of each key with At.
type TableMatch struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	// Location is the table's, or the partition's when the match is a
	// partition located outside the table.
	Location string `json:"location"`
	// Partition is the partition the key lies in, "" when none is known:
	// the spec of a partition located outside the table, or the Hive-style
	// "k=v/…" directories of the key below the table's location.
	Partition string `json:"partition,omitempty"`
	// PartitionColumns are the table's; Root is the path of Location in
	// its bucket; Spec is set for a partition's location.
	PartitionColumns []string `json:"partition_columns,omitempty"`
	Root             string   `json:"root"`
	Spec             string   `json:"spec,omitempty"`
}

// Name is "database.table".
func (m *TableMatch) Name() string { return m.Database + "." + m.Table }

// At returns the match for key: a copy with Partition filled in.
func (m *TableMatch) At(key string) *TableMatch {
	c := *m
	if m.Spec != "" {
		c.Partition = m.Spec
		return &c
	}
	c.Partition = PartitionOf(key, m.Root, m.PartitionColumns)
	return &c
}

// PartitionOf names the partition of key in a table located at root with
// partition columns cols: the leading "col=value/" directories below root,
// in column order, joined with '/'; "" when the key is not in one (fewer
// directories, another name, or no partition columns).
func PartitionOf(key, root string, cols []string) string {
	if len(cols) == 0 {
		return ""
	}
	rest := key
	if root != "" {
		if !strings.HasPrefix(key, root) {
			return ""
		}
		rest = key[len(root):]
		if !strings.HasSuffix(root, "/") {
			if !strings.HasPrefix(rest, "/") {
				return ""
			}
			rest = rest[1:]
		}
	}
	n := 0
	for _, c := range cols {
		dir, _, ok := strings.Cut(rest[n:], "/")
		if !ok || !strings.HasPrefix(dir, c+"=") || len(dir) == len(c)+1 {
			return ""
		}
		n += len(dir) + 1
	}
	return rest[:n-1]
}

// s3Privileges are the privileges that mean something for files.
const s3Privileges = grants.Privileges(grants.All) | grants.Privileges(grants.Select) |
	grants.Privileges(grants.Insert) | grants.Privileges(grants.Show) | grants.Privileges(grants.Delete)

// Restricted reports whether g limits what its holder sees of a table's
// data (a column list, a row filter, a mask or an attribute condition),
// so that it gives no file access.
func Restricted(g *grants.GrantPrivileges) bool { return g.Restricted() }

// tableIndex is the table-derived part of a compiled policy.
type tableIndex struct {
	byDB    map[string][]*Table // database → its tables
	byName  map[string]*Table   // tableKey → table
	matches map[*Table][]*TableMatch
}

func newTableIndex(tables []Table) *tableIndex {
	ix := &tableIndex{byDB: map[string][]*Table{}, byName: map[string]*Table{}, matches: map[*Table][]*TableMatch{}}
	for i := range tables {
		t := &tables[i]
		db := foldName(t.Database)
		ix.byDB[db] = append(ix.byDB[db], t)
		ix.byName[tableKey(t.Database, t.Name)] = t
		root := &TableMatch{Database: t.Database, Table: t.Name, Location: canonical(t.Bucket, t.Path),
			PartitionColumns: t.PartitionColumns, Root: t.Path}
		ix.matches[t] = append(ix.matches[t], root)
		for _, p := range t.Partitions {
			if p.Bucket == t.Bucket && underPath(p.Path, t.Path) {
				continue // covered by the table's location
			}
			ix.matches[t] = append(ix.matches[t], &TableMatch{Database: t.Database, Table: t.Name,
				Location: canonical(p.Bucket, p.Path), PartitionColumns: t.PartitionColumns, Root: p.Path, Spec: p.Spec})
		}
	}
	return ix
}

// underPath reports whether a grant on path root covers path p, by the
// rules of CoveringPaths.
func underPath(p, root string) bool {
	for c := range CoveringPaths(p) {
		if c == root {
			return true
		}
	}
	return false
}

// tablesOf returns the tables a DATABASE or TABLE grant is on.
func (ix *tableIndex) tablesOf(o grants.Object) []*Table {
	switch o.Kind {
	case grants.ObjectDatabase:
		return ix.byDB[objectKey(o)]
	case grants.ObjectTable:
		if t := ix.byName[objectKey(o)]; t != nil {
			return []*Table{t}
		}
	}
	return nil
}

// Table returns the table named db.name, nil when the catalog has none.
func (p *Policy) Table(db, name string) *Table {
	if p.tables == nil {
		return nil
	}
	return p.tables.byName[tableKey(db, name)]
}

// objectKey names a DATABASE or TABLE object in Policy.objects: "d" for a
// database, tableKey for a table.
func objectKey(o grants.Object) string {
	if o.Kind == grants.ObjectTable {
		return tableKey(o.Database, o.Table)
	}
	return foldName(o.Database)
}

// tableKey names table db.name: its folded names joined by a NUL, which
// no catalog name holds, so that no table's key is another's (a stored
// name may hold '.') nor a database's.
func tableKey(db, name string) string { return foldName(db) + "\x00" + foldName(name) }

// foldName is a catalog name as matched: ASCII letters lower-cased, as
// the parser lower-cases names (a grant stored before it did may not be),
// and nothing else, so that names the parser keeps apart (`Ä` and `ä`)
// stay apart.
func foldName(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Holds returns the grant through which groups hold priv on a catalog
// object (ALL implies every privilege): for a table, a grant on the
// table, then on its database, then on SERVER; for a database, on it,
// then on SERVER; for SERVER, on SERVER. Column lists and row filters do
// not matter here: this answers catalog questions (who may CREATE, ALTER,
// DROP), not what the data shows. Nil when they do not.
func (p *Policy) Holds(groups []string, o grants.Object, priv grants.Privilege) *Match {
	if !validPrivilege(priv) || len(groups) == 0 {
		return nil
	}
	var buf [8]*group
	var nbuf [8]string
	u := p.resolve(groups, buf[:], nbuf[:])
	var lists [][]entry
	switch o.Kind {
	case grants.ObjectTable:
		lists = append(lists, p.objects[objectKey(o)], p.objects[foldName(o.Database)])
	case grants.ObjectDatabase:
		lists = append(lists, p.objects[foldName(o.Database)])
	case grants.ObjectServer:
	default:
		return nil
	}
	lists = append(lists, p.server)
	for _, l := range lists {
		if e := u.best(l, priv); e != nil {
			g, _ := u.via(e.role)
			return &Match{Role: p.roles[e.role], Group: g, Grant: e.grant}
		}
	}
	return nil
}
