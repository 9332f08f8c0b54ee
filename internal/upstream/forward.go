package upstream

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// Call is one authorized request to forward.
type Call struct {
	// Bucket and Key are the decoded names the request acts on.
	Bucket, Key string
	// Auth is the verified authentication of the client request; it says
	// how the body is protected.
	Auth *sigv4.Result
	// Operation is the S3 action, e.g. "CompleteMultipartUpload".
	Operation string
	// VirtualHost is set when the client named the bucket in its Host.
	VirtualHost bool
	// Body, when non-nil, replaces the client's body, which the caller has
	// already read and verified (DeleteObjects): it is sent with its own
	// SHA-256 and Content-MD5, the client's checksum and chunked-encoding
	// headers removed.
	Body []byte
	// ModifyResponse, when set, may rewrite a response before it is sent
	// back (e.g. filter a listing). It runs after the proxy's own
	// rewrites; an error aborts the response with 502.
	ModifyResponse func(*http.Response) error
	// LogError, when set, receives the upstream's own error responses
	// (code and body) before they are replaced by ones that name nothing
	// of the upstream; see sanitizeError.
	LogError func(code, body string)
}

// ErrorFunc writes err to the client. It is called at most once per request
// and only before any of the response has been written.
type ErrorFunc func(w http.ResponseWriter, r *http.Request, err error)

// bufferPool hands out 256 KiB copy buffers: large enough that a streamed
// GET costs few syscalls, pooled so it costs no garbage.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(s []byte) { b.p.Put(&s) }

var copyBuffers = &bufferPool{p: sync.Pool{New: func() any { s := make([]byte, 256<<10); return &s }}}

// Forward sends in upstream as call describes and streams the response back
// to w unchanged but for the names of user metadata headers, which go in
// lower case as S3 sends them (see metaNameWriter). The client's authentication is removed and replaced by a
// signature made with the bucket's credentials (see Credentials); the body is verified as it
// streams (see sigv4.NewPayloadReader) and a verification failure aborts the
// upstream request before its last byte, so nothing partial is committed.
// Failures before the response starts go to onError.
func (c *Client) Forward(w http.ResponseWriter, in *http.Request, call Call, onError ErrorFunc) {
	creds, err := c.Credentials(in.Context(), call.Bucket)
	if err != nil {
		onError(w, in, &CredentialsError{Err: err})
		return
	}
	t := c.target(call.Bucket)
	body := &trackedBody{}
	rp := &httputil.ReverseProxy{
		Transport:  c.transport,
		BufferPool: copyBuffers,
		// ReverseProxy flushes responses without a length (e.g.
		// SelectObjectContent event streams) at once by itself.
		Rewrite: func(pr *httputil.ProxyRequest) {
			c.rewrite(pr.Out, call, t, creds, body)
		},
		ModifyResponse: func(resp *http.Response) error {
			if isErrorStatus(resp.StatusCode) {
				return sanitizeError(resp, in, []string{t.host, creds.AccessKeyID}, call.LogError)
			}
			if call.Operation == "CompleteMultipartUpload" && resp.StatusCode == http.StatusOK {
				if err := rewriteLocation(resp, in, call); err != nil {
					return err
				}
			}
			if call.ModifyResponse != nil {
				return call.ModifyResponse(resp)
			}
			return nil
		},
		// onError gets the caller's writer, not the one that renames
		// metadata headers: it may look for its own type.
		ErrorHandler: func(_ http.ResponseWriter, r *http.Request, err error) {
			if berr := body.failure(); berr != nil {
				err = berr
			}
			onError(w, r, &ForwardError{Err: err})
		},
	}
	rp.ServeHTTP(lowerMetaNames(w), in)
}

// rewrite turns the client request into the upstream request in place.
func (c *Client) rewrite(out *http.Request, call Call, t resolved, creds awsCredentials, body *trackedBody) {
	u := out.URL
	u.Scheme = t.scheme
	host, path := t.locate(call.Bucket, call.Key)
	u.Host = host
	u.Path = path
	u.RawPath = sigv4.EscapePath(path)
	u.RawQuery = allowedQuery(u.RawQuery, request.Operation(call.Operation), out.Header)
	out.Host = hostOf(t.scheme, host)

	h := out.Header
	for _, name := range clientAuthHeaders {
		h.Del(name)
	}
	// The upstream request carries what was authorized and nothing else:
	// the allowlist's headers (request.Parse refused any x-amz-* header
	// the operation does not accept) and the standard ones.
	for name := range h {
		if !request.ForwardHeader(name) {
			delete(h, name)
		}
	}
	if out.ContentLength == 0 {
		// Nothing to wait for: some clients send Expect with empty bodies
		// and then stall on the connection when no 100 Continue comes.
		h.Del("Expect")
	}

	if call.Body != nil {
		c.signReplacedBody(out, call, t, creds)
		return
	}

	auth := call.Auth
	clientLength := out.ContentLength
	payloadHash := unsignedPayload
	switch auth.Payload {
	case sigv4.PayloadSHA256:
		// The proxy verifies the client's digest as the body streams and
		// aborts the upstream request before its end on a mismatch. Over a
		// channel that protects the bytes itself (TLS, loopback) the
		// upstream need not hash them again, as the AWS SDKs do not sign
		// payloads over TLS; elsewhere the digest goes along.
		if !t.intact {
			payloadHash = auth.ContentSHA256
		}
	case sigv4.PayloadStreamingSigned:
		// Likewise a chunk-signed body, each chunk verified before it is
		// passed on, goes decoded with its verified length over such a
		// channel, instead of re-signed chunk by chunk for the upstream
		// to verify again.
		if t.intact && auth.DecodedContentLength >= 0 {
			decodeAWSChunked(out, auth.DecodedContentLength)
			break
		}
		payloadHash = auth.ContentSHA256
	case sigv4.PayloadStreamingSignedTrailer, sigv4.PayloadStreamingUnsignedTrailer:
		payloadHash = auth.ContentSHA256
	}
	signer := sigv4.Signer{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		SessionToken:    creds.SessionToken,
		Region:          t.region,
	}
	sc := signer.Sign(out, payloadHash, time.Now().UTC())

	if out.Body == nil || out.Body == http.NoBody || out.ContentLength == 0 && !auth.Payload.Streaming() {
		if auth.Payload == sigv4.PayloadSHA256 && auth.ContentSHA256 != emptySHA256 {
			// A signed hash of a non-empty body with no body: let the
			// verifying reader report the mismatch.
			body.rc = out.Body
			body.r = auth.NewPayloadReader(eofReader{}, 0)
			out.Body = body
		}
		return
	}
	pr := auth.NewPayloadReader(out.Body, clientLength)
	var r io.Reader = pr
	if auth.Payload.Streaming() && payloadHash != unsignedPayload {
		r = sigv4.Resign(pr, sc)
	}
	body.rc, body.r = out.Body, r
	out.Body = body
}

const unsignedPayload = "UNSIGNED-PAYLOAD"

// decodeAWSChunked turns the headers of an aws-chunked request into those
// of its decoded body of length n.
func decodeAWSChunked(out *http.Request, n int64) {
	h := out.Header
	var rest []string
	for _, v := range h.Values("Content-Encoding") {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !strings.EqualFold(tok, "aws-chunked") {
				rest = append(rest, tok)
			}
		}
	}
	h.Del("Content-Encoding")
	if len(rest) > 0 {
		h.Set("Content-Encoding", strings.Join(rest, ","))
	}
	h.Del("X-Amz-Decoded-Content-Length")
	out.ContentLength = n
	out.TransferEncoding = nil
}

// replacedBodyHeaders describe the client's original body and are dropped
// when the proxy sends a body of its own.
var replacedBodyHeaders = []string{
	"Content-Md5", "Content-Encoding", "Transfer-Encoding", "X-Amz-Decoded-Content-Length",
	"X-Amz-Trailer", "X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Checksum-Algorithm",
}

// signReplacedBody sets call.Body as out's body, with the headers that
// describe it, and signs out with its SHA-256.
func (c *Client) signReplacedBody(out *http.Request, call Call, t resolved, creds awsCredentials) {
	h := out.Header
	for _, name := range replacedBodyHeaders {
		h.Del(name)
	}
	for name := range h {
		if strings.HasPrefix(name, "X-Amz-Checksum-") {
			h.Del(name)
		}
	}
	if out.Body != nil {
		_ = out.Body.Close()
	}
	sum := md5.Sum(call.Body) // Content-MD5 is an integrity header S3 requires here, not a security measure
	h.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	out.TransferEncoding = nil
	out.ContentLength = int64(len(call.Body))
	out.Body = io.NopCloser(bytes.NewReader(call.Body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(call.Body)), nil }
	hash := sha256.Sum256(call.Body)
	signer := sigv4.Signer{
		AccessKeyID:     creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey,
		SessionToken:    creds.SessionToken,
		Region:          t.region,
	}
	signer.Sign(out, hex.EncodeToString(hash[:]), time.Now().UTC())
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// clientAuthHeaders carry the client's authentication, which never reaches
// the upstream.
var clientAuthHeaders = []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token"}

// allowedQuery keeps, byte for byte, the parameters of a raw query string
// that op forwards (request.ForwardQueryParam): never authentication, nor
// anything the allowlist does not name. x-amz-* headers a presigned URL
// carried in its query are moved to h, when h is not nil: S3 reads them as
// headers, and the upstream request is signed in its headers.
func allowedQuery(raw string, op request.Operation, h http.Header) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err := unescapeQuery(name)
		if err != nil || !request.ForwardQueryParam(op, n) {
			continue
		}
		if h != nil && len(n) > 6 && strings.EqualFold(n[:6], "x-amz-") {
			if v, err := unescapeQuery(value); err == nil {
				h.Set(n, v)
			}
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}

// trackedBody is the upstream request body. It remembers the first error
// the verifying reader returned, so that a failed verification is reported
// to the client as the S3 error it is rather than as a transport failure.
type trackedBody struct {
	r   io.Reader
	rc  io.Closer
	mu  sync.Mutex
	err error
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *trackedBody) Close() error {
	if b.rc == nil {
		return nil
	}
	return b.rc.Close()
}

func (b *trackedBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// ForwardError is a failure to complete the upstream exchange: the upstream
// unreachable, the client gone, or the body failing verification (Err then
// wraps the *s3err.Error).
type ForwardError struct{ Err error }

func (e *ForwardError) Error() string { return "forwarding upstream: " + e.Err.Error() }
func (e *ForwardError) Unwrap() error { return e.Err }

// ClientGone reports whether the failure was the client going away.
func (e *ForwardError) ClientGone() bool { return errors.Is(e.Err, context.Canceled) }

// CredentialsError means the bucket's signing credentials could not be
// obtained (e.g. its role could not be assumed); nothing was sent upstream.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string { return "upstream credentials: " + e.Err.Error() }
func (e *CredentialsError) Unwrap() error { return e.Err }

// maxLocationBody bounds the CompleteMultipartUpload result read to fix its
// Location; real results are a few hundred bytes.
const maxLocationBody = 1 << 20

// rewriteLocation replaces the upstream's URL in a CompleteMultipartUpload
// result with the one the client used, so the upstream's address never
// reaches clients.
func rewriteLocation(resp *http.Response, in *http.Request, call Call) error {
	return replaceLocationElement(resp, func(string) (string, bool) {
		return clientBaseURL(in, call) + strings.TrimPrefix(sigv4.EscapePath("/"+call.Key), "/"), true
	})
}

// replaceLocationElement rewrites the <Location> element of a small XML
// result body to mapLoc(old) (when ok) and fixes Content-Length. Bodies over
// maxLocationBody pass through untouched.
func replaceLocationElement(resp *http.Response, mapLoc func(old string) (string, bool)) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLocationBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxLocationBody {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return nil
	}
	_ = resp.Body.Close()
	const locOpen, locClose = "<Location>", "</Location>"
	if i := bytes.Index(body, []byte(locOpen)); i >= 0 {
		if j := bytes.Index(body[i:], []byte(locClose)); j >= 0 {
			var old struct {
				S string `xml:",chardata"`
			}
			err := xml.Unmarshal(slices.Concat([]byte("<L>"), body[i+len(locOpen):i+j], []byte("</L>")), &old)
			if mapped, ok := mapLoc(old.S); err == nil && ok {
				var esc bytes.Buffer
				_ = xml.EscapeText(&esc, []byte(mapped))
				body = slices.Concat(body[:i+len(locOpen)], esc.Bytes(), body[i+j:])
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// clientBaseURL is the URL prefix of call's objects as the client addresses
// them: scheme://host/ plus the bucket for path-style requests.
func clientBaseURL(in *http.Request, call Call) string {
	scheme := "http"
	if in.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + in.Host + "/"
	if !call.VirtualHost {
		base += call.Bucket + "/"
	}
	return base
}
