package authz_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/store"
)

// piiPolicy is a table with PII (ssn tagged pii.ssn, birth_date pii.dob)
// and one role per kind of fine-grained grant, each granted to the group
// of its name.
const piiPolicy = `
CREATE DATABASE hr;
CREATE EXTERNAL TABLE hr.people (id BIGINT, name STRING, ssn STRING, region STRING, salary BIGINT, birth_date DATE)
  STORED AS PARQUET LOCATION 's3://lake/hr/people';
ALTER TABLE hr.people ALTER COLUMN ssn SET ATTRIBUTES pii.ssn;
ALTER TABLE hr.people ALTER COLUMN birth_date SET ATTRIBUTES pii.dob;
CREATE ROLE full_r;    GRANT SELECT ON TABLE hr.people TO ROLE full_r;                  GRANT ROLE full_r TO GROUP full;
CREATE ROLE cols_r;    GRANT SELECT(id, name, region) ON TABLE hr.people TO ROLE cols_r; GRANT ROLE cols_r TO GROUP cols;
CREATE ROLE eu_r;      GRANT SELECT ON TABLE hr.people WHERE region = 'EU' TO ROLE eu_r; GRANT ROLE eu_r TO GROUP eu;
CREATE ROLE masked_r;  GRANT SELECT ON TABLE hr.people TRANSFORM ssn WITH mask_last(4) TRANSFORM salary WITH zero() TO ROLE masked_r;
                       GRANT ROLE masked_r TO GROUP masked;
CREATE ROLE nopii_r;   GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE NOT IN (pii) TO ROLE nopii_r; GRANT ROLE nopii_r TO GROUP nopii;
CREATE ROLE piionly_r; GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE IN (pii.ssn) TRANSFORM pii.ssn WITH sha256() TO ROLE piionly_r;
                       GRANT ROLE piionly_r TO GROUP piionly;
CREATE ROLE tag_r;     GRANT SELECT ON DATABASE hr TRANSFORM pii.dob WITH round_date('year') TRANSFORM pii.ssn WITH tokenize() TO ROLE tag_r;
                       GRANT ROLE tag_r TO GROUP tag;
CREATE ROLE combo_r;   GRANT SELECT(id, name, ssn) ON TABLE hr.people WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE combo_r;
                       GRANT ROLE combo_r TO GROUP combo;
CREATE ROLE us_mask_r; GRANT SELECT ON TABLE hr.people WHERE region = 'US' TRANSFORM ssn WITH mask() TO ROLE us_mask_r;
                       GRANT ROLE us_mask_r TO GROUP us_mask;
CREATE ROLE self_r;    GRANT SELECT ON TABLE hr.people WHERE name = current_user() OR has_group('boss') TO ROLE self_r;
                       GRANT ROLE self_r TO GROUP self;
CREATE ROLE over_r;    GRANT SELECT ON TABLE hr.people TRANSFORM ssn WITH null() TRANSFORM pii.ssn WITH mask() TO ROLE over_r;
                       GRANT ROLE over_r TO GROUP over;
CREATE ROLE show_r;    GRANT SHOW ON DATABASE hr TO ROLE show_r; GRANT ROLE show_r TO GROUP lister;
`

// TestEffectivePolicyGolden explains the effective policy of users with
// each kind of grant and with two roles, against
// testdata/effective.golden (-update rewrites it).
func TestEffectivePolicyGolden(t *testing.T) {
	e, _ := bootstrapped(t, piiPolicy)
	cases := []struct {
		user   string
		groups []string
	}{
		{"full", []string{"full"}},
		{"cols", []string{"cols"}},
		{"eu", []string{"eu"}},
		{"masked", []string{"masked"}},
		{"nopii", []string{"nopii"}},
		{"piionly", []string{"piionly"}},
		{"tag", []string{"tag"}},
		{"combo", []string{"combo"}},
		{"Bob", []string{"self"}},
		{"boss", []string{"self", "boss"}},
		{"over", []string{"over"}},
		{"eu+cols", []string{"eu", "cols"}},
		{"eu+masked", []string{"eu", "masked"}},
		{"cols+masked", []string{"cols", "masked"}},
		{"eu+us_mask", []string{"eu", "us_mask"}},
		{"combo+us_mask", []string{"combo", "us_mask"}},
		{"nopii+piionly", []string{"nopii", "piionly"}},
		{"full+masked", []string{"masked", "full"}},
		{"combo+cols", []string{"combo", "cols"}},
	}
	var b strings.Builder
	for _, c := range cases {
		f, err := e.EffectivePolicy(authz.Principal{User: c.user, Groups: c.groups}, "hr", "PEOPLE")
		if err != nil {
			t.Fatalf("%s: %v", c.user, err)
		}
		b.WriteString("== " + c.user + "\n" + f.Explanation)
	}
	golden(t, filepath.Join("testdata", "effective.golden"), b.String())
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to rewrite it):\n%s", path, got)
	}
}

// TestEffectivePolicyData checks the plain data for the union cases the
// data plane renders.
func TestEffectivePolicyData(t *testing.T) {
	e, _ := bootstrapped(t, piiPolicy)
	col := func(f authz.Effective, name string) *authz.EffectiveColumn {
		for i := range f.Columns {
			if f.Columns[i].Name == name {
				return &f.Columns[i]
			}
		}
		return nil
	}
	t.Run("full", func(t *testing.T) {
		f, err := e.EffectivePolicy(authz.Principal{User: "u", Groups: []string{"full"}}, "hr", "people")
		if err != nil || !f.Full() {
			t.Fatalf("Full() false or %v: %+v", err, f)
		}
	})
	t.Run("eu and cols: every row, ssn raw on EU rows only", func(t *testing.T) {
		f, err := e.EffectivePolicy(authz.Principal{User: "u", Groups: []string{"eu", "cols"}}, "hr", "people")
		if err != nil {
			t.Fatal(err)
		}
		if !f.AllRows || f.Full() || len(f.Columns) != 6 {
			t.Fatalf("AllRows %v Full %v columns %d", f.AllRows, f.Full(), len(f.Columns))
		}
		if c := col(f, "name"); !c.Unmasked {
			t.Errorf("name: %+v", c)
		}
		if c := col(f, "ssn"); c.Unmasked || len(c.Raw) != 1 || c.Raw[0].String() != "region = 'EU'" || len(c.Masks) != 0 {
			t.Errorf("ssn: %+v", c)
		}
	})
	t.Run("a column mask wins over an attribute mask", func(t *testing.T) {
		f, err := e.EffectivePolicy(authz.Principal{User: "u", Groups: []string{"over"}}, "hr", "people")
		if err != nil {
			t.Fatal(err)
		}
		if c := col(f, "ssn"); len(c.Masks) != 1 || c.Masks[0].Transform.Func != "null" || c.Masks[0].When != nil {
			t.Errorf("ssn: %+v", c)
		}
	})
	t.Run("attribute filter hides pii", func(t *testing.T) {
		f, err := e.EffectivePolicy(authz.Principal{User: "u", Groups: []string{"nopii"}}, "hr", "people")
		if err != nil {
			t.Fatal(err)
		}
		if col(f, "ssn") != nil || col(f, "birth_date") != nil || col(f, "salary") == nil {
			t.Errorf("columns %+v", f.Columns)
		}
	})
}

func TestEffectivePolicyErrors(t *testing.T) {
	e, _ := bootstrapped(t, piiPolicy)
	tests := []struct {
		name   string
		groups []string
		table  string
		want   error
		text   string
	}{
		{"no grant at all: does not exist", []string{"nobody"}, "people", authz.ErrInvalid, "table hr.people does not exist"},
		{"unknown table", []string{"full"}, "nope", authz.ErrInvalid, "table hr.nope does not exist"},
		{"SHOW only: forbidden", []string{"lister"}, "people", authz.ErrForbidden, "holds no SELECT grant on table hr.people"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.EffectivePolicy(authz.Principal{User: "u", Groups: tc.groups}, "hr", tc.table)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
}

// TestEffectivePolicyBadStoredFilter: a stored row filter that does not
// parse makes its grant give nothing (fail closed), while the role's
// other grants still apply.
func TestEffectivePolicyBadStoredFilter(t *testing.T) {
	_, st := bootstrapped(t, piiPolicy)
	ctx := t.Context()
	err := st.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		return tx.AddGrant(ctx, store.Grant{Role: "cols_r", Privilege: "SELECT", ObjectKind: "TABLE", Object: "hr.people",
			RowFilter: "region = = 'EU'"})
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, st, time.Second)
	f, err := e.EffectivePolicy(authz.Principal{User: "u", Groups: []string{"cols"}}, "hr", "people")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Columns) != 3 || len(f.Grants) != 1 || !strings.Contains(f.Grants[0], "SELECT(id, name, region)") {
		t.Fatalf("the bad grant contributed: %+v", f)
	}
}
