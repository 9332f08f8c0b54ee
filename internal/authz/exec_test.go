package authz_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/request"
)

func msg(statement, message string) authz.Result {
	return authz.Result{Statement: statement, Message: message}
}

// TestExecChanges runs one change script per case as catalog admin on a
// store prepared by setup, and checks the results, or the error, and the
// stored policy afterwards (one row per privilege, as stored).
func TestExecChanges(t *testing.T) {
	const r1 = "CREATE ROLE r; GRANT ROLE r TO GROUP g;"
	tests := []struct {
		name   string
		setup  string
		script string
		want   []authz.Result
		// wantErr, when set, is the message of the *ExecError, which
		// must wrap authz.ErrInvalid and leave the policy as setup left it.
		wantErr string
		state   string
	}{
		{
			name:   "create role",
			script: "CREATE ROLE r",
			want:   []authz.Result{msg("CREATE ROLE r", "role r created")},
			state:  "role r\n",
		},
		{
			name:    "create existing role",
			setup:   r1,
			script:  "create role r",
			wantErr: "line 1, column 1: CREATE ROLE r: invalid request: role r already exists",
			state:   "role r\n  group g\n",
		},
		{
			name:   "create role if not exists, existing",
			setup:  r1,
			script: "CREATE ROLE IF NOT EXISTS r",
			want:   []authz.Result{msg("CREATE ROLE IF NOT EXISTS r", "role r already exists")},
			state:  "role r\n  group g\n",
		},
		{
			name:   "create role if not exists, missing",
			script: "CREATE ROLE IF NOT EXISTS r",
			want:   []authz.Result{msg("CREATE ROLE IF NOT EXISTS r", "role r created")},
			state:  "role r\n",
		},
		{
			name:   "keyword role name is backquoted in the result",
			script: "CREATE ROLE `select`",
			want:   []authz.Result{msg("CREATE ROLE `select`", "role select created")},
			state:  "role select\n",
		},
		{
			name:   "drop role takes its grants and groups",
			setup:  r1 + "GRANT SELECT ON URI 's3://bkt/p' TO ROLE r; CREATE ROLE other;",
			script: "DROP ROLE r",
			want:   []authz.Result{msg("DROP ROLE r", "role r dropped")},
			state:  "role other\n",
		},
		{
			name:    "drop missing role",
			script:  "DROP ROLE r",
			wantErr: "line 1, column 1: DROP ROLE r: invalid request: role r does not exist",
		},
		{
			name:   "drop role if exists, missing",
			script: "DROP ROLE IF EXISTS r",
			want:   []authz.Result{msg("DROP ROLE IF EXISTS r", "role r does not exist")},
		},
		{
			name:   "drop role if exists, existing",
			setup:  r1,
			script: "DROP ROLE IF EXISTS r",
			want:   []authz.Result{msg("DROP ROLE IF EXISTS r", "role r dropped")},
		},
		{
			name:   "grant role to group",
			setup:  "CREATE ROLE r",
			script: "GRANT ROLE r TO GROUP g; GRANT ROLE r TO GROUP h; GRANT ROLE r TO GROUP g",
			want: []authz.Result{
				msg("GRANT ROLE r TO GROUP g", "role r granted to group g"),
				msg("GRANT ROLE r TO GROUP h", "role r granted to group h"),
				msg("GRANT ROLE r TO GROUP g", "role r granted to group g"),
			},
			state: "role r\n  group g\n  group h\n",
		},
		{
			name:    "grant missing role",
			script:  "GRANT ROLE r TO GROUP g",
			wantErr: "line 1, column 1: GRANT ROLE r TO GROUP g: invalid request: role r does not exist",
		},
		{
			name:   "revoke role from group",
			setup:  r1 + "GRANT ROLE r TO GROUP h",
			script: "REVOKE ROLE r FROM GROUP g",
			want:   []authz.Result{msg("REVOKE ROLE r FROM GROUP g", "role r revoked from group g")},
			state:  "role r\n  group h\n",
		},
		{
			name:    "revoke role not granted",
			setup:   r1,
			script:  "REVOKE ROLE r FROM GROUP h",
			wantErr: "line 1, column 1: REVOKE ROLE r FROM GROUP h: invalid request: role r is not granted to group h",
			state:   "role r\n  group g\n",
		},
		{
			name:   "grant several privileges stores one row each",
			setup:  r1,
			script: "GRANT select, INSERT ON URI ‘s3a://bkt/data’ TO ROLE r",
			want:   []authz.Result{msg("GRANT SELECT, INSERT ON URI 's3://bkt/data' TO ROLE r", "granted")},
			state:  "role r\n  group g\n  INSERT URI \"s3://bkt/data\"\n  SELECT URI \"s3://bkt/data\"\n",
		},
		{
			name:   "granting again changes nothing",
			setup:  r1 + "GRANT SELECT ON URI 's3://bkt/data' TO ROLE r",
			script: "GRANT SELECT ON URI 's3://bkt/data' TO ROLE r",
			want:   []authz.Result{msg("GRANT SELECT ON URI 's3://bkt/data' TO ROLE r", "granted")},
			state:  "role r\n  group g\n  SELECT URI \"s3://bkt/data\"\n",
		},
		{
			name:  "grant on server, database, table, columns and row filter",
			setup: r1,
			script: "GRANT SHOW ON SERVER TO ROLE r;" +
				"GRANT CREATE, DROP ON DATABASE `my db` TO ROLE r;" +
				"GRANT SELECT(a, `from`) ON TABLE db.`t-1` TO ROLE r;" +
				"GRANT SELECT ON TABLE db.t WHERE  region = 'eu' TO ROLE r",
			want: []authz.Result{
				msg("GRANT SHOW ON SERVER TO ROLE r", "granted"),
				msg("GRANT CREATE, DROP ON DATABASE `my db` TO ROLE r", "granted"),
				msg("GRANT SELECT(a, `from`) ON TABLE db.`t-1` TO ROLE r", "granted"),
				msg("GRANT SELECT ON TABLE db.t WHERE region = 'eu' TO ROLE r", "granted"),
			},
			state: "role r\n  group g\n" +
				"  CREATE DATABASE \"`my db`\"\n" +
				"  DROP DATABASE \"`my db`\"\n" +
				"  SHOW SERVER \"\"\n" +
				"  SELECT TABLE \"db.`t-1`\" columns \"a, `from`\"\n" +
				"  SELECT TABLE \"db.t\" where \"region = 'eu'\"\n",
		},
		{
			name:    "grant to missing role",
			script:  "GRANT SELECT ON URI 's3://bkt/data' TO ROLE r",
			wantErr: "line 1, column 1: GRANT SELECT ON URI 's3://bkt/data' TO ROLE r: invalid request: role r does not exist",
		},
		{
			name:   "revoke one privilege of a multi-privilege grant",
			setup:  r1 + "GRANT SELECT, INSERT, DELETE ON URI 's3://bkt/data' TO ROLE r",
			script: "REVOKE INSERT ON URI 's3://bkt/data' FROM ROLE r",
			want:   []authz.Result{msg("REVOKE INSERT ON URI 's3://bkt/data' FROM ROLE r", "1 privilege(s) revoked")},
			state:  "role r\n  group g\n  DELETE URI \"s3://bkt/data\"\n  SELECT URI \"s3://bkt/data\"\n",
		},
		{
			name:   "revoke several privileges, one of them not held",
			setup:  r1 + "GRANT SELECT, INSERT ON URI 's3://bkt/data' TO ROLE r",
			script: "REVOKE SELECT, DELETE ON URI 's3://bkt/data' FROM ROLE r",
			want:   []authz.Result{msg("REVOKE SELECT, DELETE ON URI 's3://bkt/data' FROM ROLE r", "1 privilege(s) revoked")},
			state:  "role r\n  group g\n  INSERT URI \"s3://bkt/data\"\n",
		},
		{
			name: "revoke all removes every privilege on the object only",
			setup: r1 + "GRANT SELECT, INSERT ON URI 's3://bkt/data' TO ROLE r;" +
				"GRANT ALL ON URI 's3://bkt/data' TO ROLE r;" +
				"GRANT SELECT ON URI 's3://bkt/data/sub' TO ROLE r",
			script: "REVOKE ALL ON URI 's3a://bkt/data' FROM ROLE r",
			want:   []authz.Result{msg("REVOKE ALL ON URI 's3://bkt/data' FROM ROLE r", "3 privilege(s) revoked")},
			state:  "role r\n  group g\n  SELECT URI \"s3://bkt/data/sub\"\n",
		},
		{
			name:   "revoke a grant the role does not hold",
			setup:  r1 + "GRANT SELECT ON URI 's3://bkt/data' TO ROLE r",
			script: "REVOKE SELECT ON URI 's3://bkt/dat' FROM ROLE r",
			want:   []authz.Result{msg("REVOKE SELECT ON URI 's3://bkt/dat' FROM ROLE r", "nothing to revoke: role r holds no grant of SELECT on URI 's3://bkt/dat' (REVOKE ALL removes every privilege on it, including ALL)")},
			state:  "role r\n  group g\n  SELECT URI \"s3://bkt/data\"\n",
		},
		{
			name:   "revoke a column grant",
			setup:  r1 + "GRANT SELECT(a, `b c`) ON TABLE db.t TO ROLE r; GRANT SELECT(a) ON TABLE db.t TO ROLE r",
			script: "REVOKE SELECT(a, `b c`) ON TABLE db.t FROM ROLE r",
			want:   []authz.Result{msg("REVOKE SELECT(a, `b c`) ON TABLE db.t FROM ROLE r", "1 privilege(s) revoked")},
			state:  "role r\n  group g\n  SELECT TABLE \"db.t\" columns \"a\"\n",
		},
		{
			name:    "revoke from a missing role",
			script:  "REVOKE SELECT ON URI 's3://bkt/data' FROM ROLE r",
			wantErr: "line 1, column 1: REVOKE SELECT ON URI 's3://bkt/data' FROM ROLE r: invalid request: role r does not exist",
		},
		{
			name:   "show answers after the script's changes",
			script: "SHOW ROLES; CREATE ROLE r",
			want: []authz.Result{
				{Statement: "SHOW ROLES", Columns: []string{"role"}, Rows: [][]string{{"admin_role"}, {"r"}}},
				msg("CREATE ROLE r", "role r created"),
			},
			state: "role r\n",
		},
		{
			name:    "a failing third statement leaves the first two unapplied",
			script:  "CREATE ROLE a;\nGRANT ROLE a TO GROUP g;\n  GRANT SELECT ON URI 's3://bkt/x' TO ROLE missing;\nCREATE ROLE b",
			wantErr: "line 3, column 3: GRANT SELECT ON URI 's3://bkt/x' TO ROLE missing: invalid request: role missing does not exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, st := bootstrapped(t, tt.setup)
			version := e.Version()
			before := state(t, st)
			got, err := e.Exec(t.Context(), admin, tt.script)
			if tt.wantErr != "" {
				var ee *authz.ExecError
				if !errors.As(err, &ee) || !errors.Is(err, authz.ErrInvalid) {
					t.Fatalf("error %v (%T), want an *ExecError wrapping ErrInvalid", err, err)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("error\n got %q\nwant %q", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("results %v returned with the error", got)
				}
				if after := state(t, st); after != before {
					t.Errorf("the failed script changed the policy:\n--- before\n%s--- after\n%s", before, after)
				}
				if e.Version() != version {
					t.Errorf("version %d after a failed script, want %d", e.Version(), version)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("results\n got %#v\nwant %#v", got, tt.want)
			}
			if s := state(t, st); s != tt.state {
				t.Errorf("stored policy\n--- got\n%s--- want\n%s", s, tt.state)
			}
			if e.Version() <= version {
				t.Errorf("version %d after a change, want more than %d", e.Version(), version)
			}
		})
	}
}

// TestExecFailureLocatesStatement checks the position and the statement
// text of the *ExecError of a failing statement among others.
func TestExecFailureLocatesStatement(t *testing.T) {
	e, st := bootstrapped(t, "")
	script := "-- roles\nCREATE ROLE a; GRANT ROLE a TO GROUP g;\n\n\t  drop role `no such`;\nCREATE ROLE b;"
	_, err := e.Exec(t.Context(), admin, script)
	var ee *authz.ExecError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v (%T), want *authz.ExecError", err, err)
	}
	if ee.Line != 4 || ee.Col != 4 || ee.Statement != "DROP ROLE `no such`" || !errors.Is(ee, authz.ErrInvalid) {
		t.Errorf("got line %d, column %d, statement %q, err %v; want line 4, column 4, DROP ROLE `no such`, ErrInvalid",
			ee.Line, ee.Col, ee.Statement, ee.Err)
	}
	if s := state(t, st); s != "" {
		t.Errorf("nothing should be applied, the store holds:\n%s", s)
	}
}

func TestExecSyntaxError(t *testing.T) {
	e, st := bootstrapped(t, "")
	tests := []struct {
		name      string
		script    string
		line, col int
		msg       string
	}{
		{"missing role name", "CREATE ROLE a;\nCREATE ROLE;", 2, 12, "expected role name, found \";\""},
		{"keyword as name", "CREATE ROLE a; GRANT ROLE select TO GROUP g", 1, 27, "expected role name, found keyword SELECT (backquote it to use it as a name)"},
		{"bad uri", "GRANT SELECT ON URI 'http://b/x' TO ROLE a", 1, 21, `invalid URI "http://b/x": scheme "http" is not supported; use s3:// (or s3a://)`},
		{"unterminated string", "CREATE ROLE a;\n  GRANT SELECT ON URI 's3://b", 2, 23, "unterminated string literal (strings end on the same line)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.Exec(t.Context(), admin, tt.script)
			var se *grants.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want *grants.SyntaxError", err, err)
			}
			if se.Line != tt.line || se.Col != tt.col || se.Msg != tt.msg {
				t.Errorf("got %d:%d %q, want %d:%d %q", se.Line, se.Col, se.Msg, tt.line, tt.col, tt.msg)
			}
			if res != nil {
				t.Errorf("results %v returned with the error", res)
			}
			if s := state(t, st); s != "" {
				t.Errorf("nothing should be applied, the store holds:\n%s", s)
			}
		})
	}
}

func TestExecScriptTooLong(t *testing.T) {
	e, _ := bootstrapped(t, "")
	_, err := e.Exec(t.Context(), admin, "SHOW ROLES;"+strings.Repeat(" ", 1<<20))
	if !errors.Is(err, authz.ErrInvalid) || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("error %v, want ErrInvalid: the script exceeds …", err)
	}
}

// TestExecChangeInForceAtOnce checks that a GRANT or REVOKE through Exec is
// what the next Decide sees, with no Run loop at all.
func TestExecChangeInForceAtOnce(t *testing.T) {
	e, _ := bootstrapped(t, "CREATE ROLE r; GRANT ROLE r TO GROUP g")
	alice := authz.Principal{User: "alice", Groups: []string{"g"}}
	get := request.Operation("GetObject").Access()
	if d := e.Decide(alice, get, "bkt", "data/x"); d.Allowed {
		t.Fatalf("allowed before the grant: %s", d.Reason)
	}
	mustExec(t, e, admin, "GRANT SELECT ON URI 's3://bkt/data' TO ROLE r")
	d := e.Decide(alice, get, "bkt", "data/x")
	if want := "GRANT SELECT ON URI 's3://bkt/data' TO ROLE r (role r via group g)"; !d.Allowed || d.Reason != want {
		t.Errorf("after GRANT: %v %q, want allowed %q", d.Allowed, d.Reason, want)
	}
	mustExec(t, e, admin, "REVOKE SELECT ON URI 's3://bkt/data' FROM ROLE r")
	d = e.Decide(alice, get, "bkt", "data/x")
	if want := "no role granted to groups [g] holds SELECT on s3://bkt/data/x"; d.Allowed || d.Reason != want {
		t.Errorf("after REVOKE: %v %q, want denied %q", d.Allowed, d.Reason, want)
	}
}

// showPolicy is the policy the SHOW tests run against: alice is in groups
// analysts and etl, bob in sales.
const showPolicy = `
CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts;
CREATE ROLE writers; GRANT ROLE writers TO GROUP etl; GRANT ROLE writers TO GROUP analysts;
CREATE ROLE sellers; GRANT ROLE sellers TO GROUP sales;
CREATE ROLE unused;
GRANT SELECT, SHOW ON URI 's3://bkt/data' TO ROLE readers;
GRANT SELECT ON TABLE db.t WHERE region = 'eu' TO ROLE readers;
GRANT INSERT ON URI 's3://bkt/data/incoming/' TO ROLE writers;
GRANT ALL ON URI 's3://sales' TO ROLE sellers;
`

func TestExecShow(t *testing.T) {
	e, _ := bootstrapped(t, showPolicy)
	alice := authz.Principal{User: "alice", Groups: []string{"analysts", "etl"}}
	nobody := authz.Principal{User: "nobody"}
	table := func(statement string, columns []string, rows ...[]string) []authz.Result {
		return []authz.Result{{Statement: statement, Columns: columns, Rows: rows}}
	}
	tests := []struct {
		name    string
		caller  authz.Principal
		script  string
		want    []authz.Result
		wantErr string // the *ExecError's message; it must wrap the sentinel
		sent    error
	}{
		{
			name: "admin sees every role", caller: admin, script: "SHOW ROLES",
			want: table("SHOW ROLES", []string{"role"}, []string{"admin_role"}, []string{"readers"},
				[]string{"sellers"}, []string{"unused"}, []string{"writers"}),
		},
		{
			name: "a user sees only the roles of its groups", caller: alice, script: "show roles",
			want: table("SHOW ROLES", []string{"role"}, []string{"readers"}, []string{"writers"}),
		},
		{
			name: "a user without groups sees no roles", caller: nobody, script: "SHOW ROLES",
			want: table("SHOW ROLES", []string{"role"}),
		},
		{
			name: "admin shows any role's grants, merged per object", caller: admin, script: "SHOW GRANTS ON ROLE readers",
			want: table("SHOW GRANTS ON ROLE readers", []string{"privileges", "object", "grant"},
				[]string{"SELECT", "TABLE db.t WHERE region = 'eu'", "GRANT SELECT ON TABLE db.t WHERE region = 'eu' TO ROLE readers"},
				[]string{"SELECT, SHOW", "URI 's3://bkt/data'", "GRANT SELECT, SHOW ON URI 's3://bkt/data' TO ROLE readers"}),
		},
		{
			name: "a user shows the grants of a role it holds", caller: alice, script: "SHOW GRANTS ON ROLE writers",
			want: table("SHOW GRANTS ON ROLE writers", []string{"privileges", "object", "grant"},
				[]string{"INSERT", "URI 's3://bkt/data/incoming/'", "GRANT INSERT ON URI 's3://bkt/data/incoming/' TO ROLE writers"}),
		},
		{
			name: "a user may not show the grants of another role", caller: alice, script: "SHOW GRANTS ON ROLE sellers",
			wantErr: "line 1, column 1: SHOW GRANTS ON ROLE sellers: permission denied: only catalog admins may show the grants of a role they do not hold",
			sent:    authz.ErrForbidden,
		},
		{
			name: "a user is not told whether a role exists", caller: alice, script: "SHOW GRANTS ON ROLE nosuch",
			wantErr: "line 1, column 1: SHOW GRANTS ON ROLE nosuch: permission denied: only catalog admins may show the grants of a role they do not hold",
			sent:    authz.ErrForbidden,
		},
		{
			name: "admin asks for a missing role", caller: admin, script: "SHOW ROLES;\nSHOW GRANTS ON ROLE nosuch",
			wantErr: "line 2, column 1: SHOW GRANTS ON ROLE nosuch: invalid request: role nosuch does not exist",
			sent:    authz.ErrInvalid,
		},
		{
			name: "an empty role", caller: admin, script: "SHOW GRANTS ON ROLE unused",
			want: table("SHOW GRANTS ON ROLE unused", []string{"privileges", "object", "grant"}),
		},
		{
			name: "admin shows the roles of any group", caller: admin, script: "SHOW ROLE GRANT GROUP sales",
			want: table("SHOW ROLE GRANT GROUP sales", []string{"role"}, []string{"sellers"}),
		},
		{
			name: "a user shows the roles of its own group", caller: alice, script: "SHOW ROLE GRANT GROUP analysts",
			want: table("SHOW ROLE GRANT GROUP analysts", []string{"role"}, []string{"readers"}, []string{"writers"}),
		},
		{
			name: "a user may not show the roles of another group", caller: alice, script: "SHOW ROLE GRANT GROUP sales",
			wantErr: "line 1, column 1: SHOW ROLE GRANT GROUP sales: permission denied: only catalog admins may show the roles of a group they are not in",
			sent:    authz.ErrForbidden,
		},
		{
			name: "current roles name the group each is held through", caller: alice, script: "SHOW CURRENT ROLES",
			want: table("SHOW CURRENT ROLES", []string{"role", "via_group"},
				[]string{"readers", "analysts"}, []string{"writers", "analysts"}, []string{"writers", "etl"}),
		},
		{
			name: "current roles of admin are its own, not all", caller: admin, script: "SHOW CURRENT ROLES",
			want: table("SHOW CURRENT ROLES", []string{"role", "via_group"}, []string{"admin_role", "admin"}),
		},
		{
			name: "a user may not change the policy", caller: alice, script: "SHOW ROLES;\n GRANT ROLE sellers TO GROUP analysts",
			wantErr: "line 2, column 2: GRANT ROLE sellers TO GROUP analysts: permission denied: only catalog admins (ALL ON SERVER) may change the policy",
			sent:    authz.ErrForbidden,
		},
		{
			name: "not even a harmless change", caller: alice, script: "CREATE ROLE IF NOT EXISTS readers",
			wantErr: "line 1, column 1: CREATE ROLE IF NOT EXISTS readers: permission denied: only catalog admins (ALL ON SERVER) may change the policy",
			sent:    authz.ErrForbidden,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Exec(t.Context(), tt.caller, tt.script)
			if tt.wantErr != "" {
				var ee *authz.ExecError
				if !errors.As(err, &ee) || !errors.Is(err, tt.sent) || err.Error() != tt.wantErr {
					t.Fatalf("error %v (%T)\nwant *ExecError %q wrapping %v", err, err, tt.wantErr, tt.sent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("results\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestExecForbiddenChangesNothing runs a non-admin's script whose change
// would have given it more access.
func TestExecForbiddenChangesNothing(t *testing.T) {
	e, st := bootstrapped(t, showPolicy)
	before := state(t, st)
	alice := authz.Principal{User: "alice", Groups: []string{"analysts"}}
	_, err := e.Exec(t.Context(), alice, "GRANT ROLE admin_role TO GROUP analysts")
	if !errors.Is(err, authz.ErrForbidden) {
		t.Fatalf("error %v, want ErrForbidden", err)
	}
	if e.IsCatalogAdmin(alice) {
		t.Error("alice became catalog admin")
	}
	if after := state(t, st); after != before {
		t.Errorf("policy changed:\n%s", after)
	}
}
