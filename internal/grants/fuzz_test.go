package grants

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives printing: Parse(Format(stmts)) succeeds, yields equal statements
// and prints identically.
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=20s ./internal/grants/
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"CREATE ROLE IF NOT EXISTS r; DROP ROLE IF EXISTS r",
		"GRANT ROLE r TO GROUP g; REVOKE ROLE r FROM GROUP g;",
		"GRANT SHOW ON URI ‘s3://mybucket/mypath’ TO ROLE emr_user_role;",
		"GRANT SELECT, SHOW ON URI 's3a://bkt/a/b' TO ROLE r",
		"GRANT ALL ON SERVER TO ROLE admin; REVOKE DROP ON DATABASE db FROM ROLE r",
		"GRANT SELECT(a, `b c`) ON TABLE db.t TO ROLE r",
		"GRANT SELECT ON TABLE db.t WHERE (x < 1 AND y = 'a;b') -- c\n TO ROLE r",
		"SHOW ROLES; SHOW GRANTS ON ROLE r; SHOW ROLE GRANT GROUP g; SHOW CURRENT ROLES",
		"GRANT ALL ON URI 's3://experimental/workspaces/ TO ROLE analysts;",
		"CREATE ROLE `select`",
		"CREATE DATABASE IF NOT EXISTS Db COMMENT 'c' LOCATION 's3a://bkt/db/'; DROP SCHEMA IF EXISTS db CASCADE",
		"CREATE EXTERNAL TABLE experiments.transaction_data (\ntnxid INT,\ntnxdate DATE,\namount DOUBLE,\nregion STRING )\nSTORED AS PARQUET LOCATION 's3://experimental/workspaces/transaction_data'",
		"CREATE TABLE IF NOT EXISTS d.t (a decimal(5,2) COMMENT 'x', s struct<b:array<map<string,int>>, c:varchar(3)>) COMMENT 'c' PARTITIONED BY (dt date) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' STORED AS TEXTFILE LOCATION 's3://bkt/t/' TBLPROPERTIES ('k'='v')",
		"CREATE EXTERNAL TABLE d.t LIKE PARQUET 's3://bkt/f.parquet' STORED AS PARQUET; DROP TABLE IF EXISTS d.t",
		"ALTER TABLE d.t SET LOCATION 's3://bkt/x'; ALTER TABLE d.t ADD COLUMNS (location string); ALTER TABLE d.t RENAME TO e.u",
		"ALTER TABLE d.t ADD IF NOT EXISTS PARTITION (y=2024, m='07') LOCATION 's3://bkt/p'; ALTER TABLE d.t DROP PARTITION (y=-1.5)",
		"ALTER TABLE d.t RECOVER PARTITIONS; MSCK REPAIR TABLE d.t",
		"SHOW DATABASES; SHOW TABLES IN d; DESCRIBE FORMATTED d.t; DESC formatted.t; SHOW CREATE TABLE d.t; SHOW PARTITIONS d.t",
		"CREATE EXTERNAL TABLE d.t (a array<array<int>>) STORED AS ORC LOCATION 's3://bkt/a/../b'",
		"GRANT SELECT (c1, c2, ssn) ON TABLE d.t WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE r",
		"GRANT SELECT ON TABLE d.t WHERE owner = current_user() OR has_group('a''b') AND NOT (x IN (1, -2.5e3) OR y NOT BETWEEN 'a' AND \"z\") TO ROLE r",
		"GRANT SELECT ON TABLE d.t WHERE `and` LIKE '%x_' AND z IS NOT NULL AND (a = 1) = (b <> 2) TO ROLE r",
		"GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE NOT IN (pii, hr.x) TRANSFORM pii.ssn WITH redact('it''s') TRANSFORM a.b WITH round_date(day) TO ROLE r",
		"GRANT SELECT ON TABLE d.t HAVING ATTRIBUTE IN (pii) WHERE TRUE TRANSFORM c WITH null TRANSFORM `select` WITH sha256() TO ROLE r",
		"ALTER TABLE d.t ALTER COLUMN c SET ATTRIBUTES pii.ssn, pii.x_1; ALTER TABLE d.t ALTER COLUMN c UNSET ATTRIBUTES pii.ssn",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.sql"))
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(string(b))
		}
	}
	cases, _ := filepath.Glob(filepath.Join("testdata", "*.cases"))
	for _, in := range cases {
		if b, err := os.ReadFile(in); err == nil {
			for _, c := range strings.Split(string(b), "\n----\n") {
				f.Add(c)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		stmts, err := Parse(src)
		if err != nil {
			return
		}
		text := Format(stmts)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("canonical text does not parse: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(again, stmts) {
			t.Fatalf("round trip changed the statements\n--- first\n%s--- second\n%s", text, Format(again))
		}
		if text2 := Format(again); text2 != text {
			t.Fatalf("printing is not stable\n--- first\n%s--- second\n%s", text, text2)
		}
	})
}

// FuzzParseType checks that ParseType never panics and that the canonical
// text of whatever it accepts parses back to an equal Type and prints the
// same.
//
//	go test -run='^$' -fuzz=FuzzParseType -fuzztime=20s ./internal/grants/
func FuzzParseType(f *testing.F) {
	for _, s := range []string{
		"int", "INTEGER", "double precision", "decimal", "decimal(38,10)", "varchar(10)", "char(255)",
		"array<struct<a:int>>", "map<string,array<map<int,decimal(5)>>>",
		"struct<`A b`:string COMMENT 'c', location:date, s:struct<x:binary>>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		typ, err := ParseType(src)
		if err != nil {
			return
		}
		text := typ.String()
		again, err := ParseType(text)
		if err != nil {
			t.Fatalf("canonical type %q does not parse: %v", text, err)
		}
		if !reflect.DeepEqual(again, typ) {
			t.Fatalf("round trip changed the type: %q became %q", text, again.String())
		}
	})
}

// FuzzPredicate checks that ParsePredicate never panics, that whatever it
// accepts prints to a text that parses back to an equal tree, and that the
// SQL RenderSQL makes of it keeps every name and string inside quotes
// (checkSQL): no text of the predicate or of the environment can change
// the structure of the rendered SQL.
//
//	go test -run='^$' -fuzz=FuzzPredicate -fuzztime=20s ./internal/grants/
func FuzzPredicate(f *testing.F) {
	for _, s := range []string{
		"region = 'EU'",
		"a != 1 AND b <> 'x''y' OR NOT c <= -1.5e3",
		"owner = current_user() OR has_group('admins')",
		"`a\"b` IN ('x', \"y\", NULL, TRUE) AND c NOT IN (1)",
		"a BETWEEN 1 AND 2 AND b NOT BETWEEN 'a' AND 'z' AND c LIKE '%_' AND d NOT LIKE 'x'",
		"a IS NULL OR b IS NOT NULL OR ((c = 1) = (d > 2))",
		"NOT NOT (a AND (b OR c))",
		"a = 'x'') OR 1=1 --'",
		"a = ‘x’ -- comment\n AND b >= 0",
		"lower(a) = 'x'",
		"a = '\x00\xff'",
	} {
		f.Add(s, "user'\"", "g")
	}
	f.Fuzz(func(t *testing.T, src, user, group string) {
		e, err := ParsePredicate(src)
		if err != nil {
			return
		}
		text := e.String()
		again, err := ParsePredicate(text)
		if err != nil {
			t.Fatalf("canonical text %q does not parse: %v", text, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip changed the predicate: %q became %q", text, again.String())
		}
		env := SQLEnv{User: user, Groups: []string{group}, Column: func(name string) (string, bool) {
			return name + `"x'`, true
		}}
		sql, err := RenderSQL(e, env)
		if err != nil {
			// Only text that cannot sit in SQL at all is refused.
			if !errors.Is(err, ErrInvalidExpr) {
				t.Fatalf("RenderSQL(%q): %v", text, err)
			}
			return
		}
		checkSQL(t, e, env, sql)
	})
}

// FuzzParseOptionsKey checks that ParseOptionsKey never panics and accepts
// only canonical text: what it accepts prints back to itself.
//
//	go test -run='^$' -fuzz=FuzzParseOptionsKey -fuzztime=20s ./internal/grants/
func FuzzParseOptionsKey(f *testing.F) {
	for _, s := range []string{
		"",
		"TRANSFORM ssn WITH mask_last(4)",
		"HAVING ATTRIBUTE NOT IN (hr, pii) TRANSFORM a.y WITH null() TRANSFORM b.x WITH redact('it''s')",
		"HAVING ATTRIBUTE IN (pii.ssn)",
		"TRANSFORM `select` WITH round_date('day') TRANSFORM pii.x WITH tokenize()",
		"TRANSFORM ssn WITH mask",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		attrs, ts, err := ParseOptionsKey(s)
		if err != nil {
			return
		}
		if got := (&GrantPrivileges{Attributes: attrs, Transforms: ts}).OptionsKey(); got != s {
			t.Fatalf("ParseOptionsKey accepted %q, which prints as %q", s, got)
		}
	})
}
