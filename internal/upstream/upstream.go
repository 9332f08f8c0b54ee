// Package upstream sends authorized requests to the real S3 service: it picks
// the endpoint, region and signing credentials for a bucket (the system
// credentials, or a role assumed through STS for the bucket), re-signs and
// streams bodies both ways.
package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Target is where one bucket's requests go.
type Target struct {
	// Endpoint is the base URL, e.g. "http://127.0.0.1:9000"; empty means
	// AWS S3 for Region (https://s3.<region>.amazonaws.com).
	Endpoint string
	// Region is the signing region; empty inherits the default target's,
	// then "us-east-1".
	Region string
	// PathStyle sends /bucket/key instead of bucket.host/key.
	PathStyle bool
	// SignPayload signs request bodies for the upstream always. By default
	// bodies the proxy has verified go unsigned (UNSIGNED-PAYLOAD) when the
	// channel itself protects them, over https or to a loopback address.
	SignPayload bool
}

// Options configure a Client.
type Options struct {
	// Default applies to every bucket without an entry in Buckets.
	Default Target
	// Buckets overrides the target per bucket name (okerafs.<bucket>.region).
	Buckets map[string]Target
	// Credentials signs every upstream request (cached in an
	// aws.CredentialsCache unless it is one). Set it or Source, not both.
	Credentials aws.CredentialsProvider
	// Source picks the credentials per bucket, e.g. RoleCredentials or,
	// on an nScale proxy, the policy server. Set it or Credentials.
	Source CredentialSource
	// Transport overrides the HTTP transport (tests); nil builds one tuned
	// for streaming that trusts the system roots plus AWS_CA_BUNDLE.
	Transport http.RoundTripper
}

// Client forwards requests upstream. It is safe for concurrent use.
type Client struct {
	def       resolved
	buckets   map[string]resolved
	source    CredentialSource
	transport http.RoundTripper
}

// resolved is a Target with its endpoint parsed.
type resolved struct {
	scheme, host string
	region       string
	pathStyle    bool
	// intact says the channel itself protects bodies from tampering:
	// TLS, or a loopback address (the bytes never leave the host).
	intact bool
}

// New validates o and returns a Client.
func New(o Options) (*Client, error) {
	switch {
	case o.Credentials == nil && o.Source == nil:
		return nil, errors.New("upstream: credentials are required")
	case o.Credentials != nil && o.Source != nil:
		return nil, errors.New("upstream: set Credentials or Source, not both")
	}
	var errs []error
	def, err := resolve(o.Default, Target{Region: "us-east-1"})
	if err != nil {
		errs = append(errs, fmt.Errorf("upstream default: %w", err))
	}
	c := &Client{def: def, buckets: make(map[string]resolved, len(o.Buckets)), transport: o.Transport}
	for name, t := range o.Buckets {
		// A bucket entry inherits what it leaves empty from the default.
		if t.Endpoint == "" {
			t.Endpoint = o.Default.Endpoint
			t.PathStyle = t.PathStyle || o.Default.PathStyle
		}
		r, err := resolve(t, Target{Region: def.region})
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream bucket %q: %w", name, err))
		}
		c.buckets[name] = r
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.source = o.Source
	if c.source == nil {
		c.source = ProviderSource(o.Credentials)
	}
	if c.transport == nil {
		tr, err := newTransport()
		if err != nil {
			return nil, err
		}
		c.transport = tr
	}
	return c, nil
}

func resolve(t, parent Target) (resolved, error) {
	r := resolved{region: t.Region, pathStyle: t.PathStyle}
	if r.region == "" {
		r.region = parent.Region
	}
	if t.Endpoint == "" {
		r.scheme, r.host, r.intact = "https", "s3."+r.region+".amazonaws.com", !t.SignPayload
		if r.region == "us-east-1" {
			r.host = "s3.amazonaws.com"
		}
		return r, nil
	}
	u, err := url.Parse(t.Endpoint)
	if err != nil {
		return r, fmt.Errorf("endpoint %q: %w", t.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return r, fmt.Errorf("endpoint %q: want scheme://host[:port] with http or https", t.Endpoint)
	}
	r.scheme, r.host = u.Scheme, u.Host
	ip, _ := netip.ParseAddr(u.Hostname())
	r.intact = (u.Scheme == "https" || ip.IsLoopback()) && !t.SignPayload
	return r, nil
}

// target returns where bucket's requests go.
func (c *Client) target(bucket string) resolved {
	if t, ok := c.buckets[bucket]; ok {
		return t
	}
	return c.def
}

// Region returns the signing region for bucket.
func (c *Client) Region(bucket string) string { return c.target(bucket).region }

// newTransport builds the upstream transport: keep-alive pools sized for a
// busy proxy, no transparent compression (bodies pass through unchanged),
// 100-continue honoured, and the system roots plus AWS_CA_BUNDLE trusted.
func newTransport() (*http.Transport, error) {
	pool, err := rootCAs()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // the upstream is never reached through a client-chosen proxy
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		DisableCompression:    true,
		ReadBufferSize:        64 << 10,
		WriteBufferSize:       64 << 10,
		ForceAttemptHTTP2:     false,
	}, nil
}

// RootCAs returns the roots the upstream transport trusts (the system pool
// plus AWS_CA_BUNDLE), for other S3 clients of lakegate, such as the audit
// log uploader, to trust the same.
func RootCAs() (*x509.CertPool, error) { return rootCAs() }

// rootCAs returns the system pool with the PEM bundle named by
// AWS_CA_BUNDLE added, so that machines that set it (as the AWS CLI and
// SDKs honour it) work instead of failing.
func rootCAs() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if path := os.Getenv("AWS_CA_BUNDLE"); path != "" {
		pem, err := os.ReadFile(path) // #nosec G304 -- operator-chosen path
		if err != nil {
			return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AWS_CA_BUNDLE %s: no certificates found", path)
		}
	}
	return pool, nil
}

// StaticCredentials are explicit upstream keys from the configuration.
type StaticCredentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// LoadCredentials returns static when its AccessKeyID is set, else the
// standard AWS chain (environment, shared profile named profile, web
// identity, container and instance roles), honouring AWS_CA_BUNDLE.
func LoadCredentials(ctx context.Context, static StaticCredentials, profile string) (aws.CredentialsProvider, error) {
	if static.AccessKeyID != "" {
		if static.SecretAccessKey == "" {
			return nil, errors.New("upstream: access_key_id is set but secret_access_key is empty")
		}
		return credentials.NewStaticCredentialsProvider(static.AccessKeyID, static.SecretAccessKey, static.SessionToken), nil
	}
	var opts []func(*config.LoadOptions) error
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("upstream: loading the AWS credential chain: %w", err)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("upstream: no AWS credentials found (set upstream.access_key_id or configure the AWS credential chain)")
	}
	return cfg.Credentials, nil
}

// hostOf strips a default port so Host headers match what S3 expects.
func hostOf(scheme, host string) string {
	if h, p, err := net.SplitHostPort(host); err == nil {
		if (scheme == "http" && p == "80") || (scheme == "https" && p == "443") {
			return h
		}
	}
	return strings.ToLower(host)
}

type awsCredentials = aws.Credentials

func unescapeQuery(s string) (string, error) { return url.QueryUnescape(s) }
