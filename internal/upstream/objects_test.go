package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lakegate/lakegate/internal/lakefixture"
	"github.com/lakegate/lakegate/internal/upstream"
)

// TestObjectsAgainstMinIO reads objects on the proxy's own behalf from a
// real MinIO: HEAD, ranged GETs, a ReaderAt, and the error kinds of a
// missing key, a missing bucket and refused keys.
func TestObjectsAgainstMinIO(t *testing.T) {
	ctx := context.Background()
	c, mc, m := lakefixture.StartMinIO(t, "data")
	body := make([]byte, 1000)
	for i := range body {
		body[i] = byte(i % 251)
	}
	const key = "dir/a b+c%d.bin" // escaping: space, plus, percent
	before := time.Now().Add(-time.Minute)
	up := lakefixture.Put(t, mc, "data", key, body)

	info, err := c.Stat(ctx, "data", key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 1000 || strings.Trim(info.ETag, `"`) != up.ETag || info.LastModified.Before(before) {
		t.Errorf("Stat = %+v, want size 1000, ETag %q, modified after %s", info, up.ETag, before)
	}

	for _, tc := range []struct {
		name   string
		off, n int64
		want   []byte
	}{
		{name: "middle", off: 10, n: 5, want: body[10:15]},
		{name: "whole", off: 0, n: 1000, want: body},
		{name: "past the end", off: 990, n: 100, want: body[990:]},
	} {
		t.Run("GetRange/"+tc.name, func(t *testing.T) {
			rc, err := c.GetRange(ctx, "data", key, tc.off, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("read %d bytes (%v), want %d", len(got), err, len(tc.want))
			}
		})
	}
	if _, err := c.GetRange(ctx, "data", key, 1000, 10); !isKind(err, upstream.KindOther) || err.(*upstream.ObjectError).Code != "InvalidRange" {
		t.Errorf("range beyond the end: %v, want InvalidRange", err)
	}

	ra := c.NewReaderAt(ctx, "data", key, info.Size)
	buf := make([]byte, 100)
	if n, err := ra.ReadAt(buf, 500); n != 100 || err != nil || !bytes.Equal(buf, body[500:600]) {
		t.Errorf("ReadAt(100 at 500) = %d, %v", n, err)
	}
	if n, err := ra.ReadAt(buf, 950); n != 50 || err != io.EOF || !bytes.Equal(buf[:50], body[950:]) {
		t.Errorf("ReadAt(100 at 950) = %d, %v; want 50, EOF", n, err)
	}
	if n, err := ra.ReadAt(buf, 1000); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v; want 0, EOF", n, err)
	}
	// An object shorter than the size given (it changed since the Stat).
	if _, err := c.NewReaderAt(ctx, "data", key, 2000).ReadAt(buf, 950); !isKind(err, upstream.KindUnavailable) {
		t.Errorf("ReadAt past a shrunk object: %v, want unavailable", err)
	}

	if _, err := c.Stat(ctx, "data", "dir/missing"); !errors.Is(err, upstream.ErrNotFound) {
		t.Errorf("Stat missing key: %v, want ErrNotFound", err)
	}
	if _, err := c.GetRange(ctx, "data", "dir/missing", 0, 1); !errors.Is(err, upstream.ErrNotFound) {
		t.Errorf("GetRange missing key: %v, want ErrNotFound", err)
	}
	if _, err := c.Stat(ctx, "nobucket", "k"); !errors.Is(err, upstream.ErrNotFound) {
		t.Errorf("Stat missing bucket: %v, want ErrNotFound", err)
	}
	if err := c.ListObjects(ctx, "nobucket", "", "", func(upstream.Entry) error { return nil }); !errors.Is(err, upstream.ErrNotFound) {
		t.Errorf("list missing bucket: %v, want ErrNotFound", err)
	}

	bad, err := upstream.New(upstream.Options{
		Default:     upstream.Target{Endpoint: m.Endpoint, PathStyle: true},
		Credentials: credentials.NewStaticCredentialsProvider(m.AccessKey, "wrong-secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Stat(ctx, "data", key); !errors.Is(err, upstream.ErrCredentials) {
		t.Errorf("Stat with a wrong secret: %v, want ErrCredentials", err)
	}
	if _, err := bad.GetRange(ctx, "data", key, 0, 1); !errors.Is(err, upstream.ErrCredentials) {
		t.Errorf("GetRange with a wrong secret: %v, want ErrCredentials", err)
	} else if strings.Contains(err.Error(), m.AccessKey) || strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error names the upstream or its key: %v", err)
	}
}

// TestListAgainstMinIO pages a listing of more than one page (MinIO sends
// 1,000 keys a page) through continuation tokens, merges objects and
// prefixes in key order, and stops at the bound.
func TestListAgainstMinIO(t *testing.T) {
	ctx := context.Background()
	c, mc, _ := lakefixture.StartMinIO(t, "lake")
	const n = 1003
	var wg sync.WaitGroup
	keys := make(chan string)
	for range 8 {
		wg.Go(func() {
			for k := range keys {
				lakefixture.Put(t, mc, "lake", k, []byte("x"))
			}
		})
	}
	for i := range n {
		keys <- fmt.Sprintf("t/flat/f%04d", i)
	}
	for _, k := range []string{"t/year=2024/a", "t/year=2025/b", "t/a.txt", "t/z.txt", "t/sp ace=1/c", "t/pct%2F=1/d"} {
		keys <- k
	}
	close(keys)
	wg.Wait()

	got := 0
	prev := ""
	err := c.ListObjects(ctx, "lake", "t/flat/", "", func(e upstream.Entry) error {
		if e.IsPrefix || e.Size != 1 || e.Key <= prev || e.LastModified.IsZero() {
			t.Errorf("entry %+v after %q", e, prev)
		}
		prev = e.Key
		got++
		return nil
	})
	if err != nil || got != n {
		t.Fatalf("listed %d keys (%v), want %d", got, err, n)
	}
	var le *upstream.ListLimitError
	if err := c.ListObjectsMax(ctx, "lake", "t/flat/", "", n-1, func(upstream.Entry) error { return nil }); !errors.As(err, &le) || le.Max != n-1 {
		t.Errorf("bounded listing: %v, want a ListLimitError", err)
	}
	stop := errors.New("stop")
	if err := c.ListObjects(ctx, "lake", "t/flat/", "", func(upstream.Entry) error { return stop }); err != stop {
		t.Errorf("fn's error: %v", err)
	}

	var all []string
	if err := c.ListObjects(ctx, "lake", "t/", "/", func(e upstream.Entry) error {
		all = append(all, fmt.Sprintf("%s %v", e.Key, e.IsPrefix))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"t/a.txt false", "t/flat/ true", "t/pct%2F=1/ true", "t/sp ace=1/ true", "t/year=2024/ true", "t/year=2025/ true", "t/z.txt false"}
	if strings.Join(all, "|") != strings.Join(want, "|") {
		t.Errorf("listing with delimiter:\n got %q\nwant %q", all, want)
	}
	var prefixes []string
	if err := c.ListPrefixes(ctx, "lake", "t/", func(p string) error { prefixes = append(prefixes, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(prefixes, "|") != "t/flat/|t/pct%2F=1/|t/sp ace=1/|t/year=2024/|t/year=2025/" {
		t.Errorf("ListPrefixes = %q", prefixes)
	}
}

func isKind(err error, k upstream.ObjectKind) bool {
	var oe *upstream.ObjectError
	return errors.As(err, &oe) && oe.Kind == k
}

// TestObjectErrorKinds: each upstream answer maps to its kind, and the
// sentinels match with errors.Is.
func TestObjectErrorKinds(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"denied":    {403, `<Error><Code>AccessDenied</Code><Message>arn:aws:iam::1:user/x</Message></Error>`},
		"badsig":    {403, `<Error><Code>SignatureDoesNotMatch</Code></Error>`},
		"expired":   {400, `<Error><Code>ExpiredToken</Code></Error>`},
		"nokey":     {404, `<Error><Code>NoSuchKey</Code></Error>`},
		"broken":    {500, `<Error><Code>InternalError</Code></Error>`},
		"slow":      {503, `<Error><Code>SlowDown</Code></Error>`},
		"bad":       {400, `<Error><Code>InvalidArgument</Code></Error>`},
		"norange":   {200, `whole object`},
		"badrange":  {206, `abc`},
		"truncated": {200, `<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key></Contents></ListBucketResult>`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		a := answers[bucket]
		if bucket == "badrange" {
			w.Header().Set("Content-Range", "bytes 0-2/3")
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	defer srv.Close()
	c, err := upstream.New(upstream.Options{
		Default:     upstream.Target{Endpoint: srv.URL, PathStyle: true},
		Credentials: credentials.NewStaticCredentialsProvider("SYSKEY", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		call     func() error
		kind     upstream.ObjectKind
		sentinel error
	}{
		{name: "access denied", call: func() error { _, err := c.GetRange(ctx, "denied", "k", 0, 1); return err }, kind: upstream.KindAccessDenied, sentinel: upstream.ErrAccessDenied},
		{name: "bad signature", call: func() error { _, err := c.GetRange(ctx, "badsig", "k", 0, 1); return err }, kind: upstream.KindCredentials, sentinel: upstream.ErrCredentials},
		{name: "expired token", call: func() error {
			return c.ListObjects(ctx, "expired", "p/", "/", func(upstream.Entry) error { return nil })
		}, kind: upstream.KindCredentials, sentinel: upstream.ErrCredentials},
		{name: "no such key", call: func() error { _, err := c.GetRange(ctx, "nokey", "k", 0, 1); return err }, kind: upstream.KindNotFound, sentinel: upstream.ErrNotFound},
		{name: "5xx", call: func() error { _, err := c.Stat(ctx, "broken", "k"); return err }, kind: upstream.KindUnavailable, sentinel: upstream.ErrUnavailable},
		{name: "slow down", call: func() error { _, err := c.GetRange(ctx, "slow", "k", 0, 1); return err }, kind: upstream.KindUnavailable, sentinel: upstream.ErrUnavailable},
		{name: "other", call: func() error { _, err := c.GetRange(ctx, "bad", "k", 0, 1); return err }, kind: upstream.KindOther},
		{name: "range ignored", call: func() error { _, err := c.GetRange(ctx, "norange", "k", 5, 1); return err }, kind: upstream.KindOther},
		{name: "wrong range", call: func() error { _, err := c.GetRange(ctx, "badrange", "k", 1, 1); return err }, kind: upstream.KindOther},
		// Refused before sending: the upstream would answer NoSuchKey.
		{name: "dot-dot key", call: func() error { _, err := c.Stat(ctx, "nokey", "a/../k"); return err }, kind: upstream.KindOther},
		{name: "dot key", call: func() error { _, err := c.GetRange(ctx, "nokey", "./k", 0, 1); return err }, kind: upstream.KindOther},
		{name: "invalid range", call: func() error { _, err := c.GetRange(ctx, "bad", "k", -1, 1); return err }, kind: upstream.KindOther},
		{name: "truncated without token", call: func() error {
			return c.ListObjects(ctx, "truncated", "", "", func(upstream.Entry) error { return nil })
		}, kind: upstream.KindOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !isKind(err, tc.kind) {
				t.Fatalf("%v, want kind %s", err, tc.kind)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("%v is not %v", err, tc.sentinel)
			}
			if strings.Contains(err.Error(), "arn:") || strings.Contains(err.Error(), "SYSKEY") {
				t.Errorf("error names the upstream's identity: %v", err)
			}
		})
	}
	// A range the server ignored is still usable from the object's start,
	// cut to the length asked.
	rc, err := c.GetRange(ctx, "norange", "k", 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); string(b) != "whole" {
		t.Errorf("ignored range from 0 read %q", b)
	}
	_ = rc.Close()

	srv.Close()
	if _, err := c.Stat(ctx, "data", "k"); !errors.Is(err, upstream.ErrUnavailable) {
		t.Errorf("upstream gone: %v, want ErrUnavailable", err)
	} else if fe := (*upstream.ForwardError)(nil); !errors.As(err, &fe) || strings.Contains(err.Error(), strings.TrimPrefix(srv.URL, "http://")) {
		t.Errorf("upstream gone: %v names the upstream's address, or does not wrap the ForwardError", err)
	}
	failing, err := upstream.New(upstream.Options{Default: upstream.Target{Endpoint: srv.URL, PathStyle: true},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no role")
		})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := failing.Stat(ctx, "data", "k"); !errors.Is(err, upstream.ErrCredentials) || strings.Contains(err.Error(), "no role") {
		t.Errorf("credential source failing: %v, want ErrCredentials without the source's message", err)
	}
}
