package grants

import (
	"fmt"
	"strings"
)

// ObjectKey is the text naming o in the policy store, without its column
// list: the s3:// URI of a URI object, "" for SERVER, the database name, or
// database.table, names quoted as the printer quotes them. ParseObjectKey
// reverses it.
func (o Object) ObjectKey() string {
	switch o.Kind {
	case ObjectURI:
		return o.URI()
	case ObjectDatabase:
		return quoteIdent(o.Database)
	case ObjectTable:
		return quoteIdent(o.Database) + "." + quoteIdent(o.Table)
	}
	return ""
}

// ColumnsKey is o's column list as stored: quoted names joined by ", ",
// "" when the grant covers every column.
func (o Object) ColumnsKey() string {
	if o.Columns == nil {
		return ""
	}
	quoted := make([]string, len(o.Columns))
	for i, c := range o.Columns {
		quoted[i] = quoteIdent(c)
	}
	return strings.Join(quoted, ", ")
}

// ObjectKindByName returns the kind named by its keyword (URI, SERVER,
// DATABASE, TABLE), case-insensitively.
func ObjectKindByName(name string) (ObjectKind, bool) {
	for _, k := range []ObjectKind{ObjectURI, ObjectServer, ObjectDatabase, ObjectTable} {
		if strings.EqualFold(k.String(), name) {
			return k, true
		}
	}
	return 0, false
}

// PrivilegeByName returns the privilege named by its keyword,
// case-insensitively.
func PrivilegeByName(name string) (Privilege, bool) { return privilegeByName(name) }

// ParseObjectKey rebuilds an Object from its stored kind, key and columns.
func ParseObjectKey(kind ObjectKind, key, columns string) (Object, error) {
	var o Object
	switch kind {
	case ObjectURI:
		bucket, path, msg := parseURI(key)
		if msg != "" {
			return Object{}, fmt.Errorf("grants: stored URI %q: %s", key, msg)
		}
		o = Object{Kind: ObjectURI, Bucket: bucket, Path: path}
	case ObjectServer:
		if key != "" {
			return Object{}, fmt.Errorf("grants: stored SERVER object %q is not empty", key)
		}
		o = Object{Kind: ObjectServer}
	case ObjectDatabase, ObjectTable:
		names, err := identList(key, ".")
		if err != nil || len(names) != map[ObjectKind]int{ObjectDatabase: 1, ObjectTable: 2}[kind] {
			return Object{}, fmt.Errorf("grants: stored %s name %q is invalid", kind, key)
		}
		o = Object{Kind: kind, Database: names[0]}
		if kind == ObjectTable {
			o.Table = names[1]
		}
	default:
		return Object{}, fmt.Errorf("grants: stored object kind %d is unknown", kind)
	}
	if columns != "" {
		cols, err := identList(columns, ",")
		if err != nil || kind != ObjectTable {
			return Object{}, fmt.Errorf("grants: stored column list %q is invalid", columns)
		}
		o.Columns = cols
	}
	// The store compares these values exactly: a stored form that parses
	// but is not the one ObjectKey and ColumnsKey print (s3a://, a trailing
	// slash, extra blanks, a comment) names a grant that no REVOKE, which
	// stores the printed form, could ever match.
	if o.ObjectKey() != key || o.ColumnsKey() != columns {
		return Object{}, fmt.Errorf("grants: stored %s object %q (columns %q) is not in canonical form: want %q (columns %q)",
			kind, key, columns, o.ObjectKey(), o.ColumnsKey())
	}
	return o, nil
}

// identList reads names separated by sep, each bare or backquoted.
func identList(src, sep string) ([]string, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	var names []string
	for {
		n, err := p.ident("name")
		if err != nil {
			return nil, err
		}
		names = append(names, n)
		if p.peek().kind == tokEOF {
			return names, nil
		}
		if err := p.expectPunct(sep, sep); err != nil {
			return nil, err
		}
	}
}
