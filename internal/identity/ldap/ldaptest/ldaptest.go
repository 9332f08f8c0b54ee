// Package ldaptest starts, for tests, a real OpenLDAP slapd of their own:
// on 127.0.0.1 at ports picked at run time, in a temporary directory, with
// an mdb database under Suffix, loaded with LDIF through go-ldap as RootDN,
// and stopped when the test ends. It needs no root and never touches a
// system slapd. Tests are skipped when slapd is not installed (Debian:
// apt-get install slapd).
//
// Example gives lakegate's example directory: alice, bob and carol under
// ou=people, a service account, and the groups Analysts (groupOfNames)
// and ENGINEERS (posixGroup).
package ldaptest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// The database every Server holds.
const (
	Suffix       = "dc=example,dc=com"
	RootDN       = "cn=admin," + Suffix
	RootPassword = "root-secret"
)

// startTimeout bounds how long slapd may take to answer a bind.
const startTimeout = 20 * time.Second

// Options say how to start a Server.
type Options struct {
	// LDIF is added as RootDN once slapd answers (see AddLDIF), after
	// the suffix's own entry (dc=example,dc=com).
	LDIF string
	// TLS makes slapd serve ldaps:// (Server.LDAPSURL) and StartTLS on
	// ldap://, with a certificate for 127.0.0.1 and localhost signed by a
	// fresh CA (Server.CAFile).
	TLS bool
}

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:port.
	URL string
	// LDAPSURL is ldaps://127.0.0.1:port with Options.TLS, "" otherwise.
	LDAPSURL string
	// CAFile is the PEM CA that signed the server's certificate with
	// Options.TLS, "" otherwise.
	CAFile string
	// Dir holds slapd.conf, the database and slapd.log.
	Dir string

	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has been waited for
	waitErr  error
	log      *syncBuffer
	stopOnce sync.Once
}

// Path returns slapd's path: /usr/sbin/slapd, else slapd on $PATH.
func Path() (string, bool) {
	if fi, err := os.Stat("/usr/sbin/slapd"); err == nil && !fi.IsDir() {
		return "/usr/sbin/slapd", true
	}
	p, err := exec.LookPath("slapd")
	return p, err == nil
}

// Start starts slapd for t, loads o.LDIF and stops slapd when t ends. It
// skips t if slapd is not installed and fails it on any other problem.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	slapd, ok := Path()
	if !ok {
		t.Skip("slapd is not installed (not at /usr/sbin/slapd nor on $PATH); on Debian: apt-get install slapd")
	}
	var (
		s   *Server
		err error
	)
	// A port picked free may be taken before slapd binds it: try again.
	for attempt := 0; attempt < 5; attempt++ {
		s, err = start(t, slapd, o)
		if err == nil {
			break
		}
		t.Logf("ldaptest: starting slapd (attempt %d): %v", attempt+1, err)
	}
	if err != nil {
		t.Fatalf("ldaptest: slapd does not start: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ldaptest: slapd's log (%s):\n%s", s.Dir, s.log.String())
		}
	})
	suffix := "dn: " + Suffix + "\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n"
	if err := s.AddLDIF(suffix + "\n" + o.LDIF); err != nil {
		t.Fatalf("ldaptest: loading LDIF: %v", err)
	}
	return s
}

func start(t testing.TB, slapd string, o Options) (*Server, error) {
	dir, err := os.MkdirTemp(t.TempDir(), "slapd")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, exited: make(chan struct{}), log: &syncBuffer{}}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s.URL = "ldap://127.0.0.1:" + strconv.Itoa(ports[0])
	urls := s.URL + "/"
	var tlsConf string
	if o.TLS {
		s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(ports[1])
		urls += " " + s.LDAPSURL + "/"
		if tlsConf, s.CAFile, err = writeCerts(dir); err != nil {
			return nil, err
		}
	}
	conf, err := config(dir, tlsConf)
	if err != nil {
		return nil, err
	}
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}

	// -d 0 keeps slapd in the foreground, so that it is our child and
	// dies with the test, without debug output.
	s.cmd = exec.Command(slapd, "-f", confFile, "-h", urls, "-d", "0")
	s.cmd.Dir = dir
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, s.log.String())
	}
	return s, nil
}

// waitReady waits until RootDN can bind, or slapd exits, or startTimeout.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := s.dial(time.Second)
		if err == nil {
			err = c.Bind(RootDN, RootPassword)
			_ = c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("slapd exited: %v", s.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd does not answer within %s: %w", startTimeout, err)
		}
	}
}

func (s *Server) dial(timeout time.Duration) (*goldap.Conn, error) {
	c, err := goldap.DialURL(s.URL, goldap.DialWithDialer(&net.Dialer{Timeout: timeout}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(10 * time.Second)
	return c, nil
}

// Conn returns a connection bound as RootDN, closed when t ends.
func (s *Server) Conn(t testing.TB) *goldap.Conn {
	t.Helper()
	c, err := s.rootConn()
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *Server) rootConn() (*goldap.Conn, error) {
	c, err := s.dial(5 * time.Second)
	if err != nil {
		return nil, err
	}
	if err := c.Bind(RootDN, RootPassword); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// AddLDIF adds the entries of ldif (see ParseLDIF) as RootDN, in order.
func (s *Server) AddLDIF(ldif string) error {
	entries, err := ParseLDIF(ldif)
	if err != nil {
		return err
	}
	c, err := s.rootConn()
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	for _, e := range entries {
		req := goldap.NewAddRequest(e.DN, nil)
		for _, a := range e.Attributes {
			req.Attribute(a.Name, a.Values)
		}
		if err := c.Add(req); err != nil {
			return fmt.Errorf("adding %s: %w", e.DN, err)
		}
	}
	return nil
}

// Stop stops slapd (SIGTERM, then SIGKILL after 10s) and waits for it to
// exit. It may be called more than once; Start's cleanup calls it too.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Log returns what slapd has written so far.
func (s *Server) Log() string { return s.log.String() }

// freePorts returns n distinct TCP ports of 127.0.0.1 that were free a
// moment ago.
func freePorts(n int) ([]int, error) {
	var lc net.ListenConfig
	ports := make([]int, 0, n)
	for range n {
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer func() { _ = l.Close() }()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// config returns slapd.conf for a server in dir; tlsConf holds the TLS
// directives or is empty.
func config(dir, tlsConf string) (string, error) {
	schemaDir, err := firstDir("core.schema", "/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema")
	if err != nil {
		return "", err
	}
	// Debian builds back_mdb as a module; other builds may link it in.
	var modules string
	if modDir, err := firstDir("back_mdb.so", "/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap",
		"/usr/libexec/openldap", "/usr/local/libexec/openldap"); err == nil {
		modules = fmt.Sprintf("modulepath %s\nmoduleload back_mdb\n", modDir)
	}
	var b strings.Builder
	for _, schema := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s\n", filepath.Join(schemaDir, schema+".schema"))
	}
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", filepath.Join(dir, "slapd.pid"), filepath.Join(dir, "slapd.args"))
	b.WriteString(modules)
	b.WriteString(tlsConf)
	fmt.Fprintf(&b, `database mdb
maxsize 16777216
dbnosync
suffix %q
rootdn %q
rootpw %s
directory %s
# Passwords serve binds only; anonymous users see nothing else, so the
# code under test must bind (as its service account) to search.
access to attrs=userPassword
	by self write
	by anonymous auth
	by * none
access to *
	by users read
	by * none
`, Suffix, RootDN, RootPassword, filepath.Join(dir, "db"))
	return b.String(), nil
}

// firstDir returns the first of dirs that holds file.
func firstDir(file string, dirs ...string) (string, error) {
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, file)); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no %s in %s", file, strings.Join(dirs, ", "))
}

// syncBuffer is a bytes.Buffer safe for slapd's output and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
