package nscale

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/singleflight"

	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/feed"
	"github.com/lakegate/lakegate/internal/grants"
	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/jsonhttp"
	"github.com/lakegate/lakegate/internal/metrics"
	"github.com/lakegate/lakegate/internal/policy"
	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/systoken"
	"github.com/lakegate/lakegate/internal/ttlcache"
)

// Defaults of RemoteOptions.
const (
	DefaultUserPermissionTTL = time.Hour
	DefaultMaxStaleness      = 5 * time.Minute
	DefaultCallTimeout       = 5 * time.Second
	DefaultMaxEntries        = 100_000
)

// ErrUnavailable is wrapped by every failure to reach the policy server; it
// is the S3 error the proxy answers then (503 ServiceUnavailable).
var ErrUnavailable = s3err.PolicyUnavailable

// RemoteOptions configure a Remote.
type RemoteOptions struct {
	// Server is the policy server's base URL, e.g. https://lakegate:8083.
	Server string
	// Token is the system token the proxy presents.
	Token systoken.Source
	// UserPermissionTTL bounds how long an allow is reused.
	UserPermissionTTL time.Duration
	// MaxStaleness is how long, with the server unreachable, cached allows
	// and keys stay in use; beyond it everything is refused.
	MaxStaleness time.Duration
	// CallTimeout bounds one call to the server (the feed's long poll
	// excepted).
	CallTimeout time.Duration
	// RootCAs verifies an https server; nil means the system roots.
	RootCAs *x509.CertPool
	// MaxEntries bounds each cache.
	MaxEntries int
	Logger     *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Remote is the proxy side: it implements the access proxy's credential
// lookup (sigv4.CredentialLookup), its authorizer (gateway.Authorizer) and
// its upstream credential source over the policy server's internal API,
// with seed 004's caches:
//
//   - request verification: access keys, kept until they expire;
//   - user permission: (user and session, privilege, granted location) →
//     allowed, filled only on allow, for UserPermissionTTL; a request is
//     looked up at every location that could cover it, widest first, and a
//     miss asks the server once however many requests wait for it;
//   - upstream credentials per bucket, kept until shortly before they
//     expire (the server assumes the bucket's role and caches it too).
//
// Listing views and bucket visibility are cached alike. The server's
// change feed empties the caches on every policy change and drops revoked
// keys, within a second; the TTLs are only a safety net.
type Remote struct {
	o      RemoteOptions
	client *http.Client
	log    *slog.Logger

	keys      *ttlcache.Cache[Key]
	perms     *permCache
	decisions *ttlcache.Cache[AuthorizeResponse]
	views     *ttlcache.Cache[*policy.View]
	buckets   *ttlcache.Cache[BucketsResponse]
	upstream  *ttlcache.Cache[Upstream]
	flight    singleflight.Group

	// lastContact is when the server last answered (unix nanoseconds).
	lastContact atomic.Int64
	// feedUp reports whether the change feed is being followed; while it
	// is not, cached entries are honoured only within MaxStaleness.
	feedUp atomic.Bool
	// wake cuts the feed loop's backoff short: any answer from the server
	// while the feed is down says it is back, and a change made on it
	// right away must not wait out the backoff to reach this proxy.
	wake chan struct{}
}

// NewRemote validates o and returns a Remote; call Run to follow the change
// feed.
func NewRemote(o RemoteOptions) (*Remote, error) {
	if u, err := url.Parse(o.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("nscale: policy server %q is not an http(s) URL", o.Server)
	}
	if o.Token == nil {
		return nil, errors.New("nscale: a system token is required (system.private_key or system.token_file)")
	}
	if o.UserPermissionTTL <= 0 {
		o.UserPermissionTTL = DefaultUserPermissionTTL
	}
	if o.MaxStaleness <= 0 {
		o.MaxStaleness = DefaultMaxStaleness
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: maxWait + 10*time.Second,
	}
	newCache := func(name string) ttlcache.Options {
		return ttlcache.Options{MaxEntries: o.MaxEntries, LookupTimeout: o.CallTimeout, Now: o.Now, Metrics: metrics.NewCache(name)}
	}
	r := &Remote{
		o: o, client: &http.Client{Transport: tr}, log: log,
		keys:      ttlcache.New[Key](newCache("request_verification")),
		perms:     newPermCache(o.MaxEntries, metrics.NewCache("user_permission")),
		decisions: ttlcache.New[AuthorizeResponse](newCache("decision")),
		views:     ttlcache.New[*policy.View](newCache("listing_view")),
		buckets:   ttlcache.New[BucketsResponse](newCache("bucket_visibility")),
		upstream:  ttlcache.New[Upstream](newCache("upstream_credentials")),
		wake:      make(chan struct{}, 1),
	}
	return r, nil
}

// Settings fetches what the proxy needs once (the listing-marker key),
// retrying until ctx ends.
func (r *Remote) Settings(ctx context.Context) (Settings, error) {
	var s Settings
	for {
		err := r.call(ctx, http.MethodGet, PathSettings, nil, &s)
		if err == nil {
			return s, nil
		}
		r.log.Warn("waiting for the policy server", "server", r.o.Server, "err", err)
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("policy server %s: %w", r.o.Server, err)
		case <-time.After(time.Second):
		}
	}
}

// fresh reports whether cached entries may be used: the change feed is
// followed, or the server answered within MaxStaleness. When they may not,
// callers drop them and ask the server, which fails at once if it is
// still away.
func (r *Remote) fresh() bool {
	if r.feedUp.Load() {
		return true
	}
	last := r.lastContact.Load()
	return last != 0 && r.o.Now().Sub(time.Unix(0, last)) <= r.o.MaxStaleness
}

// LookupCredential implements sigv4.CredentialLookup.
func (r *Remote) LookupCredential(ctx context.Context, accessKeyID string) (sigv4.Credential, error) {
	if !r.fresh() {
		r.keys.Flush()
	}
	k, err := r.keys.Get(ctx, accessKeyID, func(lctx context.Context) (Key, time.Duration, error) {
		var k Key
		err := r.call(lctx, http.MethodGet, PathKeys+url.PathEscape(accessKeyID), nil, &k)
		var nf notFound
		if errors.As(err, &nf) {
			return Key{}, time.Second, nil // remembered briefly, as an unknown key
		}
		if err != nil {
			return k, 0, err
		}
		ttl := r.o.UserPermissionTTL
		if !k.Expires.IsZero() {
			ttl = min(ttl, k.Expires.Sub(r.o.Now()))
		}
		return k, ttl, nil
	})
	if err != nil {
		return sigv4.Credential{}, unavailable(err)
	}
	if k.AccessKeyID == "" {
		return sigv4.Credential{}, fmt.Errorf("nscale: %s: %w", accessKeyID, sigv4.ErrUnknownAccessKey)
	}
	return sigv4.Credential{
		AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken,
		Expires: k.Expires, Owner: k.Owner, SessionGroups: k.SessionGroups, SessionGroupsFold: k.SessionGroupsFold,
	}, nil
}

// SessionPrincipal implements gateway.Authorizer: the server resolves the
// groups, so the principal carries the session to it.
func (r *Remote) SessionPrincipal(user string, session *identity.Groups) authz.Principal {
	return authz.Principal{User: user, Session: session, CacheKey: identity.SessionKey(user, session)}
}

func wirePrincipal(p authz.Principal) Principal {
	return Principal{User: p.User, Session: sessionOf(p.Session)}
}

// keyOf is p's cache key.
func keyOf(p authz.Principal) string {
	if p.CacheKey != "" {
		return p.CacheKey
	}
	return identity.SessionKey(p.User, p.Session)
}

// Decide implements gateway.Authorizer.
func (r *Remote) Decide(p authz.Principal, a request.Access, bucket, key string) authz.Decision {
	if !r.fresh() {
		r.flushDecisions()
	}
	pk := keyOf(p)
	if cacheable(a.Scope) {
		if h, ok := r.perms.lookup(pk, a.AnyOf, bucket, key, r.o.Now()); ok {
			count(r.perms.stats.Hits, 1)
			return authz.Decision{Allowed: true, Reason: h.reason, Table: r.perms.match(h)}
		}
		count(r.perms.stats.Misses, 1)
	}
	req := AuthorizeRequest{Principal: wirePrincipal(p), Scope: a.Scope, AnyOf: a.AnyOf, Bucket: bucket, Key: key}
	flightKey := pk + "\x02" + strconv.Itoa(int(a.Scope)) + "\x02" + strconv.Itoa(int(a.AnyOf)) + "\x02" + bucket + "\x02" + key
	if !cacheable(a.Scope) {
		resp, err := r.decisions.Get(context.Background(), flightKey, func(ctx context.Context) (AuthorizeResponse, time.Duration, error) {
			var resp AuthorizeResponse
			err := r.call(ctx, http.MethodPost, PathAuthorize, req, &resp)
			ttl := time.Duration(0) // filled only on allow
			if err == nil && resp.Allowed {
				ttl = r.o.UserPermissionTTL
			}
			return resp, ttl, err
		})
		if err != nil {
			return unavailableDecision(err)
		}
		return resp.decision()
	}
	gen := r.perms.generation()
	v, err, _ := r.flight.Do(flightKey, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), r.o.CallTimeout)
		defer cancel()
		var resp AuthorizeResponse
		if err := r.call(ctx, http.MethodPost, PathAuthorize, req, &resp); err != nil {
			return nil, err
		}
		if l := resp.Location; resp.Allowed && l != nil && resp.Privilege != 0 {
			r.perms.put(permKey{principal: pk, loc: locKey{priv: resp.Privilege, server: l.Server, bucket: l.Bucket, path: l.Path}},
				resp.Reason, resp.Table, r.o.UserPermissionTTL, r.o.Now(), gen)
		}
		return resp, nil
	})
	if err != nil {
		return unavailableDecision(err)
	}
	resp := v.(AuthorizeResponse)
	return resp.decision()
}

// decision is the server's answer as the proxy's decision. Its Table is
// the server's for this very question (the same key); an answer shared by
// several waiters is read-only for all of them.
func (resp AuthorizeResponse) decision() authz.Decision {
	d := authz.Decision{Allowed: resp.Allowed, Reason: resp.Reason, Table: resp.Table}
	if !resp.Allowed && resp.Restricted && resp.Table != nil {
		d.Restricted = true
	}
	return d
}

// View implements gateway.Authorizer.
func (r *Remote) View(p authz.Principal, bucket string, priv grants.Privilege) *policy.View {
	if !r.fresh() {
		r.flushDecisions()
	}
	k := keyOf(p) + "\x03" + bucket + "\x03" + strconv.Itoa(int(priv))
	v, err := r.views.Get(context.Background(), k, func(ctx context.Context) (*policy.View, time.Duration, error) {
		var resp ViewResponse
		err := r.call(ctx, http.MethodPost, PathView, ViewRequest{Principal: wirePrincipal(p), Bucket: bucket, Privilege: priv}, &resp)
		if err != nil {
			return nil, 0, err
		}
		return policy.NewView(resp.All, resp.Paths), r.o.UserPermissionTTL, nil
	})
	if err != nil {
		r.log.Warn("listing view unavailable; showing nothing", "err", err)
		return policy.NewView(false, nil)
	}
	return v
}

// BucketVisible implements gateway.Authorizer; one call answers for every
// bucket of a ListBuckets.
func (r *Remote) BucketVisible(p authz.Principal, bucket string) bool {
	if !r.fresh() {
		r.flushDecisions()
	}
	resp, err := r.buckets.Get(context.Background(), keyOf(p), func(ctx context.Context) (BucketsResponse, time.Duration, error) {
		var resp BucketsResponse
		err := r.call(ctx, http.MethodPost, PathBuckets, wirePrincipal(p), &resp)
		return resp, r.o.UserPermissionTTL, err
	})
	if err != nil {
		return false
	}
	if resp.All {
		return true
	}
	for _, b := range resp.Buckets {
		if b == bucket {
			return true
		}
	}
	return false
}

// Credentials implements upstream.CredentialSource: the server's signing
// credentials for bucket, kept until a minute before they expire.
func (r *Remote) Credentials(ctx context.Context, bucket string) (aws.Credentials, error) {
	u, err := r.upstream.Get(ctx, bucket, func(lctx context.Context) (Upstream, time.Duration, error) {
		var u Upstream
		if err := r.call(lctx, http.MethodGet, PathUpstream+"?bucket="+url.QueryEscape(bucket), nil, &u); err != nil {
			return u, 0, err
		}
		ttl := 15 * time.Minute
		if !u.Expires.IsZero() {
			left := u.Expires.Sub(r.o.Now())
			ttl = min(ttl, left-min(time.Minute, left/4))
		}
		return u, ttl, nil
	})
	if err != nil {
		return aws.Credentials{}, unavailable(err)
	}
	return aws.Credentials{
		AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey, SessionToken: u.SessionToken,
		CanExpire: !u.Expires.IsZero(), Expires: u.Expires, Source: "lakegate policy server",
	}, nil
}

func (r *Remote) flushDecisions() {
	r.perms.flush()
	r.decisions.Flush()
	r.views.Flush()
	r.buckets.Flush()
}

// apply acts on one batch of the change feed.
func (r *Remote) apply(b feed.Batch) {
	if b.Reset {
		r.log.Info("change feed reset: dropping every cached decision and key")
		r.flushDecisions()
		r.keys.Flush()
		return
	}
	policyChanged := false
	for _, e := range b.Events {
		switch e.Kind {
		case feed.KindCredentials:
			for _, id := range e.AccessKeyIDs {
				r.keys.Invalidate(id)
			}
			if e.User != "" {
				r.keys.InvalidateIf(func(_ string, k Key) bool { return k.Owner == e.User })
			}
		default: // KindPolicy, and kinds this proxy does not know: be safe
			policyChanged = true
		}
	}
	if policyChanged {
		// A policy change may be a revocation made through another server
		// sharing the store (which announces it only by the version), so
		// keys go too; each costs one call to fetch again.
		r.flushDecisions()
		r.keys.Flush()
	}
}

// Run follows the change feed until ctx ends, reconnecting by itself.
func (r *Remote) Run(ctx context.Context) {
	var (
		epoch string
		after uint64
	)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		q := url.Values{"wait": {maxWait.String()}}
		if epoch != "" {
			q.Set("epoch", epoch)
			q.Set("after", strconv.FormatUint(after, 10))
		}
		var b feed.Batch
		pctx, cancel := context.WithTimeout(ctx, maxWait+10*time.Second)
		err := r.call(pctx, http.MethodGet, PathChanges+"?"+q.Encode(), nil, &b)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if r.feedUp.Swap(false) {
				r.log.Warn("lost the policy server's change feed; cached entries stay in use for at most max_staleness",
					"server", r.o.Server, "max_staleness", r.o.MaxStaleness, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			case <-r.wake:
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if epoch == "" && !b.Reset {
			// First contact, or again after an outage: whatever was
			// cached may have changed meanwhile.
			r.apply(feed.Batch{Reset: true})
		}
		r.apply(b)
		epoch, after = b.Epoch, b.Seq
		if !r.feedUp.Swap(true) {
			r.log.Info("following the policy server's change feed", "server", r.o.Server)
		}
		if b.Reset {
			// A reset answers with the current position: continue from it.
			continue
		}
	}
}

// notFound is a 404 from the server.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

// maxResponse bounds a response body.
const maxResponse = 8 << 20

// call sends one request to the server with the system token and decodes
// the JSON answer into out.
func (r *Remote) call(ctx context.Context, method, path string, in, out any) error {
	tok, err := r.o.Token.Token(ctx)
	if err != nil {
		return fmt.Errorf("system token: %w", err)
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.o.CallTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(r.o.Server, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	// Any answer, even an error, shows the server is there, except a 503:
	// its policy store is away or its policy stale, so it cannot vouch
	// for what is cached here.
	if resp.StatusCode != http.StatusServiceUnavailable {
		r.lastContact.Store(r.o.Now().UnixNano())
		if !r.feedUp.Load() {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}
	if resp.StatusCode != http.StatusOK {
		var e jsonhttp.ErrorBody
		_ = json.Unmarshal(data, &e)
		msg := fmt.Sprintf("policy server %s %s: %d %s", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, e.Error)
		if resp.StatusCode == http.StatusNotFound {
			return notFound{msg}
		}
		return errors.New(msg)
	}
	return json.Unmarshal(data, out)
}

// unavailable wraps err in ErrUnavailable for callers that map it to a
// 503.
func unavailable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func unavailableDecision(err error) authz.Decision {
	return authz.Decision{Reason: "no decision from the policy server: " + err.Error(), Unavailable: true}
}
