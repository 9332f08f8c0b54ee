package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// permEnv is what a row's setup prepared for one attempt.
type permEnv struct {
	dir      string // a fresh local directory
	uploadID string
	partETag string
}

// permRow is one line of seed 000's "To AWS CLI Commands" table.
type permRow struct {
	name string
	// setup prepares storage (directly on MinIO) and local files; it runs
	// before every attempt.
	setup func(t *testing.T) permEnv
	args  func(e permEnv) []string
	// allow are grant sets (privileges ON URI, relative to the bucket) with
	// each of which the command must succeed; the first is the seed's.
	allow [][]string
	// deny are grant sets with which the command must fail with Access
	// Denied and leave storage unchanged; nil means "no grant at all" only.
	deny [][]string
	// effect checks a successful attempt.
	effect func(t *testing.T, e permEnv, stdout string)
	// filtered: a denied attempt succeeds with a filtered result
	// (ListBuckets); deniedEffect checks it.
	filtered     bool
	deniedEffect func(t *testing.T, e permEnv, stdout string)
}

// TestCLIPermissionTable drives seed 000's AWS CLI → permission table with
// the real AWS CLI and one user: each command runs without the grant it
// needs (Access Denied, nothing changes upstream) and with exactly the
// grants the table names (it succeeds and has its effect). Grants change
// between attempts with `lakegate sql` and apply to the next request.
func TestCLIPermissionTable(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	st := newPolicyStack(t, lakegateOptions{})
	m, lg := st.MinIO, st.LG
	b, other := bucketName("perm"), bucketName("permother")
	m.makeBucket(t, b, false)
	m.makeBucket(t, other, false)
	m.put(t, other, "x.txt", "other bucket")

	key, secret := lg.createUser(t, "carol", "perm_users")
	cli := userCLI(t, st, key, secret)

	// Each attempt gets a fresh role, so that no grant of an earlier
	// attempt can linger.
	roleSeq := 0
	setGrants := func(t *testing.T, grants []string) {
		t.Helper()
		stmts := []string{}
		if roleSeq > 0 {
			stmts = append(stmts, fmt.Sprintf("DROP ROLE IF EXISTS perm_role_%d", roleSeq))
		}
		roleSeq++
		role := fmt.Sprintf("perm_role_%d", roleSeq)
		stmts = append(stmts, "CREATE ROLE "+role, "GRANT ROLE "+role+" TO GROUP perm_users")
		for _, g := range grants {
			stmts = append(stmts, "GRANT "+g+" TO ROLE "+role)
		}
		lg.sql(t, stmts...)
	}
	// on names a grant: on("SELECT", "dir/key") is SELECT ON URI
	// 's3://<bucket>/dir/key'; an empty path is the bucket.
	on := func(priv, path string) string {
		u := "s3://" + b
		if path != "" {
			u += "/" + path
		}
		return fmt.Sprintf("%s ON URI '%s'", priv, u)
	}
	s3 := func(key string) string { return "s3://" + b + "/" + key }
	content := func(key string) string { return "content of " + key + "\n" }
	putFixture := func(t *testing.T, keys ...string) {
		for _, k := range keys {
			m.put(t, b, k, content(k))
		}
	}
	removeFixture := func(t *testing.T, keys ...string) {
		for _, k := range keys {
			if m.objectExists(t, b, k) {
				m.remove(t, b, k)
			}
		}
	}
	writeLocal := func(t *testing.T, dir string, names ...string) {
		for _, n := range names {
			p := filepath.Join(dir, filepath.FromSlash(n))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content(n)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	localIs := func(t *testing.T, path, want string) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("local file: %v", err)
		} else if string(got) != want {
			t.Errorf("local file %s holds %q, want %q", path, got, want)
		}
	}
	mustExist := func(t *testing.T, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if !m.objectExists(t, b, k) {
				t.Errorf("%s does not exist on MinIO", k)
			} else if got := m.get(t, b, k); got != content(k) {
				t.Errorf("%s on MinIO holds %q, want %q", k, got, content(k))
			}
		}
	}
	mustNotExist := func(t *testing.T, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if m.objectExists(t, b, k) {
				t.Errorf("%s still exists on MinIO", k)
			}
		}
	}
	fresh := func(t *testing.T) permEnv { return permEnv{dir: t.TempDir()} }
	// upload starts a multipart upload on key, with one part if withPart.
	upload := func(t *testing.T, key string, withPart bool) permEnv {
		m.abortUploads(t, b, key)
		e := fresh(t)
		e.uploadID = m.newUpload(t, b, key)
		if withPart {
			e.partETag = m.uploadPart(t, b, key, e.uploadID, 1, content(key))
		}
		return e
	}

	rows := []permRow{
		{
			name: "s3_cp_upload",
			setup: func(t *testing.T) permEnv {
				removeFixture(t, "cp-up/file.txt")
				e := fresh(t)
				writeLocal(t, e.dir, "cp-up/file.txt")
				return e
			},
			args: func(e permEnv) []string {
				return []string{"s3", "cp", "--no-progress", filepath.Join(e.dir, "cp-up", "file.txt"), s3("cp-up/file.txt")}
			},
			allow: [][]string{{on("INSERT", "cp-up/file.txt")}},
			deny:  [][]string{nil, {on("SELECT", "cp-up"), on("SHOW", "cp-up"), on("DELETE", "cp-up")}},
			effect: func(t *testing.T, _ permEnv, _ string) {
				mustExist(t, "cp-up/file.txt")
			},
		},
		{
			name:  "s3_cp_download",
			setup: func(t *testing.T) permEnv { putFixture(t, "cp-down/file.txt"); return fresh(t) },
			args: func(e permEnv) []string {
				return []string{"s3", "cp", "--no-progress", s3("cp-down/file.txt"), filepath.Join(e.dir, "file.txt")}
			},
			allow: [][]string{{on("SELECT", "cp-down/file.txt")}},
			deny:  [][]string{nil, {on("SHOW", "cp-down/file.txt"), on("INSERT", "cp-down")}},
			effect: func(t *testing.T, e permEnv, _ string) {
				localIs(t, filepath.Join(e.dir, "file.txt"), content("cp-down/file.txt"))
			},
		},
		{
			// The seed names SELECT on pathA; a move also writes pathB
			// (INSERT) and deletes pathA (DELETE).
			name: "s3_mv_s3_to_s3",
			setup: func(t *testing.T) permEnv {
				putFixture(t, "mv/file.txt")
				removeFixture(t, "mv-dst/file.txt")
				return fresh(t)
			},
			args:  func(permEnv) []string { return []string{"s3", "mv", s3("mv/file.txt"), s3("mv-dst/file.txt")} },
			allow: [][]string{{on("SELECT", "mv/file.txt"), on("INSERT", "mv-dst"), on("DELETE", "mv/file.txt")}},
			deny:  [][]string{nil, {on("SELECT", "mv/file.txt"), on("DELETE", "mv/file.txt")}},
			effect: func(t *testing.T, _ permEnv, _ string) {
				mustNotExist(t, "mv/file.txt")
				if got := m.get(t, b, "mv-dst/file.txt"); got != content("mv/file.txt") {
					t.Errorf("mv-dst/file.txt holds %q, want the moved content", got)
				}
			},
		},
		{
			name:  "s3_mv_download",
			setup: func(t *testing.T) permEnv { putFixture(t, "mv-down/file.txt"); return fresh(t) },
			args: func(e permEnv) []string {
				return []string{"s3", "mv", s3("mv-down/file.txt"), filepath.Join(e.dir, "file.txt")}
			},
			allow: [][]string{{on("SELECT", "mv-down/file.txt"), on("DELETE", "mv-down/file.txt")}},
			// With SELECT alone the download happens, the delete is refused.
			deny: [][]string{nil, {on("SELECT", "mv-down/file.txt")}},
			effect: func(t *testing.T, e permEnv, _ string) {
				localIs(t, filepath.Join(e.dir, "file.txt"), content("mv-down/file.txt"))
				mustNotExist(t, "mv-down/file.txt")
			},
		},
		{
			// The seed names SHOW pathB for the listing sync does first;
			// uploading needs INSERT.
			name: "s3_sync_upload",
			setup: func(t *testing.T) permEnv {
				removeFixture(t, "sync-up/a.txt", "sync-up/d/b.txt")
				e := fresh(t)
				writeLocal(t, e.dir, "a.txt", "d/b.txt")
				return e
			},
			args:  func(e permEnv) []string { return []string{"s3", "sync", "--no-progress", e.dir, s3("sync-up/")} },
			allow: [][]string{{on("SHOW", "sync-up"), on("INSERT", "sync-up")}},
			deny:  [][]string{nil, {on("SHOW", "sync-up")}},
			effect: func(t *testing.T, _ permEnv, _ string) {
				for _, k := range []string{"sync-up/a.txt", "sync-up/d/b.txt"} {
					if got := m.get(t, b, k); got != content(strings.TrimPrefix(k, "sync-up/")) {
						t.Errorf("%s holds %q after sync", k, got)
					}
				}
			},
		},
		{
			// The seed names SELECT pathA: SELECT reads folders, so it
			// lists pathA too. SHOW alone lists but cannot download.
			name:  "s3_sync_download",
			setup: func(t *testing.T) permEnv { putFixture(t, "sync-down/a.txt", "sync-down/d/b.txt"); return fresh(t) },
			args: func(e permEnv) []string {
				return []string{"s3", "sync", "--no-progress", s3("sync-down/"), e.dir}
			},
			allow: [][]string{{on("SELECT", "sync-down")}, {on("SELECT", "sync-down"), on("SHOW", "sync-down")}},
			deny:  [][]string{nil, {on("SHOW", "sync-down")}},
			effect: func(t *testing.T, e permEnv, _ string) {
				localIs(t, filepath.Join(e.dir, "a.txt"), content("sync-down/a.txt"))
				localIs(t, filepath.Join(e.dir, "d", "b.txt"), content("sync-down/d/b.txt"))
			},
		},
		{
			// Seed: SHOW; SELECT ("read files, folders") lists as well.
			name: "s3_ls",
			setup: func(t *testing.T) permEnv {
				putFixture(t, "ls/one.txt", "ls/two.txt", "lsx/hidden.txt")
				return fresh(t)
			},
			args:  func(permEnv) []string { return []string{"s3", "ls", s3("ls/")} },
			allow: [][]string{{on("SHOW", "ls")}, {on("SELECT", "ls")}},
			deny:  [][]string{nil, {on("INSERT", "ls"), on("DELETE", "ls"), on("SHOW", "lsx"), on("SELECT", "lsx")}},
			effect: func(t *testing.T, _ permEnv, out string) {
				if !strings.Contains(out, "one.txt") || !strings.Contains(out, "two.txt") || strings.Contains(out, "hidden") {
					t.Errorf("aws s3 ls output should list one.txt and two.txt only:\n%s", out)
				}
			},
		},
		{
			name:  "s3_rm",
			setup: func(t *testing.T) permEnv { putFixture(t, "rm/file.txt"); return fresh(t) },
			args:  func(permEnv) []string { return []string{"s3", "rm", s3("rm/file.txt")} },
			allow: [][]string{{on("DELETE", "rm/file.txt")}},
			deny:  [][]string{nil, {on("SELECT", "rm"), on("INSERT", "rm"), on("SHOW", "rm")}},
			effect: func(t *testing.T, _ permEnv, _ string) {
				mustNotExist(t, "rm/file.txt")
			},
		},
		{
			name: "s3api_copy_object",
			setup: func(t *testing.T) permEnv {
				putFixture(t, "copy-src/file.txt")
				removeFixture(t, "copy/dst.txt")
				return fresh(t)
			},
			args: func(permEnv) []string {
				return []string{"s3api", "copy-object", "--bucket", b, "--key", "copy/dst.txt", "--copy-source", b + "/copy-src/file.txt"}
			},
			allow: [][]string{{on("SELECT", "copy-src/file.txt"), on("INSERT", "copy/dst.txt")}},
			deny:  [][]string{nil, {on("SELECT", "copy-src/file.txt")}, {on("INSERT", "copy/dst.txt")}},
			effect: func(t *testing.T, _ permEnv, _ string) {
				if got := m.get(t, b, "copy/dst.txt"); got != content("copy-src/file.txt") {
					t.Errorf("copy/dst.txt holds %q, want the source's content", got)
				}
			},
		},
		{
			// Seed: "SHOW and SELECT"; either one suffices.
			name:  "s3api_head_object",
			setup: func(t *testing.T) permEnv { putFixture(t, "head/file.txt"); return fresh(t) },
			args: func(permEnv) []string {
				return []string{"s3api", "head-object", "--bucket", b, "--key", "head/file.txt"}
			},
			allow: [][]string{{on("SELECT", "head/file.txt")}, {on("SHOW", "head/file.txt")}},
			deny:  [][]string{nil, {on("INSERT", "head"), on("DELETE", "head")}},
			effect: func(t *testing.T, _ permEnv, out string) {
				if !strings.Contains(out, fmt.Sprintf(`"ContentLength": %d`, len(content("head/file.txt")))) {
					t.Errorf("head-object output lacks the content length:\n%s", out)
				}
			},
		},
		{
			name:  "s3api_delete_object",
			setup: func(t *testing.T) permEnv { putFixture(t, "del/file.txt"); return fresh(t) },
			args: func(permEnv) []string {
				return []string{"s3api", "delete-object", "--bucket", b, "--key", "del/file.txt"}
			},
			allow: [][]string{{on("DELETE", "del/file.txt")}},
			deny:  [][]string{nil, {on("SELECT", "del"), on("INSERT", "del"), on("SHOW", "del")}},
			effect: func(t *testing.T, _ permEnv, _ string) {
				mustNotExist(t, "del/file.txt")
			},
		},
		{
			// Seed: SHOW on the bucket; any grant in the bucket suffices.
			name:  "s3api_head_bucket",
			setup: fresh,
			args:  func(permEnv) []string { return []string{"s3api", "head-bucket", "--bucket", b} },
			allow: [][]string{{on("SHOW", "")}, {on("SELECT", "some/deep/prefix")}},
			deny:  [][]string{nil, {"ALL ON URI 's3://" + other + "'"}},
		},
		{
			name: "s3api_list_objects_v2",
			setup: func(t *testing.T) permEnv {
				putFixture(t, "lov/one.txt", "lov/sub/two.txt", "lovx.txt")
				return fresh(t)
			},
			args: func(permEnv) []string {
				return []string{"s3api", "list-objects-v2", "--bucket", b, "--prefix", "lov/"}
			},
			allow: [][]string{{on("SHOW", "lov")}, {on("SELECT", "lov")}},
			deny:  [][]string{nil, {on("INSERT", "lov"), on("DELETE", "lov")}},
			effect: func(t *testing.T, _ permEnv, out string) {
				if !strings.Contains(out, `"lov/one.txt"`) || !strings.Contains(out, `"lov/sub/two.txt"`) {
					t.Errorf("list-objects-v2 output lacks the lov/ keys:\n%s", out)
				}
			},
		},
		{
			// Seed: SHOW. Without a grant the call succeeds, but the
			// bucket is not shown.
			name:  "s3api_list_buckets",
			setup: fresh,
			args:  func(permEnv) []string { return []string{"s3api", "list-buckets"} },
			allow: [][]string{{on("SHOW", "")}, {on("SHOW", "lb/prefix")}, {on("SELECT", "lb/prefix")}},
			effect: func(t *testing.T, _ permEnv, out string) {
				if !strings.Contains(out, `"`+b+`"`) || strings.Contains(out, other) {
					t.Errorf("list-buckets should show %s and not %s:\n%s", b, other, out)
				}
			},
			filtered: true,
			deniedEffect: func(t *testing.T, _ permEnv, out string) {
				if strings.Contains(out, b) || strings.Contains(out, other) {
					t.Errorf("list-buckets without grants shows a bucket:\n%s", out)
				}
			},
		},
		{
			name: "s3api_create_multipart_upload",
			setup: func(t *testing.T) permEnv {
				m.abortUploads(t, b, "mpu/create.bin")
				return fresh(t)
			},
			args: func(permEnv) []string {
				return []string{"s3api", "create-multipart-upload", "--bucket", b, "--key", "mpu/create.bin"}
			},
			allow: [][]string{{on("INSERT", "mpu/create.bin")}},
			deny:  [][]string{nil, {on("SELECT", "mpu"), on("SHOW", "mpu")}},
			effect: func(t *testing.T, _ permEnv, out string) {
				found := false
				for id, k := range m.uploads(t, b) {
					if k == "mpu/create.bin" && strings.Contains(out, id) {
						found = true
					}
				}
				if !found {
					t.Errorf("no upload for mpu/create.bin on MinIO matches the output:\n%s", out)
				}
			},
		},
		{
			name: "s3api_upload_part",
			setup: func(t *testing.T) permEnv {
				e := upload(t, "mpu/part.bin", false)
				writeLocal(t, e.dir, "part")
				return e
			},
			args: func(e permEnv) []string {
				return []string{"s3api", "upload-part", "--bucket", b, "--key", "mpu/part.bin", "--upload-id", e.uploadID,
					"--part-number", "1", "--body", filepath.Join(e.dir, "part")}
			},
			allow: [][]string{{on("INSERT", "mpu/part.bin")}},
			deny:  [][]string{nil, {on("SELECT", "mpu"), on("SHOW", "mpu"), on("DELETE", "mpu")}},
			effect: func(t *testing.T, e permEnv, _ string) {
				if etags, _ := m.parts(t, b, "mpu/part.bin", e.uploadID); len(etags) != 1 {
					t.Errorf("upload has parts %v, want one", etags)
				}
			},
		},
		{
			name: "s3api_upload_part_copy",
			setup: func(t *testing.T) permEnv {
				putFixture(t, "copy-src/file.txt")
				return upload(t, "mpu/upc.bin", false)
			},
			args: func(e permEnv) []string {
				return []string{"s3api", "upload-part-copy", "--bucket", b, "--key", "mpu/upc.bin", "--upload-id", e.uploadID,
					"--part-number", "1", "--copy-source", b + "/copy-src/file.txt"}
			},
			allow: [][]string{{on("SELECT", "copy-src/file.txt"), on("INSERT", "mpu/upc.bin")}},
			deny:  [][]string{nil, {on("SELECT", "copy-src/file.txt")}, {on("INSERT", "mpu/upc.bin")}},
			effect: func(t *testing.T, e permEnv, _ string) {
				if etags, _ := m.parts(t, b, "mpu/upc.bin", e.uploadID); len(etags) != 1 {
					t.Errorf("upload has parts %v, want one", etags)
				}
			},
		},
		{
			name:  "s3api_list_parts",
			setup: func(t *testing.T) permEnv { return upload(t, "mpu/lp.bin", true) },
			args: func(e permEnv) []string {
				return []string{"s3api", "list-parts", "--bucket", b, "--key", "mpu/lp.bin", "--upload-id", e.uploadID}
			},
			allow: [][]string{{on("INSERT", "mpu/lp.bin")}},
			deny:  [][]string{nil, {on("SELECT", "mpu"), on("SHOW", "mpu")}},
			effect: func(t *testing.T, e permEnv, out string) {
				if !strings.Contains(out, `"PartNumber": 1`) {
					t.Errorf("list-parts output lacks part 1:\n%s", out)
				}
			},
		},
		{
			// MinIO lists uploads of one key: the prefix is the key.
			// Uploads in progress are no files to read: SELECT does not
			// list them.
			name:  "s3api_list_multipart_uploads",
			setup: func(t *testing.T) permEnv { return upload(t, "mpu/lmu.bin", false) },
			args: func(permEnv) []string {
				return []string{"s3api", "list-multipart-uploads", "--bucket", b, "--prefix", "mpu/lmu.bin"}
			},
			allow: [][]string{{on("SHOW", "mpu")}},
			deny:  [][]string{nil, {on("INSERT", "mpu"), on("SELECT", "mpu")}},
			effect: func(t *testing.T, e permEnv, out string) {
				if !strings.Contains(out, e.uploadID) {
					t.Errorf("list-multipart-uploads output lacks upload %s:\n%s", e.uploadID, out)
				}
			},
		},
		{
			name: "s3api_complete_multipart_upload",
			setup: func(t *testing.T) permEnv {
				removeFixture(t, "mpu/complete.bin")
				e := upload(t, "mpu/complete.bin", true)
				parts := fmt.Sprintf(`{"Parts":[{"ETag":%q,"PartNumber":1}]}`, e.partETag)
				if err := os.WriteFile(filepath.Join(e.dir, "parts.json"), []byte(parts), 0o600); err != nil {
					t.Fatal(err)
				}
				return e
			},
			args: func(e permEnv) []string {
				return []string{"s3api", "complete-multipart-upload", "--bucket", b, "--key", "mpu/complete.bin",
					"--upload-id", e.uploadID, "--multipart-upload", "file://" + filepath.Join(e.dir, "parts.json")}
			},
			allow: [][]string{{on("INSERT", "mpu/complete.bin")}},
			deny:  [][]string{nil, {on("SELECT", "mpu"), on("SHOW", "mpu"), on("DELETE", "mpu")}},
			effect: func(t *testing.T, _ permEnv, _ string) {
				if got := m.get(t, b, "mpu/complete.bin"); got != content("mpu/complete.bin") {
					t.Errorf("mpu/complete.bin holds %q", got)
				}
			},
		},
		{
			name:  "s3api_abort_multipart_upload",
			setup: func(t *testing.T) permEnv { return upload(t, "mpu/abort.bin", true) },
			args: func(e permEnv) []string {
				return []string{"s3api", "abort-multipart-upload", "--bucket", b, "--key", "mpu/abort.bin", "--upload-id", e.uploadID}
			},
			allow: [][]string{{on("INSERT", "mpu/abort.bin")}},
			deny:  [][]string{nil, {on("DELETE", "mpu/abort.bin"), on("SELECT", "mpu"), on("SHOW", "mpu")}},
			effect: func(t *testing.T, e permEnv, _ string) {
				if _, ok := m.parts(t, b, "mpu/abort.bin", e.uploadID); ok {
					t.Errorf("upload %s still exists after abort", e.uploadID)
				}
			},
		},
	}

	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			deny := row.deny
			if deny == nil {
				deny = [][]string{nil}
			}
			for i, grants := range deny {
				t.Run(fmt.Sprintf("denied_%d", i), func(t *testing.T) {
					e := row.setup(t)
					setGrants(t, grants)
					before := m.snapshot(t, b, other)
					n := st.Rec.Len()
					args := row.args(e)
					stdout, stderr, code := cli.exec(2*time.Minute, args...)
					settle(t, st.Rec)
					show := fmt.Sprintf("aws %s\ngrants: %v\nexit %d\nstdout:\n%s\nstderr:\n%s",
						strings.Join(args, " "), grants, code, tail(stdout, 3000), tail(stderr, 3000))
					if row.filtered {
						if code != 0 {
							t.Errorf("want success with a filtered result:\n%s", show)
						}
						row.deniedEffect(t, e, stdout)
					} else if code == 0 || !deniedOutput(stderr) {
						t.Errorf("want a failure with Access Denied:\n%s", show)
					}
					for _, d := range snapshotDiff(before, m.snapshot(t, b, other), nil) {
						t.Errorf("upstream state changed: %s\n(%s)", d, show)
					}
					seen := st.Rec.Since(n)
					if len(grants) == 0 && !row.filtered {
						// No grant at all: nothing may reach the upstream.
						for _, r := range seen {
							t.Errorf("upstream saw %s", r)
						}
					}
					for _, r := range mutations(seen) {
						t.Errorf("a mutating request reached the upstream: %s", r)
					}
				})
			}
			for i, grants := range row.allow {
				t.Run(fmt.Sprintf("allowed_%d", i), func(t *testing.T) {
					e := row.setup(t)
					setGrants(t, grants)
					args := row.args(e)
					stdout, stderr, code := cli.exec(2*time.Minute, args...)
					if code != 0 {
						t.Fatalf("aws %s\ngrants: %v\nexit %d, want success\nstdout:\n%s\nstderr:\n%s",
							strings.Join(args, " "), grants, code, tail(stdout, 3000), tail(stderr, 3000))
					}
					if row.effect != nil {
						row.effect(t, e, stdout)
					}
				})
			}
		})
	}
}
