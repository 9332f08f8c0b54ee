// Package store is lakegate's policy store: the durable state every proxy and
// server shares (issued access keys, roles and grants, users, REST tokens and
// shared secrets; the catalog).
// The implementation, SQL, sits on database/sql with SQL written once with ?
// placeholders; a dialect holds what differs between SQLite (pure Go,
// embedded, one server), PostgreSQL (pgx) and MySQL/MariaDB
// (go-sql-driver/mysql), on which several servers may share one database.
// Each dialect has its own goose migrations (migrations/<dialect>), with the
// same tables, applied at start under a database lock. All three pass the
// one conformance suite in internal/store/storetest.
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
	// ErrUnavailable means the database cannot be reached (refused, reset
	// or lost connections, a server shutting down or starting up, too many
	// connections): a transient failure, answered 503 so that clients
	// retry. Drivers wrap it with Unavailable; check with IsUnavailable.
	ErrUnavailable = errors.New("store: database unavailable")
	// ErrNotEmpty means a record holds others: DropDatabase without
	// cascade on a database with tables, Import into a store that holds
	// data.
	ErrNotEmpty = errors.New("store: not empty")
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
	// SessionGroups, when non-nil, are the groups resolved when the key
	// was issued for an authenticated session (a JWT's groups claim, an
	// LDAP lookup); requests made with the key act with them. Nil means
	// the user's groups come from the users table.
	SessionGroups []string
	// SessionGroupsFold says the session's groups came from a source whose
	// names are case-insensitive (a JWT claim, a REST resolver, LDAP).
	SessionGroupsFold bool
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
	// ListAccessKeyIDs returns the ids of userName's keys ("" for all
	// users) in the same order, reading no secret (so that revoking a user
	// needs no decryption).
	ListAccessKeyIDs(ctx context.Context, userName string) ([]string, error)
	// DeleteAccessKey removes the key or returns an error wrapping
	// ErrNotFound.
	DeleteAccessKey(ctx context.Context, accessKeyID string) error
	// DeleteExpiredAccessKeys removes keys whose ExpiresAt is set and not
	// after now, returning how many it removed.
	DeleteExpiredAccessKeys(ctx context.Context, now time.Time) (int, error)

	PolicyStore

	// Exporter lists, exports and imports everything (export.go).
	Exporter

	// Close releases the database.
	Close() error
}

// Grant is one privilege held by a role on one object, as stored: one row
// per privilege, so that revoking one privilege of a multi-privilege grant
// leaves the others. Field values are canonical text produced by the grant
// language's printer; the store compares them exactly.
type Grant struct {
	Role string
	// Privilege is a single keyword: ALL, SELECT, INSERT, SHOW, DELETE,
	// CREATE, DROP or ALTER.
	Privilege string
	// ObjectKind is URI, SERVER, DATABASE or TABLE.
	ObjectKind string
	// Object names the object: "s3://bucket/path" for URI, "" for SERVER,
	// "db" for DATABASE, "db.table" for TABLE.
	Object string
	// Columns is the comma-separated column subset of a table grant; ""
	// means every column.
	Columns string
	// RowFilter is the WHERE predicate of a table grant; "" means none.
	RowFilter string
	// Options is the canonical text of the grant's HAVING ATTRIBUTE and
	// TRANSFORM clauses (e.g. "HAVING ATTRIBUTE IN (pii) TRANSFORM ssn
	// WITH mask_last(4)"); "" means none. It is part of the grant's
	// identity like every other field: two grants that differ only in
	// Options are two rows.
	Options string
}

// RoleRecord is one role with everything attached to it.
type RoleRecord struct {
	Name string
	// Groups the role is granted to, sorted.
	Groups []string
	// Grants held by the role, ordered by object kind, object, columns,
	// row filter, options, privilege.
	Grants []Grant
}

// User is a lakegate user and the groups it belongs to. Until identity
// providers resolve groups, this record is where a user's groups come from.
type User struct {
	Name string
	// Groups, sorted and distinct.
	Groups []string
	// CreatedAt is set by the store on create when zero.
	CreatedAt time.Time
}

// PolicyData is a consistent snapshot of the policy: every role and every
// user, read in one transaction, with the version it reflects.
type PolicyData struct {
	// Version increases with every committed UpdatePolicy.
	Version int64
	// Roles ordered by name.
	Roles []RoleRecord
	// Users ordered by name.
	Users []User
	// Databases of the catalog ordered by name.
	Databases []Database
	// Tables of the catalog ordered by database and name, each with its
	// partitions.
	Tables []Table
}

// Token is a REST bearer token. Only its SHA-256 is stored: the raw token
// is shown once, when it is issued.
type Token struct {
	// Hash is the lower-case hex SHA-256 of the raw token.
	Hash     string
	UserName string
	// CreatedAt is set by the store on create when zero.
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time
	// SessionGroups and SessionGroupsFold are, as on AccessKey, the groups
	// resolved when the token was issued for an authenticated session (a
	// JWT's groups claim); nil means the user's groups are resolved when
	// the token is used.
	SessionGroups     []string
	SessionGroupsFold bool
}

// PolicyTx changes the policy inside one transaction (Store.UpdatePolicy).
// Names are compared exactly (case-sensitive).
type PolicyTx interface {
	// CreateRole adds an empty role, or fails with ErrExists.
	CreateRole(ctx context.Context, name string) error
	// DropRole removes a role with its grants and group links, or fails
	// with ErrNotFound.
	DropRole(ctx context.Context, name string) error
	// RoleExists reports whether the role exists.
	RoleExists(ctx context.Context, name string) (bool, error)
	// GrantRoleToGroup links role to group; linking twice is not an error.
	// It fails with ErrNotFound when the role does not exist.
	GrantRoleToGroup(ctx context.Context, role, group string) error
	// RevokeRoleFromGroup unlinks role from group, or fails with
	// ErrNotFound when they are not linked.
	RevokeRoleFromGroup(ctx context.Context, role, group string) error
	// AddGrant stores g; storing an identical grant (equal in all seven
	// fields) twice is not an error. It fails with ErrNotFound when g.Role
	// does not exist.
	AddGrant(ctx context.Context, g Grant) error
	// RemoveGrants deletes the grants equal to g in every field (Options
	// included), except that an empty g.Privilege matches every
	// privilege, and returns how many it deleted (zero is not an error).
	RemoveGrants(ctx context.Context, g Grant) (int, error)
	// RemoveObjectPrivilegeGrants deletes role's grants on the object of
	// this kind and name whatever their columns, row filter and options:
	// those of privilege, or of every privilege when privilege is "". It
	// returns how many it deleted (zero is not an error). The object name
	// matches as in RemoveGrants (DATABASE and TABLE names
	// case-insensitively).
	RemoveObjectPrivilegeGrants(ctx context.Context, role, kind, object, privilege string) (int, error)
	// PutUser creates u or replaces the groups of the user with that name.
	PutUser(ctx context.Context, u User) error
	// DeleteUser removes the user, its access keys and its tokens, or
	// fails with ErrNotFound.
	DeleteUser(ctx context.Context, name string) error

	// The catalog (catalog.go). Names are stored as given: the caller
	// lower-cases them.

	// CreateDatabase adds db, or fails with ErrExists.
	CreateDatabase(ctx context.Context, db Database) error
	// GetDatabase returns the database or an error wrapping ErrNotFound.
	GetDatabase(ctx context.Context, name string) (Database, error)
	// DropDatabase removes the database, or fails with ErrNotFound, or
	// with ErrNotEmpty when it has tables and cascade is false. With
	// cascade its tables and their partitions go too; grants on them stay
	// (the caller removes those with RemoveObjectGrants).
	DropDatabase(ctx context.Context, name string, cascade bool) error
	// ListTables returns the names of the database's tables, byte-sorted,
	// or an error wrapping ErrNotFound when the database does not exist.
	ListTables(ctx context.Context, database string) ([]string, error)
	// CreateTable adds t (its Partitions are ignored), or fails with
	// ErrExists, or with ErrNotFound when t.Database does not exist. It
	// refuses, with an error wrapping ErrTooLarge, a definition whose
	// encoded columns and properties exceed 4 MiB, or a name, location
	// or comment beyond the store's bounds (catalog.go); PutTable,
	// CreateDatabase and AddPartition too.
	CreateTable(ctx context.Context, t Table) error
	// GetTable returns the table with its partitions, or an error wrapping
	// ErrNotFound.
	GetTable(ctx context.Context, database, name string) (Table, error)
	// PutTable replaces the definition of an existing table (every field
	// but its partitions, CreatedAt kept when t.CreatedAt is zero), or
	// fails with ErrNotFound.
	PutTable(ctx context.Context, t Table) error
	// RenameTable moves a table, with its partitions, to newDatabase as
	// newName. It fails with ErrNotFound when the table or newDatabase does
	// not exist, with ErrExists when the target name is taken. Grants
	// are not changed (see RenameObjectGrants).
	RenameTable(ctx context.Context, database, name, newDatabase, newName string) error
	// DropTable removes a table with its partitions, or fails with
	// ErrNotFound. Grants are not changed.
	DropTable(ctx context.Context, database, name string) error
	// AddPartition adds p to the table, or fails with ErrExists (same
	// Spec) or ErrNotFound (no such table).
	AddPartition(ctx context.Context, database, table string, p Partition) error
	// DropPartition removes the partition with this spec, or fails with
	// ErrNotFound.
	DropPartition(ctx context.Context, database, table, spec string) error
	// RemoveObjectGrants deletes every grant (any role, privilege,
	// columns, filter, options) on the object of this kind and name, and returns
	// how many it deleted.
	RemoveObjectGrants(ctx context.Context, kind, object string) (int, error)
	// RenameObjectGrants moves every grant on the object of this kind from
	// oldObject to newObject and returns how many rows it changed; a grant
	// identical to one already on newObject is deleted instead.
	RenameObjectGrants(ctx context.Context, kind, oldObject, newObject string) (int, error)
}

// PolicyStore is the policy half of the store.
type PolicyStore interface {
	// UpdatePolicy runs fn in one transaction. When fn returns nil the
	// changes are committed and the policy version is increased, so every
	// process sharing the database can see that its snapshot is stale;
	// when fn returns an error nothing is changed and that error is
	// returned as is. Updates are serialized: what fn reads stays true
	// until it commits. When the database aborts the transaction for a
	// conflict with another (a deadlock, a serialization failure), fn runs
	// again in a new one, a bounded number of times: fn must not retain tx
	// nor have effects outside it that a second run would repeat.
	UpdatePolicy(ctx context.Context, fn func(tx PolicyTx) error) error
	// LoadPolicy returns a consistent snapshot of all roles, users and
	// the catalog.
	LoadPolicy(ctx context.Context) (PolicyData, error)
	// PolicyVersion returns the current version; it is cheap enough to
	// poll every second.
	PolicyVersion(ctx context.Context) (int64, error)
	// GetUser returns the user or an error wrapping ErrNotFound.
	GetUser(ctx context.Context, name string) (User, error)

	// CreateToken stores t, failing with ErrExists when the hash is taken.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns the token with this hash (expired ones too) or an
	// error wrapping ErrNotFound.
	GetToken(ctx context.Context, hash string) (Token, error)
	// DeleteTokens removes every token of userName, returning how many.
	DeleteTokens(ctx context.Context, userName string) (int, error)

	// EnsureSecret stores value under name unless a value is stored
	// already, and returns the stored value. Every process sharing the
	// database thus agrees on one secret (e.g. the key that seals list
	// continuation tokens).
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}
