package policy

import (
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// Grant objects and tables are matched by name. Names that only a legacy
// store can hold (the parser refuses a '.' in catalog names) or that
// differ in non-ASCII case must not make a grant on one object apply to
// another.
func TestTableGrantNamesDoNotCollide(t *testing.T) {
	tableGrant := func(db, table string, priv grants.Privilege) grants.GrantPrivileges {
		return grants.GrantPrivileges{Privileges: grants.Privileges(priv),
			Object: grants.Object{Kind: grants.ObjectTable, Database: db, Table: table}}
	}
	p := Compile(Snapshot{
		Tables: []Table{
			{Database: "d", Name: "x.y", Bucket: "lake", Path: "public"},
			{Database: "d.x", Name: "y", Bucket: "payroll", Path: "secret"},
			{Database: "e", Name: "ä", Bucket: "lake", Path: "small"},
			{Database: "e", Name: "Ä", Bucket: "payroll", Path: "big"},
			{Database: "f", Name: "x", Bucket: "payroll", Path: "f"},
		},
		Roles: []Role{{Name: "r", Groups: []string{"g"}, Grants: []grants.GrantPrivileges{
			tableGrant("d", "x.y", grants.Select),
			tableGrant("e", "ä", grants.Select),
			{Privileges: grants.Privileges(grants.All), Object: grants.Object{Kind: grants.ObjectDatabase, Database: "f.x"}},
		}}, {Name: "r2", Groups: []string{"g2"}, Grants: []grants.GrantPrivileges{
			tableGrant("e", "Ä", grants.Select),
		}}},
	})
	for _, tc := range []struct {
		name, uri string
		want      bool
		group     string
	}{
		{"the table granted in upper case", "s3://payroll/big/k", true, "g2"},
		{"the table named in lower case", "s3://lake/small/k", false, "g2"},
		{"the table granted", "s3://lake/public/k", true, "g"},
		{"the table whose database.table reads alike", "s3://payroll/secret/k", false, "g"},
		{"the table granted, lower-case", "s3://lake/small/k", true, "g"},
		{"the table named in upper case", "s3://payroll/big/k", false, "g"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(Request{User: "u", Groups: []string{tc.group}, Privilege: grants.Select, URI: tc.uri})
			if d.Allowed != tc.want {
				t.Errorf("Evaluate(%s) = %v (%s), want %v", tc.uri, d.Allowed, d.Reason, tc.want)
			}
		})
	}
	if m := p.Holds([]string{"g"}, grants.Object{Kind: grants.ObjectTable, Database: "f", Table: "x"}, grants.Drop); m != nil {
		t.Errorf("ALL ON DATABASE `f.x` holds DROP on TABLE f.x: %s", m)
	}
	if m := p.Holds([]string{"g"}, grants.Object{Kind: grants.ObjectTable, Database: "d.x", Table: "y"}, grants.Select); m != nil {
		t.Errorf("SELECT ON TABLE d.`x.y` holds SELECT on TABLE `d.x`.y: %s", m)
	}
}
