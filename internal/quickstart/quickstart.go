// Package quickstart runs lakegate as a self-contained demo: an embedded
// local S3 backend (versitygw over the file system), SQLite in a data
// directory, an admin access key and token created on first run and reused
// afterwards, and a banner with a ready-to-paste ~/.aws/config profile.
package quickstart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/server"
)

// Defaults for Options.
const (
	DefaultDataDir   = "~/.lakegate/quickstart"
	DefaultProxyAddr = "127.0.0.1:5010"
	DefaultRESTAddr  = "127.0.0.1:8083"
	// ProfileName is the ~/.aws/config profile the banner prints.
	ProfileName = "lakegate"
	stateFile   = "quickstart.json"
	// backendStopTimeout bounds the embedded backend's shutdown.
	backendStopTimeout = 10 * time.Second
)

// Options configure a quickstart.
type Options struct {
	// Config is the configuration from --config and the environment, as
	// serve would use it (nil: the defaults). Quickstart honours it except
	// for what it embeds: the upstream (its own backend), the store
	// (SQLite in DataDir) and the admin key and token (its own); setting
	// those there draws a warning. Its proxy.addr and rest.addr apply when
	// the fields below are empty and they differ from serve's defaults;
	// its data_dir never does (a warning says so): quickstart's data
	// directory is DataDir or its default.
	Config *config.Config
	// DataDir holds everything (default ~/.lakegate/quickstart).
	DataDir string
	// ProxyAddr and RESTAddr are the listen addresses (defaults
	// 127.0.0.1:5010 and 127.0.0.1:8083); port 0 picks a free port.
	ProxyAddr string
	RESTAddr  string
	// Stdout receives the banner; nil means os.Stdout.
	Stdout io.Writer
	// Logger receives logs; nil means text logs on os.Stderr.
	Logger *slog.Logger
	// WriteAWSConfig adds or replaces the [profile lakegate] section in
	// AWSConfigFile.
	WriteAWSConfig bool
	// AWSConfigFile defaults to $AWS_CONFIG_FILE, then ~/.aws/config.
	AWSConfigFile string
}

// State is what quickstart keeps between runs in <data dir>/quickstart.json
// (mode 0600).
type State struct {
	AdminAccessKeyID     string `json:"admin_access_key_id"`
	AdminSecretAccessKey string `json:"admin_secret_access_key"`
	// AdminToken authenticates the REST API and the lakegate CLI.
	AdminToken string `json:"admin_token"`
}

// Instance is a started quickstart.
type Instance struct {
	// Profile is what the banner tells the AWS CLI.
	Profile Profile
	// Token is the admin token.
	Token string
	// DataDir is the absolute data directory.
	DataDir string
	// RESTURL is the REST API base URL.
	RESTURL string

	log     *slog.Logger
	backend *Backend
	server  *server.Server
}

// Run starts a quickstart and serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	q, err := Start(ctx, o)
	if err != nil {
		return err
	}
	return q.Serve(ctx)
}

// Start prepares the data directory, starts the embedded backend, builds the
// server with its listeners bound and prints the banner. Call Serve next.
// Like StartBackend it changes the working directory and may run once per
// process at a time.
func Start(ctx context.Context, o Options) (*Instance, error) {
	o = o.withDefaults()
	dir, err := absDir(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("quickstart: data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	statePath := filepath.Join(dir, stateFile)
	st, created, err := loadOrCreateJSON(statePath, newState)
	if err != nil {
		return nil, fmt.Errorf("quickstart: state: %w", err)
	}
	if created {
		o.Logger.Info("created admin access key and token", "access_key_id", st.AdminAccessKeyID, "file", statePath)
	} else {
		o.Logger.Info("reusing admin access key and token", "access_key_id", st.AdminAccessKeyID, "file", statePath)
	}

	backend, err := StartBackend(ctx, dir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started { // an error, or a panic on its way up
			stopCtx, cancel := context.WithTimeout(context.Background(), backendStopTimeout)
			defer cancel()
			_ = backend.Stop(stopCtx)
		}
	}()
	o.Logger.Info("embedded S3 backend listening", "endpoint", backend.Endpoint, "root", filepath.Join(dir, backendRootDir))

	cfg, ignored, err := quickstartConfig(o.Config, embedded{
		dataDir: dir, proxyAddr: o.ProxyAddr, restAddr: o.RESTAddr,
		upstream: config.Upstream{
			Endpoint:        backend.Endpoint,
			Region:          backend.Region,
			PathStyle:       true,
			AccessKeyID:     backend.Creds.AccessKeyID,
			SecretAccessKey: backend.Creds.SecretAccessKey,
		},
		admin: config.Admin{AccessKeyID: st.AdminAccessKeyID, SecretAccessKey: st.AdminSecretAccessKey, Token: st.AdminToken},
	})
	if err != nil {
		return nil, err
	}
	if len(ignored) > 0 {
		o.Logger.Warn("quickstart cannot honour these settings of the configuration: it serves its embedded S3 backend, "+
			"SQLite in its data directory and its own admin key and token; use lakegate serve for them",
			"ignored", strings.Join(ignored, ","))
	}
	srv, err := server.New(ctx, cfg, o.Logger)
	if err != nil {
		return nil, err
	}
	addrs := srv.Addrs()
	q := &Instance{
		Profile: Profile{
			Name:            ProfileName,
			EndpointURL:     "http://" + dialable(addrs.Proxy),
			AccessKeyID:     st.AdminAccessKeyID,
			SecretAccessKey: st.AdminSecretAccessKey,
			Region:          cfg.Upstream.Region,
		},
		Token:   st.AdminToken,
		DataDir: dir,
		log:     o.Logger,
		backend: backend,
		server:  srv,
	}
	if addrs.REST != "" {
		q.RESTURL = "http://" + dialable(addrs.REST)
	}
	if o.WriteAWSConfig {
		path, err := awsConfigPath(o.AWSConfigFile)
		if err == nil {
			err = UpsertProfile(path, q.Profile)
		}
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("quickstart: write AWS config: %w", err)
		}
		o.Logger.Info("wrote AWS CLI profile", "profile", ProfileName, "file", path)
	}
	if err := q.printBanner(o.Stdout); err != nil {
		srv.Close()
		return nil, err
	}
	started = true
	return q, nil
}

// Serve serves until ctx ends or the embedded backend fails, then stops the
// server and the backend.
func (q *Instance) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-q.backend.Done():
			q.log.Error("embedded S3 backend stopped; shutting down")
			cancel()
		case <-ctx.Done():
		}
	}()
	serveErr := q.server.Serve(ctx)
	stopCtx, stop := context.WithTimeout(context.Background(), backendStopTimeout)
	defer stop()
	return errors.Join(serveErr, q.backend.Stop(stopCtx))
}

func (o Options) withDefaults() Options {
	def := config.Default()
	_ = def.Resolve() // expands ~ like Load did for o.Config; on failure nothing compares equal, which is harmless
	c := o.Config
	if c == nil {
		c = def
	}
	if o.DataDir == "" {
		// Never the configuration's data_dir: that may be a serve's,
		// whose store quickstart would add its admin key and token to.
		o.DataDir = DefaultDataDir
	}
	if o.ProxyAddr == "" {
		o.ProxyAddr = DefaultProxyAddr
		if c.Proxy.Addr != def.Proxy.Addr {
			o.ProxyAddr = c.Proxy.Addr
		}
	}
	if o.RESTAddr == "" {
		o.RESTAddr = DefaultRESTAddr
		if c.REST.Addr != def.REST.Addr {
			o.RESTAddr = c.REST.Addr
		}
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = server.NewLogger(c.Log, os.Stderr)
	}
	return o
}

func newState() State {
	id, secret := credentials.Generate()
	return State{
		AdminAccessKeyID:     id,
		AdminSecretAccessKey: secret,
		AdminToken:           credentials.TokenPrefix + credentials.RandomToken(40),
	}
}

// absDir expands a leading "~/" and makes dir absolute (the backend changes
// the working directory, so relative paths must not survive).
func absDir(dir string) (string, error) {
	c := config.Config{DataDir: dir}
	if err := c.Resolve(); err != nil {
		return "", err
	}
	return filepath.Abs(c.DataDir)
}

// dialable turns a listen address into one a client can connect to: an
// unspecified host (":5010", "0.0.0.0:5010", "[::]:5010") becomes 127.0.0.1.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
