package grants

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives printing: Parse(Format(stmts)) succeeds, yields equal statements
// and prints identically.
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=20s ./internal/grants/
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"CREATE ROLE IF NOT EXISTS r; DROP ROLE IF EXISTS r",
		"GRANT ROLE r TO GROUP g; REVOKE ROLE r FROM GROUP g;",
		"GRANT SHOW ON URI ‘s3://mybucket/mypath’ TO ROLE emr_user_role;",
		"GRANT SELECT, SHOW ON URI 's3a://bkt/a/b' TO ROLE r",
		"GRANT ALL ON SERVER TO ROLE admin; REVOKE DROP ON DATABASE db FROM ROLE r",
		"GRANT SELECT(a, `b c`) ON TABLE db.t TO ROLE r",
		"GRANT SELECT ON TABLE db.t WHERE (x < 1 AND y = 'a;b') -- c\n TO ROLE r",
		"SHOW ROLES; SHOW GRANTS ON ROLE r; SHOW ROLE GRANT GROUP g; SHOW CURRENT ROLES",
		"GRANT ALL ON URI 's3://experimental/workspaces/ TO ROLE analysts;",
		"CREATE ROLE `select`",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.sql"))
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		stmts, err := Parse(src)
		if err != nil {
			return
		}
		text := Format(stmts)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("canonical text does not parse: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(again, stmts) {
			t.Fatalf("round trip changed the statements\n--- first\n%s--- second\n%s", text, Format(again))
		}
		if text2 := Format(again); text2 != text {
			t.Fatalf("printing is not stable\n--- first\n%s--- second\n%s", text, text2)
		}
	})
}
