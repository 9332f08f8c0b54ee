//go:build duckdb_arrow

package scan

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// TestPartitionPruning checks which partitions of the CSV table (by
// region) a query reads, and that its answer is the same as without
// pruning.
func TestPartitionPruning(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, Options{})
	all := TablePolicy{}
	for _, c := range []string{"id", "name", "region"} {
		all.Columns = append(all.Columns, SecuredColumn{Name: c, Expr: QuoteIdent(c)})
	}
	masked := TablePolicy{Columns: []SecuredColumn{{Name: "id", Expr: QuoteIdent("id")}, {Name: "region", Expr: "lower(region)"}}}
	tests := []struct {
		name    string
		pol     TablePolicy
		sql     string
		want    []string
		regions []string
	}{
		{"equality", all, "SELECT id FROM d.people_csv WHERE region = 'US'", []string{"2"}, []string{"US"}},
		{"qualified, reversed, and another term", all, "SELECT id FROM d.people_csv p WHERE 'EU' = p.region AND id > 1 ORDER BY id", []string{"3", "5"}, []string{"EU"}},
		{"in list", all, "SELECT id FROM d.people_csv WHERE region IN ('APAC', 'US') ORDER BY id", []string{"2", "4"}, []string{"APAC", "US"}},
		{"no partition matches", all, "SELECT id FROM d.people_csv WHERE region = 'XX'", nil, nil},
		{"two references", all, "SELECT id FROM d.people_csv WHERE region = 'US' UNION ALL SELECT id FROM d.people_csv WHERE region = 'APAC' ORDER BY id", []string{"2", "4"}, []string{"APAC", "US"}},
		{"or reads all", all, "SELECT id FROM d.people_csv WHERE region = 'US' OR id = 1 ORDER BY id", []string{"1", "2"}, []string{"APAC", "EU", "US"}},
		{"join reads all", all, "SELECT a.id FROM d.people_csv a JOIN d.people_csv b ON a.id = b.id WHERE a.region = 'US'", []string{"2"}, []string{"APAC", "EU", "US"}},
		{"masked partition column reads all", masked, "SELECT id FROM d.people_csv WHERE region = 'eu' ORDER BY id", []string{"1", "3", "5"}, []string{"APAC", "EU", "US"}},
		{"column aliases rename the partition column", all, "SELECT part FROM d.people_csv AS p(id, region, part) WHERE region = 'Bob'", []string{"US"}, []string{"APAC", "EU", "US"}},
		{"column alias names another column region", all, "SELECT region FROM d.people_csv AS p(region) WHERE region IN ('3', '4') ORDER BY region", []string{"3", "4"}, []string{"APAC", "EU", "US"}},
		{"masked value that is a raw value", masked, "SELECT id FROM d.people_csv WHERE region = 'EU'", nil, []string{"APAC", "EU", "US"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.objects.ResetKeys()
			rows, _, err := run(t, e, f.resolver(t, map[string]TablePolicy{"d.people_csv": tc.pol}), tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows, tc.want) {
				t.Errorf("rows %q, want %q", rows, tc.want)
			}
			var regions []string
			for _, k := range f.objects.KeysRead() {
				r, _, _ := strings.Cut(strings.TrimPrefix(k, "csv/region="), "/")
				if !slices.Contains(regions, r) {
					regions = append(regions, r)
				}
			}
			slices.Sort(regions)
			if !slices.Equal(regions, tc.regions) {
				t.Errorf("read partitions %q, want %q", regions, tc.regions)
			}
		})
	}
}

func TestHolds(t *testing.T) {
	s := func(v string) *string { return &v }
	tests := []struct {
		name string
		p    pred
		v    *string
		kind grants.TypeKind
		want bool
	}{
		{"null never equals", pred{vals: []any{"x"}}, nil, grants.TypeString, false},
		{"same string", pred{vals: []any{"EU"}}, s("EU"), grants.TypeString, true},
		{"other string", pred{vals: []any{"EU"}}, s("eu"), grants.TypeString, false},
		{"same integer", pred{vals: []any{json.Number("2024")}}, s("2024"), grants.TypeInt, true},
		{"leading zeros", pred{vals: []any{json.Number("7")}}, s("007"), grants.TypeBigint, true},
		{"other integer", pred{vals: []any{json.Number("2024")}}, s("2025"), grants.TypeInt, false},
		{"unparsable value is kept", pred{vals: []any{json.Number("7")}}, s(" 7"), grants.TypeInt, true},
		{"string constant on an int column is kept", pred{vals: []any{"7"}}, s("8"), grants.TypeInt, true},
		{"integer constant on a string column is kept", pred{vals: []any{json.Number("7")}}, s("8"), grants.TypeString, true},
		{"date column is kept", pred{vals: []any{"2024-01-01"}}, s("2025-01-01"), grants.TypeDate, true},
		{"char column is kept", pred{vals: []any{"a"}}, s("b"), grants.TypeChar, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := holds(tc.p, tc.v, tc.kind); got != tc.want {
				t.Errorf("holds = %v, want %v", got, tc.want)
			}
		})
	}
}
