package upstream

// Assumed-role credentials (seed 001's bucket role map and
// OKERA_SYSTEM_IAM_ROLE_ARN; seed 004's assumed role cache).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lakegate/lakegate/internal/metrics"
)

// Defaults and limits of assumed-role sessions.
const (
	// DefaultRoleSessionDuration is the DurationSeconds asked of STS.
	DefaultRoleSessionDuration = time.Hour
	// DefaultRoleSessionName names the sessions in CloudTrail.
	DefaultRoleSessionName = "lakegate"
	// MaxRefreshWindow caps RefreshWindow.
	MaxRefreshWindow = 5 * time.Minute

	// stsAttemptTimeout bounds one HTTP exchange with STS, stsCallTimeout
	// one AssumeRole with its retries. A refresh is shared by every caller
	// waiting for it, so it runs on its own deadline, not a caller's.
	stsAttemptTimeout = 10 * time.Second
	stsCallTimeout    = 30 * time.Second
)

// RefreshWindow is how long before its expiry an assumed-role session of
// duration d is renewed at the latest: a quarter of d, at most
// MaxRefreshWindow. Each session is renewed at a random point between
// RefreshWindow and 1.5×RefreshWindow before it expires, so that processes
// sharing a role do not all call STS at once, and no request is signed
// with a session that has less than RefreshWindow left (a 1 h session is
// renewed 5 to 7.5 minutes before it ends, a 60 s one 15 to 22.5 s before).
func RefreshWindow(d time.Duration) time.Duration {
	return min(d/4, MaxRefreshWindow)
}

// RoleOptions configure RoleCredentials.
type RoleOptions struct {
	// Base calls STS, and signs the requests of buckets that have no role
	// (when DefaultRoleARN is empty). Required.
	Base aws.CredentialsProvider
	// BucketRoles maps a bucket name to the ARN of the IAM role assumed
	// to sign its requests (Okera's bucket role map).
	BucketRoles map[string]string
	// DefaultRoleARN is the role for every other bucket, and for requests
	// that name no bucket (Okera's OKERA_SYSTEM_IAM_ROLE_ARN). Empty: Base
	// signs them.
	DefaultRoleARN string
	// SessionDuration is the session length asked of STS, whole seconds;
	// zero means DefaultRoleSessionDuration. AWS accepts 15 minutes up to
	// the role's maximum session duration.
	SessionDuration time.Duration
	// SessionName is the role session name; empty means
	// DefaultRoleSessionName.
	SessionName string
	// Region is the STS region; empty means us-east-1.
	Region string
	// STSEndpoint is the STS base URL (private endpoints, tests); empty
	// leaves it to the AWS SDK (the regional endpoint, or
	// AWS_ENDPOINT_URL_STS and the shared config's services section).
	STSEndpoint string
	// Profile is the shared-config profile read for STS endpoint settings,
	// as for the default credential chain.
	Profile string
	// Transport carries the STS requests; nil builds one that trusts the
	// system roots plus AWS_CA_BUNDLE and ignores proxy variables, as the
	// S3 transport does.
	Transport http.RoundTripper
	// Metrics counts the cache's hits, misses and evictions; the zero
	// value means metrics.NewCache("assumed_role").
	Metrics metrics.Cache
}

// RoleCredentials is a CredentialSource that signs each bucket's requests
// with a role assumed for it through STS, from the base credentials. It is
// the assumed role cache: one aws.CredentialsCache per role, shared by the
// buckets mapped to it, renews a session before it expires (RefreshWindow)
// and lets concurrent callers share one renewal. A bucket whose role cannot
// be assumed gets the error, never the base credentials.
type RoleCredentials struct {
	base     aws.CredentialsProvider
	buckets  map[string]*role
	fallback *role // nil: base signs buckets without a role
	metrics  metrics.Cache
}

// role is one role's cached sessions.
type role struct {
	arn   string
	cache *aws.CredentialsCache
	sts   *assumer
}

// assumer calls STS for one role; the role's CredentialsCache calls it, at
// most one call at a time.
type assumer struct {
	arn     string
	p       *stscreds.AssumeRoleProvider
	metrics metrics.Cache
	// gen counts sessions obtained; current is the newest, with its real
	// expiry (the cache hands out the expiry less its window).
	gen     atomic.Uint64
	current atomic.Pointer[aws.Credentials]
}

// NewRoleCredentials validates o and returns its RoleCredentials. No role
// is assumed before it is first needed. ctx bounds loading the SDK's
// endpoint configuration.
func NewRoleCredentials(ctx context.Context, o RoleOptions) (*RoleCredentials, error) {
	if o.Base == nil {
		return nil, errors.New("upstream roles: base credentials are required")
	}
	d := o.SessionDuration
	if d == 0 {
		d = DefaultRoleSessionDuration
	}
	if d < time.Second || d%time.Second != 0 {
		return nil, fmt.Errorf("upstream roles: session duration %s is not a whole number of seconds", d)
	}
	name := o.SessionName
	if name == "" {
		name = DefaultRoleSessionName
	}
	region := o.Region
	if region == "" {
		region = "us-east-1"
	}
	m := o.Metrics
	if m == (metrics.Cache{}) {
		m = metrics.NewCache("assumed_role")
	}
	base := cached(o.Base)
	client, err := newSTSClient(ctx, o, base, region)
	if err != nil {
		return nil, err
	}

	r := &RoleCredentials{base: base, buckets: make(map[string]*role, len(o.BucketRoles)), metrics: m}
	roles := map[string]*role{}
	get := func(arn string) *role {
		if ro, ok := roles[arn]; ok {
			return ro
		}
		a := &assumer{arn: arn, metrics: m, p: stscreds.NewAssumeRoleProvider(client, arn, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = name
			ao.Duration = d
		})}
		w := RefreshWindow(d)
		ro := &role{arn: arn, sts: a, cache: aws.NewCredentialsCache(a, func(co *aws.CredentialsCacheOptions) {
			// Renew between 1.5w and w before expiry (see RefreshWindow).
			co.ExpiryWindow = w * 3 / 2
			co.ExpiryWindowJitterFrac = 1.0 / 3
		})}
		roles[arn] = ro
		return ro
	}
	for bucket, arn := range o.BucketRoles {
		if arn == "" {
			return nil, fmt.Errorf("upstream roles: bucket %q: empty role ARN", bucket)
		}
		r.buckets[bucket] = get(arn)
	}
	if o.DefaultRoleARN != "" {
		r.fallback = get(o.DefaultRoleARN)
	}
	return r, nil
}

// newSTSClient builds the STS client: the SDK's endpoint resolution (or
// o.STSEndpoint), signing with base, over a transport of our own with
// timeouts. The SDK refuses to add AWS_CA_BUNDLE to a client it did not
// build ("unable to add custom RootCAs"), so the configuration is loaded
// without ours and ours, whose roots already hold the bundle (rootCAs),
// replaces the SDK's in the client.
func newSTSClient(ctx context.Context, o RoleOptions, base aws.CredentialsProvider, region string) (*sts.Client, error) {
	tr := o.Transport
	if tr == nil {
		t, err := newTransport()
		if err != nil {
			return nil, err
		}
		tr = t
	}
	httpClient := &http.Client{
		Transport: tr,
		Timeout:   stsAttemptTimeout,
		// STS answers; it does not redirect. Following one would send the
		// signed request somewhere nobody configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithCredentialsProvider(base)}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("upstream roles: loading the STS client configuration: %w", err)
	}
	return sts.NewFromConfig(cfg, func(so *sts.Options) {
		so.HTTPClient = httpClient
		if o.STSEndpoint != "" {
			so.BaseEndpoint = aws.String(o.STSEndpoint)
		}
	}), nil
}

// Retrieve assumes the role: one STS call, on its own deadline.
func (a *assumer) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, stsCallTimeout)
	defer cancel()
	creds, err := a.p.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("assuming role %s: %w", a.arn, err)
	}
	if !creds.CanExpire {
		return aws.Credentials{}, fmt.Errorf("assuming role %s: STS returned a session without expiry", a.arn)
	}
	if a.current.Swap(&creds) != nil {
		a.metrics.Evictions.Inc() // an expiring session replaced
	}
	a.gen.Add(1)
	return creds, nil
}

// role returns the role that signs bucket's requests, nil for the base
// credentials.
func (r *RoleCredentials) role(bucket string) *role {
	if ro, ok := r.buckets[bucket]; ok {
		return ro
	}
	return r.fallback
}

// RoleARN returns the ARN of the role that signs bucket's requests, "" when
// the base credentials do.
func (r *RoleCredentials) RoleARN(bucket string) string {
	if ro := r.role(bucket); ro != nil {
		return ro.arn
	}
	return ""
}

// Credentials returns the credentials of bucket's role, assuming it when
// there is no session or the session is due for renewal; Expires is the
// session's real expiry. A lookup is a hit when it needed no STS call and
// a miss when it waited for one (its own or one it shared); every renewal
// that replaces a session counts one eviction.
func (r *RoleCredentials) Credentials(ctx context.Context, bucket string) (aws.Credentials, error) {
	ro := r.role(bucket)
	if ro == nil {
		return r.base.Retrieve(ctx)
	}
	gen := ro.sts.gen.Load()
	creds, err := ro.cache.Retrieve(ctx)
	if err != nil {
		r.metrics.Misses.Inc()
		return aws.Credentials{}, err
	}
	if ro.sts.gen.Load() == gen {
		r.metrics.Hits.Inc()
	} else {
		r.metrics.Misses.Inc()
	}
	if cur := ro.sts.current.Load(); cur != nil && cur.AccessKeyID == creds.AccessKeyID {
		creds.Expires = cur.Expires
	}
	return creds, nil
}
