package request

import (
	"testing"

	"github.com/lakegate/lakegate/internal/grants"
)

// TestAccessSeedTable pins what the operations of seed 000's tables need.
// SELECT means "read files, folders, and buckets": `aws s3 sync s3://b/pathA
// dir` and `aws s3 cp --recursive` need only SELECT on pathA, so listing
// objects (and their versions) is open to SELECT as well as SHOW, the
// result filtered to what those grants cover. Uploads in progress are not
// readable files: listing them stays SHOW's.
func TestAccessSeedTable(t *testing.T) {
	privs := func(ps ...grants.Privilege) grants.Privileges {
		var s grants.Privileges
		for _, p := range ps {
			s |= grants.Privileges(p)
		}
		return s
	}
	tests := []struct {
		op    Operation
		scope Scope
		anyOf grants.Privileges
	}{
		{"ListBuckets", ScopeService, privs(grants.Select, grants.Show)},
		{"HeadBucket", ScopeBucketAny, 0},
		{"ListObjects", ScopeListing, privs(grants.Select, grants.Show)},
		{"ListObjectsV2", ScopeListing, privs(grants.Select, grants.Show)},
		{"ListObjectVersions", ScopeListing, privs(grants.Select, grants.Show)},
		{"ListMultipartUploads", ScopeListing, privs(grants.Show)},
		{"GetObject", ScopeObject, privs(grants.Select)},
		{"HeadObject", ScopeObject, privs(grants.Select, grants.Show)},
		{"PutObject", ScopeObject, privs(grants.Insert)},
		{"ListParts", ScopeObject, privs(grants.Insert)},
		{"DeleteObject", ScopeObject, privs(grants.Delete)},
		{"DeleteObjects", ScopeEachKey, privs(grants.Delete)},
		{"PutBucketPolicy", ScopeBucket, privs(grants.All)},
		{Unknown, ScopeDenied, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			if got := tt.op.Access(); got.Scope != tt.scope || got.AnyOf != tt.anyOf {
				t.Errorf("%s needs %s on scope %d, want %s on scope %d", tt.op, got.AnyOf, got.Scope, tt.anyOf, tt.scope)
			}
		})
	}
}
