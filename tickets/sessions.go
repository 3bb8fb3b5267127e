package tickets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Sessions sign staff into the web workspace. A session ends after SessionIdle without use, or
// SessionMax after sign-in, whichever comes first, and at once on sign-out, on a password change,
// and when the user is disabled.
const (
	SessionIdle = 12 * time.Hour
	SessionMax  = 7 * 24 * time.Hour
)

// ErrBadCredentials means an email and password do not sign anybody in. It never says which.
var ErrBadCredentials = errors.New("wrong email or password")

// ErrNoSession means a session secret is unknown, expired or ended.
var ErrNoSession = errors.New("no such session")

// dummyHash is compared against when an address has no account, so that answering takes as long
// as for a real one and timing does not tell which addresses exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no account has this password"), passwordCost)
	return h
})

// CheckPassword returns the active user with this email and password.
func (s *Staff) CheckPassword(ctx context.Context, email, password string) (*User, error) {
	var u User
	addr, _ := NormalizeEmail(email)
	err := s.db.WithContext(ctx).Where("lower(email) = ? AND disabled_at IS NULL", addr).Take(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("tickets: check password: %w", err)
	}
	hash := dummyHash()
	if u.PasswordHash != nil {
		hash = []byte(*u.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u.PasswordHash == nil {
		return nil, ErrBadCredentials
	}
	return &u, nil
}

func newSecret() (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	return secret, sum[:], nil
}

// StartSession signs a user in and returns the secret for their cookie.
func (s *Staff) StartSession(ctx context.Context, userID int64) (string, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return "", fmt.Errorf("tickets: start session: %w", err)
	}
	err = s.db.WithContext(ctx).Exec(`INSERT INTO sessions (user_id, id_hash, expires_at) VALUES (?, ?, now() + make_interval(secs => ?))`,
		userID, hash, SessionIdle.Seconds()).Error
	if err != nil {
		return "", fmt.Errorf("tickets: start session: %w", err)
	}
	return secret, nil
}

// SessionUser returns the active user a session belongs to and keeps the session alive: its
// idle expiry moves forward at most once a minute, so pages stay reads.
func (s *Staff) SessionUser(ctx context.Context, secret string) (*User, error) {
	if secret == "" || len(secret) > 100 {
		return nil, ErrNoSession
	}
	sum := sha256.Sum256([]byte(secret))
	db := s.db.WithContext(ctx)
	var row struct {
		User
		SessionCreatedAt time.Time
		LastSeenAt       time.Time
	}
	err := db.Raw(`SELECT u.*, s.created_at AS session_created_at, s.last_seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = ? AND s.expires_at > now() AND s.created_at > now() - make_interval(secs => ?)
			AND u.disabled_at IS NULL`, sum[:], SessionMax.Seconds()).Scan(&row).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: session: %w", err)
	}
	if row.ID == 0 {
		return nil, ErrNoSession
	}
	if time.Since(row.LastSeenAt) > time.Minute {
		err := db.Exec(`UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => ?) WHERE id_hash = ?`,
			SessionIdle.Seconds(), sum[:]).Error
		if err != nil {
			return nil, fmt.Errorf("tickets: session: %w", err)
		}
	}
	return &row.User, nil
}

// EndSession signs a session out. Ending an unknown session is not an error.
func (s *Staff) EndSession(ctx context.Context, secret string) error {
	sum := sha256.Sum256([]byte(secret))
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM sessions WHERE id_hash = ?`, sum[:]).Error; err != nil {
		return fmt.Errorf("tickets: end session: %w", err)
	}
	return nil
}

// SetPassword gives a user a new password and signs them out everywhere.
func (s *Staff) SetPassword(ctx context.Context, actor Actor, userID int64, password string) error {
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
		if res.Error != nil {
			return fmt.Errorf("tickets: set password: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, userID).Error; err != nil {
			return fmt.Errorf("tickets: set password: %w", err)
		}
		return recordEvent(tx, actor, 0, 0, EventPasswordChanged, map[string]any{"user_id": userID})
	})
}

// hashPassword checks a new password and hashes it.
func hashPassword(password string) (string, error) {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return "", invalid("password", fmt.Sprintf("must be at least %d characters", MinPasswordLength))
	case len(password) > 72:
		// bcrypt reads no further; refusing is better than silently ignoring the rest.
		return "", invalid("password", "must be at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return "", fmt.Errorf("tickets: hash password: %w", err)
	}
	return string(h), nil
}

// PasswordResetTTL is how long a password reset link works.
const PasswordResetTTL = time.Hour

// StartPasswordReset makes a one-time reset secret for the active user with this email. For an
// unknown address it returns ErrNotFound, which callers must not reveal to the asker.
func (s *Staff) StartPasswordReset(ctx context.Context, email string) (string, *User, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", nil, ErrNotFound
	}
	var u User
	err = s.db.WithContext(ctx).Where("lower(email) = ? AND disabled_at IS NULL", addr).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil, ErrNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("tickets: password reset: %w", err)
	}
	secret, hash, err := newSecret()
	if err != nil {
		return "", nil, fmt.Errorf("tickets: password reset: %w", err)
	}
	err = s.db.WithContext(ctx).Exec(`INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES (?, ?, now() + make_interval(secs => ?))`,
		u.ID, hash, PasswordResetTTL.Seconds()).Error
	if err != nil {
		return "", nil, fmt.Errorf("tickets: password reset: %w", err)
	}
	return secret, &u, nil
}

// ResetPassword sets the password of the user a reset secret was made for. A secret works once
// and within PasswordResetTTL.
func (s *Staff) ResetPassword(ctx context.Context, secret, password string) (*User, error) {
	sum := sha256.Sum256([]byte(secret))
	hash, err := hashPassword(password)
	if err != nil {
		return nil, err
	}
	var u User
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var userID int64
		err := tx.Raw(`UPDATE password_resets SET used_at = now()
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > now() RETURNING user_id`, sum[:]).Scan(&userID).Error
		if err != nil {
			return err
		}
		if userID == 0 {
			return invalid("token", "this reset link is unknown, used or expired; ask for a new one")
		}
		if err := tx.Exec(`UPDATE users SET password_hash = ? WHERE id = ? AND disabled_at IS NULL`, hash, userID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, userID).Error; err != nil {
			return err
		}
		if err := tx.Take(&u, userID).Error; err != nil {
			return err
		}
		return recordEvent(tx, Actor{Kind: "user", UserID: userID}, 0, 0, EventPasswordChanged, map[string]any{"user_id": userID, "by": "reset link"})
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: reset password: %w", err)
	}
	return &u, nil
}

// SetLocale sets the language a user's pages are in; "" follows their browser.
func (s *Staff) SetLocale(ctx context.Context, userID int64, locale string) error {
	if locale != "" && locale != "en" && locale != "es" {
		return invalid("locale", "must be en, es or empty")
	}
	if err := s.db.WithContext(ctx).Exec(`UPDATE users SET locale = ? WHERE id = ?`, locale, userID).Error; err != nil {
		return fmt.Errorf("tickets: set locale: %w", err)
	}
	return nil
}

// EndExpiredSessions deletes sessions and reset links that can no longer be used.
func (s *Staff) EndExpiredSessions(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	if err := db.Exec(`DELETE FROM sessions WHERE expires_at < now() OR created_at < now() - make_interval(secs => ?)`, SessionMax.Seconds()).Error; err != nil {
		return fmt.Errorf("tickets: end expired sessions: %w", err)
	}
	if err := db.Exec(`DELETE FROM password_resets WHERE expires_at < now() - interval '1 day'`).Error; err != nil {
		return fmt.Errorf("tickets: end expired resets: %w", err)
	}
	return nil
}
