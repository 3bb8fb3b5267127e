// Package tickets is the core of the help desk: customers and their identities, tickets, their
// conversations and attachments, staff and teams, and the audit trail of every change. It depends
// on nothing else of ours; every channel (web form, email, API) goes through the same intake.
package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Desk is where tickets are opened, answered and moved through their statuses.
type Desk struct {
	db     *gorm.DB
	limits Limits
}

// Limits bound what one ticket or message may carry.
type Limits struct {
	MaxBodyBytes       int   // text body; default 256 KiB
	MaxAttachments     int   // per message; default 20
	MaxAttachmentBytes int64 // per file; default 25 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 256 << 10
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 20
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = 25 << 20
	}
	return l
}

// NewDesk returns a Desk working on db.
func NewDesk(db *gorm.DB, limits Limits) *Desk {
	return &Desk{db: db, limits: limits.withDefaults()}
}

// inTx runs fn in a transaction bound to ctx.
func inTx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return db.WithContext(ctx).Transaction(fn)
}

// event is one audit trail entry waiting to be written.
type event struct {
	actor                Actor
	ticketID, customerID int64
	typ                  string
	data                 any
}

// recordEvent appends to the audit trail. It runs in the transaction of the change it records,
// so a change and its event commit or vanish together.
func recordEvent(tx *gorm.DB, actor Actor, ticketID, customerID int64, typ string, data any) error {
	return recordEvents(tx, event{actor, ticketID, customerID, typ, data})
}

// recordEvents writes several events in one statement.
func recordEvents(tx *gorm.DB, events ...event) error {
	var sql strings.Builder
	sql.WriteString(`INSERT INTO events (actor_kind, actor_user_id, actor_customer_id, ticket_id, customer_id, type, data) VALUES `)
	args := make([]any, 0, 7*len(events))
	for i, e := range events {
		payload := []byte("{}")
		if e.data != nil {
			var err error
			if payload, err = json.Marshal(e.data); err != nil {
				return fmt.Errorf("event %s: %w", e.typ, err)
			}
		}
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.actor.Kind, nullID(e.actor.UserID), nullID(e.actor.CustomerID), nullID(e.ticketID), nullID(e.customerID), e.typ, payload)
	}
	if err := tx.Exec(sql.String(), args...).Error; err != nil {
		return fmt.Errorf("record %s: %w", events[0].typ, err)
	}
	return nil
}

// nullID maps the zero id to SQL NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
