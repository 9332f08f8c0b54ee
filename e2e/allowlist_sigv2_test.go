package e2e

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// presignV2 returns a SigV2 presigned URL for method on path (/bucket/key),
// as AWS CLI v1's `aws s3 presign` makes them. SigV2 signs the method, the
// expiry and the path with its sub-resources; no x-amz-* query parameter.
func presignV2(base, method, path, key, secret string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(method + "\n\n\n" + exp + "\n" + path))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return base + path + "?AWSAccessKeyId=" + url.QueryEscape(key) + "&Expires=" + exp + "&Signature=" + url.QueryEscape(sig)
}

// TestAllowlistSigV2Hoisted: an x-amz-* header carried as a query
// parameter is read by S3 as the header; SigV2 does not sign it, so whoever
// holds a SigV2 presigned URL could add one (an ACL, a lock, MinIO's tar
// extraction, metadata). The proxy refuses such URLs; the URL as signed
// works.
func TestAllowlistSigV2Hoisted(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, _ backendKind, st *stack) {
		m := st.MinIO
		b := bucketName("v2hoist")
		m.makeBucket(t, b, false)
		owner := grantUser(t, st.LG, "v2owner", fmt.Sprintf("ALL ON URI 's3://%s'", b))
		hc := st.LG.HTTPClient()
		put := func(t *testing.T, rawURL string) rawResponse {
			req, err := http.NewRequest(http.MethodPut, rawURL, strings.NewReader("uploaded through a shared link"))
			if err != nil {
				t.Fatal(err)
			}
			return doRaw(t, hc, req)
		}
		link := presignV2(st.LG.ProxyURL, http.MethodPut, "/"+b+"/inbox/x.txt", owner.Key, owner.Secret, time.Now().Add(time.Hour))
		for _, extra := range []string{
			"&x-amz-acl=public-read",
			"&x-amz-meta-snowball-auto-extract=true",
			"&x-amz-object-lock-mode=COMPLIANCE&x-amz-object-lock-retain-until-date=2099-01-01T00:00:00Z",
			"&x-amz-meta-added=by-the-link-holder",
			"&x-amz-tagging=a%3Db",
		} {
			t.Run(extra, func(t *testing.T) {
				before := m.fullSnapshot(t, b)
				n := st.Rec.Len()
				resp := put(t, link+extra)
				refusedBeforeForwarding(t, st, n, "PUT "+link+extra, resp, []outcome{{400, "InvalidArgument"}})
				sameState(t, before, m.fullSnapshot(t, b), extra)
			})
		}
		t.Run("as signed", func(t *testing.T) {
			if resp := put(t, link); resp.Status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			if got := m.get(t, b, "inbox/x.txt"); got != "uploaded through a shared link" {
				t.Errorf("inbox/x.txt holds %q", got)
			}
		})
	})
}
