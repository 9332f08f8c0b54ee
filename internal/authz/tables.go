package authz

import (
	"fmt"
	"strings"

	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/store"
)

// policyTables turns the catalog's stored tables into what the policy
// needs of them: where their files are. A stored location that is not an
// s3:// URI fails the load, as a grant that does not parse does: the
// store is corrupt, and skipping the table could only hide the problem.
func policyTables(stored []store.Table) ([]policy.Table, error) {
	out := make([]policy.Table, 0, len(stored))
	for _, t := range stored {
		bucket, path, err := splitLocation(t.Location)
		if err != nil {
			return nil, fmt.Errorf("authz: table %s.%s: %w", t.Database, t.Name, err)
		}
		pt := policy.Table{Database: t.Database, Name: t.Name, Bucket: bucket, Path: path}
		for _, c := range t.PartitionColumns {
			pt.PartitionColumns = append(pt.PartitionColumns, c.Name)
		}
		for _, p := range t.Partitions {
			pb, pp, err := splitLocation(p.Location)
			if err != nil {
				return nil, fmt.Errorf("authz: table %s.%s, partition %s: %w", t.Database, t.Name, p.Spec, err)
			}
			pt.Partitions = append(pt.Partitions, policy.Partition{Spec: p.Spec, Bucket: pb, Path: pp})
		}
		out = append(out, pt)
	}
	return out, nil
}

// splitLocation splits a canonical stored location s3://bucket[/path].
func splitLocation(loc string) (bucket, path string, err error) {
	rest, ok := strings.CutPrefix(loc, "s3://")
	if !ok || rest == "" || strings.HasPrefix(rest, "/") {
		return "", "", fmt.Errorf("stored location %q is not s3://bucket[/path]", loc)
	}
	bucket, path, _ = strings.Cut(rest, "/")
	return bucket, path, nil
}
