package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestExpectContinue (issue 13): with auditing on (which counts the body)
// a request the proxy refuses while its client waits on Expect:
// 100-continue is answered without 100 Continue and without waiting for
// the body, and its connection closed; an allowed one gets 100 Continue,
// then its answer, and keeps its connection.
func TestExpectContinue(t *testing.T) {
	proxy, up := newProxy(t, func(o *Options) { o.Audit = &recordingAuditor{} })
	addr := mustHost(t, proxy)
	const announced = 1 << 30
	head := func(t *testing.T, secret string, header ...string) []byte {
		req, err := http.NewRequest(http.MethodPut, proxy+"/bucket/big.bin", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = announced
		req.Header.Set("Expect", "100-continue")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		signV4With(t, req, secret, "UNSIGNED-PAYLOAD")
		return rawHead(req, announced)
	}
	tests := []struct {
		name   string
		head   func(t *testing.T) []byte
		status int
	}{
		{"bad signature", func(t *testing.T) []byte { return head(t, clientSecret+"x") }, http.StatusForbidden},
		{"refused by the allowlist", func(t *testing.T) []byte { return head(t, clientSecret, "X-Amz-Made-Up", "1") }, http.StatusNotImplemented},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := up.count()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(tc.head(t)); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer while the body is held back: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (never 100 Continue)", resp.StatusCode, tc.status)
			}
			if !resp.Close {
				t.Error("the connection is kept although the announced body was never sent")
			}
			if _, err := br.ReadByte(); err == nil {
				t.Error("more bytes after the refusal")
			}
			if up.count() != n {
				t.Error("the refused request reached the upstream")
			}
		})
	}

	t.Run("allowed", func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), 100<<10)
		req, err := http.NewRequest(http.MethodPut, proxy+"/bucket/ok.bin", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("Expect", "100-continue")
		signV4With(t, req, clientSecret, sha(body))
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(rawHead(req, int64(len(body)))); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusContinue {
			t.Fatalf("want 100 Continue first: %v %v", resp, err)
		}
		if _, err := conn.Write(body); err != nil {
			t.Fatal(err)
		}
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("status %d, close %v; want 200 on a kept connection", resp.StatusCode, resp.Close)
		}
		if got := up.last(t); !bytes.Equal(got.body, body) {
			t.Errorf("upstream got %d bytes, want %d", len(got.body), len(body))
		}
	})
}

func mustHost(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// signV4With signs r with the client key and secret.
func signV4With(t *testing.T, r *http.Request, secret, payloadHash string) {
	t.Helper()
	if secret == clientSecret {
		signV4(t, r, payloadHash, time.Now())
		return
	}
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	r.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%064d",
		clientKey, time.Now().UTC().Format("20060102"), 0))
}

// rawHead is r's request line and header with Content-Length n, as sent.
func rawHead(r *http.Request, n int64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.URL.RequestURI(), r.URL.Host)
	_ = r.Header.Write(&b)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", n)
	return b.Bytes()
}
