package store

import (
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestMySQLErrKind(t *testing.T) {
	for _, tc := range []struct {
		number uint16
		want   errKind
	}{
		{1062, errUnique},
		{1452, errForeignKey},
		{1213, errRetry}, // deadlock
		{1205, errRetry}, // lock wait timeout
		// MariaDB with innodb_snapshot_isolation (the default from 11.6.2):
		// "Record has changed since last read".
		{1020, errRetry},
		{1146, errOther},
	} {
		err := fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: tc.number, Message: "m"})
		if got := mysqlErrKind(err); got != tc.want {
			t.Errorf("mysqlErrKind(%d) = %v, want %v", tc.number, got, tc.want)
		}
	}
}
