package scan

import (
	"errors"
	"testing"
)

func TestQuote(t *testing.T) {
	if got := QuoteIdent(`a"b`); got != `"a""b"` {
		t.Errorf("QuoteIdent: %s", got)
	}
	if got := QuoteLiteral(`it's`); got != `'it''s'` {
		t.Errorf("QuoteLiteral: %s", got)
	}
}

func TestMaskExprErrors(t *testing.T) {
	tests := []struct {
		name, fn string
		args     []string
		typ      string
	}{
		{"unknown mask", "reverse", nil, "string"},
		{"mask_last without count", "mask_last", nil, "string"},
		{"mask_last bad count", "mask_last", []string{"-1"}, "string"},
		{"round_date on a string", "round_date", []string{"month"}, "string"},
		{"round_date bad unit", "round_date", []string{"fortnight"}, "date"},
		{"redact a number", "redact", []string{"x"}, "int"},
		{"mask a struct", "mask", nil, "struct<a:int>"},
		{"bad type", "mask", nil, "nonsense"},
		{"extra argument", "sha256", []string{"1"}, "string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := MaskExpr(tc.fn, tc.args, "c", tc.typ); !errors.Is(err, ErrMask) {
				t.Errorf("err %v, want ErrMask", err)
			}
		})
	}
}

func TestMaskExprQuotesColumn(t *testing.T) {
	got, err := MaskExpr("null", nil, `we"ird`, "decimal(10,2)")
	if err != nil {
		t.Fatal(err)
	}
	if want := "CAST(NULL AS DECIMAL(10,2))"; got != want {
		t.Errorf("null: %s, want %s", got, want)
	}
	got, err = MaskExpr("redact", []string{"it's"}, `we"ird`, "string")
	if err != nil {
		t.Fatal(err)
	}
	if want := `CASE WHEN "we""ird" IS NULL THEN NULL ELSE 'it''s' END`; got != want {
		t.Errorf("redact: %s, want %s", got, want)
	}
}

func TestDuckDBType(t *testing.T) {
	for in, want := range map[string]string{
		"int": "INTEGER", "decimal(10,2)": "DECIMAL(10,2)", "array<string>": "VARCHAR[]",
		"map<string,bigint>": "MAP(VARCHAR, BIGINT)", "struct<a:int,b:array<date>>": `STRUCT("a" INTEGER, "b" DATE[])`,
		"varchar(10)": "VARCHAR", "timestamp": "TIMESTAMP", "binary": "BLOB",
	} {
		if got, err := DuckDBType(in); err != nil || got != want {
			t.Errorf("%s: %s %v, want %s", in, got, err, want)
		}
	}
}
