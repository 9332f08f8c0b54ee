package upstream

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSanitizeError: the upstream's error bodies reach the client rebuilt,
// naming nothing of the upstream; the original goes to the log.
func TestSanitizeError(t *testing.T) {
	const host, keyID = "10.1.2.3:9000", "SYSTEMKEYID000000001"
	secrets := []string{host, keyID, "CanonicalRequest", "StringToSign", "HostId", "arn:aws", "upstream-host-id"}
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantCode   string
	}{
		{"signature of the proxy refused", 403, `<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><AWSAccessKeyId>` + keyID + `</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256...</StringToSign><CanonicalRequest>PUT /b/k host:` + host + `</CanonicalRequest><HostId>upstream-host-id</HostId></Error>`, 500, "InternalError"},
		{"unknown key of the proxy", 403, `<Error><Code>InvalidAccessKeyId</Code><Message>The key ` + keyID + ` does not exist</Message></Error>`, 500, "InternalError"},
		{"access denied naming a role", 403, `<Error><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/lake/x is not authorized</Message></Error>`, 403, "AccessDenied"},
		{"region redirect naming the endpoint", 301, `<Error><Code>PermanentRedirect</Code><Message>Use the endpoint.</Message><Endpoint>` + host + `</Endpoint></Error>`, 301, "PermanentRedirect"},
		{"argument naming the upstream", 400, `<Error><Code>InvalidArgument</Code><Message>bad</Message><ArgumentValue>http://` + host + `/x</ArgumentValue></Error>`, 400, "InvalidArgument"},
		{"message naming the upstream", 503, `<Error><Code>SlowDown</Code><Message>` + host + ` is busy</Message></Error>`, 503, "SlowDown"},
		{"not xml", 502, `<html>` + host + `</html>`, 502, "InternalError"},
		{"plain not found kept", 404, `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key></Error>`, 404, "NoSuchKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{
				"Location": {"http://" + host + "/b/k"}, "X-Amz-Id-2": {"upstream-host-id"}, "X-Amz-Request-Id": {"RID"},
			}, Body: io.NopCloser(strings.NewReader(tc.body))}
			in := httptest.NewRequest(http.MethodGet, "/b/k", nil)
			var logged string
			if err := sanitizeError(resp, in, []string{host, keyID}, func(_, body string) { logged = body }); err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(b), "<Code>"+tc.wantCode+"</Code>") {
				t.Errorf("status %d body %s; want %d %s", resp.StatusCode, b, tc.wantStatus, tc.wantCode)
			}
			for _, s := range secrets {
				if strings.Contains(string(b), s) {
					t.Errorf("body names %q: %s", s, b)
				}
				for name, vals := range resp.Header {
					if strings.Contains(strings.Join(vals, " "), s) {
						t.Errorf("header %s names %q", name, s)
					}
				}
			}
			if tc.wantCode == "NoSuchKey" && !strings.Contains(string(b), "<Key>k</Key>") {
				t.Errorf("the key of a NoSuchKey was lost: %s", b)
			}
			if !strings.Contains(string(b), "<Resource>/b/k</Resource>") || logged != tc.body {
				t.Errorf("resource or log missing: body %s, logged %q", b, logged)
			}
		})
	}
}
