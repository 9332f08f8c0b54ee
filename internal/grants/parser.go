package grants

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lakegate/lakegate/internal/s3/s3name"
)

// SyntaxError is a statement that does not parse. Line and Col are 1-based;
// Col counts characters (runes), not bytes.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// reserved are the keywords that cannot be bare identifiers.
var reserved = map[string]bool{}

func init() {
	for _, w := range []string{
		"ALL", "ALTER", "CREATE", "CURRENT", "DATABASE", "DELETE", "DROP",
		"EXISTS", "FROM", "GRANT", "GRANTS", "GROUP", "IF", "INSERT", "NOT",
		"ON", "REVOKE", "ROLE", "ROLES", "SELECT", "SERVER", "SHOW", "TABLE",
		"TO", "URI", "WHERE",
	} {
		reserved[w] = true
	}
}

func isReserved(word string) bool { return reserved[strings.ToUpper(word)] }

// Parse parses src, a sequence of statements separated by semicolons, and
// returns them in order. Empty statements are skipped. The error, if any, is
// a *SyntaxError naming the first problem; no statements are returned with it.
func Parse(src string) ([]Statement, error) {
	located, err := ParseScript(src)
	if err != nil {
		return nil, err
	}
	var out []Statement
	for _, l := range located {
		out = append(out, l.Statement)
	}
	return out, nil
}

// Located is a parsed statement with the 1-based line and column (in
// characters) where it starts in the source, so that a failure executing
// it can be reported where the author wrote it.
type Located struct {
	Statement
	Line, Col int
}

// ParseScript is Parse keeping each statement's position.
func ParseScript(src string) ([]Located, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	var out []Located
	for {
		for p.isPunct(";") {
			p.next()
		}
		start := p.peek()
		if start.kind == tokEOF {
			return out, nil
		}
		st, err := p.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, Located{Statement: st, Line: start.line, Col: start.col})
		if t := p.peek(); t.kind != tokEOF && !p.isPunct(";") {
			return nil, p.errorf(t, "expected ; or end of input, found %s", t.describe(src))
		}
	}
}

type parser struct {
	src  string
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) token {
	if p.pos+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.pos+n]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return &SyntaxError{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func isKeyword(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

func (p *parser) isKeyword(kw string) bool { return isKeyword(p.peek(), kw) }

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

// expect consumes the keywords kws in order, or fails naming the first
// one missing.
func (p *parser) expect(kws ...string) error {
	for _, kw := range kws {
		if !p.isKeyword(kw) {
			t := p.peek()
			return p.errorf(t, "expected %s, found %s", kw, t.describe(p.src))
		}
		p.next()
	}
	return nil
}

// expectPunct consumes the punctuation s or fails naming it.
func (p *parser) expectPunct(s, what string) error {
	if !p.isPunct(s) {
		t := p.peek()
		return p.errorf(t, "expected %s, found %s", what, t.describe(p.src))
	}
	p.next()
	return nil
}

// ident consumes an identifier; what names it in the error message.
func (p *parser) ident(what string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == tokQIdent:
		p.next()
		return t.text, nil
	case t.kind == tokWord && !isReserved(t.text):
		p.next()
		return t.text, nil
	case t.kind == tokWord:
		return "", p.errorf(t, "expected %s, found keyword %s (backquote it to use it as a name)", what, strings.ToUpper(t.text))
	}
	return "", p.errorf(t, "expected %s, found %s", what, t.describe(p.src))
}

func (p *parser) statement() (Statement, error) {
	t := p.peek()
	switch {
	case isKeyword(t, "CREATE"):
		p.next()
		return p.create()
	case isKeyword(t, "DROP"):
		p.next()
		return p.drop()
	case isKeyword(t, "ALTER"):
		p.next()
		return p.alterTable()
	case isKeyword(t, "MSCK"):
		p.next()
		return p.msck()
	case isKeyword(t, "DESCRIBE"), isKeyword(t, "DESC"):
		p.next()
		return p.describe()
	case isKeyword(t, "GRANT"):
		p.next()
		return p.grantOrRevoke(true)
	case isKeyword(t, "REVOKE"):
		p.next()
		return p.grantOrRevoke(false)
	case isKeyword(t, "SHOW"):
		p.next()
		return p.show()
	}
	return nil, p.errorf(t, "expected CREATE, DROP, ALTER, GRANT, REVOKE, SHOW, DESCRIBE or MSCK, found %s", t.describe(p.src))
}

func (p *parser) createRole() (Statement, error) {
	if err := p.expect("ROLE"); err != nil {
		return nil, err
	}
	st := &CreateRole{}
	if p.isKeyword("IF") {
		p.next()
		if err := p.expect("NOT", "EXISTS"); err != nil {
			return nil, err
		}
		st.IfNotExists = true
	}
	name, err := p.ident("role name")
	if err != nil {
		return nil, err
	}
	st.Name = name
	return st, nil
}

func (p *parser) dropRole() (Statement, error) {
	if err := p.expect("ROLE"); err != nil {
		return nil, err
	}
	st := &DropRole{}
	if p.isKeyword("IF") {
		p.next()
		if err := p.expect("EXISTS"); err != nil {
			return nil, err
		}
		st.IfExists = true
	}
	name, err := p.ident("role name")
	if err != nil {
		return nil, err
	}
	st.Name = name
	return st, nil
}

// direction consumes TO (grant) or FROM (revoke), with a hint when the
// other one was written.
func (p *parser) direction(grant bool) error {
	want, other, verb := "TO", "FROM", "GRANT"
	if !grant {
		want, other, verb = "FROM", "TO", "REVOKE"
	}
	if p.isKeyword(want) {
		p.next()
		return nil
	}
	t := p.peek()
	if isKeyword(t, other) {
		return p.errorf(t, "expected %s, found %s (%s takes %s)", want, t.describe(p.src), verb, want)
	}
	return p.errorf(t, "expected %s, found %s", want, t.describe(p.src))
}

func (p *parser) grantOrRevoke(grant bool) (Statement, error) {
	if p.isKeyword("ROLE") {
		p.next()
		role, err := p.ident("role name")
		if err != nil {
			return nil, err
		}
		if err := p.direction(grant); err != nil {
			return nil, err
		}
		if err := p.expect("GROUP"); err != nil {
			return nil, err
		}
		group, err := p.ident("group name")
		if err != nil {
			return nil, err
		}
		if grant {
			return &GrantRole{Role: role, Group: group}, nil
		}
		return &RevokeRole{Role: role, Group: group}, nil
	}

	privs, cols, colsTok, err := p.privileges()
	if err != nil {
		return nil, err
	}
	if err := p.expect("ON"); err != nil {
		return nil, err
	}
	obj, err := p.object()
	if err != nil {
		return nil, err
	}
	if cols != nil {
		if obj.Kind != ObjectTable {
			return nil, p.errorf(colsTok, "a column list is only allowed ON TABLE, not ON %s", obj.Kind)
		}
		obj.Columns = cols
	}
	if !grant {
		if t := p.peek(); isKeyword(t, "HAVING") || isKeyword(t, "WHERE") || isKeyword(t, "TRANSFORM") {
			return nil, p.errorf(t, "REVOKE takes no %s clause: it revokes the privileges on the object whatever filters and masks the grants carry", strings.ToUpper(t.text))
		}
		if err := p.direction(false); err != nil {
			return nil, err
		}
		if err := p.expect("ROLE"); err != nil {
			return nil, err
		}
		role, err := p.ident("role name")
		if err != nil {
			return nil, err
		}
		return &RevokePrivileges{Privileges: privs, Object: obj, Role: role}, nil
	}
	st := &GrantPrivileges{Privileges: privs, Object: obj}
	if err := p.grantClauses(st, colsTok); err != nil {
		return nil, err
	}
	if err := p.direction(true); err != nil {
		return nil, err
	}
	if err := p.expect("ROLE"); err != nil {
		return nil, err
	}
	role, err := p.ident("role name")
	if err != nil {
		return nil, err
	}
	st.Role = role
	return st, nil
}

// grantClauses parses the optional HAVING ATTRIBUTE, WHERE and TRANSFORM
// clauses of a grant, in that order, into st.
func (p *parser) grantClauses(st *GrantPrivileges, colsTok token) error {
	// fineGrained checks that the clause at t may appear on this grant.
	fineGrained := func(t token, clause string, tableOnly bool) error {
		kinds := "DATABASE or TABLE"
		if tableOnly {
			kinds = "TABLE"
		}
		okKind := st.Object.Kind == ObjectTable || (!tableOnly && st.Object.Kind == ObjectDatabase)
		if !okKind || st.Privileges != Privileges(Select) {
			return p.errorf(t, "%s is only allowed on GRANT SELECT ON %s (SELECT alone)", clause, kinds)
		}
		return nil
	}
	if p.isKeyword("HAVING") {
		ht := p.next()
		if err := fineGrained(ht, "a HAVING ATTRIBUTE clause", false); err != nil {
			return err
		}
		if st.Object.Columns != nil {
			return p.errorf(colsTok, "a column list and HAVING ATTRIBUTE cannot be combined: choose the columns one way")
		}
		f, err := p.havingClause()
		if err != nil {
			return err
		}
		st.Attributes = f
	}
	if p.isKeyword("WHERE") {
		wt := p.next()
		if err := fineGrained(wt, "a WHERE row filter", true); err != nil {
			return err
		}
		if t := p.peek(); isKeyword(t, "TO") && isKeyword(p.peekAt(1), "ROLE") {
			return p.errorf(t, "expected a predicate after WHERE, found %s", t.describe(p.src))
		}
		e, err := p.predicate()
		if err != nil {
			return err
		}
		if t := p.peek(); !isKeyword(t, "TRANSFORM") && !isKeyword(t, "TO") && !isKeyword(t, "HAVING") {
			return p.errorf(t, "expected AND, OR, TRANSFORM or TO ROLE after the WHERE predicate, found %s", t.describe(p.src))
		}
		st.Filter, st.Where = e, e.String()
	}
	if t := p.peek(); isKeyword(t, "TRANSFORM") {
		if err := fineGrained(t, "a TRANSFORM clause", false); err != nil {
			return err
		}
		ts, err := p.transformClauses(&st.Object)
		if err != nil {
			return err
		}
		st.Transforms = ts
	}
	if t := p.peek(); isKeyword(t, "HAVING") || isKeyword(t, "WHERE") || isKeyword(t, "TRANSFORM") {
		return p.errorf(t, "%s is out of place: the clauses go HAVING ATTRIBUTE, WHERE, TRANSFORM, then TO ROLE", strings.ToUpper(t.text))
	}
	return nil
}

const privilegeList = "ALL, SELECT, INSERT, SHOW, DELETE, CREATE, DROP, ALTER"

// privileges parses a comma list of privileges, where SELECT may carry a
// column list. It returns the columns (nil if none) and the token that
// opened them.
func (p *parser) privileges() (Privileges, []string, token, error) {
	var set Privileges
	var cols []string
	var colsTok token
	for {
		t := p.peek()
		priv, ok := Privilege(0), false
		if t.kind == tokWord {
			priv, ok = privilegeByName(t.text)
		}
		if !ok {
			return 0, nil, colsTok, p.errorf(t, "expected a privilege (%s) or ROLE, found %s", privilegeList, t.describe(p.src))
		}
		if set.Has(priv) {
			return 0, nil, colsTok, p.errorf(t, "privilege %s given twice", priv)
		}
		p.next()
		set |= Privileges(priv)
		if p.isPunct("(") {
			colsTok = p.next()
			if priv != Select {
				return 0, nil, colsTok, p.errorf(colsTok, "a column list is only allowed after SELECT, not %s", priv)
			}
			for {
				c, err := p.name("column name")
				if err != nil {
					return 0, nil, colsTok, err
				}
				cols = append(cols, c)
				if p.isPunct(",") {
					p.next()
					continue
				}
				if err := p.expectPunct(")", ", or )"); err != nil {
					return 0, nil, colsTok, err
				}
				break
			}
		}
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	if cols != nil && set != Privileges(Select) {
		return 0, nil, colsTok, p.errorf(colsTok, "a column list is only allowed when SELECT is the only privilege")
	}
	return set, cols, colsTok, nil
}

func (p *parser) object() (Object, error) {
	t := p.peek()
	switch {
	case isKeyword(t, "URI"):
		p.next()
		s := p.peek()
		if s.kind != tokString {
			return Object{}, p.errorf(s, "expected a quoted URI like 's3://bucket/path', found %s", s.describe(p.src))
		}
		p.next()
		bucket, path, msg := parseURI(s.text)
		if msg != "" {
			return Object{}, p.errorf(s, "invalid URI %q: %s", s.text, msg)
		}
		return Object{Kind: ObjectURI, Bucket: bucket, Path: path}, nil
	case isKeyword(t, "SERVER"):
		p.next()
		return Object{Kind: ObjectServer}, nil
	case isKeyword(t, "DATABASE"):
		p.next()
		db, err := p.catalogName("database name")
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: ObjectDatabase, Database: db}, nil
	case isKeyword(t, "TABLE"):
		p.next()
		db, tbl, err := p.tableName()
		if err != nil {
			return Object{}, err
		}
		return Object{Kind: ObjectTable, Database: db, Table: tbl}, nil
	}
	return Object{}, p.errorf(t, "expected URI, SERVER, DATABASE or TABLE, found %s", t.describe(p.src))
}

// parseURI checks a grant URI and splits it into bucket and path. s3a:// is
// accepted as s3://; the scheme is case-insensitive. msg is empty when the
// URI is valid.
func parseURI(uri string) (bucket, path, msg string) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "", "", "expected s3://bucket[/path]"
	}
	switch strings.ToLower(scheme) {
	case "s3", "s3a":
	default:
		return "", "", fmt.Sprintf("scheme %q is not supported; use s3:// (or s3a://)", scheme)
	}
	bucket, path, _ = strings.Cut(rest, "/")
	if m := checkBucket(bucket); m != "" {
		return "", "", m
	}
	if !utf8.ValidString(path) {
		return "", "", "the path is not valid UTF-8"
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f {
			return "", "", "the path holds a control character"
		}
	}
	return bucket, path, ""
}

// checkBucket accepts the bucket names the access proxy accepts
// (s3name.ValidBucket), legacy names included, and explains a refusal.
func checkBucket(b string) string {
	if b == "" {
		return "missing bucket name"
	}
	// The same rule the proxy applies to requests, so that every bucket a
	// request can name can also be granted.
	if !s3name.ValidBucket(b) {
		return fmt.Sprintf("bucket name %q is not valid: 3 to 255 letters, digits, '.', '-' or '_', not starting with '.' or '-', no \"..\"", b)
	}
	return ""
}

func (p *parser) show() (Statement, error) {
	if st, ok, err := p.showCatalog(); ok {
		return st, err
	}
	t := p.peek()
	switch {
	case isKeyword(t, "ROLES"):
		p.next()
		return &ShowRoles{}, nil
	case isKeyword(t, "GRANTS"):
		p.next()
		if err := p.expect("ON", "ROLE"); err != nil {
			return nil, err
		}
		role, err := p.ident("role name")
		if err != nil {
			return nil, err
		}
		return &ShowGrants{Role: role}, nil
	case isKeyword(t, "ROLE"):
		p.next()
		if err := p.expect("GRANT", "GROUP"); err != nil {
			return nil, err
		}
		group, err := p.ident("group name")
		if err != nil {
			return nil, err
		}
		return &ShowRoleGrant{Group: group}, nil
	case isKeyword(t, "CURRENT"):
		p.next()
		if err := p.expect("ROLES"); err != nil {
			return nil, err
		}
		return &ShowCurrentRoles{}, nil
	}
	return nil, p.errorf(t, "expected ROLES, GRANTS, ROLE, CURRENT ROLES, DATABASES, TABLES, CREATE TABLE or PARTITIONS after SHOW, found %s", t.describe(p.src))
}
