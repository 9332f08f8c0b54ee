package gateway

// CORS, as S3 does it. A browser asks before a cross-origin request that
// is not "simple" (a PUT through a presigned URL, or one with a JSON
// content type) with a preflight: OPTIONS with Origin and
// Access-Control-Request-Method, unsigned. It is answered from the bucket's
// CORS configuration, without authentication: a preflight only reads that
// configuration and reveals nothing else. Only such an OPTIONS skips
// authentication; every other request, with an Origin or not, goes through
// the pipeline as before and gets the CORS headers of the rule that allows
// its origin and method.
//
// The configuration comes from lakegate's configuration
// (upstream.buckets.<b>.cors) when it names the bucket, else from the
// backend (GET ?cors with the bucket's credentials), cached briefly.
//
// Reading it costs an upstream request, which nobody authenticated must be
// able to cause at will: before a request's signature is verified only
// the cache is consulted (the headers of a refusal come from there), and
// the reads preflights cause are rate-limited and few at a time (past
// that a preflight is answered 503), their failures cached briefly. The
// rate also bounds the entries preflights can add, so naming random
// buckets cannot push real ones out of the cache. Parsing, checking and
// matching rules is internal/s3/cors.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/s3/cors"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3name"
	"github.com/lakegate/lakegate/internal/ttlcache"
	"github.com/lakegate/lakegate/internal/upstream"
)

// CORSRule is one rule of a bucket's CORS configuration.
type CORSRule = cors.Rule

// CORSSource reads a bucket's CORS configuration from the backend
// (upstream.Client.BucketCORS).
type CORSSource interface {
	// BucketCORS returns the bucket's configuration as S3 XML, or nil and
	// no error when the bucket has none or the backend does not implement
	// bucket CORS. An error means it could not be read: the preflight is
	// refused (fail closed).
	BucketCORS(ctx context.Context, bucket string) ([]byte, error)
}

var _ CORSSource = (*upstream.Client)(nil)

// CORSOptions configure the answers to CORS requests.
type CORSOptions struct {
	// Buckets are rules from lakegate's configuration
	// (upstream.buckets.<b>.cors), for backends that do not implement
	// bucket CORS (MinIO); a bucket named here is never asked. They are
	// cleaned and checked (cors.Clean).
	Buckets map[string][]CORSRule
	// Source reads the other buckets' configuration from the backend;
	// nil gives them none.
	Source CORSSource
	// TTL is how long a configuration read from the backend (or its
	// absence, as for a bucket that does not exist) is used; zero means
	// 60 seconds. A PutBucketCors or DeleteBucketCors through this proxy
	// that the backend accepts drops it at once. A read that failed is
	// remembered for corsFailureTTL.
	TTL time.Duration
	// MaxEntries bounds the buckets cached; zero means 10,000.
	MaxEntries int
}

const (
	defaultCORSTTL        = 60 * time.Second
	defaultCORSMaxEntries = 10_000
	corsLookupTimeout     = 5 * time.Second
	corsFailureTTL        = 5 * time.Second
	// Preflights may cause corsPreflightRate reads per second
	// (corsPreflightBurst at once after a quiet spell), at most
	// corsPreflightLoads under way: with the 60 s TTL they add at most
	// ~600 entries a minute, far below the cache's bound.
	corsPreflightRate  = 10
	corsPreflightBurst = 20
	corsPreflightLoads = 4
)

// The refusals of preflights, with S3's codes and messages (its typo
// included: clients match on it).
var (
	errCORSNotEnabled = &s3err.Error{Code: "AccessForbidden", Message: "CORSResponse: CORS is not enabled for this bucket.", Status: http.StatusForbidden}
	errCORSNotAllowed = &s3err.Error{Code: "AccessForbidden", Message: "CORSResponse: This CORS request is not allowed. " +
		"This is usually because the evalution of Origin, request method / Access-Control-Request-Method or " +
		"Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.", Status: http.StatusForbidden}
	errCORSUnreadable = &s3err.Error{Code: "AccessForbidden",
		Message: "CORSResponse: The bucket's CORS configuration could not be read.", Status: http.StatusForbidden}
	errCORSUnavailable = s3err.ServiceUnavailable.WithMessage("CORSResponse: The bucket's CORS configuration could not be read. Please retry.")
	errCORSBusy        = s3err.ServiceUnavailable.WithMessage("CORSResponse: Too many CORS configurations are being read. Please retry.")
)

// corsEntry is a bucket's configuration; configured false means it has
// none. err is a read that failed, remembered briefly.
type corsEntry struct {
	rules      []CORSRule
	configured bool
	err        error
}

// corsRules finds the rules of a bucket.
type corsRules struct {
	fixed  map[string][]CORSRule
	source CORSSource
	ttl    time.Duration
	cache  *ttlcache.Cache[corsEntry]
	// limit and loads bound the reads preflights cause.
	limit *rate.Limiter
	loads chan struct{}
}

func newCORSRules(o CORSOptions) (*corsRules, error) {
	var errs []error
	fixed := make(map[string][]CORSRule, len(o.Buckets))
	for bucket, rules := range o.Buckets {
		clean, err := cors.Clean(rules)
		if err != nil {
			errs = append(errs, fmt.Errorf("cors of bucket %q: %w", bucket, err))
		}
		fixed[bucket] = clean
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := &corsRules{fixed: fixed, source: o.Source, ttl: o.TTL,
		limit: rate.NewLimiter(corsPreflightRate, corsPreflightBurst), loads: make(chan struct{}, corsPreflightLoads)}
	if c.ttl <= 0 {
		c.ttl = defaultCORSTTL
	}
	n := o.MaxEntries
	if n <= 0 {
		n = defaultCORSMaxEntries
	}
	c.cache = ttlcache.New[corsEntry](ttlcache.Options{MaxEntries: n, LookupTimeout: corsLookupTimeout, Now: time.Now})
	return c, nil
}

// cached returns bucket's configuration if it is known without reading
// the backend; nothing is read, so it may serve requests not yet
// authenticated.
func (c *corsRules) cached(bucket string) (corsEntry, bool) {
	if rules, ok := c.fixed[bucket]; ok {
		return corsEntry{rules: rules, configured: true}, true
	}
	if c.source == nil {
		return corsEntry{}, true
	}
	return c.cache.Peek(bucket)
}

// lookup returns bucket's configuration, reading it from the backend when
// it is not cached. Preflights pass preflight: their reads are bounded
// (errCORSBusy past the bound).
func (c *corsRules) lookup(ctx context.Context, bucket string, preflight bool) (corsEntry, error) {
	if e, ok := c.cached(bucket); ok {
		return e, e.err
	}
	e, err := c.cache.Get(ctx, bucket, func(ctx context.Context) (corsEntry, time.Duration, error) {
		if preflight {
			if !c.limit.Allow() {
				return corsEntry{}, 0, errCORSBusy
			}
			select {
			case c.loads <- struct{}{}:
				defer func() { <-c.loads }()
			default:
				return corsEntry{}, 0, errCORSBusy
			}
		}
		return c.read(ctx, bucket)
	})
	if err == nil {
		err = e.err
	}
	return e, err
}

// read reads bucket's configuration from the backend; a failure is an
// entry kept corsFailureTTL, so that repeating a request does not repeat
// the read.
func (c *corsRules) read(ctx context.Context, bucket string) (corsEntry, time.Duration, error) {
	doc, err := c.source.BucketCORS(ctx, bucket)
	if err != nil {
		return corsEntry{err: err}, corsFailureTTL, nil
	}
	if doc == nil {
		return corsEntry{}, c.ttl, nil
	}
	rules, err := cors.Parse(doc)
	if err != nil {
		return corsEntry{err: err}, corsFailureTTL, nil
	}
	return corsEntry{rules: rules, configured: true}, c.ttl, nil
}

// invalidate drops what is cached of bucket's configuration, and the reads
// of it under way; other buckets' are kept.
func (c *corsRules) invalidate(bucket string) { c.cache.InvalidateKey(bucket) }

// isPreflight reports whether r is a CORS preflight: OPTIONS with an
// Origin and an Access-Control-Request-Method. Nothing else is.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		len(r.Header.Values("Access-Control-Request-Method")) > 0
}

// corsUnreadable maps a failure to read a configuration to its refusal.
func corsUnreadable(err error) error {
	if errors.Is(err, errCORSBusy) {
		return err
	}
	var ce *upstream.CORSError
	if errors.As(err, &ce) && ce.Unavailable {
		return errors.Join(errCORSUnavailable, err)
	}
	return errors.Join(errCORSUnreadable, err)
}

// servePreflight answers a CORS preflight, unauthenticated, from the
// bucket's configuration.
func (h *Handler) servePreflight(w http.ResponseWriter, r *http.Request) {
	x := xOf(w)
	if x != nil {
		x.ev.Operation = "CORSPreflight"
	}
	bucket, key := h.preflightTarget(r)
	if bucket == "" || !s3name.ValidBucket(bucket) {
		h.fail(w, r, s3err.InvalidBucketName)
		return
	}
	if x != nil {
		x.ev.URIs = append(x.ev.URIs[:0], s3URI(bucket, key))
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if !slices.Contains(cors.Methods, method) {
		if len(method) > 32 {
			method = method[:32]
		}
		h.fail(w, r, (&s3err.Error{Code: "BadRequest", Status: http.StatusBadRequest}).
			WithMessage("Invalid Access-Control-Request-Method: "+strings.ToValidUTF8(method, "")))
		return
	}
	entry, err := h.cors.lookup(r.Context(), bucket, true)
	if err != nil {
		h.fail(w, r, corsUnreadable(err))
		return
	}
	if !entry.configured {
		h.fail(w, r, errCORSNotEnabled)
		return
	}
	origin, headers := r.Header.Get("Origin"), cors.RequestedHeaders(r.Header)
	i := cors.Match(entry.rules, origin, method, headers)
	if i < 0 {
		h.fail(w, r, errCORSNotAllowed)
		return
	}
	id := h.requestID()
	if x != nil {
		id = x.ev.RequestID
		x.ev.Decision, x.ev.Reason = audit.DecisionAllow, "CORS preflight allowed by the bucket's CORS rule "+strconv.Itoa(i+1)
	}
	cors.SetHeaders(w.Header(), &entry.rules[i], origin, headers)
	w.Header().Set("X-Amz-Request-Id", id)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// preflightTarget returns the bucket and key a preflight names, read as
// request.Parse reads them (which refuses OPTIONS).
func (h *Handler) preflightTarget(r *http.Request) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if hb := request.HostBucket(r.Host, h.opts.BaseDomains); hb != "" {
		return hb, path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// addCORSHeaders gives an actual request with an Origin the headers of
// the first rule that allows its origin and method (none when it has
// none, or its configuration cannot be read). Before its signature is
// verified (authenticated false) only a cached configuration is used.
func (h *Handler) addCORSHeaders(w http.ResponseWriter, r *http.Request, bucket string, authenticated bool) {
	origin := r.Header.Get("Origin")
	if origin == "" || bucket == "" {
		return
	}
	entry, ok := h.cors.cached(bucket)
	if !ok && authenticated {
		var err error
		if entry, err = h.cors.lookup(r.Context(), bucket, false); err != nil {
			h.log.Debug("no CORS headers: the bucket's configuration could not be read", "bucket", bucket, "err", err)
			return
		}
	}
	if i := cors.Match(entry.rules, origin, r.Method, nil); i >= 0 {
		cors.SetHeaders(w.Header(), &entry.rules[i], origin, nil)
	}
}

// corsChanged drops the cached configuration of a bucket whose CORS
// configuration a request through this proxy changed: a PutBucketCors or
// DeleteBucketCors the backend answered with success (status).
func (h *Handler) corsChanged(req *request.Request, status int) {
	switch req.Operation {
	case "PutBucketCors", "DeleteBucketCors":
		if status >= 200 && status < 300 {
			h.cors.invalidate(req.Bucket)
		}
	}
}

// corsRecorder returns the writer to answer req with and a function that
// returns the status it was answered with, for corsChanged (0 for other
// operations, which need none).
func corsRecorder(w http.ResponseWriter, req *request.Request) (http.ResponseWriter, func() int) {
	switch req.Operation {
	case "PutBucketCors", "DeleteBucketCors":
	default:
		return w, func() int { return 0 }
	}
	if x := xOf(w); x != nil {
		return w, func() int { return x.Status }
	}
	rec := &audit.ResponseRecorder{ResponseWriter: w}
	return rec, func() int { return rec.Status }
}
