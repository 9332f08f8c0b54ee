package grants

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits on catalog statements. A statement beyond one is refused with a
// *SyntaxError naming the limit, so that a catalog row, a DESCRIBE answer
// or a schema walk stays bounded.
const (
	// MaxColumns bounds the columns of a table (data and partition columns
	// together), the fields of one struct type, an ADD COLUMNS list and a
	// partition specification.
	MaxColumns = 10000
	// MaxTypeDepth bounds how deeply array, map and struct types nest:
	// int has depth 0, array<int> depth 1, array<struct<a:int>> depth 2.
	MaxTypeDepth = 64
	// MaxCommentBytes bounds a COMMENT, a table property's key and value.
	MaxCommentBytes = 4096
	// MaxProperties bounds the TBLPROPERTIES of a table.
	MaxProperties = 1000
)

// TypeKind names a Hive column type.
type TypeKind uint8

// The Hive types. The zero TypeKind is not a type.
const (
	TypeTinyint TypeKind = iota + 1
	TypeSmallint
	TypeInt
	TypeBigint
	TypeBoolean
	TypeFloat
	TypeDouble
	TypeDecimal
	TypeString
	TypeVarchar
	TypeChar
	TypeDate
	TypeTimestamp
	TypeBinary
	TypeArray
	TypeMap
	TypeStruct
)

// typeNames are the canonical names, indexed by kind.
var typeNames = [...]string{
	TypeTinyint: "tinyint", TypeSmallint: "smallint", TypeInt: "int", TypeBigint: "bigint",
	TypeBoolean: "boolean", TypeFloat: "float", TypeDouble: "double", TypeDecimal: "decimal",
	TypeString: "string", TypeVarchar: "varchar", TypeChar: "char", TypeDate: "date",
	TypeTimestamp: "timestamp", TypeBinary: "binary", TypeArray: "array", TypeMap: "map",
	TypeStruct: "struct",
}

// typeAliases are other spellings of a type name.
var typeAliases = map[string]TypeKind{"integer": TypeInt}

const typeList = "tinyint, smallint, int, bigint, boolean, float, double, decimal, string, varchar, char, date, timestamp, binary, array, map or struct"

// String returns the canonical lower-case name of k ("decimal", "array"),
// "" for a kind that is not a type.
func (k TypeKind) String() string {
	if int(k) < len(typeNames) {
		return typeNames[k]
	}
	return ""
}

// IsPrimitive reports whether k is a scalar type (not array, map or struct).
func (k TypeKind) IsPrimitive() bool { return k >= TypeTinyint && k <= TypeBinary }

// Decimal, varchar and char bounds.
const (
	MaxDecimalPrecision     = 38
	DefaultDecimalPrecision = 10
	MaxVarcharLength        = 65535
	MaxCharLength           = 255
)

// Type is a Hive column type. Which fields are set depends on Kind:
// Precision and Scale for decimal (decimal alone is decimal(10,0)), Length
// for varchar and char, Elem for array, Key and Value for map, Fields for
// struct. Struct field names are lower-case, like column names.
//
// String gives the canonical text, Hive's own spelling with no blanks:
// "decimal(10,2)", "array<struct<a:int,b:string COMMENT 'x'>>",
// "map<string,bigint>". ParseType(t.String()) returns a Type equal to t
// (reflect.DeepEqual) for every Type ParseType returns.
type Type struct {
	Kind      TypeKind
	Precision int
	Scale     int
	Length    int
	Elem      *Type
	Key       *Type
	Value     *Type
	Fields    []StructField
}

// StructField is one field of a struct type.
type StructField struct {
	Name    string
	Type    Type
	Comment string
}

// String returns the canonical text of t; "?" stands for a part that is
// not a type.
func (t Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t Type) write(b *strings.Builder) {
	switch {
	case t.Kind == TypeDecimal:
		fmt.Fprintf(b, "decimal(%d,%d)", t.Precision, t.Scale)
	case t.Kind == TypeVarchar || t.Kind == TypeChar:
		fmt.Fprintf(b, "%s(%d)", t.Kind, t.Length)
	case t.Kind.IsPrimitive():
		b.WriteString(t.Kind.String())
	case t.Kind == TypeArray:
		b.WriteString("array<")
		writeTypePtr(b, t.Elem)
		b.WriteByte('>')
	case t.Kind == TypeMap:
		b.WriteString("map<")
		writeTypePtr(b, t.Key)
		b.WriteByte(',')
		writeTypePtr(b, t.Value)
		b.WriteByte('>')
	case t.Kind == TypeStruct:
		b.WriteString("struct<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteIdent(f.Name))
			b.WriteByte(':')
			f.Type.write(b)
			if f.Comment != "" {
				b.WriteString(" COMMENT ")
				b.WriteString(quoteString(f.Comment))
			}
		}
		b.WriteByte('>')
	default:
		b.WriteByte('?')
	}
}

func writeTypePtr(b *strings.Builder, t *Type) {
	if t == nil {
		b.WriteByte('?')
		return
	}
	t.write(b)
}

// ParseType parses a Hive type such as "INT", "decimal(10, 2)" or
// "array<struct<a:int>>" (keywords in any case, blanks anywhere between
// tokens). The error is a *SyntaxError whose position is within s.
func ParseType(s string) (Type, error) {
	toks, err := lex(s)
	if err != nil {
		return Type{}, err
	}
	p := &parser{src: s, toks: toks}
	t, err := p.typ(0)
	if err != nil {
		return Type{}, err
	}
	if e := p.peek(); e.kind != tokEOF {
		return Type{}, p.errorf(e, "expected end of type, found %s", e.describe(s))
	}
	return t, nil
}

// isOther reports whether the next token is the operator character s.
func (p *parser) isOther(s string) bool {
	t := p.peek()
	return t.kind == tokOther && t.text == s
}

func (p *parser) expectOther(s, what string) error {
	if !p.isOther(s) {
		t := p.peek()
		return p.errorf(t, "expected %s, found %s", what, t.describe(p.src))
	}
	p.next()
	return nil
}

// typ parses a type nested inside depth complex types.
func (p *parser) typ(depth int) (Type, error) {
	t := p.peek()
	if t.kind != tokWord {
		return Type{}, p.errorf(t, "expected a type (%s), found %s", typeList, t.describe(p.src))
	}
	lower := strings.ToLower(t.text)
	kind, ok := typeAliases[lower]
	if !ok {
		for k, n := range typeNames {
			if n != "" && n == lower {
				kind, ok = TypeKind(k), true
				break
			}
		}
	}
	if !ok {
		return Type{}, p.errorf(t, "unknown type %s: expected %s", t.describe(p.src), typeList)
	}
	p.next()
	if !kind.IsPrimitive() && depth >= MaxTypeDepth {
		return Type{}, p.errorf(t, "type nests more than %d levels of array, map or struct", MaxTypeDepth)
	}
	out := Type{Kind: kind}
	switch kind {
	case TypeDouble:
		if p.isKeyword("PRECISION") {
			p.next()
		}
	case TypeDecimal:
		out.Precision = DefaultDecimalPrecision
		if !p.isPunct("(") {
			break
		}
		p.next()
		prec, ptok, err := p.smallInt("decimal precision")
		if err != nil {
			return Type{}, err
		}
		if prec < 1 || prec > MaxDecimalPrecision {
			return Type{}, p.errorf(ptok, "decimal precision %d is out of range: 1 to %d", prec, MaxDecimalPrecision)
		}
		out.Precision = prec
		if p.isPunct(",") {
			p.next()
			scale, stok, err := p.smallInt("decimal scale")
			if err != nil {
				return Type{}, err
			}
			if scale > prec {
				return Type{}, p.errorf(stok, "decimal scale %d is out of range: 0 to the precision %d", scale, prec)
			}
			out.Scale = scale
		}
		if err := p.expectPunct(")", ", or ) after the decimal precision"); err != nil {
			return Type{}, err
		}
	case TypeVarchar, TypeChar:
		limit := MaxVarcharLength
		if kind == TypeChar {
			limit = MaxCharLength
		}
		if err := p.expectPunct("(", fmt.Sprintf("( and a length after %s", kind)); err != nil {
			return Type{}, err
		}
		n, ntok, err := p.smallInt(kind.String() + " length")
		if err != nil {
			return Type{}, err
		}
		if n < 1 || n > limit {
			return Type{}, p.errorf(ntok, "%s length %d is out of range: 1 to %d", kind, n, limit)
		}
		out.Length = n
		if err := p.expectPunct(")", ")"); err != nil {
			return Type{}, err
		}
	case TypeArray:
		if err := p.expectOther("<", "< after array"); err != nil {
			return Type{}, err
		}
		elem, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		out.Elem = &elem
		if err := p.expectOther(">", "> to close array<"); err != nil {
			return Type{}, err
		}
	case TypeMap:
		if err := p.expectOther("<", "< after map"); err != nil {
			return Type{}, err
		}
		ktok := p.peek()
		key, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if !key.Kind.IsPrimitive() {
			return Type{}, p.errorf(ktok, "a map key must be a primitive type, not %s", key.Kind)
		}
		if err := p.expectPunct(",", ", after the map key type"); err != nil {
			return Type{}, err
		}
		val, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		out.Key, out.Value = &key, &val
		if err := p.expectOther(">", "> to close map<"); err != nil {
			return Type{}, err
		}
	case TypeStruct:
		if err := p.expectOther("<", "< after struct"); err != nil {
			return Type{}, err
		}
		seen := map[string]bool{}
		for {
			ftok := p.peek()
			name, err := p.name("struct field name")
			if err != nil {
				return Type{}, err
			}
			if seen[name] {
				return Type{}, p.errorf(ftok, "struct field %s given twice", quoteIdent(name))
			}
			if len(out.Fields) == MaxColumns {
				return Type{}, p.errorf(ftok, "a struct has more than %d fields", MaxColumns)
			}
			seen[name] = true
			if err := p.expectOther(":", ": between the struct field name and its type"); err != nil {
				return Type{}, err
			}
			ft, err := p.typ(depth + 1)
			if err != nil {
				return Type{}, err
			}
			comment, err := p.optComment()
			if err != nil {
				return Type{}, err
			}
			out.Fields = append(out.Fields, StructField{Name: name, Type: ft, Comment: comment})
			if p.isPunct(",") {
				p.next()
				continue
			}
			if err := p.expectOther(">", ", or > to close struct<"); err != nil {
				return Type{}, err
			}
			break
		}
	}
	return out, nil
}

// smallInt consumes a non-negative decimal integer of at most 9 digits.
func (p *parser) smallInt(what string) (int, token, error) {
	t := p.peek()
	if t.kind != tokNumber {
		return 0, t, p.errorf(t, "expected the %s (a number), found %s", what, t.describe(p.src))
	}
	if len(t.text) > 9 || strings.Trim(t.text, "0123456789") != "" {
		return 0, t, p.errorf(t, "expected the %s (a whole number), found %s", what, t.describe(p.src))
	}
	n, err := strconv.Atoi(t.text)
	if err != nil {
		return 0, t, p.errorf(t, "expected the %s (a whole number), found %s", what, t.describe(p.src))
	}
	p.next()
	return n, t, nil
}
