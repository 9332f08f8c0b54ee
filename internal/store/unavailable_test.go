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

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

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
