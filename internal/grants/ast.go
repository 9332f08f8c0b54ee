// Package grants reads and writes the grant language: it turns the text of
// Okera-compatible statements (CREATE ROLE, GRANT … ON URI …, SHOW GRANTS …)
// and of the Hive/Impala catalog statements (CREATE DATABASE, CREATE
// EXTERNAL TABLE, ALTER TABLE, DESCRIBE …; see catalog_ast.go) into a typed
// syntax tree and prints that tree back in one canonical form.
//
// Table grants may be fine-grained: a column list, a row filter parsed into
// an expression tree (predicate.go) that RenderSQL turns into quoted DuckDB
// SQL (render.go), masks (TRANSFORM, transform.go) and attribute-based
// column selection (HAVING ATTRIBUTE, attributes.go). Their stored form is
// in storeform.go and options.go.
//
// It is pure: no I/O, no storage, no evaluation. Deciding what a grant allows
// is the job of internal/policy.
//
// Lexical rules: keywords are case-insensitive; identifiers match
// [A-Za-z_][A-Za-z0-9_]* or are written between backquotes; string literals
// sit between single quotes, and the typographic quotes ‘ ’ of copy-pasted
// Okera docs count as single quotes; `--` starts a comment running to the end
// of the line; statements are separated by `;`, and the last one may omit it.
// The keywords of the grant statements are reserved: a role, group,
// database, table or column with such a name must be backquoted. The
// catalog statements' keywords (EXTERNAL, LOCATION, COMMENT, STORED, …) and
// those of the fine-grained clauses (HAVING, ATTRIBUTE, TRANSFORM, WITH,
// ATTRIBUTES, UNSET) are contextual and stay usable as bare names; inside
// a row filter its own keywords (AND, OR, IN, LIKE, NULL, …) need
// backquotes to name a column.
package grants

import (
	"strings"
)

// Statement is one parsed statement. String returns its canonical text
// without the terminating semicolon; parsing that text yields an equal
// Statement.
type Statement interface {
	String() string
	statement()
}

// Interface guards (the catalog statements' are in catalog_ast.go).
var (
	_ Statement = (*CreateRole)(nil)
	_ Statement = (*DropRole)(nil)
	_ Statement = (*GrantRole)(nil)
	_ Statement = (*RevokeRole)(nil)
	_ Statement = (*GrantPrivileges)(nil)
	_ Statement = (*RevokePrivileges)(nil)
	_ Statement = (*ShowRoles)(nil)
	_ Statement = (*ShowGrants)(nil)
	_ Statement = (*ShowRoleGrant)(nil)
	_ Statement = (*ShowCurrentRoles)(nil)
)

// CreateRole is CREATE ROLE [IF NOT EXISTS] name.
type CreateRole struct {
	Name        string
	IfNotExists bool
}

// DropRole is DROP ROLE [IF EXISTS] name.
type DropRole struct {
	Name     string
	IfExists bool
}

// GrantRole is GRANT ROLE role TO GROUP group.
type GrantRole struct {
	Role  string
	Group string
}

// RevokeRole is REVOKE ROLE role FROM GROUP group.
type RevokeRole struct {
	Role  string
	Group string
}

// GrantPrivileges is
//
//	GRANT privileges ON object [HAVING ATTRIBUTE [NOT] IN (…)]
//	  [WHERE predicate] [TRANSFORM target WITH fn(…)]… TO ROLE role
//
// with the clauses in that order. HAVING, WHERE and TRANSFORM need SELECT
// as the only privilege; HAVING and TRANSFORM an object that is a DATABASE
// or a TABLE, WHERE (like a column list) a TABLE. Restricted reports
// whether any of them, or a column list, narrows the grant.
type GrantPrivileges struct {
	Privileges Privileges
	Object     Object
	// Attributes is the HAVING ATTRIBUTE clause, nil when none.
	Attributes *AttributeFilter
	// Where is the row filter of a table grant in canonical text (the
	// printing of Filter), "" when there is no filter. It is what the
	// store keeps; ParsePredicate(Where) gives Filter back.
	Where string
	// Filter is the row filter's tree, nil when there is none. The parser
	// sets both Where and Filter; String prints Filter when it is set and
	// Where otherwise (a grant rebuilt from storage may carry only Where).
	Filter Expr
	// Transforms are the TRANSFORM clauses in canonical order (column
	// targets, then attributes, each by name), nil when none.
	Transforms []Transform
	Role       string
}

// RevokePrivileges is REVOKE privileges ON object FROM ROLE role. It names
// no HAVING, WHERE or TRANSFORM clause (the parser refuses them): it
// revokes the privileges on the object (with that column list) from the
// role whatever filters and masks the grants carried, every variant at
// once.
type RevokePrivileges struct {
	Privileges Privileges
	Object     Object
	Role       string
}

// ShowRoles is SHOW ROLES.
type ShowRoles struct{}

// ShowGrants is SHOW GRANTS ON ROLE role.
type ShowGrants struct {
	Role string
}

// ShowRoleGrant is SHOW ROLE GRANT GROUP group.
type ShowRoleGrant struct {
	Group string
}

// ShowCurrentRoles is SHOW CURRENT ROLES.
type ShowCurrentRoles struct{}

func (*CreateRole) statement()       {}
func (*DropRole) statement()         {}
func (*GrantRole) statement()        {}
func (*RevokeRole) statement()       {}
func (*GrantPrivileges) statement()  {}
func (*RevokePrivileges) statement() {}
func (*ShowRoles) statement()        {}
func (*ShowGrants) statement()       {}
func (*ShowRoleGrant) statement()    {}
func (*ShowCurrentRoles) statement() {}

// Privilege is one grantable privilege.
type Privilege uint8

// The privileges, in canonical printing order.
const (
	All Privilege = 1 << iota
	Select
	Insert
	Show
	Delete
	Create
	Drop
	Alter
)

var privilegeNames = []struct {
	p    Privilege
	name string
}{
	{All, "ALL"}, {Select, "SELECT"}, {Insert, "INSERT"}, {Show, "SHOW"},
	{Delete, "DELETE"}, {Create, "CREATE"}, {Drop, "DROP"}, {Alter, "ALTER"},
}

// String returns the keyword of p, or "" if p is not a single privilege.
func (p Privilege) String() string {
	for _, n := range privilegeNames {
		if n.p == p {
			return n.name
		}
	}
	return ""
}

func privilegeByName(word string) (Privilege, bool) {
	for _, n := range privilegeNames {
		if strings.EqualFold(n.name, word) {
			return n.p, true
		}
	}
	return 0, false
}

// Privileges is a set of privileges.
type Privileges uint8

// Has reports whether p is in the set.
func (s Privileges) Has(p Privilege) bool { return s&Privileges(p) != 0 }

// List returns the privileges of the set in canonical order.
func (s Privileges) List() []Privilege {
	var out []Privilege
	for _, n := range privilegeNames {
		if s.Has(n.p) {
			out = append(out, n.p)
		}
	}
	return out
}

// String returns the set as a comma-separated list in canonical order.
// The proxy names a request's privileges in every audit event, so the 256
// possible answers are computed once.
func (s Privileges) String() string { return privilegesText[s] }

var privilegesText = func() (t [256]string) {
	for i := range t {
		var names []string
		for _, p := range Privileges(i).List() {
			names = append(names, p.String())
		}
		t[i] = strings.Join(names, ", ")
	}
	return t
}()

// ObjectKind says what a grant is on.
type ObjectKind uint8

// The object kinds.
const (
	ObjectURI ObjectKind = iota + 1
	ObjectServer
	ObjectDatabase
	ObjectTable
)

// String returns the keyword of k.
func (k ObjectKind) String() string {
	switch k {
	case ObjectURI:
		return "URI"
	case ObjectServer:
		return "SERVER"
	case ObjectDatabase:
		return "DATABASE"
	case ObjectTable:
		return "TABLE"
	}
	return "?"
}

// Object is what a privilege grant is on. Which fields are set depends on
// Kind: Bucket and Path for URI, Database for DATABASE, Database and Table
// (and perhaps Columns) for TABLE, nothing for SERVER.
type Object struct {
	Kind ObjectKind
	// Bucket is the bucket of a URI object.
	Bucket string
	// Path is the rest of a URI after "bucket/", without the leading slash;
	// empty for a whole bucket.
	Path     string
	Database string
	Table    string
	// Columns is the column subset of GRANT SELECT(col, …) ON TABLE; nil
	// means every column.
	Columns []string
}

// URI returns the canonical s3:// form of a URI object.
func (o Object) URI() string {
	if o.Path == "" {
		return "s3://" + o.Bucket
	}
	return "s3://" + o.Bucket + "/" + o.Path
}
