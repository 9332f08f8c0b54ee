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

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3name"
	"github.com/lakegate/lakegate/internal/ttlcache"
	"github.com/lakegate/lakegate/internal/upstream"
)

// CORSRule is one rule of a bucket's CORS configuration (S3's CORSRule).
type CORSRule struct {
	ID string
	// AllowedOrigins match the Origin header exactly (case-sensitive);
	// each may hold one "*" standing for any characters. "*" alone
	// allows every origin, without credentials.
	AllowedOrigins []string
	// AllowedMethods are among GET, PUT, POST, DELETE and HEAD.
	AllowedMethods []string
	// AllowedHeaders match the headers a preflight asks for, ignoring
	// case; each may hold one "*".
	AllowedHeaders []string
	// ExposeHeaders are the response headers scripts may read.
	ExposeHeaders []string
	// MaxAgeSeconds is how long browsers may cache a preflight's answer;
	// nil sends no Access-Control-Max-Age.
	MaxAgeSeconds *int
}

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
	// bucket CORS (MinIO); a bucket named here is never asked.
	Buckets map[string][]CORSRule
	// Source reads the other buckets' configuration from the backend;
	// nil gives them none.
	Source CORSSource
	// TTL is how long a configuration read from the backend (or its
	// absence) is used; zero means 60 seconds. A PutBucketCors or
	// DeleteBucketCors through this proxy drops it at once.
	TTL time.Duration
	// MaxEntries bounds the buckets cached; zero means 10,000.
	MaxEntries int
}

const (
	defaultCORSTTL        = 60 * time.Second
	defaultCORSMaxEntries = 10_000
	corsLookupTimeout     = 5 * time.Second
	maxCORSRules          = 100
	// corsVary is the Vary header of every CORS answer: it depends on
	// the request's Origin and, for preflights, on what it asks for.
	corsVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
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
)

// corsMethods are the methods a rule may allow and a preflight may ask for.
var corsMethods = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead}

// corsEntry is a bucket's configuration; configured false means it has
// none.
type corsEntry struct {
	rules      []CORSRule
	configured bool
}

// corsRules finds the rules of a bucket.
type corsRules struct {
	fixed  map[string][]CORSRule
	source CORSSource
	ttl    time.Duration
	cache  *ttlcache.Cache[corsEntry]
}

func newCORSRules(o CORSOptions) (*corsRules, error) {
	var errs []error
	for bucket, rules := range o.Buckets {
		if err := validateCORSRules(rules); err != nil {
			errs = append(errs, fmt.Errorf("cors of bucket %q: %w", bucket, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := &corsRules{fixed: o.Buckets, source: o.Source, ttl: o.TTL}
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

// lookup returns bucket's configuration.
func (c *corsRules) lookup(ctx context.Context, bucket string) (corsEntry, error) {
	if rules, ok := c.fixed[bucket]; ok {
		return corsEntry{rules: rules, configured: true}, nil
	}
	if c.source == nil {
		return corsEntry{}, nil
	}
	return c.cache.Get(ctx, bucket, func(ctx context.Context) (corsEntry, time.Duration, error) {
		doc, err := c.source.BucketCORS(ctx, bucket)
		if err != nil {
			return corsEntry{}, 0, err
		}
		if doc == nil {
			return corsEntry{}, c.ttl, nil
		}
		rules, err := ParseCORSConfiguration(doc)
		if err != nil {
			return corsEntry{}, 0, err
		}
		return corsEntry{rules: rules, configured: true}, c.ttl, nil
	})
}

// invalidate drops what is cached of bucket's configuration.
func (c *corsRules) invalidate(bucket string) { c.cache.Invalidate(bucket) }

// corsConfiguration is S3's CORSConfiguration document (any namespace).
type corsConfiguration struct {
	XMLName xml.Name `xml:"CORSConfiguration"`
	Rules   []struct {
		ID             string   `xml:"ID"`
		AllowedOrigins []string `xml:"AllowedOrigin"`
		AllowedMethods []string `xml:"AllowedMethod"`
		AllowedHeaders []string `xml:"AllowedHeader"`
		ExposeHeaders  []string `xml:"ExposeHeader"`
		MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
	} `xml:"CORSRule"`
}

// ParseCORSConfiguration parses an S3 CORSConfiguration document and
// checks its rules as S3 does when they are put.
func ParseCORSConfiguration(doc []byte) ([]CORSRule, error) {
	var c corsConfiguration
	d := xml.NewDecoder(bytes.NewReader(doc))
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("malformed CORS configuration: %w", err)
	}
	rules := make([]CORSRule, 0, len(c.Rules))
	for _, r := range c.Rules {
		rules = append(rules, CORSRule{
			ID: r.ID, AllowedOrigins: trimAll(r.AllowedOrigins), AllowedMethods: trimAll(r.AllowedMethods),
			AllowedHeaders: trimAll(r.AllowedHeaders), ExposeHeaders: trimAll(r.ExposeHeaders), MaxAgeSeconds: r.MaxAgeSeconds,
		})
	}
	if err := validateCORSRules(rules); err != nil {
		return nil, err
	}
	return rules, nil
}

func trimAll(s []string) []string {
	for i := range s {
		s[i] = strings.TrimSpace(s[i])
	}
	return s
}

// validateCORSRules applies S3's checks of PutBucketCors: 1 to 100 rules,
// each with an origin and a method, known methods, at most one "*" per
// origin and header, no negative max age.
func validateCORSRules(rules []CORSRule) error {
	if len(rules) == 0 || len(rules) > maxCORSRules {
		return fmt.Errorf("a CORS configuration holds 1 to %d rules, not %d", maxCORSRules, len(rules))
	}
	var errs []error
	for i, r := range rules {
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("rule %d: "+format, append([]any{i + 1}, a...)...))
		}
		if len(r.AllowedOrigins) == 0 {
			bad("no allowed origin")
		}
		if len(r.AllowedMethods) == 0 {
			bad("no allowed method")
		}
		for _, m := range r.AllowedMethods {
			if !slices.Contains(corsMethods, m) {
				bad("method %q is not one of %s", m, strings.Join(corsMethods, ", "))
			}
		}
		for _, o := range r.AllowedOrigins {
			if o == "" || strings.Count(o, "*") > 1 {
				bad("origin %q: it must be non-empty with at most one *", o)
			}
		}
		for _, h := range r.AllowedHeaders {
			if h == "" || strings.Count(h, "*") > 1 {
				bad("allowed header %q: it must be non-empty with at most one *", h)
			}
		}
		for _, h := range r.ExposeHeaders {
			if h == "" || strings.ContainsAny(h, " \t,") {
				bad("expose header %q is not a header name", h)
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			bad("negative max age")
		}
	}
	return errors.Join(errs...)
}

// wildcardMatch reports whether s matches pattern, which holds at most
// one "*" standing for any characters.
func wildcardMatch(pattern, s string) bool {
	pre, suf, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(pre)+len(suf) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, suf)
}

// allowsOrigin reports whether r allows origin, and whether it does
// through the literal "*" (which S3 answers with "*" and no credentials).
func (r *CORSRule) allowsOrigin(origin string) (ok, anyOrigin bool) {
	for _, o := range r.AllowedOrigins {
		if o == "*" {
			anyOrigin = true
		}
		if wildcardMatch(o, origin) {
			ok = true
		}
	}
	return ok, anyOrigin
}

// allowsHeader reports whether r allows the request header name (lower
// case).
func (r *CORSRule) allowsHeader(name string) bool {
	for _, h := range r.AllowedHeaders {
		if wildcardMatch(strings.ToLower(h), name) {
			return true
		}
	}
	return false
}

// matchCORS returns the index of the first rule that allows origin,
// method and every one of headers (lower case), -1 when none does.
func matchCORS(rules []CORSRule, origin, method string, headers []string) int {
	for i := range rules {
		r := &rules[i]
		if ok, _ := r.allowsOrigin(origin); !ok || !slices.Contains(r.AllowedMethods, method) {
			continue
		}
		if !slices.ContainsFunc(headers, func(h string) bool { return !r.allowsHeader(h) }) {
			return i
		}
	}
	return -1
}

// requestedHeaders splits Access-Control-Request-Headers into lower-case
// names, empty ones dropped.
func requestedHeaders(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Access-Control-Request-Headers") {
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				names = append(names, n)
			}
		}
	}
	return names
}

// setCORSHeaders writes the answer of rule to origin, in S3's order;
// allowHeaders are the headers a preflight asked for.
func setCORSHeaders(h http.Header, rule *CORSRule, origin string, allowHeaders []string) {
	_, anyOrigin := rule.allowsOrigin(origin)
	if anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(allowHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(allowHeaders, ", "))
	}
	if len(rule.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	if !anyOrigin {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Vary", corsVary)
}

// isPreflight reports whether r is a CORS preflight: OPTIONS with an
// Origin and an Access-Control-Request-Method. Nothing else is.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		len(r.Header.Values("Access-Control-Request-Method")) > 0
}

// corsUnreadable maps a failure to read a configuration to its refusal.
func corsUnreadable(err error) error {
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
	if !slices.Contains(corsMethods, method) {
		if len(method) > 32 {
			method = method[:32]
		}
		h.fail(w, r, (&s3err.Error{Code: "BadRequest", Status: http.StatusBadRequest}).
			WithMessage("Invalid Access-Control-Request-Method: "+strings.ToValidUTF8(method, "")))
		return
	}
	entry, err := h.cors.lookup(r.Context(), bucket)
	if err != nil {
		h.fail(w, r, corsUnreadable(err))
		return
	}
	if !entry.configured {
		h.fail(w, r, errCORSNotEnabled)
		return
	}
	origin, headers := r.Header.Get("Origin"), requestedHeaders(r.Header)
	i := matchCORS(entry.rules, origin, method, headers)
	if i < 0 {
		h.fail(w, r, errCORSNotAllowed)
		return
	}
	id := h.requestID()
	if x != nil {
		id = x.ev.RequestID
		x.ev.Decision, x.ev.Reason = audit.DecisionAllow, "CORS preflight allowed by the bucket's CORS rule "+strconv.Itoa(i+1)
	}
	setCORSHeaders(w.Header(), &entry.rules[i], origin, headers)
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
// none, or its configuration cannot be read).
func (h *Handler) addCORSHeaders(w http.ResponseWriter, r *http.Request, bucket string) {
	origin := r.Header.Get("Origin")
	if origin == "" || bucket == "" {
		return
	}
	entry, err := h.cors.lookup(r.Context(), bucket)
	if err != nil {
		h.log.Debug("no CORS headers: the bucket's configuration could not be read", "bucket", bucket, "err", err)
		return
	}
	if i := matchCORS(entry.rules, origin, r.Method, nil); i >= 0 {
		setCORSHeaders(w.Header(), &entry.rules[i], origin, nil)
	}
}

// corsChanged drops the cached configuration of a bucket whose CORS
// configuration a request through this proxy may have changed.
func (h *Handler) corsChanged(req *request.Request) {
	switch req.Operation {
	case "PutBucketCors", "DeleteBucketCors":
		h.cors.invalidate(req.Bucket)
	}
}
