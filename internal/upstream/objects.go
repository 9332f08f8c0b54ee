package upstream

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reading objects on lakegate's own behalf: the catalog reads Parquet
// footers and lists partition directories, the scan service reads data
// files, all signed with the bucket's credentials like List. Nothing here
// buffers an object: GetRange streams, and a ReaderAt fetches exactly the
// bytes each ReadAt asks for.

// MaxListEntries is how many entries (keys and common prefixes) ListObjects
// and ListPrefixes deliver before they stop with a *ListLimitError.
const MaxListEntries = 100_000

// maxListPage bounds one ListObjectsV2 answer read: 1,000 keys of up to
// 1,024 bytes, URL-encoded (three bytes a byte at worst), with their
// metadata, fit well under it.
const maxListPage = 16 << 20

// ObjectKind classifies an upstream failure for callers that map it to
// their own answers.
type ObjectKind int

// The kinds of ObjectError.
const (
	// KindOther is any other refusal (an invalid range, a bad request).
	KindOther ObjectKind = iota
	// KindNotFound is a missing object or bucket (404, NoSuchKey, NoSuchBucket).
	KindNotFound
	// KindAccessDenied is the upstream refusing the bucket's credentials
	// access (403 AccessDenied): lakegate's own grants on the storage lack it.
	KindAccessDenied
	// KindCredentials is the bucket's credentials failing: the source gave
	// none, or the upstream refused the signature or the keys themselves
	// (SignatureDoesNotMatch, InvalidAccessKeyId, ExpiredToken…).
	KindCredentials
	// KindUnavailable is a failure that may pass: the upstream could not be
	// reached, answered 5xx or was cut off mid-answer.
	KindUnavailable
)

func (k ObjectKind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindAccessDenied:
		return "access denied"
	case KindCredentials:
		return "credentials failed"
	case KindUnavailable:
		return "unavailable"
	}
	return "refused"
}

// Sentinels matching an *ObjectError of each kind with errors.Is.
var (
	ErrNotFound     = errors.New("upstream: not found")
	ErrAccessDenied = errors.New("upstream: access denied")
	ErrCredentials  = errors.New("upstream: credentials failed")
	ErrUnavailable  = errors.New("upstream: unavailable")
)

// ObjectError is a failed Stat, GetRange, ReadAt or listing. Code is the
// upstream's S3 error code when it gave one; Err the underlying failure
// (a *CredentialsError, a *ForwardError, a read error) when there is one.
// Its message names the bucket and key, never the upstream's endpoint or
// the keys the request was signed with (the wrapped Err may: log it, do
// not show it).
type ObjectError struct {
	Op     string // "HEAD", "GET", "LIST"
	Bucket string
	Key    string // the key, or the prefix listed
	Kind   ObjectKind
	Status int
	Code   string
	Err    error
}

func (e *ObjectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "upstream %s s3://%s/%s: %s", e.Op, e.Bucket, e.Key, e.Kind)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (%d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		b.WriteString(")")
	}
	// A transport error names the upstream's address, a credentials error
	// may name a role: both stay in the chain (Unwrap) for the server log.
	var fe *ForwardError
	var ce *CredentialsError
	if e.Err != nil && !errors.As(e.Err, &fe) && !errors.As(e.Err, &ce) {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *ObjectError) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind.
func (e *ObjectError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Kind == KindNotFound
	case ErrAccessDenied:
		return e.Kind == KindAccessDenied
	case ErrCredentials:
		return e.Kind == KindCredentials
	case ErrUnavailable:
		return e.Kind == KindUnavailable
	}
	return false
}

// sendError classifies a failure of send itself.
func sendError(op, bucket, key string, err error) *ObjectError {
	e := &ObjectError{Op: op, Bucket: bucket, Key: key, Kind: KindUnavailable, Err: err}
	if ce := (*CredentialsError)(nil); errors.As(err, &ce) {
		e.Kind = KindCredentials
	}
	return e
}

// statusError builds the error for an upstream answer that is not a
// success, reading (a bounded part of) its body for the S3 error code, and
// closes the body.
func statusError(op, bucket, key string, resp *http.Response) *ObjectError {
	e := &ObjectError{Op: op, Bucket: bucket, Key: key, Status: resp.StatusCode}
	code := resp.Header.Get("X-Minio-Error-Code") // HEAD answers have no body
	if resp.Body != nil {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
		_ = resp.Body.Close()
		var ue upstreamError
		if xml.Unmarshal(raw, &ue) == nil && ue.Code != "" {
			code = ue.Code
		}
	}
	if validCode(code) {
		e.Code = code
	}
	switch {
	case credentialCodes[e.Code]:
		e.Kind = KindCredentials
	case resp.StatusCode == http.StatusNotFound || e.Code == "NoSuchKey" || e.Code == "NoSuchBucket":
		e.Kind = KindNotFound
	case resp.StatusCode == http.StatusForbidden:
		e.Kind = KindAccessDenied
	case resp.StatusCode >= 500:
		e.Kind = KindUnavailable
	}
	return e
}

// ObjectInfo is what a HEAD tells of an object. ETag is as the upstream
// sends it, quotes included, ready for If-Match.
type ObjectInfo struct {
	Size         int64
	ETag         string
	LastModified time.Time
}

// Stat reads key's size, ETag and modification time (HEAD). Failures are
// an *ObjectError.
func (c *Client) Stat(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, &ObjectError{Op: http.MethodHead, Bucket: bucket, Key: key, Err: err}
	}
	resp, err := c.send(ctx, http.MethodHead, bucket, key, nil, nil)
	if err != nil {
		return ObjectInfo{}, sendError(http.MethodHead, bucket, key, err)
	}
	if resp.StatusCode != http.StatusOK {
		return ObjectInfo{}, statusError(http.MethodHead, bucket, key, resp)
	}
	_ = resp.Body.Close()
	size, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil || size < 0 {
		return ObjectInfo{}, &ObjectError{Op: http.MethodHead, Bucket: bucket, Key: key, Status: resp.StatusCode,
			Err: fmt.Errorf("invalid Content-Length %q", resp.Header.Get("Content-Length"))}
	}
	info := ObjectInfo{Size: size, ETag: resp.Header.Get("ETag")}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			info.LastModified = t.UTC()
		}
	}
	return info, nil
}

// GetRange streams n bytes of key from offset off (GET with a Range
// header). The body is never buffered: the caller reads it and must close
// it; it yields at most n bytes, fewer only when the object ends first, and
// a failure while reading it is an *ObjectError of KindUnavailable.
// Failures to start are an *ObjectError; a range past the object's end is
// KindOther with Code InvalidRange.
func (c *Client) GetRange(ctx context.Context, bucket, key string, off, n int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, &ObjectError{Op: http.MethodGet, Bucket: bucket, Key: key, Err: err}
	}
	if off < 0 || n <= 0 || off > (1<<62) || n > (1<<62) {
		return nil, &ObjectError{Op: http.MethodGet, Bucket: bucket, Key: key, Err: fmt.Errorf("invalid range: %d bytes at offset %d", n, off)}
	}
	h := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", off, off+n-1)}}
	resp, err := c.send(ctx, http.MethodGet, bucket, key, nil, h)
	if err != nil {
		return nil, sendError(http.MethodGet, bucket, key, err)
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != off {
			_ = resp.Body.Close()
			return nil, &ObjectError{Op: http.MethodGet, Bucket: bucket, Key: key, Status: resp.StatusCode,
				Err: fmt.Errorf("upstream answered Content-Range %q for offset %d", resp.Header.Get("Content-Range"), off)}
		}
	case http.StatusOK:
		// A server that ignores Range sends the whole object: usable only
		// from its start.
		if off != 0 {
			_ = resp.Body.Close()
			return nil, &ObjectError{Op: http.MethodGet, Bucket: bucket, Key: key, Status: resp.StatusCode,
				Err: errors.New("upstream ignored the Range header")}
		}
	default:
		return nil, statusError(http.MethodGet, bucket, key, resp)
	}
	return &rangeBody{r: io.LimitReader(resp.Body, n), c: resp.Body, bucket: bucket, key: key}, nil
}

// checkKey refuses keys that name no object, and keys with "." or ".."
// segments, which S3 servers read differently (AWS as literal names, MinIO
// cleaning the path): lakegate reads the object its caller authorized,
// not another one.
func checkKey(key string) error {
	if key == "" {
		return errors.New("no key")
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return errors.New(`key with a "." or ".." segment`)
		}
	}
	return nil
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(first, 10, 64)
	return v, err == nil && v >= 0
}

// rangeBody is a GetRange body: bounded to the range, and its read errors
// are ObjectErrors.
type rangeBody struct {
	r           io.Reader
	c           io.Closer
	bucket, key string
}

func (b *rangeBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &ObjectError{Op: http.MethodGet, Bucket: b.bucket, Key: b.key, Kind: KindUnavailable, Err: err}
	}
	return n, err
}

func (b *rangeBody) Close() error { return b.c.Close() }

// NewReaderAt returns an io.ReaderAt over key, size bytes long (from
// Stat), for readers such as Parquet's that seek to a footer and read
// column chunks. Each ReadAt is one ranged GET of exactly the bytes it
// asks for, cut at size; it reads into the caller's buffer, nothing more
// is held. ctx bounds every read. Errors are *ObjectError; a read that
// reaches size returns io.EOF with the bytes it got, as io.ReaderAt
// requires.
func (c *Client) NewReaderAt(ctx context.Context, bucket, key string, size int64) io.ReaderAt {
	return &objectReaderAt{ctx: ctx, c: c, bucket: bucket, key: key, size: size}
}

type objectReaderAt struct {
	ctx         context.Context
	c           *Client
	bucket, key string
	size        int64
}

func (r *objectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &ObjectError{Op: http.MethodGet, Bucket: r.bucket, Key: r.key, Err: fmt.Errorf("negative offset %d", off)}
	}
	if off >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	want := int64(len(p))
	short := false
	if want > r.size-off {
		want, short = r.size-off, true
	}
	body, err := r.c.GetRange(r.ctx, r.bucket, r.key, off, want)
	if err != nil {
		return 0, err
	}
	defer func() { _ = body.Close() }()
	n, err := io.ReadFull(body, p[:want])
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		// The object is shorter than size said: it changed under us.
		return n, &ObjectError{Op: http.MethodGet, Bucket: r.bucket, Key: r.key, Kind: KindUnavailable,
			Err: fmt.Errorf("object ended at %d bytes, expected %d", off+int64(n), r.size)}
	case err != nil:
		return n, err
	case short:
		return n, io.EOF
	}
	return n, nil
}

// Entry is one item of a listing: an object (Key, Size, ETag,
// LastModified), or a common prefix (IsPrefix, Key the prefix, ending with
// the delimiter).
type Entry struct {
	Key          string
	IsPrefix     bool
	Size         int64
	ETag         string
	LastModified time.Time
}

// ListLimitError is a listing that went past its bound.
type ListLimitError struct {
	Bucket, Prefix string
	Max            int
}

func (e *ListLimitError) Error() string {
	return fmt.Sprintf("listing s3://%s/%s: more than %d entries", e.Bucket, e.Prefix, e.Max)
}

type listBucketResult struct {
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
	EncodingType          string `xml:"EncodingType"`
	Contents              []struct {
		Key          string `xml:"Key"`
		Size         int64  `xml:"Size"`
		ETag         string `xml:"ETag"`
		LastModified string `xml:"LastModified"`
	} `xml:"Contents"`
	CommonPrefixes []struct {
		Prefix string `xml:"Prefix"`
	} `xml:"CommonPrefixes"`
}

// ListObjects lists bucket under prefix with ListObjectsV2, paging through
// continuation tokens itself, and calls fn for each object and common
// prefix (delimiter "" lists every key below prefix) in the upstream's
// order. It stops with fn's error when fn returns one, and with a
// *ListLimitError after MaxListEntries entries. Upstream failures are an
// *ObjectError.
func (c *Client) ListObjects(ctx context.Context, bucket, prefix, delimiter string, fn func(Entry) error) error {
	return c.ListObjectsMax(ctx, bucket, prefix, delimiter, MaxListEntries, fn)
}

// ListObjectsMax is ListObjects bounded to max entries instead of
// MaxListEntries.
func (c *Client) ListObjectsMax(ctx context.Context, bucket, prefix, delimiter string, max int, fn func(Entry) error) error {
	if max <= 0 {
		return &ListLimitError{Bucket: bucket, Prefix: prefix, Max: max}
	}
	const op = "LIST"
	count := 0
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "encoding-type": {"url"}, "prefix": {prefix}}
		if delimiter != "" {
			q.Set("delimiter", delimiter)
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		resp, err := c.send(ctx, http.MethodGet, bucket, "", q, nil)
		if err != nil {
			return sendError(op, bucket, prefix, err)
		}
		if resp.StatusCode != http.StatusOK {
			return statusError(op, bucket, prefix, resp)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxListPage+1))
		_ = resp.Body.Close()
		if err != nil {
			return &ObjectError{Op: op, Bucket: bucket, Key: prefix, Kind: KindUnavailable, Status: resp.StatusCode, Err: err}
		}
		if len(raw) > maxListPage {
			return &ObjectError{Op: op, Bucket: bucket, Key: prefix, Status: resp.StatusCode, Err: errors.New("listing page too large")}
		}
		var page listBucketResult
		if err := xml.Unmarshal(raw, &page); err != nil {
			return &ObjectError{Op: op, Bucket: bucket, Key: prefix, Status: resp.StatusCode, Err: fmt.Errorf("decoding the listing: %w", err)}
		}
		entries := make([]Entry, 0, len(page.Contents)+len(page.CommonPrefixes))
		decode := func(s string) (string, error) {
			if page.EncodingType != "url" {
				return s, nil
			}
			return unescapeQuery(s)
		}
		for _, o := range page.Contents {
			key, err := decode(o.Key)
			if err != nil {
				return &ObjectError{Op: op, Bucket: bucket, Key: prefix, Status: resp.StatusCode, Err: fmt.Errorf("decoding key %q: %w", o.Key, err)}
			}
			e := Entry{Key: key, Size: o.Size, ETag: o.ETag}
			if t, err := time.Parse(time.RFC3339Nano, o.LastModified); err == nil {
				e.LastModified = t.UTC()
			}
			entries = append(entries, e)
		}
		for _, p := range page.CommonPrefixes {
			key, err := decode(p.Prefix)
			if err != nil {
				return &ObjectError{Op: op, Bucket: bucket, Key: prefix, Status: resp.StatusCode, Err: fmt.Errorf("decoding prefix %q: %w", p.Prefix, err)}
			}
			entries = append(entries, Entry{Key: key, IsPrefix: true})
		}
		// S3 sends objects and prefixes in one lexicographic order, in two
		// lists: merge them back.
		slices.SortStableFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
		for _, e := range entries {
			if count++; count > max {
				return &ListLimitError{Bucket: bucket, Prefix: prefix, Max: max}
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		if page.NextContinuationToken == "" || page.NextContinuationToken == token {
			return &ObjectError{Op: op, Bucket: bucket, Key: prefix, Status: resp.StatusCode, Err: errors.New("truncated listing without a new continuation token")}
		}
		token = page.NextContinuationToken
	}
}

// ListPrefixes calls fn with each common prefix directly under prefix
// ("dir/" lists "dir/a/", "dir/b/"…), delimiter "/", skipping the objects
// there. Its bounds and errors are ListObjects' (objects count toward
// MaxListEntries too).
func (c *Client) ListPrefixes(ctx context.Context, bucket, prefix string, fn func(commonPrefix string) error) error {
	return c.ListObjects(ctx, bucket, prefix, "/", func(e Entry) error {
		if !e.IsPrefix {
			return nil
		}
		return fn(e.Key)
	})
}
