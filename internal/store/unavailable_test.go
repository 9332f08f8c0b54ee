package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// dialTimeout is the error of a TCP dial that timed out.
func dialTimeout(t *testing.T) error {
	t.Helper()
	d := net.Dialer{Timeout: time.Nanosecond}
	_, err := d.Dial("tcp", "192.0.2.1:5432") // TEST-NET-1: never answers
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial: %v, want a timeout", err)
	}
	return err
}

// TestUnavailable: connection failures of every driver are classified as
// ErrUnavailable, and wrapped once; the store's own errors, constraint
// violations and a caller's cancellation are not.
func TestUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"refused", fmt.Errorf("store: get: %w", refused), true},
		{"bad conn", driver.ErrBadConn, true},
		{"mysql invalid conn", mysql.ErrInvalidConn, true},
		{"mysql shutdown", &mysql.MySQLError{Number: 1053, Message: "Server shutdown in progress"}, true},
		{"mysql too many", &mysql.MySQLError{Number: 1040}, true},
		{"mysql duplicate", &mysql.MySQLError{Number: 1062}, false},
		{"pg admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"pg starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"pg connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"pg unique", &pgconn.PgError{Code: "23505"}, false},
		{"pg conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"reset", syscall.ECONNRESET, true},
		{"not found", fmt.Errorf("key: %w", ErrNotFound), false},
		{"canceled", context.Canceled, false},
		// A caller's deadline is not an outage either, though Go's
		// context.DeadlineExceeded is a net.Error.
		{"deadline", context.DeadlineExceeded, false},
		{"deadline wrapped", fmt.Errorf("store: load policy: %w", context.DeadlineExceeded), false},
		{"dial canceled", &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}, false},
		// A network operation's own timeout is one: a dial timeout (which
		// also matches context.DeadlineExceeded), a read deadline (MySQL's
		// readTimeout), pgx's connect_timeout.
		{"dial timeout", dialTimeout(t), true},
		{"read timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{"pg connect timeout", &pgconn.ConnectError{Config: &pgconn.Config{}}, true},
		// Statement timeouts answer 503 on every driver (a load exceeding
		// statement_timeout is transient, like a read timeout).
		{"pg statement timeout", &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}, true},
		{"mysql statement timeout", &mysql.MySQLError{Number: 3024}, true},
		{"mariadb statement timeout", &mysql.MySQLError{Number: 1969}, true},
		{"other", errors.New("syntax error"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsUnavailable(tt.err); got != tt.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			w := Unavailable(tt.err)
			if got := errors.Is(w, ErrUnavailable); got != tt.want {
				t.Errorf("Unavailable(%v) wraps ErrUnavailable: %v, want %v", tt.err, got, tt.want)
			}
			if !errors.Is(w, tt.err) {
				t.Errorf("Unavailable(%v) = %v lost the cause", tt.err, w)
			}
			if again := Unavailable(w); again != w {
				t.Errorf("Unavailable wrapped twice: %v", again)
			}
		})
	}
	if Unavailable(nil) != nil {
		t.Error("Unavailable(nil) != nil")
	}
}
