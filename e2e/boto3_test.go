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

// boto3Script is run by python3. It uses boto3's default checksum settings
// (request_checksum_calculation and response_checksum_validation
// "when_supported"), prints "STEP <name> OK" or "STEP <name> FAIL <error>"
// per step and stops at the first failure. Retries are off so that every
// failure shows.
const boto3Script = `
import hashlib, os, ssl, sys, traceback, urllib.request
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint = os.environ["E2E_ENDPOINT"]
bucket = os.environ["E2E_BUCKET"]
ca = os.environ.get("E2E_CA") or None
work = os.environ["E2E_WORK"]

s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=os.environ["E2E_KEY"],
    aws_secret_access_key=os.environ["E2E_SECRET"],
    region_name="us-east-1",
    verify=ca if ca else True,
    config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 1}),
)

def step(name, fn):
    try:
        fn()
    except Exception as e:
        detail = ""
        resp = getattr(e, "response", None)
        if resp:
            detail = " code=%s status=%s" % (resp.get("Error", {}).get("Code"), resp.get("ResponseMetadata", {}).get("HTTPStatusCode"))
        msg = ("%s: %s%s" % (type(e).__name__, e, detail)).replace("\n", " | ")
        print("STEP %s FAIL %s" % (name, msg), flush=True)
        traceback.print_exc(file=sys.stderr)
        sys.exit(1)
    print("STEP %s OK" % name, flush=True)

def check(cond, msg):
    if not cond:
        raise AssertionError(msg)

small = os.urandom(1024)
big_path = os.path.join(work, "big.bin")
big_size = 20 * 1024 * 1024
h = hashlib.sha256()
with open(big_path, "wb") as f:
    left = big_size
    while left:
        chunk = os.urandom(min(left, 1 << 20))
        h.update(chunk)
        f.write(chunk)
        left -= len(chunk)
big_sum = h.hexdigest()

def create_bucket():
    s3.create_bucket(Bucket=bucket)

def put_object_small():
    r = s3.put_object(Bucket=bucket, Key="small.bin", Body=small)
    check(r["ETag"].strip('"') == hashlib.md5(small).hexdigest(), "ETag %s is not the MD5 of the body" % r["ETag"])

def upload_file_multipart():
    cfg = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)
    s3.upload_file(big_path, bucket, "big.bin", Config=cfg)
    r = s3.head_object(Bucket=bucket, Key="big.bin")
    check(r["ContentLength"] == big_size, "size %d" % r["ContentLength"])
    check("-" in r["ETag"], "ETag %s is not a multipart ETag" % r["ETag"])

def list_objects_v2():
    r = s3.list_objects_v2(Bucket=bucket)
    got = {o["Key"]: o["Size"] for o in r.get("Contents", [])}
    check(got == {"small.bin": 1024, "big.bin": big_size}, "listed %r" % got)

def get_object_compare():
    body = s3.get_object(Bucket=bucket, Key="small.bin")["Body"].read()
    check(body == small, "small.bin differs (%d bytes)" % len(body))
    r = s3.get_object(Bucket=bucket, Key="big.bin", Range="bytes=1000-1999")
    part = r["Body"].read()
    with open(big_path, "rb") as f:
        f.seek(1000)
        want = f.read(1000)
    check(part == want, "range of big.bin differs")

def download_file_compare():
    dst = os.path.join(work, "big.down")
    s3.download_file(bucket, "big.bin", dst)
    h = hashlib.sha256()
    with open(dst, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    check(h.hexdigest() == big_sum, "big.bin sha256 differs")

def presigned_get():
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "small.bin"}, ExpiresIn=300)
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url, context=ctx, timeout=60) as resp:
        check(resp.status == 200, "status %d" % resp.status)
        body = resp.read()
    check(body == small, "presigned GET body differs (%d bytes)" % len(body))

def delete_objects():
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "small.bin"}, {"Key": "big.bin"}]})
    check(not r.get("Errors"), "errors %r" % r.get("Errors"))
    check(sorted(d["Key"] for d in r.get("Deleted", [])) == ["big.bin", "small.bin"], "deleted %r" % r.get("Deleted"))

def delete_bucket():
    s3.delete_bucket(Bucket=bucket)

for name, fn in [
    ("create_bucket", create_bucket),
    ("put_object_small", put_object_small),
    ("upload_file_multipart", upload_file_multipart),
    ("list_objects_v2", list_objects_v2),
    ("get_object_compare", get_object_compare),
    ("download_file_compare", download_file_compare),
    ("presigned_get", presigned_get),
    ("delete_objects", delete_objects),
    ("delete_bucket", delete_bucket),
]:
    step(name, fn)
`

var boto3Steps = []string{"create_bucket", "put_object_small", "upload_file_multipart", "list_objects_v2",
	"get_object_compare", "download_file_compare", "presigned_get", "delete_objects", "delete_bucket"}

func TestBoto3(t *testing.T) {
	python := findTool("python3")
	if python == "" {
		t.Skip("python3 not found")
	}
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Skipf("python3 cannot import boto3: %v", err)
	}
	st := newStack(t, lakegateOptions{})
	script := filepath.Join(t.TempDir(), "scenario.py")
	if err := os.WriteFile(script, []byte(boto3Script), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			endpoint, ca := st.LG.ProxyURL, ""
			if scheme == "https" {
				endpoint, ca = st.LG.TLSURL, st.LG.CA.CAFile
			}
			bucket := bucketName("boto3")
			home := t.TempDir()
			env := append(baseEnv(home),
				"E2E_ENDPOINT="+endpoint, "E2E_BUCKET="+bucket, "E2E_CA="+ca, "E2E_WORK="+home,
				"E2E_KEY="+st.LG.AdminKey, "E2E_SECRET="+st.LG.AdminSecret,
				"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
				"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
				"AWS_EC2_METADATA_DISABLED=true",
			)
			if ca != "" {
				env = append(env, "AWS_CA_BUNDLE="+ca)
			}
			first := st.Rec.Len()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			stdout, stderr, code := runCmd(ctx, env, home, python, script)
			results := stepResults(stdout)
			for _, name := range boto3Steps {
				t.Run(name, func(t *testing.T) {
					switch r, ok := results[name]; {
					case !ok:
						t.Errorf("not reached")
					case r != "OK":
						t.Errorf("%s\nstderr:\n%s", r, tail(stderr, 3000))
					}
				})
			}
			if code != 0 && !t.Failed() {
				t.Errorf("python exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 3000))
			}
			t.Run("upstream_state", func(t *testing.T) {
				if results["upload_file_multipart"] == "OK" {
					parts := 0
					for _, r := range st.Rec.Since(first) {
						if r.Method == "PUT" && strings.HasSuffix(r.Path, "/big.bin") && strings.Contains(r.Query, "partNumber=") &&
							r.Status == 200 && r.BodyComplete {
							parts++
						}
					}
					if parts != 3 {
						t.Errorf("MinIO received %d complete UploadPart requests for big.bin, want 3", parts)
					}
				}
				if st.MinIO.bucketExists(t, bucket) {
					t.Errorf("bucket %s still exists on MinIO", bucket)
				}
			})
		})
	}
	assertResigned(t, st)
}

// stepResults reads the "STEP <name> <result…>" lines a scenario script
// prints, by step name.
func stepResults(stdout string) map[string]string {
	results := map[string]string{}
	for line := range strings.SplitSeq(stdout, "\n") {
		f := strings.SplitN(strings.TrimSpace(line), " ", 4)
		if len(f) >= 3 && f[0] == "STEP" {
			results[f[1]] = strings.Join(f[2:], " ")
		}
	}
	return results
}
