package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/upstream"
)

// formSeen is what the form upstream received.
type formSeen struct {
	fields        map[string]string // lower-cased names
	file          []byte
	header        http.Header
	contentLength int64
	err           error
}

// formUpstream plays S3 for POST Object: it parses the form with Go's
// multipart reader (as MinIO does), checks the policy signature with the
// system key (recomputed with minio-go's signer, independently of sigv4),
// verifies the policy as S3 would and records the file.
type formUpstream struct {
	mu   sync.Mutex
	seen []formSeen
}

func (u *formUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := formSeen{header: r.Header.Clone(), contentLength: r.ContentLength, fields: map[string]string{}}
	fail := func(status int, err error) {
		s.err = err
		u.record(s)
		http.Error(w, err.Error(), status)
	}
	if r.Header.Get("Authorization") != "" {
		fail(http.StatusBadRequest, fmt.Errorf("a POST form request carries an Authorization header"))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	var fields []sigv4.FormField
	for {
		p, err := mr.NextPart()
		if err != nil {
			fail(http.StatusBadRequest, fmt.Errorf("form: %w", err))
			return
		}
		v, err := io.ReadAll(p)
		if err != nil {
			fail(http.StatusBadRequest, fmt.Errorf("part %q: %w", p.FormName(), err))
			return
		}
		if p.FormName() == "file" {
			s.file = v
			break
		}
		fields = append(fields, sigv4.FormField{Name: p.FormName(), Value: string(v)})
		s.fields[strings.ToLower(p.FormName())] = string(v)
	}
	date, _ := time.Parse("20060102T150405Z", s.fields["x-amz-date"])
	if want := signer.PostPresignSignatureV4(s.fields["policy"], date, sysSecret, "us-east-1"); want != s.fields["x-amz-signature"] {
		fail(http.StatusForbidden, fmt.Errorf("policy signature is not the system key's"))
		return
	}
	v := sigv4.NewVerifier(sigv4.Options{Credentials: keys{sysKey: sysSecret}})
	_, pol, err := v.VerifyPostForm(r.Context(), &sigv4.PostForm{Bucket: strings.Trim(r.URL.Path, "/"), Fields: fields})
	if err == nil {
		err = pol.CheckFileSize(int64(len(s.file)), true)
	}
	if err != nil {
		fail(http.StatusForbidden, err)
		return
	}
	u.record(s)
	loc := "http://" + r.Host + r.URL.Path + "/" + url.PathEscape(s.fields["key"])
	w.Header().Set("Location", loc)
	w.Header().Set("ETag", `"etag-from-upstream"`)
	switch s.fields["success_action_status"] {
	case "201":
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "<PostResponse><Location>%s</Location><Bucket>bucket1</Bucket><Key>%s</Key><ETag>\"etag-from-upstream\"</ETag></PostResponse>", loc, s.fields["key"])
	case "200":
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (u *formUpstream) record(s formSeen) {
	u.mu.Lock()
	u.seen = append(u.seen, s)
	u.mu.Unlock()
}

func (u *formUpstream) snapshot() []formSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]formSeen(nil), u.seen...)
}

func newFormProxy(t *testing.T) (proxyURL string, up *formUpstream) {
	t.Helper()
	up = &formUpstream{}
	return startProxy(t, up), up
}

// clientForm is a browser upload built by minio-go's PresignedPostPolicy.
type clientForm struct {
	v2       bool
	secret   string // "" means the client's
	expires  time.Duration
	maxSize  int64
	status   string
	extra    [][2]string // fields outside the policy
	file     []byte
	afterEnd string // appended after the closing delimiter
}

func (c clientForm) request(t *testing.T, proxy string) *http.Request {
	t.Helper()
	secret := c.secret
	if secret == "" {
		secret = clientSecret
	}
	creds := miniocreds.NewStaticV4(clientKey, secret, "")
	if c.v2 {
		creds = miniocreds.NewStaticV2(clientKey, secret, "")
	}
	u, _ := url.Parse(proxy)
	mc, err := minio.New(u.Host, &minio.Options{Creds: creds, Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	p := minio.NewPostPolicy()
	if err := p.SetBucket("bucket1"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetKey("uploads/photo 1.bin"); err != nil {
		t.Fatal(err)
	}
	exp := c.expires
	if exp == 0 {
		exp = time.Hour
	}
	_ = p.SetExpires(time.Now().UTC().Add(exp))
	if c.maxSize > 0 {
		_ = p.SetContentLengthRange(1, c.maxSize)
	}
	if c.status != "" {
		_ = p.SetSuccessStatusAction(c.status)
	}
	_ = p.SetUserMetadata("team", "data")
	target, form, err := mc.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range form {
		_ = mw.WriteField(k, v)
	}
	for _, kv := range c.extra {
		_ = mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("file", "photo.bin")
	_, _ = fw.Write(c.file)
	_ = mw.Close()
	body.WriteString(c.afterEnd)
	r, err := http.NewRequest(http.MethodPost, target.String(), bytes.NewReader(body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

func randomBytes(n int) []byte {
	rnd := rand.New(rand.NewPCG(7, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.IntN(256))
	}
	return b
}

func TestPostFormResignedAndStreamed(t *testing.T) {
	proxy, up := newFormProxy(t)
	wantLocation := proxy + "/bucket1/uploads%2Fphoto%201.bin"
	tests := []struct {
		name   string
		form   clientForm
		status int
		check  func(t *testing.T, resp *http.Response, body []byte)
	}{
		{name: "sigv4 form, 5 MiB file", form: clientForm{file: randomBytes(5 << 20)}, status: http.StatusNoContent},
		{name: "sigv2 form becomes a sigv4 form", form: clientForm{v2: true, file: randomBytes(1000)}, status: http.StatusNoContent},
		{name: "empty file", form: clientForm{file: nil}, status: http.StatusNoContent},
		{name: "anything after the closing delimiter", form: clientForm{file: []byte("data"), afterEnd: "tail\r\n--junk"}, status: http.StatusNoContent},
		{name: "within content-length-range", form: clientForm{file: randomBytes(1000), maxSize: 1000}, status: http.StatusNoContent},
		{name: "ignored fields", form: clientForm{file: []byte("x"), extra: [][2]string{{"x-ignore-submit", "Upload"}}}, status: http.StatusNoContent},
		{
			name: "201 with the PostResponse Location rewritten", form: clientForm{file: []byte("x"), status: "201"}, status: http.StatusCreated,
			check: func(t *testing.T, _ *http.Response, body []byte) {
				var pr struct{ Location, Key string }
				if err := xml.Unmarshal(body, &pr); err != nil {
					t.Fatalf("body %q: %v", body, err)
				}
				if pr.Location != wantLocation || pr.Key != "uploads/photo 1.bin" {
					t.Errorf("PostResponse %+v, want Location %q", pr, wantLocation)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.snapshot())
			r := tc.form.request(t, proxy)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen := up.snapshot()
			if resp.StatusCode != tc.status {
				var last error
				if len(seen) > before {
					last = seen[len(seen)-1].err
				}
				t.Fatalf("status %d, want %d: %s (upstream: %v)", resp.StatusCode, tc.status, body, last)
			}
			if len(seen) != before+1 {
				t.Fatalf("upstream saw %d requests, want 1", len(seen)-before)
			}
			s := seen[len(seen)-1]
			if !bytes.Equal(s.file, tc.form.file) {
				t.Errorf("upstream file: %d bytes, want %d identical", len(s.file), len(tc.form.file))
			}
			if got := resp.Header.Get("Location"); got != wantLocation {
				t.Errorf("Location %q, want %q", got, wantLocation)
			}
			if !strings.HasPrefix(s.fields["x-amz-credential"], sysKey+"/") || s.fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256" {
				t.Errorf("upstream form not signed by the system key: %q", s.fields)
			}
			for name, v := range s.fields {
				if strings.Contains(v, clientKey) || name == "awsaccesskeyid" || name == "signature" {
					t.Errorf("client credentials reached the upstream in %q", name)
				}
			}
			doc, _ := base64.StdEncoding.DecodeString(s.fields["policy"])
			if strings.Contains(string(doc), clientKey) || !strings.Contains(string(doc), `"$x-amz-meta-team"`) {
				t.Errorf("re-issued policy %s", doc)
			}
			if s.fields["x-amz-meta-team"] != "data" || s.fields["key"] != "uploads/photo 1.bin" {
				t.Errorf("form fields lost: %q", s.fields)
			}
			if tc.check != nil {
				tc.check(t, resp, body)
			}
		})
	}
}

func TestPostFormRefused(t *testing.T) {
	proxy, up := newFormProxy(t)
	bigField := strings.Repeat("x", upstream.MaxPostFieldBytes)
	tests := []struct {
		name string
		form clientForm
		mod  func(r *http.Request)
		code string
		// reached is set when the upstream request starts (the file is
		// checked as it streams) but must not complete.
		reached bool
	}{
		{name: "signed with another secret", form: clientForm{secret: "not-the-secret"}, code: "SignatureDoesNotMatch"},
		{name: "sigv2 signed with another secret", form: clientForm{v2: true, secret: "not-the-secret"}, code: "SignatureDoesNotMatch"},
		{name: "policy expired", form: clientForm{expires: -time.Minute}, code: "AccessDenied"},
		{name: "field outside the policy", form: clientForm{extra: [][2]string{{"x-amz-meta-owner", "eve"}}}, code: "AccessDenied"},
		{name: "fields before the file over 1 MiB", form: clientForm{extra: [][2]string{{"x-ignore-pad", bigField}}}, code: "MaxPostPreDataLengthExceeded"},
		{name: "file over content-length-range", form: clientForm{file: randomBytes(3 << 20), maxSize: 1 << 20}, code: "EntityTooLarge", reached: true},
		{
			name: "a part after the file", form: clientForm{file: []byte("data")}, code: "InvalidArgument", reached: true,
			mod: func(r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				_, params, _ := strings.Cut(r.Header.Get("Content-Type"), "boundary=")
				end := []byte("\r\n--" + params + "--\r\n")
				b = bytes.Replace(b, end, []byte("\r\n--"+params+"\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nelsewhere"+string(end)), 1)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			},
		},
		{
			name: "anonymous form", form: clientForm{file: []byte("data")}, code: "AccessDenied",
			mod: func(r *http.Request) {
				var b bytes.Buffer
				mw := multipart.NewWriter(&b)
				_ = mw.WriteField("key", "k")
				fw, _ := mw.CreateFormFile("file", "f")
				_, _ = fw.Write([]byte("data"))
				_ = mw.Close()
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b.Bytes())), int64(b.Len())
				r.Header.Set("Content-Type", mw.FormDataContentType())
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := up.snapshot()
			// A fresh connection per attempt: a refused form leaves its
			// connection unusable. The proxy may answer before the client
			// has sent the whole form and close, so that the client's
			// write fails with a reset before it reads the answer; that
			// race is the client's, and the attempt is repeated.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			var resp *http.Response
			for attempt := 1; ; attempt++ {
				r := tc.form.request(t, proxy)
				if tc.mod != nil {
					tc.mod(r)
				}
				var err error
				resp, err = client.Do(r)
				if err == nil {
					break
				}
				if attempt == 5 || !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
					t.Fatal(err)
				}
			}
			defer resp.Body.Close()
			if code := errorCode(t, resp); code != tc.code {
				t.Errorf("code %s, want %s", code, tc.code)
			}
			if tc.reached {
				// The upstream handler finishes after the proxy answered.
				for deadline := time.Now().Add(5 * time.Second); len(up.snapshot()) == len(before) && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
			}
			seen := up.snapshot()[len(before):]
			if !tc.reached && len(seen) > 0 {
				t.Errorf("the upstream saw a refused form")
			}
			for _, s := range seen {
				if s.err == nil {
					t.Errorf("the upstream accepted a refused form (%d file bytes)", len(s.file))
				}
			}
		})
	}
}

// TestPostFormContentLength checks that the upstream request has an exact
// Content-Length and no chunked encoding.
func TestPostFormContentLength(t *testing.T) {
	var gotLen int64
	var gotTE []string
	us := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n != r.ContentLength {
			gotLen = -n
		} else {
			gotLen = n
		}
		gotTE = r.TransferEncoding
		w.WriteHeader(http.StatusNoContent)
	}))
	defer us.Close()
	client, _ := upstream.New(upstream.Options{
		Default:     upstream.Target{Endpoint: us.URL, Region: "us-east-1", PathStyle: true},
		Credentials: credentials.NewStaticCredentialsProvider(sysKey, sysSecret, ""),
	})
	h, err := New(Options{
		Verifier:   sigv4.NewVerifier(sigv4.Options{Credentials: keys{clientKey: clientSecret}}),
		Upstream:   client,
		Authorizer: newEngine(t, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(h)
	defer ps.Close()
	resp, err := http.DefaultClient.Do(clientForm{file: randomBytes(123457)}.request(t, ps.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || gotLen <= 123457 || len(gotTE) != 0 {
		t.Errorf("status %d, upstream body %d bytes (negative: differs from Content-Length), transfer encoding %v",
			resp.StatusCode, gotLen, gotTE)
	}
}
