package nscale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/feed"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/jsonhttp"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/systoken"
)

// Engine is the policy engine as the internal API uses it.
type Engine interface {
	SessionPrincipal(user string, session *identity.Groups) authz.Principal
	Decide(p authz.Principal, a request.Access, bucket, key string) authz.Decision
	View(p authz.Principal, bucket string, priv grants.Privilege) *policy.View
	Policy() *policy.Policy
	// Fresh fails (store.ErrUnavailable) while the engine's policy may be
	// stale (authz.Engine.Fresh): the policy endpoints and the change feed
	// then answer 503, which proxies take for an unreachable server.
	Fresh() error
}

var _ Engine = (*authz.Engine)(nil)

// UpstreamCredentials gives the credentials that sign a bucket's requests
// (upstream.Client).
type UpstreamCredentials interface {
	Credentials(ctx context.Context, bucket string) (aws.Credentials, error)
}

// HandlerOptions configure the server side.
type HandlerOptions struct {
	// System authenticates callers; only identities with Method
	// systoken.Method are served. Required.
	System identity.TokenAuthenticator
	// Keys looks access keys up in the policy store (not through a cache:
	// a proxy asks only on its own cache's miss). Required.
	Keys     sigv4.CredentialLookup
	Engine   Engine              // required
	Upstream UpstreamCredentials // required
	Feed     *feed.Feed          // required
	SealKey  []byte
	// Targets are the server's upstream targets, handed to proxies with
	// the settings; nil hands none.
	Targets *Targets
	Logger  *slog.Logger
}

// maxWait bounds one long poll of the change feed, below the REST
// listener's write timeout.
const maxWait = 20 * time.Second

// maxRequest bounds an internal request body.
const maxRequest = 64 << 10

// NewHandler returns the /api/internal/ handler.
func NewHandler(o HandlerOptions) (http.Handler, error) {
	if o.System == nil || o.Keys == nil || o.Engine == nil || o.Upstream == nil || o.Feed == nil {
		return nil, errors.New("nscale: system verifier, keys, engine, upstream and feed are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &server{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathKeys+"{id}", s.key)
	mux.HandleFunc("POST "+PathAuthorize, s.fresh(s.authorize))
	mux.HandleFunc("POST "+PathView, s.fresh(s.view))
	mux.HandleFunc("POST "+PathBuckets, s.fresh(s.buckets))
	mux.HandleFunc("GET "+PathUpstream, s.upstream)
	mux.HandleFunc("GET "+PathChanges, s.fresh(s.changes))
	mux.HandleFunc("GET "+PathSettings, s.settings)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Error(w, http.StatusNotFound, "no such internal endpoint")
	})
	return s.authenticated(mux), nil
}

type server struct{ o HandlerOptions }

// authenticated serves only callers presenting a valid system token.
func (s *server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lakegate-internal"`)
			jsonhttp.Error(w, http.StatusUnauthorized, "the internal API needs the system token")
			return
		}
		id, err := s.o.System.AuthenticateToken(r.Context(), strings.TrimSpace(token))
		if err != nil || id.Method != systoken.Method {
			s.o.Logger.Warn("internal API: refused a caller without a valid system token",
				"path", r.URL.Path, "remote", r.RemoteAddr)
			jsonhttp.Error(w, http.StatusUnauthorized, "not a valid system token")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
		next.ServeHTTP(w, r)
	})
}

func (s *server) key(w http.ResponseWriter, r *http.Request) {
	cred, err := s.o.Keys.LookupCredential(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, sigv4.ErrUnknownAccessKey):
		jsonhttp.Error(w, http.StatusNotFound, "unknown access key")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, Key{
		AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken,
		Expires: cred.Expires, Owner: cred.Owner, SessionGroups: cred.SessionGroups, SessionGroupsFold: cred.SessionGroupsFold,
	})
}

// fresh answers 503 instead of next while the engine's policy may be
// stale: a proxy must neither get decisions from it nor, following the
// change feed, keep its cached allows beyond its own max_staleness.
func (s *server) fresh(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.o.Engine.Fresh(); err != nil {
			s.fail(w, r, err)
			return
		}
		next(w, r)
	}
}

func (s *server) principal(p Principal) authz.Principal {
	return s.o.Engine.SessionPrincipal(p.User, p.Session.groups())
}

func (s *server) authorize(w http.ResponseWriter, r *http.Request) {
	var req AuthorizeRequest
	if !jsonhttp.Decode(w, r, &req) {
		return
	}
	p := s.principal(req.Principal)
	if cacheable(req.Scope) {
		// One privilege at a time, in the order Decide tries them, so that
		// an allow also says which privilege was granted where.
		for _, priv := range req.AnyOf.List() {
			d := s.o.Engine.Decide(p, request.Access{Scope: req.Scope, AnyOf: grants.Privileges(priv)}, req.Bucket, req.Key)
			if d.Allowed {
				jsonhttp.Write(w, http.StatusOK, allowed(d, priv))
				return
			}
		}
	}
	d := s.o.Engine.Decide(p, request.Access{Scope: req.Scope, AnyOf: req.AnyOf}, req.Bucket, req.Key)
	if d.Unavailable { // the policy went stale since fresh looked
		s.fail(w, r, fmt.Errorf("%w: %s", store.ErrUnavailable, d.Reason))
		return
	}
	jsonhttp.Write(w, http.StatusOK, AuthorizeResponse{Allowed: d.Allowed, Reason: d.Reason, Table: d.Table, Restricted: d.Restricted})
}

// allowed is the answer for d, an allow of priv, with the location of the
// grant that allowed it when it is one a proxy may reuse: a URI grant's,
// the server for a SERVER grant, and for a DATABASE or TABLE grant the
// location of the table (or of the partition outside it) the key lies
// under. A table located at the root of a bucket gives none: table grants
// never cover the bucket itself, so no bucket-wide entry may stand for
// them.
func allowed(d authz.Decision, priv grants.Privilege) AuthorizeResponse {
	resp := AuthorizeResponse{Allowed: true, Reason: d.Reason, Table: d.Table}
	if d.Grant == nil {
		return resp
	}
	switch o := d.Grant.Grant.Object; o.Kind {
	case grants.ObjectServer:
		resp.Privilege, resp.Location = priv, &Location{Server: true}
	case grants.ObjectURI:
		resp.Privilege, resp.Location = priv, &Location{Bucket: o.Bucket, Path: o.Path}
	case grants.ObjectDatabase, grants.ObjectTable:
		t := d.Grant.Table
		if t == nil || t.Root == "" {
			return resp
		}
		bucket := bucketOf(t.Location)
		if bucket == "" {
			return resp
		}
		// The reason is the table's, without the partition of this key:
		// a proxy answers every key under the location with it (the
		// partition goes into the audit event on its own).
		m := *d.Grant
		whole := *t
		whole.Partition = ""
		m.Table = &whole
		resp.Reason = m.String()
		resp.Privilege, resp.Location = priv, &Location{Bucket: bucket, Path: t.Root}
	}
	return resp
}

// bucketOf is the bucket of a canonical location s3://bucket[/path], ""
// for anything else.
func bucketOf(loc string) string {
	rest, ok := strings.CutPrefix(loc, "s3://")
	if !ok {
		return ""
	}
	b, _, _ := strings.Cut(rest, "/")
	return b
}

// cacheable reports whether an allow in scope holds for everything under
// the granting location, so that a proxy may reuse it.
func cacheable(s request.Scope) bool {
	return s == request.ScopeObject || s == request.ScopeEachKey || s == request.ScopeBucket
}

func (s *server) view(w http.ResponseWriter, r *http.Request) {
	var req ViewRequest
	if !jsonhttp.Decode(w, r, &req) {
		return
	}
	v := s.o.Engine.View(s.principal(req.Principal), req.Bucket, req.Privilege)
	jsonhttp.Write(w, http.StatusOK, ViewResponse{All: v.All(), Paths: v.Paths()})
}

func (s *server) buckets(w http.ResponseWriter, r *http.Request) {
	var req Principal
	if !jsonhttp.Decode(w, r, &req) {
		return
	}
	all, buckets := s.o.Engine.Policy().VisibleBuckets(s.principal(req).Groups)
	jsonhttp.Write(w, http.StatusOK, BucketsResponse{All: all, Buckets: buckets})
}

func (s *server) upstream(w http.ResponseWriter, r *http.Request) {
	bucket := r.URL.Query().Get("bucket")
	c, err := s.o.Upstream.Credentials(r.Context(), bucket)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u := Upstream{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	if c.CanExpire {
		u.Expires = c.Expires
	}
	jsonhttp.Write(w, http.StatusOK, u)
}

func (s *server) changes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after uint64
	if a := q.Get("after"); a != "" {
		var err error
		if after, err = strconv.ParseUint(a, 10, 64); err != nil {
			jsonhttp.Error(w, http.StatusBadRequest, "after: not a number")
			return
		}
	}
	wait := maxWait
	if ws := q.Get("wait"); ws != "" {
		d, err := time.ParseDuration(ws)
		if err != nil || d < 0 {
			jsonhttp.Error(w, http.StatusBadRequest, "wait: not a duration")
			return
		}
		wait = min(d, maxWait)
	}
	jsonhttp.Write(w, http.StatusOK, s.o.Feed.Since(r.Context(), q.Get("epoch"), after, wait))
}

func (s *server) settings(w http.ResponseWriter, _ *http.Request) {
	jsonhttp.Write(w, http.StatusOK, Settings{SealKey: s.o.SealKey, Upstream: s.o.Targets})
}

// fail logs err and answers 500 without detail, or 503 when the policy
// store's database cannot be reached (a transient outage).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if store.IsUnavailable(err) {
		s.o.Logger.Warn("internal API request refused: the policy store is unavailable", "path", r.URL.Path, "err", err)
		jsonhttp.Error(w, http.StatusServiceUnavailable, "the policy store is unavailable")
		return
	}
	s.o.Logger.Error("internal API request failed", "path", r.URL.Path, "err", err)
	jsonhttp.Error(w, http.StatusInternalServerError, "internal error")
}
