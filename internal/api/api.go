// Package api is lakegate's REST API: Okera-compatible health endpoints,
// the policy endpoints behind `lakegate sql`, `lakegate users` and
// `lakegate check`, and what a user may see of the catalog (catalog.go).
// Every response, errors included, is JSON; callers authenticate with a
// bearer token.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/credentials"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/jsonhttp"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/systoken"
)

// Engine is the policy engine as the API uses it.
type Engine interface {
	Principal(user string) authz.Principal
	SessionPrincipal(user string, session *identity.Groups) authz.Principal
	KnownUser(user string) bool
	IsCatalogAdmin(p authz.Principal) bool
	Exec(ctx context.Context, caller authz.Principal, script string) ([]authz.Result, error)
	Check(p authz.Principal, target, operation string) (authz.Decision, error)
	PutUser(ctx context.Context, name string, groups []string) error
	DeleteUser(ctx context.Context, name string) error
	// Fresh fails (store.ErrUnavailable) while the policy in force may be
	// stale; authenticated requests are then refused with 503.
	Fresh() error
	// Catalog answers the catalog endpoints (catalog.go).
	Catalog
}

// Tokens authenticates and issues bearer tokens.
type Tokens interface {
	// AuthenticateSession returns the token's identity (user, expiry and
	// the session groups it carries), or an error wrapping
	// credentials.ErrInvalidToken for a bad token (other errors are
	// technical failures).
	AuthenticateSession(ctx context.Context, raw string) (identity.Identity, error)
	Issue(ctx context.Context, userName string, ttl time.Duration) (string, error)
	// IssueSession issues a token whose requests act with groups (nil:
	// the user's groups, resolved at each use).
	IssueSession(ctx context.Context, userName string, groups *identity.Groups, ttl time.Duration) (string, error)
}

// Keys issues AWS-style access keys.
type Keys interface {
	Issue(ctx context.Context, userName string, ttl time.Duration) (store.AccessKey, error)
	IssueSession(ctx context.Context, userName string, groups *identity.Groups, ttl time.Duration) (store.AccessKey, error)
	// RevokeUser deletes every key and token of a user, returning the ids
	// of the deleted keys and the number of tokens.
	RevokeUser(ctx context.Context, userName string) (keyIDs []string, tokens int, err error)
}

var (
	_ Engine = (*authz.Engine)(nil)
	_ Tokens = (*credentials.Tokens)(nil)
	_ Keys   = (*credentials.Service)(nil)
)

// Options configure the API handler.
type Options struct {
	Engine Engine
	Tokens Tokens
	Keys   Keys
	// TokenAuthenticators accept bearer tokens other than lakegate's own
	// (JWTs), tried in order.
	TokenAuthenticators []identity.TokenAuthenticator
	// Negotiator accepts Kerberos (Authorization: Negotiate); nil: off.
	Negotiator Negotiator
	// Passwords accepts user name and password (Authorization: Basic),
	// e.g. an LDAP bind; nil: off.
	Passwords identity.PasswordAuthenticator
	// Groups resolves the groups of users the users table does not list;
	// nil: the groups the credential carried (a JWT's claim), if any.
	Groups GroupResolver
	// OnRevoke is called with every revoked access key id, so that the
	// proxy's credential cache in this process forgets it at once.
	OnRevoke func(accessKeyID string)
	// AfterRevoke, when set, is called once after a user's keys were
	// revoked, with their ids (e.g. to tell other processes sharing the
	// store).
	AfterRevoke func(ctx context.Context, user string, accessKeyIDs []string)
	// CredentialTTL bounds keys from /api/aws-credentials
	// (GO_REST_AWS_TOKEN_EXPIRY); zero means DefaultCredentialTTL.
	CredentialTTL time.Duration
	// AuditQuery answers GET /api/audit (audit.QueryHandler) for catalog
	// admins; nil: the endpoint answers 404.
	AuditQuery http.Handler
	// Scanner runs the data plane's scans (GET /api/scan/{db.table},
	// POST /api/scan); nil: those endpoints answer 404.
	Scanner Scanner
	// ScanTimeout is the data plane's bound on one query (scan.timeout): a
	// scan's response may be written for that long, past the REST server's
	// write timeout; 0 keeps the server's.
	ScanTimeout time.Duration
	// Metrics answers GET /metrics for catalog admins and the system token
	// (process and cache figures are not for every user); nil: 404.
	Metrics http.Handler
	// AllowedOrigins are browser origins (scheme://host[:port]) besides the
	// server's own that may send state-changing requests; see guard.go.
	AllowedOrigins []string
	// Logger receives internal errors; nil discards.
	Logger *slog.Logger
}

// maxBody bounds request bodies (a policy script of 1 MiB plus JSON).
const maxBody = 2 << 20

type handler struct {
	Options
	tokens tokenCache
	log    *slog.Logger
}

// New returns the REST API handler.
func New(o Options) (http.Handler, error) {
	if o.Engine == nil || o.Tokens == nil || o.Keys == nil {
		return nil, errors.New("api: engine, tokens and keys are required")
	}
	h := &handler{Options: o, log: o.Logger}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/health", only("GET, HEAD", h.health))
	mux.HandleFunc("/api/health-authenticated", only("GET", h.authedID(h.healthAuthenticated)))
	mux.HandleFunc("/api/get-user", only("GET", h.authedID(h.getUser)))
	mux.HandleFunc("/api/get-token", only("POST", h.authedID(h.getToken)))
	mux.HandleFunc("/api/aws-credentials", only("POST", h.authedID(h.awsCredentials)))
	mux.HandleFunc("/api/credentials/revoke", only("POST", h.authed(h.revokeCredentials)))
	mux.HandleFunc("/api/sql", only("POST", h.authed(h.sql)))
	mux.HandleFunc("/api/check", only("GET", h.authed(h.check)))
	mux.HandleFunc("/api/databases", only("GET", h.authed(h.databases)))
	mux.HandleFunc("/api/databases/{db}/tables", only("GET", h.authed(h.tables)))
	mux.HandleFunc("/api/datasets/{name}", only("GET", h.authed(h.dataset)))
	mux.HandleFunc("/api/scan", only("POST", h.authed(h.scanQuery)))
	mux.HandleFunc("/api/scan/{name}", only("GET", h.authed(h.scanTable)))
	mux.HandleFunc("/api/users", only("POST", h.authed(h.createUser)))
	mux.HandleFunc("/api/users/{name}", only("DELETE", h.authed(h.deleteUser)))
	mux.HandleFunc("/api/audit", only("GET", h.authed(h.auditQuery)))
	mux.HandleFunc("/metrics", only("GET", h.metrics))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		jsonhttp.Error(w, http.StatusNotFound, "no such endpoint")
	})
	return h.guard(mux), nil
}

// only answers 405 with an Allow header to methods not in allow (a
// comma-separated list), so that errors stay JSON.
func only(allow string, next http.HandlerFunc) http.HandlerFunc {
	methods := splitList(allow)
	return func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			if r.Method == m {
				next(w, r)
				return
			}
		}
		w.Header().Set("Allow", allow)
		jsonhttp.Error(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (h *handler) health(w http.ResponseWriter, _ *http.Request) {
	jsonhttp.Write(w, http.StatusOK, map[string]string{"health": "ok"})
}

// sqlRequest is the body of POST /api/sql, always JSON: a text/plain body
// is what a cross-site HTML form can send (see guard.go).
type sqlRequest struct {
	SQL string `json:"sql"`
}

// SQLResponse is the answer of POST /api/sql: one result per statement.
type SQLResponse struct {
	Results []authz.Result `json:"results"`
}

func (h *handler) sql(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	var req sqlRequest
	if !jsonhttp.Decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.SQL) == "" {
		jsonhttp.Error(w, http.StatusBadRequest, `no statements: send {"sql": "GRANT …;"}`)
		return
	}
	results, err := h.Engine.Exec(r.Context(), caller, req.SQL)
	var (
		syn  *grants.SyntaxError
		exec *authz.ExecError
	)
	switch {
	case err == nil:
		if results == nil {
			results = []authz.Result{}
		}
		jsonhttp.Write(w, http.StatusOK, SQLResponse{Results: results})
	case errors.As(err, &syn):
		jsonhttp.Write(w, http.StatusBadRequest, ErrorResponse{Error: "syntax error: " + syn.Error(), Line: syn.Line, Column: syn.Col})
	case errors.As(err, &exec) && statusOf(err) != http.StatusInternalServerError:
		// A statement that failed in the store is an internal error like
		// any other: its text is the store's and stays in the log.
		jsonhttp.Write(w, statusOf(err), ErrorResponse{Error: exec.Error(), Line: exec.Line, Column: exec.Col})
	case errors.Is(err, authz.ErrInvalid) || errors.Is(err, authz.ErrForbidden):
		jsonhttp.Error(w, statusOf(err), err.Error())
	default:
		h.internal(w, r, err)
	}
}

// statusOf maps the engine's errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, authz.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, authz.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// CheckResponse is the answer of GET /api/check: the decision on one access
// with its reason, for the principal that was checked.
type CheckResponse struct {
	Decision  string   `json:"decision"` // ALLOW or DENY
	Allowed   bool     `json:"allowed"`
	Reason    string   `json:"reason"`
	User      string   `json:"user"`
	Groups    []string `json:"groups"`
	URI       string   `json:"uri"`
	Operation string   `json:"operation"`
}

// check explains a decision: GET /api/check?user=U&groups=g1,g2&uri=…&operation=…,
// or for a catalog table …&table=db.t[&privilege=SELECT] (checkTable).
// Without groups, the user's own groups are used. Catalog admins may check
// anyone; other users only themselves with their own groups.
func (h *handler) check(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	q := r.URL.Query()
	user, uri, op := q.Get("user"), q.Get("uri"), q.Get("operation")
	if user == "" {
		user = caller.User
	}
	table := q.Has("table")
	switch {
	case table && (uri != "" || op != ""):
		jsonhttp.Error(w, http.StatusBadRequest, "give either uri and operation, or table (and privilege), not both")
		return
	case !table && q.Has("privilege"):
		jsonhttp.Error(w, http.StatusBadRequest, "privilege goes with table; with uri, give an operation")
		return
	case !table && (uri == "" || op == ""):
		jsonhttp.Error(w, http.StatusBadRequest, "uri and operation are required, e.g. ?user=alice&uri=s3://bucket/key&operation=GetObject")
		return
	}
	admin := h.Engine.IsCatalogAdmin(caller)
	p := h.Engine.Principal(user)
	if gs := q.Get("groups"); gs != "" {
		p.Groups = splitList(gs)
		if !admin {
			jsonhttp.Error(w, http.StatusForbidden, "only catalog admins may check with groups of their choosing")
			return
		}
	}
	if !admin && user != caller.User {
		jsonhttp.Error(w, http.StatusForbidden, "only catalog admins may check another user's access")
		return
	}
	if table {
		h.checkTable(w, r, caller, p)
		return
	}
	d, err := h.Engine.Check(p, uri, op)
	if err != nil {
		if errors.Is(err, authz.ErrInvalid) {
			jsonhttp.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		h.internal(w, r, err)
		return
	}
	resp := CheckResponse{Decision: "DENY", Allowed: d.Allowed, Reason: d.Reason, User: p.User, Groups: p.Groups, URI: uri, Operation: op}
	if d.Allowed {
		resp.Decision = "ALLOW"
	}
	if resp.Groups == nil {
		resp.Groups = []string{}
	}
	jsonhttp.Write(w, http.StatusOK, resp)
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

type createUserRequest struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
}

// CreatedUser is the answer of POST /api/users: the user with its groups
// and its new access key and token.
type CreatedUser struct {
	User            string   `json:"user"`
	Groups          []string `json:"groups"`
	AccessKeyID     string   `json:"access_key_id"`
	SecretAccessKey string   `json:"secret_access_key"`
	Token           string   `json:"token"`
}

// createUser creates a user (or replaces its groups) and issues it a new
// access key and token: POST /api/users {"name": …, "groups": […]}.
func (h *handler) createUser(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	if !h.Engine.IsCatalogAdmin(caller) {
		jsonhttp.Error(w, http.StatusForbidden, "only catalog admins may create users")
		return
	}
	var req createUserRequest
	if !jsonhttp.Decode(w, r, &req) {
		return
	}
	if !validName(req.Name) {
		jsonhttp.Error(w, http.StatusBadRequest, "name must be 1 to 128 characters without spaces, slashes or control characters")
		return
	}
	for _, g := range req.Groups {
		if !validName(g) {
			jsonhttp.Error(w, http.StatusBadRequest, "group "+jsonQuote(g)+" is not a valid name")
			return
		}
	}
	if err := h.Engine.PutUser(r.Context(), req.Name, req.Groups); err != nil {
		h.internal(w, r, err)
		return
	}
	key, err := h.Keys.Issue(r.Context(), req.Name, 0)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	tok, err := h.Tokens.Issue(r.Context(), req.Name, 0)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	p := h.Engine.Principal(req.Name)
	if p.Groups == nil {
		p.Groups = []string{}
	}
	jsonhttp.Write(w, http.StatusCreated, CreatedUser{
		User: req.Name, Groups: p.Groups, AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey, Token: tok,
	})
}

// deleteUser removes a user with its keys and tokens: DELETE /api/users/{name}.
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	if !h.Engine.IsCatalogAdmin(caller) {
		jsonhttp.Error(w, http.StatusForbidden, "only catalog admins may delete users")
		return
	}
	name := r.PathValue("name")
	// Keys first: a user known only to an identity provider has keys but
	// no row in the users table, and they must stop working too.
	rev, ok := h.revoke(w, r, name)
	if !ok {
		return
	}
	err := h.Engine.DeleteUser(r.Context(), name)
	switch {
	case errors.Is(err, authz.ErrInvalid) && rev.Keys == 0 && rev.Tokens == 0:
		jsonhttp.Error(w, http.StatusNotFound, err.Error())
		return
	case err != nil && !errors.Is(err, authz.ErrInvalid):
		h.internal(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"deleted": name, "keys": rev.Keys, "tokens": rev.Tokens})
}

// auditQuery serves GET /api/audit to catalog admins: the audit events
// matching the query's filters (user, since, until, decision, uri_prefix,
// operation, limit).
func (h *handler) auditQuery(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	if !h.Engine.IsCatalogAdmin(caller) {
		jsonhttp.Error(w, http.StatusForbidden, "only catalog admins may read the audit log")
		return
	}
	if h.AuditQuery == nil {
		jsonhttp.Error(w, http.StatusNotFound, "the audit log is not readable through this server")
		return
	}
	h.AuditQuery.ServeHTTP(w, r)
}

// metrics serves GET /metrics to lakegate's own processes (the system
// token, whose user has no groups to resolve) and to catalog admins.
func (h *handler) metrics(w http.ResponseWriter, r *http.Request) {
	id, granted, ok := h.identify(w, r)
	if !ok {
		return
	}
	if id.Method == systoken.Method {
		if ev := audit.FromContext(r.Context()); ev != nil {
			ev.User, ev.AuthMethod = id.User, id.Method
		}
	} else {
		c, ok := h.resolve(w, r, id, granted)
		if !ok {
			return
		}
		if !h.Engine.IsCatalogAdmin(c.p) {
			jsonhttp.Error(w, http.StatusForbidden, "only catalog admins and the system token may read the metrics")
			return
		}
	}
	if h.Metrics == nil {
		jsonhttp.Error(w, http.StatusNotFound, "no metrics on this server")
		return
	}
	h.Metrics.ServeHTTP(w, r)
}

// Revoked is the answer of POST /api/credentials/revoke.
type Revoked struct {
	User   string `json:"user"`
	Keys   int    `json:"keys"`
	Tokens int    `json:"tokens"`
}

// revokeCredentials deletes every access key and token of a user:
// POST /api/credentials/revoke {"user": …}. Catalog admins may revoke
// anyone's; users their own.
func (h *handler) revokeCredentials(w http.ResponseWriter, r *http.Request, caller authz.Principal) {
	var req struct {
		User string `json:"user"`
	}
	if !jsonhttp.Decode(w, r, &req) {
		return
	}
	if req.User == "" {
		req.User = caller.User
	}
	if req.User != caller.User && !h.Engine.IsCatalogAdmin(caller) {
		jsonhttp.Error(w, http.StatusForbidden, "only catalog admins may revoke another user's credentials")
		return
	}
	if rev, ok := h.revoke(w, r, req.User); ok {
		jsonhttp.Write(w, http.StatusOK, rev)
	}
}

// revoke deletes user's keys and tokens and drops the keys from this
// process's caches; on failure it has answered 500.
func (h *handler) revoke(w http.ResponseWriter, r *http.Request, user string) (Revoked, bool) {
	ids, tokens, err := h.Keys.RevokeUser(r.Context(), user)
	if h.OnRevoke != nil {
		for _, id := range ids {
			h.OnRevoke(id)
		}
	}
	if err != nil {
		h.internal(w, r, err)
		return Revoked{}, false
	}
	h.tokens.drop(user)
	if h.AfterRevoke != nil {
		h.AfterRevoke(r.Context(), user, ids)
	}
	return Revoked{User: user, Keys: len(ids), Tokens: tokens}, true
}

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '/' || r == ',' {
			return false
		}
	}
	return true
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// internal logs err and answers 500 without detail, or 503 when the
// policy store's database cannot be reached (fail closed; the client may
// retry, and the store reconnects by itself).
func (h *handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	if store.IsUnavailable(err) {
		h.log.Warn("REST request refused: the policy store is unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		jsonhttp.Error(w, http.StatusServiceUnavailable, "the policy store is unavailable; retry later")
		return
	}
	h.log.Error("REST request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	jsonhttp.Error(w, http.StatusInternalServerError, "internal error")
}

// ErrorResponse is the JSON shape of every REST error (jsonhttp.ErrorBody
// with, for SQL, where it failed). Line and Column
// locate a failed SQL statement and are left out when not known.
type ErrorResponse struct {
	Error  string `json:"error"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}
