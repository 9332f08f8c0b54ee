// Package kdctest runs a real MIT Kerberos KDC for tests: a throw-away
// realm in a temporary directory, served by krb5kdc on 127.0.0.1 at a port
// picked at run time, with helpers to add users and service keytabs and to
// kinit as a client.
//
// Nothing here reads /etc/krb5.conf or /etc/krb5kdc: every MIT tool runs
// with KRB5_CONFIG and KRB5_KDC_PROFILE pointing at files written in the
// test's directory, and inherited KRB5* variables are dropped.
//
// The tools come from the Debian packages krb5-kdc (krb5kdc, kdb5_util),
// krb5-admin-server (kadmin.local) and krb5-user (kinit); Start skips the
// test when one is missing.
package kdctest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Realm is the realm every KDC started here serves.
const Realm = "LAKEGATE.TEST"

// masterPassword protects the throw-away database.
const masterPassword = "lakegate-kdctest-master"

// KDC is a running krb5kdc. Its methods may be called from several
// goroutines.
type KDC struct {
	// Realm is the realm served (LAKEGATE.TEST).
	Realm string
	// Addr is the KDC's host:port on 127.0.0.1, for both UDP and TCP.
	Addr string
	// Krb5Conf is the client configuration naming this KDC; point
	// KRB5_CONFIG at it.
	Krb5Conf string
	// Dir is the temporary directory holding the database, configuration,
	// logs, keytabs and credential caches.
	Dir string

	kdcConf string
	tools   map[string]string

	mu       sync.Mutex
	seq      int
	services map[string]bool
}

// kdcTools are the programs Start needs.
var kdcTools = []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"}

// LookPath finds a program on PATH or in the sbin directories that a
// non-root PATH often lacks (krb5kdc, kdb5_util and kadmin.local live in
// /usr/sbin).
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in the sbin directories", name)
}

// RequireTools returns the paths of the named programs, skipping the test
// when any is missing.
func RequireTools(tb testing.TB, names ...string) map[string]string {
	tb.Helper()
	paths := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		p, err := LookPath(n)
		if err != nil {
			missing = append(missing, n)
			continue
		}
		paths[n] = p
	}
	if len(missing) > 0 {
		tb.Skipf("MIT Kerberos test skipped: %s not installed (Debian: apt-get install krb5-kdc krb5-admin-server krb5-user curl)",
			strings.Join(missing, ", "))
	}
	return paths
}

// Start creates a realm database in a temporary directory and runs krb5kdc
// in the foreground on 127.0.0.1 until the test ends. It skips the test
// when the MIT tools are not installed and fails it when they do not work.
func Start(tb testing.TB) *KDC {
	tb.Helper()
	k := &KDC{
		Realm:    Realm,
		Dir:      tb.TempDir(),
		tools:    RequireTools(tb, kdcTools...),
		services: map[string]bool{},
	}
	k.Krb5Conf = filepath.Join(k.Dir, "krb5.conf")
	k.kdcConf = filepath.Join(k.Dir, "kdc.conf")

	// The database does not depend on the port: create it once, then try
	// ports until krb5kdc binds one (another process may take a port
	// between our probe and krb5kdc's bind).
	k.writeConfig(tb, 0)
	k.run(tb, nil, "kdb5_util", "create", "-s", "-r", k.Realm, "-P", masterPassword,
		"-d", filepath.Join(k.Dir, "principal"))

	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("kdctest: picking a port: %v", err)
		}
		k.writeConfig(tb, port)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = k.startKDC(tb, addr); lastErr == nil {
			k.Addr = addr
			return k
		}
		tb.Logf("kdctest: krb5kdc on %s: %v; retrying on another port", addr, lastErr)
	}
	tb.Fatalf("kdctest: krb5kdc did not start: %v\n%s", lastErr, k.logs())
	return nil
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = u.Close()
		return port, nil
	}
	return 0, errors.New("no port free for both TCP and UDP")
}

func (k *KDC) writeConfig(tb testing.TB, port int) {
	tb.Helper()
	kdc := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = 127.0.0.1:%[3]d
	kdc_tcp_listen = 127.0.0.1:%[3]d

[realms]
	%[1]s = {
		database_name = %[2]s/principal
		key_stash_file = %[2]s/stash
		acl_file = %[2]s/kadm5.acl
		max_life = 1h
		max_renewable_life = 1d
	}

[logging]
	kdc = FILE:%[2]s/kdc.log
	admin_server = FILE:%[2]s/kadmin.log
	default = FILE:%[2]s/krb5.log
`, k.Realm, k.Dir, port)
	// rdns and dns_canonicalize_hostname off: a client asks for
	// HTTP/<the host name in the URL>, exactly (HTTP/localhost).
	client := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_realm = false
	dns_lookup_kdc = false
	dns_canonicalize_hostname = false
	rdns = false
	ticket_lifetime = 1h
	default_ccache_name = FILE:%[2]s/ccache-default
	default_keytab_name = FILE:%[2]s/default.keytab
	default_client_keytab_name = FILE:%[2]s/client.keytab

[realms]
	%[1]s = {
		kdc = 127.0.0.1:%[3]d
	}

[domain_realm]
	localhost = %[1]s
`, k.Realm, k.Dir, port)
	for path, content := range map[string]string{
		k.kdcConf:                         kdc,
		k.Krb5Conf:                        client,
		filepath.Join(k.Dir, "kadm5.acl"): "",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			tb.Fatalf("kdctest: %v", err)
		}
	}
}

// env is the environment of every MIT tool: ours, minus inherited KRB5*
// settings, plus the given variables.
func (k *KDC) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") {
			env = append(env, kv)
		}
	}
	env = append(env, "KRB5_CONFIG="+k.Krb5Conf, "KRB5_KDC_PROFILE="+k.kdcConf)
	return append(env, extra...)
}

// run runs one of the tools and fails the test if it fails.
func (k *KDC) run(tb testing.TB, stdin []byte, tool string, args ...string) string {
	tb.Helper()
	out, err := k.output(stdin, nil, tool, args...)
	if err != nil {
		tb.Fatalf("kdctest: %s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return out
}

func (k *KDC) output(stdin []byte, extraEnv []string, tool string, args ...string) (string, error) {
	cmd := exec.Command(k.tools[tool], args...)
	cmd.Dir = k.Dir
	cmd.Env = k.env(extraEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startKDC runs krb5kdc -n and waits until it accepts TCP connections.
func (k *KDC) startKDC(tb testing.TB, addr string) error {
	logf, err := os.Create(filepath.Join(k.Dir, "krb5kdc.out"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(k.tools["krb5kdc"], "-n", "-r", k.Realm)
	cmd.Dir = k.Dir
	cmd.Env = k.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("krb5kdc exited: %v", err)
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("krb5kdc did not listen within 15s")
		case <-time.After(20 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			tb.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			return nil
		}
	}
}

// logs returns the KDC's log files, for failure messages.
func (k *KDC) logs() string {
	var b strings.Builder
	for _, name := range []string{"krb5kdc.out", "kdc.log"} {
		if out, err := os.ReadFile(filepath.Join(k.Dir, name)); err == nil && len(out) > 0 {
			fmt.Fprintf(&b, "--- %s\n%s", name, out)
		}
	}
	return b.String()
}

// kadmin runs one kadmin.local query and checks that its output has
// want: kadmin.local exits 0 even when the query fails ("add_principal:
// Principal or policy already exists while creating ...").
func (k *KDC) kadmin(tb testing.TB, query, want string) {
	tb.Helper()
	out := k.run(tb, nil, "kadmin.local", "-r", k.Realm, "-q", query)
	if !strings.Contains(out, want) {
		tb.Fatalf("kdctest: kadmin.local -q %q: no %q in its output:\n%s", redact(query), want, out)
	}
}

// redact hides an addprinc password in failure messages.
func redact(query string) string {
	if f := strings.Fields(query); len(f) > 2 && f[1] == "-pw" {
		f[2] = "…"
		return strings.Join(f, " ")
	}
	return query
}

// checkWord fails the test if s would not survive kadmin.local's -q
// parsing as one word.
func checkWord(tb testing.TB, what, s string) {
	tb.Helper()
	if s == "" || strings.ContainsAny(s, " \t\r\n\"'\\") {
		tb.Fatalf("kdctest: %s %q must be non-empty without spaces, quotes or backslashes", what, s)
	}
}

// checkName is checkWord for principal names, which are given without a
// realm (they are in Realm).
func checkName(tb testing.TB, what, s string) {
	tb.Helper()
	checkWord(tb, what, s)
	if strings.Contains(s, "@") {
		tb.Fatalf("kdctest: %s %q: give the name without a realm", what, s)
	}
}

// AddUser adds a user principal (such as "alice", in Realm) with a
// password.
func (k *KDC) AddUser(tb testing.TB, user, password string) {
	tb.Helper()
	checkName(tb, "user", user)
	checkWord(tb, "password", password)
	k.kadmin(tb, fmt.Sprintf("addprinc -pw %s %s", password, user),
		fmt.Sprintf("Principal %q created.", user+"@"+k.Realm))
}

// ServiceKeytab adds the service principals (such as "HTTP/localhost") with
// random keys, if not added before, and writes their keys to a new keytab
// file, whose path it returns. Keys are exported without being changed, so
// earlier keytabs stay valid.
func (k *KDC) ServiceKeytab(tb testing.TB, principals ...string) string {
	tb.Helper()
	if len(principals) == 0 {
		tb.Fatal("kdctest: ServiceKeytab needs a principal")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range principals {
		checkName(tb, "principal", p)
		if !k.services[p] {
			k.kadmin(tb, "addprinc -randkey "+p, fmt.Sprintf("Principal %q created.", p+"@"+k.Realm))
			k.services[p] = true
		}
	}
	k.seq++
	path := filepath.Join(k.Dir, fmt.Sprintf("service-%d.keytab", k.seq))
	checkWord(tb, "keytab path", path)
	for _, p := range principals {
		k.kadmin(tb, fmt.Sprintf("ktadd -k %s -norandkey %s", path, p),
			fmt.Sprintf("Entry for principal %s ", p))
	}
	return path
}

// ClientEnv returns an environment for a Kerberos client (curl
// --negotiate, kvno, klist) using this realm and a new, empty credential
// cache: the client holds no tickets.
func (k *KDC) ClientEnv(tb testing.TB) []string {
	tb.Helper()
	k.mu.Lock()
	k.seq++
	ccache := filepath.Join(k.Dir, fmt.Sprintf("ccache-%d", k.seq))
	k.mu.Unlock()
	return k.env("KRB5CCNAME=FILE:" + ccache)
}

// Kinit obtains a ticket-granting ticket for user with password, giving
// the password on kinit's standard input, and returns the environment
// (ClientEnv's, whose cache now holds the ticket) for curl --negotiate.
func (k *KDC) Kinit(tb testing.TB, user, password string) []string {
	tb.Helper()
	env := k.ClientEnv(tb)
	cmd := exec.Command(k.tools["kinit"], user)
	cmd.Dir = k.Dir
	cmd.Env = env
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("kdctest: kinit %s: %v\n%s\n%s", user, err, out, k.logs())
	}
	return env
}
