package upstream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/upstream"
)

func TestRefreshWindow(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want time.Duration
	}{
		{"AWS minimum", 15 * time.Minute, 225 * time.Second},
		{"one hour is capped", time.Hour, 5 * time.Minute},
		{"twelve hours", 12 * time.Hour, 5 * time.Minute},
		{"short test session", 20 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstream.RefreshWindow(tt.d); got != tt.want {
				t.Errorf("RefreshWindow(%s) = %s, want %s", tt.d, got, tt.want)
			}
		})
	}
}

func TestOptionsCredentialsOrSource(t *testing.T) {
	static := credentials.NewStaticCredentialsProvider("AKIDAKIDAKIDAKID", "secret", "")
	tests := []struct {
		name    string
		opts    upstream.Options
		wantErr string
	}{
		{name: "neither", wantErr: "credentials are required"},
		{name: "both", opts: upstream.Options{Credentials: static, Source: upstream.ProviderSource(static)}, wantErr: "not both"},
		{name: "credentials", opts: upstream.Options{Credentials: static}},
		{name: "source", opts: upstream.Options{Source: upstream.ProviderSource(static)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Transport = http.DefaultTransport
			c, err := upstream.New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New: %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			creds, err := c.Credentials(context.Background(), "any-bucket")
			if err != nil || creds.AccessKeyID != "AKIDAKIDAKIDAKID" {
				t.Errorf("Credentials = %+v, %v", creds, err)
			}
		})
	}
}

// sourceFunc adapts a function to upstream.CredentialSource.
type sourceFunc func(ctx context.Context, bucket string) (aws.Credentials, error)

func (f sourceFunc) Credentials(ctx context.Context, bucket string) (aws.Credentials, error) {
	return f(ctx, bucket)
}

func TestClientRefusesUnusableCredentials(t *testing.T) {
	tests := []struct {
		name    string
		creds   aws.Credentials
		wantErr string
	}{
		{"no keys", aws.Credentials{}, "no keys"},
		{"expired", aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S", CanExpire: true, Expires: time.Now().Add(-time.Second)}, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int64
			us := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
			defer us.Close()
			c, err := upstream.New(upstream.Options{
				Default: upstream.Target{Endpoint: us.URL, PathStyle: true},
				Source:  sourceFunc(func(context.Context, string) (aws.Credentials, error) { return tt.creds, nil }),
			})
			if err != nil {
				t.Fatal(err)
			}
			status, _, err := forward(c, http.MethodGet, "b", "k", nil)
			var ce *upstream.CredentialsError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Forward: status %d, err %v; want a CredentialsError mentioning %q", status, err, tt.wantErr)
			}
			if hits.Load() != 0 {
				t.Error("a request reached the upstream")
			}
		})
	}
}

// TestRoleCredentialsFailClosed: a bucket whose role cannot be assumed gets
// an error and nothing is sent, never the base credentials; buckets without
// a role (and no default role) get the base credentials.
func TestRoleCredentialsFailClosed(t *testing.T) {
	var stsCalls atomic.Int64
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stsCalls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
	}))
	defer deny.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	var s3Hits atomic.Int64
	us := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { s3Hits.Add(1) }))
	defer us.Close()

	base := credentials.NewStaticCredentialsProvider("AKIDBASEBASEBASE", "base-secret", "")
	for _, tt := range []struct{ name, endpoint, want string }{
		{"STS denies", deny.URL, "AccessDenied"},
		{"STS unreachable", closedURL, "connect"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := upstream.NewRoleCredentials(context.Background(), upstream.RoleOptions{
				Base:        base,
				BucketRoles: map[string]string{"locked": "arn:aws:iam::123456789012:role/locked"},
				STSEndpoint: tt.endpoint,
			})
			if err != nil {
				t.Fatal(err)
			}
			c, err := upstream.New(upstream.Options{Default: upstream.Target{Endpoint: us.URL, PathStyle: true}, Source: src})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = forward(c, http.MethodPut, "locked", "k", []byte("x"))
			var ce *upstream.CredentialsError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Forward to a bucket whose role fails: %v; want a CredentialsError mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "base-secret") {
				t.Error("the error shows the base secret")
			}
			if s3Hits.Load() != 0 {
				t.Fatal("a request reached the upstream")
			}
			creds, err := c.Credentials(context.Background(), "open")
			if err != nil || creds.AccessKeyID != "AKIDBASEBASEBASE" {
				t.Errorf("bucket without a role: %+v, %v; want the base key", creds, err)
			}
			if got := src.RoleARN("open"); got != "" {
				t.Errorf("RoleARN(open) = %q, want none", got)
			}
		})
	}
	if stsCalls.Load() == 0 {
		t.Error("STS was never called")
	}
}

// forward sends one request through c.Forward as an authorized call whose
// body is protected by its SHA-256, and returns the upstream status, body
// and the error given to onError.
func forward(c *upstream.Client, method, bucket, key string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	in := httptest.NewRequest(method, "http://proxy.test/"+bucket+"/"+key, rd)
	sum := sha256.Sum256(body)
	call := upstream.Call{Bucket: bucket, Key: key, Operation: method + "Object",
		Auth: &sigv4.Result{Payload: sigv4.PayloadSHA256, ContentSHA256: hex.EncodeToString(sum[:]), DecodedContentLength: -1}}
	rec := httptest.NewRecorder()
	var ferr error
	c.Forward(rec, in, call, func(w http.ResponseWriter, _ *http.Request, err error) {
		ferr = err
		w.WriteHeader(http.StatusBadGateway)
	})
	return rec.Code, rec.Body.Bytes(), ferr
}

// TestRoleCredentialsCABundle: STS over HTTPS with a certificate trusted
// only through AWS_CA_BUNDLE, reached through an explicit sts_endpoint and
// through AWS_ENDPOINT_URL_STS. The SDK must not be left to load the bundle
// into our HTTP client (it fails: "unable to add custom RootCAs").
func TestRoleCredentialsCABundle(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []url.Values
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		seen = append(seen, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIATESTTESTTEST</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/lakegate</Arn><AssumedRoleId>AROATEST:lakegate</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemCert, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))

	base := credentials.NewStaticCredentialsProvider("AKIDBASEBASEBASE", "base-secret", "")
	for _, tt := range []struct {
		name, endpoint, env string
	}{
		{name: "sts_endpoint", endpoint: srv.URL},
		{name: "AWS_ENDPOINT_URL_STS", env: srv.URL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("AWS_ENDPOINT_URL_STS", tt.env)
			}
			src, err := upstream.NewRoleCredentials(context.Background(), upstream.RoleOptions{
				Base: base, DefaultRoleARN: "arn:aws:iam::123456789012:role/r", STSEndpoint: tt.endpoint,
				SessionDuration: 15 * time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			creds, err := src.Credentials(context.Background(), "any")
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID != "ASIATESTTESTTEST" || creds.SessionToken != "tok" {
				t.Errorf("credentials %+v", creds)
			}
			mu.Lock()
			last := seen[len(seen)-1]
			mu.Unlock()
			want := url.Values{"Action": {"AssumeRole"}, "RoleArn": {"arn:aws:iam::123456789012:role/r"},
				"RoleSessionName": {"lakegate"}, "DurationSeconds": {"900"}}
			for k, v := range want {
				if last.Get(k) != v[0] {
					t.Errorf("AssumeRole %s = %q, want %q", k, last.Get(k), v[0])
				}
			}
		})
	}
}
