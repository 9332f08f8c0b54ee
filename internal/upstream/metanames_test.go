package upstream_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/upstream"
)

// TestForwardLowerCaseMetaNames: user metadata names reach the client in
// lower case as the upstream sent them (issue 13), on the wire, for GET and
// HEAD; other names keep their form.
func TestForwardLowerCaseMetaNames(t *testing.T) {
	us := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["x-amz-meta-foo"] = []string{"bar"}
		h["x-amz-meta-two-words"] = []string{"v2"}
		h.Set("X-Amz-Request-Id", "req")
		h.Set("Content-Length", "2")
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer us.Close()
	c, err := upstream.New(upstream.Options{
		Default: upstream.Target{Endpoint: us.URL, PathStyle: true},
		Source: sourceFunc(func(context.Context, string) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := upstream.Call{Bucket: "b", Key: "k", Operation: "GetObject",
			Auth: &sigv4.Result{Payload: sigv4.PayloadUnsigned, DecodedContentLength: -1}}
		c.Forward(w, r, call, func(w http.ResponseWriter, _ *http.Request, err error) {
			t.Errorf("forward: %v", err)
			w.WriteHeader(http.StatusBadGateway)
		})
	}))
	defer front.Close()

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			names := rawHeaderNames(t, front.Listener.Addr().String(), method+" /b/k HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n")
			for _, want := range []string{"x-amz-meta-foo", "x-amz-meta-two-words", "X-Amz-Request-Id"} {
				if !names[want] {
					t.Errorf("the response does not name %q as such: %v", want, names)
				}
			}
			for _, bad := range []string{"X-Amz-Meta-Foo", "X-Amz-Meta-Two-Words"} {
				if names[bad] {
					t.Errorf("the response names %q", bad)
				}
			}
		})
	}
}

// rawHeaderNames sends req on a new connection to addr and returns the
// response's header names as written.
func rawHeaderNames(t *testing.T, addr, req string) map[string]bool {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("status line %q, %v", status, err)
	}
	names := map[string]bool{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return names
		}
		name, _, _ := strings.Cut(line, ":")
		names[name] = true
	}
}
