// Package cors is S3's bucket CORS configuration, without I/O: parsing a
// CORSConfiguration document, checking rules as PutBucketCors does, and
// matching a request's origin, method and headers against them. The
// gateway answers preflights with it; the configuration checks the rules
// of upstream.buckets.<b>.cors with it.
package cors

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Rule is one rule of a bucket's CORS configuration (S3's CORSRule).
type Rule struct {
	ID string
	// AllowedOrigins match the Origin header exactly (case-sensitive);
	// each may hold one "*" standing for any characters. "*" alone
	// allows every origin, without credentials.
	AllowedOrigins []string
	// AllowedMethods are among GET, PUT, POST, DELETE and HEAD.
	AllowedMethods []string
	// AllowedHeaders match the headers a preflight asks for, ignoring
	// case; each may hold one "*". Clean lower-cases them.
	AllowedHeaders []string
	// ExposeHeaders are the response headers scripts may read.
	ExposeHeaders []string
	// MaxAgeSeconds is how long browsers may cache a preflight's answer;
	// nil sends no Access-Control-Max-Age.
	MaxAgeSeconds *int
}

// MaxRules is S3's bound on the rules of a configuration.
const MaxRules = 100

// Vary is the Vary header of every CORS answer: it depends on the
// request's Origin and, for preflights, on what it asks for.
const Vary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

// Methods are the methods a rule may allow and a preflight may ask for.
var Methods = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead}

// configuration is S3's CORSConfiguration document (any namespace).
type configuration struct {
	XMLName xml.Name `xml:"CORSConfiguration"`
	Rules   []struct {
		ID             string   `xml:"ID"`
		AllowedOrigins []string `xml:"AllowedOrigin"`
		AllowedMethods []string `xml:"AllowedMethod"`
		AllowedHeaders []string `xml:"AllowedHeader"`
		ExposeHeaders  []string `xml:"ExposeHeader"`
		MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
	} `xml:"CORSRule"`
}

// Parse parses an S3 CORSConfiguration document and returns its rules
// cleaned and checked (Clean).
func Parse(doc []byte) ([]Rule, error) {
	var c configuration
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&c); err != nil {
		return nil, fmt.Errorf("malformed CORS configuration: %w", err)
	}
	rules := make([]Rule, 0, len(c.Rules))
	for _, r := range c.Rules {
		rules = append(rules, Rule{
			ID: r.ID, AllowedOrigins: r.AllowedOrigins, AllowedMethods: r.AllowedMethods,
			AllowedHeaders: r.AllowedHeaders, ExposeHeaders: r.ExposeHeaders, MaxAgeSeconds: r.MaxAgeSeconds,
		})
	}
	return Clean(rules)
}

// Clean returns a copy of rules with every value space-trimmed and the
// allowed header patterns lower-cased (matched without case, so lowered
// once here), after checking them (Validate). Match expects rules from
// Clean or Parse.
func Clean(rules []Rule) ([]Rule, error) {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = Rule{
			ID:             strings.TrimSpace(r.ID),
			AllowedOrigins: trimmed(r.AllowedOrigins, false),
			AllowedMethods: trimmed(r.AllowedMethods, false),
			AllowedHeaders: trimmed(r.AllowedHeaders, true),
			ExposeHeaders:  trimmed(r.ExposeHeaders, false),
			MaxAgeSeconds:  r.MaxAgeSeconds,
		}
	}
	if err := Validate(out); err != nil {
		return nil, err
	}
	return out, nil
}

func trimmed(s []string, lower bool) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.TrimSpace(v)
		if lower {
			out[i] = strings.ToLower(out[i])
		}
	}
	return out
}

// Validate applies S3's checks of PutBucketCors: 1 to 100 rules, each
// with an origin and a method, known methods, at most one "*" per origin
// and header, no negative max age. Every problem is reported, joined.
func Validate(rules []Rule) error {
	if len(rules) == 0 || len(rules) > MaxRules {
		return fmt.Errorf("a CORS configuration holds 1 to %d rules, not %d", MaxRules, len(rules))
	}
	var errs []error
	for i, r := range rules {
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("rule %d: "+format, append([]any{i + 1}, a...)...))
		}
		if len(r.AllowedOrigins) == 0 {
			bad("no allowed origin")
		}
		if len(r.AllowedMethods) == 0 {
			bad("no allowed method")
		}
		for _, m := range r.AllowedMethods {
			if !slices.Contains(Methods, m) {
				bad("method %q is not one of %s", m, strings.Join(Methods, ", "))
			}
		}
		for _, o := range r.AllowedOrigins {
			if o == "" || strings.Count(o, "*") > 1 {
				bad("origin %q: it must be non-empty with at most one *", o)
			}
		}
		for _, h := range r.AllowedHeaders {
			if h == "" || strings.Count(h, "*") > 1 {
				bad("allowed header %q: it must be non-empty with at most one *", h)
			}
		}
		for _, h := range r.ExposeHeaders {
			if h == "" || strings.ContainsAny(h, " \t,") {
				bad("expose header %q is not a header name", h)
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			bad("negative max age")
		}
	}
	return errors.Join(errs...)
}

// wildcardMatch reports whether s matches pattern, which holds at most
// one "*" standing for any characters.
func wildcardMatch(pattern, s string) bool {
	pre, suf, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(pre)+len(suf) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, suf)
}

// AllowsOrigin reports whether r allows origin, and whether it does
// through the literal "*" (which S3 answers with "*" and no credentials).
func (r *Rule) AllowsOrigin(origin string) (ok, anyOrigin bool) {
	for _, o := range r.AllowedOrigins {
		if o == "*" {
			anyOrigin = true
		}
		if wildcardMatch(o, origin) {
			ok = true
		}
	}
	return ok, anyOrigin
}

// allowsHeader reports whether r (cleaned: lower-case patterns) allows
// the request header name (lower case).
func (r *Rule) allowsHeader(name string) bool {
	return slices.ContainsFunc(r.AllowedHeaders, func(h string) bool { return wildcardMatch(h, name) })
}

// Match returns the index of the first of rules (from Clean or Parse)
// that allows origin, method and every one of headers (lower case, as
// RequestedHeaders returns them), -1 when none does.
func Match(rules []Rule, origin, method string, headers []string) int {
	for i := range rules {
		r := &rules[i]
		if ok, _ := r.AllowsOrigin(origin); !ok || !slices.Contains(r.AllowedMethods, method) {
			continue
		}
		if !slices.ContainsFunc(headers, func(h string) bool { return !r.allowsHeader(h) }) {
			return i
		}
	}
	return -1
}

// RequestedHeaders splits Access-Control-Request-Headers into lower-case
// names, empty ones dropped.
func RequestedHeaders(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Access-Control-Request-Headers") {
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				names = append(names, n)
			}
		}
	}
	return names
}

// SetHeaders writes the answer of rule to origin, in S3's order;
// allowHeaders are the headers a preflight asked for.
func SetHeaders(h http.Header, rule *Rule, origin string, allowHeaders []string) {
	_, anyOrigin := rule.AllowsOrigin(origin)
	if anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(allowHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(allowHeaders, ", "))
	}
	if len(rule.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	if !anyOrigin {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Vary", Vary)
}
