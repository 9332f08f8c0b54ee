// Package s3err defines the S3 error codes lakegate raises and writes them
// as S3 XML error bodies. Upstream errors are never rewritten: they stream
// back as the upstream sent them; this package is only for errors the proxy
// itself decides.
package s3err

import (
	"encoding/xml"
	"net/http"
	"strconv"
)

// Error is an S3 error the proxy returns to a client.
type Error struct {
	// Code is the S3 error code, e.g. "SignatureDoesNotMatch".
	Code string
	// Message is the human-readable text sent to the client. It must not
	// contain secrets, signatures or tokens.
	Message string
	// Status is the HTTP status code.
	Status int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The codes lakegate raises, with the status and default message AWS uses.
var (
	AccessDenied                      = &Error{"AccessDenied", "Access Denied", http.StatusForbidden}
	AuthorizationHeaderMalformed      = &Error{"AuthorizationHeaderMalformed", "The authorization header is malformed.", http.StatusBadRequest}
	AuthorizationQueryParametersError = &Error{"AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter.", http.StatusBadRequest}
	BadDigest                         = &Error{"BadDigest", "The Content-MD5 you specified did not match what we received.", http.StatusBadRequest}
	EntityTooLarge                    = &Error{"EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", http.StatusBadRequest}
	ExpiredToken                      = &Error{"ExpiredToken", "The provided token has expired.", http.StatusBadRequest}
	IncompleteBody                    = &Error{"IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", http.StatusBadRequest}
	InternalError                     = &Error{"InternalError", "We encountered an internal error. Please try again.", http.StatusInternalServerError}
	InvalidAccessKeyID                = &Error{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", http.StatusForbidden}
	InvalidArgument                   = &Error{"InvalidArgument", "Invalid Argument", http.StatusBadRequest}
	InvalidBucketName                 = &Error{"InvalidBucketName", "The specified bucket is not valid.", http.StatusBadRequest}
	InvalidDigest                     = &Error{"InvalidDigest", "The Content-MD5 you specified is not valid.", http.StatusBadRequest}
	InvalidRequest                    = &Error{"InvalidRequest", "Invalid Request", http.StatusBadRequest}
	InvalidToken                      = &Error{"InvalidToken", "The provided token is malformed or otherwise invalid.", http.StatusBadRequest}
	MalformedXML                      = &Error{"MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", http.StatusBadRequest}
	MaxMessageLengthExceeded          = &Error{"MaxMessageLengthExceeded", "Your request was too big.", http.StatusBadRequest}
	MethodNotAllowed                  = &Error{"MethodNotAllowed", "The specified method is not allowed against this resource.", http.StatusMethodNotAllowed}
	MissingContentLength              = &Error{"MissingContentLength", "You must provide the Content-Length HTTP header.", http.StatusLengthRequired}
	MissingSecurityHeader             = &Error{"MissingSecurityHeader", "Your request is missing a required header.", http.StatusBadRequest}
	NotImplemented                    = &Error{"NotImplemented", "A header you provided implies functionality that is not implemented.", http.StatusNotImplemented}
	RequestTimeTooSkewed              = &Error{"RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.", http.StatusForbidden}
	RequestTimeout                    = &Error{"RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period.", http.StatusBadRequest}
	ServiceUnavailable                = &Error{"ServiceUnavailable", "Please reduce your request rate.", http.StatusServiceUnavailable}
	SignatureDoesNotMatch             = &Error{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", http.StatusForbidden}
	XAmzContentSHA256Mismatch         = &Error{"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", http.StatusBadRequest}
	BadGateway                        = &Error{"BadGateway", "The upstream storage service could not be reached.", http.StatusBadGateway}
	// PolicyUnavailable: an nScale proxy cannot reach its policy server
	// and holds no valid cached answer, so it refuses (fails closed).
	PolicyUnavailable = &Error{"ServiceUnavailable", "The lakegate policy server cannot be reached, so this request cannot be authorized. Please retry.", http.StatusServiceUnavailable}
)

// WithMessage returns a copy of e that carries msg instead of the default
// message.
func (e *Error) WithMessage(msg string) *Error {
	c := *e
	c.Message = msg
	return &c
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// Write sends e as an S3 XML error. resource is the request path; requestID
// is echoed in the body and the x-amz-request-id header. HEAD requests get
// the status and headers only, as S3 does.
func Write(w http.ResponseWriter, r *http.Request, e *Error, requestID string) {
	body, _ := xml.Marshal(xmlError{Code: e.Code, Message: e.Message, Resource: r.URL.Path, RequestID: requestID})
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("x-amz-request-id", requestID)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
