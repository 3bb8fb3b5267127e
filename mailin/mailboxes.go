package mailin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// TLSMode is how a connection to a mail server is secured.
type TLSMode string

// The TLS modes.
const (
	TLSNone     TLSMode = "none"     // plain text; for servers on loopback or a trusted network
	TLSStartTLS TLSMode = "starttls" // plain connection upgraded with STARTTLS
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (IMAPS 993, SMTPS 465)
)

func (m TLSMode) valid() bool { return m == TLSNone || m == TLSStartTLS || m == TLSImplicit }

// AfterImport is what happens on the IMAP server to a message once it is committed here.
type AfterImport string

// The after-import actions.
const (
	AfterSeen AfterImport = "seen" // flag \Seen
	AfterMove AfterImport = "move" // move to MoveTo
	AfterNone AfterImport = "none" // leave it as it is
)

// Mailbox is a support address: where we read its mail and how we send as it.
type Mailbox struct {
	ID           int64
	Name         string
	Address      string
	IMAPHost     string `gorm:"column:imap_host"`
	IMAPPort     int    `gorm:"column:imap_port"`
	IMAPTLS      TLSMode
	IMAPUsername string `gorm:"column:imap_username"`
	// SealedIMAPPassword and SealedSMTPPassword are encrypted; Keyring.Open reads them.
	SealedIMAPPassword []byte `gorm:"column:imap_password"`
	Folder             string
	AfterImport        AfterImport
	MoveTo             string
	SMTPHost           string  `gorm:"column:smtp_host"`
	SMTPPort           int     `gorm:"column:smtp_port"`
	SMTPTLS            TLSMode `gorm:"column:smtp_tls"`
	SMTPUsername       string  `gorm:"column:smtp_username"`
	SealedSMTPPassword []byte  `gorm:"column:smtp_password"`
	TeamID             *int64
	Enabled            bool
	UIDValidity        uint32
	LastUID            uint32
	LastError          string
	LastCheckedAt      *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// TableName keeps the table name explicit.
func (Mailbox) TableName() string { return "mailboxes" }

// NewMailbox is a mailbox an admin adds. Ports and TLS modes have defaults; passwords are sealed
// before they are stored and never come back out through the API.
type NewMailbox struct {
	Name    string
	Address string
	TeamID  *int64
	IMAP    ServerSettings
	Folder  string // default INBOX
	// AfterImport is seen (default), none, or move (with MoveTo).
	AfterImport AfterImport
	MoveTo      string
	SMTP        ServerSettings
}

// ServerSettings say how to reach and log in to a mail server.
type ServerSettings struct {
	Host     string
	Port     int     // 0 takes the usual port for the TLS mode
	TLS      TLSMode // default tls
	Username string
	Password string
}

// Mailboxes keeps the configured mailboxes.
type Mailboxes struct {
	db   *gorm.DB
	keys *Keyring
}

// NewMailboxes returns the mailboxes kept in db, with passwords sealed by keys.
func NewMailboxes(db *gorm.DB, keys *Keyring) *Mailboxes {
	return &Mailboxes{db: db, keys: keys}
}

// Add validates and stores a mailbox. Problems name the field by its JSON path (imap.host,
// smtp.port, ...).
func (s *Mailboxes) Add(ctx context.Context, in NewMailbox) (*Mailbox, error) {
	var v tickets.ValidationError
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		v.Add("name", "is required")
	case utf8.RuneCountInString(in.Name) > 100:
		v.Add("name", "must be at most 100 characters")
	}
	addr, err := tickets.NormalizeEmail(in.Address)
	if err != nil {
		v.Add("address", err.Error())
	}
	checkServer(&v, "imap", &in.IMAP, map[TLSMode]int{TLSImplicit: 993, TLSStartTLS: 143, TLSNone: 143}, true)
	checkServer(&v, "smtp", &in.SMTP, map[TLSMode]int{TLSImplicit: 465, TLSStartTLS: 587, TLSNone: 25}, false)
	if in.Folder = strings.TrimSpace(in.Folder); in.Folder == "" {
		in.Folder = "INBOX"
	}
	if in.AfterImport == "" {
		in.AfterImport = AfterSeen
	}
	in.MoveTo = strings.TrimSpace(in.MoveTo)
	switch in.AfterImport {
	case AfterSeen, AfterNone:
		if in.MoveTo != "" {
			v.Add("imap.move_to", "is only used with after_import move")
		}
	case AfterMove:
		if in.MoveTo == "" {
			v.Add("imap.move_to", "is required with after_import move")
		} else if in.MoveTo == in.Folder {
			v.Add("imap.move_to", "must differ from the folder read")
		}
	default:
		v.Add("imap.after_import", "must be seen, move or none")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !s.keys.CanSeal() {
		return nil, &tickets.ConflictError{Field: "imap.password", Message: "the server has no HELPDESK_ENCRYPTION_KEY to encrypt passwords with; set it and restart"}
	}
	m := Mailbox{
		Name: in.Name, Address: addr, TeamID: in.TeamID, Enabled: true,
		IMAPHost: in.IMAP.Host, IMAPPort: in.IMAP.Port, IMAPTLS: in.IMAP.TLS, IMAPUsername: in.IMAP.Username,
		Folder: in.Folder, AfterImport: in.AfterImport, MoveTo: in.MoveTo,
		SMTPHost: in.SMTP.Host, SMTPPort: in.SMTP.Port, SMTPTLS: in.SMTP.TLS, SMTPUsername: in.SMTP.Username,
	}
	if m.SealedIMAPPassword, err = s.keys.Seal(in.IMAP.Password); err != nil {
		return nil, err
	}
	if in.SMTP.Password != "" {
		if m.SealedSMTPPassword, err = s.keys.Seal(in.SMTP.Password); err != nil {
			return nil, err
		}
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if in.TeamID != nil {
			var n int64
			if err := tx.Raw(`SELECT count(*) FROM teams WHERE id = ?`, *in.TeamID).Scan(&n).Error; err != nil {
				return fmt.Errorf("check team: %w", err)
			}
			if n == 0 {
				return &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "team_id", Message: "no such team"}}}
			}
		}
		var clash struct{ Name, Address string }
		if err := tx.Raw(`SELECT name, address FROM mailboxes WHERE lower(name) = lower(?) OR lower(address) = lower(?) LIMIT 1`, m.Name, m.Address).Scan(&clash).Error; err != nil {
			return fmt.Errorf("check mailbox: %w", err)
		}
		if strings.EqualFold(clash.Name, m.Name) {
			return &tickets.ConflictError{Field: "name", Message: "a mailbox with this name exists"}
		}
		if strings.EqualFold(clash.Address, m.Address) {
			return &tickets.ConflictError{Field: "address", Message: "a mailbox with this address exists"}
		}
		return tx.Create(&m).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, &tickets.ConflictError{Field: "name", Message: "a mailbox with this name or address exists"}
	}
	if err != nil {
		return nil, fmt.Errorf("mailin: add mailbox: %w", err)
	}
	return &m, nil
}

func checkServer(v *tickets.ValidationError, prefix string, s *ServerSettings, ports map[TLSMode]int, needLogin bool) {
	s.Host = strings.TrimSpace(s.Host)
	switch {
	case s.Host == "":
		v.Add(prefix+".host", "is required")
	case strings.ContainsAny(s.Host, " /:@") && net.ParseIP(s.Host) == nil:
		v.Add(prefix+".host", "must be a host name or IP address, such as mail.example.com")
	}
	if s.TLS == "" {
		s.TLS = TLSImplicit
	}
	if !s.TLS.valid() {
		v.Add(prefix+".tls", "must be none, starttls or tls")
	}
	if s.Port == 0 {
		s.Port = ports[s.TLS]
	}
	if s.Port < 1 || s.Port > 65535 {
		v.Add(prefix+".port", "must be a port from 1 to 65535")
	}
	s.Username = strings.TrimSpace(s.Username)
	if needLogin && s.Username == "" {
		v.Add(prefix+".username", "is required")
	}
	if needLogin && s.Password == "" {
		v.Add(prefix+".password", "is required")
	}
	if !needLogin && s.Password != "" && s.Username == "" {
		v.Add(prefix+".username", "is required with a password")
	}
}

// List returns every mailbox, oldest first.
func (s *Mailboxes) List(ctx context.Context) ([]Mailbox, error) {
	var out []Mailbox
	if err := s.db.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("mailin: list mailboxes: %w", err)
	}
	return out, nil
}

// Get returns one mailbox.
func (s *Mailboxes) Get(ctx context.Context, id int64) (*Mailbox, error) {
	var m Mailbox
	err := s.db.WithContext(ctx).Take(&m, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, tickets.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mailin: get mailbox: %w", err)
	}
	return &m, nil
}

// IMAPPassword opens a mailbox's IMAP password.
func (s *Mailboxes) IMAPPassword(m *Mailbox) (string, error) {
	return s.keys.Open(m.SealedIMAPPassword)
}

// SMTPPassword opens a mailbox's SMTP password; "" when it has none.
func (s *Mailboxes) SMTPPassword(m *Mailbox) (string, error) {
	if len(m.SealedSMTPPassword) == 0 {
		return "", nil
	}
	return s.keys.Open(m.SealedSMTPPassword)
}

// Rekey reseals every password that an old key sealed with the current key, and returns how
// many mailboxes it changed. After it ran on one node, the old key can be dropped everywhere.
func (s *Mailboxes) Rekey(ctx context.Context) (int, error) {
	if !s.keys.CanSeal() {
		return 0, nil
	}
	list, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	changed := 0
	for _, m := range list {
		imapPw, smtpPw := m.SealedIMAPPassword, m.SealedSMTPPassword
		stale := false
		var err error
		if !s.keys.sealedWithCurrent(imapPw) {
			stale = true
			if imapPw, err = reseal(s.keys, imapPw); err != nil {
				return changed, fmt.Errorf("mailin: rekey mailbox %d: %w", m.ID, err)
			}
		}
		if len(smtpPw) > 0 && !s.keys.sealedWithCurrent(smtpPw) {
			stale = true
			if smtpPw, err = reseal(s.keys, smtpPw); err != nil {
				return changed, fmt.Errorf("mailin: rekey mailbox %d: %w", m.ID, err)
			}
		}
		if !stale {
			continue
		}
		if err := s.db.WithContext(ctx).Exec(`UPDATE mailboxes SET imap_password = ?, smtp_password = ?, updated_at = now() WHERE id = ?`,
			imapPw, nullBytes(smtpPw), m.ID).Error; err != nil {
			return changed, fmt.Errorf("mailin: rekey mailbox %d: %w", m.ID, err)
		}
		changed++
	}
	return changed, nil
}

func reseal(k *Keyring, sealed []byte) ([]byte, error) {
	plain, err := k.Open(sealed)
	if err != nil {
		return nil, err
	}
	return k.Seal(plain)
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// recordStatus notes how the last check of a mailbox went, for admins. The error never holds
// a password: IMAP errors quote the server, not our commands.
func (s *Mailboxes) recordStatus(ctx context.Context, id int64, lastErr error) {
	msg := ""
	if lastErr != nil {
		msg = lastErr.Error()
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
	}
	s.db.WithContext(ctx).Exec(`UPDATE mailboxes SET last_error = ?, last_checked_at = now() WHERE id = ?`, strings.ToValidUTF8(msg, "?"), id)
}

// OwnAddresses returns the addresses of every mailbox: mail from them is our own, and is never
// acknowledged, so that two help desks cannot answer each other forever.
func OwnAddresses(tx *gorm.DB) ([]string, error) {
	var out []string
	if err := tx.Raw(`SELECT lower(address) FROM mailboxes`).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("mailin: own addresses: %w", err)
	}
	return out, nil
}
