package grants

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParsePredicate(t *testing.T) {
	col := func(n string) Expr { return &ColumnRef{Name: n} }
	tests := []struct {
		name, src string
		want      Expr
		canonical string
	}{
		{"comparison", "Region = 'EU'", &Comparison{Op: OpEq, Left: col("region"), Right: &StringLit{Value: "EU"}}, "region = 'EU'"},
		{"not equal spellings", "a != 1", &Comparison{Op: OpNe, Left: col("a"), Right: &NumberLit{Text: "1"}}, "a <> 1"},
		{"double-quoted string", `a = "x'y"`, &Comparison{Op: OpEq, Left: col("a"), Right: &StringLit{Value: "x'y"}}, "a = 'x''y'"},
		{"doubled quote", "a = 'O''Brien'''", &Comparison{Op: OpEq, Left: col("a"), Right: &StringLit{Value: "O'Brien'"}}, "a = 'O''Brien'''"},
		{"adjacent strings with a blank stay apart", "a IN ('x' , 'y')", &In{X: col("a"), List: []Expr{&StringLit{Value: "x"}, &StringLit{Value: "y"}}}, "a IN ('x', 'y')"},
		{"negative exponent-free number", "a >= - 1.50E3", &Comparison{Op: OpGe, Left: col("a"), Right: &NumberLit{Text: "-1.50e3"}}, "a >= -1.50e3"},
		{"and binds tighter than or", "a OR b AND c", &Logical{Op: OpOr, Terms: []Expr{col("a"), &Logical{Op: OpAnd, Terms: []Expr{col("b"), col("c")}}}}, "a OR (b AND c)"},
		{"chain stays flat", "a AND b AND c", &Logical{Op: OpAnd, Terms: []Expr{col("a"), col("b"), col("c")}}, "a AND b AND c"},
		{"grouping kept", "a AND (b AND c)", &Logical{Op: OpAnd, Terms: []Expr{col("a"), &Logical{Op: OpAnd, Terms: []Expr{col("b"), col("c")}}}}, "a AND (b AND c)"},
		{"not binds looser than comparison", "NOT a = 1", &Not{X: &Comparison{Op: OpEq, Left: col("a"), Right: &NumberLit{Text: "1"}}}, "NOT a = 1"},
		{"functions", "owner = CURRENT_USER() OR Has_Group(\"g x\")", &Logical{Op: OpOr, Terms: []Expr{
			&Comparison{Op: OpEq, Left: col("owner"), Right: &CurrentUser{}}, &HasGroup{Group: "g x"}}}, "owner = current_user() OR has_group('g x')"},
		{"backquoted keyword column", "`NULL` IS NOT NULL", &IsNull{X: col("null"), Not: true}, "`null` IS NOT NULL"},
		{"between and like", "a NOT BETWEEN 1 AND 2 AND b LIKE 'x%'", &Logical{Op: OpAnd, Terms: []Expr{
			&Between{X: col("a"), Low: &NumberLit{Text: "1"}, High: &NumberLit{Text: "2"}, Not: true},
			&Like{X: col("b"), Pattern: &StringLit{Value: "x%"}}}}, "a NOT BETWEEN 1 AND 2 AND b LIKE 'x%'"},
		{"parenthesized operand", "(a = 1) = (b IN (NULL, TRUE))", &Comparison{Op: OpEq,
			Left:  &Comparison{Op: OpEq, Left: col("a"), Right: &NumberLit{Text: "1"}},
			Right: &In{X: col("b"), List: []Expr{&NullLit{}, &BoolLit{Value: true}}}}, "(a = 1) = (b IN (NULL, TRUE))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePredicate(tc.src)
			if err != nil {
				t.Fatalf("ParsePredicate: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParsePredicate = %s (%#v), want %s", got, got, tc.want)
			}
			if s := got.String(); s != tc.canonical {
				t.Errorf("String = %q, want %q", s, tc.canonical)
			}
			again, err := ParsePredicate(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("canonical text does not parse back equal: %v", err)
			}
		})
	}
}

func TestParsePredicateErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"other function", "a = 1 AND\n  concat(b, 'x') = 'y'", 2, 3, "function concat() is not allowed in a row filter"},
		{"trailing tokens", "a = 1 b", 1, 7, `expected AND, OR or end of the predicate, found "b"`},
		{"empty", "", 1, 1, "found end of input"},
		{"too deep", strings.Repeat("(", MaxPredicateDepth+1) + "a" + strings.Repeat(")", MaxPredicateDepth+1), 1, MaxPredicateDepth + 1, "nests more than 64 levels"},
		{"too deep with NOT", strings.Repeat("NOT ", MaxPredicateDepth+1) + "a", 1, 4*MaxPredicateDepth + 1, "nests more than 64 levels"},
		{"too many terms", "a IN (" + strings.Repeat("1, ", MaxPredicateNodes) + "1)", 1, 3*(MaxPredicateNodes-1) + 7, "more than 10000 terms"},
		{"long string", "a = '" + strings.Repeat("x", MaxLiteralBytes+1) + "'", 1, 5, "longer than 4096 bytes"},
		{"value alone", "current_user()", 1, 1, "a row filter must be a condition"},
		{"reserved column", "select = 1", 1, 1, "found keyword SELECT (backquote it to use it as a name)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParsePredicate(tc.src)
			if err == nil {
				t.Fatalf("ParsePredicate succeeded: %s", e)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			if se.Line != tc.line || se.Col != tc.col || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("error = %v; want line %d, column %d: …%s…", err, tc.line, tc.col, tc.msg)
			}
		})
	}
}

// testEnv resolves every column to its own name with a prefix holding a
// double quote, so that the tests see the doubling.
func testEnv() SQLEnv {
	return SQLEnv{
		User:   "o'brien",
		Groups: []string{"admins", "EU"},
		Column: func(name string) (string, bool) {
			if name == "missing" {
				return "", false
			}
			return name, true
		},
	}
}

func TestRenderSQL(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"comparison", "region = 'EU'", `("region" = 'EU')`},
		{"quotes doubled", "`a\"b` = 'it''s'", `("a""b" = 'it''s')`},
		{"current user", "owner = current_user()", `("owner" = 'o''brien')`},
		{"has group exact", "has_group('admins') OR has_group('Admins') OR has_group('eu')", `(TRUE OR FALSE OR FALSE)`},
		{"not, in, between", "NOT (a IN (1, -2.5) AND b NOT BETWEEN 'a' AND 'z')", `(NOT (("a" IN (1, -2.5)) AND ("b" NOT BETWEEN 'a' AND 'z')))`},
		{"like, is null, literals", "c LIKE '%x' OR d IS NOT NULL OR e = TRUE OR f <> NULL OR g NOT IN (FALSE)", `(("c" LIKE '%x') OR ("d" IS NOT NULL) OR ("e" = TRUE) OR ("f" <> NULL) OR ("g" NOT IN (FALSE)))`},
		{"nested comparison", "(a < 1) = (b >= 2)", `(("a" < 1) = ("b" >= 2))`},
		{"bare boolean column", "flag", `"flag"`},
		{"injection attempt stays a literal", "a = 'x'') OR 1=1 --'", `("a" = 'x'') OR 1=1 --')`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParsePredicate(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := RenderSQL(e, testEnv())
			if err != nil {
				t.Fatalf("RenderSQL: %v", err)
			}
			if got != tc.want {
				t.Errorf("RenderSQL = %s, want %s", got, tc.want)
			}
			checkSQL(t, e, testEnv(), got)
		})
	}
}

// TestRenderSQLDeepest renders the deepest predicates the parser accepts.
func TestRenderSQLDeepest(t *testing.T) {
	var parens, nots strings.Builder
	for range MaxPredicateDepth {
		parens.WriteString("a = (b OR c AND ")
	}
	parens.WriteString("d")
	parens.WriteString(strings.Repeat(")", MaxPredicateDepth))
	nots.WriteString(strings.Repeat("NOT ", MaxPredicateDepth) + "a")
	for _, src := range []string{parens.String(), nots.String()} {
		e, err := ParsePredicate(src)
		if err != nil {
			t.Fatalf("ParsePredicate: %v", err)
		}
		sql, err := RenderSQL(e, testEnv())
		if err != nil {
			t.Fatalf("RenderSQL: %v", err)
		}
		checkSQL(t, e, testEnv(), sql)
	}
	var deep Expr = &ColumnRef{Name: "a"}
	for range maxRenderDepth + 1 {
		deep = &Not{X: deep}
	}
	if _, err := RenderSQL(deep, testEnv()); !errors.Is(err, ErrInvalidExpr) {
		t.Errorf("RenderSQL of a hand-built tree %d deep: %v, want ErrInvalidExpr", maxRenderDepth+1, err)
	}
}

func TestRenderSQLErrors(t *testing.T) {
	resolver := testEnv().Column
	tests := []struct {
		name string
		e    Expr
		env  SQLEnv
		want error
		msg  string
	}{
		{"unknown column", &IsNull{X: &ColumnRef{Name: "missing"}}, testEnv(), ErrUnknownColumn, "missing"},
		{"no resolver", &BoolLit{Value: true}, SQLEnv{}, ErrInvalidExpr, "no column resolver"},
		{"bad number", &Comparison{Op: OpEq, Left: &ColumnRef{Name: "a"}, Right: &NumberLit{Text: "1; DROP TABLE x"}}, testEnv(), ErrInvalidExpr, "is not a number"},
		{"bad operator", &Comparison{Op: "=1 OR 1", Left: &ColumnRef{Name: "a"}, Right: &NumberLit{Text: "1"}}, testEnv(), ErrInvalidExpr, "unexpected node"},
		{"nil operand", &Like{X: &ColumnRef{Name: "a"}}, testEnv(), ErrInvalidExpr, "missing operand"},
		{"typed nil", &Not{X: (*ColumnRef)(nil)}, testEnv(), ErrInvalidExpr, "unexpected node"},
		{"one-term logical", &Logical{Op: OpAnd, Terms: []Expr{&BoolLit{}}}, testEnv(), ErrInvalidExpr, "unexpected node"},
		{"empty IN", &In{X: &ColumnRef{Name: "a"}}, testEnv(), ErrInvalidExpr, "unexpected node"},
		{"NUL in user", &Comparison{Op: OpEq, Left: &ColumnRef{Name: "a"}, Right: &CurrentUser{}}, SQLEnv{User: "a\x00b", Column: resolver}, ErrInvalidExpr, "NUL"},
		{"invalid UTF-8 literal", &Comparison{Op: OpEq, Left: &ColumnRef{Name: "a"}, Right: &StringLit{Value: "\xff"}}, testEnv(), ErrInvalidExpr, "UTF-8"},
		{"empty column name", &IsNull{X: &ColumnRef{Name: "a"}}, SQLEnv{Column: func(string) (string, bool) { return "", true }}, ErrInvalidExpr, "empty column name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RenderSQL(tc.e, tc.env)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("RenderSQL = %q, %v; want %v …%s…", got, err, tc.want, tc.msg)
			}
			if got != "" {
				t.Errorf("RenderSQL returned SQL %q with its error", got)
			}
		})
	}
}

// sqlToken is one token of rendered SQL, as DuckDB's lexer would split it.
type sqlToken struct {
	kind byte // 'i' quoted identifier, 's' string, 'w' word, 'n' number, 'p' punctuation
	text string
}

// lexSQL splits rendered SQL, failing on anything RenderSQL must never
// produce: an unterminated quote, a comment, a character outside the
// grammar.
func lexSQL(sql string) ([]sqlToken, error) {
	var out []sqlToken
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(sql) {
					return nil, errors.New("unterminated quote")
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(sql[j])
				j++
			}
			kind := byte('s')
			if c == '"' {
				kind = 'i'
			}
			out = append(out, sqlToken{kind, b.String()})
			i = j + 1
		case c >= 'A' && c <= 'Z':
			j := i
			for j < len(sql) && sql[j] >= 'A' && sql[j] <= 'Z' {
				j++
			}
			out = append(out, sqlToken{'w', sql[i:j]})
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(sql) && (sql[j] >= '0' && sql[j] <= '9' || sql[j] == '.' || sql[j] == 'e') {
				j++
			}
			if !validNumber(sql[i:j]) {
				return nil, errors.New("bad number " + sql[i:j])
			}
			out = append(out, sqlToken{'n', sql[i:j]})
			i = j
		case strings.HasPrefix(sql[i:], "<=") || strings.HasPrefix(sql[i:], ">=") || strings.HasPrefix(sql[i:], "<>"):
			out = append(out, sqlToken{'p', sql[i : i+2]})
			i += 2
		case strings.ContainsRune("()=<>,", rune(c)):
			out = append(out, sqlToken{'p', sql[i : i+1]})
			i++
		default:
			return nil, errors.New("unexpected character " + string(c))
		}
	}
	return out, nil
}

var sqlWords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "BETWEEN": true, "LIKE": true, "IS": true, "NULL": true, "TRUE": true, "FALSE": true}

// quotedParts lists, in order, the texts RenderSQL must quote for e: 'i'
// identifiers and 's' strings.
func quotedParts(e Expr, env SQLEnv, out *[]sqlToken) {
	switch e := e.(type) {
	case *ColumnRef:
		name, _ := env.Column(e.Name)
		*out = append(*out, sqlToken{'i', name})
	case *StringLit:
		*out = append(*out, sqlToken{'s', e.Value})
	case *CurrentUser:
		*out = append(*out, sqlToken{'s', env.User})
	case *Comparison:
		quotedParts(e.Left, env, out)
		quotedParts(e.Right, env, out)
	case *Logical:
		for _, t := range e.Terms {
			quotedParts(t, env, out)
		}
	case *Not:
		quotedParts(e.X, env, out)
	case *In:
		quotedParts(e.X, env, out)
		for _, x := range e.List {
			quotedParts(x, env, out)
		}
	case *Between:
		quotedParts(e.X, env, out)
		quotedParts(e.Low, env, out)
		quotedParts(e.High, env, out)
	case *Like:
		quotedParts(e.X, env, out)
		quotedParts(e.Pattern, env, out)
	case *IsNull:
		quotedParts(e.X, env, out)
	}
}

// checkSQL checks that sql, rendered from e, keeps every text of e and env
// inside quotes: it lexes into known words, numbers and operators, its
// parentheses balance, and its quoted parts are exactly the identifiers
// and strings of e, in order.
func checkSQL(t *testing.T, e Expr, env SQLEnv, sql string) {
	t.Helper()
	toks, err := lexSQL(sql)
	if err != nil {
		t.Fatalf("rendered SQL %q does not lex: %v", sql, err)
	}
	depth := 0
	var quoted []sqlToken
	for _, tok := range toks {
		switch {
		case tok.kind == 'w' && !sqlWords[tok.text]:
			t.Fatalf("rendered SQL %q holds the bare word %q", sql, tok.text)
		case tok.kind == 'i' || tok.kind == 's':
			quoted = append(quoted, tok)
		case tok.text == "(":
			depth++
		case tok.text == ")":
			depth--
			if depth < 0 {
				t.Fatalf("rendered SQL %q closes a parenthesis it did not open", sql)
			}
		}
	}
	if depth != 0 {
		t.Fatalf("rendered SQL %q leaves %d parentheses open", sql, depth)
	}
	var want []sqlToken
	quotedParts(e, env, &want)
	if !reflect.DeepEqual(quoted, want) {
		t.Fatalf("rendered SQL %q quotes %q, want %q", sql, quoted, want)
	}
}

func TestRestricted(t *testing.T) {
	table := Object{Kind: ObjectTable, Database: "d", Table: "t"}
	tests := []struct {
		name string
		g    GrantPrivileges
		want bool
	}{
		{"whole table", GrantPrivileges{Object: table}, false},
		{"columns", GrantPrivileges{Object: Object{Kind: ObjectTable, Columns: []string{"a"}}}, true},
		{"row filter text", GrantPrivileges{Object: table, Where: "a = 1"}, true},
		{"row filter tree", GrantPrivileges{Object: table, Filter: &BoolLit{Value: true}}, true},
		{"transform", GrantPrivileges{Object: table, Transforms: []Transform{{Target: "a", Func: TransformMask}}}, true},
		{"attributes", GrantPrivileges{Object: table, Attributes: &AttributeFilter{Names: []string{"pii"}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.g.Restricted(); got != tc.want {
				t.Errorf("Restricted = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAttributeFilterMatches(t *testing.T) {
	tests := []struct {
		name  string
		f     AttributeFilter
		attrs []string
		want  bool
	}{
		{"namespace matches its keys", AttributeFilter{Names: []string{"pii"}}, []string{"hr.dept", "pii.ssn"}, true},
		{"key matches itself only", AttributeFilter{Names: []string{"pii.ssn"}}, []string{"pii.email"}, false},
		{"namespace is not a prefix", AttributeFilter{Names: []string{"pi"}}, []string{"pii.ssn"}, false},
		{"no attributes", AttributeFilter{Names: []string{"pii"}}, nil, false},
		{"not in, matching", AttributeFilter{Not: true, Names: []string{"pii"}}, []string{"pii.ssn"}, false},
		{"not in, no attributes", AttributeFilter{Not: true, Names: []string{"pii"}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Matches(tc.attrs); got != tc.want {
				t.Errorf("Matches(%q) = %v, want %v", tc.attrs, got, tc.want)
			}
		})
	}
}

func TestOptionsKey(t *testing.T) {
	tests := []struct{ name, grant, want string }{
		{"none", "GRANT SELECT ON TABLE d.t WHERE a = 1 TO ROLE r", ""},
		{"transform", "GRANT SELECT (c1, ssn) ON TABLE d.t WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE r",
			"TRANSFORM ssn WITH mask_last(4)"},
		{"both, sorted", "GRANT SELECT ON DATABASE d HAVING ATTRIBUTE NOT IN (pii, hr) TRANSFORM b.x WITH redact('it''s') TRANSFORM a.y WITH null TO ROLE r",
			"HAVING ATTRIBUTE NOT IN (hr, pii) TRANSFORM a.y WITH null() TRANSFORM b.x WITH redact('it''s')"},
		{"column target quoted", "GRANT SELECT ON TABLE d.t TRANSFORM `select` WITH round_date(DAY) TO ROLE r",
			"TRANSFORM `select` WITH round_date('day')"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := Parse(tc.grant)
			if err != nil {
				t.Fatal(err)
			}
			g := stmts[0].(*GrantPrivileges)
			key := g.OptionsKey()
			if key != tc.want {
				t.Fatalf("OptionsKey = %q, want %q", key, tc.want)
			}
			f, ts, err := ParseOptionsKey(key)
			if err != nil {
				t.Fatalf("ParseOptionsKey: %v", err)
			}
			if !reflect.DeepEqual(f, g.Attributes) || !reflect.DeepEqual(ts, g.Transforms) {
				t.Errorf("ParseOptionsKey = %v, %v; want %v, %v", f, ts, g.Attributes, g.Transforms)
			}
		})
	}
}

func TestParseOptionsKeyRefuses(t *testing.T) {
	for _, s := range []string{
		"TRANSFORM ssn WITH mask",                            // not canonical: mask()
		"TRANSFORM b WITH mask() TRANSFORM a WITH mask()",    // not sorted
		"HAVING ATTRIBUTE IN (pii)  TRANSFORM a WITH null()", // two blanks
		"WHERE a = 1",
		"TRANSFORM a WITH mask() TO ROLE r",
		"TRANSFORM a WITH mask() TRANSFORM a WITH null()",
		"HAVING ATTRIBUTE IN (pii",
		"TRANSFORM a WITH mask('",
	} {
		if f, ts, err := ParseOptionsKey(s); err == nil {
			t.Errorf("ParseOptionsKey(%q) = %v, %v; want an error", s, f, ts)
		}
	}
}

// TestGrantRebuiltFromStore checks the path the store takes: a grant
// rebuilt from its stored parts (object key, columns, row filter text,
// options key) prints the text of the grant it came from, which parses
// back to the original, Filter included.
func TestGrantRebuiltFromStore(t *testing.T) {
	src := "GRANT SELECT(c1, c2, ssn) ON TABLE d.t WHERE region = 'EU' OR has_group('x') TRANSFORM ssn WITH mask_last(4) TO ROLE r"
	stmts, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	orig := stmts[0].(*GrantPrivileges)
	obj, err := ParseObjectKey(orig.Object.Kind, orig.Object.ObjectKey(), orig.Object.ColumnsKey())
	if err != nil {
		t.Fatal(err)
	}
	f, ts, err := ParseOptionsKey(orig.OptionsKey())
	if err != nil {
		t.Fatal(err)
	}
	rebuilt := &GrantPrivileges{Privileges: orig.Privileges, Object: obj, Attributes: f, Where: orig.Where, Transforms: ts, Role: orig.Role}
	if rebuilt.String() != orig.String() {
		t.Fatalf("rebuilt grant prints %q, want %q", rebuilt, orig)
	}
	again, err := Parse(rebuilt.String())
	if err != nil || !reflect.DeepEqual(again[0], Statement(orig)) {
		t.Fatalf("rebuilt grant does not parse back to the original: %v", err)
	}
	filter, err := ParsePredicate(orig.Where)
	if err != nil || !reflect.DeepEqual(filter, orig.Filter) {
		t.Fatalf("ParsePredicate(Where) = %v, %v; want %v", filter, err, orig.Filter)
	}
}
