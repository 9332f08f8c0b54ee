package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// auditEvent is the part of an audit event (internal/audit.Event) the
// tests read.
type auditEvent struct {
	RequestID   string   `json:"request_id"`
	Source      string   `json:"source"`
	User        string   `json:"user"`
	AccessKeyID string   `json:"access_key_id"`
	Operation   string   `json:"operation"`
	URIs        []string `json:"uris"`
	Privilege   string   `json:"privilege"`
	Decision    string   `json:"decision"`
	Reason      string   `json:"reason"`
	Status      int      `json:"status"`
	BytesOut    int64    `json:"bytes_out"`
	Mode        string   `json:"mode"`
	Incomplete  bool     `json:"incomplete"`
}

// auditQuery runs `lakegate audit query --json` with the server's
// configuration and the given flags.
func auditQuery(t *testing.T, lg *lakegateServer, args ...string) []auditEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	full := append([]string{"audit", "query", "--json", "--config", lg.ConfigFile}, args...)
	stdout, stderr, code := runCmd(ctx, baseEnv(home), home, lakegateBin, full...)
	if code != 0 {
		t.Fatalf("lakegate %s: exit %d\n%s", strings.Join(full, " "), code, stderr)
	}
	var out []auditEvent
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit query printed a line that is not an event: %v: %q", err, sc.Text())
		}
		out = append(out, e)
	}
	return out
}

// TestAuditThousandRequests is issue 6's main check: 1,000 mixed allowed
// and denied requests through the proxy (reads under a grant, reads
// elsewhere, writes without INSERT, lists, and forged signatures) give
// exactly 1,000 proxy events, each with the decision the proxy made and a
// reason; the batches land in a MinIO log bucket, and `lakegate audit
// query` reads them back from there (and from the local files), as does
// GET /api/audit.
func TestAuditThousandRequests(t *testing.T) {
	logBucket := bucketName("auditlogs")
	auditDir := filepath.Join(t.TempDir(), "audit")
	st := newPolicyStack(t, lakegateOptions{Audit: map[string]any{
		"events":          map[string]any{"dir": auditDir, "s3_bucket": logBucket, "s3_prefix": "lake/logs"},
		"upload_interval": "1s",
	}})
	t.Cleanup(func() { registerLogFiles(auditDir) })
	lg := st.LG
	st.MinIO.makeBucket(t, logBucket, false)
	bucket := bucketName("audited")
	st.MinIO.makeBucket(t, bucket, false)
	for i := range 10 {
		st.MinIO.put(t, bucket, fmt.Sprintf("pub/seed-%d", i), "public\n")
	}
	lg.sql(t, "CREATE ROLE auditor_role", "GRANT ROLE auditor_role TO GROUP readers",
		fmt.Sprintf("GRANT SELECT, SHOW ON URI 's3://%s/pub' TO ROLE auditor_role", bucket))
	key, secret := lg.createUser(t, "ada", "readers")
	ada := newS3User(lg, "ada", key, secret)
	// The last character changed, never to itself (a secret ending in "x"
	// made every forged request a valid one in a CI run).
	last := "x"
	if strings.HasSuffix(secret, last) {
		last = "y"
	}
	forged := newS3User(lg, "ada (wrong secret)", key, secret[:len(secret)-1]+last)

	type sent struct {
		op, uri, decision string
	}
	const total = 1000
	want := make(map[string]sent, total) // by URI: each request names its own object
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				var r rawReq
				var s sent
				u := ada
				switch i % 5 {
				case 0: // allowed read (the object may not exist: still allowed)
					r = rawReq{Method: http.MethodGet, Path: fmt.Sprintf("/%s/pub/k%04d", bucket, i)}
					s = sent{"GetObject", fmt.Sprintf("s3://%s/pub/k%04d", bucket, i), "allow"}
				case 1: // read outside the grant
					r = rawReq{Method: http.MethodGet, Path: fmt.Sprintf("/%s/priv/k%04d", bucket, i)}
					s = sent{"GetObject", fmt.Sprintf("s3://%s/priv/k%04d", bucket, i), "deny"}
				case 2: // write without INSERT
					r = rawReq{Method: http.MethodPut, Path: fmt.Sprintf("/%s/pub/w%04d", bucket, i), Body: []byte("no")}
					s = sent{"PutObject", fmt.Sprintf("s3://%s/pub/w%04d", bucket, i), "deny"}
				case 3: // allowed head
					r = rawReq{Method: http.MethodHead, Path: fmt.Sprintf("/%s/pub/seed-%d", bucket, i%10)}
					r.Header = http.Header{"X-Lakegate-Test": {fmt.Sprint(i)}}
					s = sent{"HeadObject", fmt.Sprintf("s3://%s/pub/seed-%d", bucket, i%10), "allow"}
				case 4: // forged signature
					u = forged
					r = rawReq{Method: http.MethodGet, Path: fmt.Sprintf("/%s/pub/f%04d", bucket, i)}
					s = sent{"GetObject", fmt.Sprintf("s3://%s/pub/f%04d", bucket, i), "deny"}
				}
				resp := u.do(t, r)
				okStatus := resp.Status < 400 || resp.Status == http.StatusNotFound
				if (s.decision == "allow") != okStatus {
					t.Errorf("request %d (%s %s): status %d, expected a %s", i, r.Method, r.Path, resp.Status, s.decision)
				}
				mu.Lock()
				if s.op != "HeadObject" {
					want[s.uri] = s
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	check := func(where string, events []auditEvent) {
		t.Helper()
		var proxy []auditEvent
		for _, e := range events {
			if e.Source == "proxy" && e.AccessKeyID == key && strings.Contains(strings.Join(e.URIs, " "), "s3://"+bucket+"/") {
				proxy = append(proxy, e)
			}
		}
		if len(proxy) != total {
			t.Fatalf("%s: %d proxy events for ada's %d requests", where, len(proxy), total)
		}
		heads, decisions := 0, map[string]int{}
		for _, e := range proxy {
			decisions[e.Decision]++
			if e.Reason == "" || e.Incomplete || e.Status == 0 {
				t.Errorf("%s: event without a reason or an outcome: %+v", where, e)
			}
			if e.Operation == "HeadObject" {
				heads++
				if e.Decision != "allow" || !strings.Contains(e.Reason, "GRANT SELECT") {
					t.Errorf("%s: HeadObject event %+v", where, e)
				}
				continue
			}
			s, ok := want[e.URIs[0]]
			if !ok {
				t.Errorf("%s: an event for a request not sent: %+v", where, e)
				continue
			}
			if e.Decision != s.decision || e.Operation != s.op {
				t.Errorf("%s: %s %s recorded as %s %s (%s), sent as %s", where, s.op, s.uri, e.Operation, e.Decision, e.Reason, s.decision)
			}
			if s.decision == "allow" && (e.User != "ada" || !strings.Contains(e.Reason, "GRANT SELECT")) {
				t.Errorf("%s: allowed event without its grant: %+v", where, e)
			}
			if strings.Contains(s.uri, "/pub/f") && !strings.Contains(e.Reason, "SignatureDoesNotMatch") {
				t.Errorf("%s: forged request's reason %q does not name the signature", where, e.Reason)
			}
		}
		if heads != total/5 || decisions["allow"] != 2*total/5 || decisions["deny"] != 3*total/5 {
			t.Errorf("%s: %d heads, decisions %v; want %d heads, %d allowed, %d denied", where, heads, decisions, total/5, 2*total/5, 3*total/5)
		}
		t.Logf("%s: %d proxy events, decisions %v", where, len(proxy), decisions)
	}

	// Local files, while the server runs.
	check("local audit files", auditQuery(t, lg, "--dir", auditDir))

	// The REST endpoint, for catalog admins.
	res := lg.rest(t, http.MethodGet, "/api/audit?limit=10000", bearer(lg.AdminToken))
	if res.Status != http.StatusOK {
		t.Fatalf("GET /api/audit: %s", res)
	}
	var page struct {
		Events []auditEvent `json:"events"`
	}
	if err := json.Unmarshal(res.Body, &page); err != nil {
		t.Fatalf("GET /api/audit: %v", err)
	}
	check("GET /api/audit", page.Events)
	if res := lg.rest(t, http.MethodGet, "/api/audit", basicAuth("ada", "x")); res.Status < 400 {
		t.Errorf("GET /api/audit without admin rights: %s", res)
	}

	// The log bucket: batches are cut every second; SIGTERM uploads the
	// rest. Wait for the upload rather than stop the server.
	var fromS3 []auditEvent
	deadline := time.Now().Add(30 * time.Second)
	for {
		fromS3 = auditQuery(t, lg, "--s3", "s3://"+logBucket+"/lake/logs", "--uri-prefix", "s3://"+bucket+"/")
		if len(fromS3) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	check("S3 log bucket", fromS3)
	objects := st.MinIO.listKeys(t, logBucket)
	n := 0
	for k := range objects {
		if !strings.HasPrefix(k, "lake/logs/audit/") || !strings.HasSuffix(k, ".jsonl.gz") {
			t.Errorf("unexpected object in the log bucket: %s", k)
		}
		n++
	}
	t.Logf("%d batches in s3://%s/lake/logs/audit/", n, logBucket)
}

// TestAuditKill9 kills the server with SIGKILL while requests stream
// through it: every request the proxy forwarded has its decision in the
// log (a decision is written before anything is forwarded, so a kill loses
// none), the log reads back cleanly after the restart, and new events
// append to it.
func TestAuditKill9(t *testing.T) {
	st := newPolicyStack(t, lakegateOptions{})
	lg := st.LG
	bucket := bucketName("kill9")
	st.MinIO.makeBucket(t, bucket, false)
	st.MinIO.put(t, bucket, "pub/x", "x\n")
	lg.sql(t, "CREATE ROLE k9", "GRANT ROLE k9 TO GROUP k9", fmt.Sprintf("GRANT SELECT ON URI 's3://%s/pub' TO ROLE k9", bucket))
	key, secret := lg.createUser(t, "kim", "k9")
	kim := newS3User(lg, "kim", key, secret)
	kim.hc.Timeout = 5 * time.Second

	var (
		mu        sync.Mutex
		forwarded []string // URIs of requests answered by the upstream
		stop      atomic.Bool
		seq       atomic.Int64
	)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for !stop.Load() {
				i := seq.Add(1)
				path := fmt.Sprintf("/%s/pub/k%06d", bucket, i)
				req := kim.build(t, rawReq{Method: http.MethodGet, Path: path})
				resp, err := kim.hc.Do(req)
				if err != nil {
					continue // the kill cut it
				}
				_ = resp.Body.Close()
				// 404 NoSuchKey comes from MinIO: the request was forwarded.
				if resp.StatusCode == http.StatusNotFound {
					mu.Lock()
					forwarded = append(forwarded, "s3://"+bucket+path[len("/"+bucket):])
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	killServer(t, lg)
	stop.Store(true)
	wg.Wait()
	if len(forwarded) < 50 {
		t.Fatalf("only %d requests went through before the kill", len(forwarded))
	}

	restartServer(t, lg)
	events := auditQuery(t, lg, "--dir", filepath.Join(lg.DataDir, "audit"), "--user", "kim")
	byURI := map[string]auditEvent{}
	incomplete := 0
	for _, e := range events {
		if len(e.URIs) > 0 {
			byURI[e.URIs[0]] = e
		}
		if e.Incomplete {
			incomplete++
		}
	}
	lost := 0
	for _, u := range forwarded {
		e, ok := byURI[u]
		if !ok || e.Decision != "allow" {
			lost++
			if lost <= 5 {
				t.Errorf("forwarded request %s has no allow decision in the log after the kill (%+v)", u, e)
			}
		}
	}
	t.Logf("kill -9: %d requests forwarded before the kill, %d decisions lost (bound: 0), %d events incomplete (in flight at the kill)",
		len(forwarded), lost, incomplete)

	// After the restart the log takes new events.
	path := fmt.Sprintf("/%s/pub/after-restart", bucket)
	if r := kim.do(t, rawReq{Method: http.MethodGet, Path: path}); r.Status != http.StatusNotFound {
		t.Fatalf("GET after the restart: %d", r.Status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := false
		for _, e := range auditQuery(t, lg, "--dir", filepath.Join(lg.DataDir, "audit"), "--user", "kim", "--uri-prefix", "s3://"+bucket+path[len("/"+bucket):]) {
			found = found || (e.Decision == "allow" && !e.Incomplete)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request after the restart is not in the audit log")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
