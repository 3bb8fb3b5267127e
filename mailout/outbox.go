// Package mailout sends the help desk's email from a durable outbox: agents' public replies,
// acknowledgements of new tickets and system notices (SLA escalations). Rows are written in the
// transaction of what they report, so a reply is queued exactly when it is stored; a worker in
// every serve process sends them over SMTP, taking rows with FOR UPDATE SKIP LOCKED so that no
// two processes send the same one, retrying temporary failures with backoff and marking
// permanent ones on the message, where the agent sees them.
//
// Every message carries our Message-ID, the ticket token in the subject, and for replies
// In-Reply-To and References, so the customer's answer threads back to the ticket.
package mailout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"database/sql/driver"

	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Kind says why a mail is sent.
type Kind string

// The kinds of outgoing mail.
const (
	KindReply  Kind = "reply"  // an agent's public reply
	KindAck    Kind = "ack"    // acknowledgement of a new ticket
	KindNotice Kind = "notice" // a system notice, such as an SLA escalation
)

// Outgoing is a mail to queue.
type Outgoing struct {
	Kind Kind // KindNotice when empty
	// MailboxID is the mailbox that sends it; 0 takes the ticket's mailbox, else the first one.
	MailboxID int64
	TicketID  int64 // the ticket it is about, if any
	// TicketMessageID is the ticket message it carries, if any; that message's attachments go
	// along and its delivery status shows on it.
	TicketMessageID int64
	To, Cc          []string
	Subject         string
	Text            string // plain text body (required)
	HTML            string // optional HTML body; it must already be safe
	// Headers are added as they are (In-Reply-To, References, Auto-Submitted, ...). Notices get
	// Auto-Submitted: auto-generated unless they set it.
	Headers map[string]string
	// MessageID is our Message-ID without angle brackets; generated when empty.
	MessageID string
}

// Enqueue queues m in tx, so that the mail is sent if and only if tx commits. It validates the
// recipients and content and returns a *tickets.ValidationError naming the field at fault.
// Other packages (SLA escalations) call it inside their own transactions.
func Enqueue(tx *gorm.DB, m Outgoing) error {
	var v tickets.ValidationError
	if m.Kind == "" {
		m.Kind = KindNotice
	}
	if m.Kind != KindReply && m.Kind != KindAck && m.Kind != KindNotice {
		v.Add("kind", "must be reply, ack or notice")
	}
	to := normalizeAll(&v, "to", m.To)
	cc := normalizeAll(&v, "cc", m.Cc)
	if len(to) == 0 && !hasField(&v, "to") {
		v.Add("to", "needs at least one address")
	}
	m.Subject = strings.Join(strings.Fields(m.Subject), " ")
	if m.Subject == "" {
		v.Add("subject", "is required")
	}
	if strings.TrimSpace(m.Text) == "" {
		v.Add("text", "is required")
	}
	for k, val := range m.Headers {
		if k == "" || strings.ContainsAny(k, ": \r\n") || strings.ContainsAny(val, "\r\n") {
			v.Add("headers", fmt.Sprintf("%q is not a valid header", k))
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	headers := map[string]string{}
	for k, val := range m.Headers {
		headers[k] = val
	}
	if m.Kind == KindNotice && headers["Auto-Submitted"] == "" {
		headers["Auto-Submitted"] = "auto-generated"
	}
	if m.MessageID == "" {
		m.MessageID = NewMessageID(domainOf(tx, m.MailboxID, to[0]))
	}
	hdrJSON, err := json.Marshal(headers)
	if err != nil {
		return fmt.Errorf("mailout: enqueue: %w", err)
	}
	err = tx.Exec(`INSERT INTO outbox (kind, mailbox_id, ticket_id, ticket_message_id, header_message_id, to_addresses, cc_addresses,
			subject, body_text, body_html, headers)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb))`,
		string(m.Kind), nullID(m.MailboxID), nullID(m.TicketID), nullID(m.TicketMessageID), m.MessageID,
		textArray(to), textArray(cc), m.Subject, m.Text, m.HTML, string(hdrJSON)).Error
	if err != nil {
		return fmt.Errorf("mailout: enqueue: %w", err)
	}
	return nil
}

func normalizeAll(v *tickets.ValidationError, field string, list []string) []string {
	var out []string
	for i, a := range list {
		addr, err := tickets.NormalizeEmail(a)
		if err != nil {
			v.Add(fmt.Sprintf("%s[%d]", field, i), err.Error())
			continue
		}
		if !contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}

func hasField(v *tickets.ValidationError, prefix string) bool {
	for _, f := range v.Fields {
		if strings.HasPrefix(f.Field, prefix) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// NewMessageID returns a fresh Message-ID (without angle brackets) in domain.
func NewMessageID(domain string) string {
	b := make([]byte, 12)
	rand.Read(b)
	if domain == "" {
		domain = "helpdesk.invalid"
	}
	return fmt.Sprintf("hd.%d.%s@%s", time.Now().UnixMilli(), hex.EncodeToString(b), domain)
}

// domainOf picks the domain of our Message-IDs: the sending mailbox's, else the recipient's.
func domainOf(tx *gorm.DB, mailboxID int64, fallback string) string {
	var addr string
	if mailboxID != 0 {
		tx.Raw(`SELECT address FROM mailboxes WHERE id = ?`, mailboxID).Scan(&addr)
	}
	if addr == "" {
		tx.Raw(`SELECT address FROM mailboxes ORDER BY id LIMIT 1`).Scan(&addr)
	}
	if addr == "" {
		addr = fallback
	}
	_, domain, _ := strings.Cut(addr, "@")
	return domain
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// textArray is a text[] value. As a parameter it keeps GORM from expanding a []string into a
// list of values; as a destination it reads what database/sql cannot by itself.
type textArray []string

// Value hands the list to pgx, which encodes a []string as text[].
func (a textArray) Value() (driver.Value, error) {
	if a == nil {
		return []string{}, nil
	}
	return []string(a), nil
}

// GormDataType tells GORM the column type, so that it accepts the field in scanned rows.
func (textArray) GormDataType() string { return "text[]" }

// typeMaps pools pgx type maps, which cache scan plans and are not safe to share.
var typeMaps = sync.Pool{New: func() any { return pgtype.NewMap() }}

// Scan reads a text[] column.
func (a *textArray) Scan(src any) error {
	m := typeMaps.Get().(*pgtype.Map)
	defer typeMaps.Put(m)
	return m.SQLScanner((*[]string)(a)).Scan(src)
}

// Delivery is how sending the mail of a ticket message went.
type Delivery struct {
	TicketMessageID int64
	Status          string // queued, sent or failed
	Error           string // the last error: why it failed, or why it is being retried
	Attempts        int
	To              []string
	SentAt          *time.Time
}

// Deliveries returns the delivery of each of the given ticket messages that was sent (or is
// being sent) by email, keyed by message id.
func Deliveries(ctx context.Context, db *gorm.DB, ticketMessageIDs []int64) (map[int64]Delivery, error) {
	out := map[int64]Delivery{}
	if len(ticketMessageIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		TicketMessageID int64
		Status          string
		LastError       string
		Attempts        int
		ToAddresses     textArray
		SentAt          *time.Time
	}
	err := db.WithContext(ctx).Raw(`SELECT DISTINCT ON (ticket_message_id) ticket_message_id, status, last_error, attempts, to_addresses, sent_at
		FROM outbox WHERE ticket_message_id IN ? ORDER BY ticket_message_id, id DESC`, ticketMessageIDs).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("mailout: deliveries: %w", err)
	}
	for _, r := range rows {
		out[r.TicketMessageID] = Delivery{
			TicketMessageID: r.TicketMessageID, Status: r.Status, Error: r.LastError,
			Attempts: r.Attempts, To: []string(r.ToAddresses), SentAt: r.SentAt,
		}
	}
	return out, nil
}

var errNoMailbox = errors.New("no mailbox is configured to send email from (add one with helpdesk mailbox add)")
