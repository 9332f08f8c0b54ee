package policy

import (
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

func TestTableGrantReasons(t *testing.T) {
	sales := Table{Database: "shop", Name: "sales", Bucket: "lake", Path: "sales",
		PartitionColumns: []string{"year", "month"},
		Partitions: []Partition{
			{Spec: "year=2020/month=1", Bucket: "lake", Path: "sales/year=2020/month=1"},
			{Spec: "year=2019/month=12", Bucket: "archive", Path: "old/sales-2019-12"},
		}}
	p := Compile(Snapshot{Tables: []Table{sales}, Roles: []Role{
		{Name: "analysts", Groups: []string{"ana"}, Grants: grantsFor(t, "GRANT SELECT ON TABLE shop.sales")},
		{Name: "limited", Groups: []string{"lim"}, Grants: grantsFor(t, "GRANT SELECT (id) ON TABLE shop.sales")},
		{Name: "writers", Groups: []string{"wr"}, Grants: grantsFor(t, "GRANT ALL ON DATABASE shop")},
	}})
	for _, tc := range []struct {
		name      string
		groups    []string
		priv      grants.Privilege
		uri       string
		allowed   bool
		reason    string
		partition string
		restrict  bool
	}{
		{name: "partition by path", groups: []string{"ana"}, priv: grants.Select, uri: "s3://lake/sales/year=2021/month=3/f.parquet",
			allowed: true, partition: "year=2021/month=3",
			reason: "GRANT SELECT ON TABLE shop.sales TO ROLE analysts (role analysts via group ana; table shop.sales at s3://lake/sales, partition year=2021/month=3)"},
		{name: "not a partition directory", groups: []string{"ana"}, priv: grants.Select, uri: "s3://lake/sales/README",
			allowed: true, reason: "GRANT SELECT ON TABLE shop.sales TO ROLE analysts (role analysts via group ana; table shop.sales at s3://lake/sales)"},
		{name: "the location itself", groups: []string{"ana"}, priv: grants.Select, uri: "s3://lake/sales", allowed: true,
			reason: "GRANT SELECT ON TABLE shop.sales TO ROLE analysts (role analysts via group ana; table shop.sales at s3://lake/sales)"},
		{name: "partition outside the root", groups: []string{"ana"}, priv: grants.Select, uri: "s3://archive/old/sales-2019-12/f.parquet",
			allowed: true, partition: "year=2019/month=12",
			reason: "GRANT SELECT ON TABLE shop.sales TO ROLE analysts (role analysts via group ana; table shop.sales at s3://archive/old/sales-2019-12, partition year=2019/month=12)"},
		{name: "sibling of the outside partition", groups: []string{"ana"}, priv: grants.Select, uri: "s3://archive/old/sales-2019-11/f.parquet",
			reason: "no role granted to groups [ana] holds SELECT on s3://archive/old/sales-2019-11/f.parquet"},
		{name: "sibling prefix", groups: []string{"ana"}, priv: grants.Select, uri: "s3://lake/sales2/f",
			reason: "no role granted to groups [ana] holds SELECT on s3://lake/sales2/f"},
		{name: "write needs INSERT", groups: []string{"ana"}, priv: grants.Insert, uri: "s3://lake/sales/f",
			reason: "no role granted to groups [ana] holds INSERT on s3://lake/sales/f"},
		{name: "restricted", groups: []string{"lim"}, priv: grants.Select, uri: "s3://lake/sales/year=2020/month=1/f", restrict: true, partition: "year=2020/month=1",
			reason: "table shop.sales at s3://lake/sales is restricted for groups [lim] (GRANT SELECT(id) ON TABLE shop.sales TO ROLE limited, role limited via group lim, has a column list or row filter): its data is read through the scan service, not as files"},
		{name: "restricted outside partition", groups: []string{"lim"}, priv: grants.Show, uri: "s3://archive/old/sales-2019-12/", restrict: true, partition: "year=2019/month=12",
			reason: "table shop.sales at s3://archive/old/sales-2019-12 is restricted for groups [lim] (GRANT SELECT(id) ON TABLE shop.sales TO ROLE limited, role limited via group lim, has a column list or row filter): its data is read through the scan service, not as files"},
		{name: "full wins over restricted", groups: []string{"lim", "ana"}, priv: grants.Select, uri: "s3://lake/sales/f", allowed: true,
			reason: "GRANT SELECT ON TABLE shop.sales TO ROLE analysts (role analysts via group ana; table shop.sales at s3://lake/sales)"},
		{name: "database ALL writes Spark's _temporary", groups: []string{"wr"}, priv: grants.Insert, uri: "s3://lake/sales/_temporary/0/x", allowed: true,
			reason: "GRANT ALL ON DATABASE shop TO ROLE writers (role writers via group wr; table shop.sales at s3://lake/sales)"},
		{name: "database ALL is not ALL on the bucket", groups: []string{"wr"}, priv: grants.All, uri: "s3://lake",
			reason: "no role granted to groups [wr] holds ALL on s3://lake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(Request{User: "u", Groups: tc.groups, Privilege: tc.priv, URI: tc.uri})
			if d.Allowed != tc.allowed || d.Reason != tc.reason {
				t.Errorf("got %v %q\nwant %v %q", d.Allowed, d.Reason, tc.allowed, tc.reason)
			}
			m := d.Table
			if d.Grant != nil && d.Grant.Table != m {
				t.Error("Decision.Table is not the match's table")
			}
			if d.Restricted != tc.restrict {
				t.Errorf("Restricted = %v, want %v", d.Restricted, tc.restrict)
			}
			if m != nil && m.Partition != tc.partition {
				t.Errorf("Partition = %q, want %q", m.Partition, tc.partition)
			}
		})
	}
}

func TestTableLocationChange(t *testing.T) {
	grant := []Role{{Name: "r", Groups: []string{"g"}, Grants: grantsFor(t, "GRANT SELECT ON TABLE d.t")}}
	before := Compile(Snapshot{Roles: grant, Tables: []Table{{Database: "d", Name: "t", Bucket: "b", Path: "old"}}})
	after := Compile(Snapshot{Roles: grant, Tables: []Table{{Database: "d", Name: "t", Bucket: "b", Path: "new"}}})
	req := func(p *Policy, uri string) bool {
		return p.Evaluate(Request{User: "u", Groups: []string{"g"}, Privilege: grants.Select, URI: uri}).Allowed
	}
	if !req(before, "s3://b/old/f") || req(before, "s3://b/new/f") {
		t.Error("before the change only the old location is granted")
	}
	if req(after, "s3://b/old/f") || !req(after, "s3://b/new/f") {
		t.Error("after the change only the new location is granted")
	}
	dropped := Compile(Snapshot{Roles: grant})
	if req(dropped, "s3://b/old/f") || req(dropped, "s3://b/new/f") {
		t.Error("a dropped table grants nothing")
	}
}

func TestTableViews(t *testing.T) {
	p := Compile(Snapshot{Tables: []Table{{Database: "d", Name: "t", Bucket: "bkt", Path: "warehouse/t"}},
		Roles: []Role{{Name: "r", Groups: []string{"g"}, Grants: grantsFor(t, "GRANT SELECT ON TABLE d.t", "GRANT SELECT ON URI 's3://bkt/public'")}}})
	v := p.View([]string{"g"}, "bkt", grants.Select)
	if got := strings.Join(v.Paths(), ","); got != "public,warehouse/t" {
		t.Errorf("view paths = %q", got)
	}
	if !v.Prefix("warehouse/") || v.Key("warehouse/t2/x") || !v.Under("warehouse/t/") {
		t.Error("the view sees below the table's location, and only there")
	}
	if !p.HasAnyGrantInBucket([]string{"g"}, "bkt") {
		t.Error("a table grant makes its bucket visible")
	}
}

func TestPartitionOf(t *testing.T) {
	for _, tc := range []struct {
		key, root string
		cols      []string
		want      string
	}{
		{"t/a=1/b=2/f", "t", []string{"a", "b"}, "a=1/b=2"},
		{"t/a=1/f", "t", []string{"a", "b"}, ""},
		{"t/a=1/c=2/f", "t", []string{"a", "b"}, ""},
		{"t/a=/f", "t", []string{"a"}, ""},
		{"t2/a=1/f", "t", []string{"a"}, ""},
		{"a=1/f", "", []string{"a"}, "a=1"},
		{"t/a=1/f", "t/", []string{"a"}, "a=1"},
		{"t/a=1/f", "t", nil, ""},
	} {
		if got := PartitionOf(tc.key, tc.root, tc.cols); got != tc.want {
			t.Errorf("PartitionOf(%q, %q, %v) = %q, want %q", tc.key, tc.root, tc.cols, got, tc.want)
		}
	}
}

func TestHolds(t *testing.T) {
	p := Compile(Snapshot{Roles: []Role{
		{Name: "creators", Groups: []string{"c"}, Grants: grantsFor(t, "GRANT CREATE ON DATABASE shop")},
		{Name: "owners", Groups: []string{"o"}, Grants: grantsFor(t, "GRANT ALL ON TABLE shop.sales")},
		{Name: "servers", Groups: []string{"s"}, Grants: grantsFor(t, "GRANT CREATE ON SERVER")},
	}})
	table := grants.Object{Kind: grants.ObjectTable, Database: "shop", Table: "sales"}
	other := grants.Object{Kind: grants.ObjectTable, Database: "shop", Table: "other"}
	db := grants.Object{Kind: grants.ObjectDatabase, Database: "shop"}
	server := grants.Object{Kind: grants.ObjectServer}
	for _, tc := range []struct {
		group string
		o     grants.Object
		priv  grants.Privilege
		want  string // the role, "" for none
	}{
		{"c", db, grants.Create, "creators"},
		{"c", table, grants.Create, "creators"},
		{"c", table, grants.Drop, ""},
		{"c", server, grants.Create, ""},
		{"o", table, grants.Alter, "owners"},
		{"o", other, grants.Alter, ""},
		{"o", db, grants.Alter, ""},
		{"s", db, grants.Create, "servers"},
		{"s", server, grants.Create, "servers"},
		{"s", table, grants.Drop, ""},
	} {
		m := p.Holds([]string{tc.group}, tc.o, tc.priv)
		got := ""
		if m != nil {
			got = m.Role
		}
		if got != tc.want {
			t.Errorf("%s holds %s on %s: got role %q, want %q", tc.group, tc.priv, tc.o, got, tc.want)
		}
	}
}
