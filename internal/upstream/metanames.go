package upstream

import (
	"net/http"
	"strings"
)

// userMetaPrefix starts the names of user metadata headers.
const userMetaPrefix = "x-amz-meta-"

// metaNameWriter is the writer a response copied from the upstream goes
// through. Go's HTTP client reads header names into their canonical form
// (X-Amz-Meta-Foo), and httputil.ReverseProxy copies them so; S3 sends user
// metadata names in lower case (x-amz-meta-foo), and clients report the
// name after the prefix as the metadata's key (boto3: {'Foo': 'bar'}
// instead of {'foo': 'bar'}). Before the final header is written, each
// x-amz-meta-* entry is moved to its lower-case name, which net/http's
// HTTP/1.1 writer sends as it is (HTTP/2 lower-cases every name anyway).
type metaNameWriter struct {
	http.ResponseWriter
	done bool
}

// lowerMetaNames returns w as the writer of an upstream response.
func lowerMetaNames(w http.ResponseWriter) *metaNameWriter {
	return &metaNameWriter{ResponseWriter: w}
}

// WriteHeader implements http.ResponseWriter. Informational (1xx) headers
// pass as they are; the final header gets the lower-case names.
func (w *metaNameWriter) WriteHeader(code int) {
	if code < 100 || code > 199 {
		w.lower()
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *metaNameWriter) Write(p []byte) (int, error) {
	w.lower()
	return w.ResponseWriter.Write(p)
}

// Flush passes flushes through (a flush writes the header).
func (w *metaNameWriter) Flush() {
	w.lower()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *metaNameWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *metaNameWriter) lower() {
	if w.done {
		return
	}
	w.done = true
	lowerMetaHeaderNames(w.Header())
}

// lowerMetaHeaderNames moves every x-amz-meta-* entry of h to its
// lower-case name (values of names differing only in case are merged, in
// the order met).
func lowerMetaHeaderNames(h http.Header) {
	for name, values := range h {
		if len(name) <= len(userMetaPrefix) || !strings.EqualFold(name[:len(userMetaPrefix)], userMetaPrefix) {
			continue
		}
		lower := strings.ToLower(name)
		if lower == name {
			continue
		}
		delete(h, name)
		h[lower] = append(h[lower], values...)
	}
}
