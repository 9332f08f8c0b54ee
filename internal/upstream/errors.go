package upstream

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// An upstream's error responses speak of the upstream: its endpoint, the
// key id the proxy signed with, the canonical request and string to sign of
// the proxy's signature, role ARNs, host ids. None of that is the client's
// business. Every error the upstream answers with is rebuilt from its Code
// and a Message that names none of it; failures of the proxy's own
// credentials become a plain InternalError. The original goes to the
// server log (Call.LogError).

// maxUpstreamError bounds the error body read to rebuild it; S3 errors are
// a few hundred bytes.
const maxUpstreamError = 64 << 10

// credentialCodes are the upstream's refusals of the proxy's own signature
// or credentials: never the client's fault, and their bodies carry the
// proxy's key id and canonical request.
var credentialCodes = map[string]bool{
	"SignatureDoesNotMatch": true, "InvalidAccessKeyId": true, "InvalidToken": true, "ExpiredToken": true,
	"TokenRefreshRequired": true, "AuthorizationHeaderMalformed": true, "AuthorizationQueryParametersError": true,
	"RequestTimeTooSkewed": true, "InvalidSecurity": true, "MissingSecurityHeader": true, "IncompleteSignature": true,
}

// genericMessages replace upstream messages that may name the upstream's
// identities (AWS's AccessDenied names the principal and its ARN).
var genericMessages = map[string]string{
	"AccessDenied": "Access Denied",
}

// errorDetail are the elements of an S3 error that speak of the client's
// request, not of the upstream: kept when they name nothing hidden.
type errorDetail struct {
	Key           string `xml:"Key,omitempty"`
	BucketName    string `xml:"BucketName,omitempty"`
	VersionID     string `xml:"VersionId,omitempty"`
	StorageClass  string `xml:"StorageClass,omitempty"`
	ArgumentName  string `xml:"ArgumentName,omitempty"`
	ArgumentValue string `xml:"ArgumentValue,omitempty"`
	Condition     string `xml:"Condition,omitempty"`
}

type upstreamError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	errorDetail
}

type clientError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	errorDetail
	Resource  string `xml:"Resource,omitempty"`
	RequestID string `xml:"RequestId,omitempty"`
}

// scrub empties the fields that name any of hide.
func (d *errorDetail) scrub(hide []string) {
	for _, f := range []*string{&d.Key, &d.BucketName, &d.VersionID, &d.StorageClass, &d.ArgumentName, &d.ArgumentValue, &d.Condition} {
		if names(*f, hide) {
			*f = ""
		}
	}
}

// isErrorStatus reports whether an upstream status is an error whose
// response must be rebuilt: 4xx and 5xx, and the redirects S3 answers a
// request for a bucket in another region with.
func isErrorStatus(code int) bool {
	return code >= 400 || code == http.StatusMovedPermanently || code == http.StatusTemporaryRedirect
}

// sanitizeError rebuilds an upstream error response in place. hide lists
// strings that must not reach the client in a message (the upstream's
// host, the key id the proxy signs with).
func sanitizeError(resp *http.Response, in *http.Request, hide []string, logf func(code, message string)) error {
	if !isErrorStatus(resp.StatusCode) {
		return nil
	}
	// A redirect to the upstream's own address is not one the client can
	// follow.
	resp.Header.Del("Location")
	resp.Header.Del("X-Amz-Id-2")
	// MinIO describes errors in headers too (HEAD responses have no body).
	minioCode := resp.Header.Get("X-Minio-Error-Code")
	for name := range resp.Header {
		if strings.HasPrefix(name, "X-Minio-") {
			delete(resp.Header, name)
		}
	}
	var ue upstreamError
	if resp.Body != nil && resp.Body != http.NoBody && in.Method != http.MethodHead {
		raw, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		_ = xml.Unmarshal(raw, &ue)
		if logf != nil {
			logf(ue.Code, scrubLog(string(raw)))
		}
	} else if in.Method == http.MethodHead {
		if credentialCodes[minioCode] {
			resp.StatusCode, resp.Status = http.StatusInternalServerError, "500 "+http.StatusText(http.StatusInternalServerError)
		}
		return nil
	}
	status := resp.StatusCode
	ue.scrub(hide)
	ce := clientError{Code: ue.Code, Message: ue.Message, errorDetail: ue.errorDetail,
		Resource: in.URL.Path, RequestID: resp.Header.Get("X-Amz-Request-Id")}
	switch {
	case ce.Code == "" || !validCode(ce.Code):
		ce.Code, ce.Message, ce.errorDetail = codeForStatus(status), http.StatusText(status), errorDetail{}
	case credentialCodes[ce.Code]:
		status = http.StatusInternalServerError
		ce.errorDetail = errorDetail{}
		ce.Code, ce.Message = "InternalError", "The storage service refused the proxy's credentials. The administrator can find the cause in the proxy's log."
	case genericMessages[ce.Code] != "":
		ce.Message = genericMessages[ce.Code]
	case names(ce.Message, hide):
		ce.Message = http.StatusText(status)
	}
	body, err := xml.Marshal(ce)
	if err != nil {
		return err
	}
	body = append([]byte(xml.Header), body...)
	resp.StatusCode, resp.Status = status, strconv.Itoa(status)+" "+http.StatusText(status)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Set("Content-Type", "application/xml")
	resp.Header.Del("Content-Encoding")
	return nil
}

// names reports whether msg mentions any of hide, or an ARN.
func names(msg string, hide []string) bool {
	if strings.Contains(msg, "arn:") {
		return true
	}
	for _, h := range hide {
		if h != "" && strings.Contains(msg, h) {
			return true
		}
	}
	return false
}

// validCode accepts S3 error codes: letters, digits and dots, as S3 uses.
func validCode(c string) bool {
	if len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.') {
			return false
		}
	}
	return true
}

func codeForStatus(status int) string {
	switch {
	case status == http.StatusNotFound:
		return "NotFound"
	case status == http.StatusForbidden:
		return "AccessDenied"
	case status >= 500:
		return "InternalError"
	}
	return "InvalidRequest"
}

// scrubLog shortens an upstream error body for the log: the server log is
// the operator's, but secrets never go there (a signature is not a secret;
// the canonical request and string to sign are kept for debugging).
func scrubLog(s string) string {
	const max = 4 << 10
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
