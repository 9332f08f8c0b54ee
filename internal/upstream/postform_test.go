package upstream

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lakegate/lakegate/internal/s3/s3err"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
)

const testBoundary = "b0undary"

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	var e *s3err.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "technical: " + err.Error()
}

func formRequest(body string, contentLength int64) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/bucket", strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+testBoundary)
	r.ContentLength = contentLength
	return r
}

// part renders one part as browsers do.
func part(disposition, value string) string {
	return "--" + testBoundary + "\r\nContent-Disposition: form-data; " + disposition + "\r\n\r\n" + value + "\r\n"
}

const fileHead = "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n"
const closing = "\r\n--" + testBoundary + "--\r\n"

// fileHeadNamed is fileHead for a file called name.
func fileHeadNamed(name string) string {
	return strings.Replace(fileHead, `filename="a.txt"`, `filename="`+name+`"`, 1)
}

func TestReadPostForm(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		length   int64 // 0 means len(body)
		ctype    string
		fields   []sigv4.FormField
		fileName string
		key      string
		code     string
		budget   int // ReadPostForm's maxBytes; 0: the default
	}{
		{
			name:     "fields then file",
			body:     part(`name="key"`, "dir/${filename}") + part(`name="x-amz-meta-a"`, "1") + fileHead + "data" + closing,
			fields:   []sigv4.FormField{{Name: "key", Value: "dir/${filename}"}, {Name: "x-amz-meta-a", Value: "1"}},
			fileName: "a.txt",
			key:      "dir/a.txt",
		},
		{
			name:   "preamble, transport padding and a folded-looking value",
			body:   "preamble\r\n" + "--" + testBoundary + " \t\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nline1\r\n line2\r\n--other\r\n" + fileHead + "x" + closing,
			fields: []sigv4.FormField{{Name: "key", Value: "line1\r\n line2\r\n--other"}},
			key:    "line1\r\n line2\r\n--other",
		},
		{
			name:   "empty values, with and without the blank line",
			body:   part(`name="key"`, "k") + part(`name="a"`, "") + "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n" + fileHead + closing,
			fields: []sigv4.FormField{{Name: "key", Value: "k"}, {Name: "a"}, {Name: "b"}},
			key:    "k",
		},
		{
			name:   "quoted name and other headers",
			body:   "--" + testBoundary + "\r\ncontent-type: text/plain\r\ncontent-disposition: form-data; name=\"a\\\"b\"\r\n\r\nv\r\n" + part(`name="key"`, "k") + fileHead + closing,
			fields: []sigv4.FormField{{Name: `a"b`, Value: "v"}, {Name: "key", Value: "k"}},
			key:    "k",
		},
		{
			name:   "missing Content-Length",
			body:   part(`name="key"`, "k") + fileHead + closing,
			length: -1,
			code:   "MissingContentLength",
		},
		{
			name:  "no boundary",
			body:  part(`name="key"`, "k") + fileHead + closing,
			ctype: "multipart/form-data",
			code:  "MalformedPOSTRequest",
		},
		{
			name: "closed without a file",
			body: part(`name="key"`, "k") + "--" + testBoundary + "--\r\n",
			code: "InvalidArgument",
		},
		{
			name: "ends before the file",
			body: part(`name="key"`, "k"),
			code: "MalformedPOSTRequest",
		},
		{
			name: "bare LF header lines",
			body: "--" + testBoundary + "\nContent-Disposition: form-data; name=\"key\"\n\nk\n" + fileHead + closing,
			code: "MalformedPOSTRequest",
		},
		{
			name: "value ends with a bare LF before the delimiter",
			body: "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\n" + fileHead + closing,
			code: "MalformedPOSTRequest",
		},
		{
			name: "boundary prefix inside a value",
			body: part(`name="key"`, "k\r\n--"+testBoundary+"x") + fileHead + closing,
			code: "MalformedPOSTRequest",
		},
		{
			name: "part without a name",
			body: "--" + testBoundary + "\r\nContent-Disposition: form-data\r\n\r\nv\r\n" + fileHead + closing,
			code: "MalformedPOSTRequest",
		},
		{
			name: "two Content-Disposition headers",
			body: "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nv\r\n" + fileHead + closing,
			code: "MalformedPOSTRequest",
		},
		{
			name: "field given twice",
			body: part(`name="key"`, "a") + part(`name="Key"`, "b") + fileHead + closing,
			code: "InvalidArgument",
		},
		{
			name: "MinIO fan-out",
			body: part(`name="key"`, "a") + part(`name="X-Minio-Fanout-List"`, `{"key":"b"}`) + fileHead + closing,
			code: "InvalidArgument",
		},
		{
			// Issue 13: the file's base name, as RFC 7578 and MinIO.
			name:     "${filename} takes the file's base name",
			body:     part(`name="key"`, "up/${filename}") + fileHeadNamed("dir/sub/photo.jpg") + "x" + closing,
			fields:   []sigv4.FormField{{Name: "key", Value: "up/${filename}"}},
			fileName: "dir/sub/photo.jpg",
			key:      "up/photo.jpg",
		},
		{
			name: "${filename} of a name climbing up",
			body: part(`name="key"`, "up/${filename}") + fileHeadNamed("../../secret.txt") + "x" + closing,
			code: "InvalidArgument",
		},
		{
			// Backends would write up/ or up/${filename}.
			name: "${filename} without a file name",
			body: part(`name="key"`, "up/${filename}") + "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n" + "x" + closing,
			code: "InvalidArgument",
		},
		{
			name: "${filename} of a name ending in a slash",
			body: part(`name="key"`, "up/${filename}") + fileHeadNamed("dir/") + "x" + closing,
			code: "InvalidArgument",
		},
		{
			name: "${filename} of a name with a backslash",
			body: part(`name="key"`, "up/${filename}") + fileHeadNamed(`..\\secret.txt`) + "x" + closing,
			code: "InvalidArgument",
		},
		{
			name:   "a file name with a backslash, no ${filename}",
			body:   part(`name="key"`, "up/a.txt") + fileHeadNamed(`..\\secret.txt`) + "x" + closing,
			fields: []sigv4.FormField{{Name: "key", Value: "up/a.txt"}},
			key:    "up/a.txt",
		},
		{
			name: "${filename} of '..'",
			body: part(`name="key"`, "up/${filename}") + fileHeadNamed("..") + "x" + closing,
			code: "InvalidArgument",
		},
		{
			name: "a file name holding ${filename}",
			body: part(`name="key"`, "up/${filename}") + fileHeadNamed("a${filename}") + "x" + closing,
			code: "InvalidArgument",
		},
		{
			name: "dot segment in the key",
			body: part(`name="key"`, "a/../b") + fileHead + closing,
			code: "InvalidArgument",
		},
		{
			name: "fields over the limit",
			body: part(`name="key"`, "a") + part(`name="x-amz-meta-big"`, strings.Repeat("x", MaxPostFieldBytes)) + fileHead + closing,
			code: "MaxPostPreDataLengthExceeded",
		},
		{
			name:   "a single-line field within a budget set by the caller",
			body:   part(`name="key"`, "a") + part(`name="policy"`, strings.Repeat("p", 3000)) + fileHead + closing,
			budget: 4096,
			fields: []sigv4.FormField{{Name: "key", Value: "a"}, {Name: "policy", Value: strings.Repeat("p", 3000)}},
			key:    "a",
		},
		{
			name:   "a single-line field over a budget set by the caller",
			body:   part(`name="key"`, "a") + part(`name="policy"`, strings.Repeat("p", 5000)) + fileHead + closing,
			budget: 4096,
			code:   "MaxPostPreDataLengthExceeded",
		},
		{
			name:   "a budget spent by the preamble",
			body:   strings.Repeat("preamble\r\n", 500) + part(`name="key"`, "a") + fileHead + closing,
			budget: 4096,
			code:   "MaxPostPreDataLengthExceeded",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.length
			if n == 0 {
				n = int64(len(tc.body))
			}
			r := formRequest(tc.body, n)
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			if !IsPostForm(r) {
				t.Fatal("IsPostForm = false")
			}
			f, err := ReadPostForm(r, tc.budget)
			if got := codeOf(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
			if err != nil {
				return
			}
			if len(f.Fields) != len(tc.fields) {
				t.Fatalf("fields %q, want %q", f.Fields, tc.fields)
			}
			for i := range f.Fields {
				if f.Fields[i] != tc.fields[i] {
					t.Errorf("field %d = %q, want %q", i, f.Fields[i], tc.fields[i])
				}
			}
			if tc.fileName != "" && f.FileName != tc.fileName {
				t.Errorf("file name %q, want %q", f.FileName, tc.fileName)
			}
			if f.Key() != tc.key {
				t.Errorf("key %q, want %q", f.Key(), tc.key)
			}
			// The stream from the file part on is the rest of the body,
			// and its length is what the Content-Length arithmetic says.
			rest, err := io.ReadAll(newFileStream(f, &sigv4.PostPolicy{}))
			if err != nil {
				t.Fatal(err)
			}
			if string(rest) != tc.body[f.consumed:] || !strings.HasPrefix(string(rest), "--"+testBoundary) {
				t.Errorf("rest %q, want %q", rest, tc.body[f.consumed:])
			}
		})
	}
}

func TestIsPostForm(t *testing.T) {
	for ct, want := range map[string]bool{
		"multipart/form-data; boundary=x": true,
		"Multipart/Form-Data":             true,
		"application/json":                false,
		"multipart/mixed; boundary=x":     false,
		"":                                false,
	} {
		r := httptest.NewRequest(http.MethodPost, "/b", nil)
		r.Header.Set("Content-Type", ct)
		if got := IsPostForm(r); got != want {
			t.Errorf("IsPostForm(%q) = %v", ct, got)
		}
	}
}

func TestFileStream(t *testing.T) {
	fields := part(`name="key"`, "k")
	rnd := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(rnd.IntN(256))
	}
	// Near-misses of the delimiter at every alignment.
	var near strings.Builder
	for i := 0; i < 5000; i++ {
		near.WriteString("\r\n--" + testBoundary[:i%len(testBoundary)] + "\r")
	}
	tests := []struct {
		name string
		file string
		tail string // after the file content
		code string
		// sent is how much of the rest must reach the upstream before the
		// error: all of it ("" code) or less than all.
	}{
		{name: "closing delimiter and epilogue", file: "hello", tail: closing + "ignored epilogue\r\n--" + testBoundary + "\r\n"},
		{name: "empty file", file: "", tail: closing},
		{name: "large binary file", file: string(big), tail: closing},
		{name: "near-misses of the delimiter", file: near.String(), tail: closing},
		{name: "a part after the file", file: "data", tail: "\r\n" + part(`name="key"`, "other")[:len(part(`name="key"`, "other"))-2] + closing, code: "InvalidArgument"},
		{name: "bare LF before the boundary", file: "data\n--" + testBoundary + "--\r\n", code: "MalformedPOSTRequest"},
		{name: "content starting with the boundary", file: "--" + testBoundary + "--\r\n", code: "MalformedPOSTRequest"},
		{name: "no closing delimiter", file: "data", tail: "\r\n", code: "MalformedPOSTRequest"},
		{name: "ends inside the delimiter", file: "data", tail: "\r\n--" + testBoundary, code: "MalformedPOSTRequest"},
	}
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tc.name
			if oneByte {
				name += " (one byte reads)"
			}
			t.Run(name, func(t *testing.T) {
				body := fields + fileHead + tc.file + tc.tail
				f, err := ReadPostForm(formRequest(body, int64(len(body))), 0)
				if err != nil {
					t.Fatal(err)
				}
				var r io.Reader = newFileStream(f, &sigv4.PostPolicy{})
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got, err := io.ReadAll(r)
				if code := codeOf(err); code != tc.code {
					t.Fatalf("code %q (%v), want %q", code, err, tc.code)
				}
				want := body[f.consumed:]
				if tc.code == "" && string(got) != want {
					t.Errorf("stream differs from the body: %d bytes, want %d", len(got), len(want))
				}
				if tc.code != "" && len(got) >= len(want) {
					t.Errorf("the whole body went upstream before the error")
				}
				if !strings.HasPrefix(want, string(got)) {
					t.Error("the stream is not a prefix of the body")
				}
			})
		}
	}
}

// TestUpstreamFieldsParse checks that the re-encoded fields followed by the
// client's file part form a body Go's multipart reader (MinIO's) agrees on.
func TestUpstreamFieldsParse(t *testing.T) {
	body := part(`name="key"`, "k") + part(`name="a\"b\\c"`, "multi\r\nline") + part(`name="policy"`, "old") +
		part(`name="AWSAccessKeyId"`, "client") + part(`name="signature"`, "sig") + fileHead + "file data" + closing
	f, err := ReadPostForm(formRequest(body, int64(len(body))), 0)
	if err != nil {
		t.Fatal(err)
	}
	fields := f.upstreamFields(sigv4.PostFormAuth{Policy: "P", Algorithm: "A", Credential: "C", Date: "D", Signature: "S"})
	rest, err := io.ReadAll(newFileStream(f, &sigv4.PostPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	up := append(fields, rest...)
	if want := int64(len(fields)) + f.contentLength - f.consumed; int64(len(up)) != want {
		t.Fatalf("upstream body is %d bytes, Content-Length says %d", len(up), want)
	}
	mr := multipart.NewReader(bytes.NewReader(up), testBoundary)
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		v, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			if string(v) != "file data" || p.FileName() != "a.txt" {
				t.Errorf("file %q named %q", v, p.FileName())
			}
			break
		}
		got[p.FormName()] = string(v)
	}
	want := map[string]string{"key": "k", `a"b\c`: "multi\r\nline", "policy": "P",
		"x-amz-algorithm": "A", "x-amz-credential": "C", "x-amz-date": "D", "x-amz-signature": "S"}
	if len(got) != len(want) {
		t.Errorf("upstream fields %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %q = %q, want %q", k, got[k], v)
		}
	}
}

// FuzzReadPostForm checks that no body panics the reader and that whatever
// it accepts streams on as exactly the rest of the body.
func FuzzReadPostForm(f *testing.F) {
	f.Add(part(`name="key"`, "k") + fileHead + "data" + closing)
	f.Add("pre\r\n--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--" + testBoundary + "\r\n" + fileHead + closing + "epilogue")
	f.Add(part(`name="key"`, "k") + fileHead + "\r\n--" + testBoundary + "\r\n")
	f.Add(fileHead + "--" + testBoundary + "--")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := ReadPostForm(formRequest(body, int64(len(body))), 0)
		if err != nil {
			if strings.HasPrefix(codeOf(err), "technical") {
				t.Fatalf("error without an S3 code: %v", err)
			}
			return
		}
		if form.consumed < 0 || form.consumed > int64(len(body)) {
			t.Fatalf("consumed %d of %d", form.consumed, len(body))
		}
		got, err := io.ReadAll(newFileStream(form, &sigv4.PostPolicy{}))
		if !strings.HasPrefix(body[form.consumed:], string(got)) {
			t.Fatal("the stream is not the rest of the body")
		}
		if err == nil && string(got) != body[form.consumed:] {
			t.Fatal("the stream ended early without an error")
		}
		if err != nil && strings.HasPrefix(codeOf(err), "technical") {
			t.Fatalf("stream error without an S3 code: %v", err)
		}
	})
}

// TestUpstreamFieldsKey: the upstream form names the key the policy and
// the grants were checked against, ${filename} substituted, so that a
// backend that does not substitute it (versitygw) writes the same object
// as one that does (MinIO); the file part still names the client's file.
func TestUpstreamFieldsKey(t *testing.T) {
	body := part(`name="Key"`, "up/${filename}") + part(`name="x-amz-meta-a"`, "${filename}") + fileHeadNamed("dir/photo.jpg") + "data" + closing
	f, err := ReadPostForm(formRequest(body, int64(len(body))), 0)
	if err != nil {
		t.Fatal(err)
	}
	fields := f.upstreamFields(sigv4.PostFormAuth{Policy: "P", Algorithm: "A", Credential: "C", Date: "D", Signature: "S"})
	rest, err := io.ReadAll(newFileStream(f, &sigv4.PostPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(append(fields, rest...)), testBoundary)
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		v, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			if p.FileName() != "photo.jpg" {
				t.Errorf("file part named %q", p.FileName())
			}
			break
		}
		got[p.FormName()] = string(v)
	}
	if got["Key"] != "up/photo.jpg" {
		t.Errorf("upstream key field %q, want %q", got["Key"], "up/photo.jpg")
	}
	if got["x-amz-meta-a"] != "${filename}" {
		t.Errorf("x-amz-meta-a = %q: only the key is substituted", got["x-amz-meta-a"])
	}
}
