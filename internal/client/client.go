// Package client talks to a lakegate REST server for the command-line
// client commands (sql, users, check): it finds the server and the bearer
// token the way the CLI documents, sends requests, and turns JSON errors
// into Go errors that read well on a terminal.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lakegate/lakegate/internal/api"
	"github.com/lakegate/lakegate/internal/audit"
	"github.com/lakegate/lakegate/internal/authz"
)

// TokenEnv names the environment variable holding the bearer token.
const TokenEnv = "LAKEGATE_TOKEN"

// DefaultServer is the REST address of a local lakegate.
const DefaultServer = "http://127.0.0.1:8083"

// Doer sends HTTP requests; *http.Client is one, and so is a Kerberos
// SPNEGO client.
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Client is a REST client with one server and one way to authenticate.
type Client struct {
	server string
	token  string
	// user and password, when user is set, authenticate with Basic.
	user, password string
	// kerberosSPN is set when http authenticates with Kerberos, as the
	// service principal it asks tickets for.
	kerberosSPN string
	http        Doer
}

// NewWithPassword returns a client that authenticates with a user name and
// password (LDAP), for getting a token.
func NewWithPassword(server, user, password string) (*Client, error) {
	c, err := New(server, "")
	if err != nil {
		return nil, err
	}
	c.user, c.password = user, password
	return c, nil
}

// NewWithDoer returns a client whose requests d sends and authenticates
// (a Kerberos SPNEGO client).
func NewWithDoer(server string, d Doer) (*Client, error) {
	c, err := New(server, "")
	if err != nil {
		return nil, err
	}
	c.http = d
	return c, nil
}

// RevokeCredentials deletes every access key and token of user ("" for
// the caller).
func (c *Client) RevokeCredentials(ctx context.Context, user string) (api.Revoked, error) {
	var out api.Revoked
	err := c.do(ctx, http.MethodPost, "/api/credentials/revoke", map[string]string{"user": user}, &out)
	return out, err
}

// GetToken asks the server for a token for the authenticated user (POST
// /api/get-token): a lakegate token, or for a password checked by the
// server's SSO endpoint (SSO_URL) the token that endpoint granted. The
// answer says which way the server authenticated the request.
func (c *Client) GetToken(ctx context.Context) (api.TokenResponse, error) {
	var out api.TokenResponse
	err := c.do(ctx, http.MethodPost, "/api/get-token", nil, &out)
	if err == nil && out.Token == "" {
		err = fmt.Errorf("%s answered get-token without a token", c.server)
	}
	return out, err
}

// GetUser returns who the server takes the caller for.
func (c *Client) GetUser(ctx context.Context) (api.UserResponse, error) {
	var out api.UserResponse
	err := c.do(ctx, http.MethodGet, "/api/get-user", nil, &out)
	return out, err
}

// AWSCredentials exchanges the caller's token for AWS-style keys (POST
// /api/aws-credentials).
func (c *Client) AWSCredentials(ctx context.Context) (api.AWSCredentials, error) {
	var out api.AWSCredentials
	err := c.do(ctx, http.MethodPost, "/api/aws-credentials", nil, &out)
	return out, err
}

// New returns a client for server (a base URL). An empty token sends no
// Authorization header.
func New(server, token string) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid server %q: expected http://host:port or https://host:port", server)
	}
	return &Client{
		server: strings.TrimSuffix(server, "/"),
		token:  token,
		http:   &http.Client{Timeout: 60 * time.Second},
	}, nil
}

// FindToken returns the bearer token: $LAKEGATE_TOKEN, else the first line
// of ~/.lakegate/token, else of ~/.okera/token (Okera's location). It
// returns "" when there is none.
func FindToken(getenv func(string) string) (string, error) {
	if t := strings.TrimSpace(getenv(TokenEnv)); t != "" {
		return t, nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", nil
	}
	for _, p := range []string{filepath.Join(home, ".lakegate", "token"), filepath.Join(home, ".okera", "token")} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if t := strings.TrimSpace(line); t != "" {
			return t, nil
		}
	}
	return "", nil
}

// APIError is an error answer of the server.
type APIError struct {
	// Server is the base URL of the server that answered.
	Server  string
	Status  int
	Message string
	// Line and Column locate a failed SQL statement (0 when not given).
	Line, Column int
	// tokenHint: the request was to be authenticated by a token (not a
	// password), so a 401 is answered with where tokens come from.
	tokenHint bool
	// sentToken: the request carried a token, which a 401 refused.
	sentToken bool
	// hint, when set, is added to the message of a 401.
	hint string
}

// Error names the server in a 401, since a token meant for another
// server (or a LAKEGATE_SERVER left over) is the usual cause.
func (e *APIError) Error() string {
	if e.Status != http.StatusUnauthorized {
		return e.Message
	}
	msg := e.Server + ": " + e.Message
	if e.sentToken {
		msg = e.Server + " refused the token: " + e.Message
	}
	switch {
	case e.hint != "":
		return msg + " (" + e.hint + ")"
	case e.tokenHint:
		return msg + " (set " + TokenEnv + " or write the token to ~/.lakegate/token)"
	}
	return msg
}

// AuditPage is the answer of GET /api/audit (audit.QueryHandler).
type AuditPage struct {
	Events     []audit.Event `json:"events"`
	Count      int           `json:"count"`
	Incomplete int           `json:"incomplete"`
	Skipped    int           `json:"skipped"`
	// Truncated means more events matched than the limit.
	Truncated bool `json:"truncated"`
	// Error is set when reading the log failed after some events.
	Error string `json:"error,omitempty"`
}

// Audit reads the server's audit log (catalog admins only) with the
// filters of audit.QueryHandler (user, since, until, decision,
// uri_prefix, operation, limit).
func (c *Client) Audit(ctx context.Context, filter url.Values) (AuditPage, error) {
	var out AuditPage
	err := c.do(ctx, http.MethodGet, "/api/audit?"+filter.Encode(), nil, &out)
	return out, err
}

// SQL runs a script of grant-language statements.
func (c *Client) SQL(ctx context.Context, script string) ([]authz.Result, error) {
	var resp api.SQLResponse
	err := c.do(ctx, http.MethodPost, "/api/sql", map[string]string{"sql": script}, &resp)
	return resp.Results, err
}

// CreatedUser is the answer to CreateUser.
type CreatedUser = api.CreatedUser

// CreateUser creates a user with groups (or replaces its groups) and
// returns a new access key and token for it.
func (c *Client) CreateUser(ctx context.Context, name string, groups []string) (CreatedUser, error) {
	if groups == nil {
		groups = []string{}
	}
	var out CreatedUser
	err := c.do(ctx, http.MethodPost, "/api/users", map[string]any{"name": name, "groups": groups}, &out)
	return out, err
}

// DeleteUser removes a user with its keys and tokens.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/users/"+url.PathEscape(name), nil, nil)
}

// CheckResult is the answer to Check.
type CheckResult = api.CheckResponse

// Check asks whether user (with groups, or the user's own when nil) may
// perform operation on uri.
func (c *Client) Check(ctx context.Context, user string, groups []string, uri, operation string) (CheckResult, error) {
	q := url.Values{"user": {user}, "uri": {uri}, "operation": {operation}}
	if groups != nil {
		q.Set("groups", strings.Join(groups, ","))
	}
	var out CheckResult
	err := c.do(ctx, http.MethodGet, "/api/check?"+q.Encode(), nil, &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", c.server, err)
	}
	if resp.StatusCode >= 300 {
		return c.apiError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s answered with unexpected JSON: %w", c.server, err)
	}
	return nil
}

// send sends the server a request with the client's credentials and body
// (none when nil) as JSON. Its errors are the transport's: a
// *KerberosError, or the server unreachable.
func (c *Client) send(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.user != "":
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	var kerr *KerberosError
	switch {
	case errors.As(err, &kerr):
		return nil, kerr
	case err != nil:
		return nil, fmt.Errorf("cannot reach the lakegate server at %s: %w", c.server, errors.Unwrap(err))
	}
	return resp, nil
}

// apiError is the error of an answer resp (status 300 or more) whose
// body is data: the API's message if it sent one.
func (c *Client) apiError(resp *http.Response, data []byte) *APIError {
	var e api.ErrorResponse
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		return &APIError{Server: c.server, Status: resp.StatusCode, Message: fmt.Sprintf("%s answered %s", c.server, resp.Status)}
	}
	ae := &APIError{Server: c.server, Status: resp.StatusCode, Message: e.Error, Line: e.Line, Column: e.Column,
		tokenHint: resp.StatusCode == http.StatusUnauthorized && c.user == "" && c.kerberosSPN == "",
		sentToken: c.token != ""}
	if c.kerberosSPN != "" {
		ae.hint = "the server refused the Kerberos ticket for " + c.kerberosSPN + "; if its principal is another, pass --spn"
	}
	return ae
}
