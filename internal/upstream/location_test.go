package upstream

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestRewriteLocation(t *testing.T) {
	const result = `<?xml version="1.0" encoding="UTF-8"?>` +
		`<CompleteMultipartUploadResult><Location>http://10.0.0.9:9000/bkt/a%20b</Location><Bucket>bkt</Bucket><Key>a b</Key><ETag>"x-2"</ETag></CompleteMultipartUploadResult>`
	tests := []struct {
		name        string
		host        string
		tls         bool
		virtualHost bool
		key         string
		want        string
	}{
		{name: "path style http", host: "127.0.0.1:5010", key: "a b", want: "http://127.0.0.1:5010/bkt/a%20b"},
		{name: "path style https", host: "proxy.example:5443", tls: true, key: "dir/x&y", want: "https://proxy.example:5443/bkt/dir/x%26y"},
		{name: "virtual host", host: "bkt.s3.example", virtualHost: true, key: "k", want: "http://bkt.s3.example/k"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := httptest.NewRequest(http.MethodPost, "/", nil)
			in.Host = tc.host
			if tc.tls {
				in.TLS = &tls.ConnectionState{}
			}
			resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Length": {strconv.Itoa(len(result))}},
				Body: io.NopCloser(strings.NewReader(result)), ContentLength: int64(len(result))}
			call := Call{Bucket: "bkt", Key: tc.key, VirtualHost: tc.virtualHost}
			if err := rewriteLocation(resp, in, call); err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			wantLoc := "<Location>" + strings.ReplaceAll(tc.want, "&", "&amp;") + "</Location>"
			if !strings.Contains(string(b), wantLoc) || strings.Contains(string(b), "10.0.0.9") {
				t.Errorf("body %s, want %s", b, wantLoc)
			}
			if resp.ContentLength != int64(len(b)) || resp.Header.Get("Content-Length") != strconv.Itoa(len(b)) {
				t.Errorf("length %d / %q, body is %d bytes", resp.ContentLength, resp.Header.Get("Content-Length"), len(b))
			}
		})
	}
}

// TestIntactChannels: bodies go unsigned only where the channel protects
// them: TLS, or a loopback IP literal (a name could resolve anywhere).
func TestIntactChannels(t *testing.T) {
	for _, tc := range []struct {
		target Target
		want   bool
	}{
		{Target{}, true}, // AWS, https
		{Target{Endpoint: "https://s3.example.com"}, true},
		{Target{Endpoint: "http://127.0.0.1:9000"}, true},
		{Target{Endpoint: "http://127.9.9.9:9000"}, true},
		{Target{Endpoint: "http://[::1]:9000"}, true},
		{Target{Endpoint: "http://localhost:9000"}, false},
		{Target{Endpoint: "http://10.0.0.7:9000"}, false},
		{Target{Endpoint: "http://minio.internal:9000"}, false},
		{Target{Endpoint: "https://s3.example.com", SignPayload: true}, false},
		{Target{Endpoint: "http://127.0.0.1:9000", SignPayload: true}, false},
	} {
		r, err := resolve(tc.target, Target{Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		if r.intact != tc.want {
			t.Errorf("%+v: intact = %v, want %v", tc.target, r.intact, tc.want)
		}
	}
}
