package dataplane_test

import (
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/dataplane"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/scan"
	"github.com/lakegate/lakegate/internal/store"
)

func pred(t *testing.T, s string) grants.Expr {
	t.Helper()
	x, err := grants.ParsePredicate(s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestSecuredPolicy renders effective policies as the scan engine's
// TablePolicy: filters with the user's name and groups substituted,
// masks, and CASE over the grants that show a column.
func TestSecuredPolicy(t *testing.T) {
	rec := store.Table{Database: "hr", Name: "people", Columns: []store.Column{
		{Name: "id", Type: "bigint"}, {Name: "ssn", Type: "string"}, {Name: "salary", Type: "bigint"},
		{Name: "name", Type: "string"}, {Name: "region", Type: "string"}}}
	eu, us := pred(t, "region = 'EU'"), pred(t, "name = current_user() OR has_group('boss')")
	mask := func(fn string, args ...string) grants.Transform { return grants.Transform{Func: fn, Args: args} }
	p := authz.Principal{User: "o'brien", Groups: []string{"staff"}}
	tests := []struct {
		name    string
		f       authz.Effective
		filter  string
		columns []scan.SecuredColumn
		summary string
	}{
		{"every row, three columns unmasked", authz.Effective{Record: rec, AllRows: true, Columns: []authz.EffectiveColumn{
			{Name: "id", Unmasked: true}, {Name: "ssn", Unmasked: true}, {Name: "salary", Unmasked: true}}},
			"", []scan.SecuredColumn{{Name: "id", Expr: `"id"`}, {Name: "ssn", Expr: `"ssn"`}, {Name: "salary", Expr: `"salary"`}},
			"hidden name, region"},
		{"filter with current_user and has_group; columns implied by it", authz.Effective{Record: rec, Filters: []grants.Expr{us},
			Columns: []authz.EffectiveColumn{{Name: "id", Raw: []grants.Expr{us}}}},
			`(("name" = 'o''brien') OR FALSE)`, []scan.SecuredColumn{{Name: "id", Expr: `"id"`}},
			"rows where name = current_user() OR has_group('boss'); hidden ssn, salary, name, region"},
		{"unmasked on EU rows, masked elsewhere; text mask makes the raw branch text", authz.Effective{Record: rec, AllRows: true,
			Columns: []authz.EffectiveColumn{{Name: "salary", Type: "bigint", Raw: []grants.Expr{eu},
				Masks: []authz.EffectiveMask{{Transform: mask("sha256")}}}}},
			"", []scan.SecuredColumn{{Name: "salary",
				Expr: `CASE WHEN ("region" = 'EU') THEN CAST("salary" AS VARCHAR) ELSE sha256(CAST("salary" AS VARCHAR)) END`}},
			"salary masked (raw where region = 'EU', sha256()); hidden id, ssn, name, region"},
		{"masks under two filters, else NULL", authz.Effective{Record: rec, Filters: []grants.Expr{eu, us},
			Columns: []authz.EffectiveColumn{{Name: "ssn", Type: "string", Masks: []authz.EffectiveMask{
				{When: eu, Transform: mask("mask_last", "4")}, {When: us, Transform: mask("null")}}}}},
			`(("region" = 'EU') OR (("name" = 'o''brien') OR FALSE))`,
			[]scan.SecuredColumn{{Name: "ssn", Expr: `CASE WHEN ("region" = 'EU') THEN (repeat('X', greatest(length(CAST("ssn" AS VARCHAR)) - 4, 0)) || right(CAST("ssn" AS VARCHAR), 4)) WHEN (("name" = 'o''brien') OR FALSE) THEN CAST(NULL AS VARCHAR) ELSE NULL END`}},
			""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := dataplane.SecuredPolicy(p, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if tp.Filter != tc.filter {
				t.Errorf("filter\n got %s\nwant %s", tp.Filter, tc.filter)
			}
			if len(tp.Columns) != len(tc.columns) {
				t.Fatalf("columns %+v", tp.Columns)
			}
			for i := range tp.Columns {
				if tp.Columns[i] != tc.columns[i] {
					t.Errorf("column %d\n got %+v\nwant %+v", i, tp.Columns[i], tc.columns[i])
				}
			}
			if tc.summary != "" {
				if s := dataplane.Summary(tc.f); s != tc.summary {
					t.Errorf("summary %q, want %q", s, tc.summary)
				}
			}
		})
	}
}

func TestSecuredPolicyUnknownColumn(t *testing.T) {
	f := authz.Effective{Record: store.Table{Columns: []store.Column{{Name: "id", Type: "bigint"}}},
		Filters: []grants.Expr{pred(t, "gone = 1")}, Columns: []authz.EffectiveColumn{{Name: "id", Unmasked: true}}}
	if _, err := dataplane.SecuredPolicy(authz.Principal{User: "u"}, f); err == nil {
		t.Fatal("a filter on a column the table lacks rendered")
	}
}

func TestScanSQL(t *testing.T) {
	got := dataplane.ScanSQL("HR", `pe"ople`, []string{"a", `b"; DROP`}, 10)
	want := `SELECT "a", "b""; DROP" FROM "hr"."pe""ople" LIMIT 10`
	if got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}
