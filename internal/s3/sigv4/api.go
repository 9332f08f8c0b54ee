// Package sigv4 verifies and creates AWS request signatures for S3: Signature
// Version 4 in the Authorization header and in presigned query strings, the
// aws-chunked streaming payload forms (signed chunks, unsigned and signed
// trailers), and legacy Signature Version 2 (header and query). It is pure:
// it never performs I/O beyond reading the body it is handed, and it never
// logs.
//
// Specification: "Authenticating Requests (AWS Signature Version 4)" in the
// Amazon S3 API reference, including "Signature Calculations for the
// Authorization Header", "Query String Authentication", "Transferring Payload
// in Multiple Chunks (Chunked Upload)" and "Authenticating Requests Using
// Trailing Headers"; "Signing and Authenticating REST Requests" (SigV2); and
// "Authenticating Requests in Browser-Based Uploads Using POST" with
// "Creating a POST Policy" (POST Object forms, see postpolicy.go).
package sigv4

import (
	"context"
	"errors"
	"time"
)

// Credential is what verification needs to know about one access key.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when non-empty, must be presented by the request as
	// X-Amz-Security-Token (header or query), compared in constant time.
	SessionToken string
	// Expires is when the key stops working; the zero time means never.
	Expires time.Time
	// Owner names the user the key acts as. Verification ignores it; it is
	// carried to whoever authorizes the verified request.
	Owner string
	// SessionGroups are the groups the key was issued with, for keys of an
	// authenticated session; nil otherwise. Verification ignores them.
	SessionGroups []string
	// SessionGroupsFold says SessionGroups are case-insensitive names.
	SessionGroupsFold bool
}

// CredentialLookup resolves an access key id to its credential.
//
// LookupCredential returns an error wrapping ErrUnknownAccessKey when the key
// does not exist (or no longer exists); any other error means the lookup
// failed for a technical reason and the request must be refused without
// concluding anything about the key.
type CredentialLookup interface {
	LookupCredential(ctx context.Context, accessKeyID string) (Credential, error)
}

// ErrUnknownAccessKey is wrapped by CredentialLookup implementations for keys
// that do not exist.
var ErrUnknownAccessKey = errors.New("unknown access key")

// AuthKind says how a request was authenticated.
type AuthKind uint8

// Authentication forms.
const (
	HeaderV4    AuthKind = iota + 1 // Authorization: AWS4-HMAC-SHA256 …
	PresignedV4                     // X-Amz-Algorithm=AWS4-HMAC-SHA256&… in the query
	HeaderV2                        // Authorization: AWS AKID:signature
	PresignedV2                     // AWSAccessKeyId=…&Expires=…&Signature=… in the query
)

// Authentication forms of browser-based POST uploads (Verifier.VerifyPostForm).
const (
	PostPolicyV4 = PresignedV2 + 1 + iota // policy field signed with AWS4-HMAC-SHA256 (x-amz-signature)
	PostPolicyV2                          // policy field signed with HMAC-SHA1 (AWSAccessKeyId, signature)
)

// PayloadMode says how the request body is protected.
type PayloadMode uint8

// Payload forms (the x-amz-content-sha256 values of SigV4; SigV2 is always
// PayloadUnsigned, with Content-MD5 signed when sent).
const (
	PayloadUnsigned                 PayloadMode = iota + 1 // UNSIGNED-PAYLOAD, presigned, SigV2
	PayloadSHA256                                          // hex SHA-256 of the whole body
	PayloadStreamingSigned                                 // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	PayloadStreamingSignedTrailer                          // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
	PayloadStreamingUnsignedTrailer                        // STREAMING-UNSIGNED-PAYLOAD-TRAILER
)

// Streaming reports whether the body is aws-chunked encoded.
func (m PayloadMode) Streaming() bool { return m >= PayloadStreamingSigned }

// Options configure a Verifier.
type Options struct {
	// Credentials resolves access keys. Required.
	Credentials CredentialLookup
	// AllowSigV2 enables Signature Version 2 (header and query).
	AllowSigV2 bool
	// MaxClockSkew bounds |now - request time|; zero means 15 minutes.
	MaxClockSkew time.Duration
	// MaxPresignExpiry bounds presigned URL lifetimes (V4 X-Amz-Expires and
	// V2 Expires-now); zero means 7 days.
	MaxPresignExpiry time.Duration
	// MaxChunkSize bounds one aws-chunked chunk; zero means 16 MiB.
	MaxChunkSize int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}
