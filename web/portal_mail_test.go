package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

// mailingDesk is a desk that queues mail as serve wires it: every mail to a customer carries
// their portal link.
func mailingDesk(t *testing.T) *tickets.Desk {
	t.Helper()
	// Mail needs a mailbox to go from; the first enabled one sends for web tickets.
	err := db.Exec(`INSERT INTO mailboxes (name, address, imap_host, imap_port, imap_tls, imap_username, imap_password, smtp_host, smtp_port, smtp_tls)
		SELECT 'Portal test', 'portal-test@help.example', 'imap.help.example', 993, 'tls', 'support', '\x00'::bytea, 'smtp.help.example', 465, 'tls'
		WHERE NOT EXISTS (SELECT 1 FROM mailboxes WHERE enabled)`).Error
	if err != nil {
		t.Fatal(err)
	}
	desk := tickets.NewDesk(db, tickets.Limits{})
	mail := mailout.New(mailout.Options{
		AckLimit:  3,
		TicketURL: func(int64) string { return "http://help.example/portal" },
		PortalLink: func(tx *gorm.DB, ticketID int64) (string, error) {
			token, err := tickets.IssuePortalLink(tx, ticketID, time.Hour)
			return web.PortalLinkURL("http://help.example", token), err
		},
	})
	desk.AddHook(mail.Hook)
	return desk
}

var mailedLink = regexp.MustCompile(`http://help\.example(/portal/t/[A-Za-z0-9_-]+)`)

// The acknowledgement of a new ticket and every public reply carry a link that signs the
// customer in to the portal, on that ticket.
func TestPortalLinkInMails(t *testing.T) {
	ctx := context.Background()
	desk := mailingDesk(t)
	tk, err := desk.Intake(ctx, tickets.NewTicket{
		Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("acked"), Name: "Ana"},
		Subject: "Factura duplicada", Body: "Me han cobrado dos veces.",
	})
	if err != nil {
		t.Fatal(err)
	}
	var ack struct{ BodyText, BodyHTML string }
	db.Raw(`SELECT body_text, body_html FROM outbox WHERE ticket_id = ? AND kind = 'ack'`, tk.ID).Scan(&ack)
	m := mailedLink.FindStringSubmatch(ack.BodyText)
	if m == nil || !strings.Contains(ack.BodyHTML, m[0]) {
		t.Fatalf("no portal link in the acknowledgement:\n%s\n%s", ack.BodyText, ack.BodyHTML)
	}
	v := newVisitor(t, app)
	res := v.get(m[1])
	if res.status != 303 || res.header.Get("Location") != fmt.Sprintf("/portal/tickets/%d", tk.ID) {
		t.Fatalf("the acknowledgement's link: %d to %q", res.status, res.header.Get("Location"))
	}
	if page := v.get(res.header.Get("Location")); page.status != 200 || !strings.Contains(string(page.body), "Me han cobrado dos veces.") {
		t.Fatalf("the link does not show the ticket: %d", page.status)
	}

	reply, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: agentUser.ID, Body: "Le devolvemos el importe."})
	if err != nil {
		t.Fatal(err)
	}
	var text string
	db.Raw(`SELECT body_text FROM outbox WHERE ticket_message_id = ?`, reply.ID).Scan(&text)
	m = mailedLink.FindStringSubmatch(text)
	if m == nil || !strings.HasPrefix(text, "Le devolvemos el importe.") {
		t.Fatalf("the reply mail lacks the reply or its portal link:\n%s", text)
	}
	if res := newVisitor(t, app).get(m[1]); res.status != 303 || res.header.Get("Location") != fmt.Sprintf("/portal/tickets/%d", tk.ID) {
		t.Errorf("the reply's link: %d to %q", res.status, res.header.Get("Location"))
	}
}

// A reply that also goes to someone the customer copied carries no sign-in link: it would let
// them into the customer's tickets. It points to the portal's front page instead.
func TestPortalLinkNotInMailsToOthers(t *testing.T) {
	ctx := context.Background()
	desk := mailingDesk(t)
	var mailbox struct {
		ID      int64
		Address string
	}
	db.Raw(`SELECT id, address FROM mailboxes WHERE enabled ORDER BY id LIMIT 1`).Scan(&mailbox)
	customer, colleague := email("boss"), email("colleague")
	n := unique.Add(1)
	tk, err := desk.Intake(ctx, tickets.NewTicket{
		Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: customer},
		Subject: "Pedido retrasado", Body: "¿Dónde está mi pedido?",
		OnStored: func(tx *gorm.DB, t *tickets.Ticket, m *tickets.Message) error {
			return tx.Exec(`INSERT INTO email_messages (mailbox_id, dedupe_key, message_id, ticket_id, ticket_message_id, from_address, to_addresses, cc_addresses, subject)
				SELECT ?, ?, ?, ?, ?, ?, ARRAY[?], ARRAY[?], 'Pedido retrasado'`,
				mailbox.ID, fmt.Sprint("portal-cc-", n), fmt.Sprintf("portal-cc-%d@example.com", n), t.ID, m.ID, customer, mailbox.Address, colleague).Error
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: agentUser.ID, Body: "Sale mañana."})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		BodyText    string
		CcAddresses string
	}
	db.Raw(`SELECT body_text, array_to_string(cc_addresses, ',') AS cc_addresses FROM outbox WHERE ticket_message_id = ?`, reply.ID).Scan(&out)
	if out.CcAddresses != colleague {
		t.Fatalf("the reply should copy the colleague: %q", out.CcAddresses)
	}
	if mailedLink.MatchString(out.BodyText) || !strings.Contains(out.BodyText, "http://help.example/portal\n") {
		t.Errorf("a reply copied to someone else carries a sign-in link, or no portal address:\n%s", out.BodyText)
	}
}
