package tickets

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// adminGuard returns the check that keeps a change from leaving no active admin: nobody could
// then manage users, mailboxes or settings from the pages, and only the command line could undo
// it. It looks before the change whether the user is an active admin whom the change could
// demote or disable, under a lock that makes two admins demoting each other at once take turns;
// the check it returns runs after the change, in the same transaction.
func adminGuard(tx *gorm.DB, id int64, c UserChange) (func() error, error) {
	ok := func() error { return nil }
	if (c.Role == nil || *c.Role == RoleAdmin) && (c.Disabled == nil || !*c.Disabled) {
		return ok, nil
	}
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('tickets.users.admins'))`).Error; err != nil {
		return nil, fmt.Errorf("lock admins: %w", err)
	}
	var wasAdmin []bool
	if err := tx.Raw(`SELECT role = ? AND disabled_at IS NULL FROM users WHERE id = ?`, RoleAdmin, id).Scan(&wasAdmin).Error; err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if len(wasAdmin) == 0 || !wasAdmin[0] {
		return ok, nil
	}
	return func() error {
		var admins int64
		if err := tx.Raw(`SELECT count(*) FROM users WHERE role = ? AND disabled_at IS NULL`, RoleAdmin).Scan(&admins).Error; err != nil {
			return fmt.Errorf("count admins: %w", err)
		}
		if admins > 0 {
			return nil
		}
		field := "role"
		if c.Role == nil || *c.Role == RoleAdmin {
			field = "disabled"
		}
		return &ConflictError{Field: field, Message: "this would leave no active admin; make someone else an admin first"}
	}, nil
}

// TokenInfo describes an API token for the admin pages: never its secret or hash.
type TokenInfo struct {
	ID         int64
	Name       string
	UserID     int64
	UserName   string
	UserEmail  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Tokens lists every API token with its owner, the ones still working first, newest first.
func (s *Staff) Tokens(ctx context.Context) ([]TokenInfo, error) {
	var out []TokenInfo
	err := s.db.WithContext(ctx).Raw(`SELECT t.id, t.name, t.user_id, u.name AS user_name, u.email AS user_email,
			t.created_at, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC
		LIMIT 1000`).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: list tokens: %w", err)
	}
	return out, nil
}

// User returns one user.
func (s *Staff) User(ctx context.Context, id int64) (*User, error) {
	var u []User
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&u).Error; err != nil {
		return nil, fmt.Errorf("tickets: get user: %w", err)
	}
	if len(u) == 0 {
		return nil, ErrNotFound
	}
	return &u[0], nil
}
