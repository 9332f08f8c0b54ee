package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// restServer answers GET /resolver/<user> from answers, keyed by the
// escaped path it received, and records every request.
type restServer struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *restServer) handler(answers map[string]func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		s.mu.Unlock()
		if a, ok := answers[r.URL.EscapedPath()]; ok {
			a(w)
			return
		}
		http.NotFound(w, r)
	})
}

func body(status int, s string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(s))
	}
}

func TestRESTGroups(t *testing.T) {
	release := make(chan struct{})
	rs := &restServer{}
	srv := httptest.NewServer(rs.handler(map[string]func(http.ResponseWriter){
		"/resolver/alice":             body(200, `{"groups": ["Analysts", "finance"]}`),
		"/resolver/bare":              body(200, ` ["a","B"] `),
		"/resolver/empty":             body(200, `{"groups": []}`),
		"/resolver/extra":             body(200, `{"user": "extra", "groups": ["g"]}`),
		"/resolver/alice@EXAMPLE.COM": body(200, `{"groups": ["realm"]}`),
		"/resolver/a%2Fb%20c":         body(200, `{"groups": ["escaped"]}`),
		"/resolver/..%2Fadmin":        body(200, `{"groups": ["escaped-dots"]}`),
		"/resolver/nogroups":          body(200, `{"names": ["g"]}`),
		"/resolver/null":              body(200, `null`),
		"/resolver/notstrings":        body(200, `{"groups": [1, 2]}`),
		"/resolver/trailing":          body(200, `{"groups": ["g"]} {"groups": ["h"]}`),
		"/resolver/html":              body(200, `<html>login</html>`),
		"/resolver/big":               body(200, `{"groups": ["`+strings.Repeat("x", 2000)+`"]}`),
		"/resolver/error":             body(500, `{"groups": ["should-not-be-read"]}`),
		"/resolver/nocontent":         body(204, ``),
		"/resolver/slow": func(w http.ResponseWriter) {
			<-release
			body(200, `{"groups": ["late"]}`)(w)
		},
	}))
	defer srv.Close()
	defer close(release)

	r, err := NewRESTGroups(RESTOptions{URL: srv.URL + "/resolver/", Timeout: 200 * time.Millisecond, MaxBodyBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user    string
		want    []string
		wantErr string // substring; "" means no error
	}{
		{user: "alice", want: []string{"Analysts", "finance"}},
		{user: "bare", want: []string{"a", "B"}},
		{user: "empty", want: []string{}},
		{user: "extra", want: []string{"g"}},
		{user: "alice@EXAMPLE.COM", want: []string{"realm"}},
		{user: "a/b c", want: []string{"escaped"}},
		{user: "../admin", want: []string{"escaped-dots"}},
		{user: "unknown", wantErr: "404"},
		{user: "error", wantErr: "500"},
		{user: "nocontent", wantErr: "JSON"}, // 204: no body is not an answer
		{user: "nogroups", wantErr: `no "groups"`},
		{user: "null", wantErr: `no "groups"`},
		{user: "notstrings", wantErr: "cannot unmarshal"},
		{user: "trailing", wantErr: "after top-level value"},
		{user: "html", wantErr: "invalid character"},
		{user: "big", wantErr: "over 1024 bytes"},
		{user: "slow", wantErr: "deadline exceeded"},
		{user: "", wantErr: "path segment"},
		{user: ".", wantErr: "path segment"},
		{user: "..", wantErr: "path segment"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			got, err := r.Groups(context.Background(), tc.user)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Groups(%q) = %q, %v; want an error saying %q", tc.user, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Groups(%q) = %q, %v; want %q", tc.user, got, err, tc.want)
			}
		})
	}

	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.reqs) == 0 {
		t.Fatal("the server saw no request")
	}
	for _, req := range rs.reqs {
		if req.Method != http.MethodGet || req.Header.Get("Accept") != "application/json" {
			t.Errorf("request %s %s with Accept %q, want GET with application/json", req.Method, req.URL, req.Header.Get("Accept"))
		}
		if strings.Contains(req.URL.EscapedPath(), "//") {
			t.Errorf("request path %s has an empty segment", req.URL.EscapedPath())
		}
	}
}

func TestRESTGroupsCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	r, err := NewRESTGroups(RESTOptions{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Groups(ctx, "alice"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Groups with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestResolveRESTFallback runs seed 002's approach 3 end to end: a JWT-only
// Resolver whose token has no groups claim asks a real HTTP service.
func TestResolveRESTFallback(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.EscapedPath())
		mu.Unlock()
		switch r.URL.EscapedPath() {
		case "/groups/santa@okera.com":
			body(200, `{"groups": ["Elves", "reindeer", "ELVES"]}`)(w)
		default:
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	rest, err := NewRESTGroups(RESTOptions{URL: srv.URL + "/groups"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewResolver(ResolverOptions{JWTOnly: true, REST: rest, CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	got, err := r.Resolve(ctx, jwtUser("santa@okera.com"))
	want := Groups{Names: []string{"elves", "reindeer"}, CaseInsensitive: true, Source: SourceREST}
	if err != nil || !slices.Equal(got.Names, want.Names) || got.CaseInsensitive != want.CaseInsensitive || got.Source != want.Source {
		t.Fatalf("Resolve without a claim = %+v, %v; want %+v", got, err, want)
	}
	if !got.Contains("Elves") {
		t.Errorf("%+v does not contain Elves", got)
	}
	got, err = r.Resolve(ctx, jwtUser("santa@okera.com", "Claimed"))
	if err != nil || got.Source != SourceJWT || !slices.Equal(got.Names, []string{"claimed"}) {
		t.Fatalf("Resolve with a claim = %+v, %v; want the claim", got, err)
	}
	if _, err := r.Resolve(ctx, jwtUser("grinch")); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Resolve with the service failing = %v, want its 503", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/groups/santa@okera.com", "/groups/grinch"}; !slices.Equal(paths, want) {
		t.Errorf("the service was asked %q, want %q (once each: cached, claim not sent)", paths, want)
	}
}

func TestRESTOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    RESTOptions
		want []string
	}{
		{name: "http", o: RESTOptions{URL: "http://groups.example.com/api/users"}},
		{name: "https with port and slash", o: RESTOptions{URL: "https://groups.example.com:8443/"}},
		{name: "empty", o: RESTOptions{}, want: []string{"empty"}},
		{name: "scheme", o: RESTOptions{URL: "ftp://groups.example.com"}, want: []string{"scheme"}},
		{name: "relative", o: RESTOptions{URL: "/groups"}, want: []string{"scheme", "no host"}},
		{name: "query", o: RESTOptions{URL: "https://h/groups?user="}, want: []string{"query"}},
		{name: "fragment", o: RESTOptions{URL: "https://h/groups#x"}, want: []string{"fragment"}},
		{name: "unparsable", o: RESTOptions{URL: "https://h/%zz"}, want: []string{"invalid URL escape"}},
		{name: "password redacted", o: RESTOptions{URL: "https://u:secret@h/g?x=1"}, want: []string{"xxxxx"}},
		{
			name: "every problem at once",
			o:    RESTOptions{URL: "ftp://h/?q", Timeout: -1, MaxBodyBytes: -1},
			want: []string{"scheme", "query", "timeout", "body limit"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tc.o)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("Validate error %q shows a password", err)
			}
			if _, err := NewRESTGroups(tc.o); err == nil {
				t.Errorf("NewRESTGroups accepted %+v", tc.o)
			}
		})
	}
}
