package grants

import (
	"reflect"
	"strings"
	"testing"
)

// TestStoreFormRoundTrip checks the stored text of every kind of object
// and that ParseObjectKey gives the object back.
func TestStoreFormRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		obj     Object
		key     string
		columns string
	}{
		{"whole bucket", Object{Kind: ObjectURI, Bucket: "bkt"}, "s3://bkt", ""},
		{"path", Object{Kind: ObjectURI, Bucket: "bkt", Path: "data/2024"}, "s3://bkt/data/2024", ""},
		{"directory path", Object{Kind: ObjectURI, Bucket: "bkt", Path: "data/"}, "s3://bkt/data/", ""},
		{"path starting with a slash", Object{Kind: ObjectURI, Bucket: "bkt", Path: "/x"}, "s3://bkt//x", ""},
		{"path with blanks, quotes and unicode", Object{Kind: ObjectURI, Bucket: "My_Bucket.v2", Path: "a b/it's/données/`x`"},
			"s3://My_Bucket.v2/a b/it's/données/`x`", ""},
		{"server", Object{Kind: ObjectServer}, "", ""},
		{"database", Object{Kind: ObjectDatabase, Database: "sales_2024"}, "sales_2024", ""},
		{"database named by a keyword", Object{Kind: ObjectDatabase, Database: "select"}, "`select`", ""},
		{"database named by a keyword in lower case", Object{Kind: ObjectDatabase, Database: "Table"}, "`Table`", ""},
		{"database with a dot", Object{Kind: ObjectDatabase, Database: "my.db"}, "`my.db`", ""},
		{"database with blanks", Object{Kind: ObjectDatabase, Database: "my db "}, "`my db `", ""},
		{"database starting with a digit", Object{Kind: ObjectDatabase, Database: "2024"}, "`2024`", ""},
		{"database with unicode", Object{Kind: ObjectDatabase, Database: "données"}, "`données`", ""},
		{"database with a comment marker and quotes", Object{Kind: ObjectDatabase, Database: "a--b'c\"d"}, "`a--b'c\"d`", ""},
		{"table", Object{Kind: ObjectTable, Database: "db", Table: "t"}, "db.t", ""},
		{"table with dots and blanks", Object{Kind: ObjectTable, Database: "a.b", Table: "c d"}, "`a.b`.`c d`", ""},
		{"table named by keywords", Object{Kind: ObjectTable, Database: "from", Table: "table"}, "`from`.`table`", ""},
		{"table with underscores", Object{Kind: ObjectTable, Database: "_db", Table: "_"}, "_db._", ""},
		{"table with columns", Object{Kind: ObjectTable, Database: "db", Table: "t", Columns: []string{"a", "b c", "select", "x.y", "p,q"}},
			"db.t", "a, `b c`, `select`, `x.y`, `p,q`"},
		{"table with one column", Object{Kind: ObjectTable, Database: "db", Table: "t.1", Columns: []string{"c"}}, "db.`t.1`", "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.obj.ObjectKey(); got != tt.key {
				t.Errorf("ObjectKey() = %q, want %q", got, tt.key)
			}
			if got := tt.obj.ColumnsKey(); got != tt.columns {
				t.Errorf("ColumnsKey() = %q, want %q", got, tt.columns)
			}
			kind, ok := ObjectKindByName(strings.ToLower(tt.obj.Kind.String()))
			if !ok || kind != tt.obj.Kind {
				t.Errorf("ObjectKindByName(%q) = %v, %v", strings.ToLower(tt.obj.Kind.String()), kind, ok)
			}
			got, err := ParseObjectKey(tt.obj.Kind, tt.key, tt.columns)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.obj) {
				t.Errorf("ParseObjectKey = %#v, want %#v", got, tt.obj)
			}
		})
	}
}

// TestStoreFormMatchesParser: the stored form of a parsed grant is what
// ParseObjectKey turns back into the parsed object, so a statement
// written in any accepted spelling lands on the same stored row.
func TestStoreFormMatchesParser(t *testing.T) {
	for _, src := range []string{
		"GRANT SELECT ON URI 's3a://bkt/data/' TO ROLE r",
		"GRANT SELECT ON URI ‘S3://bkt’ TO ROLE r",
		"GRANT SELECT ON URI 's3://bkt/' TO ROLE r",
		"GRANT ALL ON SERVER TO ROLE r",
		"GRANT CREATE ON DATABASE `my db` TO ROLE r",
		"GRANT SELECT(a, `select`, `b c`) ON TABLE `x-y`.z TO ROLE r",
		"GRANT SELECT ON TABLE db . t TO ROLE r",
	} {
		stmts, err := Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		o := stmts[0].(*GrantPrivileges).Object
		got, err := ParseObjectKey(o.Kind, o.ObjectKey(), o.ColumnsKey())
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("%s: stored as %q %q, read back as %#v, %v", src, o.ObjectKey(), o.ColumnsKey(), got, err)
		}
	}
}

func TestParseObjectKeyErrors(t *testing.T) {
	tests := []struct {
		name    string
		kind    ObjectKind
		key     string
		columns string
		want    string
	}{
		{"URI without scheme", ObjectURI, "bkt/x", "", `grants: stored URI "bkt/x": expected s3://bucket[/path]`},
		{"URI with another scheme", ObjectURI, "gs://bkt/x", "", `grants: stored URI "gs://bkt/x": scheme "gs" is not supported; use s3:// (or s3a://)`},
		{"URI without bucket", ObjectURI, "s3:///x", "", `grants: stored URI "s3:///x": missing bucket name`},
		{"URI with a bad bucket", ObjectURI, "s3://a..b/x", "", `grants: stored URI "s3://a..b/x": bucket name "a..b" is not valid: 3 to 255 letters, digits, '.', '-' or '_', not starting with '.' or '-', no ".."`},
		{"URI with a control character", ObjectURI, "s3://bkt/a\tb", "", `grants: stored URI "s3://bkt/a\tb": the path holds a control character`},
		{"URI with columns", ObjectURI, "s3://bkt/x", "a", `grants: stored column list "a" is invalid`},
		{"URI spelled s3a", ObjectURI, "s3a://bkt/x", "", `grants: stored URI object "s3a://bkt/x" (columns "") is not in canonical form: want "s3://bkt/x" (columns "")`},
		{"URI with a trailing slash on the bucket", ObjectURI, "s3://bkt/", "", `grants: stored URI object "s3://bkt/" (columns "") is not in canonical form: want "s3://bkt" (columns "")`},
		{"server with a name", ObjectServer, "server1", "", `grants: stored SERVER object "server1" is not empty`},
		{"server with columns", ObjectServer, "", "a", `grants: stored column list "a" is invalid`},
		{"database empty", ObjectDatabase, "", "", `grants: stored DATABASE name "" is invalid`},
		{"database with two names", ObjectDatabase, "a.b", "", `grants: stored DATABASE name "a.b" is invalid`},
		{"database named by a bare keyword", ObjectDatabase, "select", "", `grants: stored DATABASE name "select" is invalid`},
		{"database unterminated backquote", ObjectDatabase, "`db", "", "grants: stored DATABASE name \"`db\" is invalid"},
		{"database empty backquotes", ObjectDatabase, "``", "", "grants: stored DATABASE name \"``\" is invalid"},
		{"database with two words", ObjectDatabase, "a b", "", `grants: stored DATABASE name "a b" is invalid`},
		{"database with a trailing comma", ObjectDatabase, "a,", "", `grants: stored DATABASE name "a," is invalid`},
		{"database with columns", ObjectDatabase, "db", "a", `grants: stored column list "a" is invalid`},
		{"database with needless backquotes", ObjectDatabase, "`db`", "", "grants: stored DATABASE object \"`db`\" (columns \"\") is not in canonical form: want \"db\" (columns \"\")"},
		{"database with a comment", ObjectDatabase, "db -- old", "", `grants: stored DATABASE object "db -- old" (columns "") is not in canonical form: want "db" (columns "")`},
		{"table with one name", ObjectTable, "db", "", `grants: stored TABLE name "db" is invalid`},
		{"table with three names", ObjectTable, "a.b.c", "", `grants: stored TABLE name "a.b.c" is invalid`},
		{"table with a trailing dot", ObjectTable, "a.", "", `grants: stored TABLE name "a." is invalid`},
		{"table with a leading dot", ObjectTable, ".a", "", `grants: stored TABLE name ".a" is invalid`},
		{"table with blanks around the dot", ObjectTable, "db . t", "", `grants: stored TABLE object "db . t" (columns "") is not in canonical form: want "db.t" (columns "")`},
		{"columns with an empty name", ObjectTable, "db.t", "a,,b", `grants: stored column list "a,,b" is invalid`},
		{"columns separated by dots", ObjectTable, "db.t", "a.b", `grants: stored column list "a.b" is invalid`},
		{"columns separated by blanks", ObjectTable, "db.t", "a b", `grants: stored column list "a b" is invalid`},
		{"columns with a bare keyword", ObjectTable, "db.t", "a, from", `grants: stored column list "a, from" is invalid`},
		{"columns not canonically spaced", ObjectTable, "db.t", "a,b", `grants: stored TABLE object "db.t" (columns "a,b") is not in canonical form: want "db.t" (columns "a, b")`},
		{"unknown kind", ObjectKind(0), "x", "", "grants: stored object kind 0 is unknown"},
		{"kind out of range", ObjectKind(9), "x", "", "grants: stored object kind 9 is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseObjectKey(tt.kind, tt.key, tt.columns)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseObjectKey(%v, %q, %q) = %#v, %v\nwant error %s", tt.kind, tt.key, tt.columns, o, err, tt.want)
			}
		})
	}
}

func TestKindAndPrivilegeByName(t *testing.T) {
	for _, name := range []string{"uri", "Server", "DATABASE", "table"} {
		if k, ok := ObjectKindByName(name); !ok || !strings.EqualFold(k.String(), name) {
			t.Errorf("ObjectKindByName(%q) = %v, %v", name, k, ok)
		}
	}
	for _, name := range []string{"", "VIEW", "?", "URIs"} {
		if k, ok := ObjectKindByName(name); ok {
			t.Errorf("ObjectKindByName(%q) = %v, want not found", name, k)
		}
	}
	for _, p := range (Privileges(0xff)).List() {
		if got, ok := PrivilegeByName(strings.ToLower(p.String())); !ok || got != p {
			t.Errorf("PrivilegeByName(%q) = %v, %v", strings.ToLower(p.String()), got, ok)
		}
	}
	if p, ok := PrivilegeByName("READ"); ok {
		t.Errorf("PrivilegeByName(READ) = %v, want not found", p)
	}
}

// FuzzObjectKey checks the stored form both ways: any stored triple that
// ParseObjectKey accepts is exactly what ObjectKey and ColumnsKey print for
// the object it returns, and any table the grammar can name survives
// storing and reading back.
//
//	go test -run='^$' -fuzz=FuzzObjectKey -fuzztime=20s ./internal/grants/
func FuzzObjectKey(f *testing.F) {
	f.Add(uint8(ObjectURI), "s3://bkt/data/", "", "db", "t", "c")
	f.Add(uint8(ObjectURI), "s3a://bkt//x", "", "a.b", "c d", "select")
	f.Add(uint8(ObjectServer), "", "", "", "`", "")
	f.Add(uint8(ObjectDatabase), "`my db`", "", "données", "2024", "x,y")
	f.Add(uint8(ObjectTable), "`a.b`.`c d`", "a, `b c`", "from", "table", "--")
	f.Add(uint8(ObjectTable), "db . t -- x", "a,b", "a\tb", "t", "c")
	f.Fuzz(func(t *testing.T, kind uint8, key, columns, db, table, column string) {
		if o, err := ParseObjectKey(ObjectKind(kind), key, columns); err == nil {
			if o.ObjectKey() != key || o.ColumnsKey() != columns {
				t.Fatalf("ParseObjectKey(%d, %q, %q) accepted a form that prints as %q %q", kind, key, columns, o.ObjectKey(), o.ColumnsKey())
			}
		}
		if !nameable(db) || !nameable(table) || !nameable(column) {
			return
		}
		o := Object{Kind: ObjectTable, Database: db, Table: table, Columns: []string{column, "c"}}
		got, err := ParseObjectKey(ObjectTable, o.ObjectKey(), o.ColumnsKey())
		if err != nil {
			t.Fatalf("%#v stored as %q %q: %v", o, o.ObjectKey(), o.ColumnsKey(), err)
		}
		if !reflect.DeepEqual(got, o) {
			t.Fatalf("%#v stored as %q %q, read back as %#v", o, o.ObjectKey(), o.ColumnsKey(), got)
		}
	})
}

// nameable reports whether the grammar can name s: between backquotes
// anything but a backquote or a control character.
func nameable(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r == '`' || r < 0x20 || r == 0x7f })
}
