package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/store/mysqltest"
	"github.com/lakegate/lakegate/internal/store/pgtest"
)

// The -stores run (issue 14): for each store driver, two `lakegate serve`
// share one database; a GRANT or REVOKE is made through server A's REST
// API and server B's proxy is asked until it enforces it. It also times
// the decision cost on each driver: the store's work on the decision path
// of an uncached request (GetAccessKey, PolicyVersion, LoadPolicy after a
// change); the decision itself is answered from the compiled policy in
// memory, the same on every driver.
// Its section sits above the report's marker, between storesBegin and
// storesEnd, so that neither run erases the other's.

const (
	storesBegin = "<!-- Policy stores: written by `go run ./bench -stores -out docs/BENCHMARKS.md`. -->"
	storesEnd   = "<!-- End of the policy stores section. -->"
)

// storesConfig sizes a -stores run.
type storesConfig struct {
	Trials    int // GRANT/REVOKE changes timed per driver
	Roles     int // roles of the policy whose reload is timed
	PerRole   int // grants per role
	Reloads   int // timed LoadPolicy calls per driver
	PollEvery time.Duration
}

func storesSizes(quick bool) storesConfig {
	if quick {
		return storesConfig{Trials: 6, Roles: 20, PerRole: 5, Reloads: 5, PollEvery: 2 * time.Millisecond}
	}
	return storesConfig{Trials: 40, Roles: 200, PerRole: 10, Reloads: 30, PollEvery: 2 * time.Millisecond}
}

// storeResult is one driver's figures.
type storeResult struct {
	Driver, Version string
	Grant, Revoke   []time.Duration // change acknowledged → enforced by B's proxy
	Load            []time.Duration // LoadPolicy of the whole policy
	VersionPoll     []time.Duration // PolicyVersion, the poll's query
	KeyLookup       []time.Duration // GetAccessKey, a key no cache holds
	Grants          int             // rows in the loaded policy
}

// runStores performs the -stores run and returns the section's markdown.
func runStores(ctx context.Context, cfg config) (string, error) {
	sizes := storesSizes(cfg.Quick)
	e, minioBin, _, err := newRunEnv(ctx, cfg, "lakegate-bench-stores-")
	if err != nil {
		return "", err
	}
	defer e.close()
	// MinIO and a first lakegate (SQLite) as the usual harness starts them.
	if err := e.start(ctx, minioBin, e.lakegateBin); err != nil {
		return "", err
	}
	if _, err := e.direct.aws.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("stores/x"), Body: strings.NewReader("x")}); err != nil {
		return "", err
	}

	var results []storeResult
	for _, driver := range []string{"sqlite", "postgres", "mysql"} {
		e.logf("policy store %s", driver)
		r, err := e.measureStore(ctx, driver, sizes)
		if err != nil {
			return "", fmt.Errorf("%s: %w", driver, err)
		}
		results = append(results, r)
	}
	return renderStores(cfg, sizes, results), nil
}

// storeServer is one `lakegate serve` of the -stores run.
type storeServer struct {
	proc    *proc
	restURL string
	token   string
	proxy   *endpoint
}

// measureStore starts the driver's database (a shared file for SQLite)
// and two servers on it, and measures.
func (e *env) measureStore(ctx context.Context, driver string, sizes storesConfig) (storeResult, error) {
	r := storeResult{Driver: driver}
	dir := filepath.Join(e.dir, driver)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	var dsn string
	switch driver {
	case "sqlite":
		dsn = filepath.Join(dir, "shared.db")
		r.Version = "modernc.org/sqlite, one file shared by both servers"
	case "postgres":
		db, err := pgtest.New(pgtest.Options{Dir: dir})
		if err != nil {
			return r, err
		}
		defer func() { _ = db.Close() }()
		dsn = db.DSN
		out, _ := db.Exec("postgres", "SHOW server_version")
		r.Version = "PostgreSQL " + strings.TrimSpace(out) + ", loopback"
	case "mysql":
		db, err := mysqltest.New(mysqltest.Options{Dir: dir})
		if err != nil {
			return r, err
		}
		defer func() { _ = db.Close() }()
		dsn = db.DSN
		out, _ := db.Exec("mysql", "SELECT VERSION()")
		r.Version = "MariaDB " + strings.TrimSpace(out) + ", loopback"
	}
	var servers []*storeServer
	for _, name := range []string{"a", "b"} {
		s, err := e.startStoreServer(ctx, dir, name, driver, dsn)
		if err != nil {
			return r, err
		}
		defer s.proc.stop()
		servers = append(servers, s)
	}
	a, b := servers[0], servers[1]

	// A user whose group holds an empty role; B's proxy is asked for one
	// object, which the GRANT allows and the REVOKE refuses.
	var created struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	if err := a.rest(ctx, "/api/users", map[string]any{"name": "storeuser", "groups": []string{"storegroup"}}, &created); err != nil {
		return r, err
	}
	if err := a.sql(ctx, "CREATE ROLE storerole; GRANT ROLE storerole TO GROUP storegroup;"); err != nil {
		return r, err
	}
	user, err := newEndpoint("B's proxy", b.proxy.url, created.AccessKeyID, created.SecretAccessKey)
	if err != nil {
		return r, err
	}
	get := func(ctx context.Context) int {
		_, err := user.aws.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("stores/x")})
		var re interface{ HTTPStatusCode() int }
		switch {
		case err == nil:
			return http.StatusOK
		case errors.As(err, &re):
			return re.HTTPStatusCode()
		}
		return 0
	}
	grant := fmt.Sprintf("GRANT SELECT ON URI 's3://%s/stores' TO ROLE storerole;", bucket)
	revoke := fmt.Sprintf("REVOKE SELECT ON URI 's3://%s/stores' FROM ROLE storerole;", bucket)
	for i := range 2 * sizes.Trials {
		stmt, want, into := grant, http.StatusOK, &r.Grant
		if i%2 == 1 {
			stmt, want, into = revoke, http.StatusForbidden, &r.Revoke
		}
		if err := a.sql(ctx, stmt); err != nil {
			return r, err
		}
		acked := time.Now()
		for {
			if get(ctx) == want {
				break
			}
			if time.Since(acked) > 10*time.Second {
				return r, fmt.Errorf("server B's proxy does not answer %d 10 s after %q", want, stmt)
			}
			time.Sleep(sizes.PollEvery)
		}
		*into = append(*into, time.Since(acked))
		// Let the change feed settle, so that trials do not overlap.
		time.Sleep(100 * time.Millisecond)
	}

	// A policy of Roles roles with PerRole grants each, loaded whole.
	var script strings.Builder
	for i := range sizes.Roles {
		fmt.Fprintf(&script, "CREATE ROLE bench_%d; GRANT ROLE bench_%d TO GROUP g%d;\n", i, i, i%50)
		for j := range sizes.PerRole {
			fmt.Fprintf(&script, "GRANT SELECT ON URI 's3://bench-%d/p%d' TO ROLE bench_%d;\n", i, j, i)
		}
	}
	if err := a.sql(ctx, script.String()); err != nil {
		return r, err
	}
	st, err := store.Open(ctx, driver, dsn)
	if err != nil {
		return r, err
	}
	defer func() { _ = st.Close() }()
	for range sizes.Reloads {
		t0 := time.Now()
		p, err := st.LoadPolicy(ctx)
		if err != nil {
			return r, err
		}
		r.Load = append(r.Load, time.Since(t0))
		r.Grants = 0
		for _, role := range p.Roles {
			r.Grants += len(role.Grants)
		}
		t0 = time.Now()
		if _, err := st.PolicyVersion(ctx); err != nil {
			return r, err
		}
		r.VersionPoll = append(r.VersionPoll, time.Since(t0))
		t0 = time.Now()
		if _, err := st.GetAccessKey(ctx, created.AccessKeyID); err != nil {
			return r, err
		}
		r.KeyLookup = append(r.KeyLookup, time.Since(t0))
	}
	return r, nil
}

// startStoreServer starts a `lakegate serve` on the run's MinIO with the
// given store and waits until its proxy passes a signed request.
func (e *env) startStoreServer(ctx context.Context, dir, name, driver, dsn string) (*storeServer, error) {
	proxyAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	restAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	adminAK, adminSK := "LGSTORE"+strings.ToUpper(randomHex(6)), randomHex(20)
	s := &storeServer{restURL: "http://" + restAddr, token: "lgt_" + randomHex(20)}
	cfgPath := filepath.Join(dir, name+".yaml")
	yaml := fmt.Sprintf(`# written by go run ./bench -stores
data_dir: %q
proxy:
  addr: %q
rest:
  addr: %q
store:
  driver: %q
  dsn: %q
upstream:
  endpoint: %q
  region: us-east-1
  path_style: true
  access_key_id: %q
  secret_access_key: %q
admin:
  access_key_id: %q
  secret_access_key: %q
  token: %q
`, filepath.Join(dir, name+"-data"), proxyAddr, restAddr, driver, dsn, e.minioURL,
		e.direct.ak, e.direct.sk, adminAK, adminSK, s.token)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	if s.proc, err = startProc("lakegate "+driver+" "+name, filepath.Join(dir, name+".log"), os.Environ(), e.lakegateBin,
		"serve", "--config", cfgPath); err != nil {
		return nil, err
	}
	if s.proxy, err = newEndpoint("proxy "+name, "http://"+proxyAddr, adminAK, adminSK); err != nil {
		s.proc.stop()
		return nil, err
	}
	if err := waitFor(ctx, s.proc, 60*time.Second, func(ctx context.Context) error {
		_, err := s.proxy.aws.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
		return err
	}); err != nil {
		s.proc.stop()
		return nil, err
	}
	return s, nil
}

// rest POSTs to the server's REST API as its admin.
func (s *storeServer) rest(ctx context.Context, path string, body, out any) error {
	return (&env{restURL: s.restURL, adminToken: s.token}).rest(ctx, path, body, out)
}

func (s *storeServer) sql(ctx context.Context, script string) error {
	return s.rest(ctx, "/api/sql", map[string]string{"sql": script}, nil)
}

// renderStores writes the section.
func renderStores(cfg config, sizes storesConfig, rs []storeResult) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Policy stores: several servers, one database\n\n")
	p("- Command: `%s`\n", cfg.Command)
	p("- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	m := describeMachine()
	p("- Machine: %d CPUs (nproc), %s, %.1f GiB RAM, Linux %s; %s\n", m.NProc, m.CPU, float64(m.MemBytes)/gib, m.Kernel, m.GoVersion)
	p("- Load average (1/5/15 min) at the end: %s — the servers, the databases, MinIO and the client share the machine\n", loadAvg())
	if cfg.Quick {
		p("- **Quick run**: few trials, a small policy; the figures are not representative.\n")
	}
	p("\nTwo `lakegate serve`, A and B, share one database. A GRANT (then a REVOKE) is made through A's REST API; ")
	p("B's proxy is asked for the object every %v until it answers 200 (then 403). ", sizes.PollEvery)
	p("The time runs from A's acknowledgement to B's first enforcing answer; %d changes of each kind per driver. ", sizes.Trials)
	p("B learns of the change by a PostgreSQL notification (LISTEN/NOTIFY), or by polling the policy version every 250 ms (SQLite, MySQL/MariaDB). ")
	p("The issue's bound is 1 s.\n\n")
	p("| Driver | Database | GRANT → enforced on B, median | p95 | max | REVOKE → refused on B, median | p95 | max | Within 1 s |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|:---:|\n")
	for _, r := range rs {
		all := append(slices.Clone(r.Grant), r.Revoke...)
		met := "yes"
		if slices.Max(all) > time.Second {
			met = "**no**"
		}
		g, v := latencies(r.Grant), latencies(r.Revoke)
		p("| %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms | %s |\n", r.Driver, r.Version,
			ms1(g[0]), ms1(g[1]), ms1(g[2]), ms1(v[0]), ms1(v[1]), ms1(v[2]), met)
	}
	p("\n**Decision cost on each driver: the store's work on the decision path.** ")
	p("The decision itself is answered from the compiled policy in memory, the same on every driver ")
	p("(see \"Policy decisions\" below); what a driver adds is the store work an uncached request's decision waits on: ")
	p("`GetAccessKey`, the lookup of an access key no cache holds (a key's first request, or any after the 5 s key cache); ")
	p("`PolicyVersion`, the version poll's query; and after a change, one `LoadPolicy` ")
	p("(every role, grant and user, in one read transaction) before the new policy decides. ")
	p("Timed in process over loopback, %d times each.\n\n", sizes.Reloads)
	p("| Driver | Policy | LoadPolicy median | p95 | PolicyVersion median | p95 | GetAccessKey median | p95 |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		l, v, k := latencies(r.Load), latencies(r.VersionPoll), latencies(r.KeyLookup)
		p("| %s | %d roles, %d grants | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms |\n", r.Driver, sizes.Roles+1, r.Grants,
			ms2(l[0]), ms2(l[1]), ms2(v[0]), ms2(v[1]), ms2(k[0]), ms2(k[1]))
	}
	return b.String()
}

func ms2(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// latencies returns the median, p95 and maximum of d.
func latencies(d []time.Duration) [3]time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return [3]time.Duration{percentile(s, 50), percentile(s, 95), s[len(s)-1]}
}

// writeStoresSection puts section between storesBegin and storesEnd in
// path, above the report's marker, replacing an earlier one; the rest of
// the file is kept as it is.
func writeStoresSection(path, section string) error {
	return writeSection(path, storesBegin, storesEnd, section)
}
