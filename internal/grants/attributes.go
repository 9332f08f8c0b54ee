package grants

// Attributes (Okera's tags): a column carries attributes named
// namespace.key (pii.ssn), set and unset with
//
//	ALTER TABLE db.t ALTER COLUMN c SET ATTRIBUTES pii.ssn[, pii.email …]
//	ALTER TABLE db.t ALTER COLUMN c UNSET ATTRIBUTES pii.ssn[, …]
//
// and a SELECT grant on a DATABASE or TABLE may select columns by them:
//
//	GRANT SELECT ON DATABASE d HAVING ATTRIBUTE [NOT] IN (pii, pii.ssn) TO ROLE r
//
// gives the columns carrying (IN) or not carrying (NOT IN) any of the
// listed attributes, where a name without a dot is a namespace and matches
// every key in it. HAVING ATTRIBUTE and a column list do not combine (they
// would select columns two ways). TRANSFORM pii.ssn WITH … masks by
// attribute (transform.go).
//
// An attribute name is [a-z_][a-z0-9_]*(\.[a-z0-9_]+)?, written bare (not
// backquoted), letters of any case, lower-cased. In HAVING ATTRIBUTE the
// names are printed sorted; SET and UNSET keep the order written.

import (
	"slices"
	"strings"
)

// MaxAttributes bounds the names of one HAVING ATTRIBUTE list or one
// SET/UNSET ATTRIBUTES statement.
const MaxAttributes = 1000

// AttributeFilter is HAVING ATTRIBUTE [NOT] IN (Names…).
type AttributeFilter struct {
	Not bool
	// Names are sorted and distinct: namespaces (pii) and namespace.key
	// attributes (pii.ssn), lower-case.
	Names []string
}

// String returns the canonical clause, "HAVING ATTRIBUTE IN (pii, pii.ssn)".
func (f *AttributeFilter) String() string {
	return "HAVING ATTRIBUTE" + notWord(f.Not) + " IN (" + strings.Join(f.Names, ", ") + ")"
}

// Matches reports whether a column carrying attrs (namespace.key names)
// is selected by the filter.
func (f *AttributeFilter) Matches(attrs []string) bool {
	return f.matchesAny(attrs) != f.Not
}

func (f *AttributeFilter) matchesAny(attrs []string) bool {
	for _, a := range attrs {
		ns, _, _ := strings.Cut(a, ".")
		for _, n := range f.Names {
			if n == a || n == ns {
				return true
			}
		}
	}
	return false
}

// AlterTableSetAttributes is ALTER TABLE db.name ALTER COLUMN col
// SET|UNSET ATTRIBUTES a.b[, …]. Every attribute is namespace.key.
type AlterTableSetAttributes struct {
	Database, Name string
	Column         string
	Attributes     []string
	// Unset is true for UNSET ATTRIBUTES.
	Unset bool
}

var _ Statement = (*AlterTableSetAttributes)(nil)

func (*AlterTableSetAttributes) statement() {}

func (s *AlterTableSetAttributes) String() string {
	verb := " SET ATTRIBUTES "
	if s.Unset {
		verb = " UNSET ATTRIBUTES "
	}
	return "ALTER TABLE " + qualified(s.Database, s.Name) + " ALTER COLUMN " + quoteIdent(s.Column) + verb + strings.Join(s.Attributes, ", ")
}

// ValidAttributeName reports whether s is a canonical attribute name:
// a namespace, or namespace.key when withKey is set.
func ValidAttributeName(s string, withKey bool) bool {
	ns, key, dotted := strings.Cut(s, ".")
	if dotted != withKey {
		return false
	}
	part := func(x string, first bool) bool {
		if x == "" {
			return false
		}
		for i := 0; i < len(x); i++ {
			c := x[i]
			ok := c == '_' || (c >= 'a' && c <= 'z') || (!first || i > 0) && c >= '0' && c <= '9'
			if !ok {
				return false
			}
		}
		return true
	}
	return part(ns, true) && (!dotted || part(key, false))
}

// attributeName reads an attribute name: a word, then a dot and a key
// when withKey (or when a dot follows and keyOptional).
func (p *parser) attributeName(withKey bool) (string, token, error) {
	return p.attribute(withKey, false)
}

func (p *parser) attribute(withKey, keyOptional bool) (string, token, error) {
	t := p.peek()
	what := "an attribute (namespace.key)"
	if keyOptional {
		what = "an attribute namespace or namespace.key"
	}
	if t.kind != tokWord {
		return "", t, p.errorf(t, "expected %s, found %s", what, t.describe(p.src))
	}
	p.next()
	name := strings.ToLower(t.text)
	if withKey || (keyOptional && p.isPunct(".")) {
		if err := p.expectPunct(".", ". and a key (attributes are namespace.key)"); err != nil {
			return "", t, err
		}
		k := p.peek()
		if (k.kind != tokWord && k.kind != tokNumber) || k.spaceBefore {
			return "", t, p.errorf(k, "expected the attribute key right after %s., found %s", name, k.describe(p.src))
		}
		p.next()
		name += "." + strings.ToLower(k.text)
		if p.isPunct(".") {
			return "", t, p.errorf(p.peek(), "an attribute name has one dot: namespace.key")
		}
	}
	if !ValidAttributeName(name, strings.Contains(name, ".")) {
		return "", t, p.errorf(t, "invalid attribute name %q: letters, digits and _, namespace.key", name)
	}
	return name, t, nil
}

// havingClause parses what follows HAVING: ATTRIBUTE [NOT] IN (names).
func (p *parser) havingClause() (*AttributeFilter, error) {
	if err := p.expect("ATTRIBUTE"); err != nil {
		return nil, err
	}
	f := &AttributeFilter{}
	if p.isKeyword("NOT") {
		p.next()
		f.Not = true
	}
	if err := p.expect("IN"); err != nil {
		return nil, err
	}
	names, err := p.attributeList(true, true)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	f.Names = names
	return f, nil
}

// attributeList reads names separated by commas, between parentheses when
// paren is set; keyOptional accepts bare namespaces.
func (p *parser) attributeList(paren, keyOptional bool) ([]string, error) {
	if paren {
		if err := p.expectPunct("(", "( and a list of attributes"); err != nil {
			return nil, err
		}
	}
	var names []string
	seen := map[string]bool{}
	for {
		n, t, err := p.attribute(!keyOptional, keyOptional)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, p.errorf(t, "attribute %s is listed twice", n)
		}
		if len(names) == MaxAttributes {
			return nil, p.errorf(t, "more than %d attributes", MaxAttributes)
		}
		seen[n] = true
		names = append(names, n)
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	if paren {
		if err := p.expectPunct(")", ", or )"); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// alterColumnAttributes parses what follows ALTER TABLE db.t ALTER:
// COLUMN c SET|UNSET ATTRIBUTES names.
func (p *parser) alterColumnAttributes(db, table string) (Statement, error) {
	if err := p.expect("COLUMN"); err != nil {
		return nil, err
	}
	col, err := p.name("column name")
	if err != nil {
		return nil, err
	}
	st := &AlterTableSetAttributes{Database: db, Name: table, Column: col}
	switch t := p.peek(); {
	case isKeyword(t, "SET"):
	case isKeyword(t, "UNSET"):
		st.Unset = true
	default:
		return nil, p.errorf(t, "expected SET ATTRIBUTES or UNSET ATTRIBUTES, found %s", t.describe(p.src))
	}
	p.next()
	if err := p.expect("ATTRIBUTES"); err != nil {
		return nil, err
	}
	if st.Attributes, err = p.attributeList(false, false); err != nil {
		return nil, err
	}
	return st, nil
}
