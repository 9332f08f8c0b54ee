package grants

import (
	"fmt"
	"strings"
)

// whereText is the row filter as printed: Filter's canonical text when the
// tree is set, Where otherwise.
func (s *GrantPrivileges) whereText() string {
	if s.Filter != nil {
		return s.Filter.String()
	}
	return s.Where
}

// Restricted reports whether the grant gives less than whole rows of every
// column: it has a column list, a row filter, a TRANSFORM or a HAVING
// ATTRIBUTE clause.
func (s *GrantPrivileges) Restricted() bool {
	return s.Object.Columns != nil || s.Where != "" || s.Filter != nil || len(s.Transforms) > 0 || s.Attributes != nil
}

// OptionsKey is the canonical text of the grant's HAVING ATTRIBUTE and
// TRANSFORM clauses, as the policy store keeps it next to the object key,
// the column list and the row filter: for example
// "HAVING ATTRIBUTE IN (pii) TRANSFORM ssn WITH mask_last(4)"; "" when the
// grant has neither. ParseOptionsKey reverses it.
func (s *GrantPrivileges) OptionsKey() string {
	var parts []string
	if s.Attributes != nil {
		parts = append(parts, s.Attributes.String())
	}
	for _, t := range s.Transforms {
		parts = append(parts, t.String())
	}
	return strings.Join(parts, " ")
}

// ParseOptionsKey rebuilds the HAVING ATTRIBUTE filter (nil when none) and
// the transforms (nil when none) from an OptionsKey. Like ParseObjectKey it
// accepts only the canonical text, so that one set of options has one
// stored form. It cannot check what depends on the grant's object (column
// targets need a TABLE and must be in its column list): rebuild the grant
// and parse its String() to check that.
func ParseOptionsKey(s string) (*AttributeFilter, []Transform, error) {
	if s == "" {
		return nil, nil, nil
	}
	toks, err := lex(s)
	if err != nil {
		return nil, nil, fmt.Errorf("grants: stored options %q: %w", s, err)
	}
	p := &parser{src: s, toks: toks}
	var f *AttributeFilter
	if p.isKeyword("HAVING") {
		p.next()
		if f, err = p.havingClause(); err != nil {
			return nil, nil, fmt.Errorf("grants: stored options %q: %w", s, err)
		}
	}
	ts, err := p.transformClauses(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("grants: stored options %q: %w", s, err)
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, nil, fmt.Errorf("grants: stored options %q: %w", s,
			p.errorf(t, "expected HAVING ATTRIBUTE or TRANSFORM, found %s", t.describe(s)))
	}
	if again := (&GrantPrivileges{Attributes: f, Transforms: ts}).OptionsKey(); again != s {
		return nil, nil, fmt.Errorf("grants: stored options %q are not in canonical form: want %q", s, again)
	}
	return f, ts, nil
}
