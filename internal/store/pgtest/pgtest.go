// Package pgtest starts, for tests, a real PostgreSQL server of their own:
// initdb in a temporary directory, postgres listening on 127.0.0.1 only, on
// a port picked at run time, with no Unix socket, password (SCRAM)
// authentication for everyone and random passwords, a database and an
// owner for the store under test. The server runs in its own process
// group and the kernel kills it when the test binary dies; as root it runs
// as an unprivileged account (postgres, else nobody), because PostgreSQL
// refuses root.
//
// Start is for one test (stopped when it ends, skipped when PostgreSQL is
// not installed: CI installs it and fails on skips); New is the same for a
// harness without a testing.TB (close it). Stop and Start again on a
// Server simulate a database outage on the same port and data.
package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/store/internal/testproc"
)

// Names of the store's database and its owner in every Server.
const (
	Database = "lakegate"
	User     = "lakegate"
)

// Timeouts.
const (
	initTimeout  = 2 * time.Minute  // initdb
	readyTimeout = 60 * time.Second // postgres accepting connections
	stopGrace    = 30 * time.Second // a fast shutdown
	queryTimeout = 30 * time.Second // one psql command
)

// Options say where and how to run a Server.
type Options struct {
	// Dir is the directory that receives the data directory and the log;
	// "" makes a temporary one that Close removes.
	Dir string
	// Settings are extra postgres settings (-c name=value), e.g.
	// {"max_connections": "50"}.
	Settings map[string]string
}

// Server is a PostgreSQL server.
type Server struct {
	// DSN is the store's URL: postgres://lakegate:…@127.0.0.1:port/lakegate?sslmode=disable.
	DSN string
	// Port is the TCP port on 127.0.0.1; it stays the same across Stop and
	// Start.
	Port int
	// Dir holds the data directory (data) and, with Options.Dir empty, is
	// removed by Close.
	Dir string

	bin       string // the directory of initdb, postgres and psql
	cred      *syscall.Credential
	superPass string
	userPass  string
	settings  map[string]string
	removeDir bool
	log       testproc.Log

	mu   sync.Mutex
	proc *testproc.Proc // nil while stopped
}

// BinDir returns the directory of PostgreSQL's server programs: the
// newest /usr/lib/postgresql/N/bin (Debian), else the directory of
// postgres on $PATH.
func BinDir() (string, bool) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "postgres")) && isExec(filepath.Join(d, "initdb")) {
			return d, true
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil && isExec(filepath.Join(filepath.Dir(p), "initdb")) {
		return filepath.Dir(p), true
	}
	return "", false
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// ErrNotInstalled says PostgreSQL's server programs were not found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres nor postgres on $PATH); on Debian: apt-get install postgresql")

// Start starts a Server for t and stops it when t ends. It skips t when
// PostgreSQL is not installed and fails it on any other problem.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, ok := BinDir(); !ok {
		t.Skip(ErrNotInstalled.Error())
	}
	s, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
		if t.Failed() {
			t.Logf("pgtest: postgres's log:\n%s", testproc.Tail(s.Log(), 8000))
		}
	})
	return s
}

// New initializes a data directory, starts postgres on it and creates the
// store's database and owner. On error nothing is left running.
func New(o Options) (_ *Server, err error) {
	bin, ok := BinDir()
	if !ok {
		return nil, ErrNotInstalled
	}
	s := &Server{bin: bin, superPass: testproc.Password(), settings: o.Settings, Dir: o.Dir}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "pgtest"); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		s.removeDir = true
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.cred, err = testproc.Account("postgres"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := s.initdb(); err != nil {
		return nil, err
	}
	// A port picked free may be taken before postgres binds it: try
	// others.
	for attempt := 0; ; attempt++ {
		if s.Port, err = testproc.FreePort(); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		if err = s.Start(); err == nil || attempt == 4 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	s.userPass = testproc.Password()
	if _, err := s.Exec("postgres",
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", User, s.userPass),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", Database, User)); err != nil {
		return nil, err
	}
	s.DSN = s.dsn(Database)
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", User, s.userPass, s.Port, db)
}

// initdb creates the data directory with superuser postgres.
func (s *Server) initdb() error {
	pwfile := filepath.Join(s.Dir, "superuser.pw")
	if err := os.WriteFile(pwfile, []byte(s.superPass+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer func() { _ = os.Remove(pwfile) }()
	if err := os.Mkdir(s.dataDir(), 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := testproc.GiveDir(s.Dir, s.cred); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	out, err := testproc.Run(initTimeout, s.cred, s.Dir, testproc.Env(s.Dir), filepath.Join(s.bin, "initdb"),
		"-D", s.dataDir(), "-U", "postgres", "--pwfile", pwfile, "--auth", "scram-sha-256",
		"--encoding", "UTF8", "--locale", "C", "--no-sync")
	if err != nil {
		return fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	return nil
}

// Start starts postgres on the server's port and data directory and waits
// until it accepts connections. After Stop it brings the same database
// back; on a running server it does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	args := []string{"-D", s.dataDir(), "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB",
		"-c", "logging_collector=off", "-c", "log_min_messages=warning",
	}
	keys := make([]string, 0, len(s.settings))
	for k := range s.settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+s.settings[k])
	}
	fmt.Fprintf(&s.log, "pgtest: starting postgres on 127.0.0.1:%d\n", s.Port)
	p, err := testproc.Start(s.cred, s.Dir, testproc.Env(s.Dir), &s.log, filepath.Join(s.bin, "postgres"), args...)
	if err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	if err := s.waitReady(p); err != nil {
		_ = p.Stop(syscall.SIGQUIT, 5*time.Second)
		return err
	}
	s.proc = p
	return nil
}

// waitReady waits until the superuser can run a query, or postgres exits.
func (s *Server) waitReady(p *testproc.Proc) error {
	return testproc.WaitReady(p, &s.log, "pgtest: postgres", readyTimeout, func() error {
		_, err := s.query("postgres", "SELECT 1")
		return err
	})
}

// Stop shuts postgres down (a fast shutdown: sessions are ended, committed
// work is kept) and waits for it to exit. Connections to the server fail
// until Start. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.Stop(syscall.SIGINT, stopGrace)
	s.proc = nil
	if err != nil {
		return fmt.Errorf("pgtest: postgres %w", err)
	}
	return nil
}

// Close stops the server and removes its directory when New made it.
func (s *Server) Close() error {
	err := s.Stop()
	if s.removeDir {
		err = errors.Join(err, os.RemoveAll(s.Dir))
	}
	return err
}

// Log returns what postgres has written so far.
func (s *Server) Log() string { return s.log.String() }

var identifier = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// CreateDatabase creates another database owned by the store's user and
// returns its DSN (a fresh database per test of a conformance suite).
func (s *Server) CreateDatabase(name string) (string, error) {
	if !identifier.MatchString(name) {
		return "", fmt.Errorf("pgtest: database name %q is not a plain lower-case identifier", name)
	}
	if _, err := s.Exec("postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, User)); err != nil {
		return "", err
	}
	return s.dsn(name), nil
}

// Exec runs SQL statements as the superuser in database db, each in its
// own transaction, and returns psql's output (unaligned, tuples only).
func (s *Server) Exec(db string, statements ...string) (string, error) {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if !running {
		return "", errors.New("pgtest: postgres is stopped")
	}
	return s.query(db, statements...)
}

func (s *Server) query(db string, statements ...string) (string, error) {
	args := []string{"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", "postgres", "-d", db}
	for _, st := range statements {
		args = append(args, "-c", st)
	}
	env := testproc.Env(s.Dir, "PGPASSWORD="+s.superPass, "PGCONNECT_TIMEOUT=5")
	// psql runs as the test's user: it only needs the network.
	out, err := testproc.Run(queryTimeout, nil, s.Dir, env, filepath.Join(s.bin, "psql"), args...)
	if err != nil {
		return out, fmt.Errorf("pgtest: psql: %v: %s", err, out)
	}
	return out, nil
}
