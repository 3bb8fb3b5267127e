package mailout

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"strings"
	texttemplate "text/template"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// Mail queues the desk's outgoing mail from inside its transactions: register Hook on the desk.
type Mail struct {
	ackLimit   int
	ticketURL  func(ticketID int64) string
	portalLink func(tx *gorm.DB, ticketID int64) (string, error)
	logger     *slog.Logger
}

// Options tune what Mail queues.
type Options struct {
	// AckLimit is how many acknowledgements one address gets per hour; 0 sends none.
	AckLimit int
	// TicketURL is the link a customer gets in an acknowledgement.
	TicketURL func(ticketID int64) string
	// PortalLink, when set, makes the customer's own link to the portal inside the transaction
	// that queues the mail (a link row commits with the mail or not at all). It takes the place
	// of TicketURL in acknowledgements and is added to the foot of public replies that go to the
	// customer alone; replies that reach others too get TicketURL there instead.
	PortalLink func(tx *gorm.DB, ticketID int64) (string, error)
	Logger     *slog.Logger
}

// New returns the mail queue.
func New(opts Options) *Mail {
	if opts.TicketURL == nil {
		opts.TicketURL = func(int64) string { return "" }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Mail{ackLimit: opts.AckLimit, ticketURL: opts.TicketURL, portalLink: opts.PortalLink, logger: opts.Logger}
}

// Hook is a tickets.Hook: it queues an acknowledgement for each new ticket from email or the web
// form and an email for each public reply, in the transaction that made them.
func (m *Mail) Hook(ctx context.Context, tx *gorm.DB, changes []tickets.Change) error {
	for _, c := range changes {
		switch c.Type {
		case tickets.EventTicketCreated:
			if ch := fmt.Sprint(c.Data["channel"]); ch == string(tickets.ChannelEmail) || ch == string(tickets.ChannelWeb) {
				if err := m.queueAck(tx, c.TicketID); err != nil {
					return err
				}
			}
		case tickets.EventMessageAdded:
			if fmt.Sprint(c.Data["kind"]) == string(tickets.MessageReply) {
				if err := m.queueReply(tx, c.TicketID, asID(c.Data["message_id"])); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func asID(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

// threadInfo is what a mail about a ticket needs, read in one query: the ticket, its customer's
// address, the email to answer (the first for an acknowledgement, the latest for a reply) and
// the mailbox it came to.
type threadInfo struct {
	Subject       string
	CustomerEmail string
	CustomerName  string
	MailboxID     int64
	MailboxDomain string
	MessageID     string
	References    textArray
	FromAddress   string
	FromName      string
	ToAddresses   textArray
	CcAddresses   textArray
	Class         string
	HasEmail      bool
}

func loadThread(tx *gorm.DB, ticketID int64, first bool) (*threadInfo, error) {
	order := "DESC"
	if first {
		order = "ASC"
	}
	var rows []threadInfo
	err := tx.Raw(`SELECT t.subject, c.name AS customer_name,
			coalesce((SELECT value FROM customer_identities WHERE customer_id = t.customer_id AND kind = 'email' ORDER BY id LIMIT 1), '') AS customer_email,
			e.id IS NOT NULL AS has_email, coalesce(e.mailbox_id, 0) AS mailbox_id, coalesce(split_part(mb.address, '@', 2), '') AS mailbox_domain,
			coalesce(e.message_id, '') AS message_id, coalesce(e."references", '{}') AS "references",
			coalesce(e.from_address, '') AS from_address, coalesce(e.from_name, '') AS from_name,
			coalesce(e.to_addresses, '{}') AS to_addresses, coalesce(e.cc_addresses, '{}') AS cc_addresses, coalesce(e.class, '') AS class
		FROM tickets t JOIN customers c ON c.id = t.customer_id
		LEFT JOIN LATERAL (
			SELECT * FROM email_messages WHERE ticket_id = t.id AND ticket_message_id IS NOT NULL ORDER BY id `+order+` LIMIT 1
		) e ON true
		LEFT JOIN mailboxes mb ON mb.id = e.mailbox_id
		WHERE t.id = ?`, ticketID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("mailout: load ticket: %w", err)
	}
	if len(rows) == 0 {
		return nil, tickets.ErrNotFound
	}
	return &rows[0], nil
}

// queueAck acknowledges a new ticket, unless it came from an auto-reply, bulk mail, a bounce or
// one of our own addresses, the address bounced, or it had its acknowledgements for the hour.
func (m *Mail) queueAck(tx *gorm.DB, ticketID int64) error {
	if m.ackLimit <= 0 {
		return nil
	}
	t, err := loadThread(tx, ticketID, true)
	if err != nil {
		return err
	}
	to, name := t.CustomerEmail, t.CustomerName
	mailboxID, domain := t.MailboxID, t.MailboxDomain
	headers := map[string]string{"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
	if t.HasEmail {
		if t.Class != string(mailin.ClassNormal) {
			return nil
		}
		to = t.FromAddress
		if t.FromName != "" {
			name = t.FromName
		}
		if t.MessageID != "" {
			headers["In-Reply-To"] = "<" + t.MessageID + ">"
			headers["References"] = references(t.References, t.MessageID)
		}
	}
	if to == "" {
		return nil
	}
	ok, err := m.mayAcknowledge(tx, to)
	if err != nil || !ok {
		return err
	}
	if mailboxID == 0 {
		if mailboxID, domain, err = defaultMailbox(tx); err != nil || mailboxID == 0 {
			// Without a mailbox there is nothing to send from; the ticket stands regardless.
			return err
		}
	}
	data := ackData{Ref: tickets.Ref(ticketID), Subject: t.Subject, Name: name, URL: m.ticketURL(ticketID)}
	if m.portalLink != nil {
		if data.URL, err = m.portalLink(tx, ticketID); err != nil {
			return fmt.Errorf("mailout: portal link: %w", err)
		}
	}
	text, html, err := renderAck(data)
	if err != nil {
		return err
	}
	return Enqueue(tx, Outgoing{
		Kind: KindAck, MailboxID: mailboxID, TicketID: ticketID, To: []string{to},
		Subject: "Re: " + t.Subject + " " + mailin.Token(ticketID), Text: text, HTML: html, Headers: headers,
		MessageID: NewMessageID(domain),
	})
}

// mayAcknowledge applies the loop rules to an address: never our own mailboxes, never an
// address that bounced, and at most ackLimit per hour. The advisory lock makes concurrent
// intakes from one address count one after the other.
func (m *Mail) mayAcknowledge(tx *gorm.DB, addr string) (bool, error) {
	var row struct {
		Own, Bounced bool
		Recent       int
	}
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('helpdesk.ack:' || ?))`, addr).Error; err != nil {
		return false, fmt.Errorf("mailout: ack lock: %w", err)
	}
	err := tx.Raw(`SELECT
			EXISTS (SELECT 1 FROM mailboxes WHERE lower(address) = ?) AS own,
			EXISTS (SELECT 1 FROM email_undeliverable WHERE address = ?) AS bounced,
			(SELECT count(*) FROM outbox WHERE kind = 'ack' AND to_addresses[1] = ? AND created_at > now() - interval '1 hour') AS recent`,
		addr, addr, addr).Scan(&row).Error
	if err != nil {
		return false, fmt.Errorf("mailout: ack rules: %w", err)
	}
	if row.Own || row.Bounced || row.Recent >= m.ackLimit {
		m.logger.Debug("no acknowledgement", "own", row.Own, "bounced", row.Bounced, "recent", row.Recent)
		return false, nil
	}
	return true, nil
}

// defaultMailbox is the mailbox that sends mail about tickets that did not come by email.
func defaultMailbox(tx *gorm.DB) (id int64, domain string, err error) {
	var row struct {
		ID     int64
		Domain string
	}
	if err := tx.Raw(`SELECT id, split_part(address, '@', 2) AS domain FROM mailboxes WHERE enabled ORDER BY id LIMIT 1`).Scan(&row).Error; err != nil {
		return 0, "", fmt.Errorf("mailout: default mailbox: %w", err)
	}
	return row.ID, row.Domain, nil
}

// references is the References header of a reply: what the cited message referenced, then the
// cited message itself, keeping the first and the most recent when the chain grows long.
func references(refs []string, cited string) string {
	all := append(append([]string{}, refs...), cited)
	if len(all) > 20 {
		all = append(all[:1], all[len(all)-19:]...)
	}
	parts := make([]string, len(all))
	for i, id := range all {
		parts[i] = "<" + id + ">"
	}
	return strings.Join(parts, " ")
}

// queueReply sends an agent's public reply to the customer, in the thread of the last email
// they sent, copying whoever they copied (never our own addresses).
func (m *Mail) queueReply(tx *gorm.DB, ticketID, messageID int64) error {
	if messageID == 0 {
		return nil
	}
	t, err := loadThread(tx, ticketID, false)
	if err != nil {
		return err
	}
	var msg struct{ BodyText, BodyHTML string }
	if err := tx.Raw(`SELECT body_text, body_html FROM messages WHERE id = ?`, messageID).Scan(&msg).Error; err != nil {
		return fmt.Errorf("mailout: load reply: %w", err)
	}
	to, mailboxID, domain := t.CustomerEmail, t.MailboxID, t.MailboxDomain
	var cc []string
	headers := map[string]string{}
	if t.HasEmail {
		to = t.FromAddress
		own, err := mailin.OwnAddresses(tx)
		if err != nil {
			return err
		}
		for _, a := range append(append([]string{}, t.ToAddresses...), t.CcAddresses...) {
			if a != to && !contains(own, a) && !contains(cc, a) {
				cc = append(cc, a)
			}
		}
		if t.MessageID != "" {
			headers["In-Reply-To"] = "<" + t.MessageID + ">"
			headers["References"] = references(t.References, t.MessageID)
		}
	} else {
		// No email yet (a web or API ticket): thread under our last mail on it, if any.
		var prev string
		if err := tx.Raw(`SELECT header_message_id FROM outbox WHERE ticket_id = ? ORDER BY id DESC LIMIT 1`, ticketID).Scan(&prev).Error; err != nil {
			return fmt.Errorf("mailout: previous mail: %w", err)
		}
		if prev != "" {
			headers["In-Reply-To"] = "<" + prev + ">"
			headers["References"] = "<" + prev + ">"
		}
	}
	if to == "" {
		// A customer known only by phone: there is no one to email.
		return nil
	}
	if mailboxID == 0 {
		// With no mailbox at all the row stays, and fails visibly on the message when sent.
		if mailboxID, domain, err = defaultMailbox(tx); err != nil {
			return err
		}
	}
	if m.portalLink != nil {
		// The portal link signs in as the ticket's customer, so it goes only in a mail to
		// them alone. A mail that also reaches someone else (a copied colleague, a reply to
		// another sender) links to the portal's front page, where the customer asks for one.
		link := m.ticketURL(ticketID)
		alone, err := onlyToCustomer(tx, ticketID, to, cc)
		if err != nil {
			return err
		}
		if alone {
			if link, err = m.portalLink(tx, ticketID); err != nil {
				return fmt.Errorf("mailout: portal link: %w", err)
			}
		}
		if link != "" {
			msg.BodyText, msg.BodyHTML = withPortalLink(msg.BodyText, msg.BodyHTML, link)
		}
	}
	return Enqueue(tx, Outgoing{
		Kind: KindReply, MailboxID: mailboxID, TicketID: ticketID, TicketMessageID: messageID,
		To: []string{to}, Cc: cc, Subject: "Re: " + t.Subject + " " + mailin.Token(ticketID),
		Text: msg.BodyText, HTML: msg.BodyHTML, Headers: headers, MessageID: NewMessageID(domain),
	})
}

// onlyToCustomer tells whether a mail goes to the ticket's customer and nobody else.
func onlyToCustomer(tx *gorm.DB, ticketID int64, to string, cc []string) (bool, error) {
	if len(cc) > 0 {
		return false, nil
	}
	var own bool
	err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM tickets t JOIN customer_identities i ON i.customer_id = t.customer_id
		WHERE t.id = ? AND i.kind = 'email' AND lower(i.value) = lower(?))`, ticketID, to).Scan(&own).Error
	if err != nil {
		return false, fmt.Errorf("mailout: reply recipient: %w", err)
	}
	return own, nil
}

// withPortalLink adds the customer's portal link at the foot of a reply, after a signature
// separator so that mail clients fold it away when quoting.
func withPortalLink(text, html, link string) (string, string) {
	text += "\n\n-- \nSee this request and answer online: " + link + "\n"
	if html != "" {
		esc := template.HTMLEscapeString(link)
		html += `<p style="color:#555"><small>See this request and answer online: <a href="` + esc + `">` + esc + `</a></small></p>`
	}
	return text, html
}

//go:embed templates
var templates embed.FS

var (
	ackText = texttemplate.Must(texttemplate.ParseFS(templates, "templates/ack.txt"))
	ackHTML = template.Must(template.ParseFS(templates, "templates/ack.html"))
)

type ackData struct {
	Ref, Subject, Name, URL string
}

func renderAck(d ackData) (string, string, error) {
	var text, html bytes.Buffer
	if err := ackText.Execute(&text, d); err != nil {
		return "", "", fmt.Errorf("mailout: ack template: %w", err)
	}
	if err := ackHTML.Execute(&html, d); err != nil {
		return "", "", fmt.Errorf("mailout: ack template: %w", err)
	}
	return text.String(), html.String(), nil
}
