package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Token errors leave the hash out: it names a credential, and error
// messages end up in logs.

// tokenArgs are t's values for tokenColumns, in order; a zero CreatedAt
// is now.
func tokenArgs(t Token) []any {
	created := t.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	var expires sql.NullInt64
	if !t.ExpiresAt.IsZero() {
		expires = sql.NullInt64{Int64: t.ExpiresAt.UnixMilli(), Valid: true}
	}
	return []any{t.Hash, t.UserName, created.UnixMilli(), expires, encodeSessionGroups(t.SessionGroups, t.SessionGroupsFold)}
}

// CreateToken implements PolicyStore.
func (s *SQL) CreateToken(ctx context.Context, t Token) error {
	n, err := execCount(ctx, s.db, s.d.rebind(s.d.createToken), tokenArgs(t)...)
	if err != nil {
		return fmt.Errorf("store: create token for user %s: %w", t.UserName, s.d.mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("token: %w", ErrExists)
	}
	return nil
}

// GetToken implements PolicyStore.
func (s *SQL) GetToken(ctx context.Context, hash string) (Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.d.rebind(`SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: get token: %w", err)
	}
	return t, nil
}

// DeleteTokens implements PolicyStore.
func (s *SQL) DeleteTokens(ctx context.Context, userName string) (int, error) {
	n, err := execCount(ctx, s.db, s.d.rebind(`DELETE FROM tokens WHERE user_name = ?`), userName)
	if err != nil {
		return 0, fmt.Errorf("store: delete tokens of user %s: %w", userName, err)
	}
	return int(n), nil
}
