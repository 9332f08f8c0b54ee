package grants

// Row filter predicates: the WHERE clause of a table grant, parsed into a
// typed expression tree (Expr) that prints back canonically (Expr.String)
// and renders to a DuckDB boolean expression (RenderSQL, in render.go).
//
// The language is deliberately small:
//
//	predicate  = or
//	or         = and { OR and }
//	and        = not { AND not }
//	not        = NOT not | test
//	test       = operand [ cmp operand | IS [NOT] NULL | [NOT] IN ( operand, … )
//	                       | [NOT] BETWEEN operand AND operand | [NOT] LIKE operand ]
//	operand    = column | literal | current_user() | has_group('g') | ( predicate )
//	cmp        = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	literal    = 'string' | "string" | [-]number | TRUE | FALSE | NULL
//
// Column names are lower-cased like every catalog name, bare or backquoted;
// the predicate's keywords (AND, OR, NOT, IN, BETWEEN, LIKE, IS, NULL, TRUE,
// FALSE) and the function names must be backquoted to name a column. A
// string is written between single quotes, a quote inside it doubled
// ('O''Brien'); a double-quoted "string" is a string too (Hive's reading,
// never an identifier) and prints single-quoted. Numbers are decimal:
// 12, -3, 1.5, 2e10. No other function may be called. The operands of AND,
// OR and NOT and the whole predicate must be able to be boolean (a test, a
// column, TRUE, FALSE, NULL, has_group(…)): WHERE 'x' is refused.

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds on a predicate, so that parsing, printing and rendering stay
// bounded in time and stack.
const (
	// MaxPredicateDepth bounds the nesting of parentheses and NOT.
	MaxPredicateDepth = 64
	// MaxPredicateNodes bounds the nodes of one predicate, IN list items
	// included.
	MaxPredicateNodes = 10000
	// MaxLiteralBytes bounds one string or number literal.
	MaxLiteralBytes = 4096
)

// Expr is a node of a row filter predicate. String returns its canonical
// text; ParsePredicate(e.String()) returns an Expr equal to e
// (reflect.DeepEqual) for every e ParsePredicate returns.
type Expr interface {
	String() string
	expr()
}

// ColumnRef names a column of the table, lower-cased.
type ColumnRef struct{ Name string }

// StringLit is a string literal; Value is its content, quotes removed.
type StringLit struct{ Value string }

// NumberLit is a numeric literal; Text is its canonical decimal text
// (optional '-', digits, optional fraction, optional exponent "e" digits).
type NumberLit struct{ Text string }

// BoolLit is TRUE or FALSE.
type BoolLit struct{ Value bool }

// NullLit is NULL.
type NullLit struct{}

// CurrentUser is current_user(): the name of the user the policy is
// evaluated for.
type CurrentUser struct{}

// HasGroup is has_group('g'): true when the user is in group g (exact,
// case-sensitive match).
type HasGroup struct{ Group string }

// CompareOp is a comparison operator in canonical spelling ("!=" is
// printed "<>").
type CompareOp string

// The comparison operators.
const (
	OpEq CompareOp = "="
	OpNe CompareOp = "<>"
	OpLt CompareOp = "<"
	OpLe CompareOp = "<="
	OpGt CompareOp = ">"
	OpGe CompareOp = ">="
)

// Comparison is Left Op Right.
type Comparison struct {
	Op          CompareOp
	Left, Right Expr
}

// LogicalOp is AND or OR.
type LogicalOp uint8

// The logical operators.
const (
	OpAnd LogicalOp = iota + 1
	OpOr
)

// String returns the keyword of o.
func (o LogicalOp) String() string {
	switch o {
	case OpAnd:
		return "AND"
	case OpOr:
		return "OR"
	}
	return "?"
}

// Logical is Terms[0] Op Terms[1] Op …: a chain of one operator written
// without parentheses is one node with two or more terms; a parenthesized
// sub-chain is a term of its own.
type Logical struct {
	Op    LogicalOp
	Terms []Expr
}

// Not is NOT X.
type Not struct{ X Expr }

// In is X [NOT] IN (List…).
type In struct {
	X    Expr
	List []Expr
	Not  bool
}

// Between is X [NOT] BETWEEN Low AND High (bounds included).
type Between struct {
	X, Low, High Expr
	Not          bool
}

// Like is X [NOT] LIKE Pattern, SQL's pattern match (% any run, _ one
// character), case-sensitive.
type Like struct {
	X, Pattern Expr
	Not        bool
}

// IsNull is X IS [NOT] NULL.
type IsNull struct {
	X   Expr
	Not bool
}

func (*ColumnRef) expr()   {}
func (*StringLit) expr()   {}
func (*NumberLit) expr()   {}
func (*BoolLit) expr()     {}
func (*NullLit) expr()     {}
func (*CurrentUser) expr() {}
func (*HasGroup) expr()    {}
func (*Comparison) expr()  {}
func (*Logical) expr()     {}
func (*Not) expr()         {}
func (*In) expr()          {}
func (*Between) expr()     {}
func (*Like) expr()        {}
func (*IsNull) expr()      {}

// predicateWords are the words that must be backquoted to name a column
// inside a predicate.
var predicateWords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "between": true, "like": true,
	"is": true, "null": true, "true": true, "false": true,
	"current_user": true, "has_group": true,
}

// quoteColumn prints a column name for a predicate: bare when it is a plain
// identifier and no keyword, backquoted otherwise.
func quoteColumn(name string) string {
	if predicateWords[strings.ToLower(name)] {
		return "`" + name + "`"
	}
	return quoteIdent(name)
}

// quoteLiteral prints s as a single-quoted literal of the grant language,
// doubling the quotes inside it.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (e *ColumnRef) String() string { return quoteColumn(e.Name) }
func (e *StringLit) String() string { return quoteLiteral(e.Value) }
func (e *NumberLit) String() string { return e.Text }
func (e *BoolLit) String() string {
	if e.Value {
		return "TRUE"
	}
	return "FALSE"
}
func (*NullLit) String() string     { return "NULL" }
func (*CurrentUser) String() string { return "current_user()" }
func (e *HasGroup) String() string  { return "has_group(" + quoteLiteral(e.Group) + ")" }

func (e *Comparison) String() string {
	return operandString(e.Left) + " " + string(e.Op) + " " + operandString(e.Right)
}

func (e *Logical) String() string {
	var b strings.Builder
	for i, t := range e.Terms {
		if i > 0 {
			b.WriteString(" " + e.Op.String() + " ")
		}
		// A logical term is always parenthesized: an AND inside an OR
		// would not need it, but reads ambiguously without, and a chain
		// of the same operator keeps its grouping.
		if _, ok := t.(*Logical); ok {
			b.WriteString("(" + exprString(t) + ")")
		} else {
			b.WriteString(exprString(t))
		}
	}
	return b.String()
}

func (e *Not) String() string {
	if _, ok := e.X.(*Logical); ok {
		return "NOT (" + exprString(e.X) + ")"
	}
	return "NOT " + exprString(e.X)
}

func notWord(not bool) string {
	if not {
		return " NOT"
	}
	return ""
}

func (e *In) String() string {
	var b strings.Builder
	b.WriteString(operandString(e.X) + notWord(e.Not) + " IN (")
	for i, x := range e.List {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(operandString(x))
	}
	b.WriteByte(')')
	return b.String()
}

func (e *Between) String() string {
	return operandString(e.X) + notWord(e.Not) + " BETWEEN " + operandString(e.Low) + " AND " + operandString(e.High)
}

func (e *Like) String() string {
	return operandString(e.X) + notWord(e.Not) + " LIKE " + operandString(e.Pattern)
}

func (e *IsNull) String() string { return operandString(e.X) + " IS" + notWord(e.Not) + " NULL" }

// exprString prints e, "?" for a nil node.
func exprString(e Expr) string {
	if e == nil {
		return "?"
	}
	return e.String()
}

// isPrimary reports whether e prints as an operand without parentheses.
func isPrimary(e Expr) bool {
	switch e.(type) {
	case *ColumnRef, *StringLit, *NumberLit, *BoolLit, *NullLit, *CurrentUser, *HasGroup:
		return true
	}
	return false
}

// operandString prints e where an operand goes, parenthesized unless it is
// primary.
func operandString(e Expr) string {
	if e == nil || isPrimary(e) {
		return exprString(e)
	}
	return "(" + e.String() + ")"
}

// canBeBoolean reports whether e may stand where a boolean is needed.
func canBeBoolean(e Expr) bool {
	switch e.(type) {
	case *StringLit, *NumberLit, *CurrentUser:
		return false
	}
	return true
}

// ParsePredicate parses the text of a row filter (what follows WHERE), for
// example the canonical text stored with a grant. The error is a
// *SyntaxError whose position is within text.
func ParsePredicate(text string) (Expr, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{src: text, toks: toks}
	e, err := p.predicate()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "expected AND, OR or end of the predicate, found %s", t.describe(text))
	}
	return e, nil
}

// predParser parses one predicate, counting its depth and nodes.
type predParser struct {
	*parser
	depth, nodes int
}

// predicate parses a row filter predicate at the parser's position and
// stops after it (at TRANSFORM, TO, or whatever follows).
func (p *parser) predicate() (Expr, error) {
	pp := &predParser{parser: p}
	t := p.peek()
	e, err := pp.or()
	if err != nil {
		return nil, err
	}
	if !canBeBoolean(e) {
		return nil, p.errorf(t, "a row filter must be a condition, not the value %s", e)
	}
	return e, nil
}

func (p *predParser) node(t token) error {
	p.nodes++
	if p.nodes > MaxPredicateNodes {
		return p.errorf(t, "the predicate has more than %d terms", MaxPredicateNodes)
	}
	return nil
}

func (p *predParser) logical(op LogicalOp, sub func() (Expr, error)) (Expr, error) {
	t := p.peek()
	first, err := sub()
	if err != nil {
		return nil, err
	}
	if !p.isKeyword(op.String()) {
		return first, nil
	}
	if !canBeBoolean(first) {
		return nil, p.errorf(t, "%s needs conditions on both sides, not the value %s", op, first)
	}
	terms := []Expr{first}
	for p.isKeyword(op.String()) {
		p.next()
		t := p.peek()
		if err := p.node(t); err != nil {
			return nil, err
		}
		e, err := sub()
		if err != nil {
			return nil, err
		}
		if !canBeBoolean(e) {
			return nil, p.errorf(t, "%s needs conditions on both sides, not the value %s", op, e)
		}
		terms = append(terms, e)
	}
	return &Logical{Op: op, Terms: terms}, nil
}

func (p *predParser) or() (Expr, error) { return p.logical(OpOr, p.and) }

func (p *predParser) and() (Expr, error) { return p.logical(OpAnd, p.not) }

func (p *predParser) enter(t token) error {
	p.depth++
	if p.depth > MaxPredicateDepth {
		return p.errorf(t, "the predicate nests more than %d levels of parentheses and NOT", MaxPredicateDepth)
	}
	return p.node(t)
}

func (p *predParser) not() (Expr, error) {
	if !p.isKeyword("NOT") {
		return p.test()
	}
	t := p.next()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	xt := p.peek()
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	p.depth--
	if !canBeBoolean(x) {
		return nil, p.errorf(xt, "NOT needs a condition, not the value %s", x)
	}
	return &Not{X: x}, nil
}

// cmpOp reads a comparison operator at the parser's position, if there is
// one: its characters must be adjacent ("< =" is not "<=").
func (p *predParser) cmpOp() (CompareOp, bool) {
	t := p.peek()
	if t.kind != tokOther {
		return "", false
	}
	n := p.peekAt(1)
	two := n.kind == tokOther && n.start == t.end
	switch {
	case t.text == "=":
		p.next()
		return OpEq, true
	case t.text == "!" && two && n.text == "=":
		p.next()
		p.next()
		return OpNe, true
	case t.text == "<" && two && n.text == "=":
		p.next()
		p.next()
		return OpLe, true
	case t.text == "<" && two && n.text == ">":
		p.next()
		p.next()
		return OpNe, true
	case t.text == "<":
		p.next()
		return OpLt, true
	case t.text == ">" && two && n.text == "=":
		p.next()
		p.next()
		return OpGe, true
	case t.text == ">":
		p.next()
		return OpGt, true
	}
	return "", false
}

func (p *predParser) test() (Expr, error) {
	x, err := p.operand()
	if err != nil {
		return nil, err
	}
	if op, ok := p.cmpOp(); ok {
		y, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &Comparison{Op: op, Left: x, Right: y}, nil
	}
	if p.isKeyword("IS") {
		p.next()
		not := false
		if p.isKeyword("NOT") {
			p.next()
			not = true
		}
		if err := p.expect("NULL"); err != nil {
			return nil, err
		}
		return &IsNull{X: x, Not: not}, nil
	}
	not := false
	if nt := p.peek(); isKeyword(nt, "NOT") {
		n := p.peekAt(1)
		if !isKeyword(n, "IN") && !isKeyword(n, "BETWEEN") && !isKeyword(n, "LIKE") {
			return nil, p.errorf(n, "expected IN, BETWEEN or LIKE after NOT, found %s", n.describe(p.src))
		}
		p.next()
		not = true
	}
	switch t := p.peek(); {
	case isKeyword(t, "IN"):
		p.next()
		if err := p.expectPunct("(", "( after IN"); err != nil {
			return nil, err
		}
		in := &In{X: x, Not: not}
		for {
			e, err := p.operand()
			if err != nil {
				return nil, err
			}
			in.List = append(in.List, e)
			if p.isPunct(",") {
				p.next()
				continue
			}
			if err := p.expectPunct(")", ", or ) in the IN list"); err != nil {
				return nil, err
			}
			return in, nil
		}
	case isKeyword(t, "BETWEEN"):
		p.next()
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect("AND"); err != nil {
			return nil, err
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &Between{X: x, Low: lo, High: hi, Not: not}, nil
	case isKeyword(t, "LIKE"):
		p.next()
		pat, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &Like{X: x, Pattern: pat, Not: not}, nil
	}
	return x, nil
}

// operand reads a column, a literal, a function call or a parenthesized
// predicate.
func (p *predParser) operand() (Expr, error) {
	t := p.peek()
	if err := p.node(t); err != nil {
		return nil, err
	}
	switch {
	case t.kind == tokPunct && t.text == "(":
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		if err := p.expectPunct(")", "AND, OR or ) to close the ( opened at line "+fmt.Sprint(t.line)+", column "+fmt.Sprint(t.col)); err != nil {
			return nil, err
		}
		return e, nil
	case t.kind == tokString || t.kind == tokDString:
		s, _, err := p.literalString("a string")
		if err != nil {
			return nil, err
		}
		return &StringLit{Value: s}, nil
	case t.kind == tokNumber:
		p.next()
		return p.number(t, "")
	case t.kind == tokOther && t.text == "-":
		p.next()
		n := p.peek()
		if n.kind != tokNumber {
			return nil, p.errorf(n, "expected a number after -, found %s", n.describe(p.src))
		}
		p.next()
		return p.number(n, "-")
	case t.kind == tokQIdent:
		p.next()
		return &ColumnRef{Name: lowerASCII(t.text)}, nil
	case t.kind == tokWord:
		return p.word(t)
	case t.kind == tokEOF:
		return nil, p.errorf(t, "expected a column, a value or ( in the predicate, found end of input")
	}
	return nil, p.errorf(t, "expected a column, a value or ( in the predicate, found %s", t.describe(p.src))
}

func (p *predParser) number(t token, sign string) (Expr, error) {
	text := strings.ToLower(t.text)
	if !validNumber(text) || len(text) > MaxLiteralBytes {
		return nil, p.errorf(t, "invalid number %s: write digits, an optional fraction and an optional exponent such as 1.5e3", t.describe(p.src))
	}
	return &NumberLit{Text: sign + text}, nil
}

// validNumber accepts digits[.digits][e digits], with an optional leading
// '-' (the canonical text of a NumberLit).
func validNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	digits := func(x string) bool { return x != "" && strings.Trim(x, "0123456789") == "" }
	mant, exp, hasExp := strings.Cut(s, "e")
	if hasExp && !digits(exp) {
		return false
	}
	whole, frac, dot := strings.Cut(mant, ".")
	return digits(whole) && (!dot || digits(frac))
}

// word reads an operand starting with a bare word: a keyword literal, one
// of the two functions, or a column.
func (p *predParser) word(t token) (Expr, error) {
	lower := strings.ToLower(t.text)
	next := p.peekAt(1)
	call := next.kind == tokPunct && next.text == "("
	switch {
	case lower == "true" || lower == "false":
		p.next()
		return &BoolLit{Value: lower == "true"}, nil
	case lower == "null":
		p.next()
		return &NullLit{}, nil
	case lower == "current_user":
		p.next()
		if !call {
			return nil, p.errorf(t, "write current_user() for the user's name (backquote `current_user` to name a column)")
		}
		p.next()
		if err := p.expectPunct(")", ") (current_user() takes no argument)"); err != nil {
			return nil, err
		}
		return &CurrentUser{}, nil
	case lower == "has_group":
		p.next()
		if !call {
			return nil, p.errorf(t, "write has_group('group') (backquote `has_group` to name a column)")
		}
		p.next()
		if k := p.peek().kind; k != tokString && k != tokDString {
			return nil, p.errorf(p.peek(), "has_group takes one quoted group name, found %s", p.peek().describe(p.src))
		}
		g, _, err := p.literalString("the group name")
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")", ") (has_group takes one group name)"); err != nil {
			return nil, err
		}
		return &HasGroup{Group: g}, nil
	case call:
		return nil, p.errorf(t, "function %s() is not allowed in a row filter: only current_user() and has_group('group')", t.text)
	case predicateWords[lower]:
		return nil, p.errorf(t, "expected a column, a value or ( in the predicate, found keyword %s (backquote it to use it as a column name)", strings.ToUpper(t.text))
	}
	name, err := p.name("column name")
	if err != nil {
		return nil, err
	}
	return &ColumnRef{Name: name}, nil
}

// literalString reads a string literal of a predicate or a transform
// argument: single-quoted with a doubled quote standing for one, or
// "double-quoted". A value that the printer could not write back (one
// holding the typographic quote ’, which closes a string) is refused.
func (p *parser) literalString(what string) (string, token, error) {
	t := p.peek()
	switch t.kind {
	case tokDString:
		p.next()
		if strings.ContainsRune(t.text, '’') {
			return "", t, p.errorf(t, "a string literal cannot hold the quote ’")
		}
		if len(t.text) > MaxLiteralBytes {
			return "", t, p.errorf(t, "a string literal is longer than %d bytes", MaxLiteralBytes)
		}
		if msg := badLiteral(t.text); msg != "" {
			return "", t, p.errorf(t, "%s", msg)
		}
		return t.text, t, nil
	case tokString:
	default:
		return "", t, p.errorf(t, "expected %s, found %s", what, t.describe(p.src))
	}
	p.next()
	var b strings.Builder
	b.WriteString(t.text)
	last := t
	// 'a''b' lexes as two adjacent strings: their junction is a quote.
	for {
		n := p.peek()
		if n.kind != tokString || n.start != last.end || p.src[last.end-1] != '\'' || p.src[n.start] != '\'' {
			break
		}
		p.next()
		b.WriteByte('\'')
		b.WriteString(n.text)
		last = n
		if b.Len() > MaxLiteralBytes {
			break
		}
	}
	if b.Len() > MaxLiteralBytes {
		return "", t, p.errorf(t, "a string literal is longer than %d bytes", MaxLiteralBytes)
	}
	if msg := badLiteral(b.String()); msg != "" {
		return "", t, p.errorf(t, "%s", msg)
	}
	return b.String(), t, nil
}

// badLiteral explains why s cannot be a string literal ("" when it can):
// it must be UTF-8 without NUL, so that it can reach SQL.
func badLiteral(s string) string {
	if !utf8.ValidString(s) {
		return "a string literal is not valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "a string literal holds a NUL character"
	}
	return ""
}
