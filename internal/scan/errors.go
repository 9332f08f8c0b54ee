package scan

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is.
var (
	// ErrRefused is a query lakegate does not run: not one read-only
	// SELECT, a table function, a table not named db.table… The error is
	// a *RefusedError with the reason.
	ErrRefused = errors.New("scan: query refused")
	// ErrLimit is a query stopped by one of Options' limits (bytes read,
	// files, time): a *LimitError. Rows beyond MaxRows are not an error
	// but a truncated Result.
	ErrLimit = errors.New("scan: limit reached")
	// ErrQuery is DuckDB refusing or failing the user's statement (a
	// syntax error, an unknown column, a division by zero): a *QueryError.
	ErrQuery = errors.New("scan: query failed")
	// ErrUnsupported is a table lakegate cannot read (ORC, AVRO, an
	// unknown format or column type).
	ErrUnsupported = errors.New("scan: unsupported table")
)

// RefusedError is a refused query.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "scan: query refused: " + e.Reason }

// Is matches ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// LimitError is a limit a query reached: Limit names it ("bytes",
// "files", "timeout"), Max its value.
type LimitError struct {
	Limit string
	Max   string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("scan: limit reached: %s (%s)", e.Limit, e.Max)
}

// Is matches ErrLimit.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// QueryError is the database's error for the user's statement.
type QueryError struct{ Err error }

func (e *QueryError) Error() string { return "scan: query failed: " + e.Err.Error() }

func (e *QueryError) Unwrap() error { return e.Err }

// Is matches ErrQuery.
func (e *QueryError) Is(target error) bool { return target == ErrQuery }
