package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// SigV4 constants.
const (
	algoV4          = "AWS4-HMAC-SHA256"
	algoV4ECDSA     = "AWS4-ECDSA-P256-SHA256"
	amzDateLayout   = "20060102T150405Z"
	scopeTerminator = "aws4_request"
	serviceS3       = "s3"

	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSA           = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	streamingECDSATrailer    = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"

	// emptySHA256Hex is hex(sha256("")).
	emptySHA256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

const upperHex = "0123456789ABCDEF"

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendURIEncode appends s encoded the SigV4 way: unreserved characters
// (A-Z a-z 0-9 - . _ ~) are kept, '/' is kept when keepSlash, every other byte
// becomes %XX with upper-case hex.
func appendURIEncode(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || c == '/' && keepSlash {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// EscapePath returns path (decoded, as in url.URL.Path) encoded the way S3
// and its clients encode object paths for SigV4: every byte except the
// unreserved characters and '/' is percent-encoded. A gateway that wants
// Signer.Sign to produce a signature the upstream recomputes from the decoded
// path should set r.URL.RawPath to EscapePath(r.URL.Path) before signing.
func EscapePath(path string) string {
	return string(appendURIEncode(make([]byte, 0, len(path)+16), path, true))
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

var errBadQuery = errors.New("malformed query string")

// appendQueryComponent decodes s with url.QueryUnescape semantics ('+' is a
// space, %XX an escaped byte) and appends it SigV4-encoded. When strict is
// false a malformed escape is taken literally instead of failing.
func appendQueryComponent(dst []byte, s string, strict bool) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(s) {
				if strict {
					return dst, errBadQuery
				}
				break
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				if strict {
					return dst, errBadQuery
				}
				break
			}
			c = hi<<4 | lo
			i += 2
		}
		if isUnreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst, nil
}

// qpair locates one encoded query parameter in a scratch buffer.
type qpair struct{ k0, k1, v1 int }

// work is the per-call scratch space of signing and verification, pooled so
// that a warm Verify allocates little.
type work struct {
	creq  []byte // canonical request
	sts   []byte // string to sign
	enc   []byte // encoded query parameters
	pairs []qpair
	sum   []byte // HMAC output
	hexv  [64]byte
}

var workPool = sync.Pool{New: func() any {
	return &work{
		creq: make([]byte, 0, 1024),
		sts:  make([]byte, 0, 256),
		enc:  make([]byte, 0, 256),
		sum:  make([]byte, 0, sha256.Size),
	}
}}

func getWork() *work { return workPool.Get().(*work) }

func putWork(w *work) {
	if cap(w.creq) > 64<<10 || cap(w.enc) > 64<<10 {
		return // do not keep pathological buffers alive
	}
	workPool.Put(w)
}

// appendCanonicalQuery appends the SigV4 canonical query string of rawQuery:
// parameters parsed with url.ParseQuery semantics, names and values
// URI-encoded, sorted by encoded name then value, joined by '&'. With
// dropSignature the X-Amz-Signature parameter (presigned form) is left out.
func (w *work) appendCanonicalQuery(dst []byte, rawQuery string, dropSignature, strict bool) ([]byte, error) {
	if rawQuery == "" {
		return dst, nil
	}
	enc := w.enc[:0]
	pairs := w.pairs[:0]
	for rest := rawQuery; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		if strict && strings.IndexByte(part, ';') >= 0 {
			return dst, errBadQuery
		}
		k, v, _ := strings.Cut(part, "=")
		var p qpair
		var err error
		p.k0 = len(enc)
		if enc, err = appendQueryComponent(enc, k, strict); err != nil {
			return dst, err
		}
		p.k1 = len(enc)
		if dropSignature && string(enc[p.k0:p.k1]) == "X-Amz-Signature" {
			enc = enc[:p.k0]
			continue
		}
		if enc, err = appendQueryComponent(enc, v, strict); err != nil {
			return dst, err
		}
		p.v1 = len(enc)
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b qpair) int {
		if c := bytes.Compare(enc[a.k0:a.k1], enc[b.k0:b.k1]); c != 0 {
			return c
		}
		return bytes.Compare(enc[a.k1:a.v1], enc[b.k1:b.v1])
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, enc[p.k0:p.k1]...)
		dst = append(dst, '=')
		dst = append(dst, enc[p.k1:p.v1]...)
	}
	w.enc, w.pairs = enc, pairs
	return dst, nil
}

// headerValues returns the values of the header with the lower-case name
// lname without allocating for canonical keys.
func headerValues(h http.Header, lname string) []string {
	var buf [96]byte
	if len(lname) <= len(buf) {
		upper := true
		for i := 0; i < len(lname); i++ {
			c := lname[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if !upper && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
			upper = c == '-'
		}
		if vv, ok := h[string(buf[:len(lname)])]; ok {
			return vv
		}
	}
	for k, vv := range h { // keys set without canonicalisation
		if strings.EqualFold(k, lname) {
			return vv
		}
	}
	return nil
}

// requestHost is the host a client signs: r.Host, or the URL's host for
// client-side requests that leave r.Host empty.
func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

// appendTrimmed appends v with leading and trailing blanks removed and runs
// of spaces collapsed to one (the SigV4 "Trimall").
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalHeaderValue appends the canonical value of the signed
// header lname: every value trimmed, multiple values joined by ','. Headers
// that net/http moves out of r.Header (Host, Content-Length,
// Transfer-Encoding) are taken from the request fields.
func appendCanonicalHeaderValue(dst []byte, r *http.Request, lname string) []byte {
	switch lname {
	case "host":
		return appendTrimmed(dst, requestHost(r))
	case "content-length":
		if vv := headerValues(r.Header, lname); len(vv) > 0 {
			break
		}
		if r.ContentLength >= 0 {
			return strconv.AppendInt(dst, r.ContentLength, 10)
		}
		return dst
	case "transfer-encoding":
		if vv := headerValues(r.Header, lname); len(vv) > 0 {
			break
		}
		for i, v := range r.TransferEncoding {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendTrimmed(dst, v)
		}
		return dst
	}
	for i, v := range headerValues(r.Header, lname) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTrimmed(dst, v)
	}
	return dst
}

// canonicalInput is what a SigV4 canonical request is built from; signing
// and verification both go through buildCanonicalRequest.
type canonicalInput struct {
	r *http.Request
	// uri is the canonical URI when escapedURI; otherwise the decoded path
	// to be encoded.
	uri           string
	escapedURI    bool
	dropSignature bool // presigned: leave X-Amz-Signature out of the query
	strictQuery   bool
	signedHeaders []string // lower-case names, in signing order
	signedLine    string   // the SignedHeaders value as signed
	payloadHash   string
}

// buildCanonicalRequest writes the canonical request into w.creq.
func (w *work) buildCanonicalRequest(in *canonicalInput) error {
	b := w.creq[:0]
	b = append(b, in.r.Method...)
	b = append(b, '\n')
	switch {
	case in.uri == "":
		b = append(b, '/')
	case in.escapedURI:
		b = append(b, in.uri...)
	default:
		b = appendURIEncode(b, in.uri, true)
	}
	b = append(b, '\n')
	var err error
	b, err = w.appendCanonicalQuery(b, in.r.URL.RawQuery, in.dropSignature, in.strictQuery)
	if err != nil {
		w.creq = b
		return err
	}
	b = append(b, '\n')
	for _, name := range in.signedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		b = appendCanonicalHeaderValue(b, in.r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, in.signedLine...)
	b = append(b, '\n')
	b = append(b, in.payloadHash...)
	w.creq = b
	return nil
}

// buildStringToSign writes the SigV4 string to sign for the canonical
// request in w.creq into w.sts.
func (w *work) buildStringToSign(amzDate, scope string) {
	sum := sha256.Sum256(w.creq)
	b := w.sts[:0]
	b = append(b, algoV4...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, sum[:])
	w.sts = b
}

// signature computes hex(HMAC(key, w.sts)) into w.hexv.
func (w *work) signature(k *signingKey) []byte {
	w.sum = k.mac(w.sum[:0], w.sts)
	hex.Encode(w.hexv[:], w.sum)
	return w.hexv[:]
}
