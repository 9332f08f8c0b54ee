package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakegate/lakegate/internal/audit"
)

// recordingAuditor keeps what the gateway records; failDecide makes every
// decision fail, as an audit log with no working sink does.
type recordingAuditor struct {
	mu          sync.Mutex
	decisions   []audit.Event
	completions []audit.Event
	failDecide  bool
}

func (a *recordingAuditor) Decide(_ context.Context, ev *audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failDecide {
		return errors.New("no sink accepted the record")
	}
	a.decisions = append(a.decisions, *ev)
	return nil
}

func (a *recordingAuditor) Complete(ev *audit.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.completions = append(a.completions, *ev)
}

func (a *recordingAuditor) snapshot() (decisions, completions []audit.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Event(nil), a.decisions...), append([]audit.Event(nil), a.completions...)
}

// waitCompletions waits for the handler's deferred completion, which runs
// after the client has its response.
func (a *recordingAuditor) waitCompletions(t *testing.T, n int) []audit.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, c := a.snapshot()
		if len(c) >= n || time.Now().After(deadline) {
			return c
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAuditDecisionBeforeForwarding: the allow decision is recorded before
// the upstream sees anything, and the completion carries the outcome.
func TestAuditDecisionBeforeForwarding(t *testing.T) {
	aud := &recordingAuditor{}
	var decidedFirst bool
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := aud.snapshot()
		decidedFirst = len(d) == 1
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "stored")
	})
	proxy := startProxy(t, upstream, func(o *Options) { o.Audit = aud })
	body := bytes.Repeat([]byte("x"), 5000)
	r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/k", bytes.NewReader(body))
	r.Header.Set("User-Agent", "audit-test/1.0")
	signV4(t, r, sha(body), time.Now())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !decidedFirst {
		t.Error("the upstream saw the request before its decision was recorded")
	}
	c := aud.waitCompletions(t, 1)
	if len(c) != 1 {
		t.Fatalf("%d completions, want 1", len(c))
	}
	ev := c[0]
	if ev.Decision != audit.DecisionAllow || ev.Operation != "PutObject" || ev.User != clientKey || ev.AccessKeyID != clientKey ||
		ev.AuthMethod != "sigv4" || ev.Status != 200 || ev.BytesIn != int64(len(body)) || ev.BytesOut != int64(len("stored")) ||
		ev.UserAgent != "audit-test/1.0" || ev.Privilege != "INSERT" || !strings.Contains(ev.Reason, "ALL ON SERVER") ||
		len(ev.URIs) != 1 || ev.URIs[0] != "s3://bucket1/k" || ev.Mode != audit.ModeProxy || ev.ClientIP != "127.0.0.1" {
		t.Errorf("completion = %+v", ev)
	}
}

// TestAuditFailsClosed: when the audit log accepts no decision, the
// request is refused with 503 and nothing reaches the upstream.
func TestAuditFailsClosed(t *testing.T) {
	aud := &recordingAuditor{failDecide: true}
	proxy, up := newProxy(t, func(o *Options) { o.Audit = aud })
	r, _ := http.NewRequest(http.MethodGet, proxy+"/bucket1/k", nil)
	signV4(t, r, sha(nil), time.Now())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || errorCode(t, resp) != "ServiceUnavailable" {
		t.Fatalf("status %d, want 503 ServiceUnavailable", resp.StatusCode)
	}
	if up.count() != 0 {
		t.Error("a request the audit log did not record reached the upstream")
	}
	c := aud.waitCompletions(t, 1)
	if len(c) != 1 || c[0].Decision != audit.DecisionError || c[0].Status != http.StatusServiceUnavailable {
		t.Errorf("completions = %+v", c)
	}
}

// TestAuditRefusedRequests: requests refused before any decision (a bad
// signature) are recorded once, with the key they claimed and why.
func TestAuditRefusedRequests(t *testing.T) {
	aud := &recordingAuditor{}
	proxy, _ := newProxy(t, func(o *Options) { o.Audit = aud })
	r, _ := http.NewRequest(http.MethodGet, proxy+"/bucket1/k", nil)
	signV4(t, r, sha(nil), time.Now())
	r.Header.Set("X-Amz-Date", time.Now().Add(time.Second).UTC().Format("20060102T150405Z"))
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := aud.waitCompletions(t, 1)
	d, _ := aud.snapshot()
	if len(d) != 0 || len(c) != 1 {
		t.Fatalf("%d decisions and %d completions, want 0 and 1", len(d), len(c))
	}
	if ev := c[0]; ev.Decision != audit.DecisionDeny || ev.AccessKeyID != clientKey || ev.User != "" ||
		!strings.Contains(ev.Reason, "SignatureDoesNotMatch") || ev.Status != http.StatusForbidden {
		t.Errorf("event = %+v", ev)
	}
}

// TestAuditExpectContinueFinalStatus: a PUT sent with Expect:
// 100-continue is recorded with its final status, not 100.
func TestAuditExpectContinueFinalStatus(t *testing.T) {
	aud := &recordingAuditor{}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	proxy := startProxy(t, upstream, func(o *Options) { o.Audit = aud })
	body := bytes.Repeat([]byte("x"), 64<<10)
	r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/k", bytes.NewReader(body))
	r.Header.Set("Expect", "100-continue")
	signV4(t, r, sha(body), time.Now())
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := aud.waitCompletions(t, 1)
	if len(c) != 1 || c[0].Status != http.StatusOK || c[0].BytesIn != int64(len(body)) {
		t.Errorf("completions = %+v, want one with status 200", c)
	}
}

// TestAuditUnauthenticatedRefusalsBounded: anonymous refusals are
// compacted and, past the rate, counted instead of written; a signed
// request is still recorded in full.
func TestAuditUnauthenticatedRefusalsBounded(t *testing.T) {
	aud := &recordingAuditor{}
	proxy, _ := newProxy(t, func(o *Options) { o.Audit = aud; o.UnauthenticatedAuditRate = 1 })
	long := strings.Repeat("a", 3000)
	const n = 300
	for range n {
		r, _ := http.NewRequest(http.MethodGet, proxy+"/bucket1/"+long, nil)
		r.Header.Set("User-Agent", long)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	time.Sleep(100 * time.Millisecond)
	_, c := aud.snapshot()
	if len(c) == 0 || len(c) >= n {
		t.Fatalf("%d records of %d anonymous refusals, want some but fewer", len(c), n)
	}
	for _, ev := range c {
		if len(ev.UserAgent) > unauthFieldBytes || len(ev.URIs) > 1 || len(ev.URIs[0]) > unauthFieldBytes || !ev.Truncated {
			t.Fatalf("record not compacted: UA %d bytes, URIs %v", len(ev.UserAgent), len(ev.URIs))
		}
	}
	// The next one written says how many were left out.
	time.Sleep(1100 * time.Millisecond)
	r, _ := http.NewRequest(http.MethodGet, proxy+"/bucket1/k", nil)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c = aud.waitCompletions(t, len(c)+1)
	if last := c[len(c)-1]; !strings.Contains(last.Reason, "were not recorded") {
		t.Errorf("last record's reason %q does not count the left-out refusals", last.Reason)
	}
	// Signed requests are not limited.
	before := len(c)
	r, _ = http.NewRequest(http.MethodGet, proxy+"/bucket1/"+long, nil)
	r.Header.Set("User-Agent", long)
	signV4(t, r, sha(nil), time.Now())
	resp, err = http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c = aud.waitCompletions(t, before+1)
	if len(c) != before+1 || c[len(c)-1].UserAgent != long {
		t.Errorf("the signed request was not recorded in full")
	}
}

// TestAuditAllowlistRefusalAttributed: a signed request refused by the
// allowlist before it is classified is still recorded under its user.
func TestAuditAllowlistRefusalAttributed(t *testing.T) {
	aud := &recordingAuditor{}
	proxy, up := newProxy(t, func(o *Options) { o.Audit = aud })
	r, _ := http.NewRequest(http.MethodPut, proxy+"/bucket1/k?retention&uploadId=x", nil)
	signV4(t, r, sha(nil), time.Now())
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || up.count() != 0 {
		t.Fatalf("status %d, upstream saw %d", resp.StatusCode, up.count())
	}
	c := aud.waitCompletions(t, 1)
	if len(c) != 1 || c[0].User != clientKey || c[0].Decision != audit.DecisionDeny || !strings.Contains(c[0].Reason, "more than one operation") {
		t.Errorf("completions = %+v", c)
	}
}
