// Package sso checks user names and passwords with Okera's external
// token-granting endpoint, SSO_URL (seed 002, "Remote Endpoint Approach"):
// the endpoint takes the user name and password in a REST request and
// answers with a token, which is what Okera's get-token then hands out.
//
// The request is
//
//	POST <SSO_URL>
//	Content-Type: application/json
//	Accept: application/json
//
//	{"username": "<user>", "password": "<password>"}
//
// and a 2xx answer is a JSON object holding the token as "token", else as
// "access_token", else as "id_token" (the first of them that is a
// non-empty string), which covers Okera-style endpoints and OAuth/OIDC
// token endpoints fronted by a small adapter. A 401 or 403 answer means the
// user name or password is wrong. Redirects are not followed (a password
// is never re-sent to another address).
//
// The token is not trusted because the endpoint sent it: it is verified
// with the server's token authenticators (JWT public keys, JWKS/OIDC, the
// remote validation endpoint), exactly as a bearer token on the REST API
// is, and the identity they establish (sub, groups, exp) is the login's.
// A token none of them accepts fails the login as a technical error: the
// password was right, the configuration is not.
package sso

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/identity"
)

// Method is the Identity.Method of users who logged in through SSO_URL.
// The token they then present is a JWT, whose Method is the JWT
// authenticator's.
const Method = "sso"

// Defaults and bounds.
const (
	// DefaultTimeout bounds one request to the endpoint, answer included.
	DefaultTimeout = 10 * time.Second
	// MaxAnswerBytes bounds the endpoint's answer; a longer one is a
	// technical error.
	MaxAnswerBytes = 256 << 10
	// MaxTokenBytes bounds the token in the answer (jwtauth refuses longer
	// tokens too).
	MaxTokenBytes = 64 << 10
	// maxUserBytes bounds the user name sent.
	maxUserBytes = 1024
	// maxPasswordBytes bounds the password sent.
	maxPasswordBytes = 4096
)

// tokenFields are the answer's fields that may hold the token, in order.
var tokenFields = []string{"token", "access_token", "id_token"}

// ErrRefused is wrapped when the endpoint refuses the user name and
// password (HTTP 401 or 403), or when they are empty or too long to send.
// It wraps identity.ErrUnauthenticated.
var ErrRefused error = refusal("wrong user name or password")

type refusal string

func (r refusal) Error() string { return string(r) }
func (r refusal) Unwrap() error { return identity.ErrUnauthenticated }

// Options configure an Authenticator.
type Options struct {
	// URL is SSO_URL, an http:// or https:// URL. Required.
	URL string
	// Verifiers verify the token the endpoint issues, tried in order until
	// one accepts it (the REST API's bearer-token authenticators). At
	// least one is required: an unverified token is never trusted.
	Verifiers []identity.TokenAuthenticator
	// HTTPClient sends the requests; nil means a default client. Its
	// redirect policy is replaced: redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
}

// Validate reports every problem with o, joined; it changes nothing.
func (o Options) Validate() error {
	var errs []error
	if o.URL == "" {
		errs = append(errs, errors.New("sso: a URL is required"))
	} else if err := CheckURL(o.URL); err != nil {
		errs = append(errs, fmt.Errorf("sso: %w", err))
	}
	if len(o.Verifiers) == 0 {
		errs = append(errs, errors.New("sso: the token the endpoint issues must be verified: configure JWT verification (public keys, a JWKS or OIDC issuer URL, or a remote validation URL)"))
	}
	for i, v := range o.Verifiers {
		if v == nil {
			errs = append(errs, fmt.Errorf("sso: verifier %d is nil", i+1))
		}
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("sso: timeout %s is negative", o.Timeout))
	}
	return errors.Join(errs...)
}

// CheckURL reports whether s is an http:// or https:// URL with a host.
// Its error never repeats a password the URL may hold.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("the URL does not parse")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL with a host", u.Redacted())
	}
	return nil
}

// Authenticator checks passwords with the token-granting endpoint. It is
// safe for concurrent use and holds no goroutine.
type Authenticator struct {
	url       string
	shown     string // url without a password, for errors
	verifiers []identity.TokenAuthenticator
	client    *http.Client
}

var _ identity.PasswordAuthenticator = (*Authenticator)(nil)

// New returns an Authenticator for o, or o.Validate's error.
func New(o Options) (*Authenticator, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var client http.Client
	if o.HTTPClient != nil {
		client = *o.HTTPClient
	}
	if client.Timeout == 0 || client.Timeout > timeout {
		client.Timeout = timeout
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u, _ := url.Parse(o.URL) // Validate parsed it
	return &Authenticator{
		url: o.URL, shown: u.Redacted(),
		verifiers: append([]identity.TokenAuthenticator(nil), o.Verifiers...),
		client:    &client,
	}, nil
}

// AuthenticatePassword is GrantToken without the token.
func (a *Authenticator) AuthenticatePassword(ctx context.Context, user, password string) (identity.Identity, error) {
	id, _, err := a.GrantToken(ctx, user, password)
	return id, err
}

// GrantToken sends user and password to the endpoint and returns the
// identity the token it issues proves, with Method "sso", and the token
// itself. Errors wrapping ErrRefused (and so identity.ErrUnauthenticated)
// mean a wrong user name or password; every other error is technical (the
// endpoint unreachable or answering something else, or its token refused
// by the verifiers), and nothing may be concluded about the password. No
// error holds the password or the token.
func (a *Authenticator) GrantToken(ctx context.Context, user, password string) (identity.Identity, string, error) {
	switch {
	case user == "" || password == "":
		return identity.Identity{}, "", fmt.Errorf("sso: %w: empty user name or password", ErrRefused)
	case len(user) > maxUserBytes || len(password) > maxPasswordBytes:
		return identity.Identity{}, "", fmt.Errorf("sso: %w: user name or password too long", ErrRefused)
	}
	token, err := a.request(ctx, user, password)
	if err != nil {
		return identity.Identity{}, "", err
	}
	id, err := a.verify(ctx, token)
	if err != nil {
		return identity.Identity{}, "", err
	}
	id.Method = Method
	return id, token, nil
}

// request asks the endpoint for a token.
func (a *Authenticator) request(ctx context.Context, user, password string) (string, error) {
	body, err := json.Marshal(struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{user, password})
	if err != nil {
		return "", fmt.Errorf("sso: encoding the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return "", errors.New("sso: building the request failed")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which may hold a password; say
		// what failed without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("sso: %s unreachable: %w", a.shown, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return "", fmt.Errorf("sso: reading the answer of %s: %w", a.shown, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", fmt.Errorf("sso: %w (the endpoint answered %d)", ErrRefused, resp.StatusCode)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return "", fmt.Errorf("sso: %s answered %s; redirects are not followed, configure the final URL", a.shown, resp.Status)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return "", fmt.Errorf("sso: %s answered %s", a.shown, resp.Status)
	case len(answer) > MaxAnswerBytes:
		return "", fmt.Errorf("sso: the answer of %s is longer than %d bytes", a.shown, MaxAnswerBytes)
	}
	return tokenFrom(answer)
}

// tokenFrom returns the token of a 2xx answer. Its errors do not quote
// the answer, which holds a token.
func tokenFrom(answer []byte) (string, error) {
	var fields map[string]any
	if err := json.Unmarshal(answer, &fields); err != nil || fields == nil {
		return "", errors.New("sso: the endpoint's answer is not a JSON object")
	}
	for _, name := range tokenFields {
		tok, ok := fields[name].(string)
		if !ok || tok == "" {
			continue
		}
		if len(tok) > MaxTokenBytes {
			return "", fmt.Errorf("sso: the endpoint's %s is longer than %d bytes", name, MaxTokenBytes)
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c >= 0x7f {
				return "", fmt.Errorf("sso: the endpoint's %s holds a space, control or non-ASCII character", name)
			}
		}
		return tok, nil
	}
	return "", fmt.Errorf("sso: the endpoint's answer holds none of %s as a non-empty string", strings.Join(tokenFields, ", "))
}

// verify returns the identity the first verifier that accepts token
// establishes. A token all of them refuse is a technical error (not
// ErrUnauthenticated: the user's password was accepted), whose message
// gives the last refusal's reason.
func (a *Authenticator) verify(ctx context.Context, token string) (identity.Identity, error) {
	var last error
	for _, v := range a.verifiers {
		id, err := v.AuthenticateToken(ctx, token)
		if err == nil {
			if id.User == "" {
				return identity.Identity{}, errors.New("sso: the verified token names no user")
			}
			return id, nil
		}
		if !errors.Is(err, identity.ErrUnauthenticated) {
			return identity.Identity{}, fmt.Errorf("sso: verifying the endpoint's token: %w", err)
		}
		last = err
	}
	return identity.Identity{}, &UnverifiedTokenError{Reason: last.Error()}
}

// UnverifiedTokenError is GrantToken's error when the endpoint accepted
// the password but issued a token the verifiers refuse: SSO_URL and the
// JWT settings do not fit together. It deliberately does not wrap the
// refusal (which wraps identity.ErrUnauthenticated), so that callers do
// not take it for a wrong password.
type UnverifiedTokenError struct {
	// Reason is why the last verifier refused the token; it never holds
	// the token.
	Reason string
}

func (e *UnverifiedTokenError) Error() string {
	return "sso: the endpoint issued a token that the configured JWT verification refuses (" + e.Reason + ")"
}
