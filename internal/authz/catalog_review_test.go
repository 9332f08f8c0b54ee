package authz_test

import (
	"errors"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/store"
)

// A table's location is authorization scope: holders of a grant on the
// table (or its database) read everything under it. These cases are the
// ways a non-admin could give a table a location without ALL on it.
func TestCatalogLocationScope(t *testing.T) {
	files := &fakeFiles{schemas: map[string][]store.Column{
		"other-lake/f.parquet":        {{Name: "id", Type: "bigint"}},
		"other-lake/shared/f.parquet": {{Name: "id", Type: "bigint"}},
		"team-lake/t/f.parquet":       {{Name: "id", Type: "bigint"}},
	}}
	// The steward owns database team (ALL: CREATE, and full access to its
	// tables' files) and s3://team-lake/, and may read one file of
	// other-lake and the shared directory there.
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Files: files, Script: `
CREATE DATABASE team; CREATE DATABASE secure;
CREATE EXTERNAL TABLE secure.payroll (id INT) STORED AS PARQUET LOCATION 's3://payroll/data';
CREATE ROLE stewards; GRANT ROLE stewards TO GROUP stewards;
GRANT ALL ON DATABASE team TO ROLE stewards;
GRANT ALTER ON TABLE secure.payroll TO ROLE stewards;
GRANT ALL ON URI 's3://team-lake/' TO ROLE stewards;
GRANT SELECT ON URI 's3://other-lake/f.parquet' TO ROLE stewards;
GRANT SELECT ON URI 's3://other-lake/shared' TO ROLE stewards;`})
	e := fx.Engine
	steward := authz.Principal{User: "s", Groups: []string{"stewards"}}
	for _, tc := range []struct {
		name   string
		script string
		// probe is a key the steward must not be able to write afterwards.
		bucket, key string
	}{
		{"LIKE PARQUET at a bucket's root defaults the location to the whole bucket",
			"CREATE EXTERNAL TABLE team.a LIKE PARQUET 's3://other-lake/f.parquet'", "other-lake", "secret/x"},
		{"LIKE PARQUET defaults the location to a directory the steward only reads",
			"CREATE EXTERNAL TABLE team.b LIKE PARQUET 's3://other-lake/shared/f.parquet'", "other-lake", "shared/x"},
		{"RENAME moves another's table into the steward's database",
			"ALTER TABLE secure.payroll RENAME TO team.payroll", "payroll", "data/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Exec(t.Context(), steward, tc.script)
			if !errors.Is(err, authz.ErrForbidden) {
				t.Errorf("err = %v, want ErrForbidden", err)
			}
			if d := e.Decide(steward, putObject, tc.bucket, tc.key); d.Allowed {
				t.Errorf("the steward writes s3://%s/%s: %s", tc.bucket, tc.key, d.Reason)
			}
		})
	}
	// What the steward owns stays possible.
	mustExec(t, e, steward, "CREATE EXTERNAL TABLE team.c LIKE PARQUET 's3://team-lake/t/f.parquet'")
	mustExec(t, e, steward, "ALTER TABLE team.c RENAME TO team.d")
}
