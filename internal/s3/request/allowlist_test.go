package request

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/lakegate/lakegate/internal/s3/s3err"
)

// rowRequest builds the request one allowlist row describes, with every
// selector, required and optional parameter, and every header of the row
// (a concrete name for each prefix).
func rowRequest(s *opSpec) *http.Request {
	target := "/"
	switch s.level {
	case levelBucket:
		target = "/bk1"
	case levelObject:
		target = "/bk1/dir/k"
	}
	q := url.Values{}
	for name, v := range s.selectors {
		q.Set(name, v)
	}
	for _, name := range slices.Concat(s.required, s.params) {
		q.Set(name, "1")
	}
	r := httptest.NewRequest(s.method, target+"?"+q.Encode(), nil)
	for _, h := range s.headers {
		r.Header.Set(concreteHeader(h.name), "v")
	}
	if s.copy == copyRequired {
		r.Header.Set("X-Amz-Copy-Source", "/b2/src")
	}
	return r
}

func concreteHeader(rule string) string {
	if p, ok := strings.CutSuffix(rule, "*"); ok {
		return p + "x"
	}
	return rule
}

func wantCode(t *testing.T, err error, codes ...string) {
	t.Helper()
	var e *s3err.Error
	if !errors.As(err, &e) || !slices.Contains(codes, e.Code) {
		t.Fatalf("err = %v, want one of %v", err, codes)
	}
}

// TestAllowlistRows iterates over the allowlist: each row's own request is
// read as its operation, with exactly the BucketAll headers recorded;
// adding anything the row does not list is refused.
func TestAllowlistRows(t *testing.T) {
	for i := range operationSpecs {
		s := &operationSpecs[i]
		t.Run(string(s.op), func(t *testing.T) {
			if a := s.op.Access(); a.Scope == ScopeDenied {
				t.Fatalf("%s has no access rule", s.op)
			}
			got, err := Parse(rowRequest(s), nil)
			if err != nil {
				t.Fatalf("the row's own request: %v", err)
			}
			if got.Operation != s.op {
				t.Fatalf("parsed as %s", got.Operation)
			}
			var wantAll []string
			for _, h := range s.headers {
				if h.need == BucketAll {
					wantAll = append(wantAll, concreteHeader(h.name))
				}
			}
			slices.Sort(wantAll)
			gotAll := slices.Sorted(slices.Values(got.BucketAll))
			if !slices.Equal(gotAll, wantAll) {
				t.Errorf("BucketAll = %v, want %v", gotAll, wantAll)
			}
			for name := range got.Query {
				if !ForwardQueryParam(s.op, name) {
					t.Errorf("accepted parameter %q is not forwarded", name)
				}
			}

			t.Run("unknown parameter", func(t *testing.T) {
				r := rowRequest(s)
				r.URL.RawQuery += "&lakegate-unknown=1"
				_, err := Parse(r, nil)
				wantCode(t, err, "NotImplemented")
			})
			t.Run("unknown x-amz header", func(t *testing.T) {
				r := rowRequest(s)
				r.Header.Set("X-Amz-Lakegate-Unknown", "1")
				_, err := Parse(r, nil)
				wantCode(t, err, "NotImplemented")
			})
			t.Run("unknown vendor headers", func(t *testing.T) {
				for _, h := range []string{"X-Minio-Extract", "X-Minio-Force-Delete", "X-Rgw-Object-Type"} {
					r := rowRequest(s)
					r.Header.Set(h, "true")
					_, err := Parse(r, nil)
					wantCode(t, err, "NotImplemented")
				}
			})
			t.Run("a second sub-resource", func(t *testing.T) {
				for p := range selectorParams {
					if hasKey(s.selectors, p) {
						continue
					}
					r := rowRequest(s)
					r.URL.RawQuery += "&" + url.QueryEscape(p) + "="
					// A row with a sub-resource and another one is
					// refused; a row without one must not stay itself.
					got, err := Parse(r, nil)
					if err == nil && (len(s.selectors) > 0 || got.Operation == s.op) {
						t.Errorf("?%s added: accepted as %s", p, got.Operation)
					}
				}
			})
			t.Run("duplicated header", func(t *testing.T) {
				for _, h := range s.headers {
					name := concreteHeader(h.name)
					r := rowRequest(s)
					r.Header.Add(name, "w")
					_, err := Parse(r, nil)
					if repeatable(name) {
						if err != nil {
							t.Errorf("%s repeated: %v", name, err)
						}
						continue
					}
					wantCode(t, err, "InvalidArgument")
				}
			})
		})
	}
}

// TestAllowlistUnambiguous: no two rows can match one request.
func TestAllowlistUnambiguous(t *testing.T) {
	key := func(s *opSpec) string {
		sel := make([]string, 0, len(s.selectors))
		for k, v := range s.selectors {
			sel = append(sel, k+"="+v)
		}
		slices.Sort(sel)
		return s.method + " " + string(rune('0'+s.level)) + " " + strings.Join(sel, "&") + " " + string(rune('0'+s.copy))
	}
	seen := map[string]Operation{}
	for i := range operationSpecs {
		k := key(&operationSpecs[i])
		if prev, ok := seen[k]; ok {
			t.Errorf("%s and %s both match %q", prev, operationSpecs[i].op, k)
		}
		seen[k] = operationSpecs[i].op
		for p := range operationSpecs[i].selectors {
			if !selectorParams[p] {
				t.Errorf("%s selects on %q, which is not a selector", operationSpecs[i].op, p)
			}
		}
	}
}

// TestSemanticsChangingHeaders: the headers the issue found authorized as
// plain INSERT or DELETE now need ALL on the bucket.
func TestSemanticsChangingHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, header string
		op                           Operation
	}{
		{"lock mode on put", "PUT", "/bk1/k", "X-Amz-Object-Lock-Mode", "PutObject"},
		{"lock date on put", "PUT", "/bk1/k", "X-Amz-Object-Lock-Retain-Until-Date", "PutObject"},
		{"legal hold on multipart", "POST", "/bk1/k?uploads", "X-Amz-Object-Lock-Legal-Hold", "CreateMultipartUpload"},
		{"governance bypass on delete", "DELETE", "/bk1/k", "X-Amz-Bypass-Governance-Retention", "DeleteObject"},
		{"governance bypass on multi delete", "POST", "/bk1?delete", "X-Amz-Bypass-Governance-Retention", "DeleteObjects"},
		{"mfa on delete", "DELETE", "/bk1/k?versionId=v", "X-Amz-Mfa", "DeleteObject"},
		{"acl on put", "PUT", "/bk1/k", "X-Amz-Acl", "PutObject"},
		{"kms key on put", "PUT", "/bk1/k", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "PutObject"},
		{"grant on copy", "PUT", "/bk1/k", "X-Amz-Grant-Full-Control", "CopyObject"},
		{"snowball auto extract", "PUT", "/bk1/public/bundle.tar", "X-Amz-Meta-Snowball-Auto-Extract", "PutObject"},
		{"snowball prefix", "PUT", "/bk1/public/bundle.tar", "X-Amz-Meta-Minio-Snowball-Prefix", "PutObject"},
		{"hoisted acl on presigned put", "PUT", "/bk1/k?x-amz-acl=public-read", "", "PutObject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.header != "" {
				r.Header.Set(tc.header, "v")
			}
			if tc.op == "CopyObject" {
				r.Header.Set("X-Amz-Copy-Source", "/b2/src")
			}
			got, err := Parse(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Operation != tc.op || len(got.BucketAll) != 1 {
				t.Errorf("op %s, BucketAll %v; want %s with one header needing ALL", got.Operation, got.BucketAll, tc.op)
			}
		})
	}
	// Canned ACLs that grant only the bucket's owner stay INSERT.
	for _, v := range []string{"private", "bucket-owner-full-control"} {
		r := httptest.NewRequest("PUT", "/bk1/k", nil)
		r.Header.Set("X-Amz-Acl", v)
		got, err := Parse(r, nil)
		if err != nil || len(got.BucketAll) != 0 {
			t.Errorf("x-amz-acl: %s: %v, BucketAll %v", v, err, got.BucketAll)
		}
		if need, _ := FormField("acl", v); need != Covered {
			t.Errorf("form acl %s needs %v", v, need)
		}
	}
	// Hoisted headers are named, for the gateway to hold them to SigV4.
	hr := httptest.NewRequest("PUT", "/bk1/k?x-amz-meta-a=1&x-amz-tagging=a%3Db", nil)
	if got, err := Parse(hr, nil); err != nil || len(got.Hoisted) != 2 {
		t.Errorf("hoisted: %v, %v", err, got.Hoisted)
	}
	// Repeated snowball headers are still refused.
	r0 := httptest.NewRequest("PUT", "/bk1/k", nil)
	r0.Header["X-Amz-Meta-Snowball-Auto-Extract"] = []string{"true", "false"}
	_, err0 := Parse(r0, nil)
	wantCode(t, err0, "InvalidArgument")
	// Plain metadata stays INSERT.
	r := httptest.NewRequest("PUT", "/bk1/k", nil)
	r.Header.Set("X-Amz-Meta-Owner", "me")
	got, err := Parse(r, nil)
	if err != nil || len(got.BucketAll) != 0 {
		t.Errorf("x-amz-meta-owner: %v, BucketAll %v", err, got.BucketAll)
	}
}

func TestFormField(t *testing.T) {
	for _, tc := range []struct {
		name string
		need Need
		ok   bool
	}{
		{"key", Covered, true},
		{"Content-Type", Covered, true},
		{"x-amz-meta-owner", Covered, true},
		{"X-Amz-Server-Side-Encryption", Covered, true},
		{"x-amz-credential", Covered, true},
		{"acl", BucketAll, true},
		{"x-amz-server-side-encryption-aws-kms-key-id", BucketAll, true},
		{"x-amz-object-lock-mode", BucketAll, true},
		{"x-amz-meta-snowball-auto-extract", BucketAll, true},
		{"x-amz-grant-read", BucketAll, true},
		{"x-amz-bypass-governance-retention", 0, false},
		{"x-minio-extract", 0, false},
		{"frobnicate", 0, false},
	} {
		need, ok := FormField(tc.name, "public-read")
		if need != tc.need || ok != tc.ok {
			t.Errorf("FormField(%q) = %v, %v; want %v, %v", tc.name, need, ok, tc.need, tc.ok)
		}
	}
}

func TestForwardHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"Content-Type": true, "Range": true, "If-None-Match": true, "X-Amz-Meta-A": true,
		"User-Agent": false, "X-Forwarded-For": false, "Amz-Sdk-Invocation-Id": false, "Authorization": false,
		"Cookie": false, "Traceparent": false,
	} {
		if got := ForwardHeader(name); got != want {
			t.Errorf("ForwardHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
