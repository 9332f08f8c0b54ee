package policy

import (
	"fmt"
	"slices"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// fromText builds a snapshot from grant statements: CREATE ROLE, GRANT ROLE
// and GRANT privileges (roles are created on first mention); other
// statements are ignored.
func fromText(t testing.TB, src string) Snapshot {
	t.Helper()
	stmts, err := grants.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	idx := map[string]int{}
	role := func(name string) *Role {
		i, ok := idx[name]
		if !ok {
			i = len(s.Roles)
			idx[name] = i
			s.Roles = append(s.Roles, Role{Name: name})
		}
		return &s.Roles[i]
	}
	for _, st := range stmts {
		switch st := st.(type) {
		case *grants.CreateRole:
			role(st.Name)
		case *grants.GrantRole:
			r := role(st.Role)
			r.Groups = append(r.Groups, st.Group)
		case *grants.GrantPrivileges:
			r := role(st.Role)
			r.Grants = append(r.Grants, *st)
		}
	}
	return s
}

const seed000 = `
DROP ROLE IF EXISTS emr_user_role;
CREATE ROLE emr_user_role;
GRANT ROLE emr_user_role TO GROUP hadoop;
GRANT SHOW ON URI ‘s3://mybucket/mypath’ TO ROLE emr_user_role;
`

const seed000Grant = "GRANT SHOW ON URI 's3://mybucket/mypath' TO ROLE emr_user_role"

const multi = `
GRANT ROLE readers TO GROUP analysts;
GRANT ROLE writers TO GROUP etl;
GRANT ROLE dataall TO GROUP owners;
GRANT ROLE admin TO GROUP ops;
GRANT ROLE lister TO GROUP auditors;
GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers;
GRANT INSERT, DELETE ON URI 's3a://bkt/data/incoming/' TO ROLE writers;
GRANT ALL ON URI 's3://bkt2' TO ROLE dataall;
GRANT ALL ON SERVER TO ROLE admin;
GRANT SHOW ON SERVER TO ROLE lister;
GRANT SELECT ON TABLE db.t TO ROLE readers;
`

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		groups  []string
		priv    grants.Privilege
		uri     string
		allowed bool
		reason  string
		role    string
		group   string
	}{
		{
			name: "seed000 show under granted path", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Show, uri: "s3://mybucket/mypath/x",
			allowed: true, role: "emr_user_role", group: "hadoop",
			reason: seed000Grant + " (role emr_user_role via group hadoop)",
		},
		{
			name: "seed000 show on granted path itself", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Show, uri: "s3://mybucket/mypath",
			allowed: true, role: "emr_user_role", group: "hadoop",
			reason: seed000Grant + " (role emr_user_role via group hadoop)",
		},
		{
			name: "seed000 show on another path denied", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Show, uri: "s3://mybucket/anotherpath/",
			reason: "no role granted to groups [hadoop] holds SHOW on s3://mybucket/anotherpath/",
		},
		{
			name: "seed000 select denied", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Select, uri: "s3://mybucket/mypath/x",
			reason: "no role granted to groups [hadoop] holds SELECT on s3://mybucket/mypath/x",
		},
		{
			name: "seed000 other group denied", policy: seed000,
			groups: []string{"a", "b"}, priv: grants.Show, uri: "s3://bkt/k",
			reason: "no role granted to groups [a b] holds SHOW on s3://bkt/k",
		},
		{
			name: "seed000 bucket itself not covered", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Show, uri: "s3://mybucket",
			reason: "no role granted to groups [hadoop] holds SHOW on s3://mybucket",
		},
		{
			name: "seed000 sibling prefix mypathology denied", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Show, uri: "s3://mybucket/mypathology",
			reason: "no role granted to groups [hadoop] holds SHOW on s3://mybucket/mypathology",
		},
		{
			name: "seed000 bucket names compared exactly", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Show, uri: "s3://MyBucket/mypath/x",
			reason: "no role granted to groups [hadoop] holds SHOW on s3://MyBucket/mypath/x",
		},
		{
			name: "user has no groups", policy: seed000,
			priv: grants.Show, uri: "s3://mybucket/mypath/x",
			reason: "user has no groups",
		},
		{
			name: "s3a request matches s3 grant", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Show, uri: "s3a://mybucket/mypath/x",
			allowed: true, role: "emr_user_role", group: "hadoop",
			reason: seed000Grant + " (role emr_user_role via group hadoop)",
		},
		{
			name: "s3a denial prints s3", policy: seed000,
			groups: []string{"hadoop"}, priv: grants.Select, uri: "S3A://mybucket/mypath/x",
			reason: "no role granted to groups [hadoop] holds SELECT on s3://mybucket/mypath/x",
		},
		{
			name: "data covers data/x", policy: multi,
			groups: []string{"analysts"}, priv: grants.Select, uri: "s3://bkt/data/x/y.parquet",
			allowed: true, role: "readers", group: "analysts",
			reason: "GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)",
		},
		{
			name: "data never covers database", policy: multi,
			groups: []string{"analysts"}, priv: grants.Select, uri: "s3://bkt/database/x",
			reason: "no role granted to groups [analysts] holds SELECT on s3://bkt/database/x",
		},
		{
			name: "trailing slash grant covers below it", policy: multi,
			groups: []string{"etl"}, priv: grants.Insert, uri: "s3://bkt/data/incoming/f.csv",
			allowed: true, role: "writers", group: "etl",
			reason: "GRANT INSERT, DELETE ON URI 's3://bkt/data/incoming/' TO ROLE writers (role writers via group etl)",
		},
		{
			name: "trailing slash grant does not cover the object without slash", policy: multi,
			groups: []string{"etl"}, priv: grants.Insert, uri: "s3://bkt/data/incoming",
			reason: "no role granted to groups [etl] holds INSERT on s3://bkt/data/incoming",
		},
		{
			name: "trailing slash grant does not cover sibling", policy: multi,
			groups: []string{"etl"}, priv: grants.Delete, uri: "s3://bkt/data/incomingX/f",
			reason: "no role granted to groups [etl] holds DELETE on s3://bkt/data/incomingX/f",
		},
		{
			name: "ALL on bucket implies SELECT", policy: multi,
			groups: []string{"owners"}, priv: grants.Select, uri: "s3://bkt2/any/deep/key",
			allowed: true, role: "dataall", group: "owners",
			reason: "GRANT ALL ON URI 's3://bkt2' TO ROLE dataall (role dataall via group owners)",
		},
		{
			name: "ALL on bucket covers bucket-level ALL request", policy: multi,
			groups: []string{"owners"}, priv: grants.All, uri: "s3://bkt2",
			allowed: true, role: "dataall", group: "owners",
			reason: "GRANT ALL ON URI 's3://bkt2' TO ROLE dataall (role dataall via group owners)",
		},
		{
			name: "SELECT does not imply ALL", policy: multi,
			groups: []string{"analysts"}, priv: grants.All, uri: "s3://bkt/data",
			reason: "no role granted to groups [analysts] holds ALL on s3://bkt/data",
		},
		{
			name: "ALL ON SERVER is catalog admin", policy: multi,
			groups: []string{"ops"}, priv: grants.Delete, uri: "s3://elsewhere/k",
			allowed: true, role: "admin", group: "ops",
			reason: "catalog admin: GRANT ALL ON SERVER TO ROLE admin (role admin via group ops)",
		},
		{
			name: "SHOW ON SERVER covers SHOW everywhere", policy: multi,
			groups: []string{"auditors"}, priv: grants.Show, uri: "s3://elsewhere",
			allowed: true, role: "lister", group: "auditors",
			reason: "GRANT SHOW ON SERVER TO ROLE lister (role lister via group auditors)",
		},
		{
			name: "SHOW ON SERVER is not SELECT", policy: multi,
			groups: []string{"auditors"}, priv: grants.Select, uri: "s3://elsewhere/k",
			reason: "no role granted to groups [auditors] holds SELECT on s3://elsewhere/k",
		},
		{
			name: "union over groups: select via analysts", policy: multi,
			groups: []string{"etl", "analysts"}, priv: grants.Select, uri: "s3://bkt/data/incoming/f",
			allowed: true, role: "readers", group: "analysts",
			reason: "GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)",
		},
		{
			name: "union over groups: insert via etl", policy: multi,
			groups: []string{"etl", "analysts"}, priv: grants.Insert, uri: "s3://bkt/data/incoming/f",
			allowed: true, role: "writers", group: "etl",
			reason: "GRANT INSERT, DELETE ON URI 's3://bkt/data/incoming/' TO ROLE writers (role writers via group etl)",
		},
		{
			name: "union over groups still denies what none holds", policy: multi,
			groups: []string{"etl", "analysts", "unknown"}, priv: grants.Insert, uri: "s3://bkt/data/x",
			reason: "no role granted to groups [etl analysts unknown] holds INSERT on s3://bkt/data/x",
		},
		{
			name: "table grants do not cover URIs", policy: multi,
			groups: []string{"analysts"}, priv: grants.Select, uri: "s3://db/t",
			reason: "no role granted to groups [analysts] holds SELECT on s3://db/t",
		},
		{
			name: "invalid URI scheme", policy: multi,
			groups: []string{"ops"}, priv: grants.Select, uri: "gs://b/k",
			reason: `invalid URI "gs://b/k": expected s3://bucket[/key]`,
		},
		{
			name: "invalid URI without bucket", policy: multi,
			groups: []string{"ops"}, priv: grants.Select, uri: "s3:///k",
			reason: `invalid URI "s3:///k": expected s3://bucket[/key]`,
		},
		{
			name: "invalid privilege set", policy: multi,
			groups: []string{"ops"}, priv: grants.Select | grants.Insert, uri: "s3://bkt/k",
			reason: "invalid privilege 6",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Compile(fromText(t, tc.policy))
			d := p.Evaluate(Request{User: "alice", Groups: tc.groups, Privilege: tc.priv, URI: tc.uri})
			if d.Allowed != tc.allowed {
				t.Errorf("Allowed = %v, want %v (reason %q)", d.Allowed, tc.allowed, d.Reason)
			}
			if d.Reason != tc.reason {
				t.Errorf("Reason = %q\nwant       %q", d.Reason, tc.reason)
			}
			if !tc.allowed {
				if d.Grant != nil {
					t.Errorf("denied with Grant %v", d.Grant)
				}
				return
			}
			if d.Grant == nil {
				t.Fatal("allowed without Grant")
			}
			if d.Grant.Role != tc.role || d.Grant.Group != tc.group {
				t.Errorf("Grant role/group = %q/%q, want %q/%q", d.Grant.Role, d.Grant.Group, tc.role, tc.group)
			}
		})
	}
}

func TestMostSpecificGrantExplains(t *testing.T) {
	p := Compile(fromText(t, `
GRANT ROLE broad TO GROUP g;
GRANT ROLE narrow TO GROUP g;
GRANT ROLE zz TO GROUP g;
GRANT SELECT ON URI 's3://bkt' TO ROLE broad;
GRANT SELECT ON URI 's3://bkt/a/b' TO ROLE zz;
GRANT SELECT ON URI 's3://bkt/a/b' TO ROLE narrow;
`))
	d := p.Evaluate(Request{Groups: []string{"g"}, Privilege: grants.Select, URI: "s3://bkt/a/b/c"})
	want := "GRANT SELECT ON URI 's3://bkt/a/b' TO ROLE narrow (role narrow via group g)"
	if !d.Allowed || d.Reason != want {
		t.Errorf("got %v %q, want allowed %q", d.Allowed, d.Reason, want)
	}
}

func TestIsCatalogAdmin(t *testing.T) {
	p := Compile(fromText(t, multi))
	tests := []struct {
		name   string
		groups []string
		want   bool
	}{
		{"admin group", []string{"ops"}, true},
		{"admin among others", []string{"etl", "ops"}, true},
		{"SHOW ON SERVER is not admin", []string{"auditors"}, false},
		{"ALL on a bucket is not admin", []string{"owners"}, false},
		{"no groups", nil, false},
		{"unknown group", []string{"OPS"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.IsCatalogAdmin(tc.groups); got != tc.want {
				t.Errorf("IsCatalogAdmin(%v) = %v, want %v", tc.groups, got, tc.want)
			}
		})
	}
}

func TestHasAnyGrantInBucket(t *testing.T) {
	p := Compile(fromText(t, multi))
	tests := []struct {
		name   string
		groups []string
		bucket string
		want   bool
	}{
		{"grant deep in bucket", []string{"etl"}, "bkt", true},
		{"grant on other bucket", []string{"etl"}, "bkt2", false},
		{"bucket grant", []string{"owners"}, "bkt2", true},
		{"server grant covers any bucket", []string{"auditors"}, "zzz", true},
		{"admin covers any bucket", []string{"ops"}, "zzz", true},
		{"unknown group", []string{"nobody"}, "bkt", false},
		{"no groups", nil, "bkt", false},
		{"bucket compared exactly", []string{"etl"}, "BKT", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.HasAnyGrantInBucket(tc.groups, tc.bucket); got != tc.want {
				t.Errorf("HasAnyGrantInBucket(%v, %q) = %v, want %v", tc.groups, tc.bucket, got, tc.want)
			}
		})
	}
}

func TestVisibleBuckets(t *testing.T) {
	p := Compile(fromText(t, multi))
	for _, groups := range [][]string{{"etl"}, {"owners"}, {"auditors"}, {"nobody"}, nil, {"etl", "owners"}} {
		all, buckets := p.VisibleBuckets(groups)
		for _, b := range []string{"bkt", "bkt2", "zzz", "BKT"} {
			if got, want := all || slices.Contains(buckets, b), p.HasAnyGrantInBucket(groups, b); got != want {
				t.Errorf("VisibleBuckets(%v) = %v, %q: shows %s %v, HasAnyGrantInBucket says %v", groups, all, buckets, b, got, want)
			}
		}
	}
}

// TestCrowdedPath checks the lookup used when one path holds many more
// grants than the user has roles (300 here, 23 roles a group): the same
// answer as a scan, the role first by name, held through the first group in
// request order.
func TestCrowdedPath(t *testing.T) {
	var s Snapshot
	for i := range 300 {
		priv := grants.Select
		if i%2 == 1 {
			priv = grants.Insert
		}
		s.Roles = append(s.Roles, Role{
			Name:   fmt.Sprintf("r%03d", i),
			Groups: []string{fmt.Sprintf("g%d", i%13)},
			Grants: []grants.GrantPrivileges{{
				Privileges: grants.Privileges(priv),
				Object:     grants.Object{Kind: grants.ObjectURI, Bucket: "crowd", Path: "shared"},
			}},
		})
	}
	p := Compile(s)
	tests := []struct {
		name   string
		groups []string
		priv   grants.Privilege
		reason string
	}{
		// g3 holds r003, r016, r017…: r003 is odd (INSERT), r016 even (SELECT).
		{"select via g3", []string{"g3"}, grants.Select,
			"GRANT SELECT ON URI 's3://crowd/shared' TO ROLE r016 (role r016 via group g3)"},
		{"insert via g3", []string{"g3"}, grants.Insert,
			"GRANT INSERT ON URI 's3://crowd/shared' TO ROLE r003 (role r003 via group g3)"},
		// g0 holds r000 (SELECT); g1 holds r001 (INSERT).
		{"lowest role wins across groups", []string{"g1", "g0"}, grants.Select,
			"GRANT SELECT ON URI 's3://crowd/shared' TO ROLE r000 (role r000 via group g0)"},
		{"delete held by none", []string{"g1", "g0"}, grants.Delete,
			"no role granted to groups [g1 g0] holds DELETE on s3://crowd/shared/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(Request{Groups: tc.groups, Privilege: tc.priv, URI: "s3://crowd/shared/x"})
			if d.Reason != tc.reason {
				t.Errorf("Reason = %q\nwant       %q", d.Reason, tc.reason)
			}
		})
	}
}
