package mailout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// The whole conversation by email: a customer writes, gets an acknowledgement, receives the
// agent's reply in the same thread, answers it, and the answer lands on the same ticket.
func TestConversationByEmail(t *testing.T) {
	srv := newSMTPServer(t)
	mbox := addMailbox(t, srv.addr, "", "")
	desk := newDesk(3)
	sender := newSender(mailout.SenderOptions{})
	ctx := context.Background()
	customer, colleague := email("ana"), email("boss")
	first := msgID("first")
	raw := simple("Ana García <"+customer+">", "Cannot log in", first, "The page says my password is wrong.", "Cc: "+colleague)
	res := ingest(t, desk, mbox, bytes.ReplaceAll(raw, []byte("support@help.example"), []byte(mbox.Address)))
	ticketID := res[0].TicketID
	token := mailin.Token(ticketID)

	// The acknowledgement.
	if st := sendDue(t, sender); st.Sent != 1 {
		t.Fatalf("send: %+v", st)
	}
	ack := srv.received()[0]
	h := ack.Msg.Header
	switch {
	case ack.From != mbox.Address || len(ack.To) != 1 || ack.To[0] != customer:
		t.Errorf("ack envelope %s -> %v", ack.From, ack.To)
	case h.Get("Auto-Submitted") != "auto-replied":
		t.Errorf("ack Auto-Submitted %q", h.Get("Auto-Submitted"))
	case h.Get("In-Reply-To") != "<"+first+">":
		t.Errorf("ack In-Reply-To %q", h.Get("In-Reply-To"))
	case !strings.Contains(h.Get("Subject"), token):
		t.Errorf("ack subject %q lacks %s", h.Get("Subject"), token)
	case !strings.Contains(string(ack.Raw), tickets.Ref(ticketID)) || !strings.Contains(string(ack.Raw), "https://help.example/support?t="):
		t.Errorf("ack body lacks the reference or the link:\n%s", ack.Raw)
	}

	// The agent's reply, threaded under the customer's email, copied to whom she copied.
	agent := newAgent(t)
	reply, err := desk.AddStaffMessage(ctx, ticketID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: agent.ID,
		Body: "Please reset your password at the login page.", Attachments: []tickets.NewAttachment{{Filename: "steps.txt", ContentType: "text/plain", Data: []byte("1. Reset\n2. Log in\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	// An internal note is never mailed.
	if _, err := desk.AddStaffMessage(ctx, ticketID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: agent.ID, Body: "internal"}); err != nil {
		t.Fatal(err)
	}
	if st := sendDue(t, sender); st.Sent != 1 {
		t.Fatalf("send reply: %+v", st)
	}
	got := srv.received()[1]
	h = got.Msg.Header
	ourID := strings.Trim(h.Get("Message-Id"), "<>")
	switch {
	case ourID == "" || !strings.HasSuffix(ourID, "@help.example"):
		t.Errorf("reply Message-ID %q", h.Get("Message-Id"))
	case h.Get("In-Reply-To") != "<"+first+">" || !strings.Contains(h.Get("References"), "<"+first+">"):
		t.Errorf("reply threading: In-Reply-To %q References %q", h.Get("In-Reply-To"), h.Get("References"))
	case h.Get("Subject") != "Re: Cannot log in "+token:
		t.Errorf("reply subject %q", h.Get("Subject"))
	case h.Get("Auto-Submitted") != "":
		t.Errorf("a person's reply carries Auto-Submitted %q", h.Get("Auto-Submitted"))
	case strings.Join(got.To, ",") != customer+","+colleague:
		t.Errorf("reply recipients %v, want the customer and the copied colleague, never our own address", got.To)
	case !strings.Contains(string(got.Raw), "steps.txt") || !strings.Contains(string(got.Raw), "Please reset your password"):
		t.Errorf("reply lacks its body or attachment:\n%s", got.Raw)
	}
	d, err := mailout.Deliveries(ctx, db, []int64{reply.ID})
	if err != nil || d[reply.ID].Status != "sent" || d[reply.ID].SentAt == nil {
		t.Errorf("delivery: %+v %v", d, err)
	}

	// The customer answers the reply; it lands on the ticket.
	answer := simple("Ana García <"+customer+">", "Re: Cannot log in "+token, msgID("answer"), "It works now, thanks!",
		"In-Reply-To: <"+ourID+">", "References: <"+first+"> <"+ourID+">")
	res = ingest(t, desk, mbox, answer)
	if res[0].Outcome != mailin.OutcomeMessage || res[0].TicketID != ticketID {
		t.Fatalf("the answer: %+v, want a message on ticket %d", res[0], ticketID)
	}
	if n := count(t, `SELECT count(*) FROM messages WHERE ticket_id = ? AND kind = 'inbound'`, ticketID); n != 2 {
		t.Errorf("%d inbound messages on the ticket, want 2", n)
	}
	// No second acknowledgement for an answer.
	if n := count(t, `SELECT count(*) FROM outbox WHERE ticket_id = ? AND kind = 'ack'`, ticketID); n != 1 {
		t.Errorf("%d acknowledgements", n)
	}
}

// No acknowledgement goes to auto-replies, bulk mail, bounces, our own mailboxes or an address
// that bounced, and at most the limit per address per hour.
func TestAcknowledgementRules(t *testing.T) {
	srv := newSMTPServer(t)
	mbox := addMailbox(t, srv.addr, "", "")
	other := addMailbox(t, srv.addr, "", "")
	desk := newDesk(2)
	acks := func(from string) int64 {
		return count(t, `SELECT count(*) FROM outbox WHERE kind = 'ack' AND to_addresses[1] = ?`, from)
	}
	for _, tt := range []struct {
		name    string
		from    string
		headers []string
	}{
		{"auto-submitted", email("ooo"), []string{"Auto-Submitted: auto-replied"}},
		{"precedence bulk", email("bulk"), []string{"Precedence: bulk"}},
		{"mailing list", email("list"), []string{"List-Id: <news.example.com>"}},
		{"x-autoreply", email("xa"), []string{"X-Autoreply: yes"}},
		{"our own mailbox", other.Address, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := ingest(t, desk, mbox, simple("<"+tt.from+">", "Hello", msgID("r"), "x", tt.headers...))
			if res[0].Outcome != mailin.OutcomeTicket {
				t.Fatalf("%+v", res[0])
			}
			if n := acks(tt.from); n != 0 {
				t.Errorf("%d acknowledgements", n)
			}
		})
	}
	t.Run("bounced address", func(t *testing.T) {
		addr := email("gone")
		db.Exec(`INSERT INTO email_undeliverable (address, reason) VALUES (?, 'bounced: 5.1.1')`, addr)
		ingest(t, desk, mbox, simple("<"+addr+">", "Hello", msgID("r"), "x", "Auto-Submitted: no"))
		// Writing to us proves the address works again, but this intake was decided before.
		if n := acks(addr); n != 1 && n != 0 {
			t.Errorf("%d acknowledgements", n)
		}
	})
	t.Run("hourly limit", func(t *testing.T) {
		addr := email("busy")
		for i := range 4 {
			ingest(t, desk, mbox, simple("<"+addr+">", fmt.Sprintf("Problem %d", i), msgID("r"), "x"))
		}
		if n := acks(addr); n != 2 {
			t.Errorf("%d acknowledgements, want the limit of 2", n)
		}
	})
	t.Run("web form tickets", func(t *testing.T) {
		addr := email("web")
		if _, err := desk.Intake(context.Background(), tickets.NewTicket{Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: addr}, Subject: "From the form", Body: "x"}); err != nil {
			t.Fatal(err)
		}
		if n := acks(addr); n != 1 {
			t.Errorf("%d acknowledgements for a web ticket", n)
		}
		if _, err := desk.Intake(context.Background(), tickets.NewTicket{Channel: tickets.ChannelAPI, Customer: tickets.CustomerContact{Email: email("api")}, Subject: "By API", Body: "x"}); err != nil {
			t.Fatal(err)
		}
	})
}

// A bounce of our mail marks it failed on the message, where the agent sees why, and marks the
// address undeliverable.
func TestBounceMarksDeliveryFailed(t *testing.T) {
	srv := newSMTPServer(t)
	mbox := addMailbox(t, srv.addr, "", "")
	desk := newDesk(0)
	ctx := context.Background()
	customer := "nobody." + fmt.Sprint(unique.Add(1)) + "@example.net"
	tk, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelAPI, Customer: tickets.CustomerContact{Email: customer}, Subject: "Where is my order", Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: newAgent(t).ID, Body: "It ships today."})
	if err != nil {
		t.Fatal(err)
	}
	sendDue(t, newSender(mailout.SenderOptions{}))
	var ourID string
	db.Raw(`SELECT header_message_id FROM outbox WHERE ticket_message_id = ?`, reply.ID).Scan(&ourID)
	bounce := fmt.Sprintf("Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.help.example\r\nTo: %s\r\nSubject: Undelivered Mail\r\nMessage-ID: <%s>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"+
		"--b\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"+
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"+
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <%s>\r\nSubject: Re: Where is my order\r\n--b--\r\n", mbox.Address, msgID("bounce"), customer, ourID)
	res := ingest(t, desk, mbox, []byte(bounce))
	if res[0].Outcome != mailin.OutcomeBounce || res[0].TicketID != tk.ID {
		t.Fatalf("bounce: %+v", res[0])
	}
	d, _ := mailout.Deliveries(ctx, db, []int64{reply.ID})
	if d[reply.ID].Status != "failed" || !strings.Contains(d[reply.ID].Error, "5.1.1") {
		t.Errorf("delivery after the bounce: %+v", d[reply.ID])
	}
	if n := count(t, `SELECT count(*) FROM email_undeliverable WHERE address = ?`, customer); n != 1 {
		t.Error("the address is not marked undeliverable")
	}
	if n := count(t, `SELECT count(*) FROM tickets WHERE customer_id IN (SELECT customer_id FROM customer_identities WHERE value LIKE 'mailer-daemon%')`); n != 0 {
		t.Error("the bounce opened a ticket")
	}
}

// Temporary failures are retried with backoff; permanent ones are marked failed at once, with
// the server's answer, on the message.
func TestRetriesAndPermanentFailures(t *testing.T) {
	srv := newSMTPServer(t)
	mbox := addMailbox(t, srv.addr, "", "")
	ctx := context.Background()
	tempAddr, permAddr := email("temp"), email("perm")
	tries := 0
	srv.fail = func(rcpt string) error {
		switch rcpt {
		case tempAddr:
			if tries++; tries <= 2 {
				return &smtp.SMTPError{Code: 451, Message: "try again later"}
			}
		case permAddr:
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := mailout.Enqueue(tx, mailout.Outgoing{MailboxID: mbox.ID, To: []string{tempAddr}, Subject: "Temp", Text: "x"}); err != nil {
			return err
		}
		return mailout.Enqueue(tx, mailout.Outgoing{MailboxID: mbox.ID, To: []string{permAddr}, Subject: "Perm", Text: "x"})
	})
	if err != nil {
		t.Fatal(err)
	}
	sender := newSender(mailout.SenderOptions{RetryBase: time.Millisecond, Workers: 1})
	st := sendDue(t, sender)
	if st.Failed != 1 || st.Retrying < 1 {
		t.Errorf("first pass %+v", st)
	}
	var perm struct {
		Status, LastError string
	}
	db.Raw(`SELECT status, last_error FROM outbox WHERE to_addresses[1] = ?`, permAddr).Scan(&perm)
	if perm.Status != "failed" || !strings.Contains(perm.LastError, "no such user") {
		t.Errorf("permanent failure: %+v", perm)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, `SELECT count(*) FROM outbox WHERE to_addresses[1] = ? AND status = 'sent'`, tempAddr) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the temporary failure was never retried into a success")
		}
		time.Sleep(5 * time.Millisecond)
		sendDue(t, sender)
	}
	if n := count(t, `SELECT attempts FROM outbox WHERE to_addresses[1] = ?`, tempAddr); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	// Giving up after the last attempt.
	srv.fail = func(string) error { return &smtp.SMTPError{Code: 421, Message: "closing"} }
	db.Transaction(func(tx *gorm.DB) error {
		return mailout.Enqueue(tx, mailout.Outgoing{MailboxID: mbox.ID, To: []string{email("never")}, Subject: "Never", Text: "x"})
	})
	give := newSender(mailout.SenderOptions{RetryBase: time.Millisecond, MaxAttempts: 2, Workers: 1})
	for range 20 {
		sendDue(t, give)
		time.Sleep(5 * time.Millisecond)
	}
	var last struct{ Status, LastError string }
	db.Raw(`SELECT status, last_error FROM outbox WHERE subject = 'Never' ORDER BY id DESC LIMIT 1`).Scan(&last)
	if last.Status != "failed" || !strings.Contains(last.LastError, "gave up after 2 attempts") {
		t.Errorf("after the last attempt: %+v", last)
	}
	_ = ctx
}

// Several senders (as several serve processes run) share the queue without sending anything twice.
func TestSeveralSendersNeverSendTwice(t *testing.T) {
	srv := newSMTPServer(t)
	mbox := addMailbox(t, srv.addr, "", "")
	const n = 120
	err := db.Transaction(func(tx *gorm.DB) error {
		for i := range n {
			if err := mailout.Enqueue(tx, mailout.Outgoing{MailboxID: mbox.ID, To: []string{email("many")}, Subject: fmt.Sprintf("Many %d", i), Text: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		s := newSender(mailout.SenderOptions{Workers: 4})
		wg.Go(func() { s.SendDue(context.Background()) })
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range srv.received() {
		if strings.HasPrefix(m.Msg.Header.Get("Subject"), "Many ") {
			seen[m.Msg.Header.Get("Message-Id")]++
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages arrived, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s arrived %d times", id, c)
		}
	}
}

// The mailbox's SMTP login is used, with the sealed password.
func TestSMTPLogin(t *testing.T) {
	srv := newSMTPServer(t)
	srv.user, srv.password = "mailer", "smtp-s3cret"
	good := addMailbox(t, srv.addr, "mailer", "smtp-s3cret")
	bad := addMailbox(t, srv.addr, "mailer", "wrong")
	db.Transaction(func(tx *gorm.DB) error {
		mailout.Enqueue(tx, mailout.Outgoing{MailboxID: good.ID, To: []string{email("a")}, Subject: "Login ok", Text: "x"})
		return mailout.Enqueue(tx, mailout.Outgoing{MailboxID: bad.ID, To: []string{email("b")}, Subject: "Login bad", Text: "x"})
	})
	sendDue(t, newSender(mailout.SenderOptions{Workers: 1, RetryBase: time.Hour}))
	var ok, bad2 struct{ Status, LastError string }
	db.Raw(`SELECT status, last_error FROM outbox WHERE subject = 'Login ok'`).Scan(&ok)
	db.Raw(`SELECT status, last_error FROM outbox WHERE subject = 'Login bad'`).Scan(&bad2)
	if ok.Status != "sent" {
		t.Errorf("with the right password: %+v", ok)
	}
	if bad2.Status == "sent" || strings.Contains(bad2.LastError, "wrong") {
		t.Errorf("with a wrong password: %+v (the error must not quote the password)", bad2)
	}
}

// Enqueue is what other packages (SLA escalations) call inside their transactions.
func TestEnqueue(t *testing.T) {
	err := db.Transaction(func(tx *gorm.DB) error {
		return mailout.Enqueue(tx, mailout.Outgoing{To: []string{"not an address"}, Headers: map[string]string{"Bad:Name": "x"}})
	})
	var v *tickets.ValidationError
	if !errors.As(err, &v) || v.Message("to[0]") == "" || v.Message("subject") == "" || v.Message("text") == "" || v.Message("headers") == "" {
		t.Fatalf("err = %v", err)
	}
	srv := newSMTPServer(t)
	mbox := addMailbox(t, srv.addr, "", "")
	boss := email("supervisor")
	// Rolled back with its transaction: nothing is sent.
	db.Transaction(func(tx *gorm.DB) error {
		mailout.Enqueue(tx, mailout.Outgoing{MailboxID: mbox.ID, To: []string{boss}, Subject: "Rolled back", Text: "x"})
		return errors.New("rollback")
	})
	if err := db.Transaction(func(tx *gorm.DB) error {
		return mailout.Enqueue(tx, mailout.Outgoing{Kind: mailout.KindNotice, MailboxID: mbox.ID, To: []string{boss}, Subject: "SLA breach on #1234", Text: "Ticket #1234 breached its first response target.", HTML: "<p>Ticket <b>#1234</b> breached.</p>"})
	}); err != nil {
		t.Fatal(err)
	}
	sendDue(t, newSender(mailout.SenderOptions{}))
	var got []received
	for _, m := range srv.received() {
		if m.To[0] == boss {
			got = append(got, m)
		}
	}
	if len(got) != 1 || got[0].Msg.Header.Get("Subject") != "SLA breach on #1234" || got[0].Msg.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("notices received: %d %+v", len(got), got)
	}
	if !strings.Contains(string(got[0].Raw), "text/html") {
		t.Error("the notice lost its HTML part")
	}
}
