// Package testproc runs the database servers of pgtest and mysqltest: a
// process in its own process group that the kernel kills when the test
// binary dies (so that no server outlives a crashed or killed test run), run
// as an unprivileged account when the tests run as root (PostgreSQL refuses
// root, MariaDB wants an explicit user), with its output kept for the
// failure report.
package testproc

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Account returns the credential to run a server as: nil when the tests do
// not run as root (the server runs as the current user), else the first of
// names that exists, else nobody.
func Account(names ...string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range append(names, "nobody") {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root and none of the accounts %s exists to run the database server as",
		strings.Join(append(names, "nobody"), ", "))
}

// GiveDir makes dir and everything in it owned by cred's account, and the
// directories above it up to the system temporary directory traversable by
// everyone (t.TempDir's are 0700), so that the account can reach it. It does
// nothing when cred is nil.
func GiveDir(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return err
	}
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return err
	}
	for p := filepath.Dir(abs); strings.HasPrefix(p, tmp+string(filepath.Separator)); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o111); err != nil {
			return err
		}
	}
	return nil
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// sysProcAttr puts the child in its own process group (Stop signals the
// whole group), has the kernel kill it when the test binary dies, and runs
// it as cred when set.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// Env is the environment of the servers and tools: the test's, with HOME
// set to dir (the account's own may not exist) and the C locale.
func Env(dir string, extra ...string) []string {
	env := make([]string, 0, len(os.Environ())+3+len(extra))
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "LC_ALL=") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "HOME="+dir, "LC_ALL=C", "LANG=C"), extra...)
}

// Run runs a tool (initdb, mariadb-install-db, a client) to its end, at
// most timeout, as cred, and returns its combined output with its error.
func Run(timeout time.Duration, cred *syscall.Credential, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = sysProcAttr(cred)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s did not finish within %s", filepath.Base(name), timeout)
	}
	return out.String(), err
}

// Proc is a running server.
type Proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
	err    error         // cmd.Wait's, valid once exited is closed
}

// Start starts a server as cred with its output appended to log.
func Start(cred *syscall.Credential, dir string, env []string, log *Log, name string, args ...string) (*Proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = sysProcAttr(cred)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed when the server has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is how the server exited; call it after Exited is closed.
func (p *Proc) Err() error { return p.err }

// ErrTimeout says a server did not stop within its grace period and was
// killed.
var ErrTimeout = errors.New("did not stop in time and was killed")

// Stop sends sig to the server's process group and waits up to grace for
// it to exit, then kills the group. It returns ErrTimeout when it had to
// kill. Stopping a server that has exited is not an error.
func (p *Proc) Stop(sig syscall.Signal, grace time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, sig)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.exited
	return ErrTimeout
}

// Log is a server's output, safe for the server and readers.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail returns the last n bytes of s, cut at a line start when it can.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…\n" + s
}

// Password returns a random password of 26 upper-case letters and digits
// (safe in DSNs and SQL literals without quoting).
func Password() string { return rand.Text() }

// WaitReady polls ping every 100 ms until it succeeds, p exits or timeout
// passes; what names the server in errors, which end with the tail of
// its log.
func WaitReady(p *Proc, log *Log, what string, timeout time.Duration, ping func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ping()
		if err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%s exited: %v\n%s", what, p.Err(), Tail(log.String(), 4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer within %s: %v\n%s", what, timeout, err, Tail(log.String(), 4000))
		}
	}
}
