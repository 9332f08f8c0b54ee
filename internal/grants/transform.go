package grants

// Masks: the TRANSFORM clauses of a SELECT grant on a DATABASE or TABLE.
//
//	TRANSFORM target WITH function[(args)]
//
// The target is a column or an attribute, told apart by a dot: a dotted
// name (pii.ssn) is an attribute, namespace.key, and the transform applies
// to every column carrying it; a plain name (ssn, or `a.b` backquoted) is
// a column of the table. Column targets need ON TABLE and, when the grant
// has a column list, must be in it; a DATABASE grant names attributes
// only. A target may be transformed once per grant.
//
// The functions, names case-insensitive, printed lower-case with their
// parentheses:
//
//	null()             the value becomes NULL (bare NULL or null accepted)
//	redact('text')     the value becomes the given text
//	mask()             every character masked
//	mask_last(n)       all but the last n characters masked, 0 ≤ n ≤ 1024
//	sha256()           hex SHA-256 of the value
//	tokenize()         deterministic keyed token of the value
//	zero()             zero of the column's type (0, '', epoch)
//	round_date('unit') date/timestamp truncated to year, month, day, hour
//	                   or minute (the unit may be written bare)
//
// A function without arguments may be written without parentheses. The
// clauses are printed sorted: column targets first, then attributes, each
// by name; so one set of transforms has one text (GrantPrivileges.OptionsKey).

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// The transform functions, as Transform.Func holds them.
const (
	TransformNull      = "null"
	TransformRedact    = "redact"
	TransformMask      = "mask"
	TransformMaskLast  = "mask_last"
	TransformSHA256    = "sha256"
	TransformTokenize  = "tokenize"
	TransformZero      = "zero"
	TransformRoundDate = "round_date"
)

// Bounds on transforms.
const (
	// MaxTransforms bounds the TRANSFORM clauses of one grant.
	MaxTransforms = 1000
	// MaxMaskLast bounds the n of mask_last(n).
	MaxMaskLast = 1024
	// MaxRedactBytes bounds the text of redact('…').
	MaxRedactBytes = 1024
)

// RoundDateUnits are the units round_date accepts, finest last.
var RoundDateUnits = []string{"year", "month", "day", "hour", "minute"}

// Transform is one TRANSFORM target WITH Func(Args…) clause.
type Transform struct {
	// Target is a lower-case column name, or an attribute namespace.key
	// when Attribute is set.
	Target    string
	Attribute bool
	// Func is one of the Transform* constants.
	Func string
	// Args are the arguments' values, nil when none: redact's text,
	// mask_last's n in decimal, round_date's unit in lower case.
	Args []string
}

// String returns the canonical text of the clause:
// "TRANSFORM ssn WITH mask_last(4)".
func (t Transform) String() string {
	target := quoteIdent(t.Target)
	if t.Attribute {
		target = t.Target
	}
	var b strings.Builder
	b.WriteString("TRANSFORM " + target + " WITH " + t.Func + "(")
	for i, a := range t.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		if t.Func == TransformMaskLast {
			b.WriteString(a)
		} else {
			b.WriteString(quoteLiteral(a))
		}
	}
	b.WriteByte(')')
	return b.String()
}

// sortTransforms puts transforms in canonical order.
func sortTransforms(ts []Transform) {
	slices.SortFunc(ts, func(a, b Transform) int {
		if a.Attribute != b.Attribute {
			if a.Attribute {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Target, b.Target)
	})
}

// transformClauses parses TRANSFORM clauses while the next word is
// TRANSFORM. obj and cols say what column targets may name; a nil obj
// (stored options, whose object is not known here) skips those checks.
func (p *parser) transformClauses(obj *Object) ([]Transform, error) {
	var out []Transform
	seen := map[[2]string]bool{}
	for p.isKeyword("TRANSFORM") {
		tt := p.next()
		if len(out) == MaxTransforms {
			return nil, p.errorf(tt, "a grant has more than %d TRANSFORM clauses", MaxTransforms)
		}
		targetTok := p.peek()
		var tr Transform
		if targetTok.kind == tokWord && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "." {
			name, _, err := p.attributeName(true)
			if err != nil {
				return nil, err
			}
			tr.Target, tr.Attribute = name, true
		} else {
			name, err := p.name("column or attribute (namespace.key) to transform")
			if err != nil {
				return nil, err
			}
			tr.Target = name
		}
		if obj != nil && !tr.Attribute {
			if obj.Kind != ObjectTable {
				return nil, p.errorf(targetTok, "TRANSFORM of column %s needs ON TABLE; on a DATABASE, name an attribute (namespace.key)", quoteIdent(tr.Target))
			}
			if obj.Columns != nil && !slices.Contains(obj.Columns, tr.Target) {
				return nil, p.errorf(targetTok, "TRANSFORM of column %s, which is not in the grant's column list", quoteIdent(tr.Target))
			}
		}
		key := [2]string{strconv.FormatBool(tr.Attribute), tr.Target}
		if seen[key] {
			return nil, p.errorf(targetTok, "%s is transformed twice in one grant", tr.Target)
		}
		seen[key] = true
		if err := p.expect("WITH"); err != nil {
			return nil, err
		}
		if err := p.transformFunc(&tr); err != nil {
			return nil, err
		}
		out = append(out, tr)
	}
	sortTransforms(out)
	return out, nil
}

const transformList = "null, redact('text'), mask, mask_last(n), sha256, tokenize, zero or round_date('unit')"

// transformFunc parses the function after WITH into tr.Func and tr.Args.
func (p *parser) transformFunc(tr *Transform) error {
	ft := p.peek()
	if ft.kind != tokWord {
		return p.errorf(ft, "expected a transform (%s), found %s", transformList, ft.describe(p.src))
	}
	fn := strings.ToLower(ft.text)
	wantArg := false
	switch fn {
	case TransformNull, TransformMask, TransformSHA256, TransformTokenize, TransformZero:
	case TransformRedact, TransformMaskLast, TransformRoundDate:
		wantArg = true
	default:
		return p.errorf(ft, "unknown transform %s: expected %s", ft.describe(p.src), transformList)
	}
	p.next()
	tr.Func = fn
	if !p.isPunct("(") {
		if wantArg {
			return p.errorf(p.peek(), "%s needs an argument: %s(…)", fn, fn)
		}
		return nil
	}
	open := p.next()
	if !wantArg {
		return p.expectPunct(")", ") ("+fn+" takes no argument)")
	}
	at := p.peek()
	switch fn {
	case TransformRedact:
		if at.kind != tokString && at.kind != tokDString {
			return p.errorf(at, "redact takes the replacement text in quotes, found %s", at.describe(p.src))
		}
		s, _, err := p.literalString("the replacement text")
		if err != nil {
			return err
		}
		if len(s) > MaxRedactBytes {
			return p.errorf(at, "the replacement text is longer than %d bytes", MaxRedactBytes)
		}
		tr.Args = []string{s}
	case TransformMaskLast:
		n, nt, err := p.smallInt("number of characters to keep")
		if err != nil {
			return err
		}
		if n > MaxMaskLast {
			return p.errorf(nt, "mask_last keeps at most %d characters, not %d", MaxMaskLast, n)
		}
		tr.Args = []string{strconv.Itoa(n)}
	case TransformRoundDate:
		var unit string
		switch at.kind {
		case tokString, tokDString:
			s, _, err := p.literalString("a unit")
			if err != nil {
				return err
			}
			unit = s
		case tokWord:
			p.next()
			unit = at.text
		default:
			return p.errorf(at, "round_date takes a unit (%s), found %s", strings.Join(RoundDateUnits, ", "), at.describe(p.src))
		}
		unit = strings.ToLower(unit)
		if !slices.Contains(RoundDateUnits, unit) {
			return p.errorf(at, "round_date unit %q is not one of %s", unit, strings.Join(RoundDateUnits, ", "))
		}
		tr.Args = []string{unit}
	}
	return p.expectPunct(")", ") to close "+fn+"( (it takes one argument) opened at column "+strconv.Itoa(open.col))
}
