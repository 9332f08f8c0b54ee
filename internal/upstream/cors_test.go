package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestBucketCORS: GET ?cors signed with the bucket's credentials; the
// answers that mean "no configuration" (none set, no bucket, MinIO's
// NotImplemented) are nil without error; the others are *CORSError,
// Unavailable when they may pass.
func TestBucketCORS(t *testing.T) {
	const doc = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`
	answers := map[string]struct {
		status int
		body   string
	}{
		"set":      {200, doc},
		"none":     {404, `<Error><Code>NoSuchCORSConfiguration</Code></Error>`},
		"nobucket": {404, `<Error><Code>NoSuchBucket</Code></Error>`},
		"minio":    {501, `<Error><Code>NotImplemented</Code></Error>`},
		"denied":   {403, `<Error><Code>AccessDenied</Code><Message>arn:aws:iam::1:user/x</Message></Error>`},
		"badsig":   {403, `<Error><Code>SignatureDoesNotMatch</Code></Error>`},
		"broken":   {500, `<Error><Code>InternalError</Code></Error>`},
		"huge":     {200, strings.Repeat(" ", maxCORSConfiguration+1)},
	}
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=SYSKEY/") {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		a := answers[strings.TrimPrefix(r.URL.Path, "/")]
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	defer srv.Close()
	c, err := New(Options{
		Default:     Target{Endpoint: srv.URL, PathStyle: true},
		Credentials: credentials.NewStaticCredentialsProvider("SYSKEY", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bucket      string
		want        string
		code        string
		unavailable bool
	}{
		{bucket: "set", want: doc},
		{bucket: "none"},
		{bucket: "nobucket"},
		{bucket: "minio"},
		{bucket: "denied", code: "AccessDenied"},
		{bucket: "badsig", code: "SignatureDoesNotMatch", unavailable: true},
		{bucket: "broken", code: "InternalError", unavailable: true},
		{bucket: "huge", code: "ConfigurationTooLarge"},
	} {
		got, err := c.BucketCORS(context.Background(), tc.bucket)
		var ce *CORSError
		switch {
		case tc.code == "" && (err != nil || string(got) != tc.want):
			t.Errorf("%s: %q, %v; want %q", tc.bucket, got, err, tc.want)
		case tc.code != "" && (!errors.As(err, &ce) || ce.Code != tc.code || ce.Unavailable != tc.unavailable || got != nil):
			t.Errorf("%s: %q, %v; want a CORSError %s (unavailable %v)", tc.bucket, got, err, tc.code, tc.unavailable)
		case err != nil && strings.Contains(err.Error(), "arn:"):
			t.Errorf("%s: error names the upstream's identity: %v", tc.bucket, err)
		}
	}
	if seen[0] != "GET /set?cors=" {
		t.Errorf("upstream saw %q", seen[0])
	}
	srv.Close()
	if _, err := c.BucketCORS(context.Background(), "set"); err == nil {
		t.Error("no error with the upstream gone")
	} else if ce := (*CORSError)(nil); !errors.As(err, &ce) || !ce.Unavailable {
		t.Errorf("upstream gone: %v, want an unavailable CORSError", err)
	}
}
