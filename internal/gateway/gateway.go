// Package gateway is the access proxy's http.Handler: it parses an S3
// request, authenticates it, authorizes it, and hands it to the upstream,
// turning every failure into an S3 XML error in one place.
package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3xml"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/store"
	"github.com/lakegate/lakegate/internal/upstream"
)

// Options configure a Handler.
type Options struct {
	// Verifier authenticates requests. Required.
	Verifier *sigv4.Verifier
	// Upstream forwards authorized requests. Required.
	Upstream *upstream.Client
	// Authorizer decides what each user may do. Required: without one
	// the proxy would allow everything.
	Authorizer Authorizer
	// Sealer hides listing markers that would name objects a user may not
	// see; nil drops such markers instead.
	Sealer *s3xml.Sealer
	// BaseDomains enable virtual-hosted-style addressing: a Host of
	// <bucket>.<base domain> names the bucket. Path style always works.
	BaseDomains []string
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
	// BodyIdleTimeout bounds the wait for each read of a request body, so
	// a client that stops sending mid-upload releases its connection and
	// the upstream request is aborted; zero means one minute.
	BodyIdleTimeout time.Duration
	// PreAuthTimeout bounds the time a POST form's fields before its file
	// may take to arrive, read before its signature can be verified; zero
	// means 20 seconds. PreAuthMaxBytes bounds their size; zero means
	// upstream.MaxPostFieldBytes.
	PreAuthTimeout  time.Duration
	PreAuthMaxBytes int
	// Audit records one event per request, the decision before anything is
	// forwarded; nil records nothing.
	Audit Auditor
	// UnauthenticatedAuditRate bounds the records per second of
	// unauthenticated requests: those refused before they were
	// authenticated and CORS preflights (compacted, and counted rather
	// than written past the rate); zero means 20.
	UnauthenticatedAuditRate float64
	// CORS configures the answers to CORS preflights and the CORS headers
	// of actual requests (cors.go).
	CORS CORSOptions
	// ScanEndpoint is the base URL of the REST server clients reach
	// (rest.public_url), e.g. https://lakegate.example:8083. A request
	// refused because the user's grants on the table whose files it
	// touches are restricted is answered AccessDenied with a message
	// naming <ScanEndpoint>/api/scan/<db.table>, where the table's data is
	// served to them.
	ScanEndpoint string
}

// Handler is the access proxy.
type Handler struct {
	opts   Options
	sealer *s3xml.Sealer
	log    *slog.Logger
	idle   time.Duration
	// preAuth bounds the reading of a POST form's fields.
	preAuth time.Duration
	prefix  string
	seq     atomic.Uint64
	// unauthenticated keeps the records of unauthenticated requests
	// (refusals, CORS preflights) small and few.
	unauthenticated *unauthLimiter
	cors            *corsRules
}

var _ http.Handler = (*Handler)(nil)

// New validates o and returns the proxy handler.
func New(o Options) (*Handler, error) {
	var errs []error
	if o.Verifier == nil {
		errs = append(errs, errors.New("gateway: a verifier is required"))
	}
	if o.Upstream == nil {
		errs = append(errs, errors.New("gateway: an upstream is required"))
	}
	if o.Authorizer == nil {
		errs = append(errs, errors.New("gateway: an authorizer is required"))
	}
	cors, err := newCORSRules(o.CORS)
	if err != nil {
		errs = append(errs, fmt.Errorf("gateway: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var p [6]byte
	_, _ = rand.Read(p[:])
	idle := o.BodyIdleTimeout
	if idle <= 0 {
		idle = time.Minute
	}
	preAuth := o.PreAuthTimeout
	if preAuth <= 0 {
		preAuth = 20 * time.Second
	}
	return &Handler{opts: o, sealer: o.Sealer, log: log, idle: idle, preAuth: preAuth, prefix: hex.EncodeToString(p[:]),
		unauthenticated: newUnauthLimiter(o.UnauthenticatedAuditRate), cors: cors}, nil
}

// ServeHTTP runs one S3 request through the pipeline: parse, authenticate,
// authorize, forward. No step reads the body before the request is
// authorized, so a client sending Expect: 100-continue is told to send its
// body only once the request may proceed, and a refused one is answered at
// once without it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = ownBody(r)
	var x *exchange
	if h.opts.Audit != nil {
		x = h.begin(w, r)
		defer h.finish(x)
		w = x
	}
	if isPreflight(r) {
		h.servePreflight(w, r)
		return
	}
	req, err := request.Parse(r, h.opts.BaseDomains)
	if err != nil {
		h.attribute(w, r)
		h.fail(w, r, err)
		return
	}
	x.parsed(req)
	h.addCORSHeaders(w, r, req.Bucket, false)
	if req.Operation == "PostObject" && upstream.IsPostForm(r) {
		h.servePostForm(w, r, req)
		return
	}
	auth, err := h.opts.Verifier.Verify(r, req.HostBucket)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	x.verified(auth)
	h.addCORSHeaders(w, r, req.Bucket, true)
	w, status := corsRecorder(w, req)
	h.authorizeAndForward(w, r, req, auth)
	h.corsChanged(req, status())
}

// servePostForm handles a browser-based upload, which is authenticated by
// its form rather than its headers: the fields before the file are read
// (bounded) and verified, and only then is the form forwarded, re-signed,
// with its file streaming through.
func (h *Handler) servePostForm(w http.ResponseWriter, r *http.Request, req *request.Request) {
	// Nothing is authenticated yet: the fields get a total deadline on top
	// of the idle one, and a small byte budget; a refused form's
	// connection is closed rather than drained.
	body := h.watchBody(w, r)
	if body != nil {
		body.until = time.Now().Add(h.preAuth)
	}
	form, err := upstream.ReadPostForm(r, h.opts.PreAuthMaxBytes)
	if err != nil {
		w.Header().Set("Connection", "close")
		h.fail(w, r, err)
		return
	}
	if body != nil {
		body.until = time.Time{}
	}
	auth, policy, err := h.opts.Verifier.VerifyPostForm(r.Context(), &sigv4.PostForm{Bucket: req.Bucket, Fields: form.Fields, Key: form.Key()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	xOf(w).verified(auth)
	h.addCORSHeaders(w, r, req.Bucket, true)
	d, err := h.authorizePostForm(auth, req.Bucket, form)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	xOf(w).table(d.Table)
	if !h.admit(w, r, "INSERT", d.Reason, s3URI(req.Bucket, form.Key())) {
		return
	}
	h.opts.Upstream.ForwardPostForm(w, r, upstream.Call{
		Bucket: req.Bucket, Key: form.Key(), Auth: auth,
		Operation: string(req.Operation), VirtualHost: req.HostBucket != "",
		LogError: h.upstreamErrorLog(w, r),
	}, form, policy, h.fail)
}

// ownBody returns a shallow copy of r whose body the pipeline may wrap
// (audit counting, idle timeouts). net/http looks at its own request's body
// when it writes the response: if that is still its Expect: 100-continue
// reader, unread, a refusal goes out at once and the connection is closed;
// hidden behind a wrapper, the server would first wait for and discard a
// body it never asked for (a denied 5 GB upload uploaded first).
func ownBody(r *http.Request) *http.Request {
	return r.WithContext(r.Context())
}

// watchBody puts r's body under the idle timeout and returns it (nil for
// a request without a body).
func (h *Handler) watchBody(w http.ResponseWriter, r *http.Request) *idleBody {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b := &idleBody{rc: r.Body, ctl: http.NewResponseController(w), idle: h.idle}
	r.Body = b
	return b
}

// errStoreUnavailable answers a request that needs the policy store (an
// access key not in the cache) while its database cannot be reached.
var errStoreUnavailable = s3err.ServiceUnavailable.WithMessage("The lakegate policy store cannot be reached, so this request cannot be authorized. Please retry.")

// fail is the one place a proxy-raised failure becomes an S3 XML error.
// Internal detail is logged, never sent.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var id string
	if x := xOf(w); x != nil {
		id = x.ev.RequestID
		if x.failure == nil {
			x.failure = err
		}
	} else {
		id = h.requestID()
	}
	var (
		s3e  *s3err.Error
		fwd  *upstream.ForwardError
		cred *upstream.CredentialsError
	)
	var deny *deniedError
	switch {
	case errors.As(err, &deny):
		s3e = s3err.AccessDenied
		if deny.table != nil {
			if x := xOf(w); x != nil && x.ev.Table == "" {
				x.refusedTable(deny.table)
			}
			if deny.restricted {
				s3e = restrictedError(h.opts.ScanEndpoint, deny.table)
			}
		}
	case errors.As(err, &s3e):
	case errors.As(err, &fwd) && fwd.ClientGone():
		h.log.Debug("client went away", "request_id", id, "method", r.Method, "path", r.URL.Path)
		return
	case errors.As(err, &fwd):
		s3e = s3err.BadGateway
	case errors.As(err, &cred):
		s3e = s3err.InternalError.WithMessage("The proxy could not obtain its storage credentials.")
	case store.IsUnavailable(err):
		// Fail closed, and say it is transient: clients retry a 503.
		s3e = errStoreUnavailable
	default:
		s3e = s3err.InternalError
	}
	h.log.Info("request refused", "request_id", id, "method", r.Method, "path", r.URL.Path,
		"code", s3e.Code, "status", s3e.Status, "remote", r.RemoteAddr, "error", err.Error())
	s3err.Write(w, r, s3e, id)
}

// attribute records in the audit event who signed a request that is
// refused before it could be classified (outside the allowlist), so that
// the refusal is traced to its user; nothing else depends on it.
func (h *Handler) attribute(w http.ResponseWriter, r *http.Request) {
	x := xOf(w)
	if x == nil || upstream.IsPostForm(r) {
		return
	}
	if auth, err := h.opts.Verifier.Verify(r, request.HostBucket(r.Host, h.opts.BaseDomains)); err == nil {
		x.verified(auth)
	}
}

// upstreamErrorLog logs an upstream error response that the client gets
// rebuilt (see upstream.Call.LogError), under the request's id.
func (h *Handler) upstreamErrorLog(w http.ResponseWriter, r *http.Request) func(code, body string) {
	return func(code, body string) {
		var id string
		if x := xOf(w); x != nil {
			id = x.ev.RequestID
		}
		h.log.Info("upstream error", "request_id", id, "method", r.Method, "path", r.URL.Path, "code", code, "body", body)
	}
}

func (h *Handler) requestID() string {
	return h.prefix + strconv.FormatUint(h.seq.Add(1), 16)
}

// idleBody extends the connection's read deadline before every body read:
// a stalled upload fails after the idle timeout instead of holding the
// connection (and the upstream request) forever, while a long upload that
// keeps sending is never cut off.
// While until is set, no deadline goes past it: that is the total deadline
// of what is read before the request is authenticated.
type idleBody struct {
	rc    io.ReadCloser
	ctl   *http.ResponseController
	idle  time.Duration
	until time.Time
}

func (b *idleBody) Read(p []byte) (int, error) {
	d := time.Now().Add(b.idle)
	if !b.until.IsZero() && b.until.Before(d) {
		d = b.until
	}
	_ = b.ctl.SetReadDeadline(d)
	return b.rc.Read(p)
}

func (b *idleBody) Close() error { return b.rc.Close() }
