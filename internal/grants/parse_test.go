package grants

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseStatements(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Statement
	}{
		{"empty", "", nil},
		{"only comments and semicolons", "-- nothing\n;;\n", nil},
		{"create role", "create role r", []Statement{&CreateRole{Name: "r"}}},
		{"create role if not exists", "CREATE ROLE IF NOT EXISTS r;", []Statement{&CreateRole{Name: "r", IfNotExists: true}}},
		{"drop role if exists", "Drop Role If Exists r;", []Statement{&DropRole{Name: "r", IfExists: true}}},
		{"backquoted keyword name", "CREATE ROLE `select`;", []Statement{&CreateRole{Name: "select"}}},
		{"grant role", "GRANT ROLE r TO GROUP g;", []Statement{&GrantRole{Role: "r", Group: "g"}}},
		{"revoke role", "REVOKE ROLE r FROM GROUP g;", []Statement{&RevokeRole{Role: "r", Group: "g"}}},
		{"uri typographic quotes s3a", "GRANT SELECT, SHOW ON URI ‘s3a://my-bucket/a/b’ TO ROLE r", []Statement{
			&GrantPrivileges{Privileges: Privileges(Select | Show), Object: Object{Kind: ObjectURI, Bucket: "my-bucket", Path: "a/b"}, Role: "r"},
		}},
		{"whole bucket", "GRANT ALL ON URI 's3://bkt/' TO ROLE r", []Statement{
			&GrantPrivileges{Privileges: Privileges(All), Object: Object{Kind: ObjectURI, Bucket: "bkt"}, Role: "r"},
		}},
		{"server", "GRANT ALL ON SERVER TO ROLE admin", []Statement{
			&GrantPrivileges{Privileges: Privileges(All), Object: Object{Kind: ObjectServer}, Role: "admin"},
		}},
		{"database", "REVOKE CREATE, DROP, ALTER ON DATABASE db FROM ROLE r", []Statement{
			&RevokePrivileges{Privileges: Privileges(Create | Drop | Alter), Object: Object{Kind: ObjectDatabase, Database: "db"}, Role: "r"},
		}},
		{"columns", "GRANT SELECT(a, `b c`) ON TABLE db.t TO ROLE r", []Statement{
			&GrantPrivileges{Privileges: Privileges(Select), Object: Object{Kind: ObjectTable, Database: "db", Table: "t", Columns: []string{"a", "b c"}}, Role: "r"},
		}},
		{"row filter", "GRANT SELECT ON TABLE db.t WHERE (amount < 800 AND\n  region = 'eu') -- EU only\n TO ROLE r", []Statement{
			&GrantPrivileges{Privileges: Privileges(Select), Object: Object{Kind: ObjectTable, Database: "db", Table: "t"}, Where: "amount < 800 AND region = 'eu'",
				Filter: &Logical{Op: OpAnd, Terms: []Expr{
					&Comparison{Op: OpLt, Left: &ColumnRef{Name: "amount"}, Right: &NumberLit{Text: "800"}},
					&Comparison{Op: OpEq, Left: &ColumnRef{Name: "region"}, Right: &StringLit{Value: "eu"}},
				}}, Role: "r"},
		}},
		{"shows", "SHOW ROLES; SHOW GRANTS ON ROLE r; SHOW ROLE GRANT GROUP g; SHOW CURRENT ROLES", []Statement{
			&ShowRoles{}, &ShowGrants{Role: "r"}, &ShowRoleGrant{Group: "g"}, &ShowCurrentRoles{},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %s\nwant %s", Format(got), Format(tc.want))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		msg       string // substring of SyntaxError.Msg
	}{
		{"unknown statement", "SELECT 1", 1, 1, `expected CREATE, DROP, ALTER, GRANT, REVOKE, SHOW, DESCRIBE or MSCK, found "SELECT"`},
		{"grant role with FROM", "GRANT ROLE r FROM GROUP g", 1, 14, `expected TO, found "FROM" (GRANT takes TO)`},
		{"revoke with TO", "\n\nREVOKE SELECT ON SERVER TO ROLE r", 3, 25, `expected FROM, found "TO" (REVOKE takes FROM)`},
		{"missing ON", "GRANT SELECT TO ROLE r", 1, 14, `expected ON, found "TO"`},
		{"bad privilege", "GRANT READ ON SERVER TO ROLE r", 1, 7, `expected a privilege (ALL, SELECT, INSERT, SHOW, DELETE, CREATE, DROP, ALTER) or ROLE, found "READ"`},
		{"duplicate privilege", "GRANT SELECT, select ON SERVER TO ROLE r", 1, 15, "privilege SELECT given twice"},
		{"other scheme", "GRANT SELECT ON URI 'hdfs://nn/x' TO ROLE r", 1, 21, `scheme "hdfs" is not supported; use s3:// (or s3a://)`},
		{"no scheme", "GRANT SELECT ON URI 'mybucket/x' TO ROLE r", 1, 21, "expected s3://bucket[/path]"},
		{"bad bucket", "GRANT SELECT ON URI 's3://my..bucket/x' TO ROLE r", 1, 21, `bucket name "my..bucket" is not valid`},
		{"bucket with bad character", "GRANT SELECT ON URI 's3://my*bucket/x' TO ROLE r", 1, 21, "is not valid"},
		{"short bucket", "GRANT SELECT ON URI 's3://ab' TO ROLE r", 1, 21, "3 to 255"},
		{"empty bucket", "GRANT SELECT ON URI 's3:///x' TO ROLE r", 1, 21, "missing bucket name"},
		{"unquoted uri", "GRANT SELECT ON URI s3://b/x TO ROLE r", 1, 21, `expected a quoted URI like 's3://bucket/path', found "s3"`},
		{"unterminated string", "GRANT ALL ON URI 's3://experimental/workspaces/ TO ROLE analysts;", 1, 18, "unterminated string literal"},
		{"unterminated backquote", "CREATE ROLE `abc", 1, 13, "unterminated backquoted identifier"},
		{"control character in name", "CREATE ROLE x; DROP ROLE `a\tb`", 1, 26, "control character in backquoted identifier"},
		{"empty backquoted name", "CREATE ROLE ``", 1, 13, "empty backquoted identifier"},
		{"reserved name", "CREATE ROLE role", 1, 13, "expected role name, found keyword ROLE (backquote it to use it as a name)"},
		{"missing semicolon", "SHOW ROLES SHOW ROLES", 1, 12, `expected ; or end of input, found "SHOW"`},
		{"columns on uri", "GRANT SELECT(a) ON URI 's3://bkt' TO ROLE r", 1, 13, "a column list is only allowed ON TABLE, not ON URI"},
		{"columns on insert", "GRANT INSERT(a) ON TABLE d.t TO ROLE r", 1, 13, "a column list is only allowed after SELECT, not INSERT"},
		{"columns with other privilege", "GRANT SELECT(a), SHOW ON TABLE d.t TO ROLE r", 1, 13, "only allowed when SELECT is the only privilege"},
		{"unqualified table", "GRANT SELECT ON TABLE t TO ROLE r", 1, 25, "expected . (tables are named database.table), found \"TO\""},
		{"where on database", "GRANT SELECT ON DATABASE d WHERE x = 1 TO ROLE r", 1, 28, "a WHERE row filter is only allowed on GRANT SELECT ON TABLE"},
		{"where without TO ROLE", "GRANT SELECT ON TABLE d.t WHERE x = 1;", 1, 38, `expected AND, OR, TRANSFORM or TO ROLE after the WHERE predicate, found ";"`},
		{"where unbalanced open", "GRANT SELECT ON TABLE d.t WHERE (x = 1 TO ROLE r", 1, 40, `expected AND, OR or ) to close the ( opened at line 1, column 33, found "TO"`},
		{"where unbalanced close", "GRANT SELECT ON TABLE d.t WHERE x = 1) TO ROLE r", 1, 38, `expected AND, OR, TRANSFORM or TO ROLE after the WHERE predicate, found ")"`},
		{"where function", "GRANT SELECT ON TABLE d.t WHERE\n  a = 1 OR upper(b) = 'X' TO ROLE r", 2, 12, "function upper() is not allowed in a row filter: only current_user() and has_group('group')"},
		{"where on revoke", "REVOKE SELECT ON TABLE d.t WHERE a = 1 FROM ROLE r", 1, 28, "REVOKE takes no WHERE clause"},
		{"where with insert", "GRANT SELECT, INSERT ON TABLE d.t WHERE a = 1 TO ROLE r", 1, 35, "a WHERE row filter is only allowed on GRANT SELECT ON TABLE (SELECT alone)"},
		{"transform on uri", "GRANT SELECT ON URI 's3://bkt/x' TRANSFORM a.b WITH mask TO ROLE r", 1, 34, "a TRANSFORM clause is only allowed on GRANT SELECT ON DATABASE or TABLE"},
		{"having on server", "GRANT SELECT ON SERVER HAVING ATTRIBUTE IN (pii) TO ROLE r", 1, 24, "a HAVING ATTRIBUTE clause is only allowed on GRANT SELECT ON DATABASE or TABLE"},
		{"clauses out of order", "GRANT SELECT ON TABLE d.t TRANSFORM c WITH mask WHERE a = 1 TO ROLE r", 1, 49, "WHERE is out of place: the clauses go HAVING ATTRIBUTE, WHERE, TRANSFORM, then TO ROLE"},
		{"empty where", "GRANT SELECT ON TABLE d.t WHERE TO ROLE r", 1, 33, `expected a predicate after WHERE, found "TO"`},
		{"column counts runes", "GRANT SHOW ON URI ‘s3://b’ TO ROLE r", 1, 19, "bucket name \"b\" is not valid"},
		{"show junk", "SHOW FUNCTIONS", 1, 6, `expected ROLES, GRANTS, ROLE, CURRENT ROLES, DATABASES, TABLES, CREATE TABLE or PARTITIONS after SHOW, found "FUNCTIONS"`},
		{"end of input", "GRANT ROLE r TO GROUP", 1, 22, "expected group name, found end of input"},
		{"create view", "CREATE VIEW d.v", 1, 8, `expected ROLE, DATABASE, EXTERNAL TABLE or TABLE after CREATE, found "VIEW"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := Parse(tc.src)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", Format(stmts))
			}
			if stmts != nil {
				t.Errorf("Parse returned statements with its error")
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			if se.Line != tc.line || se.Col != tc.col {
				t.Errorf("position = line %d, column %d; want line %d, column %d (%v)", se.Line, se.Col, tc.line, tc.col, err)
			}
			if !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("message = %q, want it to contain %q", se.Msg, tc.msg)
			}
		})
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Parse("CREATE ROLE a;\nGRANT ROLE a TO GROUP g;\nREVOKE ROLE a ON GROUP g;")
	want := `line 3, column 15: expected FROM, found "ON"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// TestRoundTrip checks that printing a tree and parsing it back gives the
// same tree, for trees built directly (including names that need quoting).
func TestRoundTrip(t *testing.T) {
	stmts := []Statement{
		&CreateRole{Name: "emr_user_role", IfNotExists: true},
		&CreateRole{Name: "to"},
		&DropRole{Name: "with space"},
		&GrantRole{Role: "r", Group: "9group"},
		&RevokeRole{Role: "r", Group: "grp-with-dash"},
		&GrantPrivileges{Privileges: Privileges(All | Select | Insert | Show | Delete | Create | Drop | Alter), Object: Object{Kind: ObjectServer}, Role: "admin"},
		&GrantPrivileges{Privileges: Privileges(Show), Object: Object{Kind: ObjectURI, Bucket: "mybucket", Path: "my path/with ‘quote"}, Role: "r"},
		&GrantPrivileges{Privileges: Privileges(Select), Object: Object{Kind: ObjectTable, Database: "db", Table: "table", Columns: []string{"a", "select"}}, Where: "a <> 'x' OR 'b' >= 1.5",
			Filter: &Logical{Op: OpOr, Terms: []Expr{
				&Comparison{Op: OpNe, Left: &ColumnRef{Name: "a"}, Right: &StringLit{Value: "x"}},
				&Comparison{Op: OpGe, Left: &StringLit{Value: "b"}, Right: &NumberLit{Text: "1.5"}},
			}}, Role: "r"},
		&RevokePrivileges{Privileges: Privileges(Delete), Object: Object{Kind: ObjectDatabase, Database: "db"}, Role: "r"},
		&ShowRoles{}, &ShowGrants{Role: "r"}, &ShowRoleGrant{Group: "g"}, &ShowCurrentRoles{},
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
}

func TestPrivilegesString(t *testing.T) {
	s := Privileges(Delete | Select | All)
	if got, want := s.String(), "ALL, SELECT, DELETE"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if !s.Has(Select) || s.Has(Insert) {
		t.Errorf("Has is wrong for %v", s)
	}
}
