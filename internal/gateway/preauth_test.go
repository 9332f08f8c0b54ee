package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPostFormPreAuthDeadline: the fields of a POST form, read before
// anything is authenticated, must all arrive within PreAuthTimeout, even
// from a client that never idles long enough for BodyIdleTimeout; the
// refusal closes the connection.
func TestPostFormPreAuthDeadline(t *testing.T) {
	proxy, up := newProxy(t, func(o *Options) {
		o.BodyIdleTimeout = 5 * time.Second
		o.PreAuthTimeout = 500 * time.Millisecond
		o.PreAuthMaxBytes = 4096
	})
	addr := strings.TrimPrefix(proxy, "http://")
	tests := []struct {
		name    string
		burst   int           // bytes of the field sent at once
		trickle time.Duration // between the bytes sent after them
		code    string
		within  time.Duration // the refusal comes before this
	}{
		{name: "a byte every 100ms", trickle: 100 * time.Millisecond, code: "RequestTimeout", within: 2 * time.Second},
		// One line without end: refused at the budget, not at the deadline.
		{name: "over the byte budget at once", burst: 8192, trickle: time.Second, code: "MaxPostPreDataLengthExceeded", within: 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const b = "preauthboundary"
			head := "--" + b + "\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n"
			fmt.Fprintf(c, "POST /bucket1/ HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: 100000\r\n\r\n%s", addr, b, head+strings.Repeat("k", tt.burst))
			answered := make(chan *http.Response, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					close(answered)
					return
				}
				answered <- resp
			}()
			start := time.Now()
			tick := time.NewTicker(tt.trickle)
			defer tick.Stop()
			for {
				select {
				case resp, ok := <-answered:
					if !ok {
						t.Fatal("the connection closed without an answer")
					}
					took := time.Since(start)
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !strings.Contains(string(body), "<Code>"+tt.code+"</Code>") {
						t.Errorf("answer %d %s, want %s", resp.StatusCode, body, tt.code)
					}
					if !resp.Close {
						t.Error("the connection is kept open after a refused form")
					}
					if took > tt.within {
						t.Errorf("refused after %s, want within %s", took, tt.within)
					}
					up.mu.Lock()
					n := len(up.reqs)
					up.mu.Unlock()
					if n != 0 {
						t.Errorf("%d requests reached the upstream", n)
					}
					return
				case <-tick.C:
					_, _ = c.Write([]byte("k"))
				case <-time.After(10 * time.Second):
					t.Fatal("no answer within 10s")
				}
			}
		})
	}
}
