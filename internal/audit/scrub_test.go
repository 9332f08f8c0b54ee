package audit

import (
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	tests := []struct {
		name, in string
		// gone must not survive; kept must.
		gone, kept []string
	}{
		{
			name: "presigned v4 url",
			in:   "GET /b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=LGAKIDEXAMPLE00001%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			gone: []string{"0123456789abcdef0123", "us-east-1%2Fs3"},
			kept: []string{"LGAKIDEXAMPLE00001", "X-Amz-Signature=REDACTED", "X-Amz-Expires=900"},
		},
		{
			name: "security token in query",
			in:   "s3://b/k?X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F%2F%2F%2FwEaDG+abc/def==&x=1",
			gone: []string{"FwoGZXIvYXdzEJr"},
			kept: []string{"x=1"},
		},
		{
			name: "security token header",
			in:   "x-amz-security-token: IQoJb3JpZ2luX2VjEHUaCXVzLWVhc3QtMSJH",
			gone: []string{"IQoJb3JpZ2lu"},
		},
		{
			name: "sigv4 authorization header",
			in:   "Authorization: AWS4-HMAC-SHA256 Credential=LGAKIDEXAMPLE00001/20250101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
			gone: []string{"fe5f80f77d5fa3beca"},
			kept: []string{"LGAKIDEXAMPLE00001", "SignedHeaders=host"},
		},
		{
			name: "presigned v2 url",
			in:   "/b/k?AWSAccessKeyId=LGAKIDEXAMPLE00001&Expires=1700000000&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D",
			gone: []string{"vjbyPxybdZaNmGa"},
			kept: []string{"AWSAccessKeyId=LGAKIDEXAMPLE00001"},
		},
		{
			name: "sigv2 authorization header",
			in:   "Authorization: AWS LGAKIDEXAMPLE00001:frJIUN8DYpKDtOLCwo//yllqDzg=",
			gone: []string{"frJIUN8DYpKDtOLCwo"},
			kept: []string{"LGAKIDEXAMPLE00001"},
		},
		{
			name: "bearer token",
			in:   `authorization="Bearer abc.def-ghi_jkl~mno+pqr/stu="`,
			gone: []string{"abc.def-ghi"},
		},
		{
			name: "jwt anywhere",
			in:   "token eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.dGhpcyBpcyBhIHNpZ25hdHVyZQ rejected",
			gone: []string{"eyJzdWIiOiJhbGljZSJ9", "dGhpcyBpcyBh"},
			kept: []string{"rejected"},
		},
		{
			name: "lakegate token",
			in:   "invalid token lgt_Q2hhbmdlTWVQbGVhc2UwMTIzNDU2Nzg5QUJDREVG",
			gone: []string{"Q2hhbmdlTWVQbGVhc2U"},
			kept: []string{"lgt_REDACTED"},
		},
		{
			name: "aws credentials file style",
			in:   "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws_session_token = FQoGZXIvYXdzEB",
			gone: []string{"wJalrXUtnFEMI", "FQoGZXIvYXdzEB"},
		},
		{
			name: "json secret",
			in:   `{"AccessKeyId":"LGAKIDEXAMPLE00001","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG","SessionToken":"FQoGZXIvYXdzEB"}`,
			gone: []string{"wJalrXUtnFEMI", "FQoGZXIvYXdzEB"},
			kept: []string{"LGAKIDEXAMPLE00001"},
		},
		{
			name: "yaml secret",
			in:   "secret_access_key: wJalrXUtnFEMI/K7MDENG",
			gone: []string{"wJalrXUtnFEMI"},
		},
		{
			name: "slog attribute naming a token",
			in:   `level=INFO msg=login admin_token=lgt_x refresh_token="abcdefgh" password=hunter2`,
			gone: []string{"lgt_x", "abcdefgh", "hunter2"},
		},
		{
			name: "plain text untouched",
			in:   "s3://lake/data/year=2024/part-0001.parquet denied: no grant covers it",
			kept: []string{"s3://lake/data/year=2024/part-0001.parquet denied: no grant covers it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Scrub(tt.in)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("Scrub left %q in %q", g, got)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("Scrub removed %q: %q", k, got)
				}
			}
			if again := Scrub(got); again != got {
				t.Errorf("Scrub is not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestEventFieldsAreScrubbed(t *testing.T) {
	ev := sampleEvent(1)
	ev.Reason = "bad signature for Authorization: Bearer lgt_abcdefabcdefabcdef"
	ev.UserAgent = "curl/8 X-Amz-Security-Token=FQoGZXIvYXdzEB"
	ev.URIs = []string{"s3://b/k?X-Amz-Signature=deadbeefdeadbeef"}
	ev.Operation = "GetObject?Signature=abcabcabcabc"
	line, err := encodeRecord(ev, recordDecision, "n", DefaultMaxRecordBytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"abcdefabcdef", "FQoGZXIvYXdzEB", "deadbeefdeadbeef", "abcabcabcabc"} {
		if strings.Contains(string(line), secret) {
			t.Errorf("record holds %q: %s", secret, line)
		}
	}
}

func BenchmarkScrubClean(b *testing.B) {
	s := "s3://lake/warehouse/sales/year=2024/month=05/part-00001-abcdef.snappy.parquet"
	b.ReportAllocs()
	for b.Loop() {
		_ = Scrub(s)
	}
}
