package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// propagationBound is issue 5's promise: a grant change reaches every
// nScale proxy within a second.
const propagationBound = time.Second

// nscaleProxy is a running `lakegate proxy`.
type nscaleProxy struct {
	Name        string
	URL         string // http://127.0.0.1:port
	MetricsURL  string
	proc        *process
	started     time.Time
	firstServed time.Duration
}

// writeSystemKey writes a fresh P-256 key (ES256 system tokens) as PKCS#8 PEM.
func writeSystemKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startNScaleProxy starts `lakegate proxy` against st's server. It holds
// no upstream credentials: the server hands them out.
func startNScaleProxy(t *testing.T, st *stack, name, systemKey string, maxStaleness time.Duration) *nscaleProxy {
	t.Helper()
	dir := t.TempDir()
	p := &nscaleProxy{Name: name}
	addr, metrics := freeAddr(t), freeAddr(t)
	p.URL, p.MetricsURL = "http://"+addr, "http://"+metrics
	cfg, err := yaml.Marshal(map[string]any{
		"data_dir": filepath.Join(dir, "data"),
		"proxy": map[string]any{
			"addr": addr, "metrics_addr": metrics, "server": st.LG.RESTURL,
			"max_staleness": maxStaleness.String(), "allow_sigv2": true,
		},
		"upstream": map[string]any{"endpoint": st.Rec.URL, "region": region, "path_style": true},
		"system":   map[string]any{"private_key": systemKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "proxy.yaml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	p.started = time.Now()
	p.proc = startProcess(t, lakegateBin, baseEnv(dir), "proxy", "--config", cfgFile)
	t.Cleanup(func() {
		if !p.proc.stop(15 * time.Second) {
			t.Errorf("%s did not exit within 15s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, tail(p.proc.out.String(), 8000))
		}
		registerLogFiles(filepath.Join(dir, "data", "audit"))
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return p
		}
		if p.proc.exited() || time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s: %v\nstderr:\n%s", name, addr, err, p.proc.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// user returns u's requests aimed at the proxy.
func (p *nscaleProxy) user(lg *lakegateServer, name, key, secret string) *s3User {
	via := *lg
	via.ProxyURL = p.URL
	return newS3User(&via, name+" via "+p.Name, key, secret)
}

// killServer kills the policy server with SIGKILL.
func killServer(t *testing.T, lg *lakegateServer) {
	t.Helper()
	_ = lg.proc.cmd.Process.Kill()
	<-lg.proc.done
}

// restartServer starts the policy server again on the same addresses,
// store and configuration.
func restartServer(t *testing.T, lg *lakegateServer) {
	t.Helper()
	old := lg.proc
	lg.proc = startProcess(t, lakegateBin, old.cmd.Env, old.cmd.Args[1:]...)
	t.Cleanup(func() { lg.proc.stop(15 * time.Second) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", lg.RESTAddr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if lg.proc.exited() || time.Now().After(deadline) {
			t.Fatalf("restarted server not listening: %v\n%s", err, lg.proc.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNScaleProxies is issue 5 end to end: one policy server and three
// `lakegate proxy` processes on loopback, each holding no database and no
// cloud credentials. A GRANT and a REVOKE reach every proxy within a
// second (measured per proxy and logged). With the server killed, the
// allow decisions the proxies cached keep working until max_staleness and
// everything else is refused with 503 ServiceUnavailable; once the server
// is back, the proxies serve normally again without a restart.
func TestNScaleProxies(t *testing.T) {
	systemKey := writeSystemKey(t)
	st := newPolicyStack(t, lakegateOptions{SystemKey: systemKey})
	lg := st.LG
	w := watchSecrets(t, lg)
	bucket := bucketName("nscale")
	st.MinIO.makeBucket(t, bucket, false)
	st.MinIO.put(t, bucket, "allowed/x", "x\n")
	st.MinIO.put(t, bucket, "allowed/deeper/z", "z\n")
	st.MinIO.put(t, bucket, "other/y", "y\n")
	lg.sql(t, "CREATE ROLE nscale_role", "GRANT ROLE nscale_role TO GROUP analysts")
	key, secret := lg.createUser(t, "nina", "analysts")
	okey, osecret := lg.createUser(t, "otto", "analysts")
	w.add(secret, osecret)

	const staleness = 6 * time.Second
	var proxies []*nscaleProxy
	for i := range 3 {
		proxies = append(proxies, startNScaleProxy(t, st, fmt.Sprintf("proxy%d", i+1), systemKey, staleness))
	}
	getX := rawReq{Method: http.MethodGet, Path: "/" + bucket + "/allowed/x"}
	getZ := rawReq{Method: http.MethodGet, Path: "/" + bucket + "/allowed/deeper/z"}
	getY := rawReq{Method: http.MethodGet, Path: "/" + bucket + "/other/y"}
	status := func(u *s3User, r rawReq) (int, string) {
		resp := u.do(t, r)
		e, _ := parseS3Error(resp.Body)
		return resp.Status, e.Code
	}
	for _, p := range proxies {
		u := p.user(lg, "nina", key, secret)
		if code, s3code := status(u, getX); code != http.StatusForbidden || s3code != "AccessDenied" {
			t.Fatalf("%s before any grant: %d %s, want 403 AccessDenied", u.Name, code, s3code)
		}
		p.firstServed = time.Since(p.started)
	}

	// measure runs change, then asks every proxy in turn until each
	// answers want, and returns how long each took.
	measure := func(what string, change func(), r rawReq, want int) {
		t.Helper()
		change()
		changed := time.Now()
		for _, p := range proxies {
			u := p.user(lg, "nina", key, secret)
			// Measured from the change, not from this proxy's first try.
			_, ok := poll(10*time.Second, 5*time.Millisecond, func() bool {
				code, _ := status(u, r)
				return code == want
			})
			took := time.Since(changed)
			if !ok {
				t.Fatalf("%s: %s still not answering %d after %v", what, p.Name, want, took)
			}
			t.Logf("%s reached %s in %v", what, p.Name, took.Round(time.Millisecond))
			if took > propagationBound {
				t.Errorf("%s took %v to reach %s (bound %v)", what, took, p.Name, propagationBound)
			}
		}
	}
	grant := fmt.Sprintf("GRANT SELECT ON URI 's3://%s/allowed' TO ROLE nscale_role", bucket)
	revoke := fmt.Sprintf("REVOKE SELECT ON URI 's3://%s/allowed' FROM ROLE nscale_role", bucket)
	measure("GRANT", func() { lg.sql(t, grant) }, getX, http.StatusOK)
	// Warm every proxy's permission cache, then revoke: the cached allows
	// must go at once, not after user_permission_ttl (1 h).
	for range 3 {
		for _, p := range proxies {
			if code, _ := status(p.user(lg, "nina", key, secret), getX); code != http.StatusOK {
				t.Fatalf("%s: warm read %d", p.Name, code)
			}
		}
	}
	measure("REVOKE", func() { lg.sql(t, revoke) }, getX, http.StatusForbidden)
	measure("GRANT again", func() { lg.sql(t, grant) }, getX, http.StatusOK)
	// The proxies may have answered the reads above before the grant's
	// change-feed event reached them, and that event empties their caches:
	// let it arrive (the server checks for changes every 50 ms), then warm
	// the caches the outage below relies on.
	time.Sleep(500 * time.Millisecond)
	for _, p := range proxies {
		if code, _ := status(p.user(lg, "nina", key, secret), getX); code != http.StatusOK {
			t.Fatalf("%s: %d before the outage", p.Name, code)
		}
	}

	// The server goes away.
	killServer(t, lg)
	killed := time.Now()
	for _, p := range proxies {
		nina := p.user(lg, "nina", key, secret)
		// Cached: nina's key, and her SELECT on s3://bucket/allowed, which
		// covers a key she has not read yet.
		for _, r := range []rawReq{getX, getZ} {
			if code, s3code := status(nina, r); code != http.StatusOK {
				t.Errorf("%s, server down %v: cached path %s answered %d %s", p.Name, time.Since(killed), r.Path, code, s3code)
			}
		}
		// Not cached: a path she was never allowed (denials are never
		// cached), and a user whose key this proxy never saw.
		if code, s3code := status(nina, getY); code != http.StatusServiceUnavailable || s3code != "ServiceUnavailable" {
			t.Errorf("%s, server down: uncached decision answered %d %s, want 503 ServiceUnavailable", p.Name, code, s3code)
		}
		if code, s3code := status(p.user(lg, "otto", okey, osecret), getX); code != http.StatusServiceUnavailable || s3code != "ServiceUnavailable" {
			t.Errorf("%s, server down: unknown key answered %d %s, want 503 ServiceUnavailable", p.Name, code, s3code)
		}
	}
	if elapsed := time.Since(killed); elapsed > staleness/2 {
		t.Fatalf("the outage checks took %v, too close to max_staleness %v to mean anything", elapsed, staleness)
	}
	// Past max_staleness, even cached allows are refused.
	time.Sleep(time.Until(killed.Add(staleness + time.Second)))
	for _, p := range proxies {
		if code, s3code := status(p.user(lg, "nina", key, secret), getX); code != http.StatusServiceUnavailable {
			t.Errorf("%s, server down %v (> max_staleness %v): cached path answered %d %s, want 503",
				p.Name, time.Since(killed).Round(time.Millisecond), staleness, code, s3code)
		}
	}

	// The server comes back; no proxy restarts.
	w.log(lg.Stderr())
	restartServer(t, lg)
	back := time.Now()
	for _, p := range proxies {
		u := p.user(lg, "otto", okey, osecret)
		took, ok := poll(15*time.Second, 20*time.Millisecond, func() bool {
			code, _ := status(u, getX)
			return code == http.StatusOK
		})
		if !ok {
			t.Fatalf("%s did not recover after the server restarted (%v)", p.Name, took)
		}
		t.Logf("%s serving again %v after the server restarted", p.Name, time.Since(back).Round(time.Millisecond))
	}
	measure("REVOKE after the restart", func() { lg.sql(t, revoke) }, getX, http.StatusForbidden)

	for _, p := range proxies {
		t.Logf("%s: first answer %v after its start", p.Name, p.firstServed.Round(time.Millisecond))
		m := fetchMetrics(t, p.MetricsURL)
		for _, want := range []string{`lakegate_cache_hits_total{cache="user_permission"}`, `lakegate_cache_misses_total{cache="user_permission"}`,
			`lakegate_cache_evictions_total{cache="request_verification"}`} {
			if !strings.Contains(m, want) {
				t.Errorf("%s /metrics lacks %s", p.Name, want)
			}
		}
		w.log(p.proc.out.String())
	}
}

func fetchMetrics(t *testing.T, base string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", base, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
