package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable returns err wrapped with ErrUnavailable when it shows that
// the database cannot be reached or did not answer in time (see
// connectionLost), else err as it is. ListenPolicy reports its losses
// through it. The store's other methods return drivers' errors as they
// are: the proxy, the REST API and the internal API classify them with
// IsUnavailable, which applies the same rules, to answer 503 instead of
// 500 (or, worse, a denial).
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !connectionLost(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// IsUnavailable reports whether err means the database cannot be reached:
// it wraps ErrUnavailable, or it is a connection failure a driver did not
// wrap.
func IsUnavailable(err error) bool {
	return err != nil && (errors.Is(err, ErrUnavailable) || connectionLost(err))
}

// connectionLost classifies driver and network errors. A caller's
// context ending is not an outage: the caller gave up (or ran out of its
// own time), the database may be fine. It is checked first, since Go's
// context.DeadlineExceeded is itself a net.Error; only a network
// operation's own timeout (a dial or read deadline, which Go reports as
// matching context.DeadlineExceeded too) or a failed connection attempt
// counts. A statement timeout (PostgreSQL's statement_timeout, MySQL's
// max_execution_time, MariaDB's max_statement_time) counts on every
// driver, like a read timeout: the database is too slow to answer now.
func connectionLost(err error) bool {
	var (
		netErr   net.Error
		opErr    *net.OpError
		pgConn   *pgconn.ConnectError
		pgErr    *pgconn.PgError
		mysqlErr *mysql.MySQLError
	)
	if errors.Is(err, context.Canceled) ||
		(errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &opErr) && !errors.As(err, &pgConn)) {
		return false
	}
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &pgConn), errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down or starting up; 53300: too many connections;
		// 57014: query_canceled, here statement_timeout (a caller's
		// cancellation ends in its context's error, checked above).
		return strings.HasPrefix(pgErr.Code, "08") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" ||
			pgErr.Code == "53300" || pgErr.Code == "57014"
	case errors.As(err, &mysqlErr):
		switch mysqlErr.Number {
		case 1040, // ER_CON_COUNT_ERROR: too many connections
			1053, // ER_SERVER_SHUTDOWN
			1077, // ER_NORMAL_SHUTDOWN
			1079, // ER_SHUTDOWN_COMPLETE
			1152, // ER_ABORTING_CONNECTION
			1927, // ER_CONNECTION_KILLED (MariaDB)
			4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
			3024, // ER_QUERY_TIMEOUT: max_execution_time exceeded (MySQL)
			1969: // ER_STATEMENT_TIMEOUT: max_statement_time exceeded (MariaDB)
			return true
		}
	}
	// pgx's errors that happened before anything was sent.
	return pgconn.SafeToRetry(err)
}
