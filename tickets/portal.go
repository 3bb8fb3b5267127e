package tickets

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The customer portal. Customers have no password: every mail we send them carries a link, and a
// link lets that customer into the portal, to all of their own tickets, until it expires. A
// customer without a mail at hand asks for a link at /portal with their address.
//
// Links are random secrets stored as their SHA-256 in portal_links, not HMAC-signed tokens: the
// link is made inside the transaction that queues the mail, so it exists exactly when the mail
// does; every node accepts it without sharing anything but the database; and a link can be
// revoked by deleting its row, which a signed token cannot offer before it expires. A link
// opens a portal session (portal_sessions, also stored hashed) that never outlives the link.

// PortalSessionMax is the longest a portal session lasts; it ends sooner when its link expires.
const PortalSessionMax = 7 * 24 * time.Hour

// PortalRequestsPerHour bounds the links one customer can be sent by asking at /portal, so that
// the form cannot be used to flood someone's inbox from many addresses.
const PortalRequestsPerHour = 5

// portalKeepExpired is how long expired links are kept, so that the portal can say a link
// expired rather than that it never existed.
const portalKeepExpired = 30 * 24 * time.Hour

// ErrLinkExpired means a portal link was real but its time is over.
var ErrLinkExpired = errors.New("the link has expired")

// ErrTooManyLinks means a customer was sent PortalRequestsPerHour links in the last hour.
var ErrTooManyLinks = errors.New("too many portal links asked for")

// IssuePortalLink makes a portal link for the customer of a ticket, landing on that ticket, in
// tx: the transaction that queues the mail carrying it. It returns the secret for the URL.
func IssuePortalLink(tx *gorm.DB, ticketID int64, ttl time.Duration) (string, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return "", fmt.Errorf("tickets: portal link: %w", err)
	}
	res := tx.Exec(`INSERT INTO portal_links (token_hash, customer_id, ticket_id, purpose, expires_at)
		SELECT ?, customer_id, id, 'mail', now() + make_interval(secs => ?) FROM tickets WHERE id = ?`,
		hash, ttl.Seconds(), ticketID)
	if res.Error != nil {
		return "", fmt.Errorf("tickets: portal link: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return "", ErrNotFound
	}
	// Every mail adds a row; the customer's long-expired ones go as new ones come, so the table
	// stays small without a sweep (SweepPortal also clears them).
	err = tx.Exec(`DELETE FROM portal_links WHERE customer_id = (SELECT customer_id FROM tickets WHERE id = ?)
		AND expires_at < now() - make_interval(secs => ?)`, ticketID, portalKeepExpired.Seconds()).Error
	if err != nil {
		return "", fmt.Errorf("tickets: portal link: %w", err)
	}
	return secret, nil
}

// PortalCustomer is who is signed in to the portal.
type PortalCustomer struct {
	ID    int64
	Name  string
	Email string // the first email address on record, "" for none
}

// RequestPortalLink makes a portal link for the customer with this email address, for the
// /portal form. An unknown or malformed address gives ErrNotFound and a customer who had their
// links for the hour ErrTooManyLinks; the caller must answer both as it answers success.
func (d *Desk) RequestPortalLink(ctx context.Context, email string, ttl time.Duration) (string, *PortalCustomer, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", nil, ErrNotFound
	}
	var secret string
	var who *PortalCustomer
	err = d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		id, err := customerByIdentity(tx, "email", addr)
		if err != nil {
			return err
		}
		if id == 0 {
			return ErrNotFound
		}
		if id, err = currentCustomer(tx, id); err != nil {
			return err
		}
		// Two requests at once must not both pass the count.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext(?))`, fmt.Sprint("helpdesk.portal:", id)).Error; err != nil {
			return err
		}
		var recent int
		if err := tx.Raw(`SELECT count(*) FROM portal_links WHERE customer_id = ? AND purpose = 'request'
			AND created_at > now() - interval '1 hour'`, id).Scan(&recent).Error; err != nil {
			return err
		}
		if recent >= PortalRequestsPerHour {
			return ErrTooManyLinks
		}
		s, hash, err := newSecret()
		if err != nil {
			return err
		}
		// INSERT ... SELECT rather than VALUES: GORM spreads a []byte inside VALUES (...).
		if err := tx.Exec(`INSERT INTO portal_links (token_hash, customer_id, purpose, expires_at)
			SELECT ?, ?, 'request', now() + make_interval(secs => ?)`, hash, id, ttl.Seconds()).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM portal_links WHERE customer_id = ? AND expires_at < now() - make_interval(secs => ?)`,
			id, portalKeepExpired.Seconds()).Error; err != nil {
			return err
		}
		secret = s
		who, err = loadPortalCustomer(tx, id)
		// The customer is who owns the address asked about, which need not be their first one.
		if who != nil {
			who.Email = addr
		}
		return err
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrTooManyLinks) {
		return "", nil, err
	}
	if err != nil {
		return "", nil, fmt.Errorf("tickets: request portal link: %w", err)
	}
	return secret, who, nil
}

// PortalSession is a portal session a link started.
type PortalSession struct {
	Secret     string // for the cookie
	CustomerID int64
	TicketID   int64 // where the link lands; 0 for the list of tickets
	ExpiresAt  time.Time
}

// OpenPortalLink checks a link and starts a portal session for its customer. An unknown link
// gives ErrNotFound, an expired one ErrLinkExpired.
func (d *Desk) OpenPortalLink(ctx context.Context, token string) (*PortalSession, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrNotFound
	}
	sum := sha256.Sum256([]byte(token))
	var session *PortalSession
	err := d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var link struct {
			CustomerID int64
			TicketID   *int64
			ExpiresAt  time.Time
			Live       bool
		}
		err := tx.Raw(`SELECT customer_id, ticket_id, expires_at, expires_at > now() AS live
			FROM portal_links WHERE token_hash = ?`, sum[:]).Scan(&link).Error
		if err != nil {
			return err
		}
		if link.CustomerID == 0 {
			return ErrNotFound
		}
		if !link.Live {
			return ErrLinkExpired
		}
		customerID, err := currentCustomer(tx, link.CustomerID)
		if err != nil {
			return err
		}
		secret, hash, err := newSecret()
		if err != nil {
			return err
		}
		expires := link.ExpiresAt
		if limit := time.Now().Add(PortalSessionMax); limit.Before(expires) {
			expires = limit
		}
		if err := tx.Exec(`INSERT INTO portal_sessions (id_hash, customer_id, expires_at) SELECT ?, ?, ?`,
			hash, customerID, expires).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM portal_sessions WHERE customer_id = ? AND expires_at < now()`, customerID).Error; err != nil {
			return err
		}
		session = &PortalSession{Secret: secret, CustomerID: customerID, ExpiresAt: expires}
		if link.TicketID != nil {
			session.TicketID = *link.TicketID
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrLinkExpired) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("tickets: open portal link: %w", err)
	}
	return session, nil
}

// PortalSessionCustomer returns the customer a portal session belongs to. A customer merged
// into another since is the one they were merged into. ErrNoSession: unknown or expired.
func (d *Desk) PortalSessionCustomer(ctx context.Context, secret string) (*PortalCustomer, error) {
	if secret == "" || len(secret) > 100 {
		return nil, ErrNoSession
	}
	sum := sha256.Sum256([]byte(secret))
	db := d.db.WithContext(ctx)
	var id int64
	err := db.Raw(`SELECT customer_id FROM portal_sessions WHERE id_hash = ? AND expires_at > now()`, sum[:]).Scan(&id).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: portal session: %w", err)
	}
	if id == 0 {
		return nil, ErrNoSession
	}
	if id, err = currentCustomer(db, id); err != nil {
		return nil, fmt.Errorf("tickets: portal session: %w", err)
	}
	c, err := loadPortalCustomer(db, id)
	if err != nil {
		return nil, fmt.Errorf("tickets: portal session: %w", err)
	}
	return c, nil
}

// EndPortalSession signs a portal session out. Ending an unknown session is not an error.
func (d *Desk) EndPortalSession(ctx context.Context, secret string) error {
	sum := sha256.Sum256([]byte(secret))
	if err := d.db.WithContext(ctx).Exec(`DELETE FROM portal_sessions WHERE id_hash = ?`, sum[:]).Error; err != nil {
		return fmt.Errorf("tickets: end portal session: %w", err)
	}
	return nil
}

// RevokePortalAccess ends every portal session of a customer and every link we sent them, for
// a customer whose mailbox was compromised or who forwarded a mail by mistake.
func (d *Desk) RevokePortalAccess(ctx context.Context, customerID int64) error {
	return d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM portal_sessions WHERE customer_id = ?`, customerID).Error; err != nil {
			return fmt.Errorf("tickets: revoke portal access: %w", err)
		}
		if err := tx.Exec(`DELETE FROM portal_links WHERE customer_id = ?`, customerID).Error; err != nil {
			return fmt.Errorf("tickets: revoke portal access: %w", err)
		}
		return nil
	})
}

// SweepPortal deletes portal sessions that ended and links expired long ago. Any node may run
// it; deleting twice is harmless.
func (d *Desk) SweepPortal(ctx context.Context) error {
	db := d.db.WithContext(ctx)
	if err := db.Exec(`DELETE FROM portal_sessions WHERE expires_at < now()`).Error; err != nil {
		return fmt.Errorf("tickets: sweep portal sessions: %w", err)
	}
	if err := db.Exec(`DELETE FROM portal_links WHERE expires_at < now() - make_interval(secs => ?)`, portalKeepExpired.Seconds()).Error; err != nil {
		return fmt.Errorf("tickets: sweep portal links: %w", err)
	}
	return nil
}

// PortalMessage is a message as the customer sees it.
type PortalMessage struct {
	Message
	// AuthorName is the name of who wrote it: the member of staff for a reply, the customer
	// (or someone they copied) for an inbound message.
	AuthorName string
	// FromCustomer is true for messages written by the signed-in customer.
	FromCustomer bool
}

// PortalTicket is a ticket as its customer sees it: the public conversation, no internal notes.
type PortalTicket struct {
	Ticket
	Messages []PortalMessage
}

// PortalTicket returns a ticket of a customer with its public messages, oldest first. Someone
// else's ticket is ErrNotFound, as is a ticket that does not exist: the portal never says which.
func (d *Desk) PortalTicket(ctx context.Context, customerID, ticketID int64) (*PortalTicket, error) {
	db := d.db.WithContext(ctx)
	var out PortalTicket
	err := db.Where("id = ? AND customer_id = ?", ticketID, customerID).Take(&out.Ticket).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tickets: portal ticket: %w", err)
	}
	var msgs []Message
	if err := db.Preload("Attachments", func(q *gorm.DB) *gorm.DB { return q.Order("id") }).
		Where("ticket_id = ? AND kind <> ?", ticketID, MessageNote).Order("id").Find(&msgs).Error; err != nil {
		return nil, fmt.Errorf("tickets: portal messages: %w", err)
	}
	// The authors' names in one query for the whole conversation.
	var names []struct {
		Kind string
		ID   int64
		Name string
	}
	err = db.Raw(`SELECT 'user' AS kind, id, name FROM users WHERE id IN (SELECT author_user_id FROM messages WHERE ticket_id = ? AND kind = 'reply')
		UNION ALL SELECT 'customer', id, name FROM customers WHERE id IN (SELECT author_customer_id FROM messages WHERE ticket_id = ? AND kind = 'inbound')`,
		ticketID, ticketID).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: portal message authors: %w", err)
	}
	byKey := make(map[string]string, len(names))
	for _, n := range names {
		byKey[fmt.Sprint(n.Kind, n.ID)] = n.Name
	}
	out.Messages = make([]PortalMessage, len(msgs))
	for i, m := range msgs {
		pm := PortalMessage{Message: m}
		switch {
		case m.AuthorUserID != nil:
			pm.AuthorName = byKey[fmt.Sprint("user", *m.AuthorUserID)]
		case m.AuthorCustomerID != nil:
			pm.AuthorName = byKey[fmt.Sprint("customer", *m.AuthorCustomerID)]
			pm.FromCustomer = *m.AuthorCustomerID == customerID
		}
		out.Messages[i] = pm
	}
	return &out, nil
}

// PortalAttachment returns an attachment and its bytes when it belongs to a public message of
// one of the customer's tickets; anything else is ErrNotFound.
func (d *Desk) PortalAttachment(ctx context.Context, customerID, attachmentID int64) (*Attachment, []byte, error) {
	var ok bool
	err := d.db.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM attachments a
			JOIN messages m ON m.id = a.message_id JOIN tickets t ON t.id = m.ticket_id
			WHERE a.id = ? AND m.kind <> ? AND t.customer_id = ?)`, attachmentID, MessageNote, customerID).Scan(&ok).Error
	if err != nil {
		return nil, nil, fmt.Errorf("tickets: portal attachment: %w", err)
	}
	if !ok {
		return nil, nil, ErrNotFound
	}
	return d.AttachmentContent(ctx, attachmentID)
}

// currentCustomer follows merges from a customer to the record that holds their tickets now.
func currentCustomer(tx *gorm.DB, id int64) (int64, error) {
	var current int64
	err := tx.Raw(`WITH RECURSIVE chain AS (
			SELECT id, merged_into_id, 0 AS depth FROM customers WHERE id = ?
			UNION ALL
			SELECT c.id, c.merged_into_id, chain.depth + 1 FROM customers c JOIN chain ON c.id = chain.merged_into_id
			WHERE chain.depth < 20
		) SELECT id FROM chain WHERE merged_into_id IS NULL LIMIT 1`, id).Scan(&current).Error
	if err != nil {
		return 0, fmt.Errorf("follow merges: %w", err)
	}
	if current == 0 {
		return 0, ErrNotFound
	}
	return current, nil
}

func loadPortalCustomer(tx *gorm.DB, id int64) (*PortalCustomer, error) {
	var c PortalCustomer
	err := tx.Raw(`SELECT c.id, c.name, coalesce((SELECT value FROM customer_identities
			WHERE customer_id = c.id AND kind = 'email' ORDER BY id LIMIT 1), '') AS email
		FROM customers c WHERE c.id = ?`, id).Scan(&c).Error
	if err != nil {
		return nil, err
	}
	if c.ID == 0 {
		return nil, ErrNotFound
	}
	return &c, nil
}
