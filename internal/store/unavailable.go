package store

import (
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
// the database cannot be reached (see connectionLost), else err as it is.
// Drivers pass every error they return through it, so that the proxy and
// the REST API can answer 503 instead of 500 (or, worse, a denial).
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

// connectionLost classifies driver and network errors. A context's end is
// not one: the caller gave up, the database may be fine.
func connectionLost(err error) bool {
	var (
		netErr   net.Error
		pgConn   *pgconn.ConnectError
		pgErr    *pgconn.PgError
		mysqlErr *mysql.MySQLError
	)
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
		// shutting down or starting up; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" ||
			pgErr.Code == "53300"
	case errors.As(err, &mysqlErr):
		switch mysqlErr.Number {
		case 1040, // ER_CON_COUNT_ERROR: too many connections
			1053, // ER_SERVER_SHUTDOWN
			1077, // ER_NORMAL_SHUTDOWN
			1079, // ER_SHUTDOWN_COMPLETE
			1152, // ER_ABORTING_CONNECTION
			1927, // ER_CONNECTION_KILLED (MariaDB)
			4031: // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
			return true
		}
	}
	// pgx's errors that happened before anything was sent.
	return pgconn.SafeToRetry(err)
}
