package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Targets of issue 5 (seed 004's caches).
const (
	targetWarmDecide  = 1000.0                 // ns: one authorization from a proxy's warm user-permission cache
	targetFirstAnswer = 500 * time.Millisecond // exec of a fresh proxy → its first authorized 200
)

// nscaleBenchmarks are the Go benchmarks of internal/nscale the report
// shows; the first is held to targetWarmDecide.
var nscaleBenchmarks = []string{"BenchmarkWarmDecide"}

// The user, group and role the nScale step reads as: SELECT on the whole
// benchmark bucket, nothing else.
const (
	nscaleUser  = "bench_nscale"
	nscaleGrant = "GRANT SELECT ON URI 's3://" + bucket + "' TO ROLE " + nscaleUser
)

// nscaleResult is the output of the nscale step.
type nscaleResult struct {
	Command string
	Benches []goBench

	ObjectSize int
	Starts     []coldStart
}

// coldStart is one freshly started `lakegate proxy`, timed from just
// before its exec.
type coldStart struct {
	Listening time.Duration // the proxy's port accepts connections
	FirstOK   time.Duration // the first authorized GET has answered 200, body read
	Attempts  int           // GETs sent until that one (1 unless one failed)
}

// Cold is the part after the port accepted: everything the proxy does
// with its caches empty.
func (c coldStart) Cold() time.Duration { return c.FirstOK - c.Listening }

// measureNScale measures the nScale proxy (`lakegate proxy`): its
// warm-cache authorization through internal/nscale's Go benchmark, then
// how long fresh proxy processes, pointed at the harness's `lakegate
// serve`, take to answer their first authorized request.
func (e *env) measureNScale(ctx context.Context, res *results) error {
	cmd, benches, err := e.goBench(ctx, "./internal/nscale", nscaleBenchmarks)
	if err != nil {
		return err
	}
	r := &nscaleResult{Command: cmd, Benches: benches, ObjectSize: e.cfg.SmallSize}

	key, secret, err := e.createNScaleUser(ctx)
	if err != nil {
		return err
	}
	want := make([]byte, e.cfg.SmallSize) // the object prepare stored
	if _, err := newGen(int64(len(want))).Read(want); err != nil {
		return err
	}
	// The grant works through `lakegate serve` before any proxy is timed.
	viaServe, err := newEndpoint("serve as "+nscaleUser, e.proxy.url, key, secret)
	if err != nil {
		return err
	}
	if err := getExpect(ctx, viaServe, smallKey, want); err != nil {
		return fmt.Errorf("%s through lakegate serve: %w", nscaleUser, err)
	}
	for i := range e.cfg.NScaleStarts {
		c, err := e.coldStart(ctx, i+1, key, secret, want)
		if err != nil {
			return err
		}
		e.logf("nScale proxy %d: port accepting after %s ms, first 200 after %s ms", i+1, ms1(c.Listening), ms1(c.FirstOK))
		r.Starts = append(r.Starts, c)
	}
	res.NScale = r
	res.Checks = append(res.Checks, fmt.Sprintf("%d freshly started nScale proxies each returned the %s object byte-identical to what was stored, to a user granted SELECT on the bucket",
		len(r.Starts), formatSize(int64(len(want)))))
	return nil
}

// createNScaleUser creates, through the REST API as the admin, a user
// whose group holds a role granted SELECT on the benchmark bucket, and
// returns the user's new access key.
func (e *env) createNScaleUser(ctx context.Context) (key, secret string, err error) {
	var created struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	if err := e.rest(ctx, "/api/users", map[string]any{"name": nscaleUser, "groups": []string{nscaleUser}}, &created); err != nil {
		return "", "", err
	}
	if created.AccessKeyID == "" || created.SecretAccessKey == "" {
		return "", "", errors.New("POST /api/users: no access key in the answer")
	}
	sql := fmt.Sprintf("CREATE ROLE %[1]s; GRANT ROLE %[1]s TO GROUP %[1]s; %[2]s;", nscaleUser, nscaleGrant)
	if err := e.rest(ctx, "/api/sql", map[string]string{"sql": sql}, nil); err != nil {
		return "", "", err
	}
	return created.AccessKeyID, created.SecretAccessKey, nil
}

// rest POSTs body as JSON to lakegate's REST API with the admin token and
// decodes a 2xx answer into out (when not nil).
func (e *env) rest(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.restURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(answer))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	return nil
}

// coldStart starts the n-th `lakegate proxy` on a free loopback port,
// dials it every millisecond until the port accepts, then sends signed
// GETs of key until one answers 200, and stops the proxy. The listener is
// bound before the proxy fetches its settings from the server, so a
// connection made once the port accepts waits in the listen backlog until
// the proxy serves: the GET's time includes the whole cold path.
func (e *env) coldStart(ctx context.Context, n int, key, secret string, want []byte) (coldStart, error) {
	var c coldStart
	addr, err := freeAddr()
	if err != nil {
		return c, err
	}
	dir := filepath.Join(e.dir, fmt.Sprintf("nscale-%d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, err
	}
	// No upstream credentials and no store: the server hands out both
	// signing credentials and decisions.
	cfgPath := filepath.Join(dir, "proxy.yaml")
	yaml := fmt.Sprintf(`# written by go run ./bench
data_dir: %q
proxy:
  addr: %q
  server: %q
upstream:
  endpoint: %q
  region: us-east-1
  path_style: true
system:
  private_key: %q
`, filepath.Join(dir, "data"), addr, e.restURL, e.minioURL, e.systemKey)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return c, err
	}
	// The client exists before the exec, so that its set-up is not timed.
	ep, err := newEndpoint(fmt.Sprintf("nScale proxy %d", n), "http://"+addr, key, secret)
	if err != nil {
		return c, err
	}
	p, err := startProc(fmt.Sprintf("lakegate proxy %d", n), filepath.Join(dir, "proxy.log"), os.Environ(), e.lakegateBin,
		"proxy", "--config", cfgPath)
	if err != nil {
		return c, err
	}
	defer p.stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Listening = time.Since(p.started)
			_ = conn.Close()
			break
		}
		if ok, _ := p.exited(); ok || ctx.Err() != nil {
			return c, p.failure(fmt.Errorf("port %s never accepted: %w", addr, err))
		}
		time.Sleep(time.Millisecond)
	}
	for {
		c.Attempts++
		err := getExpect(ctx, ep, smallKey, want)
		if err == nil {
			c.FirstOK = time.Since(p.started)
			break
		}
		if ok, _ := p.exited(); ok || ctx.Err() != nil {
			return c, p.failure(fmt.Errorf("no authorized 200 after %d GETs: %w", c.Attempts, err))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c, nil
}

// getExpect GETs key through ep and checks that the body is want.
func getExpect(ctx context.Context, ep *endpoint, key string, want []byte) error {
	out, err := ep.aws.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("GET %s: %w", key, err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return fmt.Errorf("GET %s: %w", key, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("GET %s: %d bytes differ from the %d stored", key, len(got), len(want))
	}
	return nil
}

// writeSystemKey writes a fresh P-256 private key (ES256 system tokens) as
// PKCS#8 PEM: the cluster key the server verifies system tokens with and
// the nScale proxies mint theirs from.
func writeSystemKey(path string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// durations returns f of each start.
func (r *nscaleResult) durations(f func(coldStart) time.Duration) []time.Duration {
	d := make([]time.Duration, len(r.Starts))
	for i, c := range r.Starts {
		d[i] = f(c)
	}
	return d
}

func firstOK(c coldStart) time.Duration   { return c.FirstOK }
func listening(c coldStart) time.Duration { return c.Listening }
func cold(c coldStart) time.Duration      { return c.Cold() }

func medianDuration(d []time.Duration) time.Duration {
	f := make([]float64, len(d))
	for i, v := range d {
		f[i] = float64(v)
	}
	return time.Duration(median(f))
}

// Targets as the report writes them.
var (
	warmDecideTarget  = fmt.Sprintf("%g µs", targetWarmDecide/1000)
	firstAnswerTarget = fmt.Sprintf("%d ms", targetFirstAnswer.Milliseconds())
)

// ms1 is a duration in milliseconds to 0.1 ms: process start-up varies by
// more than that.
func ms1(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

func (r *results) evaluateNScale() {
	n := r.NScale
	if n == nil {
		return
	}
	if len(n.Benches) > 0 {
		ns := median(n.Benches[0].NsPerOp)
		ok := ns <= targetWarmDecide
		label := "nScale warm-cache authorization"
		if !ok {
			r.Unmet = append(r.Unmet, fmt.Sprintf("%s: %s (target ≤ %s)", label, micros(ns), warmDecideTarget))
		}
		r.Rows = append(r.Rows, row{label, "—", micros(ns), "—", "≤ " + warmDecideTarget, metWord(ok)})
	}
	if len(n.Starts) > 0 {
		first := medianDuration(n.durations(firstOK))
		ok := first <= targetFirstAnswer
		label := "nScale proxy start → first authorized GET"
		if !ok {
			r.Unmet = append(r.Unmet, fmt.Sprintf("%s: %s ms (target ≤ %s)", label, ms1(first), firstAnswerTarget))
		}
		r.Rows = append(r.Rows,
			row{label, "—", ms1(first) + " ms", "—", "≤ " + firstAnswerTarget, metWord(ok)},
			row{"nScale proxy port accepting → first authorized GET (cold caches)", "—", ms1(medianDuration(n.durations(cold))) + " ms", "—", "—", "—"})
	}
}

func renderNScale(b *strings.Builder, n *nscaleResult) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## nScale proxy\n\n")
	p("`lakegate proxy` holds no database and no cloud credentials: it fetches its settings, verifies access keys, gets decisions and upstream signing credentials " +
		"from a policy server's internal API, authenticated by a system token it mints from the cluster's private key. " +
		"Here the policy server is the harness's `lakegate serve`, configured with a P-256 `system.private_key`.\n\n")

	p("### Warm-cache authorization\n\n")
	p("`BenchmarkWarmDecide` of `internal/nscale`: one authorization answered from the proxy's user-permission cache "+
		"(the user's SELECT, granted on a location that covers each key read); the benchmark fails if any call reaches the server. "+
		"Target ≤ %s. Command: `%s`.\n\n", warmDecideTarget, n.Command)
	renderGoBench(b, n.Benches)
	p("\n")

	p("### First authorized request of a fresh proxy\n\n")
	p("User `%s` (created through the REST API with the admin token) is in group `%[1]s`, whose role `%[1]s` holds `%s`. "+
		"Each repetition starts a new `lakegate proxy --config …` on a free loopback port and times from just before its exec: "+
		"the harness dials the port every millisecond until it accepts, then sends an aws-sdk-go-v2 GetObject of the %s object signed with the user's key "+
		"(client built before the exec) and reads the body; a GET that fails is repeated (GETs column). The proxy is stopped afterwards. "+
		"The proxy binds its port before it fetches its settings, and connections wait in the listen backlog until it serves, "+
		"so port accepting → 200 is the whole cold path with every cache empty: settings, key verification through the server, the decision, "+
		"upstream credentials and the GET from MinIO. Target for exec → first 200: ≤ %s (seed 004).\n\n",
		nscaleUser, nscaleGrant, formatSize(int64(n.ObjectSize)), firstAnswerTarget)
	p("| Repetition | Exec → port accepting | Port accepting → 200 (cold caches) | Exec → first 200 | GETs |\n|---:|---:|---:|---:|---:|\n")
	if len(n.Starts) == 0 {
		return
	}
	for i, c := range n.Starts {
		p("| %d | %s ms | %s ms | %s ms | %d |\n", i+1, ms1(c.Listening), ms1(c.Cold()), ms1(c.FirstOK), c.Attempts)
	}
	for _, agg := range []struct {
		name string
		f    func([]time.Duration) time.Duration
	}{{"median", medianDuration}, {"max", slices.Max[[]time.Duration]}} {
		p("| **%s** | **%s ms** | **%s ms** | **%s ms** | |\n", agg.name,
			ms1(agg.f(n.durations(listening))), ms1(agg.f(n.durations(cold))), ms1(agg.f(n.durations(firstOK))))
	}
	first := medianDuration(n.durations(firstOK))
	p("\nMedian exec → first authorized 200: **%s ms** (target ≤ %s: %s).\n\n", ms1(first), firstAnswerTarget, metWord(first <= targetFirstAnswer))
}
