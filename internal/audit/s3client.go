package audit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakegate/lakegate/internal/upstream"
)

// S3Options say how to reach the S3 log bucket.
type S3Options struct {
	// Endpoint is the S3 base URL, e.g. http://127.0.0.1:9000; empty means
	// AWS S3 in Region.
	Endpoint string
	// Region is the signing region (default us-east-1).
	Region string
	// PathStyle sends /bucket/key instead of bucket.host/key.
	PathStyle bool
	// Credentials sign the requests (the server passes its upstream system
	// credentials). Required.
	Credentials aws.CredentialsProvider
	// HTTPClient overrides the HTTP client (tests). nil builds one that
	// trusts the system roots plus AWS_CA_BUNDLE, with connect and read
	// timeouts.
	HTTPClient s3.HTTPClient
}

// Network timeouts of the S3 log bucket client. Each call also has a
// deadline (uploadTimeout, listTimeout, getTimeout).
const (
	s3ReadTimeout   = 60 * time.Second
	s3HeaderTimeout = 60 * time.Second
	uploadTimeout   = 5 * time.Minute
	listTimeout     = time.Minute
	getTimeout      = 10 * time.Minute
)

// newS3Client builds the client for the log bucket. It is built with
// s3.New and an awshttp.BuildableClient rather than
// config.LoadDefaultConfig: LoadDefaultConfig applies AWS_CA_BUNDLE by
// type-asserting the HTTP client and fails ("unable to add custom RootCAs")
// for any other; here the bundle is added to the transport directly, the
// way the upstream client does.
func newS3Client(o S3Options) (*s3.Client, error) {
	if o.Credentials == nil {
		return nil, errors.New("audit: S3 log bucket: credentials are required")
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("audit: S3 log bucket: endpoint %q is not an http(s) URL", o.Endpoint)
		}
	}
	region := o.Region
	if region == "" {
		region = "us-east-1"
	}
	hc := o.HTTPClient
	if hc == nil {
		pool, err := upstream.RootCAs()
		if err != nil {
			return nil, fmt.Errorf("audit: S3 log bucket: %w", err)
		}
		hc = awshttp.NewBuildableClient().
			WithTransportOptions(func(tr *http.Transport) {
				if tr.TLSClientConfig == nil {
					tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				tr.TLSClientConfig.RootCAs = pool
				tr.ResponseHeaderTimeout = s3HeaderTimeout
			}).
			WithReadTimeout(s3ReadTimeout)
	}
	creds := o.Credentials
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds)
	}
	opts := s3.Options{
		Region:       region,
		Credentials:  creds,
		UsePathStyle: o.PathStyle,
		HTTPClient:   hc,
	}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(o.Endpoint, "/"))
	}
	return s3.New(opts), nil
}

// ParseS3URL splits s3://bucket/prefix (s3a:// too) into bucket and prefix
// (without surrounding slashes).
func ParseS3URL(raw string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		rest, ok = strings.CutPrefix(raw, "s3a://")
	}
	if !ok {
		return "", "", fmt.Errorf("audit: %q is not an s3://bucket/prefix URL", raw)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("audit: %q names no bucket", raw)
	}
	return bucket, strings.Trim(prefix, "/"), nil
}
