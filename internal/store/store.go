// Package store is lakegate's policy store: the durable state every proxy and
// server shares (today issued access keys; later roles, grants, the catalog).
// Implementations sit on database/sql with SQL that is dialect neutral where
// it can be; SQLite (pure Go, embedded) is the only driver so far, PostgreSQL
// and MySQL follow and must pass the same conformance suite in
// internal/store/storetest.
//
// Consumers declare the narrow interfaces they need (see
// internal/credentials); Store below is the full surface an implementation
// provides and the conformance suite checks.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors, wrapped by every implementation.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists means a record with the same key already exists.
	ErrExists = errors.New("store: already exists")
)

// AccessKey is an AWS-style key pair issued to a user.
//
// The secret is stored as is: SigV4 verification needs the raw secret to
// compute the expected signature, so it cannot be hashed. Protect the
// database accordingly (the SQLite file is created mode 0600).
type AccessKey struct {
	AccessKeyID     string
	SecretAccessKey string
	// UserName is the lakegate user the key acts as.
	UserName string
	// SessionToken, when set, must accompany every request made with the key.
	SessionToken string
	// CreatedAt is set by the store on create when zero.
	CreatedAt time.Time
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time
}

// Store is the whole policy store. Times are stored in UTC with millisecond
// precision. Implementations are safe for concurrent use by several
// goroutines and several processes sharing one database.
type Store interface {
	// CreateAccessKey inserts k; it fails with ErrExists when the id is taken.
	CreateAccessKey(ctx context.Context, k AccessKey) error
	// PutAccessKey inserts k or replaces the record with the same id.
	PutAccessKey(ctx context.Context, k AccessKey) error
	// GetAccessKey returns the key or an error wrapping ErrNotFound. It
	// returns expired keys too: expiry is the caller's decision.
	GetAccessKey(ctx context.Context, accessKeyID string) (AccessKey, error)
	// ListAccessKeys returns the keys of userName ("" for all users) ordered
	// by access key id.
	ListAccessKeys(ctx context.Context, userName string) ([]AccessKey, error)
	// DeleteAccessKey removes the key or returns an error wrapping
	// ErrNotFound.
	DeleteAccessKey(ctx context.Context, accessKeyID string) error
	// DeleteExpiredAccessKeys removes keys whose ExpiresAt is set and not
	// after now, returning how many it removed.
	DeleteExpiredAccessKeys(ctx context.Context, now time.Time) (int, error)
	// Close releases the database.
	Close() error
}
