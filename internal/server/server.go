// Package server is lakegate's composition root: from a validated
// config.Config it builds the policy store, the credential service and its
// cache, the SigV4 verifier, the upstream client and the access proxy, binds
// the proxy (HTTP and HTTPS) and REST listeners, serves them, and stops
// everything gracefully when its context ends.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/feed"
	"github.com/lakegate/lakegate/internal/gateway"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/metrics"
	"github.com/lakegate/lakegate/internal/nscale"
	"github.com/lakegate/lakegate/internal/s3/cors"
	"github.com/lakegate/lakegate/internal/s3/s3xml"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/upstream"
)

// ShutdownTimeout bounds the graceful stop: in-flight requests get this long
// to finish once the context ends, then their connections are closed.
const ShutdownTimeout = 10 * time.Second

// AdminUser is the user name of the bootstrap admin (config admin.*), and
// AdminGroup its group, which a new policy store makes catalog admin and
// which only the users table confers (see reservedGroups).
const (
	AdminUser  = "admin"
	AdminGroup = "admin"
)

// sealKeySecret names the store secret that seals listing markers; every
// proxy sharing the store uses the same key, so a token one issues another
// accepts.
const sealKeySecret = "list-marker-seal-key"

// REST server timeouts. REST requests are small, unlike proxy requests,
// whose bodies stream for as long as they take (see config.Proxy).
const (
	restReadTimeout  = 30 * time.Second
	restWriteTimeout = 30 * time.Second
)

// Server is a built lakegate server with its listeners bound.
type Server struct {
	log       *slog.Logger
	store     store.Store
	listeners []*listener
	// background runs beside the listeners until Serve stops (the policy
	// poll, the change feed's watch, an nScale proxy's feed follower);
	// they stop before the store closes.
	background []func(context.Context)
	// closers flush and close what must outlive the listeners (the audit
	// and server logs), in order, after the listeners stopped.
	closers []func(context.Context) error
	// auditor records every request (the proxy's and the REST API's).
	auditor *audit.Broker
	// sql is the Arrow Flight SQL listener (flightsql.go); nil when off.
	sql *sqlListener
}

// listener is one bound address and the http.Server that serves it.
type listener struct {
	name string // proxy, proxy-tls, rest
	ln   net.Listener
	srv  *http.Server
}

// Addrs are the bound listen addresses ("" when a listener is disabled);
// with port 0 in the configuration they carry the port actually chosen.
type Addrs struct {
	Proxy    string
	ProxyTLS string
	REST     string
	SQL      string
}

// Run builds a Server from cfg, logging to stderr as cfg.Log says, and serves
// until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	s, err := New(ctx, cfg, nil)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// NewLogger returns the slog logger cfg describes, writing to w.
// Every line is scrubbed of anything that looks like a secret (a safety
// net: nothing should log one).
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	w = audit.ScrubWriter(w)
	opts := &slog.HandlerOptions{Level: logLevel(cfg)}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func logLevel(cfg config.Log) slog.Level {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		level = slog.LevelInfo
	}
	return level
}

// New validates cfg, binds its listeners and builds every component. logger
// nil means NewLogger(cfg.Log, os.Stderr). On error nothing is left open.
// Call Serve to start serving.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if logger == nil {
		logger = NewLogger(cfg.Log, os.Stderr)
	}
	s := &Server{log: logger}
	built := false
	defer func() {
		if !built { // an error, or a panic on its way up
			s.closeAll()
		}
	}()

	// Listeners first: a port in use is the most common start failure and
	// needs no credentials to discover.
	if err := s.bindListeners(cfg); err != nil {
		return nil, err
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := store.OpenWith(ctx, cfg.Store.Options())
	if err != nil {
		return nil, err
	}
	s.store = db
	// Secrets at rest: encrypted with store.encryption_key_file's keys.
	st, err := store.WithKeyFile(db, cfg.Store.EncryptionKeyFile)
	if err != nil {
		return nil, err
	}
	if st.Keyring() == nil {
		logger.Warn(store.PlaintextWarning)
	}
	s.store = st
	changes := feed.New(0)
	watch := newPolicyWatch(db, logger.With("component", "policy"))
	up, err := newUpstream(ctx, cfg.Upstream, nil)
	if err != nil {
		return nil, err
	}
	engine, err := authz.New(ctx, authz.Options{
		Store: st, Logger: logger.With("component", "policy"), RequiredGroup: cfg.Groups.Required,
		ReservedGroups: reservedGroups(cfg.Admin), PollInterval: watch.poll, Changes: watch.changes,
		MaxStaleness: cfg.Store.MaxStaleness, Files: catalogFiles{up: up},
	})
	if err != nil {
		return nil, err
	}
	s.background = append(s.background, engine.Run)
	if watch.listen != nil {
		s.background = append(s.background, watch.listen)
	}
	creds := credentials.New(s.store)
	tokens := credentials.NewTokens(s.store)
	if err := bootstrapAdmin(ctx, cfg, engine, creds, tokens, logger); err != nil {
		return nil, err
	}
	sealKey, err := sealKey(ctx, st)
	if err != nil {
		return nil, err
	}
	sealer, err := s3xml.NewSealer(sealKey)
	if err != nil {
		return nil, err
	}

	credCache := credentials.NewCache(creds, credentials.CacheOptions{})
	s.background = append(s.background, func(ctx context.Context) {
		// A change made through another server may be a revocation: this
		// server's cached keys go too.
		changes.WatchVersion(ctx, feedPoll, engine.Version, credCache.Flush)
	})
	gw, logger, err := s.newGateway(cfg, credCache, engine, up, corsRules(cfg.Upstream), sealer, logger)
	if err != nil {
		return nil, err
	}
	ao, err := identityOptions(ctx, cfg, engine)
	if err != nil {
		return nil, err
	}
	ao.Engine, ao.Tokens, ao.Keys, ao.Logger = engine, tokens, creds, logger.With("component", "rest")
	ao.Metrics, ao.AllowedOrigins = metrics.Handler(), cfg.REST.AllowedOrigins
	if ao.AuditQuery, err = auditQuery(cfg, up); err != nil {
		return nil, err
	}
	ao.OnRevoke = func(accessKeyID string) {
		credCache.Invalidate(accessKeyID)
		changes.Publish(feed.Event{Kind: feed.KindCredentials, AccessKeyIDs: []string{accessKeyID}})
	}
	ao.AfterRevoke = func(ctx context.Context, user string, ids []string) {
		if len(ids) == 0 {
			return
		}
		// Other servers sharing the store learn of the revocation through
		// the policy version: their change feeds then tell their proxies
		// to drop every cached key.
		if err := st.UpdatePolicy(ctx, func(store.PolicyTx) error { return nil }); err != nil {
			logger.Warn("revocation not announced to other servers", "user", user, "err", err)
		}
	}
	system, err := systemVerifier(cfg.System)
	if err != nil {
		return nil, err
	}
	if system != nil {
		ao.TokenAuthenticators = append([]identity.TokenAuthenticator{system}, ao.TokenAuthenticators...)
	}
	plane, err := s.newDataPlane(ctx, cfg, engine, up, st, logger)
	if err != nil {
		return nil, err
	}
	if plane != nil {
		ao.Scanner = plane
		ao.ScanTimeout = cfg.Scan.Timeout
	}
	rest, err := api.New(ao)
	if err != nil {
		return nil, err
	}
	if err := s.buildSQL(ctx, cfg, engine, ao, st, planeQueryer(plane)); err != nil {
		return nil, err
	}
	internalAPI, err := internalHandler(system, nscale.HandlerOptions{
		Keys: creds, Engine: engine, Upstream: up, Feed: changes, SealKey: sealKey,
		Targets: wireTargets(cfg.Upstream), Logger: logger.With("component", "internal-api"),
	})
	if err != nil {
		return nil, err
	}
	restMux := http.NewServeMux()
	restMux.Handle("/api/internal/", internalAPI)
	restMux.Handle("/", rest) // with /metrics, for admins and the system token
	restHandler := auditREST(s.auditor, restMux)
	for _, l := range s.listeners {
		switch l.name {
		case "rest":
			l.srv.Handler = restHandler
		case "metrics":
			l.srv.Handler = statusHandler()
		default:
			l.srv.Handler = gw
		}
	}
	built = true
	return s, nil
}

// newGateway builds the access proxy handler, and the audit and server logs
// it records to, which need the upstream (a log bucket is written with its
// credentials); the logger returned includes the server-log sinks.
func (s *Server) newGateway(cfg *config.Config, keys sigv4.CredentialLookup, authorizer gateway.Authorizer,
	up *upstream.Client, corsBuckets map[string][]cors.Rule, sealer *s3xml.Sealer, logger *slog.Logger) (*gateway.Handler, *slog.Logger, error) {
	logger, err := s.attachServerLog(cfg, up, logger)
	if err != nil {
		return nil, nil, err
	}
	s.log = logger
	auditor, err := s.openAudit(cfg, up, logger)
	if err != nil {
		return nil, nil, err
	}
	gw, err := gateway.New(gateway.Options{
		Audit: auditor,
		Verifier: sigv4.NewVerifier(sigv4.Options{
			Credentials:      keys,
			AllowSigV2:       cfg.Proxy.AllowSigV2,
			MaxClockSkew:     cfg.Proxy.MaxClockSkew,
			MaxPresignExpiry: cfg.Proxy.MaxPresignExpiry,
		}),
		Upstream:        up,
		Authorizer:      authorizer,
		Sealer:          sealer,
		BaseDomains:     cfg.Proxy.BaseDomains,
		Logger:          logger.With("component", "proxy"),
		BodyIdleTimeout: cfg.Proxy.BodyIdleTimeout,

		UnauthenticatedAuditRate: cfg.Audit.UnauthenticatedRate,
		PreAuthTimeout:           cfg.Proxy.PreAuthTimeout,
		PreAuthMaxBytes:          cfg.Proxy.PreAuthMaxBytes,
		CORS:                     corsOptions(corsBuckets, up),
		ScanEndpoint:             cfg.REST.RESTURL(),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: %w", err)
	}
	return gw, logger, nil
}

// sealKey returns the store's shared listing-marker key, creating it on
// first use.
func sealKey(ctx context.Context, st store.PolicyStore) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	return st.EnsureSecret(ctx, sealKeySecret, fresh)
}

// upstreamTargets are the targets of u: its default and one complete
// target per upstream.buckets entry.
func upstreamTargets(u config.Upstream) (def upstream.Target, buckets map[string]upstream.Target) {
	buckets = make(map[string]upstream.Target, len(u.Buckets))
	for name, b := range u.Buckets {
		t := upstream.Target{Endpoint: b.Endpoint, Region: b.Region, PathStyle: u.PathStyle, SignPayload: u.SignPayload}
		if t.Endpoint == "" {
			t.Endpoint = u.Endpoint // a bucket that only moves region stays on the same service
		}
		if b.PathStyle != nil {
			t.PathStyle = *b.PathStyle
		}
		buckets[name] = t
	}
	def = upstream.Target{Endpoint: u.Endpoint, Region: u.Region, PathStyle: u.PathStyle, SignPayload: u.SignPayload}
	return def, buckets
}

// newUpstream builds the upstream client for u. Requests are signed with
// source's credentials when it is set (an nScale proxy's, from the policy
// server), else with u's: static keys or the AWS chain, through the
// bucket's role when u maps one.
func newUpstream(ctx context.Context, u config.Upstream, source upstream.CredentialSource) (*upstream.Client, error) {
	def, buckets := upstreamTargets(u)
	roles := map[string]string{}
	for name, b := range u.Buckets {
		if b.RoleARN != "" {
			roles[name] = b.RoleARN
		}
	}
	opts := upstream.Options{Default: def, Buckets: buckets}
	if source != nil {
		opts.Source = source
		return newUpstreamClient(opts)
	}
	provider, err := upstream.LoadCredentials(ctx, upstream.StaticCredentials{
		AccessKeyID:     u.AccessKeyID,
		SecretAccessKey: u.SecretAccessKey,
		SessionToken:    u.SessionToken,
	}, u.Profile)
	if err != nil {
		return nil, fmt.Errorf("upstream credentials: %w", err)
	}
	if u.RoleARN == "" && len(roles) == 0 {
		opts.Credentials = provider
	} else {
		// Seed 001: the bucket role map, then OKERA_SYSTEM_IAM_ROLE_ARN.
		opts.Source, err = upstream.NewRoleCredentials(ctx, upstream.RoleOptions{
			Base:            provider,
			BucketRoles:     roles,
			DefaultRoleARN:  u.RoleARN,
			SessionDuration: u.RoleSessionDuration,
			SessionName:     u.RoleSessionName,
			Region:          u.Region,
			STSEndpoint:     u.STSEndpoint,
			Profile:         u.Profile,
		})
		if err != nil {
			return nil, err // "upstream roles: …"
		}
	}
	return newUpstreamClient(opts)
}

func newUpstreamClient(opts upstream.Options) (*upstream.Client, error) {
	c, err := upstream.New(opts)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	return c, nil
}

// bindListeners binds every configured address; handlers are set later.
func (s *Server) bindListeners(cfg *config.Config) error {
	errorLog := log.New(httpErrorLog{s.log}, "", 0)
	proxyServer := func() *http.Server {
		// No ReadTimeout or WriteTimeout: S3 bodies stream for as long as
		// they take. ReadHeaderTimeout stops slow-loris clients.
		return &http.Server{
			ReadHeaderTimeout: cfg.Proxy.ReadHeaderTimeout,
			IdleTimeout:       cfg.Proxy.IdleTimeout,
			MaxHeaderBytes:    cfg.Proxy.MaxHeaderBytes,
			ErrorLog:          errorLog,
		}
	}
	proxyLimits := func(maxConns int) connLimits {
		return connLimits{maxConns: maxConns, writeIdle: cfg.Proxy.WriteIdleTimeout}
	}
	if cfg.Proxy.Addr != "" {
		if err := s.listen("proxy", cfg.Proxy.Addr, nil, proxyServer(), proxyLimits(cfg.Proxy.MaxConnections)); err != nil {
			return err
		}
	}
	if cfg.Proxy.TLSAddr != "" {
		tc, err := loadTLS(cfg.Proxy.TLSCertFile, cfg.Proxy.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("proxy TLS: %w", err)
		}
		if err := s.listen("proxy-tls", cfg.Proxy.TLSAddr, tc, proxyServer(), proxyLimits(cfg.Proxy.TLSMaxConnections)); err != nil {
			return err
		}
	}
	if cfg.REST.Addr != "" {
		var tc *tls.Config
		if cfg.REST.TLSCertFile != "" {
			var err error
			if tc, err = loadTLS(cfg.REST.TLSCertFile, cfg.REST.TLSKeyFile); err != nil {
				return fmt.Errorf("REST TLS: %w", err)
			}
		}
		err := s.listen("rest", cfg.REST.Addr, tc, &http.Server{
			ReadHeaderTimeout: cfg.Proxy.ReadHeaderTimeout,
			ReadTimeout:       restReadTimeout,
			WriteTimeout:      restWriteTimeout,
			IdleTimeout:       cfg.Proxy.IdleTimeout,
			MaxHeaderBytes:    cfg.Proxy.MaxHeaderBytes,
			ErrorLog:          errorLog,
		}, connLimits{maxConns: cfg.REST.MaxConnections})
		if err != nil {
			return err
		}
	}
	if cfg.REST.Addr != "" && cfg.REST.MetricsAddr != "" {
		// Unauthenticated, on an address of the operator's choosing.
		if err := s.listen("metrics", cfg.REST.MetricsAddr, nil, statusServer(cfg, errorLog), connLimits{maxConns: cfg.REST.MaxConnections}); err != nil {
			return err
		}
	}
	return s.bindSQL(cfg)
}

// connLimits bound a listener: connections served at once, and the idle
// timeout of each write (0: none; the REST server has a WriteTimeout).
type connLimits struct {
	maxConns  int
	writeIdle time.Duration
}

func (s *Server) listen(name, addr string, tc *tls.Config, srv *http.Server, limits connLimits) error {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	var ln net.Listener = limitListener(raw, max(limits.maxConns, 1), limits.writeIdle)
	if tc != nil {
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	s.listeners = append(s.listeners, &listener{name: name, ln: ln, srv: srv})
	// Logged as soon as the kernel accepts connections, so the line always
	// precedes the first successful dial; they are served once Serve runs.
	s.log.Info(name+" listening", "addr", ln.Addr().String(), "tls", tc != nil)
	return nil
}

func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// HTTP/1.1 only, like S3 itself: clients and the proxy's streaming
		// (100-continue, aws-chunked bodies) are exercised on HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	}, nil
}

// Addrs returns the bound addresses.
func (s *Server) Addrs() Addrs {
	var a Addrs
	for _, l := range s.listeners {
		addr := l.ln.Addr().String()
		switch l.name {
		case "proxy":
			a.Proxy = addr
		case "proxy-tls":
			a.ProxyTLS = addr
		case "rest":
			a.REST = addr
		}
	}
	if s.sql != nil {
		a.SQL = s.sql.ln.Addr().String()
	}
	return a
}

// Serve serves every listener until ctx ends or one of them fails, then
// shuts all of them down gracefully (at most ShutdownTimeout) and closes the
// store. It returns nil after a stop caused by ctx. Call it once.
func (s *Server) Serve(ctx context.Context) error {
	// Background work stops before the store closes.
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	var background sync.WaitGroup
	for _, run := range s.background {
		background.Go(func() { run(bgCtx) })
	}
	errc := make(chan error, len(s.listeners)+1)
	if s.sql != nil {
		go func() {
			if err := s.sql.srv.Serve(s.sql.ln); err != nil {
				errc <- fmt.Errorf("sql: %w", err)
				return
			}
			errc <- nil
		}()
	}
	for _, l := range s.listeners {
		go func() {
			err := l.srv.Serve(l.ln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			} else if err != nil {
				err = fmt.Errorf("%s: %w", l.name, err)
			}
			errc <- err
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "timeout", ShutdownTimeout)
	case serveErr = <-errc:
		s.log.Error("listener failed, shutting down", "err", serveErr)
	}
	stopBackground()
	background.Wait()
	shutdownErr := s.shutdown()
	s.log.Info("stopped")
	return errors.Join(serveErr, shutdownErr)
}

// shutdown stops every listener gracefully, then closes the store.
func (s *Server) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, l := range s.listeners {
		wg.Go(func() {
			if err := l.srv.Shutdown(ctx); err != nil {
				s.log.Warn("graceful shutdown incomplete, closing connections", "listener", l.name, "err", err)
				_ = l.srv.Close()
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s shutdown: %w", l.name, err))
				mu.Unlock()
			}
		})
	}
	if s.sql != nil {
		wg.Go(func() { s.sql.srv.Stop(ctx) })
	}
	wg.Wait()
	for _, c := range s.closers {
		cctx, cancel := context.WithTimeout(context.Background(), auditCloseTimeout)
		if err := c(cctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close releases the listeners and the store of a Server that will not be
// served. Do not call it after Serve.
func (s *Server) Close() { s.closeAll() }

// closeAll releases whatever New opened.
func (s *Server) closeAll() {
	for _, l := range s.listeners {
		_ = l.ln.Close()
	}
	if s.sql != nil {
		_ = s.sql.ln.Close()
	}
	for _, c := range s.closers {
		cctx, cancel := context.WithTimeout(context.Background(), auditCloseTimeout)
		_ = c(cctx)
		cancel()
	}
	if s.store != nil {
		_ = s.store.Close()
	}
}

// httpErrorLog routes net/http's server log (panics in handlers, accept
// errors, TLS handshake failures) to slog. Handshake failures are routine
// (port probes, clients that distrust the certificate) and go to debug.
type httpErrorLog struct{ log *slog.Logger }

func (h httpErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	h.log.Log(context.Background(), level, msg, "component", "http")
	return len(p), nil
}
