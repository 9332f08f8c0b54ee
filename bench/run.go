package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// config sizes one run.
type config struct {
	Quick bool

	LargeSize int64 // bytes of the large-object PUT/GET
	LargeReps int   // repetitions per endpoint

	SmallSize     int // bytes of the small object
	SmallConc     int // concurrent workers
	SmallRounds   int // rounds per endpoint, alternating
	SmallPerRound int // requests per round

	SerialRounds   int // rounds of one-at-a-time GETs per endpoint
	SerialPerRound int // requests per serial round

	RSSSize     int64 // bytes streamed through the proxy while sampling RSS
	RSSPartSize int64 // multipart part size
	RSSConc     int   // multipart parts in flight

	NScaleStarts int // fresh `lakegate proxy` processes timed to their first answer

	MinioBin    string   // "" finds one
	LakegateBin string   // "" builds ./cmd/lakegate
	Keep        bool     // keep the temporary directory
	Only        []string // step keys to run (see steps); empty runs all
	PerfDir     string   // when set, record each step's lakegate CPU profile with perf(1) here
	Command     string   // as shown in the report
	Log         io.Writer
}

func fullConfig() config {
	return config{
		LargeSize: 256 * mib, LargeReps: 5,
		SmallSize: 4 * kib, SmallConc: 16, SmallRounds: 4, SmallPerRound: 5000,
		SerialRounds: 4, SerialPerRound: 500,
		RSSSize: 2 * gib, RSSPartSize: 16 * mib, RSSConc: 4,
		NScaleStarts: 5,
	}
}

func quickConfig() config {
	return config{
		Quick:     true,
		LargeSize: 16 * mib, LargeReps: 2,
		SmallSize: 4 * kib, SmallConc: 16, SmallRounds: 2, SmallPerRound: 300,
		SerialRounds: 2, SerialPerRound: 50,
		RSSSize: 96 * mib, RSSPartSize: 16 * mib, RSSConc: 4,
		NScaleStarts: 2,
	}
}

const bucket = "lakegate-bench"

// env is a running MinIO and lakegate pair and the clients for both sides.
type env struct {
	cfg         config
	dir         string
	lakegateBin string
	minio       *proc
	lakegate    *proc
	direct      *endpoint
	proxy       *endpoint

	minioURL   string // http://127.0.0.1:port
	restURL    string // lakegate's REST API, http://127.0.0.1:port
	adminToken string // admin.token: the REST API's bearer token
	systemKey  string // system.private_key: a PEM P-256 key file

	extraYAML string // appended to lakegate's configuration (top-level keys)
}

func (e *env) logf(format string, args ...any) {
	if e.cfg.Log != nil {
		fmt.Fprintf(e.cfg.Log, "bench: "+format+"\n", args...)
	}
}

// run performs every measurement and returns the results; the processes it
// started are stopped before it returns.
func run(ctx context.Context, cfg config) (res *results, err error) {
	res = &results{Command: cfg.Command, Quick: cfg.Quick, Date: time.Now().UTC(), Config: cfg}
	res.Machine = describeMachine()

	e, minioBin, root, err := newRunEnv(ctx, cfg, "lakegate-bench-")
	if err != nil {
		return nil, err
	}
	defer e.close()

	res.Software = describeSoftware(ctx, root, minioBin)
	if err := e.start(ctx, minioBin, e.lakegateBin); err != nil {
		return nil, err
	}
	loadStart := loadAvg()

	for _, s := range e.steps() {
		if len(cfg.Only) > 0 && s.key != "prepare" && !slices.Contains(cfg.Only, s.key) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e.logf("%s", s.name)
		var rec *perfRecording
		if cfg.PerfDir != "" && s.name != "prepare" {
			if rec, err = startPerf(cfg.PerfDir, s.name, e.lakegate.pid()); err != nil {
				return nil, err
			}
		}
		err := s.fn(ctx, res)
		if rec != nil {
			if perr := rec.finish(ctx); perr != nil {
				e.logf("perf %s: %v", s.name, perr)
			} else {
				e.logf("perf profile of lakegate during %s: %s", s.name, rec.report)
			}
		}
		if err != nil {
			return nil, e.explain(fmt.Errorf("%s: %w", s.name, err))
		}
	}
	res.Machine.Load = loadStart + " at start, " + loadAvg() + " at end"
	res.evaluate()
	return res, nil
}

// newRunEnv prepares a run: finds MinIO and the module root, makes the
// temporary directory (named after prefix) and builds lakegate into it
// unless cfg names a binary (e.lakegateBin). Close the env when done.
func newRunEnv(ctx context.Context, cfg config, prefix string) (e *env, minioBin, root string, err error) {
	if minioBin, err = findMinio(cfg.MinioBin); err != nil {
		return nil, "", "", err
	}
	if root, err = moduleRoot(); err != nil {
		return nil, "", "", err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, "", "", err
	}
	e = &env{cfg: cfg, dir: dir, lakegateBin: cfg.LakegateBin}
	if e.lakegateBin == "" {
		e.logf("building lakegate")
		if e.lakegateBin, err = buildLakegate(ctx, root, dir); err != nil {
			e.close()
			return nil, "", "", err
		}
	}
	return e, minioBin, root, nil
}

// close stops the processes and removes the temporary directory, unless
// the configuration keeps it.
func (e *env) close() {
	e.stop()
	if e.cfg.Keep {
		e.logf("kept %s", e.dir)
	} else {
		_ = os.RemoveAll(e.dir)
	}
}

type step struct {
	key, name string
	fn        func(context.Context, *results) error
}

// stepKeys are the values -only accepts.
var stepKeys = []string{"small", "put-aws", "put-minio", "get", "pinned", "rss", "policy", "nscale"}

func (e *env) steps() []step {
	return []step{
		{"prepare", "prepare", e.prepare},
		{"small", "small GETs", e.measureSmall},
		{"put-aws", "large PUT (aws-sdk-go-v2)", e.measurePutAWS},
		{"put-minio", "large PUT (minio-go)", e.measurePutMinio},
		{"get", "large GET", e.measureGet},
		{"pinned", "proxy on its own CPU", e.measurePinned},
		{"rss", "proxy memory", e.measureRSS},
		{"policy", "policy decisions", e.measurePolicy},
		{"nscale", "nScale proxy", e.measureNScale},
	}
}

// explain adds the lakegate log tail to a failure, since a failing
// measurement is almost always the proxy refusing or breaking a request.
func (e *env) explain(err error) error {
	if e.lakegate == nil {
		return err
	}
	msg := err.Error()
	if ok, perr := e.lakegate.exited(); ok {
		msg += fmt.Sprintf("\nlakegate exited: %v", perr)
	}
	if t := e.lakegate.tail(20); t != "" {
		msg += "\n--- last lines of lakegate's log ---\n" + t
	}
	return errors.New(msg)
}

func (e *env) start(ctx context.Context, minioBin, lakegateBin string) error {
	e.lakegateBin = lakegateBin
	minioAddr, err := freeAddr()
	if err != nil {
		return err
	}
	consoleAddr, err := freeAddr()
	if err != nil {
		return err
	}
	rootUser, rootPass := "bench"+randomHex(6), randomHex(20)
	menv := append(os.Environ(),
		"MINIO_ROOT_USER="+rootUser, "MINIO_ROOT_PASSWORD="+rootPass,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	e.logf("starting MinIO on %s", minioAddr)
	e.minio, err = startProc("minio", filepath.Join(e.dir, "minio.log"), menv, minioBin,
		"server", "--quiet", "--address", minioAddr, "--console-address", consoleAddr, filepath.Join(e.dir, "minio-data"))
	if err != nil {
		return err
	}
	if err := waitFor(ctx, e.minio, 60*time.Second, httpOK("http://"+minioAddr+"/minio/health/live")); err != nil {
		return err
	}
	e.minioURL = "http://" + minioAddr
	if e.direct, err = newEndpoint("direct", e.minioURL, rootUser, rootPass); err != nil {
		return err
	}
	// MinIO answers its liveness probe before it has initialized; until
	// then requests get 503 XMinioServerNotInitialized, so the first one
	// is retried for a while.
	var cerr error
	for deadline := time.Now().Add(60 * time.Second); ; {
		_, cerr = e.direct.aws.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		if cerr == nil || !strings.Contains(cerr.Error(), "XMinioServerNotInitialized") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cerr; err != nil {
		return e.minio.failure(fmt.Errorf("create bucket: %w", err))
	}

	proxyAddr, err := freeAddr()
	if err != nil {
		return err
	}
	restAddr, err := freeAddr()
	if err != nil {
		return err
	}
	adminAK, adminSK := "LGBENCH"+strings.ToUpper(randomHex(6)), randomHex(20)
	e.restURL, e.adminToken = "http://"+restAddr, "lgt_"+randomHex(20)
	// The system key turns on the internal API that nScale proxies use;
	// it changes nothing on the proxy path the other steps measure.
	e.systemKey = filepath.Join(e.dir, "system.key")
	if err := writeSystemKey(e.systemKey); err != nil {
		return err
	}
	cfgPath := filepath.Join(e.dir, "lakegate.yaml")
	yaml := fmt.Sprintf(`# written by go run ./bench
data_dir: %s
proxy:
  addr: %q
rest:
  addr: %q
upstream:
  endpoint: "http://%s"
  region: us-east-1
  path_style: true
  access_key_id: %q
  secret_access_key: %q
admin:
  access_key_id: %q
  secret_access_key: %q
  token: %q
system:
  private_key: %q
`, filepath.Join(e.dir, "lakegate-data"), proxyAddr, restAddr, minioAddr, rootUser, rootPass, adminAK, adminSK, e.adminToken, e.systemKey) + e.extraYAML
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return err
	}
	e.logf("starting lakegate: proxy %s, REST %s", proxyAddr, restAddr)
	e.lakegate, err = startProc("lakegate", filepath.Join(e.dir, "lakegate.log"), os.Environ(), lakegateBin,
		"serve", "--config", cfgPath)
	if err != nil {
		return err
	}
	if e.proxy, err = newEndpoint("proxy", "http://"+proxyAddr, adminAK, adminSK); err != nil {
		return err
	}
	// Ready means a signed request passes through the whole pipeline.
	return waitFor(ctx, e.lakegate, 60*time.Second, func(ctx context.Context) error {
		_, err := e.proxy.aws.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
		return err
	})
}

func (e *env) stop() {
	if e.lakegate != nil {
		e.lakegate.stop()
	}
	if e.minio != nil {
		e.minio.stop()
	}
}

// both runs fn against the two endpoints, the order alternating with round,
// so that neither side always runs first (warm caches, connection reuse, a
// neighbour's load burst) across rounds.
func (e *env) both(round int, fn func(ep *endpoint) error) error {
	eps := []*endpoint{e.direct, e.proxy}
	if round%2 == 1 {
		eps[0], eps[1] = eps[1], eps[0]
	}
	for _, ep := range eps {
		if err := fn(ep); err != nil {
			return fmt.Errorf("%s: %w", ep.name, err)
		}
	}
	return nil
}

// cpuUse is CPU time spent during some calls, by process.
type cpuUse struct {
	Client, Proxy, Minio time.Duration
	// Others is what the rest of the machine used meanwhile: busy time from
	// /proc/stat minus the three processes above.
	Others time.Duration
	// Machine is all non-idle CPU time, interrupts and softirqs included.
	Machine time.Duration
	Wall    time.Duration
}

func (u *cpuUse) add(v cpuUse) {
	u.Client += v.Client
	u.Proxy += v.Proxy
	u.Minio += v.Minio
	u.Others += v.Others
	u.Machine += v.Machine
	u.Wall += v.Wall
}

// machineShare is the fraction of the machine's CPU capacity in use.
func (u cpuUse) machineShare(nproc int) float64 {
	if u.Wall <= 0 || nproc <= 0 {
		return 0
	}
	return u.Machine.Seconds() / (u.Wall.Seconds() * float64(nproc))
}

// othersShare is the fraction of the machine's CPU capacity that other
// processes used.
func (u cpuUse) othersShare(nproc int) float64 {
	if u.Wall <= 0 || nproc <= 0 {
		return 0
	}
	return max(0, u.Others.Seconds()/(u.Wall.Seconds()*float64(nproc)))
}

// cpuSpent measures the CPU time the harness, the proxy, MinIO and every
// other process use during fn.
func (e *env) cpuSpent(fn func() error) (cpuUse, error) {
	read := func() (c, p, m, procs, all time.Duration) {
		c, _ = cpuTime(os.Getpid())
		p, _ = cpuTime(e.lakegate.pid())
		m, _ = cpuTime(e.minio.pid())
		procs, all, _ = machineBusy()
		return
	}
	c0, p0, m0, b0, a0 := read()
	t0 := time.Now()
	err := fn()
	wall := time.Since(t0)
	c1, p1, m1, b1, a1 := read()
	u := cpuUse{Client: c1 - c0, Proxy: p1 - p0, Minio: m1 - m0, Machine: a1 - a0, Wall: wall}
	u.Others = max(0, (b1-b0)-u.Client-u.Proxy-u.Minio)
	return u, err
}

func describeMachine() machine {
	m := machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemBytes = kb * 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func describeSoftware(ctx context.Context, root, minioBin string) software {
	var s software
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		s.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			s.Commit += " with uncommitted changes"
		}
	}
	if out, err := exec.CommandContext(ctx, minioBin, "--version").Output(); err == nil {
		s.Minio = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	s.Minio = strings.TrimSpace(s.Minio + " (" + minioBin + ")")
	return s
}
