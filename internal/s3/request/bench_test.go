package request

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkParse is the per-request cost of parsing and the allowlist on
// the proxy's hot path. Compare runs with benchstat:
//
//	go test -run '^$' -bench Parse -count 10 ./internal/s3/request > new.txt
func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct{ name, method, target string }{
		{"GetObject", "GET", "/bk1/dir/object.parquet"},
		{"ListObjectsV2", "GET", "/bk1?list-type=2&prefix=dir%2F&delimiter=%2F&encoding-type=url"},
		{"UploadPart", "PUT", "/bk1/dir/object.parquet?partNumber=3&uploadId=abcdef"},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		r.Header.Set("X-Amz-Date", "20260101T000000Z")
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		r.Header.Set("User-Agent", "aws-sdk-go-v2")
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(r, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
