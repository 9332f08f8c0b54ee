package sigv4

import (
	"net/url"
	"strings"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// credentialScope is a parsed SigV4 credential
// "AKID/yyyymmdd/region/service/aws4_request".
type credentialScope struct {
	accessKeyID string
	date        string // yyyymmdd
	region      string
	service     string
	scope       string // "yyyymmdd/region/service/aws4_request"
}

// v4Auth is a parsed "Authorization: AWS4-HMAC-SHA256 …" header.
type v4Auth struct {
	credential    string
	signedHeaders string
	signature     string
}

const (
	msgCredentialMalformed = `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`
	msgSignatureMalformed  = "the Signature must be 64 lower-case hexadecimal characters."
)

// parseAuthorizationV4 splits an Authorization header value of the
// AWS4-HMAC-SHA256 scheme into its three parts. Spaces after the commas are
// optional and the parts may come in any order; each must appear exactly
// once. It checks the shape of every part but not the credential's service.
func parseAuthorizationV4(h string) (v4Auth, error) {
	var a v4Auth
	rest, ok := strings.CutPrefix(h, algoV4)
	if !ok || rest == "" || rest[0] != ' ' {
		return a, malformedHeader("the authorization header must start with \"AWS4-HMAC-SHA256 \".")
	}
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.Trim(part, " \t")
		name, value, ok := strings.Cut(part, "=")
		if !ok || value == "" {
			return a, malformedHeader("expected Credential=, SignedHeaders= and Signature= parts separated by commas.")
		}
		var dst *string
		switch name {
		case "Credential":
			dst = &a.credential
		case "SignedHeaders":
			dst = &a.signedHeaders
		case "Signature":
			dst = &a.signature
		default:
			return a, malformedHeader("unexpected part \"" + safeText(name) + "\".")
		}
		if *dst != "" {
			return a, malformedHeader("the part " + name + " appears more than once.")
		}
		*dst = value
	}
	switch {
	case a.credential == "":
		return a, malformedHeader("missing Credential.")
	case a.signedHeaders == "":
		return a, malformedHeader("missing SignedHeaders.")
	case a.signature == "":
		return a, malformedHeader("missing Signature.")
	}
	if _, ok := parseCredential(a.credential); !ok {
		return a, malformedHeader(msgCredentialMalformed)
	}
	if !validSignedHeaders(a.signedHeaders) {
		return a, malformedHeader("the SignedHeaders list is malformed.")
	}
	if !isLowerHex(a.signature, 64) {
		return a, malformedHeader(msgSignatureMalformed)
	}
	return a, nil
}

// format renders a in the canonical form SDKs send.
func (a v4Auth) format() string {
	return algoV4 + " Credential=" + a.credential + ", SignedHeaders=" + a.signedHeaders + ", Signature=" + a.signature
}

func malformedHeader(msg string) error {
	return s3err.AuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; " + msg)
}

func malformedQuery(msg string) error {
	return s3err.AuthorizationQueryParametersError.WithMessage(msg)
}

// safeText bounds and sanitises client text echoed in an error message.
func safeText(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return '?'
		}
		return r
	}, s)
}

// parseCredential splits "AKID/yyyymmdd/region/service/aws4_request". The
// access key id is everything before the last four components.
func parseCredential(s string) (credentialScope, bool) {
	var c credentialScope
	i := len(s)
	var cuts [4]int
	for n := 0; n < 4; n++ {
		j := strings.LastIndexByte(s[:i], '/')
		if j < 0 {
			return c, false
		}
		cuts[n] = j
		i = j
	}
	c.accessKeyID = s[:cuts[3]]
	c.date = s[cuts[3]+1 : cuts[2]]
	c.region = s[cuts[2]+1 : cuts[1]]
	c.service = s[cuts[1]+1 : cuts[0]]
	c.scope = s[cuts[3]+1:]
	term := s[cuts[0]+1:]
	if c.accessKeyID == "" || c.region == "" || c.service == "" || term != scopeTerminator || !isDigits(c.date, 8) {
		return c, false
	}
	return c, true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isLowerHex[T string | []byte](s T, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an HTTP header name.
func isTokenChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validSignedHeaders checks a ';'-separated list of header names.
func validSignedHeaders(s string) bool {
	if s == "" {
		return false
	}
	for rest := s; ; {
		name, r, more := strings.Cut(rest, ";")
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			if !isTokenChar(name[i]) {
				return false
			}
		}
		if !more {
			return true
		}
		rest = r
	}
}

// splitSignedHeaders returns the lower-cased names of a list accepted by
// validSignedHeaders.
func splitSignedHeaders(s string) []string {
	names := make([]string, 0, strings.Count(s, ";")+1)
	for rest := s; ; {
		name, r, more := strings.Cut(rest, ";")
		names = append(names, strings.ToLower(name))
		if !more {
			return names
		}
		rest = r
	}
}

// authQuery holds the authentication parameters found in a query string.
type authQuery struct {
	// SigV4 presigned.
	algorithm, credential, amzDate, expires, signedHeaders, signature string
	hasAlgorithm, hasCredential, hasSignedHeaders, hasSignature       bool
	hasDate, hasExpires                                               bool
	// Either form.
	token, contentSHA256       string
	hasToken, hasContentSHA256 bool
	// SigV2 presigned.
	accessKeyID, v2Signature, v2Expires string
	hasAccessKeyID, hasV2Signature      bool
	hasV2Expires                        bool

	dup string // name of an authentication parameter given twice
	bad bool   // an authentication parameter could not be decoded
}

func (q *authQuery) isV4() bool {
	return q.hasAlgorithm || q.hasCredential || q.hasSignedHeaders || q.hasSignature
}

func (q *authQuery) isV2() bool { return q.hasAccessKeyID || q.hasV2Signature }

// scanAuthQuery extracts the authentication parameters of a raw query
// string. Names are matched exactly as AWS does, except the token and
// content hash which clients spell in several ways.
func scanAuthQuery(raw string) authQuery {
	var q authQuery
	for rest := raw; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if strings.ContainsAny(k, "%+") {
			dk, err := url.QueryUnescape(k)
			if err != nil {
				continue
			}
			k = dk
		}
		var dst *string
		var has *bool
		switch {
		case k == "X-Amz-Algorithm":
			dst, has = &q.algorithm, &q.hasAlgorithm
		case k == "X-Amz-Credential":
			dst, has = &q.credential, &q.hasCredential
		case k == "X-Amz-Date":
			dst, has = &q.amzDate, &q.hasDate
		case k == "X-Amz-Expires":
			dst, has = &q.expires, &q.hasExpires
		case k == "X-Amz-SignedHeaders":
			dst, has = &q.signedHeaders, &q.hasSignedHeaders
		case k == "X-Amz-Signature":
			dst, has = &q.signature, &q.hasSignature
		case strings.EqualFold(k, "X-Amz-Security-Token"):
			dst, has = &q.token, &q.hasToken
		case strings.EqualFold(k, "X-Amz-Content-Sha256"):
			dst, has = &q.contentSHA256, &q.hasContentSHA256
		case k == "AWSAccessKeyId":
			dst, has = &q.accessKeyID, &q.hasAccessKeyID
		case k == "Signature":
			dst, has = &q.v2Signature, &q.hasV2Signature
		case k == "Expires":
			dst, has = &q.v2Expires, &q.hasV2Expires
		default:
			continue
		}
		if *has {
			q.dup = k
		}
		*has = true
		if strings.ContainsAny(v, "%+") {
			dv, err := url.QueryUnescape(v)
			if err != nil {
				q.bad = true
				continue
			}
			v = dv
		}
		*dst = v
	}
	return q
}

// IsAuthQueryParam reports whether a query parameter carries authentication
// (V4: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
// X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Security-Token; V2:
// AWSAccessKeyId, Signature, Expires) and must not be forwarded. Names are
// matched case-insensitively so that no spelling of them reaches the
// upstream.
func IsAuthQueryParam(name string) bool {
	for _, p := range authQueryParams {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

var authQueryParams = [...]string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
	"AWSAccessKeyId", "Signature", "Expires",
}
