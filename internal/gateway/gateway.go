// Package gateway is the access proxy's http.Handler: it parses an S3
// request, authenticates it, authorizes it, and hands it to the upstream,
// turning every failure into an S3 XML error in one place.
package gateway

import (
	"net/http"

	"log/slog"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/upstream"
)

// Options configure a Handler.
type Options struct {
	// Verifier authenticates requests. Required.
	Verifier *sigv4.Verifier
	// Upstream forwards authorized requests. Required.
	Upstream *upstream.Client
	// BaseDomains enable virtual-hosted-style addressing: a Host of
	// <bucket>.<base domain> names the bucket. Path style always works.
	BaseDomains []string
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
}

// Handler is the access proxy.
type Handler struct{ opts Options }

// New validates o and returns the proxy handler.
func New(o Options) (*Handler, error) { panic("unimplemented") }

// ServeHTTP runs one S3 request through the pipeline.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { panic("unimplemented") }
