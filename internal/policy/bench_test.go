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
