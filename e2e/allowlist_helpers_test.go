package e2e

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Helpers for the allowlist suites (issue 12: TestAllowlist*): a storage
// snapshot that covers what an escaped request could change besides
// object bytes (versions, retention, legal hold, tags, ACLs, bucket
// configuration), and the checks every refused request gets.

// objectConfigs are the per-version sub-resources a snapshot reads.
var objectConfigs = []string{"retention", "legal-hold", "tagging", "acl"}

// bucketConfigs are the bucket sub-resources a snapshot reads; a server
// that does not implement one answers the same error every time.
var bucketConfigs = []string{
	"accelerate", "acl", "cors", "encryption", "lifecycle", "logging", "notification",
	"object-lock", "ownershipControls", "policy", "publicAccessBlock", "replication",
	"requestPayment", "tagging", "versioning", "website",
}

// requestIDs are the parts of an answer that differ between two reads of
// the same state.
var requestIDs = regexp.MustCompile(`<(RequestId|HostId|RequestID)>[^<]*</(RequestId|HostId|RequestID)>`)

// answerState reduces a backend answer to what it says about the state:
// the body of a success, the error code of a failure.
func answerState(r rawResponse) string {
	if r.Status == http.StatusOK {
		b := strings.TrimSpace(requestIDs.ReplaceAllString(string(r.Body), ""))
		b = strings.TrimPrefix(b, `<?xml version="1.0" encoding="UTF-8"?>`)
		return strings.TrimSpace(b)
	}
	if e, err := parseS3Error(r.Body); err == nil && e.Code != "" {
		return fmt.Sprintf("error %d %s", r.Status, e.Code)
	}
	return fmt.Sprintf("status %d", r.Status)
}

// fullSnapshot describes buckets as the backend holds them: every version
// and delete marker ("b/key@version"), its retention, legal hold, tags and
// ACL ("b/key@version ?retention"…), every multipart upload with its parts
// ("b?uploadId=ID key") and the bucket's configuration ("b ?policy"…).
// Reads go straight to the backend with its root keys, several at once.
func (m *minioServer) fullSnapshot(t testing.TB, buckets ...string) map[string]string {
	t.Helper()
	s := map[string]string{}
	type read struct{ entry, pathAndQuery string }
	var reads []read
	for _, b := range buckets {
		if !m.bucketExists(t, b) {
			s[b] = "(no bucket)"
			continue
		}
		for o := range m.Client.ListObjects(minioCtx(t), b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				t.Fatalf("list versions of %s: %v", b, o.Err)
			}
			vid := o.VersionID
			if vid == "" {
				vid = "null"
			}
			entry := b + "/" + o.Key + "@" + vid
			s[entry] = fmt.Sprintf("etag=%s size=%d latest=%v deleteMarker=%v modified=%s",
				o.ETag, o.Size, o.IsLatest, o.IsDeleteMarker, o.LastModified.Format(time.RFC3339Nano))
			if o.IsDeleteMarker {
				continue
			}
			for _, c := range objectConfigs {
				q := c + "="
				if o.VersionID != "" && o.VersionID != "null" {
					q += "&versionId=" + url.QueryEscape(o.VersionID)
				}
				reads = append(reads, read{entry + " ?" + c, "/" + b + "/" + s3PathEscape(o.Key) + "?" + q})
			}
		}
		for id, k := range m.uploads(t, b) {
			etags, _ := m.parts(t, b, k, id)
			s[b+"?uploadId="+id+" "+k] = "parts=" + strings.Join(etags, ",")
		}
		for _, c := range bucketConfigs {
			reads = append(reads, read{b + " ?" + c, "/" + b + "?" + c + "="})
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, r := range reads {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			v := answerState(m.backendRequest(t, http.MethodGet, r.pathAndQuery, nil, nil))
			mu.Lock()
			s[r.entry] = v
			mu.Unlock()
		})
	}
	wg.Wait()
	return s
}

// s3PathEscape escapes a key for a request path as S3 servers
// canonicalize it (RFC 3986 unreserved characters and '/' kept, every other
// byte %XX), so that a path signed as sent verifies.
func s3PathEscape(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// entryKey returns the object key a snapshot entry is about, and whether
// it is about an object (a version, its configuration or an upload).
func entryKey(bucket, entry string) (string, bool) {
	if rest, ok := strings.CutPrefix(entry, bucket+"/"); ok {
		key, _, _ := strings.Cut(rest, "@")
		return key, true
	}
	if rest, ok := strings.CutPrefix(entry, bucket+"?uploadId="); ok {
		_, key, _ := strings.Cut(rest, " ")
		return key, true
	}
	return "", false
}

// entryConfig returns the sub-resource a snapshot entry is about ("" for
// object data and uploads).
func entryConfig(entry string) string {
	_, c, ok := strings.Cut(entry, " ?")
	if !ok {
		return ""
	}
	return c
}

// refusedBeforeForwarding checks the allowlist's promise for a request
// the proxy must refuse itself: one of the statuses with an S3 XML error
// body, and nothing reached the upstream since recorder position n.
func refusedBeforeForwarding(t *testing.T, st *stack, n int, desc string, r rawResponse, want []outcome) {
	t.Helper()
	settle(t, st.Rec)
	show := fmt.Sprintf("request: %s\nresponse: %d\n%s", desc, r.Status, tail(string(r.Body), 2000))
	code := ""
	if len(r.Body) > 0 {
		e, err := parseS3Error(r.Body)
		if err != nil {
			t.Errorf("the refusal is not an S3 XML error (%v)\n%s", err, show)
		}
		code = e.Code
	}
	matched := false
	for _, o := range want {
		if r.Status == o.status && (o.code == "" || o.code == code || (len(r.Body) == 0 && r.Status == o.status)) {
			matched = true
		}
	}
	if !matched {
		t.Errorf("got %d %s, want one of %v\n%s", r.Status, code, want, show)
	}
	for _, rr := range st.Rec.Since(n) {
		t.Errorf("the upstream saw %s\n%s", rr, show)
	}
}

// refusedOutcomes are the allowlist's refusals of a malformed or
// unsupported request.
var refusedOutcomes = []outcome{{400, "InvalidArgument"}, {501, "NotImplemented"}}

// sameState reports every difference between two full snapshots.
func sameState(t *testing.T, before, after map[string]string, show string) {
	t.Helper()
	for _, d := range snapshotDiff(before, after, nil) {
		t.Errorf("upstream state changed: %s\n%s", d, show)
	}
}

// retentionXML is a PutObjectRetention body.
func retentionXML(mode string, until time.Time) []byte {
	return []byte(`<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>` + mode +
		`</Mode><RetainUntilDate>` + until.UTC().Format("2006-01-02T15:04:05.000Z") + `</RetainUntilDate></Retention>`)
}

// legalHoldXML is a PutObjectLegalHold body.
func legalHoldXML(status string) []byte {
	return []byte(`<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>` + status + `</Status></LegalHold>`)
}

// objectLockState reads an object's retention and legal hold straight
// from the backend: "" for none.
func (m *minioServer) objectLockState(t testing.TB, bucket, key string) (retention, legalHold string) {
	t.Helper()
	var ret struct {
		Mode            string
		RetainUntilDate string
	}
	if r := m.backendRequest(t, http.MethodGet, "/"+bucket+"/"+s3PathEscape(key)+"?retention=", nil, nil); r.Status == http.StatusOK {
		if err := xml.Unmarshal(r.Body, &ret); err == nil && ret.Mode != "" {
			retention = ret.Mode + " until " + ret.RetainUntilDate
		}
	}
	var lh struct{ Status string }
	if r := m.backendRequest(t, http.MethodGet, "/"+bucket+"/"+s3PathEscape(key)+"?legal-hold=", nil, nil); r.Status == http.StatusOK {
		if err := xml.Unmarshal(r.Body, &lh); err == nil && lh.Status == "ON" {
			legalHold = "ON"
		}
	}
	return retention, legalHold
}

// grantUser creates role, group and user with the given grant statements
// (each "PRIVS ON URI '…'") and returns the user's signing client.
func grantUser(t *testing.T, lg *lakegateServer, name string, grants ...string) *s3User {
	t.Helper()
	role, group := name+"_role", name+"_g"
	stmts := []string{"CREATE ROLE " + role, "GRANT ROLE " + role + " TO GROUP " + group}
	for _, g := range grants {
		stmts = append(stmts, "GRANT "+g+" TO ROLE "+role)
	}
	lg.sql(t, stmts...)
	key, secret := lg.createUser(t, name, group)
	return newS3User(lg, name, key, secret)
}

// headerOf builds an http.Header from name/value pairs, keeping the names
// as given in canonical form; a name given twice gets two values.
func headerOf(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
