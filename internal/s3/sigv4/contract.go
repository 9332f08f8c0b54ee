package sigv4

// CONTRACT STUBS: the helper implementing this package replaces every body
// below (and may move the declarations into other files), keeping the exported
// names and signatures exactly as declared here.

import (
	"io"
	"net/http"
	"time"
)

// Verifier authenticates S3 requests. It is safe for concurrent use.
type Verifier struct{ opts Options }

// NewVerifier returns a Verifier; it panics if o.Credentials is nil.
func NewVerifier(o Options) *Verifier { panic("unimplemented") }

// Verify authenticates r from its method, URL, Host and headers. It never
// reads r.Body. hostBucket is the bucket named by a virtual-hosted-style
// Host ("" for path-style); SigV2 needs it for its canonical resource.
//
// Client-caused failures are returned as (wrapped) *s3err.Error values with
// the code S3 would use (SignatureDoesNotMatch, InvalidAccessKeyId,
// AccessDenied for unsigned x-amz-* headers or expired presigned URLs,
// RequestTimeTooSkewed, AuthorizationHeaderMalformed,
// AuthorizationQueryParametersError, ExpiredToken, InvalidToken,
// MissingSecurityHeader, NotImplemented, …). Anything else is a technical
// failure (credential lookup) and must be treated as a server error.
// A request carrying no authentication at all returns an *s3err.Error with
// code AccessDenied.
func (v *Verifier) Verify(r *http.Request, hostBucket string) (*Result, error) {
	panic("unimplemented")
}

// Result describes an authenticated request.
type Result struct {
	AccessKeyID string
	Credential  Credential
	Kind        AuthKind
	Payload     PayloadMode
	// ContentSHA256 is the x-amz-content-sha256 value as sent ("" for V2).
	ContentSHA256 string
	// DecodedContentLength is x-amz-decoded-content-length for streaming
	// payloads, -1 otherwise.
	DecodedContentLength int64
	// Trailers are the lower-cased names announced in x-amz-trailer.
	Trailers []string
	// SignedHeaders are the lower-cased header names the signature covers.
	SignedHeaders []string
	// Region is the credential scope's region (V4); "" for V2.
	Region string
	// RequestTime is X-Amz-Date (or Date) of the request.
	RequestTime time.Time
}

// IsAuthQueryParam reports whether a query parameter carries authentication
// (V4: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
// X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Security-Token; V2:
// AWSAccessKeyId, Signature, Expires) and must not be forwarded.
func IsAuthQueryParam(name string) bool { panic("unimplemented") }

// NewPayloadReader returns a reader over the payload of body that verifies it
// as it is read. contentLength is the request's Content-Length (-1 unknown).
//
//   - PayloadSHA256: the read that would deliver the last byte returns
//     XAmzContentSHA256Mismatch instead when the digest differs, so a
//     consumer never sees a complete wrong body.
//   - Streaming signed: each chunk is read whole (at most MaxChunkSize) and
//     its chained signature checked before any of its bytes are returned;
//     the final zero-length chunk and the trailer (with its signature in the
//     signed-trailer form) are read and verified before the last data byte is
//     returned. Bad signature: SignatureDoesNotMatch; bad framing or a decoded
//     length that differs from DecodedContentLength: IncompleteBody.
//   - Unsigned trailer: framing validated the same way, no signatures.
//   - PayloadUnsigned: bytes pass through unchanged.
//
// Read returns the decoded payload (the aws-chunked framing removed).
func (res *Result) NewPayloadReader(body io.Reader, contentLength int64) *PayloadReader {
	panic("unimplemented")
}

// PayloadReader is the verifying reader returned by NewPayloadReader.
type PayloadReader struct{}

func (p *PayloadReader) Read(b []byte) (int, error) { panic("unimplemented") }

// Trailer returns the trailing header fields (e.g. x-amz-checksum-crc64nvme)
// once Read has returned io.EOF; nil before that or when there are none.
func (p *PayloadReader) Trailer() http.Header { panic("unimplemented") }

// Signer signs requests for the upstream with SigV4 header authentication.
type Signer struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Region          string
	// Service defaults to "s3".
	Service string
}

// Sign sets X-Amz-Date, X-Amz-Content-Sha256 (payloadHash: a hex digest,
// UNSIGNED-PAYLOAD or a STREAMING-* keyword), X-Amz-Security-Token (when
// SessionToken is set) and Authorization on r. It signs host, every x-amz-*
// header, content-md5 and content-type. r.URL.EscapedPath() is sent as is
// (S3 rules: no normalisation, no double encoding). The returned context
// chains chunk signatures for streaming payloads.
func (s *Signer) Sign(r *http.Request, payloadHash string, now time.Time) *SigningContext {
	panic("unimplemented")
}

// SigningContext carries what chunk re-signing needs (signing key, scope,
// time, seed signature).
type SigningContext struct{}

// Resign returns the aws-chunked body to send upstream for a streaming
// payload: the client's framing byte for byte, with every chunk signature
// (and the trailer signature) replaced by one chained from sc, so its length
// equals the client's Content-Length. pr must come from NewPayloadReader of a
// streaming Result and must not be read elsewhere. For the unsigned-trailer
// form sc may be nil and the framing passes through unchanged. Verification
// failures surface as errors from Read, before the affected bytes.
func Resign(pr *PayloadReader, sc *SigningContext) io.Reader { panic("unimplemented") }
