package upstream

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxCORSConfiguration bounds the CORS configuration read from the
// upstream: S3 allows 100 rules, of a few origins and headers each.
const maxCORSConfiguration = 256 << 10

// CORSError is a bucket's CORS configuration that could not be read.
// Unavailable says the failure may pass (the upstream could not be
// reached, answered 5xx, or the proxy's credentials failed); otherwise the
// upstream refused (its code, e.g. AccessDenied) or answered too much.
type CORSError struct {
	Status      int
	Code        string
	Unavailable bool
	Err         error
}

func (e *CORSError) Error() string {
	switch {
	case e.Err != nil:
		return "reading the bucket's CORS configuration: " + e.Err.Error()
	case e.Code != "":
		return fmt.Sprintf("reading the bucket's CORS configuration: upstream answered %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("reading the bucket's CORS configuration: upstream answered %d", e.Status)
}

func (e *CORSError) Unwrap() error { return e.Err }

// noCORSCodes are the answers to GET ?cors that mean there is no
// configuration to apply: none is set, the bucket does not exist, or the
// service does not implement bucket CORS (MinIO answers PutBucketCors
// NotImplemented and GetBucketCors NoSuchCORSConfiguration).
var noCORSCodes = map[string]bool{
	"NoSuchCORSConfiguration": true, "NoSuchBucket": true, "NotImplemented": true,
}

// BucketCORS reads bucket's CORS configuration (GET ?cors) on the proxy's
// own behalf, signed with the bucket's credentials, and returns the XML
// document, or nil and no error when the bucket has none (see noCORSCodes).
// Any other answer is a *CORSError.
func (c *Client) BucketCORS(ctx context.Context, bucket string) ([]byte, error) {
	resp, err := c.List(ctx, bucket, url.Values{"cors": {""}})
	if err != nil {
		return nil, &CORSError{Unavailable: true, Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCORSConfiguration+1))
	if err != nil {
		return nil, &CORSError{Status: resp.StatusCode, Unavailable: true, Err: err}
	}
	if resp.StatusCode == http.StatusOK {
		if len(body) > maxCORSConfiguration {
			return nil, &CORSError{Status: resp.StatusCode, Code: "ConfigurationTooLarge"}
		}
		return body, nil
	}
	var ue upstreamError
	_ = xml.Unmarshal(body, &ue)
	if resp.StatusCode == http.StatusNotImplemented || noCORSCodes[ue.Code] {
		return nil, nil
	}
	e := &CORSError{Status: resp.StatusCode}
	if validCode(ue.Code) {
		e.Code = ue.Code
	}
	e.Unavailable = resp.StatusCode >= 500 || credentialCodes[e.Code]
	return nil, e
}
