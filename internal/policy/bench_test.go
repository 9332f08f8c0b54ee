package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// benchPolicy builds 100k URI grants over 10k roles (10 each) on 100
// buckets, each role granted to one of 1k groups (10 roles a group), plus
// 1k grants on whole buckets held by 1k of the roles.
func benchPolicy() (*Policy, [][]string, []Request) {
	const (
		nRoles   = 10_000
		nGroups  = 1_000
		nBuckets = 100
		perRole  = 10
	)
	rng := rand.New(rand.NewPCG(1, 2))
	privs := []grants.Privilege{grants.Select, grants.Insert, grants.Show, grants.Delete}
	s := Snapshot{Roles: make([]Role, nRoles)}
	for i := range s.Roles {
		r := &s.Roles[i]
		r.Name = fmt.Sprintf("role_%05d", i)
		r.Groups = []string{fmt.Sprintf("group_%04d", i%nGroups)}
		for j := range perRole {
			path := fmt.Sprintf("dept%d/team%d/ds%d", rng.IntN(20), rng.IntN(50), i*perRole+j)
			if j == 0 && i%10 == 0 {
				path = ""
			}
			r.Grants = append(r.Grants, grants.GrantPrivileges{
				Privileges: grants.Privileges(privs[rng.IntN(len(privs))]),
				Object:     grants.Object{Kind: grants.ObjectURI, Bucket: fmt.Sprintf("bucket-%03d", rng.IntN(nBuckets)), Path: path},
			})
		}
	}
	p := Compile(s)

	// 64 users in 5 groups each; 1024 requests, half under a path and with
	// the privilege one of the user's roles was granted, half on random paths.
	users := make([][]string, 64)
	for u := range users {
		for range 5 {
			users[u] = append(users[u], fmt.Sprintf("group_%04d", rng.IntN(nGroups)))
		}
	}
	reqs := make([]Request, 1024)
	for i := range reqs {
		u := users[i%len(users)]
		req := Request{User: "u", Groups: u, Privilege: privs[rng.IntN(len(privs))]}
		if i%2 == 0 {
			var g int
			fmt.Sscanf(u[rng.IntN(len(u))], "group_%d", &g)
			r := s.Roles[g+nGroups*rng.IntN(nRoles/nGroups)]
			gr := r.Grants[rng.IntN(len(r.Grants))]
			req.URI = "s3://" + gr.Object.Bucket + "/" + gr.Object.Path + "/part-00001/file.parquet"
			req.Privilege = grants.Privilege(gr.Privileges)
		} else {
			req.URI = fmt.Sprintf("s3://bucket-%03d/dept%d/team%d/ds%d/part-00001/file.parquet",
				rng.IntN(nBuckets), rng.IntN(20), rng.IntN(50), rng.IntN(nRoles*perRole))
		}
		reqs[i] = req
	}
	return p, users, reqs
}

// BenchmarkEvaluateUncached measures one decision without any cache.
// Compare runs with benchstat:
//
//	go test -run '^$' -bench EvaluateUncached -count 10 ./internal/policy/ > new.txt
//	benchstat old.txt new.txt
func BenchmarkEvaluateUncached(b *testing.B) {
	p, _, reqs := benchPolicy()
	allowed := 0
	for _, r := range reqs {
		if p.Evaluate(r).Allowed {
			allowed++
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Evaluate(reqs[i%len(reqs)])
	}
	b.ReportMetric(float64(allowed)/float64(len(reqs)), "allowed-share")
}

// BenchmarkHasAnyGrantInBucket measures the ListBuckets filter for one
// bucket on the same policy.
func BenchmarkHasAnyGrantInBucket(b *testing.B) {
	p, users, _ := benchPolicy()
	buckets := make([]string, 100)
	for i := range buckets {
		buckets[i] = fmt.Sprintf("bucket-%03d", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.HasAnyGrantInBucket(users[i%len(users)], buckets[i%len(buckets)])
	}
}

// Table-derived access (dynamic bypass) against URI grants: the same
// policy, the same users, keys of the same depth, each decision allowed
// through one kind of grant only. Compare the two, or one with itself
// across changes, with benchstat:
//
//	go test -run '^$' -bench 'Evaluate(TableLocation|URIGrant)$' -benchmem -count 10 ./internal/policy/ > new.txt
//	benchstat new.txt            # the two rows side by side, with their spread
//	benchstat old.txt new.txt    # before and after a change
//
// `go run ./bench -tables` runs both and writes them into docs/BENCHMARKS.md
// beside the same comparison made through the proxy.

// bypassBench is a policy of 1,000 roles in 250 groups (4 roles a group)
// holding 5,000 URI grants (5 a role) and, on a catalog of 500 tables in
// 50 databases (partitioned by dt, on the same 20 buckets), 500 TABLE
// grants and 50 DATABASE grants that give full access plus 50 restricted
// TABLE grants (a column list); and, per kind, 1,024 SELECT requests by
// users in 3 groups, each allowed through a grant of that kind only. A
// URI grant's path and a table's location have the same depth
// (lake/deptNN/dsNNNNN, lake/deptNN/tblNNNNN) and every key below them the
// same shape, so both decisions walk the same number of covering paths.
type bypassBench struct {
	p        *Policy
	uri, tbl []Request
}

func newBypassBench() *bypassBench {
	const (
		nRoles     = 1_000
		nGroups    = 250
		perRole    = 5
		nBuckets   = 20
		nDatabases = 50
		nTables    = 500
	)
	rng := rand.New(rand.NewPCG(3, 4))
	privs := []grants.Privilege{grants.Select, grants.Insert, grants.Show, grants.Delete}
	s := Snapshot{Roles: make([]Role, nRoles)}
	for i := range s.Roles {
		r := &s.Roles[i]
		r.Name = fmt.Sprintf("role_%04d", i)
		r.Groups = []string{fmt.Sprintf("group_%03d", i%nGroups)}
		for j := range perRole {
			// The first grant of each role is SELECT, the one the URI
			// requests use; the rest vary.
			priv := grants.Select
			if j > 0 {
				priv = privs[rng.IntN(len(privs))]
			}
			r.Grants = append(r.Grants, grants.GrantPrivileges{
				Privileges: grants.Privileges(priv),
				Object: grants.Object{Kind: grants.ObjectURI, Bucket: fmt.Sprintf("bucket-%02d", rng.IntN(nBuckets)),
					Path: fmt.Sprintf("lake/dept%02d/ds%05d", rng.IntN(20), i*perRole+j)},
			})
		}
	}
	s.Tables = make([]Table, nTables)
	for i := range s.Tables {
		s.Tables[i] = Table{Database: fmt.Sprintf("db%02d", i%nDatabases), Name: fmt.Sprintf("t%03d", i),
			Bucket: fmt.Sprintf("bucket-%02d", rng.IntN(nBuckets)), Path: fmt.Sprintf("lake/dept%02d/tbl%05d", rng.IntN(20), i),
			PartitionColumns: []string{"dt"}}
	}
	grantOn := func(o grants.Object) grants.GrantPrivileges {
		return grants.GrantPrivileges{Privileges: grants.Privileges(grants.Select), Object: o}
	}
	// holders[t] are the roles holding a full grant on table t, directly
	// or through its database.
	holders := make([][]int, nTables)
	for i := range nTables {
		r := rng.IntN(nRoles)
		s.Roles[r].Grants = append(s.Roles[r].Grants, grantOn(grants.Object{Kind: grants.ObjectTable, Database: s.Tables[i].Database, Table: s.Tables[i].Name}))
		holders[i] = append(holders[i], r)
	}
	for d := range nDatabases {
		r := rng.IntN(nRoles)
		s.Roles[r].Grants = append(s.Roles[r].Grants, grantOn(grants.Object{Kind: grants.ObjectDatabase, Database: fmt.Sprintf("db%02d", d)}))
		for i := d; i < nTables; i += nDatabases {
			holders[i] = append(holders[i], r)
		}
	}
	for range 50 {
		t := &s.Tables[rng.IntN(nTables)]
		g := grantOn(grants.Object{Kind: grants.ObjectTable, Database: t.Database, Table: t.Name, Columns: []string{"id"}})
		r := rng.IntN(nRoles)
		s.Roles[r].Grants = append(s.Roles[r].Grants, g)
	}
	bb := &bypassBench{p: Compile(s)}

	// A user in the group of the role holding the grant, and in two more,
	// in a random order.
	groupsWith := func(role int) []string {
		gs := []string{fmt.Sprintf("group_%03d", role%nGroups),
			fmt.Sprintf("group_%03d", rng.IntN(nGroups)), fmt.Sprintf("group_%03d", rng.IntN(nGroups))}
		rng.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
		return gs
	}
	const suffix = "/dt=2026-12-01/part-00001-c000.snappy.parquet"
	for range 1024 {
		role := rng.IntN(nRoles)
		g := s.Roles[role].Grants[0]
		bb.uri = append(bb.uri, Request{User: "u", Groups: groupsWith(role), Privilege: grants.Select,
			URI: "s3://" + g.Object.Bucket + "/" + g.Object.Path + suffix})
		t := rng.IntN(nTables)
		bb.tbl = append(bb.tbl, Request{User: "u", Groups: groupsWith(holders[t][rng.IntN(len(holders[t]))]), Privilege: grants.Select,
			URI: "s3://" + s.Tables[t].Bucket + "/" + s.Tables[t].Path + suffix})
	}
	return bb
}

// check fails b unless every request is allowed through a grant of kind.
func (bb *bypassBench) check(b *testing.B, reqs []Request, kind grants.ObjectKind) {
	b.Helper()
	for _, r := range reqs {
		d := bb.p.Evaluate(r)
		if !d.Allowed {
			b.Fatalf("%s by %v: denied: %s", r.URI, r.Groups, d.Reason)
		}
		if k := d.Grant.Grant.Object.Kind; k != kind && !(kind == grants.ObjectTable && k == grants.ObjectDatabase) {
			b.Fatalf("%s by %v: allowed by %s, want a %v grant", r.URI, r.Groups, d.Reason, kind)
		}
		if (kind == grants.ObjectTable) != (d.Table != nil) || (d.Table != nil && d.Table.Partition != "dt=2026-12-01") {
			b.Fatalf("%s by %v: table %+v", r.URI, r.Groups, d.Table)
		}
	}
}

// BenchmarkEvaluateTableLocation measures a warm bypass decision: a GET
// under a table's location allowed by a full TABLE or DATABASE grant, with
// no URI grant (the compiled policy is the proxy's in-memory state; no
// decision cache exists in this path). It includes naming the table and
// partition for the audit record.
func BenchmarkEvaluateTableLocation(b *testing.B) {
	bb := newBypassBench()
	bb.check(b, bb.tbl, grants.ObjectTable)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bb.p.Evaluate(bb.tbl[i%len(bb.tbl)])
	}
}

// BenchmarkEvaluateURIGrant measures the same decision allowed by a URI
// grant on a path of the same depth, on the same policy.
func BenchmarkEvaluateURIGrant(b *testing.B) {
	bb := newBypassBench()
	bb.check(b, bb.uri, grants.ObjectURI)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bb.p.Evaluate(bb.uri[i%len(bb.uri)])
	}
}
