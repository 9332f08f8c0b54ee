package api

import (
	"net/http"
	"strings"

	"github.com/lakegate/lakegate/internal/jsonhttp"
)

// Cross-site request forgery: a browser sends the REST API's ambient
// credentials (Kerberos through Negotiate, a password it remembers) with
// requests any web page makes, and a plain HTML form can POST to any
// origin with a text/plain, urlencoded or multipart body and no preflight.
// So every state-changing request (any method but GET, HEAD and OPTIONS)
// is refused unless
//
//   - its Origin header, when it has one, is the server's own origin or one
//     of Options.AllowedOrigins (a browser always sends Origin on a
//     cross-origin POST or DELETE; tools such as curl send none), and
//   - its body, when it has one, is declared application/json, a type no
//     form can send without a CORS preflight, which this server never
//     answers; a request without a body may omit Content-Type.
//
// The refusals are 403 and 415 in the API's JSON error shape, before the
// request is authenticated or its body read.

// safeMethod reports whether method never changes state here.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// guard applies the origin and content-type rules above to next.
func (h *handler) guard(next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(h.AllowedOrigins))
	for _, o := range h.AllowedOrigins {
		allowed[strings.ToLower(o)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		if origins, ok := r.Header["Origin"]; ok && !originAllowed(r, origins, allowed) {
			h.log.Info("REST cross-origin request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			jsonhttp.Error(w, http.StatusForbidden, "cross-origin request refused: the Origin header names neither this server nor an origin in rest.allowed_origins")
			return
		}
		if !jsonBody(r) {
			jsonhttp.Error(w, http.StatusUnsupportedMediaType, "request bodies must be JSON, sent with Content-Type: application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed reports whether the request's one Origin value is its own
// origin (its Host, over https or the scheme it arrived by) or an allowed
// one.
// "null", an empty value and several values are refused.
func originAllowed(r *http.Request, origins []string, allowed map[string]bool) bool {
	if len(origins) != 1 {
		return false
	}
	origin := strings.ToLower(strings.TrimSpace(origins[0]))
	if origin == "" || origin == "null" {
		return false
	}
	host := strings.ToLower(r.Host)
	// https on the request's own host is its origin also when TLS ends at
	// a load balancer in front (r.TLS is then nil); plain http only when
	// the request itself came over http.
	if origin == "https://"+host || (r.TLS == nil && origin == "http://"+host) {
		return true
	}
	return allowed[origin]
}

// jsonBody reports whether r's body is declared JSON, or r has no body and
// no Content-Type (or a JSON one).
func jsonBody(r *http.Request) bool {
	ct, declared := r.Header["Content-Type"]
	if !declared {
		return r.ContentLength == 0
	}
	return len(ct) == 1 && jsonhttp.IsJSON(ct[0])
}
