package audit_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/quickstart"
)

// These tests run the S3 sink and the S3 query against a real S3 server:
// the embedded versitygw backend quickstart uses, on 127.0.0.1 with a
// random port. One backend runs at a time per process, and starting it
// changes the working directory, so every path here is absolute.

type backend struct {
	*quickstart.Backend
	client *s3.Client
	opts   audit.S3Options
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := quickstart.StartBackend(ctx, filepath.Join(t.TempDir(), "backend"))
	if err != nil {
		t.Fatalf("StartBackend: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("backend Stop: %v", err)
		}
	})
	opts := audit.S3Options{
		Endpoint: b.Endpoint, Region: b.Region, PathStyle: true,
		Credentials: awscreds.NewStaticCredentialsProvider(b.Creds.AccessKeyID, b.Creds.SecretAccessKey, ""),
	}
	client := s3.New(s3.Options{
		Region: b.Region, BaseEndpoint: aws.String(b.Endpoint), UsePathStyle: true, Credentials: opts.Credentials,
	})
	return &backend{Backend: b, client: client, opts: opts}
}

func (b *backend) createBucket(t *testing.T, name string) {
	t.Helper()
	if _, err := b.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func (b *backend) keys(t *testing.T, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func event(id string, i int) *audit.Event {
	dec := audit.DecisionAllow
	if i%2 == 1 {
		dec = audit.DecisionDeny
	}
	return &audit.Event{
		Source: audit.SourceProxy, RequestID: id, User: fmt.Sprintf("user%d", i%4), Operation: "GetObject",
		URIs: []string{fmt.Sprintf("s3://lake/t/%d", i)}, Privilege: "SELECT", Decision: dec, Reason: "test", Mode: audit.ModeProxy,
	}
}

func closeCtx(t *testing.T, c interface{ Close(context.Context) error }) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Close(ctx)
}

func queryS3(t *testing.T, q *audit.Query, f audit.Filter) ([]audit.Event, audit.Summary) {
	t.Helper()
	var out []audit.Event
	sum, err := q.Run(context.Background(), f, func(e *audit.Event) error { out = append(out, *e); return nil })
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return out, sum
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var keyRE = regexp.MustCompile(`^lakegate/prod/(audit|server)/\d{4}/\d{2}/\d{2}/\d{2}/node-a-\d{20}\.jsonl\.gz$`)

func TestS3SinkUploadsBatchesAndQueryReadsThem(t *testing.T) {
	be := startBackend(t)
	be.createBucket(t, "audit-logs")
	tmp := t.TempDir()
	spool, local := filepath.Join(tmp, "spool"), filepath.Join(tmp, "local")
	opts := audit.Options{
		Sinks:          audit.Sinks{Dir: local, S3Bucket: "audit-logs", S3Prefix: "/lakegate/prod/"},
		Node:           "node-a",
		SpoolDir:       spool,
		S3:             be.opts,
		UploadInterval: 100 * time.Millisecond,
		BatchMaxBytes:  64 << 10, // several batches
		FsyncInterval:  time.Second,
		Logger:         logger(t),
	}
	b, err := audit.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ev := event(fmt.Sprintf("req-%d", i), i)
			if err := b.Decide(context.Background(), ev); err != nil {
				t.Error(err)
				return
			}
			ev.Status = 200
			b.Complete(ev)
		})
	}
	wg.Wait()
	// The background loop uploads while the broker runs.
	waitFor(t, "a background upload", func() bool { return b.Stats().Uploads > 0 })
	if err := closeCtx(t, b); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := b.Stats(); st.SpoolBytes != 0 || st.Decisions != n || st.Completions != n {
		t.Errorf("stats after Close: %+v", st)
	}
	keys := be.keys(t, "audit-logs", "")
	if len(keys) < 2 {
		t.Errorf("%d objects, want several batches", len(keys))
	}
	records := 0
	for _, k := range keys {
		if !keyRE.MatchString(k) || !strings.Contains(k, "/audit/") {
			t.Errorf("key %q does not follow <prefix>/audit/YYYY/MM/DD/HH/<node>-<seq>.jsonl.gz", k)
		}
		out, err := be.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("audit-logs"), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(out.Body)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || (rec["record"] != "decision" && rec["record"] != "completion") {
				t.Errorf("%s: bad line %q", k, sc.Text())
			}
			records++
		}
		out.Body.Close()
	}
	if records != 2*n {
		t.Errorf("%d records in the bucket, want %d", records, 2*n)
	}
	if left := spoolFiles(t, spool); len(left) != 0 {
		t.Errorf("spool not empty after Close: %v", left)
	}

	src, err := audit.NewS3Source("audit-logs", "lakegate/prod", be.opts)
	if err != nil {
		t.Fatal(err)
	}
	events, sum := queryS3(t, &audit.Query{S3: []*audit.S3Source{src}}, audit.Filter{})
	if len(events) != n || sum.Incomplete != 0 || sum.Skipped != 0 {
		t.Errorf("S3 query: %d events %+v, want %d complete", len(events), sum, n)
	}
	// Local files and the bucket hold the same records: read once.
	events, _ = queryS3(t, &audit.Query{Dirs: []string{local}, S3: []*audit.S3Source{src}}, audit.Filter{})
	if len(events) != n {
		t.Errorf("local+S3 query: %d events, want %d", len(events), n)
	}
	events, _ = queryS3(t, &audit.Query{S3: []*audit.S3Source{src}}, audit.Filter{Decision: audit.DecisionDeny, Since: time.Now().Add(-time.Hour)})
	if len(events) != n/2 {
		t.Errorf("deny since 1h: %d events, want %d", len(events), n/2)
	}
	events, _ = queryS3(t, &audit.Query{S3: []*audit.S3Source{src}}, audit.Filter{Since: time.Now().Add(2 * time.Hour)})
	if len(events) != 0 {
		t.Errorf("future range: %d events", len(events))
	}

	// The server log goes to the same bucket under server/.
	sl, err := audit.NewServerLog(audit.Options{
		Sinks: audit.Sinks{S3Bucket: "audit-logs", S3Prefix: "lakegate/prod"}, Node: "node-a",
		SpoolDir: spool, S3: be.opts, Logger: logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	slog.New(sl.Handler(nil)).Info("started", "token", "lgt_secretsecretsecretsecret")
	if err := closeCtx(t, sl); err != nil {
		t.Fatal(err)
	}
	serverKeys := be.keys(t, "audit-logs", "lakegate/prod/server/")
	if len(serverKeys) != 1 || !keyRE.MatchString(serverKeys[0]) {
		t.Errorf("server log keys: %v", serverKeys)
	}
}

func spoolFiles(t *testing.T, spool string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(spool, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(path, ".lock") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

func TestS3UploadRetriesAndLeftoversAtStart(t *testing.T) {
	be := startBackend(t)
	spool := filepath.Join(t.TempDir(), "spool")
	opts := audit.Options{
		Sinks: audit.Sinks{S3Bucket: "later"}, Node: "node-b", SpoolDir: spool, S3: be.opts,
		UploadInterval: 50 * time.Millisecond, Logger: logger(t),
	}
	audit.SetTestHooks(&opts, time.Now, 20*time.Millisecond)

	// The bucket does not exist yet: records are accepted into the spool,
	// uploads fail and are retried.
	b, err := audit.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := b.Decide(context.Background(), event(fmt.Sprintf("first-%d", i), i)); err != nil {
			t.Fatalf("Decide with uploads failing: %v", err)
		}
	}
	waitFor(t, "failed uploads", func() bool { return b.Stats().UploadErrors >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = b.Close(ctx)
	cancel()
	if err == nil {
		t.Fatal("Close succeeded although nothing could be uploaded")
	}
	t.Logf("Close: %v", err)
	if left := spoolFiles(t, spool); len(left) == 0 {
		t.Fatal("nothing left in the spool")
	}

	// Next start: leftovers are uploaded; new records too once the bucket
	// appears while running.
	b, err = audit.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := b.Decide(context.Background(), event(fmt.Sprintf("second-%d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "failed uploads after restart", func() bool { return b.Stats().UploadErrors >= 1 })
	be.createBucket(t, "later")
	waitFor(t, "the retry to succeed", func() bool { st := b.Stats(); return st.Uploads >= 1 && st.SpoolBytes == 0 })
	if err := closeCtx(t, b); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if left := spoolFiles(t, spool); len(left) != 0 {
		t.Errorf("spool not empty: %v", left)
	}
	src, err := audit.NewS3Source("later", "", be.opts)
	if err != nil {
		t.Fatal(err)
	}
	events, sum := queryS3(t, &audit.Query{S3: []*audit.S3Source{src}}, audit.Filter{})
	if len(events) != 100 || sum.Incomplete != 100 {
		t.Errorf("%d events (%d incomplete), want the 100 decisions", len(events), sum.Incomplete)
	}
}

// The spool survives kill -9: a child records decisions into an S3 sink
// whose endpoint refuses connections, so everything stays spooled; it is
// killed, and a broker started afterwards with a working endpoint uploads
// every acknowledged decision.
const spoolChildEnv = "LAKEGATE_AUDIT_SPOOL_CHILD"

func TestKill9SpoolChild(t *testing.T) {
	spool := os.Getenv(spoolChildEnv)
	if spool == "" {
		t.Skip("run by TestKill9SpoolIsUploadedAfterRestart")
	}
	b, err := audit.New(audit.Options{
		Sinks: audit.Sinks{S3Bucket: "crash"}, Node: "node-c", SpoolDir: spool, BatchMaxBytes: 32 << 10,
		S3: audit.S3Options{
			Endpoint: "http://127.0.0.1:1", PathStyle: true,
			Credentials: awscreds.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		id := fmt.Sprintf("spooled-%d", i)
		if err := b.Decide(context.Background(), event(id, i)); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println("ack", id)
	}
}

func TestKill9SpoolIsUploadedAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(t.TempDir(), "spool")
	cmd := exec.Command(exe, "-test.run=^TestKill9SpoolChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), spoolChildEnv+"="+spool)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	var killed bool
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			acked[id] = true
		} else if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		if len(acked) == 3000 && !killed {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("child ended by itself")
	}

	be := startBackend(t)
	be.createBucket(t, "crash")
	b, err := audit.New(audit.Options{
		Sinks: audit.Sinks{S3Bucket: "crash"}, Node: "node-c", SpoolDir: spool, S3: be.opts, Logger: logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := closeCtx(t, b); err != nil {
		t.Fatalf("Close: %v", err)
	}
	src, err := audit.NewS3Source("crash", "", be.opts)
	if err != nil {
		t.Fatal(err)
	}
	events, sum := queryS3(t, &audit.Query{S3: []*audit.S3Source{src}}, audit.Filter{})
	found := map[string]bool{}
	for _, e := range events {
		found[e.RequestID] = true
	}
	missing := 0
	for id := range acked {
		if !found[id] {
			missing++
		}
	}
	if missing > 0 || sum.Skipped != 0 {
		t.Errorf("%d of %d acknowledged decisions not uploaded; %d unreadable lines", missing, len(acked), sum.Skipped)
	}
	t.Logf("%d acknowledged before kill -9, %d uploaded after restart", len(acked), len(events))
}
