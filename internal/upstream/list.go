package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// locate returns the host and path of bucket's object key at t (key ""
// for the bucket itself, bucket "" for the service).
func (t resolved) locate(bucket, key string) (host, path string) {
	path, host = "/", t.host
	if t.pathStyle || bucket == "" {
		if bucket != "" {
			path += bucket
			if key != "" {
				path += "/" + key
			}
		}
		return host, path
	}
	return bucket + "." + t.host, path + key
}

// List sends GET bucket?query upstream on the proxy's own behalf, signed
// with the bucket's credentials, and returns the response, whatever its
// status; the caller must close its body. The proxy pages filtered
// listings itself with it, so that nothing a client sent but query reaches
// the upstream.
func (c *Client) List(ctx context.Context, bucket string, query url.Values) (*http.Response, error) {
	return c.send(ctx, http.MethodGet, bucket, "", query, nil)
}

// send sends a request without a body (GET or HEAD) for bucket's object key
// ("" for the bucket itself) upstream on the proxy's own behalf, signed
// with the bucket's credentials; header adds headers (such as Range) before
// signing. It returns the response whatever its status; the caller must
// close its body. A failure to get the credentials is a *CredentialsError,
// a failure of the exchange a *ForwardError.
func (c *Client) send(ctx context.Context, method, bucket, key string, query url.Values, header http.Header) (*http.Response, error) {
	creds, err := c.Credentials(ctx, bucket)
	if err != nil {
		return nil, &CredentialsError{Err: err}
	}
	t := c.target(bucket)
	host, path := t.locate(bucket, key)
	u := &url.URL{Scheme: t.scheme, Host: host, Path: path, RawPath: sigv4.EscapePath(path), RawQuery: strings.ReplaceAll(query.Encode(), "+", "%20")}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Host = hostOf(t.scheme, host)
	for name, values := range header {
		req.Header[name] = values
	}
	req.Header.Set("Accept-Encoding", "identity")
	signer := sigv4.Signer{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		SessionToken:    creds.SessionToken,
		Region:          t.region,
	}
	signer.Sign(req, emptySHA256, time.Now().UTC())
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return nil, &ForwardError{Err: err}
	}
	return resp, nil
}
