package store

import (
	"context"
	"fmt"
)

// EnsureSecret implements PolicyStore. The insert does nothing when another
// process got there first, and the select then reads the winner's value,
// so every caller returns the same secret without a transaction.
func (s *SQL) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if value == nil {
		value = []byte{} // a nil slice would be NULL
	}
	if _, err := s.db.ExecContext(ctx, s.d.rebind(s.d.ensureSecret), name, value); err != nil {
		return nil, fmt.Errorf("store: ensure secret %s: %w", name, err)
	}
	var stored []byte
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT value FROM secrets WHERE name = ?`), name).Scan(&stored)
	if err != nil {
		return nil, fmt.Errorf("store: ensure secret %s: %w", name, err)
	}
	return stored, nil
}
