package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Issue 12's findings 1, 2, 3 and 6, each in front of MinIO and of the
// embedded backend (versitygw posix): a user granted SELECT, INSERT, SHOW
// and DELETE on s3://L/public/ of an object-lock bucket L tries to lock,
// unlock, re-ACL, extract or rename through request shapes the proxy must
// refuse from its allowlist, and a user with ALL on the bucket may use the
// semantics-changing headers. Each refused case checks the answer, that
// the upstream saw nothing, and that the backend's state (versions,
// retention, legal hold, tags, ACLs, bucket configuration) is unchanged.

// lockWorld is an object-lock bucket, its fixtures and two users.
type lockWorld struct {
	st      *stack
	kind    backendKind
	b       string
	narrow  *s3User // SELECT, INSERT, SHOW, DELETE on s3://b/public/
	owner   *s3User // ALL on s3://b
	upload  string  // an upload of public/a.txt, made by the backend's root
	govVID  string  // the version of public/gov.txt under GOVERNANCE retention
	content map[string]string
}

const lockHidden = "HIDDEN:"

func newLockWorld(t *testing.T, kind backendKind, st *stack) *lockWorld {
	t.Helper()
	m := st.MinIO
	w := &lockWorld{st: st, kind: kind, b: bucketName("lock"), content: map[string]string{}}
	m.makeLockedBucket(t, w.b)
	for _, k := range []string{"public/a.txt", "public/b.txt"} {
		w.content[k] = "PUBLIC:" + k
	}
	for _, k := range []string{"secret/s.txt", "root.txt"} {
		w.content[k] = lockHidden + k + ":" + randString(12, anyAlnum)
	}
	for k, c := range w.content {
		m.put(t, w.b, k, c)
	}
	w.upload = m.newUpload(t, w.b, "public/a.txt")
	// A governance-locked object in the grant: only ALL on the bucket may
	// bypass its retention.
	m.put(t, w.b, "public/gov.txt", "governed")
	o, err := m.Client.StatObject(minioCtx(t), w.b, "public/gov.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.govVID = o.VersionID
	r := m.backendRequest(t, http.MethodPut, "/"+w.b+"/public/gov.txt?retention=&versionId="+url.QueryEscape(w.govVID), nil,
		retentionXML("GOVERNANCE", time.Now().Add(2*time.Hour)))
	if r.Status != http.StatusOK {
		t.Fatalf("set governance retention on public/gov.txt: %d\n%s", r.Status, r.Body)
	}
	lg := st.LG
	w.narrow = grantUser(t, lg, "narrow", fmt.Sprintf("SELECT, INSERT, SHOW, DELETE ON URI 's3://%s/public/'", w.b))
	w.owner = grantUser(t, lg, "owner", fmt.Sprintf("ALL ON URI 's3://%s'", w.b))
	return w
}

// refuse sends r as u and checks that the proxy refused it with one of
// want, forwarded nothing, leaked no hidden content and changed nothing.
func (w *lockWorld) refuse(t *testing.T, u *s3User, r rawReq, want []outcome) rawResponse {
	t.Helper()
	m := w.st.MinIO
	before := m.fullSnapshot(t, w.b)
	n := w.st.Rec.Len()
	desc := r.String()
	resp := u.do(t, r)
	refusedBeforeForwarding(t, w.st, n, desc, resp, want)
	show := fmt.Sprintf("request: %s\nresponse: %d\n%s", desc, resp.Status, tail(string(resp.Body), 2000))
	if strings.Contains(string(resp.Body), lockHidden) {
		t.Errorf("the response carries hidden content\n%s", show)
	}
	sameState(t, before, m.fullSnapshot(t, w.b), show)
	t.Logf("%s → %d", desc, resp.Status)
	return resp
}

// noneAllowed checks the audit log: every proxy request to bucket in the
// test was user's, and refused, so no event may record an allow (the
// issue's audit log said UploadPart, allowed, for a request that set a
// retention). It logs how the refusals were recorded.
func noneAllowed(t *testing.T, lg *lakegateServer, user, bucket string) {
	t.Helper()
	inBucket, attributed, anonymous := 0, 0, 0
	for _, e := range auditQuery(t, lg, "--dir", filepath.Join(lg.DataDir, "audit")) {
		if e.Source != "proxy" {
			continue
		}
		named := strings.Contains(strings.Join(e.URIs, " "), "s3://"+bucket)
		if named {
			inBucket++
		}
		if e.User == user {
			attributed++
		} else if e.User == "" {
			anonymous++
		}
		if e.Decision == "allow" && (named || e.User == user) {
			t.Errorf("the audit log records an allowed %s on %v, but every request %s sent was refused: %+v", e.Operation, e.URIs, user, e)
		}
	}
	t.Logf("proxy audit events: %d name s3://%s, %d are %s's, %d have no user", inBucket, bucket, attributed, user, anonymous)
}

// TestAllowlistSubresources is finding 1: a request with two
// operation-selecting sub-resources (the proxy would read one, the
// backend another) is refused before anything is forwarded.
func TestAllowlistSubresources(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		w := newLockWorld(t, kind, st)
		id := url.QueryEscape(w.upload)
		a := "/" + w.b + "/public/a.txt"
		tagging := []byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`)
		for _, c := range []struct {
			name string
			r    rawReq
		}{
			// The reproduction: UploadPart to the gateway,
			// PutObjectRetention to the backend.
			{"put_retention_uploadId", rawReq{Method: http.MethodPut, Path: a, Query: "retention=&uploadId=" + id,
				Body: retentionXML("COMPLIANCE", time.Now().Add(24*time.Hour))}},
			{"put_retention_fake_uploadId", rawReq{Method: http.MethodPut, Path: a, Query: "retention=&uploadId=x",
				Body: retentionXML("COMPLIANCE", time.Now().Add(24*time.Hour))}},
			{"put_retention_partNumber", rawReq{Method: http.MethodPut, Path: a, Query: "partNumber=1&retention=",
				Body: retentionXML("GOVERNANCE", time.Now().Add(24*time.Hour))}},
			{"put_legal_hold_part", rawReq{Method: http.MethodPut, Path: a, Query: "legal-hold=&partNumber=1&uploadId=" + id,
				Body: legalHoldXML("ON")}},
			{"put_acl_uploadId", rawReq{Method: http.MethodPut, Path: a, Query: "acl=&uploadId=" + id,
				Header: headerOf("X-Amz-Acl", "public-read")}},
			{"put_tagging_part", rawReq{Method: http.MethodPut, Path: a, Query: "partNumber=1&tagging=&uploadId=" + id, Body: tagging}},
			{"put_retention_tagging", rawReq{Method: http.MethodPut, Path: a, Query: "retention=&tagging=", Body: tagging}},
			{"get_acl_tagging", rawReq{Method: http.MethodGet, Path: a, Query: "acl=&tagging="}},
			{"get_retention_uploadId", rawReq{Method: http.MethodGet, Path: a, Query: "retention=&uploadId=" + id}},
			{"get_legal_hold_attributes", rawReq{Method: http.MethodGet, Path: a, Query: "attributes=&legal-hold="}},
			{"delete_tagging_uploadId", rawReq{Method: http.MethodDelete, Path: a, Query: "tagging=&uploadId=" + id}},
			{"post_restore_uploads", rawReq{Method: http.MethodPost, Path: a, Query: "restore=&uploads=",
				Body: []byte(`<RestoreRequest><Days>1</Days></RestoreRequest>`)}},
			{"post_select_uploadId", rawReq{Method: http.MethodPost, Path: a, Query: "select=&select-type=2&uploadId=" + id,
				Body: []byte(`<SelectObjectContentRequest/>`)}},
			{"list_uploads_versions", rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "uploads=&versions="}},
			{"list_versions_location", rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "location=&versions="}},
		} {
			t.Run(c.name, func(t *testing.T) {
				w.refuse(t, w.narrow, c.r, refusedOutcomes)
			})
		}
		// Duplicated x-amz-* headers: which one would the backend use?
		for _, c := range []struct {
			name string
			r    rawReq
		}{
			{"duplicate_copy_source", rawReq{Method: http.MethodPut, Path: "/" + w.b + "/public/c.txt",
				Header: headerOf("X-Amz-Copy-Source", "/"+w.b+"/public/b.txt", "X-Amz-Copy-Source", "/"+w.b+"/secret/s.txt")}},
			{"duplicate_storage_class", rawReq{Method: http.MethodPut, Path: "/" + w.b + "/public/d.txt", Body: []byte("d"),
				Header: headerOf("X-Amz-Storage-Class", "STANDARD", "X-Amz-Storage-Class", "REDUCED_REDUNDANCY")}},
			{"duplicate_tagging", rawReq{Method: http.MethodPut, Path: "/" + w.b + "/public/e.txt", Body: []byte("e"),
				Header: headerOf("X-Amz-Tagging", "a=1", "X-Amz-Tagging", "b=2")}},
			{"duplicate_metadata_directive", rawReq{Method: http.MethodPut, Path: "/" + w.b + "/public/f.txt",
				Header: headerOf("X-Amz-Copy-Source", "/"+w.b+"/public/b.txt", "X-Amz-Metadata-Directive", "COPY", "X-Amz-Metadata-Directive", "REPLACE")}},
		} {
			t.Run(c.name, func(t *testing.T) { w.refuse(t, w.narrow, c.r, refusedOutcomes) })
		}
		t.Run("audit", func(t *testing.T) { noneAllowed(t, st.LG, w.narrow.Name, w.b) })
	})
}

// TestAllowlistSemanticHeaders is finding 2: headers that change what an
// operation does (object lock, legal hold, governance bypass, ACL grants,
// MFA, MinIO's tar auto-extract) need ALL on the bucket: a narrow user is
// refused with AccessDenied and nothing is forwarded; the bucket's owner
// may use them.
func TestAllowlistSemanticHeaders(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		w := newLockWorld(t, kind, st)
		m := st.MinIO
		p := func(k string) string { return "/" + w.b + "/" + k }
		until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		lockHdr := func(kv ...string) http.Header {
			return headerOf(append([]string{"X-Amz-Object-Lock-Mode", "GOVERNANCE", "X-Amz-Object-Lock-Retain-Until-Date", until}, kv...)...)
		}
		src := "/" + w.b + "/public/b.txt"
		allUsers := `uri="http://acs.amazonaws.com/groups/global/AllUsers"`
		bundle := tarOf(t, map[string]string{"secret/evil.txt": "evil", "evil-root.txt": "evil", "public/ok.txt": "ok"})
		gov := "versionId=" + url.QueryEscape(w.govVID)
		deleteGov := []byte(`<Delete><Object><Key>public/gov.txt</Key><VersionId>` + w.govVID + `</VersionId></Object></Delete>`)
		for _, c := range []struct {
			name string
			r    rawReq
		}{
			{"put_lock_governance", rawReq{Method: http.MethodPut, Path: p("public/n1.txt"), Body: []byte("n"), Header: lockHdr()}},
			{"put_lock_compliance", rawReq{Method: http.MethodPut, Path: p("public/n1.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Object-Lock-Mode", "COMPLIANCE", "X-Amz-Object-Lock-Retain-Until-Date", until)}},
			{"put_retain_until_only", rawReq{Method: http.MethodPut, Path: p("public/n1.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Object-Lock-Retain-Until-Date", until)}},
			{"put_legal_hold", rawReq{Method: http.MethodPut, Path: p("public/n2.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Object-Lock-Legal-Hold", "ON")}},
			{"put_existing_legal_hold", rawReq{Method: http.MethodPut, Path: p("public/a.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Object-Lock-Legal-Hold", "ON")}},
			{"copy_legal_hold", rawReq{Method: http.MethodPut, Path: p("public/n3.txt"),
				Header: headerOf("X-Amz-Copy-Source", src, "X-Amz-Object-Lock-Legal-Hold", "ON")}},
			{"copy_lock_mode", rawReq{Method: http.MethodPut, Path: p("public/n3.txt"), Header: lockHdr("X-Amz-Copy-Source", src)}},
			{"create_upload_lock_mode", rawReq{Method: http.MethodPost, Path: p("public/n4.bin"), Query: "uploads=", Header: lockHdr()}},
			{"create_upload_legal_hold", rawReq{Method: http.MethodPost, Path: p("public/n4.bin"), Query: "uploads=",
				Header: headerOf("X-Amz-Object-Lock-Legal-Hold", "ON")}},
			{"delete_bypass_governance", rawReq{Method: http.MethodDelete, Path: p("public/gov.txt"), Query: gov,
				Header: headerOf("X-Amz-Bypass-Governance-Retention", "true")}},
			{"delete_objects_bypass_governance", rawReq{Method: http.MethodPost, Path: "/" + w.b, Query: "delete=", Body: deleteGov,
				Header: headerOf("X-Amz-Bypass-Governance-Retention", "true")}},
			{"put_retention_bypass_governance", rawReq{Method: http.MethodPut, Path: p("public/gov.txt"), Query: "retention=&" + gov,
				Body: retentionXML("GOVERNANCE", time.Now().Add(time.Minute)), Header: headerOf("X-Amz-Bypass-Governance-Retention", "true")}},
			{"put_acl_public_read", rawReq{Method: http.MethodPut, Path: p("public/n5.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Acl", "public-read")}},
			{"put_grant_read", rawReq{Method: http.MethodPut, Path: p("public/n5.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Grant-Read", allUsers)}},
			{"put_grant_full_control", rawReq{Method: http.MethodPut, Path: p("public/n5.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Grant-Full-Control", allUsers)}},
			{"put_grant_write_acp", rawReq{Method: http.MethodPut, Path: p("public/n5.txt"), Body: []byte("n"),
				Header: headerOf("X-Amz-Grant-Write-Acp", allUsers)}},
			{"copy_acl", rawReq{Method: http.MethodPut, Path: p("public/n6.txt"),
				Header: headerOf("X-Amz-Copy-Source", src, "X-Amz-Acl", "public-read-write")}},
			{"create_upload_grant_read_acp", rawReq{Method: http.MethodPost, Path: p("public/n7.bin"), Query: "uploads=",
				Header: headerOf("X-Amz-Grant-Read-Acp", allUsers)}},
			{"delete_mfa", rawReq{Method: http.MethodDelete, Path: p("public/b.txt"), Header: headerOf("X-Amz-Mfa", "arn:aws:iam::1:mfa/x 123456")}},
			{"delete_version_mfa", rawReq{Method: http.MethodDelete, Path: p("public/gov.txt"), Query: gov,
				Header: headerOf("X-Amz-Mfa", "arn:aws:iam::1:mfa/x 123456")}},
			{"snowball_auto_extract", rawReq{Method: http.MethodPut, Path: p("public/bundle.tar"), Body: bundle,
				Header: headerOf("X-Amz-Meta-Snowball-Auto-Extract", "true")}},
			{"snowball_prefix", rawReq{Method: http.MethodPut, Path: p("public/bundle.tar"), Body: bundle,
				Header: headerOf("X-Amz-Meta-Snowball-Auto-Extract", "true", "X-Amz-Meta-Minio-Snowball-Prefix", "secret")}},
			{"snowball_ignore_dirs", rawReq{Method: http.MethodPut, Path: p("public/bundle.tar"), Body: bundle,
				Header: headerOf("X-Amz-Meta-Minio-Snowball-Ignore-Dirs", "true")}},
			{"snowball_ignore_errors", rawReq{Method: http.MethodPut, Path: p("public/bundle.tar"), Body: bundle,
				Header: headerOf("X-Amz-Meta-Minio-Snowball-Ignore-Errors", "true")}},
		} {
			t.Run("narrow/"+c.name, func(t *testing.T) {
				w.refuse(t, w.narrow, c.r, denied)
				for _, k := range []string{"secret/evil.txt", "evil-root.txt", "public/ok.txt"} {
					if m.objectExists(t, w.b, k) {
						t.Errorf("%s was extracted from the archive", k)
					}
				}
			})
		}
		// POST forms carry the same headers as fields.
		for _, f := range []struct {
			name   string
			fields []string
		}{
			{"form_legal_hold", []string{"x-amz-object-lock-legal-hold", "ON"}},
			{"form_lock_mode", []string{"x-amz-object-lock-mode", "GOVERNANCE", "x-amz-object-lock-retain-until-date", until}},
			{"form_acl", []string{"acl", "public-read"}},
			{"form_snowball", []string{"x-amz-meta-snowball-auto-extract", "true"}},
		} {
			t.Run("narrow/"+f.name, func(t *testing.T) {
				before := m.fullSnapshot(t, w.b)
				n := st.Rec.Len()
				form := postForm{Bucket: w.b, Key: "public/form.tar", FileName: "form.tar", File: bundle, Fields: f.fields}
				resp := form.send(t, w.narrow)
				refusedBeforeForwarding(t, st, n, form.String(), resp, denied)
				sameState(t, before, m.fullSnapshot(t, w.b), form.String())
			})
		}
		t.Run("narrow/audit", func(t *testing.T) { noneAllowed(t, st.LG, w.narrow.Name, w.b) })

		// The bucket's owner may use them, and they take effect.
		t.Run("owner/put_legal_hold", func(t *testing.T) {
			r := w.owner.do(t, rawReq{Method: http.MethodPut, Path: p("public/o1.txt"), Body: []byte("o"),
				Header: headerOf("X-Amz-Object-Lock-Legal-Hold", "ON")})
			if r.Status != http.StatusOK {
				t.Fatalf("owner's PUT with a legal hold: %d\n%s", r.Status, r.Body)
			}
			if _, lh := m.objectLockState(t, w.b, "public/o1.txt"); lh != "ON" {
				t.Errorf("owner's legal hold did not take: %q", lh)
			}
		})
		t.Run("owner/put_lock_governance", func(t *testing.T) {
			r := w.owner.do(t, rawReq{Method: http.MethodPut, Path: p("public/o2.txt"), Body: []byte("o"), Header: lockHdr()})
			if r.Status != http.StatusOK {
				t.Fatalf("owner's PUT with a retention: %d\n%s", r.Status, r.Body)
			}
			if ret, _ := m.objectLockState(t, w.b, "public/o2.txt"); !strings.HasPrefix(ret, "GOVERNANCE") {
				t.Errorf("owner's retention did not take: %q", ret)
			}
		})
		t.Run("owner/delete_bypass_governance", func(t *testing.T) {
			r := w.owner.do(t, rawReq{Method: http.MethodDelete, Path: p("public/gov.txt"), Query: gov,
				Header: headerOf("X-Amz-Bypass-Governance-Retention", "true")})
			if r.Status != http.StatusNoContent && r.Status != http.StatusOK {
				t.Fatalf("owner's DELETE bypassing governance: %d\n%s", r.Status, r.Body)
			}
			if snap := m.fullSnapshot(t, w.b); snap[w.b+"/public/gov.txt@"+w.govVID] != "" {
				t.Errorf("the governed version is still there after the owner's bypass")
			}
		})
		if kind == backendMinIO {
			t.Run("owner/snowball_auto_extract", func(t *testing.T) {
				owned := tarOf(t, map[string]string{"x/1.txt": "one"})
				r := w.owner.do(t, rawReq{Method: http.MethodPut, Path: p("public/owned.tar"), Body: owned,
					Header: headerOf("X-Amz-Meta-Snowball-Auto-Extract", "true", "X-Amz-Meta-Minio-Snowball-Prefix", "public/ex")})
				if r.Status != http.StatusOK {
					t.Fatalf("owner's snowball PUT: %d\n%s", r.Status, r.Body)
				}
				if !m.objectExists(t, w.b, "public/ex/x/1.txt") {
					t.Errorf("MinIO did not extract the owner's archive: %v", sortedKeys(m.listKeys(t, w.b)))
				}
			})
		}
	})
}

// TestAllowlistUnknownSubresources is finding 3: sub-resources the proxy
// does not know (AWS's newest, MinIO's and Ceph's extensions, anything a
// backend adds next year) are refused, never read as GetObject, PutObject
// or ListObjects.
func TestAllowlistUnknownSubresources(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		w := newLockWorld(t, kind, st)
		// A forwarded long poll (MinIO's ListenNotification) must not hang
		// the test: the answer is what matters.
		w.narrow.hc.Timeout = 20 * time.Second
		p := func(k string) string { return "/" + w.b + "/" + k }
		for _, c := range []struct {
			name string
			r    rawReq
		}{
			{"bucket_session", rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "session="}},
			{"object_session", rawReq{Method: http.MethodGet, Path: p("public/a.txt"), Query: "session="}},
			{"rename_from_hidden", rawReq{Method: http.MethodPut, Path: p("public/renamed.txt"), Query: "renameObject=",
				Header: headerOf("X-Amz-Rename-Source", "/"+w.b+"/secret/s.txt")}},
			{"rename_in_grant", rawReq{Method: http.MethodPut, Path: p("public/renamed.txt"), Query: "renameObject=",
				Header: headerOf("X-Amz-Rename-Source", "/"+w.b+"/public/b.txt")}},
			{"ceph_append_put", rawReq{Method: http.MethodPut, Path: p("public/app.txt"), Query: "append=&position=0", Body: []byte("app")}},
			{"ceph_append_post", rawReq{Method: http.MethodPost, Path: p("public/app.txt"), Query: "append=&position=0", Body: []byte("app")}},
			{"ceph_mdsearch", rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "mdsearch=x-amz-meta-a%3D%3D1"}},
			{"ceph_usage", rawReq{Method: http.MethodGet, Path: "/", Query: "usage="}},
			{"minio_metadata_listing", rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "list-type=2&metadata=true&prefix=public%2F"}},
			{"minio_listen_notification", rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "events=s3%3AObjectCreated%3A%2A"}},
			{"minio_replication_reset", rawReq{Method: http.MethodPut, Path: "/" + w.b, Query: "replication-reset=&older-than=1h"}},
			{"unknown_get_object", rawReq{Method: http.MethodGet, Path: p("public/a.txt"), Query: "frobnicate="}},
			{"unknown_head_object", rawReq{Method: http.MethodHead, Path: p("public/a.txt"), Query: "frobnicate="}},
			{"unknown_put_object", rawReq{Method: http.MethodPut, Path: p("public/u.txt"), Query: "frobnicate=", Body: []byte("u")}},
			{"unknown_delete_object", rawReq{Method: http.MethodDelete, Path: p("public/b.txt"), Query: "frobnicate="}},
			{"unknown_post_object", rawReq{Method: http.MethodPost, Path: p("public/b.txt"), Query: "frobnicate=", Body: []byte("u")}},
			{"unknown_list", rawReq{Method: http.MethodGet, Path: "/" + w.b, Query: "frobnicate=&prefix=public%2F"}},
			{"unknown_bucket_put", rawReq{Method: http.MethodPut, Path: "/" + w.b, Query: "frobnicate="}},
			{"unknown_service", rawReq{Method: http.MethodGet, Path: "/", Query: "frobnicate="}},
		} {
			t.Run(c.name, func(t *testing.T) {
				w.refuse(t, w.narrow, c.r, refusedOutcomes)
			})
		}
		t.Run("audit", func(t *testing.T) { noneAllowed(t, st.LG, w.narrow.Name, w.b) })
	})
}

// TestAllowlistPostFormFilename is finding 6 under issue 13's rule: a POST
// form whose key holds ${filename} is authorized as the key it becomes
// (the template with the file's base name, the key the backend is sent),
// so a prefix grant covers prefix/${filename} exactly when that key is
// under the prefix. The file name is the client's choice and is held to
// the rules of any key: one with '.' or '..' segments (../secret.txt), a
// backslash or none at all is refused before forwarding, and nothing
// outside the grant is written.
func TestAllowlistPostFormFilename(t *testing.T) {
	forEachBackend(t, lakegateOptions{}, func(t *testing.T, kind backendKind, st *stack) {
		m := st.MinIO
		b := bucketName("form")
		m.makeBucket(t, b, false)
		m.put(t, b, "secret.txt", lockHidden+"secret")
		m.put(t, b, "public/a.txt", "PUBLIC")
		writer := grantUser(t, st.LG, "writer", fmt.Sprintf("INSERT ON URI 's3://%s/public/'", b))
		bucketWriter := grantUser(t, st.LG, "bwriter", fmt.Sprintf("INSERT ON URI 's3://%s'", b))
		invalid := []outcome{{400, "InvalidArgument"}}
		for _, c := range []struct {
			key, name string
			want      []outcome
		}{
			{"public/${filename}", "../secret.txt", invalid},
			{"public/${filename}", "..", invalid},
			{"public/${filename}", "sub/../../secret.txt", invalid},
			{"public/${filename}", `..\secret.txt`, invalid},
			{"public/${filename}", "", invalid}, // backends would write public/ or public/${filename}
			{"other/${filename}", "x.txt", denied},
			{"publi${filename}", "c.txt", denied}, // publicc.txt is not under public/
			{"${filename}", "secret.txt", denied},
		} {
			t.Run(fmt.Sprintf("prefix_grant/key=%q,filename=%q", c.key, c.name), func(t *testing.T) {
				before := m.fullSnapshot(t, b)
				n := st.Rec.Len()
				form := postForm{Bucket: b, Key: c.key, FileName: c.name, File: []byte("overwritten by " + c.name), AnyKey: true}
				resp := form.send(t, writer)
				refusedBeforeForwarding(t, st, n, form.String(), resp, c.want)
				sameState(t, before, m.fullSnapshot(t, b), form.String())
				if got := m.get(t, b, "secret.txt"); got != lockHidden+"secret" {
					t.Errorf("secret.txt now holds %q", got)
				}
			})
		}
		// The key the file name makes, when it is in the grant, is written
		// on both backends, and nothing else.
		for _, c := range []struct{ name, written string }{
			{"x.txt", "public/x.txt"},
			{"dir/photo.jpg", "public/photo.jpg"},
		} {
			t.Run(fmt.Sprintf("prefix_grant/filename=%q", c.name), func(t *testing.T) {
				before := m.listKeys(t, b)
				form := postForm{Bucket: b, Key: "public/${filename}", FileName: c.name, File: []byte("by " + c.name)}
				resp := form.send(t, writer)
				if resp.Status/100 != 2 {
					t.Fatalf("%s: %d\n%s", form, resp.Status, resp.Body)
				}
				if got := m.get(t, b, c.written); got != "by "+c.name {
					t.Errorf("%s holds %q", c.written, got)
				}
				for k := range m.listKeys(t, b) {
					if _, ok := before[k]; !ok && k != c.written {
						t.Errorf("%s also wrote %q", form, k)
					}
				}
			})
		}
		// A fixed key in the grant is still a plain INSERT.
		t.Run("prefix_grant/fixed_key", func(t *testing.T) {
			form := postForm{Bucket: b, Key: "public/fixed.txt", FileName: "anything.txt", File: []byte("fixed")}
			resp := form.send(t, writer)
			if resp.Status/100 != 2 {
				t.Fatalf("%s: %d\n%s", form, resp.Status, resp.Body)
			}
			if got := m.get(t, b, "public/fixed.txt"); got != "fixed" {
				t.Errorf("public/fixed.txt holds %q", got)
			}
		})
		// INSERT on the whole bucket lets the file name choose any key in it,
		// but not a traversing one.
		t.Run("bucket_grant/filename", func(t *testing.T) {
			form := postForm{Bucket: b, Key: "public/${filename}", FileName: "chosen.txt", File: []byte("chosen")}
			resp := form.send(t, bucketWriter)
			if resp.Status/100 != 2 {
				t.Fatalf("%s: %d\n%s", form, resp.Status, resp.Body)
			}
			// The proxy sends the substituted key, so both backends write
			// it (versitygw, left to itself, stores the template).
			keys := m.listKeys(t, b)
			_, substituted := keys["public/chosen.txt"]
			_, literal := keys["public/${filename}"]
			if !substituted || literal {
				t.Errorf("want public/chosen.txt and no public/${filename}: %q", sortedKeys(keys))
			}
		})
		t.Run("bucket_grant/traversing_filename", func(t *testing.T) {
			before := m.fullSnapshot(t, b)
			n := st.Rec.Len()
			form := postForm{Bucket: b, Key: "public/${filename}", FileName: "../secret.txt", File: []byte("climbed")}
			refusedBeforeForwarding(t, st, n, form.String(), form.send(t, bucketWriter), invalid)
			sameState(t, before, m.fullSnapshot(t, b), form.String())
		})
	})
}

// tarOf is a tar archive of files.
func tarOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// postForm is a browser-based upload (POST Object) signed with SigV4: its
// policy allows any key starting with public/ (or AnyKey: any key) and
// names each extra field.
type postForm struct {
	Bucket, Key string
	FileName    string
	File        []byte
	// Fields are extra name, value pairs, sent before the file.
	Fields []string
	// AnyKey signs starts-with $key "", so that only the grants decide.
	AnyKey bool
}

func (f postForm) String() string {
	return fmt.Sprintf("POST /%s form key=%q filename=%q fields=%q", f.Bucket, f.Key, f.FileName, f.Fields)
}

// send signs the form with u's key and posts it to the proxy.
func (f postForm) send(t *testing.T, u *s3User) rawResponse {
	t.Helper()
	now := time.Now().UTC()
	date := now.Format("20060102")
	cred := u.Key + "/" + date + "/" + region + "/s3/aws4_request"
	amzDate := now.Format("20060102T150405Z")
	prefix := "public/"
	if f.AnyKey {
		prefix = ""
	}
	conds := []any{
		map[string]string{"bucket": f.Bucket},
		[]string{"starts-with", "$key", prefix},
		map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]string{"x-amz-credential": cred},
		map[string]string{"x-amz-date": amzDate},
	}
	for i := 0; i+1 < len(f.Fields); i += 2 {
		conds = append(conds, map[string]string{f.Fields[i]: f.Fields[i+1]})
	}
	policy, err := json.Marshal(map[string]any{
		"expiration": now.Add(10 * time.Minute).Format("2006-01-02T15:04:05.000Z"),
		"conditions": conds,
	})
	if err != nil {
		t.Fatal(err)
	}
	policyB64 := base64.StdEncoding.EncodeToString(policy)
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+u.Secret), date)
	k = mac(k, region)
	k = mac(k, "s3")
	k = mac(k, "aws4_request")
	sig := hex.EncodeToString(mac(k, policyB64))

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := []string{"key", f.Key, "x-amz-algorithm", "AWS4-HMAC-SHA256", "x-amz-credential", cred,
		"x-amz-date", amzDate, "policy", policyB64, "x-amz-signature", sig}
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i+1 < len(f.Fields); i += 2 {
		if err := mw.WriteField(f.Fields[i], f.Fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	// CreateFormFile would escape the name; the file name is sent as an
	// attacker would, verbatim between quotes.
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="file"; filename="` + f.FileName + `"`}
	h["Content-Type"] = []string{"application/octet-stream"}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(f.File); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, u.lg.ProxyURL+"/"+f.Bucket, bytes.NewReader(body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return doRaw(t, u.hc, req)
}
