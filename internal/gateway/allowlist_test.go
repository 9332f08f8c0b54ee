package gateway

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/upstream"
)

// TestSemanticsChangingHeadersNeedBucketAll: the user holds ALL on
// s3://bk1/public/ only, which is not ALL on the bucket: object lock,
// governance bypass, ACLs and MinIO's tar auto-extract are refused before
// anything is forwarded; the same requests without those headers go.
func TestSemanticsChangingHeadersNeedBucketAll(t *testing.T) {
	send, up := newPolicyProxy(t)
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
	}{
		{"object lock on put", http.MethodPut, "/bk1/public/a", map[string]string{"X-Amz-Object-Lock-Mode": "COMPLIANCE", "X-Amz-Object-Lock-Retain-Until-Date": "2099-01-01T00:00:00Z"}},
		{"legal hold on put", http.MethodPut, "/bk1/public/a", map[string]string{"X-Amz-Object-Lock-Legal-Hold": "ON"}},
		{"governance bypass on delete", http.MethodDelete, "/bk1/public/a", map[string]string{"X-Amz-Bypass-Governance-Retention": "true"}},
		{"acl on put", http.MethodPut, "/bk1/public/a", map[string]string{"X-Amz-Acl": "public-read"}},
		{"grant on put", http.MethodPut, "/bk1/public/a", map[string]string{"X-Amz-Grant-Read": "uri=http://acs.amazonaws.com/groups/global/AllUsers"}},
		{"snowball auto extract", http.MethodPut, "/bk1/public/bundle.tar", map[string]string{"X-Amz-Meta-Snowball-Auto-Extract": "true"}},
		{"snowball prefix", http.MethodPut, "/bk1/public/bundle.tar", map[string]string{"X-Amz-Meta-Minio-Snowball-Prefix": "secret"}},
		{"acl hoisted into the query", http.MethodPut, "/bk1/public/a?x-amz-acl=public-read", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(up.all())
			resp, body := send(tc.method, tc.path, nil, tc.hdr)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
				t.Errorf("status %d, body %s; want 403 AccessDenied", resp.StatusCode, body)
			}
			if got := up.all()[n:]; len(got) != 0 {
				t.Errorf("upstream saw %d requests", len(got))
			}
		})
	}
}

// TestRefusedBeforeForwarding: requests outside the allowlist never reach
// the upstream, whatever the user's grants.
func TestRefusedBeforeForwarding(t *testing.T) {
	send, up := newPolicyProxy(t)
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		status             int
	}{
		{"retention with an upload id", http.MethodPut, "/bk1/public/a?retention&uploadId=x", nil, 400},
		{"unknown sub-resource", http.MethodGet, "/bk1?session", nil, 501},
		{"rename object", http.MethodPut, "/bk1/public/a?renameObject", map[string]string{"X-Amz-Rename-Source": "/bk1/secret"}, 501},
		{"unknown header", http.MethodPut, "/bk1/public/a", map[string]string{"X-Amz-Write-Offset-Bytes": "0"}, 501},
		{"minio extract", http.MethodGet, "/bk1/public/a.zip/x", map[string]string{"X-Minio-Extract": "true"}, 501},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(up.all())
			resp, body := send(tc.method, tc.path, nil, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, body %s; want %d", resp.StatusCode, body, tc.status)
			}
			if got := up.all()[n:]; len(got) != 0 {
				t.Errorf("upstream saw %d requests", len(got))
			}
		})
	}
}

// TestUpstreamGetsOnlyTheAllowlist: an allowed request reaches the
// upstream with the allowlist's headers and parameters and nothing else.
func TestUpstreamGetsOnlyTheAllowlist(t *testing.T) {
	send, up := newPolicyProxy(t)
	n := len(up.all())
	resp, body := send(http.MethodGet, "/bk1/public/a?response-content-type=text%2Fplain&x-id=GetObject", nil, map[string]string{
		"Range": "bytes=0-1", "X-Forwarded-For": "10.0.0.1", "Cookie": "a=b", "X-Amz-Expected-Bucket-Owner": "123",
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := up.all()[n:]
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests", len(got))
	}
	h := got[0].header
	for _, name := range []string{"X-Forwarded-For", "Cookie", "User-Agent"} {
		if h.Get(name) != "" {
			t.Errorf("upstream got %s: %q", name, h.Get(name))
		}
	}
	if h.Get("Range") != "bytes=0-1" || h.Get("X-Amz-Expected-Bucket-Owner") != "123" {
		t.Errorf("upstream lost allowed headers: %v", h)
	}
	if got[0].query != "response-content-type=text%2Fplain&x-id=GetObject" {
		t.Errorf("upstream query %q", got[0].query)
	}
}

// TestPostFormFilenameKey: a key template with ${filename} is authorized
// as the key it becomes, the one the upstream is sent: a prefix grant
// covers prefix/${filename} exactly when the substituted key is under the
// prefix. The file name is the client's choice, so a name that would make
// a dot segment, holds a backslash or a control character, or is missing
// (the key would keep ${filename}) is refused; form fields are held to the
// allowlist.
func TestPostFormFilenameKey(t *testing.T) {
	engine := newEngine(t, `CREATE ROLE public_rw; GRANT ROLE public_rw TO GROUP analysts;
		GRANT ALL ON URI 's3://bk1/public/' TO ROLE public_rw;
		CREATE ROLE bucket_insert; GRANT ROLE bucket_insert TO GROUP writers;
		GRANT INSERT ON URI 's3://bk1' TO ROLE bucket_insert;`)
	ctx := t.Context()
	if err := engine.PutUser(ctx, "narrow", []string{"analysts"}); err != nil {
		t.Fatal(err)
	}
	if err := engine.PutUser(ctx, "wide", []string{"writers"}); err != nil {
		t.Fatal(err)
	}
	h := &Handler{opts: Options{Authorizer: engine}}
	form := func(file string, fields ...[2]string) *upstream.PostForm {
		f := &upstream.PostForm{FileName: file}
		for _, kv := range fields {
			f.Fields = append(f.Fields, sigv4.FormField{Name: kv[0], Value: kv[1]})
		}
		return f
	}
	auth := func(user string) *sigv4.Result { return &sigv4.Result{Credential: sigv4.Credential{Owner: user}} }
	for _, tc := range []struct {
		name, user string
		form       *upstream.PostForm
		allowed    bool
	}{
		{"template with a file name, prefix grant", "narrow", form("x.txt", [2]string{"key", "public/${filename}"}), true},
		{"the file's base name", "narrow", form("C/dir/x.txt", [2]string{"key", "public/${filename}"}), true},
		{"template outside the grant", "narrow", form("x.txt", [2]string{"key", "other/${filename}"}), false},
		{"template making a key outside the grant", "narrow", form("x.txt", [2]string{"key", "publ${filename}"}), false},
		{"a traversing file name", "narrow", form("../secret.txt", [2]string{"key", "public/${filename}"}), false},
		{"a traversing file name, bucket INSERT", "wide", form("a/../../secret.txt", [2]string{"key", "public/${filename}"}), false},
		{"a file name that is a dot segment", "narrow", form("..", [2]string{"key", "public/${filename}/x"}), false},
		{"a file name that is a dot segment, bucket INSERT", "wide", form("..", [2]string{"key", "public/${filename}/x"}), false},
		{"a backslash in the file name", "wide", form(`..\secret.txt`, [2]string{"key", "public/${filename}"}), false},
		{"a control character in the file name", "wide", form("a\x00b", [2]string{"key", "public/${filename}"}), false},
		{"a file name ending in a slash", "wide", form("dir/", [2]string{"key", "public/${filename}"}), false},
		{"template without a file name", "narrow", form("", [2]string{"key", "public/${filename}"}), false},
		{"template without a file name, bucket INSERT", "wide", form("", [2]string{"key", "public/${filename}"}), false},
		{"template, INSERT on the bucket", "wide", form("x.txt", [2]string{"key", "public/${filename}"}), true},
		{"plain key inside the grant", "narrow", form("x.txt", [2]string{"key", "public/a.txt"}), true},
		{"acl field without ALL on the bucket", "narrow", form("x.txt", [2]string{"key", "public/a.txt"}, [2]string{"acl", "public-read"}), false},
		{"object lock field", "narrow", form("x.txt", [2]string{"key", "public/a.txt"}, [2]string{"x-amz-object-lock-mode", "COMPLIANCE"}), false},
		{"snowball field", "narrow", form("x.tar", [2]string{"key", "public/a.tar"}, [2]string{"x-amz-meta-snowball-auto-extract", "true"}), false},
		{"unknown field", "narrow", form("x.txt", [2]string{"key", "public/a.txt"}, [2]string{"x-minio-extract", "true"}), false},
		{"another bucket field", "narrow", form("x.txt", [2]string{"key", "public/a.txt"}, [2]string{"bucket", "bk2"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := h.authorizePostForm(auth(tc.user), "bk1", tc.form)
			if (err == nil) != tc.allowed {
				t.Errorf("err = %v (reason %q), want allowed=%v", err, d.Reason, tc.allowed)
			}
		})
	}
}

// TestHoistedHeaderGoesUpstreamAsHeader: an x-amz-* header a presigned URL
// carries in its query reaches the upstream as the header S3 reads it as.
func TestHoistedHeaderGoesUpstreamAsHeader(t *testing.T) {
	send, up := newPolicyProxy(t)
	n := len(up.all())
	resp, body := send(http.MethodPut, "/bk1/public/a?x-amz-meta-owner=me%20too", []byte("data"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := up.all()[n:]
	if len(got) != 1 || got[0].query != "" || got[0].header.Get("X-Amz-Meta-Owner") != "me too" {
		t.Errorf("upstream saw %+v", got)
	}
}

// TestHoistedHeadersNeedSigV4: SigV2 does not sign x-amz-* query
// parameters, so a SigV2 presigned URL with any is refused: whoever holds
// the URL could have added them.
func TestHoistedHeadersNeedSigV4(t *testing.T) {
	proxy, up := newProxy(t)
	expires := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	mac := hmac.New(sha1.New, []byte(clientSecret))
	mac.Write([]byte("PUT\n\n\n" + expires + "\n/bucket1/inbox/x"))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	base := proxy + "/bucket1/inbox/x?AWSAccessKeyId=" + clientKey + "&Expires=" + expires + "&Signature=" + url.QueryEscape(sig)
	for _, tc := range []struct {
		name, extra string
		status      int
	}{
		{"the URL as signed", "", http.StatusOK},
		{"a header added to it", "&x-amz-acl=public-read", http.StatusBadRequest},
		{"metadata added to it", "&x-amz-meta-owner=eve", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := up.count()
			r, _ := http.NewRequest(http.MethodPut, base+tc.extra, strings.NewReader("data"))
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusOK && up.count() != n {
				t.Error("the upstream saw the request")
			}
		})
	}
}

// TestCopySourceRebuilt: the upstream gets the copy source the proxy
// authorized, fully encoded, not the client's spelling of it.
func TestCopySourceRebuilt(t *testing.T) {
	send, up := newPolicyProxy(t)
	n := len(up.all())
	resp, body := send(http.MethodPut, "/bk1/public/dst", nil, map[string]string{"X-Amz-Copy-Source": "bk1/public/a#x?versionId=v 1"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := up.all()[n:]
	if len(got) != 1 || got[0].header.Get("X-Amz-Copy-Source") != "/bk1/public/a%23x?versionId=v%201" {
		t.Errorf("upstream copy source %q", got[0].header.Get("X-Amz-Copy-Source"))
	}
}
