package mailin

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// thread finds the ticket an email continues. First the Message-IDs it answers (In-Reply-To, then
// References from the newest), against every email we took in or sent; then the subject token,
// only when the sender is the ticket's customer or an address copied on it, so that a stranger
// who guesses a number cannot write into someone's ticket. Returns 0 and "new" for a new ticket.
func thread(tx *gorm.DB, p *Parsed) (ticketID int64, how string, err error) {
	cited := citedIDs(p)
	if len(cited) > 0 {
		var rows []struct {
			ID       string
			TicketID int64
		}
		err := tx.Raw(`SELECT message_id AS id, ticket_id FROM email_messages WHERE message_id = ANY(?) AND ticket_id IS NOT NULL
			UNION ALL
			SELECT header_message_id, ticket_id FROM outbox WHERE header_message_id = ANY(?) AND ticket_id IS NOT NULL`,
			textArray(cited), textArray(cited)).Scan(&rows).Error
		if err != nil {
			return 0, "", fmt.Errorf("thread by headers: %w", err)
		}
		for _, id := range cited {
			for _, r := range rows {
				if r.ID == id {
					return r.TicketID, "header", nil
				}
			}
		}
	}
	if p.Token == 0 {
		return 0, "new", nil
	}
	// Apple Mail and Outlook rewrite References at times; the token still threads the reply
	// when it comes from someone who belongs on the ticket.
	var ok bool
	err = tx.Raw(`SELECT EXISTS (
			SELECT 1 FROM tickets t JOIN customer_identities i ON i.customer_id = t.customer_id
			WHERE t.id = ? AND i.kind = 'email' AND i.value = ?
		) OR EXISTS (
			SELECT 1 FROM email_messages
			WHERE ticket_id = ? AND (from_address = ? OR ? = ANY(to_addresses) OR ? = ANY(cc_addresses))
		) OR EXISTS (
			SELECT 1 FROM outbox WHERE ticket_id = ? AND (? = ANY(to_addresses) OR ? = ANY(cc_addresses))
		)`, p.Token, p.From.Address, p.Token, p.From.Address, p.From.Address, p.From.Address,
		p.Token, p.From.Address, p.From.Address).Scan(&ok).Error
	if err != nil {
		return 0, "", fmt.Errorf("thread by token: %w", err)
	}
	if ok {
		return p.Token, "token", nil
	}
	return 0, "new", nil
}

// citedIDs lists the Message-IDs an email answers, most telling first.
func citedIDs(p *Parsed) []string {
	var ids []string
	if p.InReplyTo != "" {
		ids = append(ids, p.InReplyTo)
	}
	for i := len(p.References) - 1; i >= 0; i-- {
		if !contains(ids, p.References[i]) {
			ids = append(ids, p.References[i])
		}
	}
	return ids
}

// recordBounce marks the failed recipients of a bounce undeliverable, and the mail of ours that
// bounced as failed, so that the agent sees it on the message. done is true when the bounce was
// matched to mail of ours and recorded on its ticket; otherwise it goes on to open a ticket for
// a person to look at.
func recordBounce(tx *gorm.DB, rec *emailRecord) (done bool, ticketID int64, err error) {
	b := rec.p.Bounce
	if b == nil {
		return false, 0, nil
	}
	reason := "bounced"
	if b.Status != "" {
		reason += ": " + clip(b.Status, 500)
	}
	for _, addr := range b.Failed {
		if err := tx.Exec(`INSERT INTO email_undeliverable (address, reason) VALUES (?, ?)
			ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, bounced_at = now()`, addr, reason).Error; err != nil {
			return false, 0, fmt.Errorf("mark undeliverable: %w", err)
		}
	}
	ids := citedIDs(rec.p)
	if b.OriginalMessageID != "" {
		ids = append([]string{b.OriginalMessageID}, ids...)
	}
	if len(ids) == 0 {
		return false, 0, nil
	}
	var hit []struct {
		ID       string
		TicketID *int64
	}
	err = tx.Raw(`UPDATE outbox SET status = 'failed', last_error = ?
		WHERE header_message_id = ANY(?) RETURNING header_message_id AS id, ticket_id`, reason, textArray(ids)).Scan(&hit).Error
	if err != nil {
		return false, 0, fmt.Errorf("mark bounced mail: %w", err)
	}
	if len(hit) == 0 {
		return false, 0, nil
	}
	if hit[0].TicketID != nil {
		ticketID = *hit[0].TicketID
	}
	rec.ticketID, rec.threadedBy = ticketID, "bounce"
	if err := rec.insert(tx); err != nil && !errors.Is(err, errDuplicate) {
		return false, 0, err
	}
	return true, ticketID, nil
}
