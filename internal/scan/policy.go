// Package scan is lakegate's data plane engine: it runs a restricted
// user's read-only SQL over catalog tables with the user's policy applied
// first, in an embedded DuckDB database of the query's own.
//
// For each query the engine opens a fresh in-memory database (nothing is
// shared between queries or users), stages every table the query names by
// reading its files through lakegate's upstream client (Parquet with
// arrow-go, TEXTFILE and JSON lines split in Go) into a raw table, and
// materializes the secured table "<db>"."<table>" from it: the policy's
// projection, masks and row filter are evaluated once, by lakegate, into a
// table of their own, and the raw table is dropped. Only then is
// configuration locked (no file, URL or extension access) and the user's
// statement, checked with DuckDB's own parser to be one SELECT over staged
// tables and nothing else, run. No optimizer can move the user's
// predicates under the policy, because the policy is not part of the
// user's plan: the data the plan reads is already the policy's output.
//
// The engine needs DuckDB's Arrow interface: build with -tags duckdb_arrow.
// Without it the package offers only the policy helpers in this file
// (QuoteIdent, QuoteLiteral, MaskExpr), which lakegate's policy code uses
// to build a TablePolicy.
package scan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lakegate/lakegate/internal/grants"
)

// TablePolicy is what one user may see of one table, as plain data built
// by lakegate's policy code (never from user input).
type TablePolicy struct {
	// Columns the user sees, in table order. Expr is a DuckDB SQL
	// expression over the raw columns (partition columns included): the
	// raw column itself (QuoteIdent(name)), a mask (MaskExpr) or a CASE
	// combining several roles' masks.
	Columns []SecuredColumn
	// Filter is a DuckDB SQL boolean expression over the raw columns; ""
	// means every row.
	Filter string
}

// SecuredColumn is one column of a secured table.
type SecuredColumn struct {
	Name string
	Expr string
}

// QuoteIdent quotes s as a DuckDB identifier, doubling any '"'.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// QuoteLiteral quotes s as a DuckDB string literal, doubling any '\”.
// DuckDB's standard strings have no backslash escapes.
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ErrMask is a mask that cannot apply: an unknown function, wrong
// arguments, or a type the mask does not take.
var ErrMask = errors.New("scan: invalid mask")

// TokenizeFunc is the name of the scalar function MaskExpr's tokenize
// calls: HMAC-SHA256 keyed with Options.TokenizeKey, hex. The engine
// registers it on each query's connection and refuses user SQL naming it,
// so that a user cannot compute tokens of guessed values.
const TokenizeFunc = "lakegate_tokenize"

// roundUnits are the units round_date takes.
var roundUnits = map[string]bool{
	"year": true, "quarter": true, "month": true, "week": true, "day": true,
	"hour": true, "minute": true, "second": true,
}

// DuckDBType returns the DuckDB type text of a Hive type
// ("decimal(10,2)" → "DECIMAL(10,2)", "array<int>" → "INTEGER[]").
func DuckDBType(hiveType string) (string, error) {
	t, err := grants.ParseType(hiveType)
	if err != nil {
		return "", fmt.Errorf("scan: column type %q: %w", hiveType, err)
	}
	return duckType(t)
}

func duckType(t grants.Type) (string, error) {
	switch t.Kind {
	case grants.TypeTinyint:
		return "TINYINT", nil
	case grants.TypeSmallint:
		return "SMALLINT", nil
	case grants.TypeInt:
		return "INTEGER", nil
	case grants.TypeBigint:
		return "BIGINT", nil
	case grants.TypeBoolean:
		return "BOOLEAN", nil
	case grants.TypeFloat:
		return "FLOAT", nil
	case grants.TypeDouble:
		return "DOUBLE", nil
	case grants.TypeDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case grants.TypeString, grants.TypeVarchar, grants.TypeChar:
		return "VARCHAR", nil
	case grants.TypeDate:
		return "DATE", nil
	case grants.TypeTimestamp:
		return "TIMESTAMP", nil
	case grants.TypeBinary:
		return "BLOB", nil
	case grants.TypeArray:
		if t.Elem == nil {
			return "", errors.New("scan: array type without element")
		}
		e, err := duckType(*t.Elem)
		if err != nil {
			return "", err
		}
		return e + "[]", nil
	case grants.TypeMap:
		if t.Key == nil || t.Value == nil {
			return "", errors.New("scan: map type without key or value")
		}
		k, err := duckType(*t.Key)
		if err != nil {
			return "", err
		}
		v, err := duckType(*t.Value)
		if err != nil {
			return "", err
		}
		return "MAP(" + k + ", " + v + ")", nil
	case grants.TypeStruct:
		parts := make([]string, 0, len(t.Fields))
		for _, f := range t.Fields {
			ft, err := duckType(f.Type)
			if err != nil {
				return "", err
			}
			parts = append(parts, QuoteIdent(f.Name)+" "+ft)
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	}
	return "", fmt.Errorf("scan: unsupported column type %q", t.String())
}

// MaskExpr returns the DuckDB expression applying mask fn with args to
// the raw column named column (a name, quoted here) of Hive type
// hiveType. Null stays null under every mask but null itself. The masks:
//
//   - null: NULL of the column's type.
//   - redact(text): text in place of every value (string columns; text
//     defaults to "REDACTED").
//   - mask(): every character → 'X', digits too (VARCHAR).
//   - mask_last(n): every character but the last n → 'X' (VARCHAR).
//   - sha256: hex SHA-256 of the value's text, UTF-8 (VARCHAR).
//   - tokenize: hex HMAC-SHA256 of the value's text keyed with the
//     engine's TokenizeKey; the same value gives the same token in every
//     table (VARCHAR).
//   - zero: 0, ”, false, the epoch, an empty blob, by type.
//   - round_date(unit): date_trunc to year, quarter, month, week, day,
//     hour, minute or second, keeping the column's type (date, timestamp).
//
// Masks other than null, zero and round_date give VARCHAR whatever the
// column's type. fn is case-insensitive; errors wrap ErrMask.
func MaskExpr(fn string, args []string, column string, hiveType string) (string, error) {
	t, err := grants.ParseType(hiveType)
	if err != nil {
		return "", fmt.Errorf("%w: column %q type %q: %v", ErrMask, column, hiveType, err)
	}
	dt, err := duckType(t)
	if err != nil {
		return "", fmt.Errorf("%w: column %q: %v", ErrMask, column, err)
	}
	col := QuoteIdent(column)
	text := "CAST(" + col + " AS VARCHAR)"
	isString := t.Kind == grants.TypeString || t.Kind == grants.TypeVarchar || t.Kind == grants.TypeChar
	fn = strings.ToLower(fn)
	nargs := func(min, max int) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("%w: %s takes %d to %d arguments, got %d", ErrMask, fn, min, max, len(args))
		}
		return nil
	}
	if !t.Kind.IsPrimitive() && fn != "null" {
		return "", fmt.Errorf("%w: %s does not apply to %s column %q", ErrMask, fn, hiveType, column)
	}
	switch fn {
	case "null":
		if err := nargs(0, 0); err != nil {
			return "", err
		}
		return "CAST(NULL AS " + dt + ")", nil
	case "redact":
		if err := nargs(0, 1); err != nil {
			return "", err
		}
		if !isString {
			return "", fmt.Errorf("%w: redact applies to string columns, %q is %s", ErrMask, column, hiveType)
		}
		v := "REDACTED"
		if len(args) == 1 {
			v = args[0]
		}
		return "CASE WHEN " + col + " IS NULL THEN NULL ELSE " + QuoteLiteral(v) + " END", nil
	case "mask":
		if err := nargs(0, 0); err != nil {
			return "", err
		}
		return "repeat('X', length(" + text + "))", nil
	case "mask_last":
		if err := nargs(1, 1); err != nil {
			return "", err
		}
		n, err := strconv.Atoi(strings.TrimSpace(args[0]))
		if err != nil || n < 0 || n > 1<<20 {
			return "", fmt.Errorf("%w: mask_last takes a count, got %q", ErrMask, args[0])
		}
		return fmt.Sprintf("(repeat('X', greatest(length(%s) - %d, 0)) || right(%s, %d))", text, n, text, n), nil
	case "sha256":
		if err := nargs(0, 0); err != nil {
			return "", err
		}
		return "sha256(" + text + ")", nil
	case "tokenize":
		if err := nargs(0, 0); err != nil {
			return "", err
		}
		return TokenizeFunc + "(" + text + ")", nil
	case "zero":
		if err := nargs(0, 0); err != nil {
			return "", err
		}
		var z string
		switch t.Kind {
		case grants.TypeString, grants.TypeVarchar, grants.TypeChar:
			z = "''"
		case grants.TypeBoolean:
			z = "false"
		case grants.TypeDate:
			z = "DATE '1970-01-01'"
		case grants.TypeTimestamp:
			z = "TIMESTAMP '1970-01-01 00:00:00'"
		case grants.TypeBinary:
			z = "''::BLOB"
		default:
			z = "0"
		}
		return "CASE WHEN " + col + " IS NULL THEN NULL ELSE CAST(" + z + " AS " + dt + ") END", nil
	case "round_date":
		if err := nargs(1, 1); err != nil {
			return "", err
		}
		unit := strings.ToLower(strings.TrimSpace(args[0]))
		if !roundUnits[unit] {
			return "", fmt.Errorf("%w: round_date unit %q (year, quarter, month, week, day, hour, minute or second)", ErrMask, args[0])
		}
		if t.Kind != grants.TypeDate && t.Kind != grants.TypeTimestamp {
			return "", fmt.Errorf("%w: round_date applies to date and timestamp columns, %q is %s", ErrMask, column, hiveType)
		}
		return "CAST(date_trunc(" + QuoteLiteral(unit) + ", " + col + ") AS " + dt + ")", nil
	}
	return "", fmt.Errorf("%w: unknown mask %q", ErrMask, fn)
}
