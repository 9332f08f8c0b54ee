// Package flightsql is lakegate's Arrow Flight SQL listener: BI tools and
// JDBC/ADBC drivers authenticate with the REST API's credentials (bearer
// lakegate tokens and JWTs, Basic user name with a lakegate token or an
// LDAP/SSO password), see only the databases and tables the policy lets
// them see, and run read-only SQL through the data plane, which applies
// their column, row and mask policies.
//
// Statements are not kept on the server: GetFlightInfo answers with a
// ticket holding the SQL sealed (HMAC) for the caller and an expiry, and
// DoGet runs it with the caller's own principal, refusing a ticket that
// is forged, expired or another user's. Prepared statements are the same
// sealed SQL, without parameters. Everything that writes is Unimplemented.
package flightsql

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/store"
)

// Records is a query's result, streamed: *scan.Result satisfies it.
type Records interface {
	Schema() *arrow.Schema
	// Next advances to the next batch; false at the end or on error.
	Next() bool
	// RecordBatch is the current batch, valid until the next Next.
	RecordBatch() arrow.RecordBatch
	Err() error
	Close() error
}

// Queryer runs a user's read-only SQL with the user's policy applied (the
// data plane). Errors wrap scan's sentinels (scan.ErrRefused, ErrLimit,
// ErrQuery, ErrUnsupported), authz.ErrInvalid (a table that does not
// exist or that p may not see), authz.ErrForbidden or store.ErrUnavailable;
// anything else is an internal failure.
type Queryer interface {
	Query(ctx context.Context, p authz.Principal, sql string) (Records, error)
}

// QueryFunc adapts a function to Queryer.
type QueryFunc func(ctx context.Context, p authz.Principal, sql string) (Records, error)

// Query calls f.
func (f QueryFunc) Query(ctx context.Context, p authz.Principal, sql string) (Records, error) {
	return f(ctx, p, sql)
}

// Engine is what the listener needs of the policy engine
// (*authz.Engine).
type Engine interface {
	Fresh() error
	KnownUser(user string) bool
	SessionPrincipal(user string, session *identity.Groups) authz.Principal
	VisibleDatabases(p authz.Principal) []store.Database
	VisibleTables(p authz.Principal, db string) ([]store.Table, error)
	// EffectivePolicy gives the columns p sees of a table (GetTables'
	// schemas); ErrForbidden when p sees the table but may read none.
	EffectivePolicy(p authz.Principal, db, table string) (authz.Effective, error)
}

var _ Engine = (*authz.Engine)(nil)

// Tokens authenticates lakegate bearer tokens and issues the session
// token a Basic handshake answers with (*credentials.Tokens).
type Tokens interface {
	// AuthenticateSession returns the token's identity, or an error
	// wrapping credentials.ErrInvalidToken for a bad token.
	AuthenticateSession(ctx context.Context, raw string) (identity.Identity, error)
	IssueSession(ctx context.Context, userName string, groups *identity.Groups, ttl time.Duration) (string, error)
}

// GroupResolver resolves an identity's groups (*identity.Resolver).
type GroupResolver interface {
	Resolve(ctx context.Context, id identity.Identity) (identity.Groups, error)
}

// TokenGranter is a password check that hands out a token (the SSO
// endpoint); see api.TokenGranter.
type TokenGranter interface {
	GrantToken(ctx context.Context, user, password string) (identity.Identity, string, error)
}

// Defaults of Options' limits.
const (
	DefaultTicketTTL            = 10 * time.Minute
	DefaultMaxRecvBytes         = 1 << 20
	DefaultMaxSendBytes         = 64 << 20
	DefaultMaxConcurrentStreams = 64
	DefaultMaxHeaderBytes       = 64 << 10
	DefaultIdleTimeout          = 5 * time.Minute
	DefaultQueryTimeout         = 10 * time.Minute
	DefaultPreAuthTimeout       = 10 * time.Second
	// DefaultMaxSQLBytes bounds a statement's text.
	DefaultMaxSQLBytes = 256 << 10
)

// Options configure a Server. Engine, Tokens and TicketKey are required.
type Options struct {
	Engine Engine
	Tokens Tokens
	// TokenAuthenticators accept bearer tokens other than lakegate's own
	// (JWTs), tried in order.
	TokenAuthenticators []identity.TokenAuthenticator
	// Passwords checks Basic passwords (LDAP, or a TokenGranter for the
	// SSO endpoint); nil: only lakegate tokens in Basic.
	Passwords identity.PasswordAuthenticator
	// Groups resolves groups of users the users table does not list.
	Groups GroupResolver
	// Queryer runs statements; nil: statements are Unavailable (the
	// catalog calls still answer).
	Queryer Queryer
	// TicketKey seals statement handles; at least MinTicketKey bytes,
	// the same on every server sharing the store.
	TicketKey []byte
	// TicketTTL is how long a statement handle stays valid.
	TicketTTL time.Duration
	// TLS, when set, serves gRPC over TLS.
	TLS *tls.Config
	// MaxRecvBytes bounds one received message (a command, a ticket);
	// MaxSendBytes one sent message.
	MaxRecvBytes, MaxSendBytes int
	// MaxConcurrentStreams bounds the calls in flight on one connection.
	MaxConcurrentStreams uint32
	// MaxHeaderBytes bounds a call's metadata, read before any
	// authentication.
	MaxHeaderBytes uint32
	// IdleTimeout closes a connection without calls for that long.
	IdleTimeout time.Duration
	// PreAuthTimeout bounds a new connection's TLS and HTTP/2 setup.
	PreAuthTimeout time.Duration
	// MaxSQLBytes bounds a statement's text.
	MaxSQLBytes int
	// QueryTimeout bounds how long a statement's results stream, however
	// slowly the client reads: past it the query is closed (its database,
	// memory and spill files freed) and the stream ends
	// (default DefaultQueryTimeout).
	QueryTimeout time.Duration
	// Version is reported in GetSqlInfo.
	Version string
	Logger  *slog.Logger
}

// Server is the Flight SQL service.
type Server struct {
	flightsql.BaseServer
	o      Options
	log    *slog.Logger
	ticket ticketSealer
	grpc   *grpc.Server
}

// New returns a Server for o.
func New(o Options) (*Server, error) {
	if o.Engine == nil || o.Tokens == nil {
		return nil, errors.New("flightsql: engine and tokens are required")
	}
	if len(o.TicketKey) < MinTicketKey {
		return nil, errors.New("flightsql: the ticket key is too short")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxRecvBytes, DefaultMaxRecvBytes)
	def(&o.MaxSendBytes, DefaultMaxSendBytes)
	def(&o.MaxSQLBytes, DefaultMaxSQLBytes)
	if o.MaxConcurrentStreams == 0 {
		o.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.TicketTTL <= 0 {
		o.TicketTTL = DefaultTicketTTL
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.PreAuthTimeout <= 0 {
		o.PreAuthTimeout = DefaultPreAuthTimeout
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	s := &Server{o: o, log: o.Logger, ticket: ticketSealer{key: o.TicketKey, ttl: o.TicketTTL, now: time.Now}}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for id, v := range map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:     "lakegate",
		flightsql.SqlInfoFlightSqlServerVersion:  o.Version,
		flightsql.SqlInfoFlightSqlServerReadOnly: true,
		flightsql.SqlInfoFlightSqlServerSql:      true,
	} {
		if err := s.RegisterSqlInfo(id, v); err != nil {
			return nil, err
		}
	}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unaryAuth),
		grpc.ChainStreamInterceptor(s.streamAuth),
		grpc.MaxRecvMsgSize(o.MaxRecvBytes),
		grpc.MaxSendMsgSize(o.MaxSendBytes),
		grpc.MaxConcurrentStreams(o.MaxConcurrentStreams),
		grpc.MaxHeaderListSize(o.MaxHeaderBytes),
		grpc.ConnectionTimeout(o.PreAuthTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: o.IdleTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if o.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(o.TLS)))
	}
	s.grpc = grpc.NewServer(opts...)
	flight.RegisterFlightServiceServer(s.grpc, handshaker{FlightServer: flightsql.NewFlightServer(s), s: s})
	return s, nil
}

// Serve accepts connections on l until Stop; it returns nil after Stop.
func (s *Server) Serve(l net.Listener) error {
	err := s.grpc.Serve(l)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Stop lets calls in flight finish until ctx is done, then cuts them.
func (s *Server) Stop(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
}

// handshaker answers the Flight handshake (which the interceptor has
// authenticated) with the authorization the client sends afterwards.
type handshaker struct {
	flight.FlightServer
	s *Server
}

func (h handshaker) Handshake(stream flight.FlightService_HandshakeServer) error {
	ctx := stream.Context()
	c, ok := callerFrom(ctx)
	if !ok {
		return errNoCaller
	}
	tok, err := h.s.handshakeToken(ctx, c)
	if err != nil {
		h.s.log.Error("Flight SQL handshake: issuing a token failed", "user", c.id.User, "err", err.Error())
		return toStatus(err)
	}
	if err := stream.SendHeader(metadataAuthorization(tok)); err != nil {
		return err
	}
	return stream.Send(&flight.HandshakeResponse{})
}
