package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestQuickstartAWSCLI is the README's promise: `lakegate quickstart` prints
// a profile that the AWS CLI uses as is, and a second run reuses the data
// directory (same keys, same objects).
func TestQuickstartAWSCLI(t *testing.T) {
	skipShort(t)
	skipInBaseline(t)
	if buildErr != nil {
		t.Fatalf("lakegate did not build: %v", buildErr)
	}
	aws := findTool("aws")
	if aws == "" {
		t.Skip("aws CLI not found on PATH")
	}
	home := t.TempDir()
	dataDir := filepath.Join(home, "qs")
	proxyAddr, restAddr := freeAddr(t), freeAddr(t)

	start := func() (profile string, stop func()) {
		p := startProcess(t, lakegateBin, baseEnv(home), "quickstart", "--data-dir", dataDir,
			"--proxy-addr", proxyAddr, "--rest-addr", restAddr)
		stop = func() {
			if !p.stop(15 * time.Second) {
				t.Errorf("quickstart did not stop on SIGTERM:\n%s", p.out.String())
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		re := regexp.MustCompile(`(?s)\[profile lakegate\]\n.*?signature_version = s3v4\n`)
		for time.Now().Before(deadline) {
			if m := re.FindString(p.out.String()); m != "" && strings.Contains(p.out.String(), "LAKEGATE_TOKEN=") {
				return m, stop
			}
			if p.exited() {
				t.Fatalf("quickstart exited:\n%s", p.out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		stop()
		t.Fatalf("quickstart printed no profile within 60s:\n%s", p.out.String())
		return "", nil
	}

	profile, stop := start()
	if !strings.Contains(profile, "endpoint_url = http://"+proxyAddr) {
		t.Fatalf("profile does not point at the proxy %s:\n%s", proxyAddr, profile)
	}
	cfg := filepath.Join(home, "aws-config")
	if err := os.WriteFile(cfg, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(baseEnv(home), "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "PYTHONWARNINGS=ignore")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--profile", "lakegate"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	data := make([]byte, 3<<20)
	_, _ = rand.Read(data)
	src := filepath.Join(home, "src.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run("s3", "ls")
	run("s3", "mb", "s3://quick")
	run("s3", "cp", src, "s3://quick/dir/src.bin")
	if out := run("s3", "ls", "s3://quick/dir/"); !strings.Contains(out, "src.bin") {
		t.Fatalf("ls does not show the object:\n%s", out)
	}
	back := filepath.Join(home, "back.bin")
	run("s3", "cp", "s3://quick/dir/src.bin", back)
	if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
		t.Fatal("round trip is not byte-identical")
	}
	stop()

	// A second run reuses the data directory: the same profile works and
	// the object is still there.
	profile2, stop2 := start()
	defer stop2()
	if profile2 != profile {
		t.Errorf("second run printed a different profile:\n%s\nwant:\n%s", profile2, profile)
	}
	if out := run("s3", "ls", "s3://quick/dir/"); !strings.Contains(out, "src.bin") {
		t.Fatalf("object gone after restart:\n%s", out)
	}
	run("s3", "rm", "--recursive", "s3://quick/")
	run("s3", "rb", "s3://quick")
}
