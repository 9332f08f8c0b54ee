// Package miniotest starts a real MinIO server for the tests of packages
// that speak S3 (the signer, the XML codecs), so that they run wherever the
// minio binary is installed, as in CI, not only when someone points them at
// a server by hand.
package miniotest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running MinIO with an empty data directory.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
}

// Binary returns the path of the minio binary on PATH or in ~/go/bin
// (where `go install github.com/minio/minio@…` puts it), or "".
func Binary() string {
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	dirs := []string{}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "minio")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Start starts MinIO for the test and stops it when the test ends. The
// test is skipped when the binary is not installed (CI installs it, and
// fails on skips); it fails when MinIO does not come up.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("minio binary not found on PATH or in ~/go/bin")
	}
	s := &Server{AccessKey: "minio" + token(10), SecretKey: token(32)}
	dir := t.TempDir()
	var out lockedBuffer
	var cmd *exec.Cmd
	var done chan struct{}
	for attempt := 0; ; attempt++ {
		addr, console := freeAddr(t), freeAddr(t)
		s.Endpoint = "http://" + addr
		cmd = exec.Command(bin, "server", filepath.Join(dir, "data"), "--address", addr, "--console-address", console, "--quiet")
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "HOME="+dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start minio: %v", err)
		}
		done = make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		err := waitLive(s.Endpoint, done)
		if err == nil {
			break
		}
		_ = cmd.Process.Kill()
		<-done
		// Another process may have taken the port between freeAddr and
		// MinIO's bind: try once more on others.
		if attempt == 1 || !errors.Is(err, errExited) {
			t.Fatalf("minio: %v\n%s", err, out.String())
		}
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("minio output:\n%s", out.String())
		}
	})
	return s
}

var errExited = errors.New("minio exited before becoming live")

// waitLive waits up to 90 s for MinIO to answer S3 requests: its liveness
// endpoint answers before the object layer is up (S3 requests then get
// 503 XMinioServerNotInitialized), so it polls an anonymous ListBuckets
// until the answer is anything but 503 (a 403, as it is anonymous).
func waitLive(endpoint string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				return nil
			}
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("not live after 90s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func token(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
