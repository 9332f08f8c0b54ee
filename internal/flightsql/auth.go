package flightsql

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/identity"
)

// caller is an authenticated call's identity and principal, with the
// groups of its session (nil for a user of the users table) and the token
// an SSO endpoint granted for a Basic login ("").
type caller struct {
	id      identity.Identity
	p       authz.Principal
	session *identity.Groups
	granted string
	basic   bool
}

type callerKey struct{}

func callerFrom(ctx context.Context) (caller, bool) {
	c, ok := ctx.Value(callerKey{}).(caller)
	return c, ok
}

// errNoCaller: a handler reached without the interceptor (a bug).
var errNoCaller = status.Error(codes.Unauthenticated, "unauthenticated")

// unauthenticated is the one answer to refused credentials: no detail.
var unauthenticated = status.Error(codes.Unauthenticated, "unauthenticated")

// authenticate establishes who sent the call from its authorization
// metadata, as the REST API does from its Authorization header: a
// lakegate token or another bearer token (a JWT) in "Bearer", a user name
// and a lakegate token or password (LDAP, the SSO endpoint) in "Basic".
// Bad credentials give an error wrapping identity.ErrUnauthenticated;
// others are technical.
func (s *Server) authenticate(ctx context.Context) (identity.Identity, string, bool, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) != 1 {
		return identity.Identity{}, "", false, fmt.Errorf("%w: %d authorization values", identity.ErrUnauthenticated, len(vals))
	}
	scheme, value, _ := strings.Cut(vals[0], " ")
	value = strings.TrimSpace(value)
	switch {
	case strings.EqualFold(scheme, "Bearer") && value != "":
		id, err := s.bearer(ctx, value)
		return id, "", false, err
	case strings.EqualFold(scheme, "Basic") && value != "":
		// The arrow-go client encodes without padding, others with.
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(value)
		}
		if err != nil {
			return identity.Identity{}, "", true, fmt.Errorf("%w: malformed Basic credentials", identity.ErrUnauthenticated)
		}
		user, secret, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" || secret == "" {
			return identity.Identity{}, "", true, fmt.Errorf("%w: malformed Basic credentials", identity.ErrUnauthenticated)
		}
		id, granted, err := s.basic(ctx, user, secret)
		return id, granted, true, err
	}
	return identity.Identity{}, "", false, fmt.Errorf("%w: no credentials", identity.ErrUnauthenticated)
}

// bearer authenticates a bearer token with the REST API's verifiers.
func (s *Server) bearer(ctx context.Context, token string) (identity.Identity, error) {
	return credentials.AuthenticateBearer(ctx, s.o.Tokens, token, s.o.TokenAuthenticators)
}

// basic authenticates a user name with a lakegate token (which must be
// that user's) or a password.
func (s *Server) basic(ctx context.Context, user, secret string) (identity.Identity, string, error) {
	if strings.HasPrefix(secret, credentials.TokenPrefix) {
		id, err := s.bearer(ctx, secret)
		if err == nil && id.User != user {
			return identity.Identity{}, "", fmt.Errorf("%w: the token is not %q's", identity.ErrUnauthenticated, user)
		}
		return id, "", err
	}
	if s.o.Passwords == nil {
		return identity.Identity{}, "", fmt.Errorf("%w: password logins are not configured", identity.ErrUnauthenticated)
	}
	if g, ok := s.o.Passwords.(TokenGranter); ok {
		return g.GrantToken(ctx, user, secret)
	}
	id, err := s.o.Passwords.AuthenticatePassword(ctx, user, secret)
	return id, "", err
}

// principal resolves who id is for authorization, as the REST API does:
// the users table's groups for a lakegate token without a session issued
// to a user it lists, else the resolved groups (seed 002), else those the
// credential carried. Outside the required group is an error wrapping
// identity.ErrNotInRequiredGroup.
func (s *Server) principal(ctx context.Context, id identity.Identity) (caller, error) {
	p, session, err := authz.PrincipalOf(ctx, s.o.Engine, s.o.Groups, id)
	if err != nil {
		return caller{}, err
	}
	return caller{id: id, p: p, session: session}, nil
}

// authorize authenticates the call and returns its context carrying the
// caller, or the gRPC error to answer with.
func (s *Server) authorize(ctx context.Context, method string) (context.Context, error) {
	if err := s.o.Engine.Fresh(); err != nil {
		s.log.Warn("Flight SQL call refused: the policy is not current", "method", method, "err", err.Error())
		return nil, status.Error(codes.Unavailable, "the policy store is unavailable")
	}
	id, granted, basic, err := s.authenticate(ctx)
	switch {
	case errors.Is(err, identity.ErrUnauthenticated):
		s.log.Info("Flight SQL authentication failed", "method", method, "err", err.Error())
		return nil, unauthenticated
	case err != nil:
		s.log.Error("Flight SQL authentication could not be made", "method", method, "err", err.Error())
		return nil, status.Error(codes.Unavailable, "the credentials could not be checked")
	}
	c, err := s.principal(ctx, id)
	switch {
	case errors.Is(err, identity.ErrNotInRequiredGroup), errors.Is(err, identity.ErrUnauthenticated):
		s.log.Info("Flight SQL access refused", "method", method, "user", id.User, "err", err.Error())
		return nil, status.Error(codes.PermissionDenied, "access refused")
	case err != nil:
		s.log.Error("Flight SQL group resolution failed", "method", method, "user", id.User, "err", err.Error())
		return nil, status.Error(codes.Unavailable, "the groups could not be resolved")
	}
	c.granted, c.basic = granted, basic
	// The data plane copies where the call came from and how its caller
	// authenticated into the scan's audit record, as for REST scans.
	ev := &audit.Event{Source: audit.SourceScan, AuthMethod: id.Method}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		ev.ClientIP = audit.ClientIP(pr.Addr.String())
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if ua := md.Get("user-agent"); len(ua) > 0 {
			ev.UserAgent = ua[0]
		}
	}
	ctx = audit.NewContext(ctx, ev)
	return context.WithValue(ctx, callerKey{}, c), nil
}

func (s *Server) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := s.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := s.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, authedStream{ServerStream: ss, ctx: ctx})
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (a authedStream) Context() context.Context { return a.ctx }

// handshakeTTL bounds the token a Basic handshake hands out.
const handshakeTTL = 12 * time.Hour

// handshakeToken is the authorization value a Flight handshake answers
// with, for the client to send on later calls: the bearer token itself;
// for a Basic login the token the SSO endpoint granted, or a lakegate
// token for the session (so that a password is checked once, not at
// every call).
func (s *Server) handshakeToken(ctx context.Context, c caller) (string, error) {
	if !c.basic {
		md, _ := metadata.FromIncomingContext(ctx)
		return md.Get("authorization")[0], nil
	}
	if c.granted != "" {
		return "Bearer " + c.granted, nil
	}
	ttl := handshakeTTL
	if !c.id.Expires.IsZero() {
		left := time.Until(c.id.Expires.Truncate(time.Second))
		if left <= 0 {
			return "", unauthenticated
		}
		ttl = min(ttl, left)
	}
	if c.id.Method == credentials.MethodToken {
		// Basic with a lakegate token: that token is the session.
		md, _ := metadata.FromIncomingContext(ctx)
		return md.Get("authorization")[0], nil
	}
	tok, err := s.o.Tokens.IssueSession(ctx, c.id.User, c.session, ttl)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}
