package audit

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// ResponseRecorder is an http.ResponseWriter that notes the status and
// counts the body bytes of a response, for the event's outcome.
type ResponseRecorder struct {
	http.ResponseWriter
	// Status is the status written, 0 until then.
	Status int
	// Bytes counts the body bytes written.
	Bytes int64
}

// WriteHeader implements http.ResponseWriter.
func (w *ResponseRecorder) WriteHeader(code int) {
	// 1xx responses (100 Continue, 103 Early Hints) are informational:
	// the outcome is the final status that follows them.
	if w.Status == 0 && (code < 100 || code > 199) {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *ResponseRecorder) Write(p []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushing).
func (w *ResponseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through.
func (w *ResponseRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// CountingBody counts the bytes read from a request body.
type CountingBody struct {
	Body io.ReadCloser
	n    atomic.Int64
}

// Read implements io.Reader.
func (b *CountingBody) Read(p []byte) (int, error) {
	n, err := b.Body.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// Close implements io.Closer.
func (b *CountingBody) Close() error { return b.Body.Close() }

// N returns the bytes read so far (0 for a nil body).
func (b *CountingBody) N() int64 {
	if b == nil {
		return 0
	}
	return b.n.Load()
}

// CountBody wraps r's body, if it has one, and returns the counter (nil
// without a body; N works on nil).
func CountBody(r *http.Request) *CountingBody {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	c := &CountingBody{Body: r.Body}
	r.Body = c
	return c
}

// ClientIP is the address part of an http.Request's RemoteAddr.
func ClientIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}
