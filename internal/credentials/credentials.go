// Package credentials issues and resolves lakegate's AWS-style access keys:
// it generates key pairs, stores them in the policy store, and answers the
// proxy's credential lookups (sigv4.CredentialLookup), optionally through a
// short-lived read-through cache.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakegate/lakegate/internal/identity"
	"github.com/lakegate/lakegate/internal/s3/sigv4"
	"github.com/lakegate/lakegate/internal/store"
)

// Store is what the credential service needs from the policy store.
type Store interface {
	// GetAccessKey returns the key or an error wrapping store.ErrNotFound.
	GetAccessKey(ctx context.Context, accessKeyID string) (store.AccessKey, error)
	// CreateAccessKey inserts a key, failing with store.ErrExists when the
	// id is taken.
	CreateAccessKey(ctx context.Context, k store.AccessKey) error
	// PutAccessKey inserts or replaces a key.
	PutAccessKey(ctx context.Context, k store.AccessKey) error
	// ListAccessKeyIDs returns the ids of a user's keys (reading no
	// secret: revoking must work when a secret does not decrypt).
	ListAccessKeyIDs(ctx context.Context, userName string) ([]string, error)
	// DeleteAccessKey removes a key or returns an error wrapping
	// store.ErrNotFound.
	DeleteAccessKey(ctx context.Context, accessKeyID string) error
	// DeleteTokens removes every token of a user, returning how many.
	DeleteTokens(ctx context.Context, userName string) (int, error)
}

// Service resolves and issues access keys against a Store.
type Service struct {
	store Store
	now   func() time.Time
}

var _ sigv4.CredentialLookup = (*Service)(nil)

// New returns a Service over s.
func New(s Store) *Service {
	return &Service{store: s, now: time.Now}
}

// LookupCredential implements sigv4.CredentialLookup. Unknown keys return an
// error wrapping sigv4.ErrUnknownAccessKey; expired keys are returned with
// their Expires set, for the verifier to reject.
func (s *Service) LookupCredential(ctx context.Context, accessKeyID string) (sigv4.Credential, error) {
	k, err := s.store.GetAccessKey(ctx, accessKeyID)
	if errors.Is(err, store.ErrNotFound) {
		return sigv4.Credential{}, fmt.Errorf("credentials: %s: %w", accessKeyID, sigv4.ErrUnknownAccessKey)
	}
	if err != nil {
		return sigv4.Credential{}, fmt.Errorf("credentials: lookup %s: %w", accessKeyID, err)
	}
	return sigv4.Credential{
		AccessKeyID:       k.AccessKeyID,
		SecretAccessKey:   k.SecretAccessKey,
		SessionToken:      k.SessionToken,
		Expires:           k.ExpiresAt,
		Owner:             k.UserName,
		SessionGroups:     k.SessionGroups,
		SessionGroupsFold: k.SessionGroupsFold,
	}, nil
}

// RevokeUser deletes every access key and token of userName, whether or
// not the users table lists the user (keys from /api/aws-credentials
// belong to users known only to an identity provider). It returns the ids
// of the deleted keys, for caches to drop, and how many tokens it deleted.
func (s *Service) RevokeUser(ctx context.Context, userName string) (keyIDs []string, tokens int, err error) {
	ids, err := s.store.ListAccessKeyIDs(ctx, userName)
	if err != nil {
		return nil, 0, fmt.Errorf("credentials: revoke %s: %w", userName, err)
	}
	for _, id := range ids {
		if err := s.store.DeleteAccessKey(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return keyIDs, 0, fmt.Errorf("credentials: revoke %s: %w", userName, err)
		}
		keyIDs = append(keyIDs, id)
	}
	if tokens, err = s.store.DeleteTokens(ctx, userName); err != nil {
		return keyIDs, 0, fmt.Errorf("credentials: revoke %s: %w", userName, err)
	}
	return keyIDs, tokens, nil
}

// maxIssueAttempts bounds retries on (astronomically unlikely) id collisions.
const maxIssueAttempts = 5

// Issue generates a new key pair for userName, valid for ttl (zero: no
// expiry), stores it and returns it. Requests made with it act with the
// user's groups in the users table.
func (s *Service) Issue(ctx context.Context, userName string, ttl time.Duration) (store.AccessKey, error) {
	return s.IssueSession(ctx, userName, nil, ttl)
}

// IssueSession is Issue for an authenticated session: requests made with
// the key act with groups, resolved when the user authenticated, unless the
// users table lists the user. Nil groups make it Issue.
func (s *Service) IssueSession(ctx context.Context, userName string, groups *identity.Groups, ttl time.Duration) (store.AccessKey, error) {
	if userName == "" {
		return store.AccessKey{}, errors.New("credentials: issue: empty user name")
	}
	now := s.now().UTC()
	for range maxIssueAttempts {
		id, secret := Generate()
		k := store.AccessKey{AccessKeyID: id, SecretAccessKey: secret, UserName: userName, CreatedAt: now}
		if groups != nil {
			k.SessionGroups = append([]string{}, groups.Names...)
			k.SessionGroupsFold = groups.CaseInsensitive
		}
		if ttl > 0 {
			k.ExpiresAt = now.Add(ttl)
		}
		err := s.store.CreateAccessKey(ctx, k)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return store.AccessKey{}, fmt.Errorf("credentials: issue for %s: %w", userName, err)
		}
		return k, nil
	}
	return store.AccessKey{}, fmt.Errorf("credentials: issue for %s: %d id collisions", userName, maxIssueAttempts)
}

// Ensure makes the store hold exactly this non-expiring key pair for
// userName, replacing any key with the same id, e.g. the bootstrap admin key
// from the configuration. A key that is already as wanted is left untouched
// (it keeps its creation time).
func (s *Service) Ensure(ctx context.Context, accessKeyID, secretAccessKey, userName string) error {
	old, err := s.store.GetAccessKey(ctx, accessKeyID)
	switch {
	case err == nil:
		if old.SecretAccessKey == secretAccessKey && old.UserName == userName &&
			old.SessionToken == "" && old.ExpiresAt.IsZero() {
			return nil
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("credentials: ensure %s: %w", accessKeyID, err)
	}
	err = s.store.PutAccessKey(ctx, store.AccessKey{
		AccessKeyID:     accessKeyID,
		SecretAccessKey: secretAccessKey,
		UserName:        userName,
		CreatedAt:       s.now().UTC(),
	})
	if err != nil {
		return fmt.Errorf("credentials: ensure %s: %w", accessKeyID, err)
	}
	return nil
}
