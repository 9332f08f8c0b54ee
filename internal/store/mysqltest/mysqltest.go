// Package mysqltest starts, for tests, a real MariaDB server of their own:
// mariadb-install-db in a temporary directory, mariadbd listening on
// 127.0.0.1 only (name resolution off), on a port picked at run time, with
// its socket in a private temporary directory, random passwords, and a
// database and user for the store under test. The accounts are set up
// while the data directory is bootstrapped, before the server listens, so
// no account is ever open without a password. The server runs in its own
// process group and the kernel kills it when the test binary dies; as root
// it runs as an unprivileged account (mysql, else nobody).
//
// Start is for one test (stopped when it ends, skipped when MariaDB is not
// installed: CI installs it and fails on skips); New is the same for a
// harness without a testing.TB (close it). Stop and Start again on a
// Server simulate a database outage on the same port and data.
package mysqltest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store/internal/testproc"
)

// Names of the store's database and user in every Server.
const (
	Database = "lakegate"
	User     = "lakegate"
)

// Timeouts.
const (
	initTimeout  = 2 * time.Minute  // mariadb-install-db
	readyTimeout = 60 * time.Second // mariadbd accepting connections
	stopGrace    = 30 * time.Second // a normal shutdown
	queryTimeout = 30 * time.Second // one client command
)

// Options say where and how to run a Server.
type Options struct {
	// Dir is the directory that receives the data directory; "" makes a
	// temporary one that Close removes.
	Dir string
	// Args are extra mariadbd options, e.g. "--max-connections=50".
	Args []string
}

// Server is a MariaDB server.
type Server struct {
	// DSN is the store's DSN in go-sql-driver/mysql's form:
	// lakegate:…@tcp(127.0.0.1:port)/lakegate.
	DSN string
	// Port is the TCP port on 127.0.0.1; it stays the same across Stop and
	// Start.
	Port int
	// Dir holds the data directory (data) and, with Options.Dir empty, is
	// removed by Close.
	Dir string

	server, install, client string // mariadbd, mariadb-install-db, mariadb
	cred                    *syscall.Credential
	rootPass, userPass      string
	sockDir                 string // short: a socket path has at most 107 bytes
	args                    []string
	removeDir               bool
	log                     testproc.Log

	mu   sync.Mutex
	proc *testproc.Proc // nil while stopped
}

// Programs returns the paths of mariadbd, mariadb-install-db and the
// mariadb client (or their mysql-named equivalents).
func Programs() (server, install, client string, ok bool) {
	find := func(names ...string) string {
		for _, n := range names {
			for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
				p := filepath.Join(dir, n)
				if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
					return p
				}
			}
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
		}
		return ""
	}
	server = find("mariadbd", "mysqld")
	install = find("mariadb-install-db", "mysql_install_db")
	client = find("mariadb", "mysql")
	return server, install, client, server != "" && install != "" && client != ""
}

// ErrNotInstalled says MariaDB's programs were not found.
var ErrNotInstalled = errors.New("mysqltest: MariaDB is not installed (mariadbd, mariadb-install-db and mariadb not found); on Debian: apt-get install mariadb-server")

// Start starts a Server for t and stops it when t ends. It skips t when
// MariaDB is not installed and fails it on any other problem.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, _, _, ok := Programs(); !ok {
		t.Skip(ErrNotInstalled.Error())
	}
	s, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("mysqltest: %v", err)
		}
		if t.Failed() {
			t.Logf("mysqltest: mariadbd's log:\n%s", testproc.Tail(s.Log(), 8000))
		}
	})
	return s
}

// New initializes a data directory with the store's database and user,
// and starts mariadbd on it. On error nothing is left running.
func New(o Options) (_ *Server, err error) {
	s := &Server{Dir: o.Dir, args: o.Args, rootPass: testproc.Password(), userPass: testproc.Password()}
	var ok bool
	if s.server, s.install, s.client, ok = Programs(); !ok {
		return nil, ErrNotInstalled
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "mysqltest"); err != nil {
			return nil, fmt.Errorf("mysqltest: %w", err)
		}
		s.removeDir = true
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.sockDir, err = os.MkdirTemp("", "mysqltest-sock"); err != nil {
		return nil, fmt.Errorf("mysqltest: %w", err)
	}
	if s.cred, err = testproc.Account("mysql"); err != nil {
		return nil, fmt.Errorf("mysqltest: %w", err)
	}
	if err := s.installDB(); err != nil {
		return nil, err
	}
	// A port picked free may be taken before mariadbd binds it: try
	// others.
	for attempt := 0; ; attempt++ {
		if s.Port, err = testproc.FreePort(); err != nil {
			return nil, fmt.Errorf("mysqltest: %w", err)
		}
		if err = s.Start(); err == nil || attempt == 4 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	s.DSN = s.dsn(Database)
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }
func (s *Server) socket() string  { return filepath.Join(s.sockDir, "mysqld.sock") }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/%s", User, s.userPass, s.Port, db)
}

// installDB creates the data directory; the SQL it runs while bootstrapping
// gives root a password, removes every other root and anonymous account,
// and creates the store's database and user.
func (s *Server) installDB() error {
	// Bootstrapping skips the grant tables; FLUSH PRIVILEGES loads them,
	// so that the account statements work.
	setup := fmt.Sprintf(`FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY '%s';
DELETE FROM mysql.global_priv WHERE User IN ('', 'root') AND NOT (User = 'root' AND Host = 'localhost');
FLUSH PRIVILEGES;
CREATE DATABASE %s;
CREATE USER '%s'@'%%' IDENTIFIED BY '%s';
GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%';
`, s.rootPass, Database, User, s.userPass, Database, User)
	setupFile := filepath.Join(s.Dir, "setup.sql")
	if err := os.WriteFile(setupFile, []byte(setup), 0o600); err != nil {
		return fmt.Errorf("mysqltest: %w", err)
	}
	defer func() { _ = os.Remove(setupFile) }()
	if err := os.Mkdir(s.dataDir(), 0o700); err != nil {
		return fmt.Errorf("mysqltest: %w", err)
	}
	for _, d := range []string{s.Dir, s.sockDir} {
		if err := testproc.GiveDir(d, s.cred); err != nil {
			return fmt.Errorf("mysqltest: %w", err)
		}
	}
	out, err := testproc.Run(initTimeout, s.cred, s.Dir, testproc.Env(s.Dir), s.install,
		"--no-defaults", "--datadir="+s.dataDir(), "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve", "--extra-file="+setupFile)
	if err != nil {
		return fmt.Errorf("mysqltest: mariadb-install-db: %v\n%s", err, out)
	}
	return nil
}

// Start starts mariadbd on the server's port and data directory and waits
// until it accepts connections. After Stop it brings the same database
// back; on a running server it does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	args := append([]string{"--no-defaults",
		"--datadir=" + s.dataDir(),
		"--port=" + strconv.Itoa(s.Port),
		"--socket=" + s.socket(),
		"--pid-file=" + filepath.Join(s.Dir, "mysqld.pid"),
		"--bind-address=127.0.0.1",
		"--skip-name-resolve",
		"--character-set-server=utf8mb4",
		"--innodb-buffer-pool-size=32M",
		"--innodb-flush-log-at-trx-commit=2",
	}, s.args...)
	fmt.Fprintf(&s.log, "mysqltest: starting mariadbd on 127.0.0.1:%d\n", s.Port)
	p, err := testproc.Start(s.cred, s.Dir, testproc.Env(s.Dir), &s.log, s.server, args...)
	if err != nil {
		return fmt.Errorf("mysqltest: start mariadbd: %w", err)
	}
	if err := s.waitReady(p); err != nil {
		_ = p.Stop(syscall.SIGKILL, 5*time.Second)
		return err
	}
	s.proc = p
	return nil
}

// waitReady waits until root can run a query, or mariadbd exits.
func (s *Server) waitReady(p *testproc.Proc) error {
	return testproc.WaitReady(p, &s.log, "mysqltest: mariadbd", readyTimeout, func() error {
		_, err := s.query("mysql", "SELECT 1")
		return err
	})
}

// Stop shuts mariadbd down (committed work is kept) and waits for it to
// exit. Connections to the server fail until Start. Stopping a stopped
// server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.Stop(syscall.SIGTERM, stopGrace)
	s.proc = nil
	if err != nil {
		return fmt.Errorf("mysqltest: mariadbd %w", err)
	}
	return nil
}

// Close stops the server and removes its directories (the data directory
// only when New made it).
func (s *Server) Close() error {
	err := s.Stop()
	if s.sockDir != "" {
		err = errors.Join(err, os.RemoveAll(s.sockDir))
	}
	if s.removeDir {
		err = errors.Join(err, os.RemoveAll(s.Dir))
	}
	return err
}

// Log returns what mariadbd has written so far.
func (s *Server) Log() string { return s.log.String() }

var identifier = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// CreateDatabase creates another database the store's user holds every
// privilege on and returns its DSN (a fresh database per test of a
// conformance suite).
func (s *Server) CreateDatabase(name string) (string, error) {
	if !identifier.MatchString(name) {
		return "", fmt.Errorf("mysqltest: database name %q is not a plain lower-case identifier", name)
	}
	if _, err := s.Exec("mysql", "CREATE DATABASE "+name, fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%%'", name, User)); err != nil {
		return "", err
	}
	return s.dsn(name), nil
}

// Exec runs SQL statements as root in database db and returns the
// client's output (tab-separated, no column names).
func (s *Server) Exec(db string, statements ...string) (string, error) {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if !running {
		return "", errors.New("mysqltest: mariadbd is stopped")
	}
	return s.query(db, statements...)
}

func (s *Server) query(db string, statements ...string) (string, error) {
	sql := ""
	for _, st := range statements {
		sql += st + ";\n"
	}
	env := testproc.Env(s.Dir, "MYSQL_PWD="+s.rootPass)
	// The client runs as the test's user, over the socket (root is
	// root@localhost; with name resolution off, TCP clients are IPs).
	out, err := testproc.Run(queryTimeout, nil, s.Dir, env, s.client, "--no-defaults",
		"--protocol=SOCKET", "--socket="+s.socket(), "--user=root",
		"--connect-timeout=5", "--batch", "--skip-column-names", "--database="+db, "--execute="+sql)
	if err != nil {
		return out, fmt.Errorf("mysqltest: mariadb client: %v: %s", err, out)
	}
	return out, nil
}
