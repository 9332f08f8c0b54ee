package quickstart

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3api"

	"github.com/lakegate/lakegate/internal/credentials"
)

// Backend layout inside the data directory.
const (
	backendRootDir  = "s3"   // buckets are directories here, objects files
	backendMetaDir  = "meta" // object metadata (sidecar files; no xattr needed)
	backendKeysFile = "backend.json"
	backendRegion   = "us-east-1"
	// backendStartTimeout bounds the wait for the listener.
	backendStartTimeout = 15 * time.Second
	// backendBindAttempts retries when the free port we picked was taken
	// before the gateway bound it.
	backendBindAttempts = 3
)

// StaticCreds are an S3 key pair.
type StaticCreds struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// Backend is a running embedded S3 server: versitygw's gateway over its
// POSIX backend, listening on 127.0.0.1 only.
type Backend struct {
	// Endpoint is the base URL, e.g. http://127.0.0.1:40123. Use path-style
	// addressing.
	Endpoint string
	// Creds are the root keys (full access to everything).
	Creds StaticCreds
	// Region is the region the backend signs for.
	Region string

	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done is closed
}

// StartBackend starts an embedded S3 server storing buckets in dir/s3 and
// object metadata in sidecar files under dir/meta (so it works on file
// systems without extended attributes). Its root keys are generated on first
// use and kept in dir/backend.json (mode 0600); a second start over the same
// dir serves the same data with the same keys. It returns once the server
// accepts connections.
//
// Limitations, inherited from versitygw: only one Backend may run per
// process at a time, and starting one changes the process's working
// directory to dir/s3 (its POSIX backend resolves buckets relative to it),
// so resolve every relative path before calling StartBackend.
func StartBackend(ctx context.Context, dir string) (*Backend, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("quickstart: backend: %w", err)
	}
	root, metaDir := filepath.Join(dir, backendRootDir), filepath.Join(dir, backendMetaDir)
	for _, d := range []string{dir, root, metaDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("quickstart: backend: %w", err)
		}
	}
	creds, _, err := loadOrCreateJSON(filepath.Join(dir, backendKeysFile), func() StaticCreds {
		id, secret := credentials.Generate()
		return StaticCreds{AccessKeyID: id, SecretAccessKey: secret}
	})
	if err != nil {
		return nil, fmt.Errorf("quickstart: backend keys: %w", err)
	}
	var errs []error
	for range backendBindAttempts {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("quickstart: backend: %w", err)
		}
		b, err := startBackend(ctx, root, metaDir, port, creds)
		if err == nil {
			return b, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errListen) || ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("quickstart: backend: %w", errors.Join(errs...))
}

// errListen marks a failure that a retry on another port may cure.
var errListen = errors.New("embedded S3 server did not start listening")

func startBackend(ctx context.Context, root, metaDir string, port int, creds StaticCreds) (*Backend, error) {
	sc, err := meta.NewSideCar(metaDir)
	if err != nil {
		return nil, err
	}
	// PosixOpts.SideCarDir is left empty on purpose: posix only uses it to
	// check that it lies outside root (it does, as a sibling) and to print a
	// line on stdout, which would land in the middle of our banner.
	// CopyObjectThreshold is S3's limit on a copy source, 5 GiB: posix.New
	// keeps the 0 it is given, and refuses every server-side copy with it.
	be, err := posix.New(root, sc, posix.PosixOpts{CopyObjectThreshold: 5 << 30})
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ready := make(chan struct{})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &Backend{
		Endpoint: "http://" + addr,
		Creds:    creds,
		Region:   backendRegion,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	cfg := &embedgw.Config{
		RootUserAccess:    creds.AccessKeyID,
		RootUserSecret:    creds.SecretAccessKey,
		Region:            backendRegion,
		Ports:             []string{addr},
		MaxConnections:    4096,
		MaxRequests:       1024,
		MultipartMaxParts: 10000,
		Quiet:             true,
		KeepAlive:         true,
		// Passing the single-account IAM ourselves keeps auth.New from
		// announcing "single account mode" on stdout.
		IAMService: auth.NewIAMServiceSingle(auth.Account{
			Access: creds.AccessKeyID, Secret: creds.SecretAccessKey, Role: auth.RoleAdmin,
		}),
		S3Options: []s3api.Option{s3api.WithOnListen(func() { close(ready) })},
	}
	go func() {
		defer close(b.done)
		b.err = embedgw.RunVersityGW(runCtx, be, cfg)
	}()

	timer := time.NewTimer(backendStartTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return b, nil
	case <-b.done:
		cancel()
		if b.err == nil {
			return nil, fmt.Errorf("%w: it exited", errListen)
		}
		return nil, fmt.Errorf("%w: %w", errListen, b.err)
	case <-ctx.Done():
		cancel()
		<-b.done
		return nil, ctx.Err()
	case <-timer.C:
		cancel()
		<-b.done
		return nil, fmt.Errorf("embedded S3 server not listening after %s", backendStartTimeout)
	}
}

// Stop shuts the server down and waits for it, at most until ctx is done.
func (b *Backend) Stop(ctx context.Context) error {
	b.cancel()
	select {
	case <-b.done:
		if b.err != nil && !errors.Is(b.err, context.Canceled) {
			return fmt.Errorf("quickstart: backend: %w", b.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("quickstart: backend stop: %w", ctx.Err())
	}
}

// Done is closed when the server has stopped, by Stop or by failing.
func (b *Backend) Done() <-chan struct{} { return b.done }

// freePort asks the kernel for an unused loopback port. Another process may
// take it before the gateway binds; StartBackend retries.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
