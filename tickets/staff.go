package tickets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Staff keeps users, their API tokens, and teams.
type Staff struct {
	db     *gorm.DB
	tokens tokenCache
}

// NewStaff returns the staff directory kept in db.
func NewStaff(db *gorm.DB) *Staff { return &Staff{db: db} }

// tokenTTL is how long a verified token is believed without asking the database again. A token
// revoked on another node keeps working at most this long there; on this node, at once.
const tokenTTL = 10 * time.Second

// tokenCache remembers recently verified tokens, so that an API client's requests do not each
// cost a query before their real work.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedToken
}

type cachedToken struct {
	user  User
	until time.Time
}

func (c *tokenCache) get(hash [32]byte, now time.Time) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.After(e.until) {
		return User{}, false
	}
	return e.user, true
}

func (c *tokenCache) put(hash [32]byte, u User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A bound keeps a flood of distinct tokens from growing the map; starting over is cheap.
	if c.entries == nil || len(c.entries) >= 10000 {
		c.entries = make(map[[32]byte]cachedToken)
	}
	c.entries[hash] = cachedToken{user: u, until: now.Add(tokenTTL)}
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

// NewUser is a member of staff to create.
type NewUser struct {
	Email    string
	Name     string
	Role     Role
	Password string // empty: the user signs in with API tokens only, until a password is set
}

// passwordCost is bcrypt's work factor: about a quarter second per sign-in on current hardware.
const passwordCost = 12

// MinPasswordLength keeps passwords out of the reach of online guessing.
const MinPasswordLength = 12

// CreateUser adds a member of staff. actor is who does it (SystemActor from the command line).
func (s *Staff) CreateUser(ctx context.Context, actor Actor, in NewUser) (*User, error) {
	var v ValidationError
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		v.Add("email", err.Error())
	}
	name := cleanLine(in.Name)
	switch {
	case name == "":
		v.Add("name", "is required")
	case utf8.RuneCountInString(name) > 200:
		v.Add("name", "must be at most 200 characters")
	}
	if !in.Role.Valid() {
		v.Add("role", "must be one of admin, supervisor, agent")
	}
	var hash *string
	if in.Password != "" {
		h, err := hashPassword(in.Password)
		var pv *ValidationError
		switch {
		case errors.As(err, &pv):
			v.Fields = append(v.Fields, pv.Fields...)
		case err != nil:
			return nil, err
		default:
			hash = &h
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var u User
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Raw(`INSERT INTO users (email, name, role, password_hash) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING *`, email, name, in.Role, hash).Scan(&u).Error
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		if u.ID == 0 {
			return &ConflictError{Field: "email", Message: "a user with this email already exists"}
		}
		return recordEvent(tx, actor, 0, 0, EventUserCreated, map[string]any{"user_id": u.ID, "email": u.Email, "role": u.Role})
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: create user: %w", err)
	}
	return &u, nil
}

// Users lists every user, active first, by name.
func (s *Staff) Users(ctx context.Context) ([]User, error) {
	var users []User
	err := s.db.WithContext(ctx).Order("disabled_at IS NOT NULL, lower(name), id").Find(&users).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: list users: %w", err)
	}
	return users, nil
}

// tokenPrefix marks our tokens so that secret scanners and people can recognise them.
const tokenPrefix = "hd_"

// APIToken is a stored token; the secret itself is never stored.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	TokenHash  []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// CreateToken issues an API token for a user and returns its secret, which is shown this once.
func (s *Staff) CreateToken(ctx context.Context, actor Actor, userID int64, name string) (string, *APIToken, error) {
	name = cleanLine(name)
	if name == "" {
		name = "api"
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("tickets: create token: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	tok := APIToken{UserID: userID, Name: name, TokenHash: digest([]byte(secret))}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := mustExist(tx, "users", userID, "user_id", "no such user"); err != nil {
			return err
		}
		err := tx.Raw(`INSERT INTO api_tokens (user_id, name, token_hash) VALUES (?, ?, ?) RETURNING id, created_at`,
			tok.UserID, tok.Name, tok.TokenHash).Row().Scan(&tok.ID, &tok.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		return recordEvent(tx, actor, 0, 0, EventTokenCreated, map[string]any{"token_id": tok.ID, "user_id": userID, "name": name})
	})
	if err != nil {
		return "", nil, fmt.Errorf("tickets: create token: %w", err)
	}
	return secret, &tok, nil
}

// ErrBadToken means a token is unknown, revoked, or belongs to a disabled user.
var ErrBadToken = errors.New("invalid or revoked API token")

// Authenticate returns the active user a token belongs to. One indexed lookup by the token's
// SHA-256, remembered for tokenTTL; last use is written at most once a minute.
func (s *Staff) Authenticate(ctx context.Context, secret string) (*User, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 100 {
		return nil, ErrBadToken
	}
	hash := sha256.Sum256([]byte(secret))
	now := time.Now()
	if u, ok := s.tokens.get(hash, now); ok {
		return &u, nil
	}
	db := s.db.WithContext(ctx)
	var row struct {
		User
		TokenID    int64
		LastUsedAt *time.Time
	}
	err := db.Raw(`SELECT u.*, t.id AS token_id, t.last_used_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.disabled_at IS NULL`, hash[:]).Scan(&row).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: authenticate: %w", err)
	}
	if row.TokenID == 0 {
		return nil, ErrBadToken
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) > time.Minute {
		if err := db.Exec(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now, row.TokenID).Error; err != nil {
			return nil, fmt.Errorf("tickets: authenticate: %w", err)
		}
	}
	s.tokens.put(hash, row.User, now)
	return &row.User, nil
}

// RevokeToken stops a token from working.
func (s *Staff) RevokeToken(ctx context.Context, actor Actor, tokenID int64) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var userID int64
		err := tx.Raw(`UPDATE api_tokens SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL RETURNING user_id`, tokenID).Scan(&userID).Error
		if err != nil {
			return err
		}
		if userID == 0 {
			return ErrNotFound
		}
		return recordEvent(tx, actor, 0, 0, EventTokenRevoked, map[string]any{"token_id": tokenID, "user_id": userID})
	})
	if err != nil {
		return fmt.Errorf("tickets: revoke token: %w", err)
	}
	// The cache is keyed by secrets we no longer know; revocations are rare, so forget them all.
	s.tokens.clear()
	return nil
}

// Token returns a token's description (never its secret).
func (s *Staff) Token(ctx context.Context, id int64) (*APIToken, error) {
	var t APIToken
	err := s.db.WithContext(ctx).Take(&t, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tickets: get token: %w", err)
	}
	return &t, nil
}

// CreateTeam adds a team.
func (s *Staff) CreateTeam(ctx context.Context, actor Actor, name string) (*Team, error) {
	name = cleanLine(name)
	switch {
	case name == "":
		return nil, invalid("name", "is required")
	case utf8.RuneCountInString(name) > 100:
		return nil, invalid("name", "must be at most 100 characters")
	}
	var team Team
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`INSERT INTO teams (name) VALUES (?) ON CONFLICT DO NOTHING RETURNING *`, name).Scan(&team).Error; err != nil {
			return fmt.Errorf("insert team: %w", err)
		}
		if team.ID == 0 {
			return &ConflictError{Field: "name", Message: "a team with this name already exists"}
		}
		return recordEvent(tx, actor, 0, 0, EventTeamCreated, map[string]any{"team_id": team.ID, "name": name})
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: create team: %w", err)
	}
	return &team, nil
}

// Teams lists every team with its members, by name.
func (s *Staff) Teams(ctx context.Context) ([]Team, error) {
	db := s.db.WithContext(ctx)
	var teams []Team
	if err := db.Order("lower(name), id").Find(&teams).Error; err != nil {
		return nil, fmt.Errorf("tickets: list teams: %w", err)
	}
	var members []struct{ TeamID, UserID int64 }
	if err := db.Raw(`SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id`).Scan(&members).Error; err != nil {
		return nil, fmt.Errorf("tickets: list team members: %w", err)
	}
	index := make(map[int64]int, len(teams))
	for i, t := range teams {
		index[t.ID] = i
		teams[i].MemberIDs = []int64{}
	}
	for _, m := range members {
		if i, ok := index[m.TeamID]; ok {
			teams[i].MemberIDs = append(teams[i].MemberIDs, m.UserID)
		}
	}
	return teams, nil
}

// SetMember adds a user to a team (member true) or takes them out. Doing what is already so is
// not an error and records nothing.
func (s *Staff) SetMember(ctx context.Context, actor Actor, teamID, userID int64, member bool) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var teams int64
		if err := tx.Raw(`SELECT count(*) FROM teams WHERE id = ?`, teamID).Scan(&teams).Error; err != nil {
			return err
		}
		if teams == 0 {
			return ErrNotFound
		}
		if err := mustExist(tx, "users", userID, "user_id", "no such user"); err != nil {
			return err
		}
		var res *gorm.DB
		typ := EventTeamMemberAdded
		if member {
			res = tx.Exec(`INSERT INTO team_members (team_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, teamID, userID)
		} else {
			typ = EventTeamMemberRemove
			res = tx.Exec(`DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID)
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		return recordEvent(tx, actor, 0, 0, typ, map[string]any{"team_id": teamID, "user_id": userID})
	})
	if err != nil {
		return fmt.Errorf("tickets: team membership: %w", err)
	}
	return nil
}

// UserChange is what an admin changes about a member of staff; nil fields stay as they are.
type UserChange struct {
	Name             *string
	Role             *Role
	Disabled         *bool
	Languages        *[]string
	Categories       *[]string
	MaxActiveTickets *int
	HandlesVIP       *bool
	Available        *bool
}

// UpdateUser applies a change to a user and records what changed.
func (s *Staff) UpdateUser(ctx context.Context, actor Actor, id int64, c UserChange) (*User, error) {
	var v ValidationError
	sets := map[string]any{}
	if c.Name != nil {
		name := cleanLine(*c.Name)
		switch {
		case name == "":
			v.Add("name", "is required")
		case utf8.RuneCountInString(name) > 200:
			v.Add("name", "must be at most 200 characters")
		}
		sets["name"] = name
	}
	if c.Role != nil {
		if !c.Role.Valid() {
			v.Add("role", "must be one of admin, supervisor, agent")
		}
		sets["role"] = *c.Role
	}
	if c.Disabled != nil {
		sets["disabled_at"] = gorm.Expr("CASE WHEN ? THEN coalesce(disabled_at, now()) END", *c.Disabled)
	}
	if c.Languages != nil {
		langs := make([]string, 0, len(*c.Languages))
		for i, l := range *c.Languages {
			code, err := normalizeLanguage(l)
			if err != nil {
				v.Add(fmt.Sprintf("languages[%d]", i), err.Error())
			}
			if !slices.Contains(langs, code) {
				langs = append(langs, code)
			}
		}
		// Strings, not []string: GORM would spread a plain slice into a list.
		sets["languages"] = Strings(langs)
	}
	if c.Categories != nil {
		sets["categories"] = Strings(cleanCategories(&v, "categories", *c.Categories))
	}
	if c.MaxActiveTickets != nil {
		if *c.MaxActiveTickets < 0 || *c.MaxActiveTickets > 1000 {
			v.Add("max_active_tickets", "must be from 0 to 1000")
		}
		sets["max_active_tickets"] = *c.MaxActiveTickets
	}
	if c.HandlesVIP != nil {
		sets["handles_vip"] = *c.HandlesVIP
	}
	if c.Available != nil {
		sets["available"] = *c.Available
	}
	if len(sets) == 0 {
		v.Add("body", "nothing to change")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var u User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		keepAnAdmin, err := adminGuard(tx, id, c)
		if err != nil {
			return err
		}
		res := tx.Model(&User{}).Where("id = ?", id).Updates(sets)
		if res.Error != nil {
			return fmt.Errorf("update user: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := keepAnAdmin(); err != nil {
			return err
		}
		if err := tx.Take(&u, id).Error; err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		changed := make([]string, 0, len(sets))
		for k := range sets {
			changed = append(changed, k)
		}
		slices.Sort(changed)
		return recordEvent(tx, actor, 0, 0, EventUserUpdated, map[string]any{"user_id": id, "changed": changed})
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: update user: %w", err)
	}
	// A disabled user's tokens must stop at once on this node.
	if c.Disabled != nil && *c.Disabled {
		s.tokens.clear()
		// Sessions check disabled_at on every page; deleting them also frees the rows.
		if err := s.db.WithContext(ctx).Exec(`DELETE FROM sessions WHERE user_id = ?`, id).Error; err != nil {
			return nil, fmt.Errorf("tickets: update user: %w", err)
		}
	}
	return &u, nil
}

// cleanCategories validates a list of category names.
func cleanCategories(v *ValidationError, field string, in []string) []string {
	out := make([]string, 0, len(in))
	for i, c := range in {
		c = cleanLine(c)
		switch {
		case c == "":
			v.Add(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		case utf8.RuneCountInString(c) > 60:
			v.Add(fmt.Sprintf("%s[%d]", field, i), "must be at most 60 characters")
		case !slices.Contains(out, c):
			out = append(out, c)
		}
	}
	return out
}

// UpdateTeam renames a team or sets the categories it takes.
func (s *Staff) UpdateTeam(ctx context.Context, actor Actor, id int64, name *string, categories *[]string) (*Team, error) {
	var v ValidationError
	sets := map[string]any{}
	if name != nil {
		n := cleanLine(*name)
		switch {
		case n == "":
			v.Add("name", "is required")
		case utf8.RuneCountInString(n) > 100:
			v.Add("name", "must be at most 100 characters")
		}
		sets["name"] = n
	}
	if categories != nil {
		sets["categories"] = Strings(cleanCategories(&v, "categories", *categories))
	}
	if len(sets) == 0 {
		v.Add("body", "nothing to change: give name or categories")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var t Team
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if n, ok := sets["name"].(string); ok {
			var clash int64
			if err := tx.Raw(`SELECT count(*) FROM teams WHERE lower(name) = lower(?) AND id <> ?`, n, id).Scan(&clash).Error; err != nil {
				return err
			}
			if clash > 0 {
				return &ConflictError{Field: "name", Message: "a team with this name already exists"}
			}
		}
		res := tx.Model(&Team{}).Where("id = ?", id).Updates(sets)
		if res.Error != nil {
			return fmt.Errorf("update team: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := tx.Take(&t, id).Error; err != nil {
			return err
		}
		return recordEvent(tx, actor, 0, 0, EventTeamUpdated, map[string]any{"team_id": id, "name": t.Name, "categories": []string(t.Categories)})
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: update team: %w", err)
	}
	return &t, nil
}

// Categories lists the ticket categories some team takes, in order.
func (s *Staff) Categories(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT unnest(categories) AS c FROM teams ORDER BY c`).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("tickets: categories: %w", err)
	}
	return out, nil
}
