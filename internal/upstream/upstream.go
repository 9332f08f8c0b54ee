// Package upstream sends authorized requests to the real S3 service: it picks
// the endpoint and region for a bucket, re-signs with the system credentials
// and streams bodies both ways.
package upstream

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
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
}

// Options configure a Client.
type Options struct {
	// Default applies to every bucket without an entry in Buckets.
	Default Target
	// Buckets overrides the target per bucket name (okerafs.<bucket>.region).
	Buckets map[string]Target
	// Credentials signs every upstream request. Required.
	Credentials aws.CredentialsProvider
}

// Client forwards requests upstream. It is safe for concurrent use.
type Client struct{ opts Options }

// New validates o and returns a Client.
func New(o Options) (*Client, error) { panic("unimplemented") }

// StaticCredentials are explicit upstream keys from the configuration.
type StaticCredentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// LoadCredentials returns static when its AccessKeyID is set, else the
// standard AWS chain (environment, shared profile named profile, web
// identity, container and instance roles), honouring AWS_CA_BUNDLE.
func LoadCredentials(ctx context.Context, static StaticCredentials, profile string) (aws.CredentialsProvider, error) {
	panic("unimplemented")
}
