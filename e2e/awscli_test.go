package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliFiles is the local data the CLI scenario uploads.
type cliFiles struct {
	dir                string
	small, big         string // paths
	smallSum, bigSum   string // hex SHA-256
	tree               string // directory of treeFiles files
	treeSums           map[string]string
	smallSize, bigSize int64
	treeFiles          int
}

const (
	cliSmallSize = 1 << 10
	cliBigSize   = 200 << 20
)

// treeNames are the relative names of the sync directory: mostly plain,
// a few exercising SigV4 URI canonicalisation (spaces, '+', '=', unicode).
// No empty file: botocore's Expect: 100-continue handling of a zero-length
// PUT against any Go net/http server (MinIO too) poisons the pooled
// connection and stalls the next request for the 60s read timeout
// (boto/botocore#3755); the empty file has its own single-request step.
func treeNames() []string {
	var names []string
	for i := range 95 {
		names = append(names, fmt.Sprintf("d%d/sub%d/file-%03d.bin", i%4, i%3, i))
	}
	return append(names,
		"special/with space.txt",
		"special/plus+sign.txt",
		"special/equals=and&amp.txt",
		"special/ünïcödé-ファイル.txt",
		"special/tilde~and'quote.txt",
	)
}

func makeCLIFiles(t *testing.T) *cliFiles {
	t.Helper()
	dir := t.TempDir()
	f := &cliFiles{
		dir:       dir,
		small:     filepath.Join(dir, "small.bin"),
		big:       filepath.Join(dir, "big.bin"),
		tree:      filepath.Join(dir, "tree"),
		treeSums:  map[string]string{},
		smallSize: cliSmallSize,
		bigSize:   cliBigSize,
	}
	f.smallSum = writeRandomFile(t, f.small, f.smallSize, 1)
	f.bigSum = writeRandomFile(t, f.big, f.bigSize, 2)
	for i, name := range treeNames() {
		size := int64(1 + (i*7919)%40000)
		f.treeSums[name] = writeRandomFile(t, filepath.Join(f.tree, filepath.FromSlash(name)), size, uint64(100+i))
	}
	f.treeFiles = len(f.treeSums)
	return f
}

// awsCLI runs the AWS CLI v1 in an isolated environment.
type awsCLI struct {
	bin      string
	home     string
	endpoint string
	env      []string
}

// newAWSCLI writes a config with two profiles: default (SigV4 for S3, path
// style) and sigv2 (no signature_version: CLI v1 presigns with SigV2).
func newAWSCLI(t *testing.T, endpoint, key, secret, caFile string) *awsCLI {
	t.Helper()
	bin := findTool("aws")
	if bin == "" {
		t.Skip("aws CLI not found on PATH")
	}
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	creds := filepath.Join(home, "credentials")
	config := "[default]\nregion = " + region + "\ns3 =\n    signature_version = s3v4\n    addressing_style = path\n\n" +
		"[profile sigv2]\nregion = " + region + "\n"
	credentials := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n"+
		"[sigv2]\naws_access_key_id = %s\naws_secret_access_key = %s\n", key, secret, key, secret)
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte(credentials), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(baseEnv(home),
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"PYTHONWARNINGS=ignore",
	)
	if caFile != "" {
		env = append(env, "AWS_CA_BUNDLE="+caFile)
	}
	return &awsCLI{bin: bin, home: home, endpoint: endpoint, env: env}
}

// run executes `aws ARGS --endpoint-url E` and fails the test on a non-zero
// exit, showing both streams.
func (c *awsCLI) run(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	stdout, stderr, code := c.exec(timeout, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, tail(stdout, 4000), tail(stderr, 4000))
	}
	return stdout
}

func (c *awsCLI) exec(timeout time.Duration, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append(append([]string{}, args...), "--endpoint-url", c.endpoint)
	return runCmd(ctx, c.env, c.home, c.bin, full...)
}

func countLines(s, prefix string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			n++
		}
	}
	return n
}

// compareTree checks that dir holds exactly the tree files, byte for byte.
func compareTree(t *testing.T, want map[string]string, dir string) {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = fileSHA256(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, sum := range want {
		switch g, ok := got[name]; {
		case !ok:
			t.Errorf("%s: missing after download", name)
		case g != sum:
			t.Errorf("%s: sha256 %s, want %s", name, g, sum)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected file after download", name)
		}
	}
}

// step runs one named step; the scenario stops at the first failed step.
func step(t *testing.T, name string, fn func(t *testing.T)) bool {
	t.Helper()
	return t.Run(name, fn)
}

func TestAWSCLI(t *testing.T) {
	if findTool("aws") == "" {
		t.Skip("aws CLI not found on PATH")
	}
	st := newStack(t, lakegateOptions{})
	files := makeCLIFiles(t)
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			endpoint, ca := st.LG.ProxyURL, ""
			if scheme == "https" {
				endpoint, ca = st.LG.TLSURL, st.LG.CA.CAFile
			}
			cli := newAWSCLI(t, endpoint, st.LG.AdminKey, st.LG.AdminSecret, ca)
			runCLIScenario(t, st, cli, files, ca)
		})
	}
	assertResigned(t, st)
}

func runCLIScenario(t *testing.T, st *stack, cli *awsCLI, files *cliFiles, caFile string) {
	bucket := bucketName("cli")
	s3b := "s3://" + bucket
	out := t.TempDir()
	ok := step(t, "mb", func(t *testing.T) {
		got := cli.run(t, 2*time.Minute, "s3", "mb", s3b)
		if !strings.Contains(got, "make_bucket: "+bucket) {
			t.Errorf("mb output %q lacks make_bucket: %s", got, bucket)
		}
		if !st.MinIO.bucketExists(t, bucket) {
			t.Errorf("bucket %s not created on MinIO", bucket)
		}
	})
	if !ok {
		return
	}
	ok = step(t, "cp_small", func(t *testing.T) {
		got := cli.run(t, 2*time.Minute, "s3", "cp", "--no-progress", files.small, s3b+"/small.bin")
		if !strings.Contains(got, "upload: ") || !strings.Contains(got, s3b+"/small.bin") {
			t.Errorf("cp output %q lacks the upload line", got)
		}
	})
	ok = step(t, "cp_200MiB_multipart", func(t *testing.T) {
		got := cli.run(t, 15*time.Minute, "s3", "cp", "--no-progress", files.big, s3b+"/big.bin")
		if !strings.Contains(got, "upload: ") {
			t.Errorf("cp output %q lacks the upload line", got)
		}
		objs := st.MinIO.listKeys(t, bucket)
		o, found := objs["big.bin"]
		switch {
		case !found:
			t.Errorf("big.bin not on MinIO")
		case o.Size != files.bigSize:
			t.Errorf("big.bin on MinIO has %d bytes, want %d", o.Size, files.bigSize)
		case !strings.Contains(o.ETag, "-"):
			t.Errorf("big.bin ETag %q is not a multipart ETag", o.ETag)
		}
	}) && ok
	ok = step(t, "cp_empty_file", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty.txt")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		cli.run(t, 3*time.Minute, "s3", "cp", "--no-progress", empty, s3b+"/empty.txt")
		if o, found := st.MinIO.listKeys(t, bucket)["empty.txt"]; !found || o.Size != 0 {
			t.Errorf("empty.txt on MinIO: found %v size %d", found, o.Size)
		}
	}) && ok
	ok = step(t, "ls", func(t *testing.T) {
		got := cli.run(t, 2*time.Minute, "s3", "ls", s3b+"/")
		for _, want := range []string{fmt.Sprintf("%d small.bin", files.smallSize), fmt.Sprintf("%d big.bin", files.bigSize), " 0 empty.txt"} {
			if !strings.Contains(got, want) {
				t.Errorf("ls output lacks %q:\n%s", want, got)
			}
		}
	}) && ok
	ok = step(t, "sync_up_100_files", func(t *testing.T) {
		got := cli.run(t, 10*time.Minute, "s3", "sync", "--no-progress", files.tree, s3b+"/tree/")
		if n := countLines(got, "upload: "); n != files.treeFiles {
			t.Errorf("sync uploaded %d files, want %d:\n%s", n, files.treeFiles, tail(got, 3000))
		}
		objs := st.MinIO.listKeys(t, bucket)
		for name := range files.treeSums {
			if _, found := objs["tree/"+name]; !found {
				t.Errorf("tree/%s not on MinIO", name)
			}
		}
		// A second sync has nothing to do.
		if got := cli.run(t, 5*time.Minute, "s3", "sync", "--no-progress", files.tree, s3b+"/tree/"); strings.TrimSpace(got) != "" {
			t.Errorf("second sync was not a no-op:\n%s", tail(got, 2000))
		}
	}) && ok
	if !ok {
		return
	}
	step(t, "cp_down_small", func(t *testing.T) {
		dst := filepath.Join(out, "small.bin")
		got := cli.run(t, 2*time.Minute, "s3", "cp", "--no-progress", s3b+"/small.bin", dst)
		if !strings.Contains(got, "download: ") {
			t.Errorf("cp output %q lacks the download line", got)
		}
		if sum := fileSHA256(t, dst); sum != files.smallSum {
			t.Errorf("small.bin sha256 %s, want %s", sum, files.smallSum)
		}
	})
	step(t, "cp_down_200MiB", func(t *testing.T) {
		dst := filepath.Join(out, "big.bin")
		cli.run(t, 15*time.Minute, "s3", "cp", "--no-progress", s3b+"/big.bin", dst)
		if sum := fileSHA256(t, dst); sum != files.bigSum {
			t.Errorf("big.bin sha256 %s, want %s", sum, files.bigSum)
		}
		_ = os.Remove(dst)
	})
	step(t, "cp_recursive_down", func(t *testing.T) {
		dst := filepath.Join(out, "tree-cp")
		got := cli.run(t, 10*time.Minute, "s3", "cp", "--no-progress", "--recursive", s3b+"/tree/", dst)
		if n := countLines(got, "download: "); n != files.treeFiles {
			t.Errorf("cp --recursive downloaded %d files, want %d", n, files.treeFiles)
		}
		compareTree(t, files.treeSums, dst)
	})
	step(t, "sync_down", func(t *testing.T) {
		dst := filepath.Join(out, "tree-sync")
		got := cli.run(t, 10*time.Minute, "s3", "sync", "--no-progress", s3b+"/tree/", dst)
		if n := countLines(got, "download: "); n != files.treeFiles {
			t.Errorf("sync downloaded %d files, want %d", n, files.treeFiles)
		}
		compareTree(t, files.treeSums, dst)
	})
	for _, pc := range []struct {
		name, profile, want string
	}{
		{"presign_sigv4", "default", "X-Amz-Algorithm=AWS4-HMAC-SHA256"},
		{"presign_sigv2", "sigv2", "AWSAccessKeyId="},
	} {
		step(t, pc.name, func(t *testing.T) {
			url := strings.TrimSpace(cli.run(t, time.Minute, "s3", "presign", "--profile", pc.profile,
				"--expires-in", "600", s3b+"/small.bin"))
			if !strings.Contains(url, pc.want) {
				t.Fatalf("presigned URL %q lacks %q", url, pc.want)
			}
			body, status := fetchURL(t, url, caFile, st.LG)
			if status != 200 {
				t.Fatalf("GET presigned URL: status %d, body:\n%s", status, tail(string(body), 2000))
			}
			if sum := sha256Hex(body); sum != files.smallSum {
				t.Errorf("presigned GET: %d bytes, sha256 %s, want %d bytes %s", len(body), sum, files.smallSize, files.smallSum)
			}
		})
	}
	step(t, "rm_recursive", func(t *testing.T) {
		got := cli.run(t, 10*time.Minute, "s3", "rm", "--recursive", s3b+"/")
		if n, want := countLines(got, "delete: "), files.treeFiles+3; n != want {
			t.Errorf("rm deleted %d objects, want %d", n, want)
		}
		if left := st.MinIO.listKeys(t, bucket); len(left) != 0 {
			t.Errorf("%d objects left on MinIO after rm --recursive", len(left))
		}
	})
	step(t, "rb", func(t *testing.T) {
		got := cli.run(t, 2*time.Minute, "s3", "rb", s3b)
		if !strings.Contains(got, "remove_bucket: "+bucket) {
			t.Errorf("rb output %q lacks remove_bucket", got)
		}
		if st.MinIO.bucketExists(t, bucket) {
			t.Errorf("bucket %s still exists on MinIO", bucket)
		}
	})
}
