package grants

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestGoldenCases parses each case of testdata/*.cases on its own (cases are
// separated by lines holding only ----) and compares every case's canonical
// printing or error with testdata/*.cases.golden. Run with -update to
// rewrite them. It keeps many one-error inputs in one reviewable file.
func TestGoldenCases(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.cases"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata/*.cases inputs")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, c := range strings.Split(string(src), "\n----\n") {
				fmt.Fprintf(&b, "== case %d: %s\n%s", i+1, strings.Join(strings.Fields(c), " "), render(c))
			}
			got := b.String()
			goldenPath := in + ".golden"
			if *update {
				if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", goldenPath, got, want)
			}
		})
	}
}

func mustType(t *testing.T, s string) Type {
	t.Helper()
	typ, err := ParseType(s)
	if err != nil {
		t.Fatalf("ParseType(%q): %v", s, err)
	}
	return typ
}

func TestParseCatalog(t *testing.T) {
	intT, strT := Type{Kind: TypeInt}, Type{Kind: TypeString}
	tests := []struct {
		name string
		src  string
		want Statement
	}{
		{"seed 000 table", "CREATE EXTERNAL TABLE experiments.transaction_data (\ntnxid INT,\ntnxdate DATE,\namount DOUBLE,\nregion STRING )\nSTORED AS PARQUET LOCATION 's3://experimental/workspaces/transaction_data'",
			&CreateTable{Database: "experiments", Name: "transaction_data", Columns: []ColumnDef{
				{Name: "tnxid", Type: intT}, {Name: "tnxdate", Type: Type{Kind: TypeDate}},
				{Name: "amount", Type: Type{Kind: TypeDouble}}, {Name: "region", Type: strT},
			}, Format: FormatParquet, Location: "s3://experimental/workspaces/transaction_data"}},
		{"create table without EXTERNAL is external", "create table IF NOT EXISTS D.T (a int comment ‘the a’) comment 'c' partitioned by (dt string) row format delimited fields terminated by '|' stored as orc location 's3a://bkt/t/' tblproperties ('k'='v')",
			&CreateTable{Database: "d", Name: "t", IfNotExists: true, Columns: []ColumnDef{{Name: "a", Type: intT, Comment: "the a"}},
				PartitionedBy: []ColumnDef{{Name: "dt", Type: strT}}, Comment: "c", FieldDelimiter: "|", Format: FormatORC,
				Location: "s3://bkt/t", Properties: []Property{{Key: "k", Value: "v"}}}},
		{"like parquet", "CREATE EXTERNAL TABLE d.t LIKE PARQUET 's3://bkt/a/f.parquet'",
			&CreateTable{Database: "d", Name: "t", LikeParquet: "s3://bkt/a/f.parquet", Format: FormatParquet}},
		{"create database", "CREATE DATABASE IF NOT EXISTS `My DB` COMMENT 'x' LOCATION 's3://bkt/'",
			&CreateDatabase{Name: "my db", IfNotExists: true, Comment: "x", Location: "s3://bkt"}},
		{"drop database cascade", "DROP DATABASE IF EXISTS d CASCADE", &DropDatabase{Name: "d", IfExists: true, Cascade: true}},
		{"drop table", "DROP TABLE IF EXISTS d.t", &DropTable{Database: "d", Name: "t", IfExists: true}},
		{"set location", "ALTER TABLE d.t SET LOCATION 's3://bkt/new/'", &AlterTableSetLocation{Database: "d", Name: "t", Location: "s3://bkt/new"}},
		{"add columns", "ALTER TABLE d.t ADD COLUMNS (Region string COMMENT 'r')", &AlterTableAddColumns{Database: "d", Name: "t", Columns: []ColumnDef{{Name: "region", Type: strT, Comment: "r"}}}},
		{"rename", "ALTER TABLE d.t RENAME TO D2.T2", &AlterTableRename{Database: "d", Name: "t", NewDatabase: "d2", NewName: "t2"}},
		{"recover", "ALTER TABLE d.t RECOVER PARTITIONS", &AlterTableRecoverPartitions{Database: "d", Name: "t"}},
		{"msck", "MSCK REPAIR TABLE d.t", &AlterTableRecoverPartitions{Database: "d", Name: "t"}},
		{"add partition", "ALTER TABLE d.t ADD IF NOT EXISTS PARTITION (Year=2024, r='eu', x=-1.5) LOCATION 's3://bkt/p'",
			&AlterTableAddPartition{Database: "d", Name: "t", IfNotExists: true, Location: "s3://bkt/p",
				Spec: []PartitionValue{{Column: "year", Value: "2024"}, {Column: "r", Value: "eu"}, {Column: "x", Value: "-1.5"}}}},
		{"drop partition", "ALTER TABLE d.t DROP IF EXISTS PARTITION (y='2023')",
			&AlterTableDropPartition{Database: "d", Name: "t", IfExists: true, Spec: []PartitionValue{{Column: "y", Value: "2023"}}}},
		{"show databases", "SHOW SCHEMAS", &ShowDatabases{}},
		{"show tables", "SHOW TABLES", &ShowTables{}},
		{"show tables from", "SHOW TABLES FROM Sales", &ShowTables{Database: "sales"}},
		{"describe", "DESC d.t", &Describe{Database: "d", Table: "t"}},
		{"describe formatted", "DESCRIBE FORMATTED d.t", &Describe{Database: "d", Table: "t", Formatted: true}},
		{"describe database named formatted", "DESCRIBE formatted.t", &Describe{Database: "formatted", Table: "t"}},
		{"show create table", "SHOW CREATE TABLE d.t", &ShowCreateTable{Database: "d", Table: "t"}},
		{"show partitions", "SHOW PARTITIONS d.t", &ShowPartitions{Database: "d", Table: "t"}},
		{"table grant lower-cases names, not the role", "GRANT SELECT(A, `B c`) ON TABLE Source.Transactions TO ROLE Analysts",
			&GrantPrivileges{Privileges: Privileges(Select), Object: Object{Kind: ObjectTable, Database: "source", Table: "transactions", Columns: []string{"a", "b c"}}, Role: "Analysts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
				t.Fatalf("Parse = %s\nwant %s", Format(got), tc.want)
			}
		})
	}
}

func TestParseType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INT", "int"},
		{"integer", "int"},
		{"Double Precision", "double"},
		{"DECIMAL", "decimal(10,0)"},
		{"decimal(7)", "decimal(7,0)"},
		{"decimal( 38 , 38 )", "decimal(38,38)"},
		{"varchar(65535)", "varchar(65535)"},
		{"char(1)", "char(1)"},
		{"array<array<int>>", "array<array<int>>"},
		{"map<string, struct<A:int COMMENT 'x', `b c`:array<date>>>", "map<string,struct<a:int COMMENT 'x',`b c`:array<date>>>"},
		{"struct<location:string,comment:string,date:date>", "struct<location:string,comment:string,date:date>"},
		{"struct<`select`:int>", "struct<`select`:int>"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			typ := mustType(t, tc.in)
			if got := typ.String(); got != tc.want {
				t.Fatalf("String = %q, want %q", got, tc.want)
			}
			if again := mustType(t, typ.String()); !reflect.DeepEqual(again, typ) {
				t.Fatalf("ParseType(String()) = %#v, want %#v", again, typ)
			}
		})
	}
	if typ := mustType(t, "map<string,decimal(5,2)>"); typ.Kind != TypeMap || typ.Key.Kind != TypeString ||
		typ.Value.Kind != TypeDecimal || typ.Value.Precision != 5 || typ.Value.Scale != 2 {
		t.Errorf("map<string,decimal(5,2)> parsed as %#v", typ)
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct {
		in  string
		col int
		msg string
	}{
		{"", 1, "expected a type"},
		{"text", 1, `unknown type "text"`},
		{"int int", 5, `expected end of type, found "int"`},
		{"decimal(0)", 9, "decimal precision 0 is out of range: 1 to 38"},
		{"decimal(5,6)", 11, "decimal scale 6 is out of range: 0 to the precision 5"},
		{"decimal(5,)", 11, "expected the decimal scale (a number)"},
		{"varchar(65536)", 9, "varchar length 65536 is out of range: 1 to 65535"},
		{"char(0)", 6, "char length 0 is out of range: 1 to 255"},
		{"array<int", 10, "expected > to close array<, found end of input"},
		{"map<struct<a:int>,int>", 5, "a map key must be a primitive type, not struct"},
		{"map<int>", 8, "expected , after the map key type"},
		{"struct<>", 8, "expected struct field name"},
		{"struct<a:int,A:int>", 14, "struct field a given twice"},
		{"decimal(1e3)", 9, "(a whole number)"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseType(tc.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseType(%q) error = %v, want a *SyntaxError", tc.in, err)
			}
			if se.Line != 1 || se.Col != tc.col || !strings.Contains(se.Msg, tc.msg) {
				t.Fatalf("error = %v, want column %d and %q", err, tc.col, tc.msg)
			}
		})
	}
}

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in, want, msg string
	}{
		{"s3://bkt/t", "s3://bkt/t", ""},
		{"s3://bkt/t/", "s3://bkt/t", ""},
		{"S3A://bkt/a b/c%2F", "s3://bkt/a b/c%2F", ""},
		{"s3://bkt/", "s3://bkt", ""},
		{"s3://bkt", "s3://bkt", ""},
		{"s3://bkt/a..b/.c/", "s3://bkt/a..b/.c", ""},
		{"s3://bkt/t//", "", "empty segment"},
		{"s3://bkt//t", "", "empty segment"},
		{"s3://bkt//", "", "empty segment"},
		{"s3://bkt/a/./b", "", `"." segment`},
		{"s3://bkt/a/..", "", `".." segment`},
		{"s3://bkt/../b", "", `".." segment`},
		{"s3://bkt/a?b", "", "'?'"},
		{"s3://bkt/a#b", "", "'#'"},
		{"s3://bkt/a\u0085b", "", "control character"},
		{"s3://bkt/a\tb", "", "control character"},
		{"gs://bkt/a", "", "not supported"},
		{"s3://a/b", "", "not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, msg := parseLocation(tc.in)
			if got != tc.want || (tc.msg == "") != (msg == "") || !strings.Contains(msg, tc.msg) {
				t.Fatalf("parseLocation(%q) = %q, %q; want %q, %q", tc.in, got, msg, tc.want, tc.msg)
			}
		})
	}
}

// TestCatalogRoundTrip prints trees built directly (names that need
// quoting, every optional part) and parses them back, in both the one-line
// and the Pretty form.
func TestCatalogRoundTrip(t *testing.T) {
	nested := mustType(t, "array<map<string,struct<`x y`:decimal(20,4) COMMENT 'money',`table`:varchar(10)>>>")
	full := &CreateTable{
		Database: "select", Name: "my table", IfNotExists: true,
		Columns: []ColumnDef{
			{Name: "location", Type: Type{Kind: TypeString}, Comment: "where ‘quoted"},
			{Name: "grant", Type: nested},
			{Name: "9lives", Type: Type{Kind: TypeChar, Length: 9}},
		},
		PartitionedBy:  []ColumnDef{{Name: "dt", Type: Type{Kind: TypeDate}, Comment: "day"}},
		Comment:        "a -- not a comment; nor a ; terminator",
		FieldDelimiter: `\t`, Format: FormatTextFile, Location: "s3://bkt/x y",
		Properties: []Property{{Key: "a", Value: ""}, {Key: "b c", Value: "d=e"}},
	}
	stmts := []Statement{
		full,
		&CreateTable{Database: "d", Name: "like", LikeParquet: "s3://bkt/f.parquet", Format: FormatAvro},
		&CreateDatabase{Name: "comment", Comment: "c", Location: "s3://bkt/db"},
		&DropDatabase{Name: "cascade"},
		&DropTable{Database: "d", Name: "t"},
		&AlterTableSetLocation{Database: "d", Name: "t", Location: "s3://bkt"},
		&AlterTableAddColumns{Database: "d", Name: "t", Columns: []ColumnDef{{Name: "a", Type: Type{Kind: TypeBinary}}}},
		&AlterTableRename{Database: "d", Name: "t", NewDatabase: "rename", NewName: "to"},
		&AlterTableRecoverPartitions{Database: "msck", Name: "repair"},
		&AlterTableAddPartition{Database: "d", Name: "t", Spec: []PartitionValue{{Column: "partition", Value: "a b"}}},
		&AlterTableDropPartition{Database: "d", Name: "t", IfExists: true, Spec: []PartitionValue{{Column: "y", Value: "1"}, {Column: "m", Value: "x"}}},
		&ShowDatabases{}, &ShowTables{Database: "from"}, &ShowTables{},
		&Describe{Database: "formatted", Table: "formatted", Formatted: true},
		&ShowCreateTable{Database: "d", Table: "t"}, &ShowPartitions{Database: "d", Table: "t"},
	}
	text := Format(stmts)
	got, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(Format(x)): %v\n%s", err, text)
	}
	if !reflect.DeepEqual(got, stmts) {
		t.Fatalf("round trip changed the statements\n--- printed\n%s--- reprinted\n%s", text, Format(got))
	}
	if n := strings.Count(text, "\n"); n != len(stmts) {
		t.Errorf("Format wrote %d lines for %d statements", n, len(stmts))
	}

	pretty := full.Pretty()
	if !strings.Contains(pretty, "(\n  location string COMMENT 'where ‘quoted',\n") || !strings.Contains(pretty, "\nSTORED AS TEXTFILE\nLOCATION 's3://bkt/x y'\n") {
		t.Errorf("Pretty is not one clause and one column per line:\n%s", pretty)
	}
	again, err := Parse(pretty)
	if err != nil {
		t.Fatalf("Parse(Pretty()): %v\n%s", err, pretty)
	}
	if len(again) != 1 || !reflect.DeepEqual(again[0], Statement(full)) {
		t.Fatalf("Pretty does not round-trip:\n%s\n--- reprinted\n%s", pretty, Format(again))
	}
}

// TestLimits checks each limit at its value (accepted) and one past it
// (refused, naming the limit).
func TestLimits(t *testing.T) {
	table := func(cols, parts int, comment string, props int) string {
		var b strings.Builder
		b.WriteString("CREATE EXTERNAL TABLE d.t (")
		for i := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "c%d int", i)
		}
		b.WriteString(") COMMENT '" + comment + "'")
		if parts > 0 {
			b.WriteString(" PARTITIONED BY (")
			for i := range parts {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "p%d int", i)
			}
			b.WriteString(")")
		}
		b.WriteString(" STORED AS PARQUET LOCATION 's3://bkt/t'")
		if props > 0 {
			b.WriteString(" TBLPROPERTIES (")
			for i := range props {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "'k%d'='v'", i)
			}
			b.WriteString(")")
		}
		return b.String()
	}
	nest := func(depth int) string {
		return "CREATE EXTERNAL TABLE d.t (a " + strings.Repeat("array<", depth) + "int" + strings.Repeat(">", depth) + ") STORED AS PARQUET LOCATION 's3://bkt/t'"
	}
	tests := []struct {
		name string
		src  string
		msg  string // "" when the statement must parse
	}{
		{"columns at limit", table(MaxColumns-1, 1, "", 0), ""},
		{"columns past limit", table(MaxColumns, 1, "", 0), "more than 10000 columns"},
		{"comment at limit", table(1, 0, strings.Repeat("x", MaxCommentBytes), 0), ""},
		{"comment past limit", table(1, 0, strings.Repeat("x", MaxCommentBytes+1), 0), "is 4097 bytes long; the limit is 4096"},
		{"properties at limit", table(1, 0, "", MaxProperties), ""},
		{"properties past limit", table(1, 0, "", MaxProperties+1), "more than 1000 properties"},
		{"depth at limit", nest(MaxTypeDepth), ""},
		{"depth past limit", nest(MaxTypeDepth + 1), "more than 64 levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.src)
			switch {
			case tc.msg == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
				t.Fatalf("Parse error = %v, want %q", err, tc.msg)
			}
		})
	}
}
