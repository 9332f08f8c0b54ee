// Package jsonhttp is how lakegate's JSON HTTP APIs (the REST API, the
// internal API nScale proxies use, the audit query endpoint) answer: one
// writer for responses, one shape for errors, one strict reader for request
// bodies.
package jsonhttp

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
)

// Write answers status with v as JSON, not cached and not sniffed.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// ErrorBody is the JSON shape of an error: {"error": "…"}.
type ErrorBody struct {
	Error string `json:"error"`
}

// Error answers status with msg as an ErrorBody.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, ErrorBody{Error: msg})
}

// IsJSON reports whether a Content-Type header value is application/json,
// with parameters (charset) or without.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// Decode reads one JSON object into v, refusing unknown fields; on failure
// it has answered (BodyError) and returns false.
func Decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		BodyError(w, err)
		return false
	}
	return true
}

// BodyError answers a request body that could not be read: 413 for one over
// its http.MaxBytesReader limit, else 400.
func BodyError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		Error(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	Error(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
}
