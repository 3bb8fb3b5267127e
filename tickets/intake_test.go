package tickets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func asValidation(err error, v **tickets.ValidationError) bool { return errors.As(err, v) }

func TestIntakeCreatesCustomerTicketMessageAndEvents(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	addr := email("lucia")
	tk, err := desk.Intake(ctx, tickets.NewTicket{
		Channel:  tickets.ChannelWeb,
		Customer: tickets.CustomerContact{Email: "  " + strings.ToUpper(addr) + " ", Name: "Lucía\tGarcía"},
		Subject:  "  Invoice\nwrong ",
		Body:     "I was charged twice.\r\nPlease refund one.",
		Urgency:  tickets.High,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != tickets.StatusNew || tk.Urgency != tickets.High || tk.Priority != tickets.High || tk.Channel != tickets.ChannelWeb {
		t.Errorf("ticket = %+v", tk)
	}
	if tk.Subject != "Invoice wrong" {
		t.Errorf("subject = %q, want whitespace folded", tk.Subject)
	}
	if tk.ID < 1000 || tk.Ref() != "#"+strconv.FormatInt(tk.ID, 10) {
		t.Errorf("id %d ref %s", tk.ID, tk.Ref())
	}

	rec, err := tickets.NewCustomers(db).Get(ctx, tk.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != "Lucía García" || len(rec.Identities) != 1 || rec.Identities[0].Value != addr || rec.Kind != tickets.KindCustomer {
		t.Errorf("customer = %+v", rec)
	}

	detail, err := desk.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(detail.Messages) != 1 {
		t.Fatalf("messages = %d", len(detail.Messages))
	}
	m := detail.Messages[0]
	if m.Kind != tickets.MessageInbound || *m.AuthorCustomerID != tk.CustomerID || m.BodyText != "I was charged twice.\nPlease refund one." {
		t.Errorf("message = %+v", m)
	}
	if got := eventTypes(t, tk.ID); !slices.Equal(got, []string{tickets.EventTicketCreated}) {
		t.Errorf("ticket events = %v", got)
	}
	var customerEvents int64
	db.Raw(`SELECT count(*) FROM events WHERE customer_id = ? AND type = ?`, tk.CustomerID, tickets.EventCustomerCreated).Scan(&customerEvents)
	if customerEvents != 1 {
		t.Errorf("customer.created events = %d", customerEvents)
	}

	// The same person writing again, with different capitalisation, is the same customer.
	again, err := desk.Intake(ctx, tickets.NewTicket{
		Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: strings.ToUpper(addr[:1]) + addr[1:]},
		Subject: "Another problem", Body: "Hello again",
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.CustomerID != tk.CustomerID {
		t.Errorf("second ticket went to customer %d, want %d", again.CustomerID, tk.CustomerID)
	}
}

func TestIntakeFillsMissingNameButKeepsExistingOne(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	addr := email("noname")
	first, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: addr}, Subject: "s", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ana Pérez", "Someone Else"} {
		if _, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: addr, Name: name}, Subject: "s", Body: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	rec, _ := tickets.NewCustomers(db).Get(ctx, first.CustomerID)
	if rec.Name != "Ana Pérez" {
		t.Errorf("name = %q, want the first name given", rec.Name)
	}
	if rec.TicketCount != 3 || len(rec.Tickets) != 3 || rec.Tickets[0].ID < rec.Tickets[2].ID {
		t.Errorf("tickets = %d %v, want 3 newest first", rec.TicketCount, rec.Tickets)
	}
}

func TestIntakeValidation(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{MaxBodyBytes: 1024, MaxAttachments: 2, MaxAttachmentBytes: 10})
	valid := func() tickets.NewTicket {
		return tickets.NewTicket{Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: "a@example.com"}, Subject: "s", Body: "b"}
	}
	cases := []struct {
		name  string
		edit  func(*tickets.NewTicket)
		field string
	}{
		{"no email", func(n *tickets.NewTicket) { n.Customer.Email = "" }, "customer.email"},
		{"bad email", func(n *tickets.NewTicket) { n.Customer.Email = "not-an-address" }, "customer.email"},
		{"email with name", func(n *tickets.NewTicket) { n.Customer.Email = "Ana <a@example.com>" }, "customer.email"},
		{"email without domain dot", func(n *tickets.NewTicket) { n.Customer.Email = "a@localhost" }, "customer.email"},
		{"bad phone", func(n *tickets.NewTicket) { n.Customer.Phone = "call me" }, "customer.phone"},
		{"long name", func(n *tickets.NewTicket) { n.Customer.Name = strings.Repeat("x", 201) }, "customer.name"},
		{"no subject", func(n *tickets.NewTicket) { n.Subject = " \n " }, "subject"},
		{"long subject", func(n *tickets.NewTicket) { n.Subject = strings.Repeat("é", 251) }, "subject"},
		{"no body", func(n *tickets.NewTicket) { n.Body = "\x00\x01 " }, "body"},
		{"long body", func(n *tickets.NewTicket) { n.Body = strings.Repeat("x", 1025) }, "body"},
		{"bad urgency", func(n *tickets.NewTicket) { n.Urgency = 9 }, "urgency"},
		{"bad channel", func(n *tickets.NewTicket) { n.Channel = "fax" }, "channel"},
		{"too many files", func(n *tickets.NewTicket) { n.Attachments = make([]tickets.NewAttachment, 3) }, "attachments"},
		{"empty file", func(n *tickets.NewTicket) { n.Attachments = []tickets.NewAttachment{{Filename: "a.txt"}} }, "attachments[0]"},
		{"big file", func(n *tickets.NewTicket) {
			n.Attachments = []tickets.NewAttachment{{Filename: "a", Data: []byte("1")}, {Filename: "b", Data: bytes.Repeat([]byte("x"), 11)}}
		}, "attachments[1]"},
		{"unknown team", func(n *tickets.NewTicket) { id := int64(987654); n.TeamID = &id }, "team_id"},
	}
	var before int64
	db.Raw(`SELECT count(*) FROM tickets`).Scan(&before)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.edit(&in)
			_, err := desk.Intake(context.Background(), in)
			if got := fieldOf(t, err); got != tc.field {
				t.Errorf("field = %q, want %q (%v)", got, tc.field, err)
			}
		})
	}
	var after int64
	db.Raw(`SELECT count(*) FROM tickets`).Scan(&after)
	if after != before {
		t.Errorf("rejected input wrote %d tickets", after-before)
	}
}

func TestIntakeReportsEveryBadField(t *testing.T) {
	_, err := tickets.NewDesk(db, tickets.Limits{}).Intake(context.Background(), tickets.NewTicket{Channel: tickets.ChannelWeb})
	var v *tickets.ValidationError
	if !errors.As(err, &v) {
		t.Fatal(err)
	}
	for _, f := range []string{"customer.email", "subject", "body"} {
		if v.Message(f) == "" {
			t.Errorf("no message for %s in %v", f, err)
		}
	}
}

func TestIntakeSanitizesHTMLAndDerivesText(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	tk, err := desk.Intake(context.Background(), tickets.NewTicket{
		Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: email("html")}, Subject: "HTML only",
		BodyHTML: `<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script><a href="javascript:alert(2)">x</a><p>Second&nbsp;line</p>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := desk.Get(context.Background(), tk.ID)
	m := d.Messages[0]
	for _, bad := range []string{"onclick", "<script", "javascript:", "alert(1)"} {
		if strings.Contains(m.BodyHTML, bad) {
			t.Errorf("stored HTML keeps %q: %s", bad, m.BodyHTML)
		}
	}
	if !strings.Contains(m.BodyHTML, "<b>there</b>") {
		t.Errorf("stored HTML lost formatting: %s", m.BodyHTML)
	}
	if m.BodyText != "Hello there\n\nx\nSecond\u00a0line" && m.BodyText != "Hello there\n\nxSecond\u00a0line" {
		t.Errorf("text = %q", m.BodyText)
	}
}

func TestIntakeStoresAttachmentsOncePerContent(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	pdf := []byte("%PDF-1.4 the same invoice " + email("pdf"))
	files := []tickets.NewAttachment{
		{Filename: `C:\Users\ana\factura año.pdf`, ContentType: "application/pdf", Data: pdf},
		{Filename: "../../etc/passwd", ContentType: "not a type", Data: pdf},
	}
	tk, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("att")}, Subject: "s", Body: "b", Attachments: files})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := desk.Get(ctx, tk.ID)
	atts := d.Messages[0].Attachments
	if len(atts) != 2 {
		t.Fatalf("attachments = %d", len(atts))
	}
	if atts[0].Filename != "factura año.pdf" || atts[1].Filename != "passwd" || atts[1].ContentType != "application/octet-stream" {
		t.Errorf("attachments = %+v", atts)
	}
	a, data, err := desk.AttachmentContent(ctx, atts[1].ID)
	if err != nil || !bytes.Equal(data, pdf) || a.Size != int64(len(pdf)) {
		t.Fatalf("content = %q, %v", data, err)
	}
	var blobs int64
	db.Raw(`SELECT count(*) FROM blobs WHERE sha256 = ?`, atts[0].BlobSHA256).Scan(&blobs)
	if blobs != 1 {
		t.Errorf("blobs = %d, want one copy of identical content", blobs)
	}
	if _, _, err := desk.AttachmentContent(ctx, 1<<40); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("missing attachment: %v", err)
	}
}

// Two messages from one new address arriving at the same moment must not make two customers.
func TestIntakeRaceOnNewAddressMakesOneCustomer(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	addr := email("race")
	phoneBase := 600000000 + unique.Add(100)*10
	const n = 8
	var wg sync.WaitGroup
	ids := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tk, err := desk.Intake(context.Background(), tickets.NewTicket{
				Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: addr, Phone: fmt.Sprintf("+34 %d", phoneBase+int64(i))},
				Subject: "race", Body: "b",
			})
			errs[i] = err
			if err == nil {
				ids[i] = tk.CustomerID
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("customers %v, want one", ids)
		}
	}
	var customers, identities int64
	db.Raw(`SELECT count(DISTINCT customer_id) FROM customer_identities WHERE value = ?`, addr).Scan(&customers)
	db.Raw(`SELECT count(*) FROM customer_identities WHERE customer_id = ?`, ids[0]).Scan(&identities)
	if customers != 1 || identities != n+1 {
		t.Errorf("customers = %d, identities = %d (want 1 and %d: the address and every phone)", customers, identities, n+1)
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	tk := newTicket(t, tickets.NewDesk(db, tickets.Limits{}), email("audit"))
	for _, stmt := range []string{
		`UPDATE events SET type = 'forged' WHERE ticket_id = ?`,
		`DELETE FROM events WHERE ticket_id = ?`,
	} {
		if err := db.Exec(stmt, tk.ID).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want refusal", stmt, err)
		}
	}
}

// A customer is found by whichever identity they are known by, the email first, and learns the
// other; an identity someone else owns stays theirs.
func TestIntakeFindsTheCustomerByEmailOrPhone(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	intake := func(c tickets.CustomerContact) *tickets.Ticket {
		t.Helper()
		tk, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelAPI, Customer: c, Subject: "s", Body: "b"})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	phone := func() string { return fmt.Sprintf("+34 6%08d", unique.Add(1)) }
	identities := func(customerID int64) []string {
		t.Helper()
		var values []string
		if err := db.Raw(`SELECT value FROM customer_identities WHERE customer_id = ? ORDER BY kind, value`, customerID).Scan(&values).Error; err != nil {
			t.Fatal(err)
		}
		return values
	}

	byPhone, byEmail := phone(), email("email-only")
	caller := intake(tickets.CustomerContact{Phone: byPhone, Name: "Caller"})
	writer := intake(tickets.CustomerContact{Email: byEmail, Name: "Writer"})

	// Known by phone, new email: the caller, who now has both.
	newEmail := email("caller")
	if tk := intake(tickets.CustomerContact{Email: newEmail, Phone: byPhone}); tk.CustomerID != caller.CustomerID {
		t.Errorf("known phone, new email: customer %d, want the caller %d", tk.CustomerID, caller.CustomerID)
	}
	if got := identities(caller.CustomerID); len(got) != 2 || got[0] != newEmail {
		t.Errorf("the caller's identities = %v", got)
	}
	// Email of one, phone of another: the email's owner; the phone stays with the caller.
	if tk := intake(tickets.CustomerContact{Email: byEmail, Phone: byPhone}); tk.CustomerID != writer.CustomerID {
		t.Errorf("email of one, phone of another: customer %d, want the email's owner %d", tk.CustomerID, writer.CustomerID)
	}
	if got := identities(writer.CustomerID); !slices.Equal(got, []string{byEmail}) {
		t.Errorf("the writer took another's phone: %v", got)
	}
	// Both new: one new customer with both.
	both := intake(tickets.CustomerContact{Email: email("both"), Phone: phone()})
	if both.CustomerID == caller.CustomerID || both.CustomerID == writer.CustomerID || len(identities(both.CustomerID)) != 2 {
		t.Errorf("two new identities: customer %d with %v", both.CustomerID, identities(both.CustomerID))
	}
}

// A companion's rows are written by the statement that writes the ticket, so they commit or
// vanish with it, and the hooks learn how many there were.
func TestCompanionsWriteWithTheTicket(t *testing.T) {
	ctx := context.Background()
	if err := db.Exec(`CREATE TABLE IF NOT EXISTS companion_test (ticket_id bigint NOT NULL REFERENCES tickets(id), note text NOT NULL CHECK (note <> 'refused'))`).Error; err != nil {
		t.Fatal(err)
	}
	desk := tickets.NewDesk(db, tickets.Limits{})
	desk.AddCompanion(tickets.Companion{Name: "noted", Rows: func(f tickets.NewTicketFacts) (string, map[string]any, bool) {
		if f.Priority == tickets.Low {
			return "", nil, false
		}
		return `INSERT INTO companion_test (ticket_id, note) SELECT t.id, @noted_note FROM t RETURNING 1`,
			map[string]any{"noted_note": f.Priority.String() + " for " + string(f.Tier)}, true
	}})
	var seen []map[string]int64
	desk.AddHook(func(_ context.Context, _ *gorm.DB, changes []tickets.Change) error {
		for _, c := range changes {
			if c.Type == tickets.EventTicketCreated {
				seen = append(seen, c.Companions)
			}
		}
		return nil
	})
	open := func(urgency tickets.Level) (*tickets.Ticket, error) {
		return desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelAPI, Customer: tickets.CustomerContact{Email: email("companion")},
			Subject: "s", Body: "b", Urgency: urgency})
	}
	notes := func(tk *tickets.Ticket) []string {
		var out []string
		if err := db.Raw(`SELECT note FROM companion_test WHERE ticket_id = ?`, tk.ID).Scan(&out).Error; err != nil {
			t.Fatal(err)
		}
		return out
	}

	tk, err := open(tickets.High)
	if err != nil {
		t.Fatal(err)
	}
	if got := notes(tk); !slices.Equal(got, []string{"high for new"}) || seen[0]["noted"] != 1 {
		t.Errorf("notes %v, hooks saw %v", got, seen)
	}
	quiet, err := open(tickets.Low)
	if err != nil {
		t.Fatal(err)
	}
	if got := notes(quiet); len(got) != 0 || seen[1]["noted"] != 0 {
		t.Errorf("a companion that declined wrote %v; hooks saw %v", got, seen)
	}

	// A channel's batch desk, inside its own transaction, has the same companions.
	var batched *tickets.Ticket
	err = db.Transaction(func(tx *gorm.DB) error {
		batched, err = desk.InTx(tx).Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelEmail,
			Customer: tickets.CustomerContact{Email: email("batched")}, Subject: "s", Body: "b", Urgency: tickets.Urgent})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := notes(batched); !slices.Equal(got, []string{"urgent for new"}) {
		t.Errorf("a batch desk's intake: notes %v", got)
	}

	// A companion's failure is the intake's: nothing of the ticket stays.
	refusing := tickets.NewDesk(db, tickets.Limits{})
	refusing.AddCompanion(tickets.Companion{Name: "noted", Rows: func(tickets.NewTicketFacts) (string, map[string]any, bool) {
		return `INSERT INTO companion_test (ticket_id, note) SELECT t.id, 'refused' FROM t RETURNING 1`, nil, true
	}})
	addr := email("refused")
	if _, err := refusing.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelAPI, Customer: tickets.CustomerContact{Email: addr}, Subject: "s", Body: "b"}); err == nil {
		t.Fatal("the companion's failure did not fail the intake")
	}
	var left int64
	db.Raw(`SELECT count(*) FROM customer_identities WHERE value = ?`, addr).Scan(&left)
	if left != 0 {
		t.Error("a failed intake left its customer behind")
	}
}
