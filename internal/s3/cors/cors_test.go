package cors

import (
	"net/http"
	"strings"
	"testing"
)

const testVary = Vary

func intp(n int) *int { return &n }

// testRules: a site rule first, a public one after it (the example of S3's
// documentation, shortened).
var testRules = []Rule{
	{
		ID:             "site",
		AllowedOrigins: []string{"https://example.com", "https://*.example.com"},
		AllowedMethods: []string{"GET", "PUT", "DELETE"},
		AllowedHeaders: []string{"Content-Type", "x-amz-*"},
		ExposeHeaders:  []string{"ETag", "x-amz-request-id"},
		MaxAgeSeconds:  intp(3000),
	},
	{ID: "public", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "HEAD"}},
}

// cleanTestRules are testRules as Clean returns them (header patterns
// lower-cased).
var cleanTestRules, _ = Clean(testRules)

// TestCORSPreflightHeaders: the first rule that allows origin, method and
// every requested header answers, with S3's headers; none is nil.
func TestCORSPreflightHeaders(t *testing.T) {
	site := map[string]string{
		"Access-Control-Allow-Origin":      "https://example.com",
		"Access-Control-Allow-Methods":     "GET, PUT, DELETE",
		"Access-Control-Expose-Headers":    "ETag, x-amz-request-id",
		"Access-Control-Max-Age":           "3000",
		"Access-Control-Allow-Credentials": "true",
		"Vary":                             testVary,
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	public := map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD", "Vary": testVary}
	for _, c := range []struct {
		name                    string
		origin, method, headers string
		want                    map[string]string // nil: refused
	}{
		{"exact origin", "https://example.com", "PUT", "", site},
		{"requested headers are echoed in lower case", "https://example.com", "PUT", "Content-Type,X-Amz-Date ,  x-amz-meta-Name",
			with(site, "Access-Control-Allow-Headers", "content-type, x-amz-date, x-amz-meta-name")},
		{"origin pattern", "https://app.example.com", "DELETE", "",
			with(site, "Access-Control-Allow-Origin", "https://app.example.com")},
		{"only the literal * allows the origin", "https://example.org", "GET", "", public},
		{"only the second rule allows the method", "https://example.com", "HEAD", "", public},
		{"empty header names are dropped", "https://example.org", "GET", " , ,", public},
		{"origin no rule allows for the method", "https://example.org", "PUT", "", nil},
		{"origin in another case", "https://EXAMPLE.com", "PUT", "", nil},
		{"pattern needs its suffix", "https://example.com.evil.test", "PUT", "", nil},
		{"method no rule allows", "https://example.com", "POST", "", nil},
		{"header no rule allows", "https://example.com", "PUT", "content-type, authorization", nil},
		{"header for a rule without AllowedHeader", "https://example.org", "GET", "content-type", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			if c.headers != "" {
				h.Set("Access-Control-Request-Headers", c.headers)
			}
			names := RequestedHeaders(h)
			i := Match(cleanTestRules, c.origin, c.method, names)
			if c.want == nil {
				if i >= 0 {
					t.Fatalf("rule %d allows it, want none", i+1)
				}
				return
			}
			if i < 0 {
				t.Fatal("no rule allows it")
			}
			got := http.Header{}
			SetHeaders(got, &cleanTestRules[i], c.origin, names)
			if len(got) != len(c.want) {
				t.Errorf("headers %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
		})
	}
}

// TestCORSCredentials: Access-Control-Allow-Credentials is sent unless the
// rule allows every origin with the literal "*", even next to the origin
// itself.
func TestCORSCredentials(t *testing.T) {
	for _, c := range []struct {
		origins    []string
		wantOrigin string
		wantCreds  string
	}{
		{[]string{"*"}, "*", ""},
		{[]string{"https://example.com", "*"}, "*", ""},
		{[]string{"https://example.com"}, "https://example.com", "true"},
		{[]string{"https://*.com"}, "https://example.com", "true"},
		{[]string{"http*"}, "https://example.com", "true"},
	} {
		rules := []Rule{{AllowedOrigins: c.origins, AllowedMethods: []string{"GET"}}}
		i := Match(rules, "https://example.com", "GET", nil)
		if i != 0 {
			t.Errorf("%v: no match", c.origins)
			continue
		}
		h := http.Header{}
		SetHeaders(h, &rules[0], "https://example.com", nil)
		if h.Get("Access-Control-Allow-Origin") != c.wantOrigin || h.Get("Access-Control-Allow-Credentials") != c.wantCreds {
			t.Errorf("%v: %v", c.origins, h)
		}
	}
}

func TestParse(t *testing.T) {
	const ns = ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	for _, c := range []struct {
		name, doc string
		want      []Rule // nil: an error
	}{
		{"full rule", `<CORSConfiguration` + ns + `><CORSRule><ID>a</ID><AllowedOrigin>https://*.example.com</AllowedOrigin>` +
			`<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader>` +
			`<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
			[]Rule{{ID: "a", AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"PUT", "GET"},
				AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: intp(300)}}},
		{"no namespace, no max age", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`,
			[]Rule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}},
		{"header patterns lower-cased once", `<CORSConfiguration><CORSRule><AllowedOrigin> * </AllowedOrigin><AllowedMethod>GET</AllowedMethod>` +
			`<AllowedHeader> X-Amz-* </AllowedHeader><AllowedHeader>Content-Type</AllowedHeader></CORSRule></CORSConfiguration>`,
			[]Rule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"x-amz-*", "content-type"}}}},
		{"no rule", `<CORSConfiguration/>`, nil},
		{"another document", `<LifecycleConfiguration><CORSRule/></LifecycleConfiguration>`, nil},
		{"two wildcards", `<CORSConfiguration><CORSRule><AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`, nil},
		{"unknown method", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`, nil},
		{"no method", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>`, nil},
		{"no origin", `<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`, nil},
		{"negative max age", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`, nil},
		{"not XML", `CORS`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.doc))
			if c.want == nil {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if g.ID != w.ID || strings.Join(g.AllowedOrigins, "|") != strings.Join(w.AllowedOrigins, "|") ||
					strings.Join(g.AllowedMethods, "|") != strings.Join(w.AllowedMethods, "|") ||
					strings.Join(g.AllowedHeaders, "|") != strings.Join(w.AllowedHeaders, "|") ||
					strings.Join(g.ExposeHeaders, "|") != strings.Join(w.ExposeHeaders, "|") ||
					(g.MaxAgeSeconds == nil) != (w.MaxAgeSeconds == nil) || g.MaxAgeSeconds != nil && *g.MaxAgeSeconds != *w.MaxAgeSeconds {
					t.Errorf("rule %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// FuzzParse: the parser never panics, and what it
// accepts passes validation and matches without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>` +
		`<AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3</MaxAgeSeconds></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration/>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		rules, err := Parse(doc)
		if err != nil {
			return
		}
		if err := Validate(rules); err != nil {
			t.Fatalf("accepted rules fail validation: %v", err)
		}
		for _, o := range []string{"https://example.com", "*", ""} {
			if i := Match(rules, o, "GET", []string{"content-type"}); i >= 0 {
				SetHeaders(http.Header{}, &rules[i], o, nil)
			}
		}
	})
}

// TestClean: rules written by hand (the configuration's) are trimmed and
// their header patterns lowered, without changing the caller's slices;
// every problem is reported.
func TestClean(t *testing.T) {
	in := []Rule{{ID: " a ", AllowedOrigins: []string{" https://app.test "}, AllowedMethods: []string{" PUT"},
		AllowedHeaders: []string{"Content-Type ", "X-Amz-*"}, ExposeHeaders: []string{" ETag"}}}
	got, err := Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.ID != "a" || r.AllowedOrigins[0] != "https://app.test" || r.AllowedMethods[0] != "PUT" ||
		strings.Join(r.AllowedHeaders, "|") != "content-type|x-amz-*" || r.ExposeHeaders[0] != "ETag" {
		t.Errorf("Clean = %+v", r)
	}
	if in[0].AllowedHeaders[0] != "Content-Type " {
		t.Error("Clean changed its argument")
	}
	if Match(got, "https://app.test", "PUT", []string{"x-amz-date", "content-type"}) != 0 {
		t.Error("cleaned rule does not match")
	}
	_, err = Clean([]Rule{{AllowedOrigins: []string{"**"}, AllowedMethods: []string{"PATCH"}}, {}})
	for _, want := range []string{"rule 1: method \"PATCH\"", "rule 1: origin \"**\"", "rule 2: no allowed origin", "rule 2: no allowed method"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}
