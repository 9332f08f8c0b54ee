package authz_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/store"
)

// fakeFiles answers LIKE PARQUET and RECOVER PARTITIONS from maps, and
// records what was asked.
type fakeFiles struct {
	schemas map[string][]store.Column // "bucket/key" → columns
	parts   map[string][]authz.FoundPartition
	asked   []string
}

func (f *fakeFiles) ParquetSchema(_ context.Context, bucket, key string) ([]store.Column, error) {
	f.asked = append(f.asked, "schema "+bucket+"/"+key)
	cols, ok := f.schemas[bucket+"/"+key]
	if !ok {
		return nil, errors.New("not a Parquet file: s3://" + bucket + "/" + key + " has no PAR1 magic")
	}
	return cols, nil
}

func (f *fakeFiles) Partitions(_ context.Context, bucket, root string, columns []string) ([]authz.FoundPartition, error) {
	f.asked = append(f.asked, fmt.Sprintf("partitions %s/%s %v", bucket, root, columns))
	return f.parts[bucket+"/"+root], nil
}

// seed000 is seed 000's table, registered over s3://controlled-data.
const seed000 = `
CREATE DATABASE source COMMENT 'raw data';
CREATE EXTERNAL TABLE source.transactions (
  tnxid INT, tnxdate DATE, amount DOUBLE, userid STRING, ip_address STRING,
  address STRING, country STRING, region STRING )
STORED AS PARQUET LOCATION 's3://controlled-data/transactions';
CREATE ROLE analysts;
GRANT ROLE analysts TO GROUP user_b;
GRANT SELECT ON TABLE source.transactions TO ROLE analysts;
`

var getObject = request.Operation("GetObject").Access()
var putObject = request.Operation("PutObject").Access()

func TestSeed000Bypass(t *testing.T) {
	e, st := bootstrapped(t, seed000)
	userB := authz.Principal{User: "b", Groups: []string{"user_b"}}
	d := e.Decide(userB, getObject, "controlled-data", "transactions/part-0.parquet")
	if !d.Allowed || d.Table == nil || d.Table.Name() != "source.transactions" {
		t.Fatalf("user_b reads the table's files: %+v", d)
	}
	for _, tc := range []struct {
		bucket, key string
		acc         request.Access
	}{
		{"controlled-data", "transactions2/part-0.parquet", getObject},
		{"anotherbucket", "transactions/part-0.parquet", getObject},
		{"controlled-data", "transactions/part-0.parquet", putObject},
	} {
		if d := e.Decide(userB, tc.acc, tc.bucket, tc.key); d.Allowed {
			t.Errorf("%s/%s allowed: %s", tc.bucket, tc.key, d.Reason)
		}
	}
	mustExec(t, e, admin, "DROP TABLE source.transactions")
	if d := e.Decide(userB, getObject, "controlled-data", "transactions/part-0.parquet"); d.Allowed {
		t.Errorf("a dropped table still grants its files: %s", d.Reason)
	}
	if s := state(t, st); strings.Contains(s, "TABLE") {
		t.Errorf("the grants on a dropped table stay:\n%s", s)
	}
}

func TestCatalogShowVisibility(t *testing.T) {
	e, _ := bootstrapped(t, seed000+`
CREATE DATABASE hidden;
CREATE EXTERNAL TABLE hidden.secret (id BIGINT) STORED AS PARQUET LOCATION 's3://secret-bucket/t';
CREATE EXTERNAL TABLE source.other (id BIGINT) STORED AS PARQUET LOCATION 's3://controlled-data/other';`)
	userB := authz.Principal{User: "b", Groups: []string{"user_b"}}
	rows := func(caller authz.Principal, script string) string {
		res := mustExec(t, e, caller, script)
		var out []string
		for _, r := range res[0].Rows {
			out = append(out, strings.Join(r, "|"))
		}
		return strings.Join(out, ";")
	}
	if got := rows(userB, "SHOW DATABASES"); got != "source|raw data" {
		t.Errorf("user_b's SHOW DATABASES = %q", got)
	}
	if got := rows(userB, "SHOW TABLES"); got != "source|transactions" {
		t.Errorf("user_b's SHOW TABLES = %q", got)
	}
	if got := rows(admin, "SHOW TABLES"); got != "hidden|secret;source|other;source|transactions" {
		t.Errorf("admin's SHOW TABLES = %q", got)
	}
	for _, script := range []string{"SHOW TABLES IN hidden", "DESCRIBE hidden.secret", "SHOW CREATE TABLE source.other", "DESCRIBE nosuch.tbl"} {
		_, err := e.Exec(t.Context(), userB, script)
		if !errors.Is(err, authz.ErrInvalid) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s: err = %v, want 'does not exist'", script, err)
		}
	}
	if got := rows(userB, "DESCRIBE source.transactions"); !strings.HasPrefix(got, "tnxid|int|;tnxdate|date|;amount|double|") {
		t.Errorf("DESCRIBE = %q", got)
	}
}

func TestShowCreateTableRoundTrip(t *testing.T) {
	e, _ := bootstrapped(t, `CREATE DATABASE d;
CREATE EXTERNAL TABLE d.t (id BIGINT COMMENT 'key', price DECIMAL(10,2), tags ARRAY<STRING>, attrs MAP<STRING,INT>,
  addr STRUCT<street:STRING, zip:INT>) COMMENT 'orders' PARTITIONED BY (dt STRING, region STRING)
  ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION 's3://lake/orders/' TBLPROPERTIES ('skip.header.line.count'='1')`)
	res := mustExec(t, e, admin, "SHOW CREATE TABLE d.t")
	text := res[0].Rows[0][0]
	stmts, err := grants.Parse(text)
	if err != nil {
		t.Fatalf("SHOW CREATE TABLE's text does not parse: %v\n%s", err, text)
	}
	ct := stmts[0].(*grants.CreateTable)
	if ct.Location != "s3://lake/orders" || ct.Format != "TEXTFILE" || ct.FieldDelimiter != "," || len(ct.Columns) != 5 ||
		len(ct.PartitionedBy) != 2 || ct.Columns[1].Type.String() != "decimal(10,2)" || ct.Comment != "orders" {
		t.Errorf("SHOW CREATE TABLE lost something:\n%s", text)
	}
	// Running it again under another name gives the same table.
	mustExec(t, e, admin, strings.Replace(text, "d.t", "d.copy", 1))
	again := mustExec(t, e, admin, "SHOW CREATE TABLE d.copy")[0].Rows[0][0]
	if strings.Replace(again, "d.copy", "d.t", 1) != text {
		t.Errorf("recreated table differs:\n%s\n---\n%s", again, text)
	}
}

func TestCatalogAlterations(t *testing.T) {
	e, st := bootstrapped(t, seed000+`GRANT ALL ON DATABASE source TO ROLE analysts;`)
	userB := authz.Principal{User: "b", Groups: []string{"user_b"}}
	allowed := func(key string) bool { return e.Decide(userB, getObject, "controlled-data", key).Allowed }

	mustExec(t, e, admin, "ALTER TABLE source.transactions SET LOCATION 's3://controlled-data/tx-v2'")
	if allowed("transactions/part-0") || !allowed("tx-v2/part-0") {
		t.Error("SET LOCATION moves the files the table grants")
	}
	mustExec(t, e, admin, "ALTER TABLE source.transactions ADD COLUMNS (fee DOUBLE COMMENT 'new')")
	if _, err := e.Exec(t.Context(), admin, "ALTER TABLE source.transactions ADD COLUMNS (fee INT)"); !errors.Is(err, authz.ErrInvalid) {
		t.Errorf("a column added twice: %v", err)
	}
	mustExec(t, e, admin, "CREATE DATABASE archive; ALTER TABLE source.transactions RENAME TO archive.tx")
	if s := state(t, st); !strings.Contains(s, `SELECT TABLE "archive.tx"`) || strings.Contains(s, "source.transactions") {
		t.Errorf("the table's grants follow the rename:\n%s", s)
	}
	if !allowed("tx-v2/part-0") {
		t.Error("a renamed table keeps its grants")
	}
	if _, err := e.Exec(t.Context(), admin, "DROP DATABASE archive"); err == nil || !strings.Contains(err.Error(), "CASCADE") {
		t.Errorf("dropping a database with tables: %v", err)
	}
	mustExec(t, e, admin, "DROP DATABASE archive CASCADE; DROP DATABASE source CASCADE")
	if s := state(t, st); strings.Contains(s, "DATABASE") || strings.Contains(s, "TABLE") {
		t.Errorf("grants on dropped databases and tables stay:\n%s", s)
	}
	if allowed("tx-v2/part-0") {
		t.Error("a dropped database still grants its tables' files")
	}
}

func TestCatalogScriptIsAtomic(t *testing.T) {
	e, st := bootstrapped(t, "")
	before := dump(t, st)
	_, err := e.Exec(t.Context(), admin, `CREATE DATABASE d;
CREATE EXTERNAL TABLE d.t (id INT) STORED AS PARQUET LOCATION 's3://lake/t';
CREATE EXTERNAL TABLE d.t (id INT) STORED AS PARQUET LOCATION 's3://lake/t'`)
	var ee *authz.ExecError
	if !errors.As(err, &ee) || ee.Line != 3 || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v", err)
	}
	data, _ := st.LoadPolicy(t.Context())
	if len(data.Databases) != 0 || len(data.Tables) != 0 || dump(t, st) != before {
		t.Errorf("a failed script left %d databases, %d tables", len(data.Databases), len(data.Tables))
	}
}

func TestCatalogPrivileges(t *testing.T) {
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Script: `
CREATE DATABASE team;
CREATE ROLE stewards; GRANT ROLE stewards TO GROUP stewards;
GRANT CREATE, ALTER, DROP ON DATABASE team TO ROLE stewards;
GRANT ALL ON URI 's3://team-lake/' TO ROLE stewards;
GRANT SELECT ON URI 's3://other-lake/shared' TO ROLE stewards;`})
	e := fx.Engine
	steward := authz.Principal{User: "s", Groups: []string{"stewards"}}
	outsider := authz.Principal{User: "o", Groups: []string{"nobody"}}
	for _, tc := range []struct {
		name   string
		caller authz.Principal
		script string
		err    error
		msg    string
	}{
		{"steward creates a table where they hold ALL", steward,
			"CREATE EXTERNAL TABLE team.t (id INT) STORED AS PARQUET LOCATION 's3://team-lake/t'", nil, ""},
		{"steward may not point a table at files they only read", steward,
			"CREATE EXTERNAL TABLE team.u (id INT) STORED AS PARQUET LOCATION 's3://other-lake/shared/u'", authz.ErrForbidden, "ALL on s3://other-lake/shared/u"},
		{"steward may not move a table to someone else's files", steward,
			"ALTER TABLE team.t SET LOCATION 's3://payroll/t'", authz.ErrForbidden, "ALL on s3://payroll/t"},
		{"steward may not add a partition elsewhere", steward,
			"ALTER TABLE team.t ADD PARTITION (id=1) LOCATION 's3://payroll/x'", authz.ErrForbidden, "ALL on s3://payroll/x"},
		{"steward may not create databases", steward, "CREATE DATABASE other", authz.ErrForbidden, "CREATE on SERVER"},
		{"steward may not grant", steward, "GRANT SELECT ON TABLE team.t TO ROLE stewards", authz.ErrForbidden, "catalog admins"},
		{"outsider may not create tables", outsider,
			"CREATE EXTERNAL TABLE team.v (id INT) STORED AS PARQUET LOCATION 's3://team-lake/v'", authz.ErrForbidden, "CREATE on DATABASE team"},
		{"outsider may not drop", outsider, "DROP TABLE team.t", authz.ErrForbidden, "DROP on TABLE team.t"},
		{"steward drops", steward, "DROP TABLE team.t", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Exec(t.Context(), tc.caller, tc.script)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to say %q", err, tc.msg)
			}
		})
	}
}

func TestLikeParquetAndPartitions(t *testing.T) {
	files := &fakeFiles{
		schemas: map[string][]store.Column{"lake/sales/year=2024/part-0.parquet": {{Name: "id", Type: "bigint"}, {Name: "amount", Type: "decimal(10,2)"}}},
		parts: map[string][]authz.FoundPartition{"lake/sales": {
			{Values: []string{"2024"}, Path: "sales/year=2024"},
			{Values: []string{"2025"}, Path: "sales/year=2025"},
			{Values: []string{"a/b"}, Path: "sales/year=a%2Fb"},
			{Values: []string{"2026"}, Path: "elsewhere/year=2026"},
		}},
	}
	fx := authztest.New(t, authztest.Options{AdminUser: admin.User, Files: files, Script: `CREATE DATABASE shop;
CREATE ROLE r; GRANT ROLE r TO GROUP g; GRANT SELECT ON TABLE shop.sales TO ROLE r;`})
	e := fx.Engine
	res := mustExec(t, e, admin, `CREATE EXTERNAL TABLE shop.sales LIKE PARQUET 's3://lake/sales/year=2024/part-0.parquet'
  PARTITIONED BY (year INT) STORED AS PARQUET LOCATION 's3://lake/sales';
ALTER TABLE shop.sales RECOVER PARTITIONS;
ALTER TABLE shop.sales ADD PARTITION (year=2019) LOCATION 's3://archive/sales-2019';
SHOW PARTITIONS shop.sales;
DESCRIBE shop.sales`)
	if !strings.Contains(res[1].Message, "3 partition(s) recovered") {
		t.Errorf("RECOVER PARTITIONS: %q", res[1].Message)
	}
	var parts []string
	for _, r := range res[3].Rows {
		parts = append(parts, r[0]+" "+r[1])
	}
	want := "year=2019 s3://archive/sales-2019;year=2024 s3://lake/sales/year=2024;year=2025 s3://lake/sales/year=2025;year=a%2Fb s3://lake/sales/year=a%2Fb"
	if got := strings.Join(parts, ";"); got != want {
		t.Errorf("partitions:\n got %s\nwant %s", got, want)
	}
	if got := res[4].Rows[1]; got[0] != "amount" || got[1] != "decimal(10,2)" {
		t.Errorf("the schema was not read from the file: %v", res[4].Rows)
	}
	g := authz.Principal{User: "u", Groups: []string{"g"}}
	if d := e.Decide(g, getObject, "archive", "sales-2019/part-0.parquet"); !d.Allowed || d.Table.Partition != "year=2019" {
		t.Errorf("a partition outside the table's location is granted with the table: %+v", d)
	}
	if d := e.Decide(g, getObject, "archive", "sales-2020/part-0.parquet"); d.Allowed {
		t.Errorf("beside the partition: %s", d.Reason)
	}
	mustExec(t, e, admin, "ALTER TABLE shop.sales DROP PARTITION (year=2019)")
	if d := e.Decide(g, getObject, "archive", "sales-2019/part-0.parquet"); d.Allowed {
		t.Errorf("a dropped partition's files: %s", d.Reason)
	}
	_, err := e.Exec(t.Context(), admin, "CREATE EXTERNAL TABLE shop.bad LIKE PARQUET 's3://lake/sales/readme.csv'")
	if !errors.Is(err, authz.ErrInvalid) || !strings.Contains(err.Error(), "not a Parquet file") {
		t.Errorf("LIKE PARQUET on a CSV: %v", err)
	}
	if _, err := e.Exec(t.Context(), admin, "ALTER TABLE shop.sales ADD PARTITION (month=1)"); !errors.Is(err, authz.ErrInvalid) {
		t.Errorf("a partition naming the wrong column: %v", err)
	}
}

func TestLikeParquetNeedsFiles(t *testing.T) {
	e, _ := bootstrapped(t, "CREATE DATABASE d")
	_, err := e.Exec(t.Context(), admin, "CREATE EXTERNAL TABLE d.t LIKE PARQUET 's3://lake/f.parquet'")
	if !errors.Is(err, authz.ErrInvalid) || !strings.Contains(err.Error(), "cannot read the data lake") {
		t.Errorf("without Files: %v", err)
	}
}

func TestFineGrainedGrantsStoredAndRevoked(t *testing.T) {
	e, st := bootstrapped(t, `CREATE DATABASE hr;
CREATE EXTERNAL TABLE hr.people (id BIGINT, name STRING, ssn STRING, region STRING) STORED AS PARQUET LOCATION 's3://hr-lake/people';
CREATE ROLE masked; GRANT ROLE masked TO GROUP m;
GRANT SELECT ON TABLE hr.people WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE masked;
GRANT SELECT ON TABLE hr.people HAVING ATTRIBUTE NOT IN (pii) TO ROLE masked;
ALTER TABLE hr.people ALTER COLUMN ssn SET ATTRIBUTES pii.ssn, pii.any;
ALTER TABLE hr.people ALTER COLUMN ssn UNSET ATTRIBUTES pii.any`)
	res := mustExec(t, e, admin, "SHOW GRANTS ON ROLE masked; DESCRIBE hr.people")
	var shown []string
	for _, r := range res[0].Rows {
		shown = append(shown, r[2])
	}
	want := []string{
		"GRANT SELECT ON TABLE hr.people HAVING ATTRIBUTE NOT IN (pii) TO ROLE masked",
		"GRANT SELECT ON TABLE hr.people WHERE region = 'EU' TRANSFORM ssn WITH mask_last(4) TO ROLE masked",
	}
	if strings.Join(shown, "\n") != strings.Join(want, "\n") {
		t.Errorf("SHOW GRANTS:\n%s\nwant\n%s", strings.Join(shown, "\n"), strings.Join(want, "\n"))
	}
	data, _ := st.LoadPolicy(t.Context())
	if a := data.Tables[0].Columns[2].Attributes; len(a) != 1 || a[0] != "pii.ssn" {
		t.Errorf("ssn's attributes = %v", a)
	}
	m := authz.Principal{User: "u", Groups: []string{"m"}}
	if d := e.Decide(m, getObject, "hr-lake", "people/part-0.parquet"); d.Allowed || !d.Restricted {
		t.Errorf("masked and attribute-filtered grants are restricted: %+v", d)
	}
	mustExec(t, e, admin, "REVOKE SELECT ON TABLE hr.people FROM ROLE masked")
	if s := state(t, st); strings.Contains(s, "hr.people") {
		t.Errorf("REVOKE without a column list removes every variant:\n%s", s)
	}
	fx := authz.Principal{User: "s", Groups: []string{"m"}}
	if _, err := e.Exec(t.Context(), fx, "ALTER TABLE hr.people ALTER COLUMN ssn SET ATTRIBUTES pii.x"); !errors.Is(err, authz.ErrForbidden) {
		t.Errorf("a non-admin tags columns: %v", err)
	}
}

func TestSetLocationMovesPartitionsUnderIt(t *testing.T) {
	e, _ := bootstrapped(t, `CREATE DATABASE d;
CREATE EXTERNAL TABLE d.t (id INT) PARTITIONED BY (year INT) STORED AS PARQUET LOCATION 's3://lake/t';
ALTER TABLE d.t ADD PARTITION (year=2024);
ALTER TABLE d.t ADD PARTITION (year=2019) LOCATION 's3://archive/t-2019';
CREATE ROLE r; GRANT ROLE r TO GROUP g; GRANT SELECT ON TABLE d.t TO ROLE r;
ALTER TABLE d.t SET LOCATION 's3://lake/t_new'`)
	g := authz.Principal{User: "u", Groups: []string{"g"}}
	for _, tc := range []struct {
		bucket, key string
		allowed     bool
	}{
		{"lake", "t/year=2024/part-0", false},
		{"lake", "t_new/year=2024/part-0", true},
		{"archive", "t-2019/part-0", true},
	} {
		if d := e.Decide(g, getObject, tc.bucket, tc.key); d.Allowed != tc.allowed {
			t.Errorf("%s/%s: allowed %v, want %v (%s)", tc.bucket, tc.key, d.Allowed, tc.allowed, d.Reason)
		}
	}
	res := mustExec(t, e, admin, "SHOW PARTITIONS d.t")
	if got := fmt.Sprint(res[0].Rows); got != "[[year=2019 s3://archive/t-2019] [year=2024 s3://lake/t_new/year=2024]]" {
		t.Errorf("partitions: %s", got)
	}
}
