package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"time"

	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/jsonhttp"
	"github.com/lakegate/lakegate/internal/metrics"
	"github.com/lakegate/lakegate/internal/nscale"
	"github.com/lakegate/lakegate/internal/s3/s3xml"
	"github.com/lakegate/lakegate/internal/systoken"
	"github.com/lakegate/lakegate/internal/upstream"
)

// settingsTimeout bounds how long a starting nScale proxy waits for its
// policy server before giving up with an error.
const settingsTimeout = 30 * time.Second

// systemVerifier returns the verifier of system tokens when the cluster's
// private key is configured, else nil.
func systemVerifier(s config.System) (*systoken.Verifier, error) {
	if s.PrivateKey == "" {
		return nil, nil
	}
	key, err := systoken.LoadKey(s.PrivateKey)
	if err != nil {
		return nil, err
	}
	return systoken.NewVerifier(key), nil
}

// internalHandler is the nScale internal API, or, without a system key, a
// handler explaining how to turn it on.
func internalHandler(system *systoken.Verifier, o nscale.HandlerOptions) (http.Handler, error) {
	if system == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			jsonhttp.Error(w, http.StatusNotFound, "the internal API for nScale proxies is off: set system.private_key (JWT_PRIVATE_KEY)")
		}), nil
	}
	o.System = system
	return nscale.NewHandler(o)
}

// NewProxy builds `lakegate proxy`: the access proxy alone, deciding
// through the policy server at cfg.Proxy.Server (nScale mode, seed 001).
// It authenticates with the system token, verifies keys and authorizes
// requests through the server's internal API behind its caches, signs with
// credentials the server hands out, and follows the server's change feed.
// It waits (at most 30 s) for the server to answer before returning.
func NewProxy(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if cfg.Proxy.Server == "" {
		return nil, errors.New("proxy.server (--server) is required: the policy server's REST URL")
	}
	if logger == nil {
		logger = NewLogger(cfg.Log, os.Stderr)
	}
	token, err := systoken.NewSource(cfg.System.PrivateKey, cfg.System.TokenFile, cfg.System.TokenDuration)
	if err != nil {
		return nil, err
	}
	if token == nil {
		return nil, errors.New("a system token is required to talk to the policy server: set system.private_key (JWT_PRIVATE_KEY) or system.token_file (SYSTEM_TOKEN)")
	}
	s := &Server{log: logger}
	built := false
	defer func() {
		if !built {
			s.closeAll()
		}
	}()
	if err := s.bindListeners(proxyOnly(cfg)); err != nil {
		return nil, err
	}
	if cfg.Proxy.MetricsAddr != "" {
		err := s.listen("metrics", cfg.Proxy.MetricsAddr, nil, statusServer(cfg, nil), connLimits{maxConns: statusMaxConns})
		if err != nil {
			return nil, err
		}
	}
	pool, err := upstream.RootCAs()
	if err != nil {
		return nil, err
	}
	remote, err := nscale.NewRemote(nscale.RemoteOptions{
		Server: cfg.Proxy.Server, Token: token, RootCAs: pool,
		UserPermissionTTL: cfg.Proxy.UserPermissionTTL, MaxStaleness: cfg.Proxy.MaxStaleness,
		Logger: logger.With("component", "nscale"),
	})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, settingsTimeout)
	settings, err := remote.Settings(sctx)
	cancel()
	if err != nil {
		return nil, err
	}
	sealer, err := s3xml.NewSealer(settings.SealKey)
	if err != nil {
		return nil, fmt.Errorf("policy server settings: %w", err)
	}
	up, err := proxyUpstream(ctx, cfg.Upstream, settings.Upstream, remote, logger)
	if err != nil {
		return nil, err
	}
	if cfg.REST.PublicURL == "" {
		// A node proxy's users reach the scan API on the server it asks.
		c := *cfg
		c.REST.PublicURL = cfg.Proxy.Server
		cfg = &c
	}
	gw, logger, err := s.newGateway(cfg, remote, remote, up, proxyCORSRules(cfg.Upstream, settings.Upstream), sealer, logger)
	if err != nil {
		return nil, err
	}
	for _, l := range s.listeners {
		if l.name == "metrics" {
			l.srv.Handler = statusHandler()
		} else {
			l.srv.Handler = gw
		}
	}
	s.background = append(s.background, remote.Run)
	logger.Info("nScale proxy ready", "policy_server", cfg.Proxy.Server,
		"user_permission_ttl", cfg.Proxy.UserPermissionTTL, "max_staleness", cfg.Proxy.MaxStaleness)
	built = true
	return s, nil
}

// statusMaxConns bounds the connections of an nScale proxy's metrics
// address (a scraper and a health check need a few).
const statusMaxConns = 64

// statusServer is the server of a metrics address: short requests only.
func statusServer(cfg *config.Config, errorLog *log.Logger) *http.Server {
	return &http.Server{
		ReadHeaderTimeout: cfg.Proxy.ReadHeaderTimeout,
		ReadTimeout:       restReadTimeout,
		WriteTimeout:      restWriteTimeout,
		IdleTimeout:       cfg.Proxy.IdleTimeout,
		ErrorLog:          errorLog,
	}
}

// statusHandler serves a metrics address: /metrics, unauthenticated (the
// address is the operator's choice, e.g. loopback), and /health.
func statusHandler() http.Handler {
	status := http.NewServeMux()
	status.Handle("GET /metrics", metrics.Handler())
	status.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, map[string]string{"health": "ok"})
	})
	return status
}

// proxyOnly is cfg without the REST listener, which `lakegate proxy` does
// not serve.
func proxyOnly(cfg *config.Config) *config.Config {
	c := *cfg
	c.REST.Addr = ""
	return &c
}

// wireTargets are u's targets as the internal API hands them to proxies.
func wireTargets(u config.Upstream) *nscale.Targets {
	def, buckets := upstreamTargets(u)
	t := &nscale.Targets{Default: nscale.Target(def)}
	for name, b := range buckets {
		if t.Buckets == nil {
			t.Buckets = map[string]nscale.Target{}
		}
		t.Buckets[name] = nscale.Target(b)
	}
	t.CORS = wireCORS(u)
	return t
}

// proxyUpstream is an nScale proxy's upstream client: the policy server's
// targets (so that one configuration governs where requests go and the
// credentials the server hands out are used where they are meant for),
// signed with the credentials it hands out. Upstream settings of the
// proxy's own configuration (upstream.buckets.<b>.cors included: see
// proxyCORSRules) are ignored then, with a warning; a server that sends
// no targets leaves them in force.
func proxyUpstream(ctx context.Context, local config.Upstream, server *nscale.Targets, source upstream.CredentialSource, logger *slog.Logger) (*upstream.Client, error) {
	if server == nil {
		logger.Warn("the policy server sends no upstream targets (an older version); using this proxy's upstream settings")
		return newUpstream(ctx, local, source)
	}
	def := config.Default().Upstream
	explicit := local.Endpoint != def.Endpoint || local.Region != def.Region || local.PathStyle != def.PathStyle ||
		local.SignPayload != def.SignPayload || len(local.Buckets) > 0
	if mine := wireTargets(local); explicit && !reflect.DeepEqual(mine, server) {
		logger.Warn("upstream.endpoint, region, path_style, sign_payload and buckets (their cors included) of this proxy's configuration are ignored: the policy server's govern",
			"server_endpoint", server.Default.Endpoint, "server_region", server.Default.Region)
	}
	opts := upstream.Options{Default: upstream.Target(server.Default), Source: source}
	for name, b := range server.Buckets {
		if opts.Buckets == nil {
			opts.Buckets = map[string]upstream.Target{}
		}
		opts.Buckets[name] = upstream.Target(b)
	}
	return newUpstreamClient(opts)
}
