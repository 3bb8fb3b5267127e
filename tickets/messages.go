package tickets

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// StaffMessage is a reply or internal note written by a member of staff.
type StaffMessage struct {
	Kind     MessageKind // MessageReply or MessageNote
	AuthorID int64
	Body     string
	BodyHTML string
	// Status, when set, moves the ticket together with the message ("reply and set pending").
	Status      *Status
	Attachments []NewAttachment
}

// AddStaffMessage adds a reply or note to a ticket. A reply to a new ticket opens it. A reply to a
// closed ticket is refused: the customer would answer into a ticket nobody looks at.
func (d *Desk) AddStaffMessage(ctx context.Context, ticketID int64, in StaffMessage) (*Message, error) {
	var v ValidationError
	if in.Kind != MessageReply && in.Kind != MessageNote {
		v.Add("kind", "must be reply or note")
	}
	if in.Status != nil && !in.Status.Valid() {
		v.Add("status", "unknown status")
	}
	in.Body, in.BodyHTML = d.cleanBody(&v, "body", in.Body, in.BodyHTML)
	d.checkAttachments(&v, in.Attachments)
	if err := v.Err(); err != nil {
		return nil, err
	}
	actor := StaffActor(in.AuthorID)
	msg := Message{TicketID: ticketID, Kind: in.Kind, AuthorUserID: &in.AuthorID, BodyText: in.Body, BodyHTML: in.BodyHTML}
	err := d.inTx(ctx, func(w *work) error {
		t, err := lockTicket(w.tx, ticketID)
		if err != nil {
			return err
		}
		if in.Kind == MessageReply && t.Status == StatusClosed {
			return &ConflictError{Field: "ticket", Message: "the ticket is closed; open a follow-up ticket instead"}
		}
		next := t.Status
		switch {
		case in.Status != nil:
			next = *in.Status
		case in.Kind == MessageReply && t.Status == StatusNew:
			next = StatusOpen
		}
		if next != t.Status && !t.Status.CanBecome(next) {
			return invalid("status", fmt.Sprintf("a %s ticket cannot become %s", t.Status, next))
		}
		if err := insertMessage(w.tx, &msg, in.Attachments); err != nil {
			return err
		}
		if err := w.record(event{actor, t.ID, t.CustomerID, EventMessageAdded, map[string]any{"message_id": msg.ID, "kind": msg.Kind}}); err != nil {
			return err
		}
		return setStatus(w, actor, t, next)
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: add message: %w", err)
	}
	return &msg, nil
}

// CustomerMessage is a message from a customer (or someone they copied) on an existing ticket.
type CustomerMessage struct {
	CustomerID  int64 // the author: the ticket's customer, or another customer record
	Body        string
	BodyHTML    string
	Attachments []NewAttachment
	// OnStored, when set, runs in the same transaction once the message is written, so that a
	// channel stores its own records with it (an email's headers, a mailbox checkpoint) or not
	// at all.
	OnStored func(tx *gorm.DB, t *Ticket, m *Message) error
}

// AddCustomerMessage records a message from the customer on an existing ticket. A ticket that was
// waiting, on hold or solved opens again, because the customer is waiting on us now.
func (d *Desk) AddCustomerMessage(ctx context.Context, ticketID int64, in CustomerMessage) (*Message, error) {
	var v ValidationError
	body, bodyHTML := d.cleanBody(&v, "body", in.Body, in.BodyHTML)
	d.checkAttachments(&v, in.Attachments)
	if err := v.Err(); err != nil {
		return nil, err
	}
	actor := CustomerActor(in.CustomerID)
	msg := Message{TicketID: ticketID, Kind: MessageInbound, AuthorCustomerID: &in.CustomerID, BodyText: body, BodyHTML: bodyHTML}
	err := d.inTx(ctx, func(w *work) error {
		t, err := lockTicket(w.tx, ticketID)
		if err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return &ConflictError{Field: "ticket", Message: "the ticket is closed"}
		}
		if err := insertMessage(w.tx, &msg, in.Attachments); err != nil {
			return err
		}
		if err := w.record(event{actor, t.ID, t.CustomerID, EventMessageAdded, map[string]any{"message_id": msg.ID, "kind": msg.Kind}}); err != nil {
			return err
		}
		next := t.Status
		if t.Status == StatusPending || t.Status == StatusOnHold || t.Status == StatusSolved {
			next = StatusOpen
		}
		if err := setStatus(w, actor, t, next); err != nil {
			return err
		}
		if in.OnStored != nil {
			return in.OnStored(w.tx, t, &msg)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: add customer message: %w", err)
	}
	return &msg, nil
}

// lockTicket reads a ticket and holds its row until the transaction ends, so that concurrent
// changes to one ticket apply one after the other.
func lockTicket(tx *gorm.DB, id int64) (*Ticket, error) {
	var t Ticket
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&t, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket: %w", err)
	}
	return &t, nil
}

// setStatus moves t to next (already checked), stamps solved and closed times, touches
// updated_at, and records the change. With next equal to the current status it only touches.
func setStatus(w *work, actor Actor, t *Ticket, next Status) error {
	prev := t.Status
	err := w.tx.Raw(`UPDATE tickets SET status = ?, updated_at = now(),
			solved_at = CASE WHEN ? = 'solved' AND status <> 'solved' THEN now()
				WHEN ? IN ('solved', 'closed') THEN solved_at END,
			closed_at = CASE WHEN ? = 'closed' AND status <> 'closed' THEN now()
				WHEN ? = 'closed' THEN closed_at END
		WHERE id = ? RETURNING *`, next, next, next, next, next, t.ID).Scan(t).Error
	if err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	if prev == next {
		return nil
	}
	return w.record(event{actor, t.ID, t.CustomerID, EventStatusChanged, map[string]any{"from": prev, "to": next}})
}
