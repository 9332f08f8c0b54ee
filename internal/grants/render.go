package grants

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Errors of RenderSQL, wrapped with detail.
var (
	// ErrUnknownColumn is a row filter naming a column the table does not
	// have (SQLEnv.Column answered false).
	ErrUnknownColumn = errors.New("grants: row filter names an unknown column")
	// ErrInvalidExpr is an expression tree no parse produces: a nil node,
	// an unknown operator, a number that is not one, text that cannot sit
	// in a SQL literal (NUL, invalid UTF-8).
	ErrInvalidExpr = errors.New("grants: invalid row filter expression")
)

// SQLEnv is what RenderSQL substitutes into a predicate.
type SQLEnv struct {
	// User replaces current_user().
	User string
	// Groups are the user's groups: has_group('g') is TRUE when g is one of
	// them (exact, case-sensitive unless FoldGroups), FALSE otherwise.
	// They are every group the user is in, not only those granted roles:
	// NOT has_group('contractors') must see a contractor.
	Groups []string
	// FoldGroups compares has_group's name with Groups ignoring case, for
	// users whose groups come from a case-insensitive source (a JWT claim,
	// LDAP).
	FoldGroups bool
	// Column maps a column name of the predicate (lower-case, as parsed)
	// to the name of the column in the SQL relation the expression will
	// run over; ok false means the table has no such column, and
	// RenderSQL fails with ErrUnknownColumn. It must not be nil.
	Column func(name string) (sqlName string, ok bool)
}

// RenderSQL renders e as a DuckDB boolean expression. Every identifier is
// double-quoted (a double quote inside doubled), every string
// single-quoted (a single quote inside doubled), numbers are checked against the literal syntax,
// current_user() becomes the string literal env.User and has_group('g')
// becomes TRUE or FALSE. Every operation is parenthesized, so the result
// means the same whatever DuckDB's precedences are, and can be combined
// with other SQL by AND or OR without parentheses of its own. No text of
// e or env reaches the result except inside those quotes.
func RenderSQL(e Expr, env SQLEnv) (string, error) {
	if env.Column == nil {
		return "", fmt.Errorf("%w: no column resolver", ErrInvalidExpr)
	}
	r := &renderer{env: env}
	if err := r.expr(e, 0); err != nil {
		return "", err
	}
	return r.b.String(), nil
}

const maxRenderDepth = 3*(MaxPredicateDepth+1) + 4

type renderer struct {
	env SQLEnv
	b   strings.Builder
}

// sqlText checks that s can sit inside a SQL quoted literal or identifier.
func sqlText(s, what string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidExpr, what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s holds a NUL byte", ErrInvalidExpr, what)
	}
	return nil
}

func (r *renderer) str(s, what string) error {
	if err := sqlText(s, what); err != nil {
		return err
	}
	r.b.WriteByte('\'')
	r.b.WriteString(strings.ReplaceAll(s, "'", "''"))
	r.b.WriteByte('\'')
	return nil
}

var sqlCompareOps = map[CompareOp]bool{OpEq: true, OpNe: true, OpLt: true, OpLe: true, OpGt: true, OpGe: true}

func (r *renderer) expr(e Expr, depth int) error {
	// A parsed predicate nests at most three nodes (a test, OR, AND) per
	// level of parentheses or NOT: a deeper tree was built by hand.
	if depth > maxRenderDepth {
		return fmt.Errorf("%w: nested more than %d levels", ErrInvalidExpr, maxRenderDepth)
	}
	depth++
	switch e := e.(type) {
	case *ColumnRef:
		if e == nil {
			break
		}
		name, ok := r.env.Column(e.Name)
		if !ok {
			return fmt.Errorf("%w: %s", ErrUnknownColumn, quoteColumn(e.Name))
		}
		if name == "" {
			return fmt.Errorf("%w: empty column name for %s", ErrInvalidExpr, quoteColumn(e.Name))
		}
		if err := sqlText(name, "a column name"); err != nil {
			return err
		}
		r.b.WriteByte('"')
		r.b.WriteString(strings.ReplaceAll(name, `"`, `""`))
		r.b.WriteByte('"')
		return nil
	case *StringLit:
		if e == nil {
			break
		}
		return r.str(e.Value, "a string literal")
	case *NumberLit:
		if e == nil {
			break
		}
		if !validNumber(e.Text) || len(e.Text) > MaxLiteralBytes+1 {
			return fmt.Errorf("%w: %q is not a number", ErrInvalidExpr, e.Text)
		}
		r.b.WriteString(e.Text)
		return nil
	case *BoolLit:
		if e == nil {
			break
		}
		r.b.WriteString(map[bool]string{true: "TRUE", false: "FALSE"}[e.Value])
		return nil
	case *NullLit:
		if e == nil {
			break
		}
		r.b.WriteString("NULL")
		return nil
	case *CurrentUser:
		if e == nil {
			break
		}
		return r.str(r.env.User, "the user name")
	case *HasGroup:
		if e == nil {
			break
		}
		if slices.ContainsFunc(r.env.Groups, func(g string) bool {
			return g == e.Group || (r.env.FoldGroups && strings.EqualFold(g, e.Group))
		}) {
			r.b.WriteString("TRUE")
		} else {
			r.b.WriteString("FALSE")
		}
		return nil
	case *Comparison:
		if e == nil || !sqlCompareOps[e.Op] {
			break
		}
		return r.group(depth, e.Left, " "+string(e.Op)+" ", e.Right)
	case *Logical:
		if e == nil || len(e.Terms) < 2 || (e.Op != OpAnd && e.Op != OpOr) {
			break
		}
		r.b.WriteByte('(')
		for i, t := range e.Terms {
			if i > 0 {
				r.b.WriteString(" " + e.Op.String() + " ")
			}
			if err := r.expr(t, depth); err != nil {
				return err
			}
		}
		r.b.WriteByte(')')
		return nil
	case *Not:
		if e == nil {
			break
		}
		r.b.WriteString("(NOT ")
		if err := r.expr(e.X, depth); err != nil {
			return err
		}
		r.b.WriteByte(')')
		return nil
	case *In:
		if e == nil || len(e.List) == 0 {
			break
		}
		r.b.WriteByte('(')
		if err := r.expr(e.X, depth); err != nil {
			return err
		}
		r.b.WriteString(sqlNot(e.Not) + " IN (")
		for i, x := range e.List {
			if i > 0 {
				r.b.WriteString(", ")
			}
			if err := r.expr(x, depth); err != nil {
				return err
			}
		}
		r.b.WriteString("))")
		return nil
	case *Between:
		if e == nil {
			break
		}
		return r.group(depth, e.X, sqlNot(e.Not)+" BETWEEN ", e.Low, " AND ", e.High)
	case *Like:
		if e == nil {
			break
		}
		return r.group(depth, e.X, sqlNot(e.Not)+" LIKE ", e.Pattern)
	case *IsNull:
		if e == nil {
			break
		}
		return r.group(depth, e.X, " IS"+sqlNot(e.Not)+" NULL")
	}
	return fmt.Errorf("%w: unexpected node %T", ErrInvalidExpr, e)
}

func sqlNot(not bool) string {
	if not {
		return " NOT"
	}
	return ""
}

// group writes "(" parts ")", where parts alternate expressions and fixed
// SQL text (the strings given here, never user text).
func (r *renderer) group(depth int, parts ...any) error {
	r.b.WriteByte('(')
	for _, part := range parts {
		switch part := part.(type) {
		case string:
			r.b.WriteString(part)
		case Expr:
			if err := r.expr(part, depth); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: missing operand", ErrInvalidExpr)
		}
	}
	r.b.WriteByte(')')
	return nil
}
