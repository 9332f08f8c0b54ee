package upstream

// Browser-based uploads ("POST Object"): the form authenticates the request,
// so the fields before the file are read (bounded) and verified, the upstream
// receives the same fields with a policy re-issued and signed for the system
// key, and the file part and everything after it stream through unchanged.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/s3/request"
	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/s3name"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

// Limits of the part of a form read before its file, which is read
// before anything is authenticated.
const (
	// MaxPostFieldBytes is the default bound of the bytes of a form before
	// its file part: the policy, signature, key and metadata of a real
	// form fit in a few KiB.
	MaxPostFieldBytes = 64 << 10
	maxPostFields     = 1000
)

var (
	errMalformedPost = &s3err.Error{Code: "MalformedPOSTRequest",
		Message: "The body of your POST request is not well-formed multipart/form-data.", Status: http.StatusBadRequest}
	errPreDataTooLarge = &s3err.Error{Code: "MaxPostPreDataLengthExceeded",
		Message: "Your POST request fields preceding the upload file were too large.", Status: http.StatusBadRequest}
	errNoFile         = s3err.InvalidArgument.WithMessage("POST requires exactly one file upload per request.")
	errFieldAfterFile = s3err.InvalidArgument.WithMessage("This proxy does not accept form fields after the file field.")
)

func malformedPost(why string) error {
	return errMalformedPost.WithMessage(errMalformedPost.Message + " (" + why + ")")
}

// IsPostForm reports whether r's body is a multipart/form-data form, the
// enclosure of browser-based uploads.
func IsPostForm(r *http.Request) bool {
	ct := strings.TrimLeft(r.Header.Get("Content-Type"), " \t")
	return len(ct) >= len("multipart/form-data") && strings.EqualFold(ct[:len("multipart/form-data")], "multipart/form-data")
}

// PostForm is a browser-based upload form read up to its file part. The
// rest of the request body is left unread for ForwardPostForm.
type PostForm struct {
	// Fields are the fields before the file, in the order sent.
	Fields []sigv4.FormField
	// FileName is the filename parameter of the file part as sent, "" if
	// none.
	FileName string

	boundary      string
	contentLength int64
	consumed      int64  // body bytes before the file part's delimiter line
	fileHead      []byte // the file part's delimiter line and header, as sent
	src           *bufio.Reader
}

// FilenameVar is the placeholder of a key field that S3 replaces with the
// name of the uploaded file.
const FilenameVar = "${filename}"

// Key returns the object key the upload writes: the key field with
// ${filename} replaced by the file's base name (the filename parameter
// after its last '/', as RFC 7578 section 4.2 asks of receivers and MinIO
// does), or the key field as sent when the file part names no file. The
// upstream is sent this key, not the template, so that what the policy and
// the grants were checked against is what every backend writes (MinIO
// substitutes the name itself, versitygw does not). CheckKey says whether
// the proxy accepts it.
func (f *PostForm) Key() string {
	key := f.KeyTemplate()
	if f.FileName != "" {
		return strings.ReplaceAll(key, FilenameVar, f.FileName[strings.LastIndexByte(f.FileName, '/')+1:])
	}
	return key
}

// CheckKey refuses (InvalidArgument) a form whose key the proxy does not
// accept: one with '.' or '..' segments, as request.Parse refuses such
// keys in paths (servers disagree on them); one whose ${filename} the
// file part cannot fill (no file name, or one ending in '/'), which
// backends would write as "prefix/" or literally; and one filled from a
// file name holding a '.' or '..' segment (../secret.txt: though only its
// base name is used, it is an attempt to climb), a backslash (a path
// separator to some backends, which could hide a dot segment), a control
// character or ${filename} itself (substituted again by a backend that
// substitutes). The file name is
// the client's choice: the key it makes is checked as any key.
func (f *PostForm) CheckKey() error {
	if strings.Contains(f.KeyTemplate(), FilenameVar) {
		base := f.FileName[strings.LastIndexByte(f.FileName, '/')+1:]
		switch {
		case base == "":
			return s3err.InvalidArgument.WithMessage("The form's key holds ${filename} but its file part names no file.")
		case strings.ContainsFunc(f.FileName, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }):
			return s3err.InvalidArgument.WithMessage("A file name with a backslash or a control character is not accepted by this proxy.")
		case s3name.HasDotSegment(f.FileName):
			return s3err.InvalidArgument.WithMessage("A file name with '.' or '..' path segments is not accepted by this proxy.")
		case strings.Contains(base, FilenameVar):
			return s3err.InvalidArgument.WithMessage("A file name containing ${filename} is not accepted by this proxy.")
		}
	}
	if s3name.HasDotSegment(f.Key()) {
		return s3err.InvalidArgument.WithMessage("Object keys with '.' or '..' path segments are not accepted by this proxy.")
	}
	return nil
}

// KeyTemplate returns the form's key field as sent, ${filename} and all:
// what the client chose before it named its file.
func (f *PostForm) KeyTemplate() string {
	for _, fl := range f.Fields {
		if strings.EqualFold(fl.Name, "key") {
			return fl.Value
		}
	}
	return ""
}

// ReadPostForm reads r's body up to the file part: at most maxBytes (0:
// MaxPostFieldBytes), else MaxPostPreDataLengthExceeded. What it holds
// grows with the bytes received, never beyond about twice maxBytes. The form must
// declare its Content-Length (MissingContentLength) and be well-formed
// multipart/form-data with CRLF line ends (MalformedPOSTRequest); a form
// without a file part is refused, as are a key CheckKey refuses and a
// field that makes MinIO write several objects (x-minio-fanout-list).
// Errors are *s3err.Error values,
// joined with the cause when reading the body failed.
func ReadPostForm(r *http.Request, maxBytes int) (*PostForm, error) {
	if maxBytes <= 0 {
		maxBytes = MaxPostFieldBytes
	}
	if r.ContentLength < 0 {
		return nil, s3err.MissingContentLength
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	b := params["boundary"]
	if err != nil || !validBoundary(b) {
		return nil, malformedPost("missing or invalid boundary")
	}
	f := &PostForm{boundary: b, contentLength: r.ContentLength}
	// A buffer no larger than the budget, so that a line without end is
	// charged (and refused) as soon as the budget is spent.
	p := formParser{src: bufio.NewReaderSize(r.Body, min(32<<10, maxBytes)), dash: []byte("--" + b), budget: maxBytes}
	if err := p.parse(f); err != nil {
		return nil, err
	}
	if err := f.CheckKey(); err != nil {
		return nil, err
	}
	f.src = p.src
	return f, nil
}

// validBoundary accepts RFC 2046 boundaries: 1 to 70 printable characters.
func validBoundary(b string) bool {
	if b == "" || len(b) > 70 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] < 0x20 || b[i] > 0x7e {
			return false
		}
	}
	return true
}

// formParser reads a form line by line, keeping count of the bytes read.
type formParser struct {
	src    *bufio.Reader
	dash   []byte // "--" + boundary
	budget int
	pos    int64 // bytes consumed
	line   []byte
}

// next reads one line, '\n' included, charging it to the budget.
func (p *formParser) next() ([]byte, error) {
	var err error
	p.line, err = p.appendLine(p.line[:0])
	return p.line, err
}

// appendLine reads one line, '\n' included, and appends it to dst, charging
// it to the budget. Reading a field's value straight into the value (not
// through the line buffer) keeps one copy of it, not two.
func (p *formParser) appendLine(dst []byte) ([]byte, error) {
	for {
		chunk, err := p.src.ReadSlice('\n')
		p.budget -= len(chunk)
		if p.budget < 0 {
			return nil, errPreDataTooLarge
		}
		dst = append(dst, chunk...)
		p.pos += int64(len(chunk))
		switch {
		case err == nil:
			return dst, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, malformedPost("the form ends before its file")
		default:
			return nil, readError(err)
		}
	}
}

// readError turns a failure to read the client's body into an S3 error,
// keeping the cause for the log.
func readError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errors.Join(s3err.RequestTimeout, err)
	}
	return errors.Join(s3err.IncompleteBody, err)
}

// delimiter classifies a line starting with "--"+boundary: a part follows
// (transport padding then CRLF), or the form closes ("--" suffix).
func (p *formParser) delimiter(line []byte) (closing bool, err error) {
	rest := line[len(p.dash):]
	if bytes.HasPrefix(rest, []byte("--")) {
		return true, nil
	}
	rest = bytes.TrimLeft(rest, " \t")
	if string(rest) != "\r\n" {
		return false, malformedPost("a line starts with the boundary but is not a delimiter")
	}
	return false, nil
}

func (p *formParser) parse(f *PostForm) error {
	// Preamble, then the first delimiter.
	for {
		start := p.pos
		line, err := p.next()
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(line, p.dash) {
			continue
		}
		closing, err := p.delimiter(line)
		if err != nil {
			return err
		}
		if closing {
			return errNoFile
		}
		if err := p.parts(f, start, line); err != nil {
			return err
		}
		return nil
	}
}

// parts reads parts from the one whose delimiter line was just read (at
// offset start) until the file part's header.
func (p *formParser) parts(f *PostForm, start int64, delim []byte) error {
	head := bytes.Clone(delim)
	seen := map[string]bool{}
	for {
		name, filename, hdr, err := p.partHeader()
		if err != nil {
			return err
		}
		if name == "file" {
			f.FileName = filename
			f.consumed = start
			f.fileHead = append(head, hdr...)
			return nil
		}
		if len(f.Fields) == maxPostFields {
			return errPreDataTooLarge
		}
		lname := strings.ToLower(name)
		if lname == "x-minio-fanout-list" {
			return s3err.InvalidArgument.WithMessage("The x-minio-fanout-list field is not accepted by this proxy.")
		}
		if seen[lname] {
			return s3err.InvalidArgument.WithMessage("The POST form field '" + fieldText(name) + "' appears more than once.")
		}
		seen[lname] = true

		// The value runs to the next delimiter; the CRLF before it belongs
		// to the delimiter.
		var value []byte
		for {
			lineStart := p.pos
			n := len(value)
			value, err = p.appendLine(value)
			if err != nil {
				return err
			}
			line := value[n:]
			if !bytes.HasPrefix(line, p.dash) {
				continue
			}
			value = value[:n] // line stays valid: nothing appends to value any more
			if len(value) > 0 {
				if !bytes.HasSuffix(value, []byte("\r\n")) {
					return malformedPost("a delimiter is not preceded by CRLF")
				}
				value = value[:len(value)-2]
			}
			closing, err := p.delimiter(line)
			if err != nil {
				return err
			}
			f.Fields = append(f.Fields, sigv4.FormField{Name: name, Value: string(value)})
			if closing {
				return errNoFile
			}
			start, head = lineStart, append(head[:0], line...)
			break
		}
	}
}

// partHeader reads a part's header up to its blank line and returns the
// form-data name and filename parameters and the header bytes as sent.
func (p *formParser) partHeader() (name, filename string, raw []byte, err error) {
	var disposition string
	for {
		line, err := p.next()
		if err != nil {
			return "", "", nil, err
		}
		raw = append(raw, line...)
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			return "", "", nil, malformedPost("a header line does not end with CRLF")
		}
		line = line[:len(line)-2]
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return "", "", nil, malformedPost("folded part header")
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return "", "", nil, malformedPost("part header without ':'")
		}
		if textproto.CanonicalMIMEHeaderKey(string(bytes.TrimSpace(k))) != "Content-Disposition" {
			continue
		}
		if disposition != "" {
			return "", "", nil, malformedPost("two Content-Disposition headers in one part")
		}
		disposition = string(bytes.TrimSpace(v))
	}
	d, params, err := mime.ParseMediaType(disposition)
	if err != nil || d != "form-data" || params["name"] == "" {
		return "", "", nil, malformedPost("a part without a form-data name")
	}
	name = params["name"]
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return "", "", nil, malformedPost("control character in a field name")
		}
	}
	return name, params["filename"], raw, nil
}

// fieldText bounds a client-chosen field name echoed in an error.
func fieldText(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\'' {
			return '?'
		}
		return r
	}, s)
}

// clientFormAuth are the fields of the client's signature, replaced by the
// system key's.
var clientFormAuth = map[string]bool{
	"policy": true, "x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true,
	"x-amz-signature": true, "x-amz-security-token": true, "awsaccesskeyid": true, "signature": true,
}

// upstreamFields encodes the upstream form's fields: the client's in their
// order without its authentication, the key with ${filename} substituted
// (Key), then the system key's.
func (f *PostForm) upstreamFields(a sigv4.PostFormAuth) []byte {
	var b bytes.Buffer
	field := func(name, value string) {
		b.WriteString("--" + f.boundary + "\r\n")
		b.WriteString(`Content-Disposition: form-data; name="` + quoteEscaper.Replace(name) + "\"\r\n\r\n")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	for _, fl := range f.Fields {
		switch name := strings.ToLower(fl.Name); {
		case clientFormAuth[name]:
		case name == "key":
			field(fl.Name, f.Key())
		default:
			field(fl.Name, fl.Value)
		}
	}
	field("policy", a.Policy)
	field("x-amz-algorithm", a.Algorithm)
	field("x-amz-credential", a.Credential)
	field("x-amz-date", a.Date)
	if a.SecurityToken != "" {
		field("x-amz-security-token", a.SecurityToken)
	}
	field("x-amz-signature", a.Signature)
	return b.Bytes()
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// ForwardPostForm sends a verified form upstream as a plain POST (S3
// authenticates the form, not the request): form's fields, with the
// client's policy and signature replaced by policy re-issued and signed with
// the system credentials, then the client's file part and whatever follows
// it, byte for byte and streamed. The upstream Content-Length is
// exact. While the file streams its size is held to the policy's
// content-length-range and a delimiter other than the closing one after it
// is refused; such failures abort the upstream request before its last
// byte. The upstream's Location (header, and body of a 201) is rewritten to
// the proxy's address. Failures before the response starts go to onError.
func (c *Client) ForwardPostForm(w http.ResponseWriter, in *http.Request, call Call, form *PostForm, policy *sigv4.PostPolicy, onError ErrorFunc) {
	creds, err := c.Credentials(in.Context(), call.Bucket)
	if err != nil {
		onError(w, in, &CredentialsError{Err: err})
		return
	}
	t := c.target(call.Bucket)
	signer := sigv4.Signer{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
		SessionToken: creds.SessionToken, Region: t.region}
	fields := form.upstreamFields(signer.SignPostPolicy(policy, time.Now().UTC()))
	body := &trackedBody{
		r:  io.MultiReader(bytes.NewReader(fields), newFileStream(form, policy)),
		rc: in.Body,
	}
	length := int64(len(fields)) + form.contentLength - form.consumed

	var upstreamHost string
	rp := &httputil.ReverseProxy{
		Transport:  c.transport,
		BufferPool: copyBuffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			host, path := t.host, "/"
			if t.pathStyle {
				path += call.Bucket
			} else {
				host = call.Bucket + "." + t.host
			}
			out.URL.Scheme, out.URL.Host = t.scheme, host
			out.URL.Path, out.URL.RawPath = path, ""
			out.URL.RawQuery = allowedQuery(out.URL.RawQuery, "PostObject", nil)
			out.Host = hostOf(t.scheme, host)
			upstreamHost = out.Host
			// Nothing the client put in headers is authenticated: only the
			// form speaks for it.
			for k := range out.Header {
				if (len(k) >= 6 && strings.EqualFold(k[:6], "x-amz-")) || !request.ForwardHeader(k) {
					delete(out.Header, k)
				}
			}
			for _, name := range clientAuthHeaders {
				out.Header.Del(name)
			}
			out.Header.Del("Expect") // the client's body is already flowing
			out.Header.Del("Content-Length")
			out.ContentLength = length
			out.Body = body
		},
		ModifyResponse: func(resp *http.Response) error {
			if isErrorStatus(resp.StatusCode) {
				return sanitizeError(resp, in, []string{t.host, creds.AccessKeyID}, call.LogError)
			}
			return rewritePostLocation(resp, in, call, upstreamHost, t.pathStyle)
		},
		ErrorHandler: func(_ http.ResponseWriter, r *http.Request, err error) {
			if berr := body.failure(); berr != nil {
				err = berr
			}
			onError(w, r, &ForwardError{Err: err})
		},
	}
	rp.ServeHTTP(lowerMetaNames(w), in)
}

// fileStream is the upstream body from the file part on: the client's bytes
// unchanged, checked as they pass. The file's content runs to the first
// "\r\n--boundary"; its size is held to the policy, and that delimiter must
// close the form, since parts after the file are ignored by S3 but not by
// every S3-compatible server. A "\n--boundary" without CR, or content that
// starts with "--boundary", is refused as ambiguous. After the closing
// delimiter the rest (the epilogue) passes unread by anyone.
type fileStream struct {
	head   []byte        // the file part's delimiter line and header
	src    *bufio.Reader // the client's body after head
	policy *sigv4.PostPolicy
	dash   []byte // "--" + boundary
	pat    []byte // "\n--" + boundary

	buf       []byte // bytes read but not yet sent
	out       []byte // the part of buf ready to go upstream
	undecided int    // where the bytes still undecided start in buf
	size      int64  // file bytes released so far
	started   bool   // the content's first bytes were checked
	through   bool   // the form is closed: copy the rest
	err       error
}

func newFileStream(f *PostForm, policy *sigv4.PostPolicy) *fileStream {
	return &fileStream{
		head: f.fileHead, src: f.src, policy: policy,
		dash: []byte("--" + f.boundary), pat: []byte("\n--" + f.boundary),
		buf: make([]byte, 0, 32<<10+len(f.boundary)+8),
	}
}

func (s *fileStream) Read(p []byte) (int, error) {
	for {
		switch {
		case len(s.head) > 0:
			n := copy(p, s.head)
			s.head = s.head[n:]
			return n, nil
		case len(s.out) > 0:
			n := copy(p, s.out)
			s.out = s.out[n:]
			if len(s.out) == 0 && !s.through {
				// Move the undecided bytes to the front of buf.
				s.buf = append(s.buf[:0], s.buf[s.undecided:]...)
			}
			return n, nil
		case s.err != nil:
			return 0, s.err
		case s.through:
			return s.src.Read(p)
		}
		s.err = s.fill()
	}
}

// fill reads more of the file and decides which bytes may go upstream: it
// sets out to them, or returns an error, or leaves both for another round.
func (s *fileStream) fill() error {
	n, rerr := s.src.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	eof := errors.Is(rerr, io.EOF)
	if rerr != nil && !eof {
		return readError(rerr)
	}
	if !s.started {
		if len(s.buf) < len(s.dash) && !eof {
			return nil
		}
		if bytes.HasPrefix(s.buf, s.dash) {
			return malformedPost("the file content starts with the boundary")
		}
		s.started = true
	}
	// Bytes up to release are file content; from release on, undecided.
	var release int
	if i := bytes.Index(s.buf, s.pat); i >= 0 {
		if i == 0 || s.buf[i-1] != '\r' {
			return malformedPost("a line feed without carriage return before the boundary")
		}
		end := i + len(s.pat) + 2
		if len(s.buf) >= end {
			if string(s.buf[i+len(s.pat):end]) != "--" {
				return errFieldAfterFile
			}
			if err := s.policy.CheckFileSize(s.size+int64(i-1), true); err != nil {
				return err
			}
			s.through = true
			s.out, s.buf = s.buf, nil
			return nil
		}
		if eof {
			return malformedPost("the form ends inside a delimiter")
		}
		release = i - 1 // up to the CR
	} else {
		if eof {
			return malformedPost("the form ends without its closing delimiter")
		}
		// A delimiter may begin in the last bytes: keep the CR, the
		// pattern and the two bytes that decide what it is.
		release = max(0, len(s.buf)-(len(s.pat)+2))
	}
	if release == 0 {
		return nil
	}
	if err := s.policy.CheckFileSize(s.size+int64(release), false); err != nil {
		return err
	}
	s.size += int64(release)
	s.out, s.undecided = s.buf[:release], release
	return nil
}

// rewritePostLocation points the upstream's object URL in a successful
// response (Location header; PostResponse body of a 201) at the proxy. A
// Location elsewhere (success_action_redirect) is left alone.
func rewritePostLocation(resp *http.Response, in *http.Request, call Call, upstreamHost string, pathStyle bool) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if mapped, ok := proxyLocation(loc, in, call, upstreamHost, pathStyle); ok {
			resp.Header.Set("Location", mapped)
		}
	}
	if resp.StatusCode != http.StatusCreated {
		return nil
	}
	return replaceLocationElement(resp, func(old string) (string, bool) {
		return proxyLocation(old, in, call, upstreamHost, pathStyle)
	})
}

// proxyLocation maps an upstream object URL to the same object under the
// address the client used; ok is false for URLs of other hosts.
func proxyLocation(loc string, in *http.Request, call Call, upstreamHost string, pathStyle bool) (string, bool) {
	u, err := url.Parse(loc)
	if err != nil || !strings.EqualFold(u.Host, upstreamHost) {
		return "", false
	}
	key := strings.TrimPrefix(u.EscapedPath(), "/")
	if pathStyle {
		var ok bool
		if key, ok = strings.CutPrefix(key, call.Bucket+"/"); !ok {
			return "", false
		}
	}
	return clientBaseURL(in, call) + key, true
}
