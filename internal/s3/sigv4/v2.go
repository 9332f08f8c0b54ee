package sigv4

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // SigV2 is defined with HMAC-SHA1.
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

var errV2Disabled = s3err.AccessDenied.WithMessage("Signature Version 2 is disabled on this server; sign requests with AWS Signature Version 4 (AWS4-HMAC-SHA256).")

// v2SubResources are the query parameters SigV2 includes in the canonical
// resource, sorted by byte value.
var v2SubResources = func() []string {
	s := []string{
		"acl", "accelerate", "analytics", "cors", "delete", "encryption", "inventory",
		"lifecycle", "location", "logging", "metrics", "notification", "partNumber",
		"policy", "requestPayment", "restore", "select", "select-type", "tagging",
		"torrent", "uploadId", "uploads", "versionId", "versioning", "versions",
		"website", "replication", "object-lock", "retention", "legal-hold",
		"publicAccessBlock", "ownershipControls", "intelligent-tiering",
		"response-content-type", "response-content-language", "response-expires",
		"response-cache-control", "response-content-disposition",
		"response-content-encoding",
	}
	slices.Sort(s)
	return s
}()

// v2Request is the verification input of either V2 form.
type v2Request struct {
	kind        AuthKind
	accessKeyID string
	signature   string
	dateLine    string
	t           time.Time
}

func (v *Verifier) verifyHeaderV2(r *http.Request, h, hostBucket string) (*Result, error) {
	rest := strings.TrimLeft(h[len("AWS "):], " ")
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 || i == len(rest)-1 {
		return nil, malformedHeader("AWS authorization header is invalid. Expected AwsAccessKeyId:signature.")
	}
	p := v2Request{kind: HeaderV2, accessKeyID: rest[:i], signature: strings.TrimSpace(rest[i+1:])}

	var tv string
	if d := r.Header["X-Amz-Date"]; len(d) > 0 {
		tv = d[0] // the Date line stays empty; x-amz-date is in the amz headers
	} else if d := r.Header["Date"]; len(d) > 0 {
		tv = d[0]
		p.dateLine = d[0]
	} else {
		return nil, errNoDate
	}
	t, err := http.ParseTime(tv)
	if err != nil {
		if t, err = time.Parse(amzDateLayout, tv); err != nil {
			return nil, errNoDate
		}
	}
	p.t = t.UTC()
	if d := v.opts.Now().Sub(p.t); d > v.opts.MaxClockSkew || d < -v.opts.MaxClockSkew {
		return nil, s3err.RequestTimeTooSkewed
	}
	return v.finishV2(r, &p, hostBucket, "")
}

func (v *Verifier) verifyPresignedV2(r *http.Request, q *authQuery, hostBucket string) (*Result, error) {
	if q.dup != "" || q.bad {
		return nil, s3err.AccessDenied.WithMessage("Query-string authentication parameters must appear once and be URL-encoded.")
	}
	if !q.hasAccessKeyID || !q.hasV2Signature || !q.hasV2Expires || q.accessKeyID == "" || q.v2Signature == "" {
		return nil, s3err.AccessDenied.WithMessage("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters.")
	}
	exp, err := strconv.ParseInt(q.v2Expires, 10, 64)
	if err != nil {
		return nil, s3err.AccessDenied.WithMessage("Expires must be an integer number of seconds since the epoch.")
	}
	now := v.opts.Now()
	if now.Unix() > exp {
		return nil, errExpired
	}
	if max := int64(v.opts.MaxPresignExpiry / time.Second); exp-now.Unix() > max {
		return nil, malformedQuery("Expires must be at most " + strconv.FormatInt(max, 10) + " seconds in the future.")
	}
	// '+' in an unencoded base64 signature arrives as a space.
	sig := strings.ReplaceAll(q.v2Signature, " ", "+")
	p := v2Request{kind: PresignedV2, accessKeyID: q.accessKeyID, signature: sig, dateLine: q.v2Expires, t: now}
	token := ""
	if q.hasToken {
		token = q.token
	}
	return v.finishV2(r, &p, hostBucket, token)
}

func (v *Verifier) finishV2(r *http.Request, p *v2Request, hostBucket, queryToken string) (*Result, error) {
	cred, err := v.lookup(r.Context(), p.accessKeyID)
	if err != nil {
		return nil, err
	}
	sts, amzNames := stringToSignV2(r, p.dateLine, hostBucket)
	m := hmac.New(sha1.New, []byte(cred.SecretAccessKey))
	m.Write(sts)
	want := base64.StdEncoding.AppendEncode(make([]byte, 0, 28), m.Sum(nil))
	if subtle.ConstantTimeCompare(want, []byte(p.signature)) != 1 {
		return nil, s3err.SignatureDoesNotMatch
	}
	token, hasToken := queryToken, queryToken != ""
	if t := r.Header["X-Amz-Security-Token"]; len(t) > 0 {
		token, hasToken = t[0], true
	}
	if err := v.checkCredential(&cred, token, hasToken); err != nil {
		return nil, err
	}
	signed := []string{"content-md5", "content-type"}
	if p.kind == HeaderV2 && p.dateLine != "" {
		signed = append(signed, "date")
	}
	signed = append(signed, amzNames...)
	return &Result{
		AccessKeyID:          p.accessKeyID,
		Credential:           cred,
		Kind:                 p.kind,
		Payload:              PayloadUnsigned,
		DecodedContentLength: -1,
		SignedHeaders:        signed,
		RequestTime:          p.t,
		maxChunkSize:         v.opts.MaxChunkSize,
	}, nil
}

// stringToSignV2 builds the SigV2 string to sign and returns it with the
// sorted lower-case x-amz-* header names it covers.
func stringToSignV2(r *http.Request, dateLine, hostBucket string) ([]byte, []string) {
	b := make([]byte, 0, 256)
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, r.Header.Get("Content-Md5")...)
	b = append(b, '\n')
	b = append(b, r.Header.Get("Content-Type")...)
	b = append(b, '\n')
	b = append(b, dateLine...)
	b = append(b, '\n')

	var names []string
	for k := range r.Header {
		if len(k) >= 6 && strings.EqualFold(k[:6], "x-amz-") {
			names = append(names, strings.ToLower(k))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		b = append(b, n...)
		b = append(b, ':')
		b = appendCanonicalHeaderValue(b, r, n)
		b = append(b, '\n')
	}

	if hostBucket != "" {
		b = append(b, '/')
		b = append(b, hostBucket...)
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b = append(b, path...)
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		sep := byte('?')
		for _, name := range v2SubResources {
			vv, ok := q[name]
			if !ok {
				continue
			}
			b = append(b, sep)
			sep = '&'
			b = append(b, name...)
			if len(vv) > 0 && vv[0] != "" {
				b = append(b, '=')
				b = append(b, vv[0]...)
			}
		}
	}
	return b, names
}
