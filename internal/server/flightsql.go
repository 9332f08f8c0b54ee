package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/flightsql"
	"github.com/lakegate/lakegate/internal/store"
)

// ticketKeySecret names the store secret that seals Flight SQL statement
// tickets; every server sharing the store uses the same key, so that a
// DoGet may reach another server than its GetFlightInfo.
const ticketKeySecret = "flightsql-ticket-key"

// sqlListener is the Arrow Flight SQL listener (sql.addr): bound with the
// others, its service built once the engine and the authenticators are.
type sqlListener struct {
	ln  net.Listener
	srv *flightsql.Server
}

// bindSQL binds sql.addr, bounded like the REST listener.
func (s *Server) bindSQL(cfg *config.Config) error {
	if cfg.SQL.Addr == "" {
		return nil
	}
	raw, err := net.Listen("tcp", cfg.SQL.Addr)
	if err != nil {
		return fmt.Errorf("sql listener: %w", err)
	}
	s.sql = &sqlListener{ln: limitListener(raw, max(cfg.SQL.MaxConnections, 1), 0)}
	s.log.Info("sql listening", "addr", s.sql.ln.Addr().String(), "tls", cfg.SQL.TLSCertFile != "")
	return nil
}

// buildSQL builds the Flight SQL service with the REST API's
// authenticators (ao) and the data plane q (nil: statements answer
// Unavailable, catalog metadata still works).
func (s *Server) buildSQL(ctx context.Context, cfg *config.Config, engine *authz.Engine, ao api.Options, st store.PolicyStore, q flightsql.Queryer) error {
	if s.sql == nil {
		return nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return err
	}
	key, err := st.EnsureSecret(ctx, ticketKeySecret, fresh)
	if err != nil {
		return fmt.Errorf("sql: ticket key: %w", err)
	}
	o := flightsql.Options{
		Engine: engine, Tokens: ao.Tokens, Groups: ao.Groups,
		TokenAuthenticators: ao.TokenAuthenticators, Passwords: ao.Passwords,
		Queryer: q, TicketKey: key, TicketTTL: cfg.SQL.TicketTTL,
		MaxConcurrentStreams: uint32(max(cfg.SQL.MaxConcurrentStreams, 1)),
		MaxHeaderBytes:       uint32(max(cfg.Proxy.MaxHeaderBytes, 0)),
		IdleTimeout:          cfg.SQL.IdleTimeout,
		PreAuthTimeout:       cfg.Proxy.PreAuthTimeout,
		Logger:               s.log.With("component", "sql"),
	}
	if cfg.SQL.TLSCertFile != "" {
		tc, err := loadTLS(cfg.SQL.TLSCertFile, cfg.SQL.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("sql TLS: %w", err)
		}
		tc.NextProtos = nil // gRPC sets h2
		o.TLS = tc
	}
	srv, err := flightsql.New(o)
	if err != nil {
		return fmt.Errorf("sql: %w", err)
	}
	s.sql.srv = srv
	return nil
}
