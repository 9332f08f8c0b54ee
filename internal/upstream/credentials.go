package upstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CredentialSource picks the credentials that sign one bucket's requests.
//
// Credentials returns keys that are valid now for requests to bucket ("" for
// requests that name no bucket, such as ListBuckets). When they can expire,
// Expires is when they stop working, not when the source means to renew
// them: callers that keep credentials apply their own margin. An error means
// the bucket's requests must not be sent: a source never answers with other
// credentials than the ones meant for the bucket (for example the base
// credentials when a role cannot be assumed). Implementations must be safe
// for concurrent use and should return promptly once ctx is done.
type CredentialSource interface {
	Credentials(ctx context.Context, bucket string) (aws.Credentials, error)
}

// Interface guards.
var (
	_ CredentialSource = (*Client)(nil)
	_ CredentialSource = (*providerSource)(nil)
	_ CredentialSource = (*RoleCredentials)(nil)
)

// ProviderSource returns a CredentialSource that signs every bucket with
// p's credentials, cached (p is wrapped in an aws.CredentialsCache unless it
// is one).
func ProviderSource(p aws.CredentialsProvider) CredentialSource {
	return &providerSource{p: cached(p)}
}

type providerSource struct{ p aws.CredentialsProvider }

func (s *providerSource) Credentials(ctx context.Context, _ string) (aws.Credentials, error) {
	return s.p.Retrieve(ctx)
}

// cached wraps p in an aws.CredentialsCache unless it is one already.
func cached(p aws.CredentialsProvider) aws.CredentialsProvider {
	if _, ok := p.(*aws.CredentialsCache); ok {
		return p
	}
	return aws.NewCredentialsCache(p)
}

// errNoKeys is a source answering without an error and without keys.
var errNoKeys = errors.New("the credential source returned no keys")

// Credentials returns the credentials that sign bucket's requests, as the
// client's source (Options.Source or Options.Credentials) gives them. It
// refuses credentials without keys and credentials already expired, so
// that no request is signed with them. The policy server hands these to
// nScale proxies.
func (c *Client) Credentials(ctx context.Context, bucket string) (aws.Credentials, error) {
	creds, err := c.source.Credentials(ctx, bucket)
	if err != nil {
		return aws.Credentials{}, err
	}
	if !creds.HasKeys() {
		return aws.Credentials{}, errNoKeys
	}
	if creds.CanExpire && !time.Now().Before(creds.Expires) {
		return aws.Credentials{}, fmt.Errorf("the credential source returned credentials that expired at %s", creds.Expires.UTC().Format(time.RFC3339))
	}
	return creds, nil
}
