package sigv4

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

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
//
// When SessionToken is empty any X-Amz-Security-Token already on r is
// removed, so that a client's token never reaches the upstream.
func (s *Signer) Sign(r *http.Request, payloadHash string, now time.Time) *SigningContext {
	service := s.Service
	if service == "" {
		service = serviceS3
	}
	amzDate := now.UTC().Format(amzDateLayout)
	date := amzDate[:8]
	scope := date + "/" + s.Region + "/" + service + "/" + scopeTerminator

	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if s.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", s.SessionToken)
	} else {
		r.Header.Del("X-Amz-Security-Token")
	}

	names := make([]string, 1, len(r.Header)+1)
	names[0] = "host"
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") || lk == "content-md5" || lk == "content-type" {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	signedLine := strings.Join(names, ";")

	w := getWork()
	defer putWork(w)
	in := canonicalInput{
		r:             r,
		uri:           r.URL.EscapedPath(),
		escapedURI:    true,
		signedHeaders: names,
		signedLine:    signedLine,
		payloadHash:   payloadHash,
	}
	_ = w.buildCanonicalRequest(&in) // cannot fail with a lenient query
	w.buildStringToSign(amzDate, scope)
	key := keys.get(s.SecretAccessKey, date, s.Region, service)
	sc := &SigningContext{key: key, amzDate: amzDate, scope: scope}
	copy(sc.seed[:], w.signature(key))

	r.Header.Set("Authorization", algoV4+" Credential="+s.AccessKeyID+"/"+scope+
		", SignedHeaders="+signedLine+", Signature="+string(sc.seed[:]))
	return sc
}

// SigningContext carries what chunk re-signing needs (signing key, scope,
// time, seed signature).
type SigningContext struct {
	key     *signingKey
	amzDate string
	scope   string
	seed    [64]byte // hex signature of the request
}

// Resign returns the aws-chunked body to send upstream for a streaming
// payload: the client's framing byte for byte, with every chunk signature
// (and the trailer signature) replaced by one chained from sc, so its length
// equals the client's Content-Length. pr must come from NewPayloadReader of a
// streaming Result and must not be read elsewhere. For the unsigned-trailer
// form sc may be nil and the framing passes through unchanged. Verification
// failures surface as errors from Read, before the affected bytes.
//
// Resign must be called before the first Read of pr. pr.Trailer still
// reports the trailers once the returned reader has returned io.EOF. For a
// non-streaming pr the returned reader is pr itself.
func Resign(pr *PayloadReader, sc *SigningContext) io.Reader {
	s := pr.s
	if s == nil {
		return pr
	}
	s.raw = true
	if s.signed {
		if sc == nil {
			return errReader{errors.New("sigv4: Resign: a signed streaming payload needs a SigningContext")}
		}
		s.rs = new(chain)
		s.rs.init(sc)
	}
	return resignReader{pr}
}

type resignReader struct{ p *PayloadReader }

func (r resignReader) Read(b []byte) (int, error) { return r.p.Read(b) }

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
