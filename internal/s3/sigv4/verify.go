package sigv4

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// Defaults for the zero values of Options.
const (
	defaultMaxClockSkew     = 15 * time.Minute
	defaultMaxPresignExpiry = 7 * 24 * time.Hour
	defaultMaxChunkSize     = 16 << 20
)

// Verifier authenticates S3 requests. It is safe for concurrent use.
type Verifier struct{ opts Options }

// NewVerifier returns a Verifier; it panics if o.Credentials is nil.
func NewVerifier(o Options) *Verifier {
	if o.Credentials == nil {
		panic("sigv4: NewVerifier: Options.Credentials is nil")
	}
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = defaultMaxClockSkew
	}
	if o.MaxPresignExpiry <= 0 {
		o.MaxPresignExpiry = defaultMaxPresignExpiry
	}
	if o.MaxChunkSize <= 0 {
		o.MaxChunkSize = defaultMaxChunkSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Verifier{opts: o}
}

// Result describes an authenticated request.
type Result struct {
	AccessKeyID string
	Credential  Credential
	Kind        AuthKind
	Payload     PayloadMode
	// ContentSHA256 is the x-amz-content-sha256 value as sent ("" for V2).
	// For a presigned V4 request without one it is UNSIGNED-PAYLOAD, the
	// value the signature covers.
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

	// chain seeds the chunk signatures of a signed streaming payload: the
	// client's signing key, date, scope and request signature.
	chain *SigningContext
	// maxChunkSize is Options.MaxChunkSize of the Verifier.
	maxChunkSize int
}

var (
	errAnonymous = s3err.AccessDenied.WithMessage("Anonymous access is not allowed; sign the request with AWS Signature Version 4.")
	errMultiAuth = s3err.InvalidArgument.WithMessage("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified.")
	errNoDate    = s3err.AccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header.")
	errUnsigned  = s3err.AccessDenied.WithMessage("There were headers present in the request which were not signed.")
	errHostNot   = s3err.AccessDenied.WithMessage("The host header must be signed.")
	errExpired   = s3err.AccessDenied.WithMessage("Request has expired.")
	errNotYet    = s3err.AccessDenied.WithMessage("Request is not valid yet.")
	errBadQueryS = s3err.InvalidArgument.WithMessage("The query string is malformed.")
)

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
	authz, hasHeader := r.Header["Authorization"]
	var q authQuery
	if r.URL.RawQuery != "" {
		q = scanAuthQuery(r.URL.RawQuery)
	}
	switch {
	case hasHeader && (q.isV4() || q.isV2()), q.isV4() && q.isV2():
		return nil, errMultiAuth
	case hasHeader:
		if len(authz) != 1 {
			return nil, malformedHeader("more than one Authorization header.")
		}
		h := authz[0]
		switch {
		case strings.HasPrefix(h, algoV4):
			return v.verifyHeaderV4(r, h)
		case strings.HasPrefix(h, algoV4ECDSA):
			return nil, s3err.NotImplemented.WithMessage("Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported; use AWS4-HMAC-SHA256.")
		case strings.HasPrefix(h, "AWS "):
			if !v.opts.AllowSigV2 {
				return nil, errV2Disabled
			}
			return v.verifyHeaderV2(r, h, hostBucket)
		case strings.TrimSpace(h) == "":
			return nil, malformedHeader("the Authorization header is empty.")
		default:
			return nil, s3err.InvalidArgument.WithMessage("Unsupported Authorization Type.")
		}
	case q.isV4():
		return v.verifyPresignedV4(r, &q)
	case q.isV2():
		if !v.opts.AllowSigV2 {
			return nil, errV2Disabled
		}
		return v.verifyPresignedV2(r, &q, hostBucket)
	default:
		return nil, errAnonymous
	}
}

// v4Request is the verification input of either V4 form.
type v4Request struct {
	kind          AuthKind
	cred          credentialScope
	signedLine    string
	signedHeaders []string
	signature     string
	amzDate       string // the timestamp of the string to sign
	t             time.Time
	token         string
	hasToken      bool
	payload       payloadInfo
}

func (v *Verifier) verifyHeaderV4(r *http.Request, h string) (*Result, error) {
	a, err := parseAuthorizationV4(h)
	if err != nil {
		return nil, err
	}
	p := v4Request{kind: HeaderV4, signedLine: a.signedHeaders, signature: a.signature}
	p.cred, _ = parseCredential(a.credential)
	if p.cred.service != serviceS3 {
		return nil, malformedHeader("incorrect service \"" + safeText(p.cred.service) + "\". This endpoint belongs to \"s3\".")
	}

	if d := r.Header["X-Amz-Date"]; len(d) > 0 {
		t, err := parseAmzDate(d[0])
		if err != nil {
			return nil, errNoDate
		}
		p.t, p.amzDate = t, d[0]
	} else if d := r.Header["Date"]; len(d) > 0 {
		t, err := http.ParseTime(d[0])
		if err != nil {
			return nil, errNoDate
		}
		p.t = t.UTC()
		p.amzDate = p.t.Format(amzDateLayout)
	} else {
		return nil, errNoDate
	}
	if p.cred.date != p.amzDate[:8] {
		return nil, malformedHeader("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if d := v.opts.Now().Sub(p.t); d > v.opts.MaxClockSkew || d < -v.opts.MaxClockSkew {
		return nil, s3err.RequestTimeTooSkewed
	}

	p.signedHeaders = splitSignedHeaders(a.signedHeaders)
	if err := checkSignedHeaders(r, p.signedHeaders); err != nil {
		return nil, err
	}

	cs, ok := r.Header["X-Amz-Content-Sha256"]
	if !ok || len(cs) == 0 {
		return nil, s3err.InvalidRequest.WithMessage("Missing required header for this request: x-amz-content-sha256")
	}
	if p.payload, err = parsePayload(r, cs[0]); err != nil {
		return nil, err
	}

	if t := r.Header["X-Amz-Security-Token"]; len(t) > 0 {
		p.token, p.hasToken = t[0], true
	}
	return v.finishV4(r, &p)
}

// msgPresignMissing is AWS's message for a presigned URL lacking one of
// its required parameters.
const msgPresignMissing = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."

func (v *Verifier) verifyPresignedV4(r *http.Request, q *authQuery) (*Result, error) {
	if q.dup != "" {
		return nil, malformedQuery("The query parameter " + q.dup + " appears more than once.")
	}
	if q.bad {
		return nil, malformedQuery("An authentication query parameter is not correctly URL-encoded.")
	}
	if q.credential == "" || q.signature == "" || q.amzDate == "" || q.signedHeaders == "" || q.expires == "" {
		return nil, malformedQuery(msgPresignMissing)
	}
	switch q.algorithm {
	case algoV4:
	case algoV4ECDSA:
		return nil, s3err.NotImplemented.WithMessage("Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported; use AWS4-HMAC-SHA256.")
	default:
		return nil, malformedQuery(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".`)
	}
	var p v4Request
	p.kind = PresignedV4
	var ok bool
	if p.cred, ok = parseCredential(q.credential); !ok {
		return nil, malformedQuery("Error parsing the X-Amz-Credential parameter; " + msgCredentialMalformed)
	}
	if p.cred.service != serviceS3 {
		return nil, malformedQuery("Error parsing the X-Amz-Credential parameter; incorrect service \"" + safeText(p.cred.service) + "\". This endpoint belongs to \"s3\".")
	}
	t, err := parseAmzDate(q.amzDate)
	if err != nil {
		return nil, malformedQuery(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'".`)
	}
	p.t, p.amzDate = t, q.amzDate
	if p.cred.date != p.amzDate[:8] {
		return nil, malformedQuery("Error parsing the X-Amz-Credential parameter; Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	expires, err := strconv.ParseInt(q.expires, 10, 64)
	switch {
	case err != nil:
		return nil, malformedQuery("X-Amz-Expires should be a number")
	case expires < 0:
		return nil, malformedQuery("X-Amz-Expires must be non-negative")
	case expires > int64(v.opts.MaxPresignExpiry/time.Second):
		if v.opts.MaxPresignExpiry == defaultMaxPresignExpiry {
			return nil, malformedQuery("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
		}
		return nil, malformedQuery("X-Amz-Expires must be at most " + strconv.FormatInt(int64(v.opts.MaxPresignExpiry/time.Second), 10) + " (in seconds) on this server.")
	}
	if !validSignedHeaders(q.signedHeaders) {
		return nil, malformedQuery("X-Amz-SignedHeaders is missing or malformed.")
	}
	p.signedLine = q.signedHeaders
	if !isLowerHex(q.signature, 64) {
		return nil, malformedQuery("X-Amz-Signature is missing or malformed; " + msgSignatureMalformed)
	}
	p.signature = q.signature

	// A URL valid for 0 seconds has expired when it arrives: S3 answers it
	// AccessDenied, as any expired URL.
	now := v.opts.Now()
	if expires == 0 || now.After(p.t.Add(time.Duration(expires)*time.Second)) {
		return nil, errExpired
	}
	if p.t.Sub(now) > v.opts.MaxClockSkew {
		return nil, errNotYet
	}

	p.signedHeaders = splitSignedHeaders(q.signedHeaders)
	if err := checkSignedHeaders(r, p.signedHeaders); err != nil {
		return nil, err
	}

	switch cs := r.Header["X-Amz-Content-Sha256"]; {
	case q.hasContentSHA256:
		p.payload, err = parsePayload(r, q.contentSHA256)
	case len(cs) > 0:
		p.payload, err = parsePayload(r, cs[0])
	default:
		p.payload, err = parsePayload(r, unsignedPayload)
	}
	if err != nil {
		return nil, err
	}

	if q.hasToken {
		p.token, p.hasToken = q.token, true
	} else if t := r.Header["X-Amz-Security-Token"]; len(t) > 0 {
		p.token, p.hasToken = t[0], true
	}
	return v.finishV4(r, &p)
}

var errAmzDate = errors.New("malformed X-Amz-Date")

// parseAmzDate parses an ISO 8601 basic timestamp, exactly 16 characters.
func parseAmzDate(s string) (time.Time, error) {
	if len(s) != len(amzDateLayout) {
		return time.Time{}, errAmzDate
	}
	return time.Parse(amzDateLayout, s)
}

// checkSignedHeaders enforces that host is signed and that every x-amz-*
// header present on r is signed.
func checkSignedHeaders(r *http.Request, signed []string) error {
	host := false
	for _, n := range signed {
		if n == "host" {
			host = true
			break
		}
	}
	if !host {
		return errHostNot
	}
	for k := range r.Header {
		if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") {
			continue
		}
		found := false
		for _, n := range signed {
			if strings.EqualFold(k, n) {
				found = true
				break
			}
		}
		if !found {
			return errUnsigned
		}
	}
	return nil
}

// lookup resolves the access key, mapping unknown keys to InvalidAccessKeyId
// and passing technical failures through.
func (v *Verifier) lookup(ctx context.Context, akid string) (Credential, error) {
	cred, err := v.opts.Credentials.LookupCredential(ctx, akid)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return cred, s3err.InvalidAccessKeyID
		}
		return cred, err
	}
	return cred, nil
}

// checkCredential applies the credential's expiry and session token after
// the signature has been verified.
func (v *Verifier) checkCredential(cred *Credential, token string, hasToken bool) error {
	if !cred.Expires.IsZero() && v.opts.Now().After(cred.Expires) {
		return s3err.ExpiredToken
	}
	if cred.SessionToken == "" {
		if hasToken && token != "" {
			return s3err.InvalidToken.WithMessage("A security token was sent for an access key that does not use one.")
		}
		return nil
	}
	if !hasToken || subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1 {
		return s3err.InvalidToken
	}
	return nil
}

func (v *Verifier) finishV4(r *http.Request, p *v4Request) (*Result, error) {
	cred, err := v.lookup(r.Context(), p.cred.accessKeyID)
	if err != nil {
		return nil, err
	}
	key := keys.get(cred.SecretAccessKey, p.cred.date, p.cred.region, p.cred.service)

	w := getWork()
	defer putWork(w)
	in := canonicalInput{
		r:             r,
		uri:           r.URL.Path,
		dropSignature: p.kind == PresignedV4,
		strictQuery:   true,
		signedHeaders: p.signedHeaders,
		signedLine:    p.signedLine,
		payloadHash:   p.payload.hash,
	}
	if err := w.buildCanonicalRequest(&in); err != nil {
		return nil, errBadQueryS
	}
	w.buildStringToSign(p.amzDate, p.cred.scope)
	want := w.signature(key)
	var got [64]byte
	copy(got[:], p.signature)
	if subtle.ConstantTimeCompare(want, got[:]) != 1 {
		return nil, s3err.SignatureDoesNotMatch
	}
	if err := v.checkCredential(&cred, p.token, p.hasToken); err != nil {
		return nil, err
	}

	res := &Result{
		AccessKeyID:          p.cred.accessKeyID,
		Credential:           cred,
		Kind:                 p.kind,
		Payload:              p.payload.mode,
		ContentSHA256:        p.payload.hash,
		DecodedContentLength: p.payload.decodedLength,
		Trailers:             p.payload.trailers,
		SignedHeaders:        p.signedHeaders,
		Region:               p.cred.region,
		RequestTime:          p.t,
		maxChunkSize:         v.opts.MaxChunkSize,
	}
	if p.payload.mode == PayloadStreamingSigned || p.payload.mode == PayloadStreamingSignedTrailer {
		res.chain = &SigningContext{key: key, amzDate: p.amzDate, scope: p.cred.scope, seed: got}
	}
	return res, nil
}

// payloadInfo is the parsed x-amz-content-sha256 and its companions.
type payloadInfo struct {
	mode          PayloadMode
	hash          string
	decodedLength int64
	trailers      []string
}

// parsePayload interprets the x-amz-content-sha256 value cs of r.
func parsePayload(r *http.Request, cs string) (payloadInfo, error) {
	p := payloadInfo{hash: cs, decodedLength: -1}
	switch cs {
	case unsignedPayload:
		p.mode = PayloadUnsigned
		return p, nil
	case streamingSigned:
		p.mode = PayloadStreamingSigned
	case streamingSignedTrailer:
		p.mode = PayloadStreamingSignedTrailer
	case streamingUnsignedTrailer:
		p.mode = PayloadStreamingUnsignedTrailer
	case streamingECDSA, streamingECDSATrailer:
		return p, s3err.NotImplemented.WithMessage("Signature Version 4A streaming payloads (" + cs + ") are not supported.")
	default:
		if isLowerHex(cs, 64) {
			p.mode = PayloadSHA256
			return p, nil
		}
		return p, s3err.InvalidArgument.WithMessage("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.")
	}
	dl := r.Header["X-Amz-Decoded-Content-Length"]
	if len(dl) == 0 {
		return p, s3err.MissingContentLength.WithMessage("You must provide the x-amz-decoded-content-length header with a streaming (aws-chunked) payload.")
	}
	n, err := strconv.ParseInt(dl[0], 10, 64)
	if err != nil || n < 0 || len(dl) > 1 {
		return p, s3err.InvalidArgument.WithMessage("x-amz-decoded-content-length must be a non-negative integer.")
	}
	p.decodedLength = n
	if p.mode == PayloadStreamingSigned {
		return p, nil
	}
	for _, v := range r.Header["X-Amz-Trailer"] {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.Trim(name, " \t"))
			if name == "" {
				continue
			}
			for i := 0; i < len(name); i++ {
				if !isTokenChar(name[i]) {
					return p, s3err.InvalidArgument.WithMessage("x-amz-trailer must be a comma-separated list of header names.")
				}
			}
			p.trailers = append(p.trailers, name)
		}
	}
	return p, nil
}
