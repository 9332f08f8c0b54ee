package authz_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/s3/request"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// decidePolicy holds seed 000's example (hadoop may SHOW mybucket/mypath)
// and one role per kind of question.
const decidePolicy = `
CREATE ROLE emr_user_role; GRANT ROLE emr_user_role TO GROUP hadoop;
GRANT SHOW ON URI ‘s3://mybucket/mypath’ TO ROLE emr_user_role;
CREATE ROLE readers; GRANT ROLE readers TO GROUP analysts;
GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers;
CREATE ROLE lister; GRANT ROLE lister TO GROUP auditors;
GRANT SHOW ON URI 's3://bkt/public/' TO ROLE lister;
CREATE ROLE owners; GRANT ROLE owners TO GROUP owners;
GRANT ALL ON URI 's3://owned' TO ROLE owners;
CREATE ROLE cleaners; GRANT ROLE cleaners TO GROUP cleaners;
GRANT DELETE ON URI 's3://bkt/tmp' TO ROLE cleaners;
`

func TestDecide(t *testing.T) {
	e, _ := bootstrapped(t, decidePolicy)
	op := func(name string) request.Access {
		a := request.Operation(name).Access()
		if a.Scope == request.ScopeDenied {
			t.Fatalf("operation %s is unknown", name)
		}
		return a
	}
	tests := []struct {
		name    string
		groups  []string
		access  request.Access
		bucket  string
		key     string
		allowed bool
		reason  string
	}{
		// ScopeObject
		{"HeadObject with SHOW", []string{"hadoop"}, op("HeadObject"), "mybucket", "mypath/x", true,
			"GRANT SHOW ON URI 's3://mybucket/mypath' TO ROLE emr_user_role (role emr_user_role via group hadoop)"},
		{"HeadObject with SELECT", []string{"analysts"}, op("HeadObject"), "bkt", "data/x", true,
			"GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)"},
		{"HeadObject with neither", []string{"analysts", "other"}, op("HeadObject"), "bkt", "database/x", false,
			"no role granted to groups [analysts other] holds SELECT or SHOW on s3://bkt/database/x"},
		{"HeadObject without groups", nil, op("HeadObject"), "bkt", "data/x", false,
			"user has no groups"},
		{"GetObject needs SELECT, SHOW is not enough", []string{"hadoop"}, op("GetObject"), "mybucket", "mypath/x", false,
			"no role granted to groups [hadoop] holds SELECT on s3://mybucket/mypath/x"},
		{"PutObject under ALL on the bucket", []string{"owners"}, op("PutObject"), "owned", "a/b", true,
			"GRANT ALL ON URI 's3://owned' TO ROLE owners (role owners via group owners)"},
		{"PutObject by catalog admin", []string{"admin"}, op("PutObject"), "anywhere", "a", true,
			"catalog admin: GRANT ALL ON SERVER TO ROLE admin_role (role admin_role via group admin)"},
		{"object scope with no privilege to check", []string{"owners"}, request.Access{Scope: request.ScopeObject}, "owned", "a", false,
			"the operation needs no privilege the policy can grant"},

		// ScopeBucket: bucket administration needs ALL on the whole bucket.
		{"bucket admin with ALL on the bucket", []string{"owners"}, op("PutBucketPolicy"), "owned", "", true,
			"GRANT ALL ON URI 's3://owned' TO ROLE owners (role owners via group owners)"},
		{"bucket admin with a grant inside the bucket only", []string{"analysts"}, op("GetBucketPolicy"), "bkt", "", false,
			"no role granted to groups [analysts] holds ALL on s3://bkt"},
		{"bucket admin as catalog admin", []string{"admin"}, op("DeleteBucket"), "bkt", "", true,
			"catalog admin: GRANT ALL ON SERVER TO ROLE admin_role (role admin_role via group admin)"},

		// ScopeBucketAny
		{"HeadBucket with a grant inside", []string{"analysts"}, op("HeadBucket"), "bkt", "", true,
			"groups [analysts] hold a grant in s3://bkt"},
		{"GetBucketLocation with no grant there", []string{"analysts"}, op("GetBucketLocation"), "owned", "", false,
			"no role granted to groups [analysts] holds any grant in s3://owned"},
		{"HeadBucket without groups", nil, op("HeadBucket"), "bkt", "", false,
			"no role granted to groups [] holds any grant in s3://bkt"},

		// ScopeListing: seed 000's example.
		{"listing the granted path", []string{"hadoop"}, op("ListObjectsV2"), "mybucket", "mypath/", true,
			"GRANT SHOW ON URI 's3://mybucket/mypath' TO ROLE emr_user_role (role emr_user_role via group hadoop)"},
		{"listing another path", []string{"hadoop"}, op("ListObjectsV2"), "mybucket", "anotherpath/", false,
			"no role granted to groups [hadoop] holds SELECT or SHOW on s3://mybucket/anotherpath/"},
		{"listing the bucket root is filtered", []string{"hadoop"}, op("ListObjects"), "mybucket", "", true,
			"groups [hadoop] hold SHOW below s3://mybucket; the listing shows only what those grants cover"},
		{"listing a partial name above the grant", []string{"auditors"}, op("ListObjectsV2"), "bkt", "pub", true,
			"groups [auditors] hold SHOW below s3://bkt/pub; the listing shows only what those grants cover"},
		{"listing below the grant", []string{"auditors"}, op("ListObjectVersions"), "bkt", "public/2024/", true,
			"GRANT SHOW ON URI 's3://bkt/public/' TO ROLE lister (role lister via group auditors)"},
		{"listing a sibling of the grant", []string{"auditors"}, op("ListObjectsV2"), "bkt", "publicity/", false,
			"no role granted to groups [auditors] holds SELECT or SHOW on s3://bkt/publicity/"},
		// Seed 000: SELECT reads folders (aws s3 sync pathA needs SELECT
		// on pathA only); uploads in progress are listed with SHOW.
		{"listing with SELECT", []string{"analysts"}, op("ListObjectsV2"), "bkt", "data/", true,
			"GRANT SELECT ON URI 's3://bkt/data' TO ROLE readers (role readers via group analysts)"},
		{"listing above a SELECT grant is filtered", []string{"analysts"}, op("ListObjects"), "bkt", "", true,
			"groups [analysts] hold SELECT below s3://bkt; the listing shows only what those grants cover"},
		{"listing uploads needs SHOW, SELECT is not enough", []string{"analysts"}, op("ListMultipartUploads"), "bkt", "data/", false,
			"no role granted to groups [analysts] holds SHOW on s3://bkt/data/"},
		{"listing a bucket held whole", []string{"owners"}, op("ListMultipartUploads"), "owned", "", true,
			"GRANT ALL ON URI 's3://owned' TO ROLE owners (role owners via group owners)"},
		{"listing without groups", nil, op("ListObjectsV2"), "mybucket", "", false,
			"user has no groups"},

		// ScopeService
		{"ListBuckets is always allowed", nil, op("ListBuckets"), "", "", true,
			"every user may list buckets; the result shows only buckets in which the user holds a grant"},

		// ScopeEachKey: one Decide per key of DeleteObjects.
		{"DeleteObjects key covered", []string{"cleaners"}, op("DeleteObjects"), "bkt", "tmp/a", true,
			"GRANT DELETE ON URI 's3://bkt/tmp' TO ROLE cleaners (role cleaners via group cleaners)"},
		{"DeleteObjects key not covered", []string{"cleaners"}, op("DeleteObjects"), "bkt", "tmpfile", false,
			"no role granted to groups [cleaners] holds DELETE on s3://bkt/tmpfile"},

		// ScopeDenied
		{"unknown operation", []string{"admin"}, request.Operation(request.Unknown).Access(), "bkt", "x", false,
			"the operation is not supported by the access proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := authz.Principal{User: "alice", Groups: tt.groups}
			d := e.Decide(p, tt.access, tt.bucket, tt.key)
			if d.Allowed != tt.allowed || d.Reason != tt.reason {
				t.Errorf("got %v %q\nwant %v %q", d.Allowed, d.Reason, tt.allowed, tt.reason)
			}
		})
	}
}

// TestViewAndBucketVisible checks the listing filters the engine hands to
// the proxy for seed 000's example.
func TestViewAndBucketVisible(t *testing.T) {
	e, _ := bootstrapped(t, decidePolicy)
	hadoop := authz.Principal{User: "h", Groups: []string{"hadoop"}}
	v := e.View(hadoop, "mybucket", grants.Show)
	for key, want := range map[string]bool{
		"mypath": true, "mypath/x": true, "mypathology": false, "anotherpath/x": false,
	} {
		if got := v.Key(key); got != want {
			t.Errorf("View(hadoop, mybucket, SHOW).Key(%q) = %v, want %v", key, got, want)
		}
	}
	if v.All() || v.Empty() {
		t.Errorf("view All %v Empty %v, want a partial view", v.All(), v.Empty())
	}
	if !e.View(admin, "mybucket", grants.Show).All() {
		t.Error("catalog admin's view is not the whole bucket")
	}
	if !e.View(hadoop, "mybucket", grants.Select).Empty() {
		t.Error("hadoop's SELECT view is not empty")
	}
	for _, c := range []struct {
		p      authz.Principal
		bucket string
		want   bool
	}{
		{hadoop, "mybucket", true},
		{hadoop, "bkt", false},
		{admin, "bkt", true},
		{authz.Principal{User: "x"}, "mybucket", false},
	} {
		if got := e.BucketVisible(c.p, c.bucket); got != c.want {
			t.Errorf("BucketVisible(%v, %s) = %v, want %v", c.p.Groups, c.bucket, got, c.want)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	e, _ := bootstrapped(t, decidePolicy)
	tests := []struct {
		name, uri, op, want string
	}{
		{"unknown operation", "s3://bkt/x", "Frobnicate",
			`invalid request: unknown S3 operation "Frobnicate" (use an API action name such as GetObject, PutObject, ListObjectsV2)`},
		{"Unknown is not an operation name", "s3://bkt/x", "Unknown",
			`invalid request: unknown S3 operation "Unknown" (use an API action name such as GetObject, PutObject, ListObjectsV2)`},
		{"operation names are exact", "s3://bkt/x", "getobject",
			`invalid request: unknown S3 operation "getobject" (use an API action name such as GetObject, PutObject, ListObjectsV2)`},
		{"not a URI", "bkt/x", "GetObject", `invalid request: invalid URI "bkt/x": expected s3://bucket[/key]`},
		{"other scheme", "https://bkt/x", "GetObject", `invalid request: invalid URI "https://bkt/x": expected s3://bucket[/key]`},
		{"no bucket", "s3:///x", "GetObject", `invalid request: invalid URI "s3:///x": a bucket is required for GetObject`},
		{"no bucket for a listing", "s3://", "ListObjectsV2", `invalid request: invalid URI "s3://": a bucket is required for ListObjectsV2`},
		{"object operation without key", "s3://bkt", "GetObject", "invalid request: GetObject acts on an object: give s3://bucket/key"},
		{"object operation with an empty key", "s3://bkt/", "PutObject", "invalid request: PutObject acts on an object: give s3://bucket/key"},
		{"DeleteObjects is checked one key at a time", "s3://bkt", "DeleteObjects", "invalid request: DeleteObjects acts on an object: give s3://bucket/key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Check(admin, tt.uri, tt.op)
			if !errors.Is(err, authz.ErrInvalid) || err.Error() != tt.want {
				t.Errorf("error %v\nwant ErrInvalid %q", err, tt.want)
			}
			if d.Allowed {
				t.Error("allowed along with an error")
			}
		})
	}
}

// TestCheckGolden explains the checks of testdata/check.policy (grant
// statements, a line "=== checks", then "user groups URI OPERATION" a line,
// groups comma-separated or "-") and compares them with
// testdata/check.golden. Run with -update to rewrite it.
func TestCheckGolden(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "check.policy"))
	if err != nil {
		t.Fatal(err)
	}
	script, checks, ok := strings.Cut(string(src), "\n=== checks\n")
	if !ok {
		t.Fatal(`testdata/check.policy: missing "=== checks" line`)
	}
	e, _ := bootstrapped(t, script)
	var b strings.Builder
	for line := range strings.Lines(checks) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("check %q: want \"user groups URI OPERATION\"", line)
		}
		p := authz.Principal{User: f[0]}
		if f[1] != "-" {
			p.Groups = strings.Split(f[1], ",")
		}
		d, err := e.Check(p, f[2], f[3])
		switch {
		case err != nil:
			fmt.Fprintf(&b, "%s\n  ERROR %v\n", line, err)
		case d.Allowed:
			fmt.Fprintf(&b, "%s\n  ALLOW %s\n", line, d.Reason)
		default:
			fmt.Fprintf(&b, "%s\n  DENY  %s\n", line, d.Reason)
		}
	}
	got := b.String()
	golden := filepath.Join("testdata", "check.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("explanations differ from %s (run with -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
	}
}
