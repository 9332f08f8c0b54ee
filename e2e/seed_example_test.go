package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// seedS3Example is seed 000's "S3 Example" grant script, verbatim: the
// typographic quotes are the seed's, and the parser accepts them.
const seedS3Example = `DROP ROLE IF EXISTS emr_user_role;
CREATE ROLE emr_user_role;
GRANT ROLE emr_user_role TO GROUP hadoop;
GRANT SHOW ON URI ‘s3://mybucket/mypath’ TO ROLE emr_user_role;
`

// TestSeedExample runs seed 000's "S3 Example" end to end: the admin runs
// the grant script with `lakegate sql -f`, a user of group hadoop made with
// `lakegate users create` lists s3://mybucket/mypath/ with the AWS CLI and
// is refused s3://mybucket/anotherpath/. Each test has its own MinIO, so
// the bucket may be literally "mybucket". The second half follows the
// seed's "Add New Users" steps with ASCII quotes, s3a:// and a fresh bucket.
func TestSeedExample(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	st := newPolicyStack(t, lakegateOptions{})
	lg := st.LG
	// The data is put straight on MinIO: the admin's own access through
	// the proxy is TestAWSCLI's subject, and every AWS CLI run costs a
	// second.
	st.MinIO.makeBucket(t, "mybucket", false)
	for _, k := range []string{"mypath/part-0000.csv", "mypath/part-0001.csv", "anotherpath/other.csv"} {
		st.MinIO.put(t, "mybucket", k, "id,name\n1,"+k+"\n")
	}
	if !step(t, "sql_f_seed_script", func(t *testing.T) {
		// Twice: the script starts with DROP ROLE IF EXISTS, so it can be
		// re-run.
		for range 2 {
			stdout, stderr, code := lg.sqlFile(t, seedS3Example)
			if code != 0 {
				t.Fatalf("lakegate sql -f (seed script): exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		}
		out := lg.sql(t, "SHOW GRANTS ON ROLE emr_user_role")
		if !strings.Contains(out, "s3://mybucket/mypath") || !strings.Contains(strings.ToUpper(out), "SHOW") {
			t.Errorf("SHOW GRANTS ON ROLE emr_user_role lacks SHOW on s3://mybucket/mypath:\n%s", out)
		}
		if out := lg.sql(t, "SHOW ROLE GRANT GROUP hadoop"); !strings.Contains(out, "emr_user_role") {
			t.Errorf("SHOW ROLE GRANT GROUP hadoop lacks emr_user_role:\n%s", out)
		}
	}) {
		return
	}
	key, secret := lg.createUser(t, "emr_user", "hadoop")
	user := userCLI(t, st, key, secret)

	step(t, "ls_mypath_allowed", func(t *testing.T) {
		out := user.run(t, time.Minute, "s3", "ls", "s3://mybucket/mypath/")
		for _, want := range []string{"part-0000.csv", "part-0001.csv"} {
			if !strings.Contains(out, want) {
				t.Errorf("aws s3 ls s3://mybucket/mypath/ lacks %s:\n%s", want, out)
			}
		}
		if strings.Contains(out, "other.csv") {
			t.Errorf("aws s3 ls s3://mybucket/mypath/ shows anotherpath's object:\n%s", out)
		}
	})
	step(t, "ls_anotherpath_denied", func(t *testing.T) {
		before := st.Rec.Len()
		stdout, stderr, code := user.exec(time.Minute, "s3", "ls", "s3://mybucket/anotherpath/")
		if code == 0 || !deniedOutput(stderr) {
			t.Errorf("aws s3 ls s3://mybucket/anotherpath/: exit %d, want a failure with Access Denied\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "other.csv") {
			t.Errorf("the refused listing shows other.csv:\n%s\n%s", stdout, stderr)
		}
		settle(t, st.Rec)
		for _, r := range st.Rec.Since(before) {
			t.Errorf("upstream saw %s", r)
		}
	})
	step(t, "show_is_not_select", func(t *testing.T) {
		stdout, stderr, code := user.exec(time.Minute, "s3", "cp", "--no-progress", "s3://mybucket/mypath/part-0000.csv", filepath.Join(t.TempDir(), "x.csv"))
		if code == 0 || !deniedOutput(stderr) {
			t.Errorf("aws s3 cp (download) with SHOW only: exit %d, want Access Denied\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	step(t, "check_explains", func(t *testing.T) {
		for _, c := range []struct{ uri, op, want string }{
			{"s3://mybucket/mypath/", "ListObjectsV2", "ALLOW"},
			{"s3a://mybucket/mypath/part-0000.csv", "HeadObject", "ALLOW"},
			{"s3://mybucket/anotherpath/", "ListObjectsV2", "DENY"},
			{"s3://mybucket/mypath/part-0000.csv", "GetObject", "DENY"},
			{"s3://mybucket/mypathology/x", "HeadObject", "DENY"},
		} {
			got, reason := lg.check(t, "emr_user", []string{"hadoop"}, c.uri, c.op)
			if got != c.want {
				t.Errorf("lakegate check %s %s: %q (%s), want %s", c.uri, c.op, got, strings.TrimSpace(reason), c.want)
			}
			if strings.TrimSpace(reason) == "" {
				t.Errorf("lakegate check %s %s gave no reason", c.uri, c.op)
			}
		}
	})
	step(t, "sql_syntax_error", func(t *testing.T) {
		stdout, stderr, code := lg.client(t, []string{"sql"}, "CREATE ROLE ok_role;\nGRANT SHOW ON URI TO ROLE ok_role;")
		if code != 1 || !strings.HasPrefix(stderr, "lakegate: ") {
			t.Errorf("lakegate sql with a syntax error: exit %d, stderr %q; want exit 1 and \"lakegate: …\"\nstdout:\n%s", code, stderr, stdout)
		}
		if !regexp.MustCompile(`(?i)line\s*2|2:\d+`).MatchString(stderr) {
			t.Errorf("syntax error does not name line 2 and its column: %q", stderr)
		}
	})

	// "Add New Users as Okera/EMR Admin" and "Grant Access in Okera", with
	// a fresh bucket, ASCII quotes and s3a://.
	t.Run("new_user_s3a", func(t *testing.T) {
		bucket := bucketName("seed")
		st.MinIO.makeBucket(t, bucket, false)
		st.MinIO.put(t, bucket, "user_a_data/part-0000.csv", "a")
		st.MinIO.put(t, bucket, "user_b_data/other.csv", "b")
		key, secret := lg.createUser(t, "user_a", "group_a")
		script := fmt.Sprintf(`CREATE ROLE IF NOT EXISTS user_a_role;
GRANT ROLE user_a_role TO GROUP group_a;
GRANT SHOW ON URI 's3a://%s/user_a_data' TO ROLE user_a_role;
`, bucket)
		if stdout, stderr, code := lg.sqlFile(t, script); code != 0 {
			t.Fatalf("lakegate sql -f: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		ua := userCLI(t, st, key, secret)
		out := ua.run(t, time.Minute, "s3", "ls", "s3://"+bucket+"/user_a_data/")
		if !strings.Contains(out, "part-0000.csv") {
			t.Errorf("user_a's ls of user_a_data/ lacks part-0000.csv:\n%s", out)
		}
		// The bucket root shows only the way to the grant.
		out = ua.run(t, time.Minute, "s3", "ls", "s3://"+bucket+"/")
		if !strings.Contains(out, "PRE user_a_data/") || strings.Contains(out, "user_b_data") {
			t.Errorf("user_a's ls of the bucket root should show only PRE user_a_data/:\n%s", out)
		}
		for _, uri := range []string{"s3://" + bucket + "/user_b_data/", "s3://mybucket/mypath/"} {
			stdout, stderr, code := ua.exec(time.Minute, "s3", "ls", uri)
			if code == 0 || !deniedOutput(stderr) {
				t.Errorf("user_a: aws s3 ls %s: exit %d, want Access Denied\nstdout:\n%s\nstderr:\n%s", uri, code, stdout, stderr)
			}
		}
		// ListBuckets shows user_a's bucket only.
		out = ua.run(t, time.Minute, "s3", "ls")
		if !strings.Contains(out, bucket) || strings.Contains(out, "mybucket") {
			t.Errorf("user_a's aws s3 ls (ListBuckets) should show %s only:\n%s", bucket, out)
		}
	})
	assertResigned(t, st)
}
