package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// quickstartCopyScript copies server-side with boto3 through the profile
// quickstart printed: copy_object, and upload_part_copy in a multipart
// upload. It prints "OK" or raises.
const quickstartCopyScript = `
import os
import boto3
from botocore.config import Config

bucket = os.environ["E2E_BUCKET"]
s3 = boto3.Session(profile_name="lakegate").client(
    "s3", config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 1}))
src = s3.get_object(Bucket=bucket, Key="x")["Body"].read()

s3.copy_object(Bucket=bucket, Key="boto3-copy", CopySource={"Bucket": bucket, "Key": "x"})
got = s3.get_object(Bucket=bucket, Key="boto3-copy")["Body"].read()
assert got == src, "copy_object: %d bytes differ from the source's %d" % (len(got), len(src))

up = s3.create_multipart_upload(Bucket=bucket, Key="boto3-part-copy")["UploadId"]
part = s3.upload_part_copy(Bucket=bucket, Key="boto3-part-copy", UploadId=up, PartNumber=1,
                           CopySource={"Bucket": bucket, "Key": "x"})
s3.complete_multipart_upload(Bucket=bucket, Key="boto3-part-copy", UploadId=up,
                             MultipartUpload={"Parts": [{"ETag": part["CopyPartResult"]["ETag"], "PartNumber": 1}]})
got = s3.get_object(Bucket=bucket, Key="boto3-part-copy")["Body"].read()
assert got == src, "upload_part_copy: %d bytes differ from the source's %d" % (len(got), len(src))
print("OK")
`

// TestQuickstartServerSideCopy is issue 13, item 6: server-side copies in
// `lakegate quickstart` (the embedded versitygw backend, in process) work
// for the AWS CLI (aws s3 cp s3://… s3://…) and boto3 (copy_object,
// upload_part_copy), instead of failing with "copy source is larger than
// the maximum allowable size for a copy source: 0".
func TestQuickstartServerSideCopy(t *testing.T) {
	aws, python := findTool("aws"), findTool("python3")
	if aws == "" || python == "" {
		t.Skip("aws CLI or python3 not found on PATH")
	}
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Skipf("python3 cannot import boto3: %v", err)
	}
	q := startFirstUseQuickstart(t, nil)
	home := q.Home
	cfg := filepath.Join(home, "aws-config")
	if err := os.WriteFile(cfg, []byte(q.Profile), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(baseEnv(home), "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "PYTHONWARNINGS=ignore")
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		stdout, stderr, code := runCmd(ctx, env, home, aws, append([]string{"--profile", "lakegate"}, args...)...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout
	}

	bucket := bucketName("qscopy")
	src := filepath.Join(home, "x.bin")
	sum := writeRandomFile(t, src, 1<<20+17, 6)
	run(t, "s3", "mb", "s3://"+bucket)
	run(t, "s3", "cp", "--no-progress", src, "s3://"+bucket+"/x")

	t.Run("awscli_s3_cp", func(t *testing.T) {
		run(t, "s3", "cp", "--no-progress", "s3://"+bucket+"/x", "s3://"+bucket+"/y")
		back := filepath.Join(t.TempDir(), "y.bin")
		run(t, "s3", "cp", "--no-progress", "s3://"+bucket+"/y", back)
		if got := fileSHA256(t, back); got != sum {
			t.Errorf("s3://%s/y is not the copy of x (sha256 %s, want %s)", bucket, got, sum)
		}
	})
	t.Run("boto3", func(t *testing.T) {
		script := filepath.Join(t.TempDir(), "qs_server_side_copy.py")
		if err := os.WriteFile(script, []byte(quickstartCopyScript), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		stdout, stderr, code := runCmd(ctx, append(env, "E2E_BUCKET="+bucket), home, python, script)
		if code != 0 || strings.TrimSpace(stdout) != "OK" {
			t.Errorf("boto3 server-side copies: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 3000))
		}
	})
}
