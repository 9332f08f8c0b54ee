package main

import (
	"context"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/authz/authztest"
	"github.com/lakegate/lakegate/internal/client"
	"github.com/lakegate/lakegate/internal/store"
)

// catalogRESTServer is restServer with a catalog: database sales with
// tables orders and refunds; alice (group analysts) may SELECT only the
// id column of sales.orders, bob (group sales) holds ALL on database
// sales. It returns alice's token.
func catalogRESTServer(t *testing.T) (aliceToken string) {
	t.Helper()
	fx := authztest.New(t, authztest.Options{
		Script: `CREATE ROLE analyst; GRANT ROLE analyst TO GROUP analysts; GRANT SELECT(id) ON TABLE sales.orders TO ROLE analyst;
			CREATE ROLE seller; GRANT ROLE seller TO GROUP sales; GRANT ALL ON DATABASE sales TO ROLE seller`,
		Users: map[string][]string{"alice": {"analysts"}, "bob": {"sales"}},
	})
	ctx := context.WithoutCancel(t.Context())
	err := fx.Store.UpdatePolicy(ctx, func(tx store.PolicyTx) error {
		if err := tx.CreateDatabase(ctx, store.Database{Name: "sales"}); err != nil {
			return err
		}
		for _, name := range []string{"orders", "refunds"} {
			err := tx.CreateTable(ctx, store.Table{Database: "sales", Name: name, Location: "s3://lake/sales/" + name,
				Format: "PARQUET", Columns: []store.Column{{Name: "id", Type: "bigint"}, {Name: "amount", Type: "double"}}})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Engine.Exec(ctx, fx.Engine.Principal("admin"), "SHOW ROLES"); err != nil { // reloads the policy
		t.Fatal(err)
	}
	serveAdminREST(t, fx)
	return fx.Token(t, "alice")
}

func TestCheckTableCommand(t *testing.T) {
	aliceToken := catalogRESTServer(t)
	// The scan service's policy for alice, which check prints for SELECT.
	const alicePolicy = "effective policy of user alice on table sales.orders:\ngrants:\n" +
		"  GRANT SELECT(id) ON TABLE sales.orders TO ROLE analyst (role analyst via group analysts)\n" +
		"rows: all\ncolumns:\n  id: unmasked\nhidden columns: amount\n"
	tests := []struct {
		name   string
		token  string // "" for the admin's
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{
			name: "restricted",
			args: []string{"check", "--user", "alice", "--table", "sales.orders"},
			stdout: "RESTRICTED\nholds only restricted grants of SELECT on table sales.orders (column list (id)): the files under " +
				"s3://lake/sales/orders are refused; the data is read through the scan API /api/scan/sales.orders\n" +
				"location: s3://lake/sales/orders\n" + alicePolicy,
		},
		{
			name: "full, privilege in any case",
			args: []string{"check", "--user", "bob", "--table", "sales.orders", "insert"},
			stdout: "ALLOW\nmay write the files under s3://lake/sales/orders through the access proxy (bypass): " +
				"GRANT ALL ON DATABASE sales TO ROLE seller (role seller via group sales; table sales.orders at s3://lake/sales/orders)\n" +
				"location: s3://lake/sales/orders\n",
		},
		{
			name: "deny",
			args: []string{"check", "--user", "alice", "--table", "sales.orders", "DELETE"},
			stdout: "DENY\nno role granted to groups [analysts] holds DELETE on table sales.orders, its database or SERVER, " +
				"nor on the files under s3://lake/sales/orders\nlocation: s3://lake/sales/orders\n",
		},
		{
			name: "with groups",
			args: []string{"check", "--user", "alice", "--groups", "sales", "--table", "sales.refunds", "SELECT"},
			stdout: "ALLOW\nmay read the files under s3://lake/sales/refunds through the access proxy (bypass): " +
				"GRANT ALL ON DATABASE sales TO ROLE seller (role seller via group sales; table sales.refunds at s3://lake/sales/refunds)\n" +
				"location: s3://lake/sales/refunds\n" +
				"effective policy of user alice on table sales.refunds:\ngrants:\n" +
				"  GRANT ALL ON DATABASE sales TO ROLE seller (role seller via group sales)\nrows: all\ncolumns:\n  id: unmasked\n  amount: unmasked\n",
		},
		{
			name:  "a user checks itself",
			token: aliceToken,
			args:  []string{"check", "--table", "sales.orders"},
			stdout: "RESTRICTED\nholds only restricted grants of SELECT on table sales.orders (column list (id)): the files under " +
				"s3://lake/sales/orders are refused; the data is read through the scan API /api/scan/sales.orders\n" +
				"location: s3://lake/sales/orders\n" + alicePolicy,
		},
		{
			name:   "a table the user may not see",
			token:  aliceToken,
			args:   []string{"check", "--table", "sales.refunds"},
			code:   1,
			stderr: "lakegate: invalid request: table sales.refunds does not exist\n",
		},
		{
			name:   "a user checks another",
			token:  aliceToken,
			args:   []string{"check", "--user", "bob", "--table", "sales.orders"},
			code:   1,
			stderr: "lakegate: only catalog admins may check another user's access\n",
		},
		{
			name:   "unknown privilege",
			args:   []string{"check", "--user", "alice", "--table", "sales.orders", "READ"},
			code:   1,
			stderr: "lakegate: unknown privilege \"READ\": use ALL, SELECT, INSERT, SHOW, DELETE, CREATE, DROP or ALTER\n",
		},
		{
			name:   "not database.table",
			args:   []string{"check", "--user", "alice", "--table", "orders"},
			code:   1,
			stderr: "lakegate: table must be database.table, e.g. ?table=sales.orders&privilege=SELECT\n",
		},
		{
			name:   "too many arguments",
			args:   []string{"check", "--user", "alice", "--table", "sales.orders", "SELECT", "GetObject"},
			code:   1,
			stderr: "lakegate: accepts at most 1 arg(s), received 2\n",
		},
		{
			name:   "the URI form is unchanged",
			args:   []string{"check", "--user", "bob", "s3://lake/sales/orders/part-0.parquet", "GetObject"},
			stdout: "ALLOW\nGRANT ALL ON DATABASE sales TO ROLE seller (role seller via group sales; table sales.orders at s3://lake/sales/orders)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token != "" {
				t.Setenv(client.TokenEnv, tt.token)
			}
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("lakegate %q: code %d\n--- stdout\n%s--- stderr\n%s--- want code %d\n--- stdout\n%s--- stderr\n%s",
					tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestCheckHelpShowsTableForm(t *testing.T) {
	code, stdout, _ := runCLI(t, "check", "--help")
	for _, want := range []string{"--table DB.TABLE [PRIVILEGE]", "RESTRICTED", "lakegate check --user alice --table sales.orders"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("check --help (exit %d) lacks %q:\n%s", code, want, stdout)
		}
	}
}
