package jwtauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/lakegate/lakegate/internal/identity"
)

// remoteValidator asks Okera's JWT_AUTHENTICATION_SERVER_URL endpoint
// whether a token is valid (seed 002): a POST with the token as bearer
// credential, answered with JSON holding the user name as "sub".
type remoteValidator struct {
	url    string
	client *http.Client
}

// authenticate returns the identity the endpoint vouches for. A 2xx
// answer must be a JSON object with a non-empty string "sub", else the
// token is refused; it may hold "groups" (a list of strings or a
// comma-separated string), which become Identity.Groups. Any other status
// below 500 refuses the token. Transport failures, 5xx answers and a 2xx
// answer that is not a JSON object are technical errors: nothing can be
// concluded about the token.
func (r *remoteValidator) authenticate(ctx context.Context, token string) (identity.Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, http.NoBody)
	if err != nil {
		return identity.Identity{}, fmt.Errorf("remote endpoint: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return identity.Identity{}, fmt.Errorf("remote endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return identity.Identity{}, fmt.Errorf("remote endpoint: reading the answer: %w", err)
	}
	switch {
	case resp.StatusCode >= 500:
		return identity.Identity{}, fmt.Errorf("remote endpoint answered %s", resp.Status)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return identity.Identity{}, fmt.Errorf("%w (HTTP %d)", ErrRemoteRefused, resp.StatusCode)
	case len(body) > maxDocumentBytes:
		return identity.Identity{}, fmt.Errorf("remote endpoint: answer longer than %d bytes", maxDocumentBytes)
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil || answer == nil {
		return identity.Identity{}, fmt.Errorf("remote endpoint answered %d with something other than a JSON object", resp.StatusCode)
	}
	sub, _ := answer["sub"].(string)
	if sub == "" {
		return identity.Identity{}, fmt.Errorf("%w: its answer has no sub", ErrRemoteRefused)
	}
	groups, err := parseGroups(answer["groups"])
	if err != nil {
		return identity.Identity{}, fmt.Errorf("remote endpoint's answer: %w", err)
	}
	return identity.Identity{User: sub, Groups: groups, Method: Method}, nil
}
