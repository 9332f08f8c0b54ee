package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSelectOnlyListing is issue 13, item 7: seed 000's SELECT means "read
// files, folders, and buckets", and its table says `aws s3 sync pathA
// pathB` and `aws s3 cp pathA pathB` need SELECT on pathA. A user granted
// only SELECT ON URI 's3://B/pathA' downloads pathA's tree with `aws s3
// sync` and `aws s3 cp --recursive` and gets exactly its files; a sibling
// name (pathAB/), another path and the rest of the bucket stay hidden from
// every listing and nothing of them is read upstream; `lakegate check`
// explains the listing by the SELECT grant. Against MinIO and the embedded
// backend.
func TestSelectOnlyListing(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		m, lg := st.MinIO, st.LG
		b := bucketName("sellist")
		m.makeBucket(t, b, false)
		visible := map[string]string{"a.txt": "", "d/b.txt": "", "d/e/c.txt": ""}
		for rel := range visible {
			content := "pathA " + rel + "\n"
			m.put(t, b, "pathA/"+rel, content)
			visible[rel] = sha256Hex([]byte(content))
		}
		hidden := []string{"pathAB/x.txt", "pathB/hidden.txt", "top.txt"}
		for _, k := range hidden {
			m.put(t, b, k, "hidden "+k+"\n")
		}
		key, secret := lg.createUser(t, "selma", "sel_users")
		lg.sql(t, "CREATE ROLE sel_role", "GRANT ROLE sel_role TO GROUP sel_users",
			fmt.Sprintf("GRANT SELECT ON URI 's3://%s/pathA' TO ROLE sel_role", b))
		cli := userCLI(t, st, key, secret)
		first := st.Rec.Len()

		t.Run("sync", func(t *testing.T) {
			dir := t.TempDir()
			cli.run(t, 2*time.Minute, "s3", "sync", "--no-progress", "s3://"+b+"/pathA", dir)
			compareTree(t, visible, dir)
		})
		t.Run("cp_recursive", func(t *testing.T) {
			dir := t.TempDir()
			cli.run(t, 2*time.Minute, "s3", "cp", "--recursive", "--no-progress", "s3://"+b+"/pathA/", dir)
			compareTree(t, visible, dir)
		})
		t.Run("ls_bucket_root_is_filtered", func(t *testing.T) {
			out := cli.run(t, time.Minute, "s3", "ls", "s3://"+b+"/")
			if !strings.Contains(out, "PRE pathA/") || strings.Contains(out, "pathAB") || strings.Contains(out, "pathB") ||
				strings.Contains(out, "top.txt") {
				t.Errorf("aws s3 ls s3://%s/ should show only PRE pathA/:\n%s", b, out)
			}
			out = cli.run(t, time.Minute, "s3", "ls", "--recursive", "s3://"+b+"/")
			for rel := range visible {
				if !strings.Contains(out, "pathA/"+rel) {
					t.Errorf("aws s3 ls --recursive lacks pathA/%s:\n%s", rel, out)
				}
			}
			for _, k := range hidden {
				if strings.Contains(out, k) {
					t.Errorf("aws s3 ls --recursive shows %s:\n%s", k, out)
				}
			}
		})
		t.Run("outside_the_grant_is_denied", func(t *testing.T) {
			for _, args := range [][]string{
				{"s3", "ls", "s3://" + b + "/pathB/"},
				{"s3", "ls", "s3://" + b + "/pathAB/"},
				{"s3", "sync", "--no-progress", "s3://" + b + "/pathB", t.TempDir()},
				{"s3", "cp", "--recursive", "--no-progress", "s3://" + b + "/pathAB/", t.TempDir()},
			} {
				stdout, stderr, code := cli.exec(time.Minute, args...)
				if code == 0 || !deniedOutput(stderr) {
					t.Errorf("aws %s: exit %d, want Access Denied\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
				}
			}
		})
		t.Run("nothing_hidden_read_upstream", func(t *testing.T) {
			settle(t, st.Rec)
			for _, r := range st.Rec.Since(first) {
				q, _ := url.ParseQuery(r.Query)
				p := q.Get("prefix")
				if r.Method != "GET" && r.Method != "HEAD" {
					t.Errorf("upstream saw a %s: %s", r.Method, r)
				}
				for _, h := range []string{"pathAB/", "pathB", "top.txt"} {
					if strings.Contains(r.Path, "/"+h) || strings.HasPrefix(p, h) {
						t.Errorf("upstream was asked about %s: %s", h, r)
					}
				}
			}
		})
		t.Run("check_explains", func(t *testing.T) {
			for _, c := range []struct{ uri, op, want, reason string }{
				{"s3://" + b + "/pathA/", "ListObjectsV2", "ALLOW", "GRANT SELECT ON URI 's3://" + b + "/pathA'"},
				{"s3://" + b, "ListObjectsV2", "ALLOW", "hold SELECT below s3://" + b},
				{"s3://" + b + "/pathB/", "ListObjectsV2", "DENY", "SELECT or SHOW"},
				{"s3://" + b + "/pathA/", "ListMultipartUploads", "DENY", "SHOW"},
			} {
				got, reason := lg.check(t, "selma", []string{"sel_users"}, c.uri, c.op)
				if got != c.want || !strings.Contains(reason, c.reason) {
					t.Errorf("lakegate check %s %s: %s %q, want %s with %q", c.uri, c.op, got, strings.TrimSpace(reason), c.want, c.reason)
				}
			}
		})
	})
}
