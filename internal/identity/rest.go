package identity

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
)

// RESTGroups defaults.
const (
	DefaultRESTTimeout      = 10 * time.Second
	DefaultRESTMaxBodyBytes = 1 << 20
)

// RESTOptions configure a RESTGroups. Zero values select the defaults.
type RESTOptions struct {
	// URL is OKERA_GROUP_RESOLVER_URL: an absolute http or https URL
	// without query or fragment, to which "/<user>" is appended.
	URL string
	// Client sends the requests; nil means a client of its own.
	Client *http.Client
	// Timeout bounds one lookup, response body included; zero means
	// DefaultRESTTimeout.
	Timeout time.Duration
	// MaxBodyBytes bounds the response body; a longer one is an error.
	// Zero means DefaultRESTMaxBodyBytes.
	MaxBodyBytes int64
}

// Validate reports every problem with o, joined; it changes nothing.
func (o RESTOptions) Validate() error {
	var errs []error
	if o.URL == "" {
		errs = append(errs, errors.New("identity: group resolver URL is empty"))
	} else if u, err := url.Parse(o.URL); err != nil {
		errs = append(errs, fmt.Errorf("identity: group resolver URL: %w", err))
	} else {
		if u.Scheme != "http" && u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("identity: group resolver URL %s: scheme must be http or https", u.Redacted()))
		}
		if u.Host == "" {
			errs = append(errs, fmt.Errorf("identity: group resolver URL %s: no host", u.Redacted()))
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("identity: group resolver URL %s: the user is appended to the path, so a query or fragment cannot be kept", u.Redacted()))
		}
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("identity: group resolver timeout %v is negative", o.Timeout))
	}
	if o.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("identity: group resolver body limit %d is negative", o.MaxBodyBytes))
	}
	return errors.Join(errs...)
}

// RESTGroups is seed 002's approach 3: it asks the REST service at
// OKERA_GROUP_RESOLVER_URL for a user's groups with
//
//	GET <url>/<user>
//	Accept: application/json
//
// where <user> is url.PathEscape(user), so a "/" in a name cannot reach
// another path ("." and ".." are refused for the same reason). Seed 002
// calls the answer "a JSON list of Strings" and shows it under a "groups"
// key, so both {"groups": ["a", "b"]} and ["a", "b"] are accepted; an
// object without "groups", a non-2xx status, a body over MaxBodyBytes or
// anything that is not one JSON value of those shapes is an error. The
// names are returned as the service sent them; the Resolver compares them
// case-insensitively.
type RESTGroups struct {
	base    string // URL without a trailing "/"
	client  *http.Client
	timeout time.Duration
	maxBody int64
}

var _ GroupResolver = (*RESTGroups)(nil)

// NewRESTGroups returns a RESTGroups for o, or o.Validate's error.
func NewRESTGroups(o RESTOptions) (*RESTGroups, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := &RESTGroups{
		base:    strings.TrimRight(o.URL, "/"),
		client:  o.Client,
		timeout: o.Timeout,
		maxBody: o.MaxBodyBytes,
	}
	if r.client == nil {
		r.client = &http.Client{}
	}
	if r.timeout == 0 {
		r.timeout = DefaultRESTTimeout
	}
	if r.maxBody == 0 {
		r.maxBody = DefaultRESTMaxBodyBytes
	}
	return r, nil
}

// Groups implements GroupResolver.
func (r *RESTGroups) Groups(ctx context.Context, user string) ([]string, error) {
	if user == "" || user == "." || user == ".." {
		return nil, fmt.Errorf("identity: group resolver: user %q cannot be a path segment", user)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/"+url.PathEscape(user), nil)
	if err != nil {
		return nil, fmt.Errorf("identity: group resolver: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		// The client strips any password from the URL in its errors.
		return nil, fmt.Errorf("identity: group resolver: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("identity: group resolver answered %s for %q", resp.Status, user)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("identity: group resolver: reading the answer for %q: %w", user, err)
	}
	if int64(len(body)) > r.maxBody {
		return nil, fmt.Errorf("identity: group resolver: the answer for %q is over %d bytes", user, r.maxBody)
	}
	groups, err := parseRESTGroups(body)
	if err != nil {
		return nil, fmt.Errorf("identity: group resolver: the answer for %q: %w", user, err)
	}
	return groups, nil
}

// parseRESTGroups decodes {"groups": [...]} or [...]. json.Unmarshal
// refuses trailing data, so the body must be exactly one value.
func parseRESTGroups(body []byte) ([]string, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var groups []string
		if err := json.Unmarshal(body, &groups); err != nil {
			return nil, err
		}
		return groups, nil
	}
	var obj struct {
		Groups *[]string `json:"groups"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	if obj.Groups == nil {
		return nil, errors.New(`no "groups" list`)
	}
	return *obj.Groups, nil
}
