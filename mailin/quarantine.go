package mailin

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// QuarantinedMessage is an email that could not be taken in, kept raw with the reason.
type QuarantinedMessage struct {
	ID          int64
	MailboxID   int64
	Size        int64
	Kept        int64 // bytes kept; less than Size when only the start of a huge message was
	Reason      string
	Error       string
	Subject     string
	FromAddress string
	UID         int64
	CreatedAt   time.Time
	Attempts    int
	ResolvedAt  *time.Time
	TicketID    *int64
}

// Quarantine lets admins see, download and reprocess quarantined mail.
type Quarantine struct {
	db       *gorm.DB
	ingester *Ingester
}

// NewQuarantine returns the quarantine kept in db; reprocessed mail goes through ingester.
func NewQuarantine(db *gorm.DB, ingester *Ingester) *Quarantine {
	return &Quarantine{db: db, ingester: ingester}
}

// QuarantineFilter selects quarantined mail.
type QuarantineFilter struct {
	All    bool  // include reprocessed messages; by default only open ones
	Before int64 // only ids below this (the previous page's Next)
	Limit  int   // default 50, at most 200
}

const quarantineColumns = `id, mailbox_id, size, octet_length(raw) AS kept, reason, error, subject, from_address, uid,
	created_at, attempts, resolved_at, ticket_id`

// List returns quarantined mail, newest first, and the Before of the next page (0 on the last).
func (q *Quarantine) List(ctx context.Context, f QuarantineFilter) ([]QuarantinedMessage, int64, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 200)
	db := q.db.WithContext(ctx).Table("email_quarantine").Select(quarantineColumns)
	if !f.All {
		db = db.Where("resolved_at IS NULL")
	}
	if f.Before > 0 {
		db = db.Where("id < ?", f.Before)
	}
	var out []QuarantinedMessage
	if err := db.Order("id DESC").Limit(f.Limit + 1).Scan(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("mailin: list quarantine: %w", err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[f.Limit-1].ID
	}
	return out, next, nil
}

// Get returns one quarantined message, without its bytes.
func (q *Quarantine) Get(ctx context.Context, id int64) (*QuarantinedMessage, error) {
	var out []QuarantinedMessage
	if err := q.db.WithContext(ctx).Table("email_quarantine").Select(quarantineColumns).Where("id = ?", id).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("mailin: get quarantined: %w", err)
	}
	if len(out) == 0 {
		return nil, tickets.ErrNotFound
	}
	return &out[0], nil
}

// Raw returns a quarantined message's bytes as they came.
func (q *Quarantine) Raw(ctx context.Context, id int64) (*QuarantinedMessage, []byte, error) {
	m, err := q.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var raw []byte
	if err := q.db.WithContext(ctx).Raw(`SELECT raw FROM email_quarantine WHERE id = ?`, id).Row().Scan(&raw); err != nil {
		return nil, nil, fmt.Errorf("mailin: quarantined bytes: %w", err)
	}
	return m, raw, nil
}

// Reprocess tries a quarantined message again (after a fix, or with the size limit lifted, since
// an admin asked for it). On success the entry is marked resolved with the ticket it went to;
// when it still cannot be taken in, the error says why and the entry stays.
func (q *Quarantine) Reprocess(ctx context.Context, id int64) (*Result, error) {
	m, raw, err := q.Raw(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.ResolvedAt != nil {
		return nil, &tickets.ConflictError{Field: "id", Message: "this message was already reprocessed"}
	}
	if m.Kept < m.Size {
		return nil, &tickets.ConflictError{Field: "id", Message: fmt.Sprintf("only the first %d of %d bytes were kept; take the message from the mail server instead", m.Kept, m.Size)}
	}
	var mbox Mailbox
	if err := q.db.WithContext(ctx).Take(&mbox, m.MailboxID).Error; err != nil {
		return nil, fmt.Errorf("mailin: reprocess: %w", err)
	}
	var res Result
	err = q.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		f := Fetched{UID: uint32(m.UID), Size: m.Size, Raw: raw}
		res, err = q.ingester.ingestOne(ctx, tx, q.ingester.desk.InTx(tx), &mbox, 0, &f, map[string]bool{}, true)
		if err != nil {
			return err
		}
		if res.Outcome == OutcomeQuarantined {
			return tx.Exec(`UPDATE email_quarantine SET error = ?, attempts = attempts + 1 WHERE id = ?`, clip(res.Error, 2000), id).Error
		}
		return tx.Exec(`UPDATE email_quarantine SET resolved_at = now(), attempts = attempts + 1, ticket_id = ? WHERE id = ?`, nullID(res.TicketID), id).Error
	})
	if err != nil {
		return nil, fmt.Errorf("mailin: reprocess: %w", err)
	}
	if res.Outcome == OutcomeQuarantined {
		return &res, &tickets.ConflictError{Field: "id", Message: "the message still cannot be taken in: " + res.Error}
	}
	return &res, nil
}
