package mailin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// The whole corpus goes through a real IMAP server into the desk: each readable email opens a
// ticket with its text, HTML and attachments in UTF-8; the one without a sender goes to
// quarantine; the duplicate Message-ID is skipped; a second pass takes nothing; everything ends
// flagged \Seen.
func TestIngestCorpus(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	files := []string{
		"plain.eml", "alternative.eml", "html-only.eml", "iso-2022-jp.eml", "windows-1250.eml", "shift-jis.eml",
		"utf8-subject.eml", "attachment-nonascii-name.eml", "inline-image.eml", "no-message-id.eml",
		"duplicate-message-id-a.eml", "duplicate-message-id-b.eml", "broken-boundary.eml", "missing-from.eml",
		"mailing-list.eml", "auto-reply-x-autoreply.eml",
	}
	for _, f := range files {
		// Message-IDs are made unique per run so that the test can run against a reused database.
		raw := bytes.ReplaceAll(corpus(t, f), []byte("@mail.example"), fmt.Appendf(nil, ".%d@mail.example", mbox.ID))
		srv.deliver(t, "INBOX", raw)
	}
	r := newRunner(newDesk(), mailin.RunnerOptions{})
	stats := syncOnce(t, r, mbox)
	want := mailin.SyncStats{Fetched: len(files), Tickets: len(files) - 2, Duplicates: 1, Quarantined: 1}
	if stats != want {
		t.Errorf("stats = %+v, want %+v", stats, want)
	}
	type row struct {
		Subject, BodyText, BodyHTML, Channel, Class string
		Files                                       int64
	}
	var rows []row
	err := db.Raw(`SELECT t.subject, m.body_text, m.body_html, t.channel, e.class,
			(SELECT count(*) FROM attachments a WHERE a.message_id = m.id) AS files
		FROM email_messages e JOIN tickets t ON t.id = e.ticket_id JOIN messages m ON m.id = e.ticket_message_id
		WHERE e.mailbox_id = ? ORDER BY e.id`, mbox.ID).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	bySubject := map[string]row{}
	for _, r := range rows {
		bySubject[r.Subject] = r
		if r.Channel != "email" {
			t.Errorf("%s: channel %s", r.Subject, r.Channel)
		}
	}
	for _, c := range []struct {
		subject, text, html, class string
		files                      int64
	}{
		{subject: "ログインの問題", text: "パスワードが違うと表示されます"},
		{subject: "Přihlášení", text: "Žluťoučký kůň"},
		{subject: "配送について", text: "確認をお願いします"},
		{subject: "Problema con la facturación — ¡urgente!", text: "La factura está mal."},
		{subject: "Order not delivered", text: "has not arrived", html: "<b>#5521</b>"},
		{subject: "Contrato firmado", files: 2},
		{subject: "Screenshot of the error", html: "cid:shot1", files: 1},
		{subject: "Broken boundary", text: "is not the one used here", files: 1},
		{subject: "[announce] Our spring sale", class: "bulk"},
		{subject: "Out of office: Your request", class: "auto-reply"},
		{subject: "No id on this one", text: "no Message-ID"},
	} {
		r, ok := bySubject[c.subject]
		switch {
		case !ok:
			t.Errorf("no ticket %q", c.subject)
		case !strings.Contains(r.BodyText, c.text):
			t.Errorf("%s: body %q lacks %q", c.subject, r.BodyText, c.text)
		case !strings.Contains(r.BodyHTML, c.html):
			t.Errorf("%s: html %q lacks %q", c.subject, r.BodyHTML, c.html)
		case c.files != r.Files:
			t.Errorf("%s: %d files, want %d", c.subject, r.Files, c.files)
		case c.class != "" && r.Class != c.class:
			t.Errorf("%s: class %s, want %s", c.subject, r.Class, c.class)
		}
	}
	if strings.Contains(bySubject["Order not delivered"].BodyHTML, "<script") {
		t.Error("stored HTML holds a script")
	}
	var filename string
	db.Raw(`SELECT a.filename FROM attachments a JOIN email_messages e ON e.ticket_message_id = a.message_id
		WHERE e.mailbox_id = ? AND a.filename LIKE 'contrato%'`, mbox.ID).Scan(&filename)
	if filename != "contrato señor niño.pdf" {
		t.Errorf("attachment name %q", filename)
	}
	var q struct{ Reason, Error string }
	db.Raw(`SELECT reason, error FROM email_quarantine WHERE mailbox_id = ?`, mbox.ID).Scan(&q)
	if q.Reason != "unparseable" || !strings.Contains(q.Error, "no From address") {
		t.Errorf("quarantine: %+v", q)
	}

	// Nothing is new on a second pass, and every message is flagged.
	if again := syncOnce(t, r, mbox); again.Fetched != 0 {
		t.Errorf("second pass fetched %d", again.Fetched)
	}
	for uid, flags := range imapFlags(t, srv.addr, "INBOX") {
		if !hasFlag(flags, imap.FlagSeen) {
			t.Errorf("UID %d not flagged \\Seen", uid)
		}
	}
}

// Replies thread onto their ticket by In-Reply-To and References first, then by the subject
// token, but the token counts only for the ticket's customer or an address copied on it.
func TestThreading(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	r := newRunner(newDesk(), mailin.RunnerOptions{})
	customer, colleague, stranger, outsider := emailAddr("ana"), emailAddr("boss"), emailAddr("eve"), emailAddr("mallory")
	first := msgID("first")
	srv.deliver(t, "INBOX", simple("Ana <"+customer+">", "Cannot log in", first, "Help", "Cc: "+colleague))
	syncOnce(t, r, mbox)
	var ticketID int64
	db.Raw(`SELECT ticket_id FROM email_messages WHERE message_id = ?`, first).Scan(&ticketID)
	if ticketID == 0 {
		t.Fatal("no ticket")
	}
	token := mailin.Token(ticketID)

	tests := []struct {
		name      string
		raw       []byte
		sameTitle bool // lands on the ticket
	}{
		{"in-reply-to", simple("Ana <"+customer+">", "Re: something else", msgID("r1"), "more", "In-Reply-To: <"+first+">"), true},
		{"references only", simple("Ana <"+customer+">", "Re: x", msgID("r2"), "more", "References: <unknown@x> <"+first+">"), true},
		{"header from a stranger", simple("Eve <"+stranger+">", "Re: x", msgID("r3"), "headers are evidence enough", "In-Reply-To: <"+first+">"), true},
		{"token from the customer", simple("Ana <"+customer+">", "Re: Cannot log in "+token, msgID("r4"), "token"), true},
		{"token from a copied address", simple("Boss <"+colleague+">", "Re: Cannot log in "+token, msgID("r5"), "I am copied"), true},
		{"token from a stranger", simple("Mallory <"+outsider+">", "Re: Cannot log in "+token, msgID("r6"), "let me in"), false},
		{"apple mail rewritten references", corpus(t, "apple-mail-reply.eml", "TICKET", fmt.Sprint(ticketID), "OUTBOUND_ID", "x@y"), false},
		{"no link at all", simple("Ana <"+customer+">", "A new problem", msgID("r7"), "new"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if tt.name == "apple mail rewritten references" {
				// The corpus message is from ana@example.com; make her the ticket's customer.
				raw = bytes.ReplaceAll(raw, []byte("ana@example.com"), []byte(customer))
				raw = bytes.ReplaceAll(raw, []byte("7A9B8C7D-6E5F-4A3B-2C1D-0E9F8A7B6C5D@example.com"), []byte(msgID("apple")))
				tt.sameTitle = true
			}
			srv.deliver(t, "INBOX", raw)
			stats := syncOnce(t, r, mbox)
			onTicket := stats.Messages == 1 && stats.Tickets == 0
			if onTicket != tt.sameTitle {
				t.Errorf("stats %+v: on the ticket = %v, want %v", stats, onTicket, tt.sameTitle)
			}
		})
	}
	// The copied colleague who wrote is a customer now, and the author of their message.
	var author int64
	db.Raw(`SELECT m.author_customer_id FROM messages m JOIN email_messages e ON e.ticket_message_id = m.id
		WHERE e.from_address = ? AND e.ticket_id = ?`, colleague, ticketID).Scan(&author)
	if owner, err := tickets.NewCustomers(db).FindByEmail(context.Background(), colleague); err != nil || owner != author {
		t.Errorf("colleague's message author %d, customer %d (%v)", author, owner, err)
	}

	// A reply to a closed ticket opens a follow-up.
	closed := tickets.StatusClosed
	solved := tickets.StatusSolved
	desk := newDesk()
	if _, err := desk.Update(context.Background(), ticketID, tickets.SystemActor, tickets.TicketChange{Status: &solved}); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.Update(context.Background(), ticketID, tickets.SystemActor, tickets.TicketChange{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	srv.deliver(t, "INBOX", simple("Ana <"+customer+">", "Re: Cannot log in "+token, msgID("late"), "back again", "In-Reply-To: <"+first+">"))
	if stats := syncOnce(t, r, mbox); stats.Tickets != 1 {
		t.Errorf("a reply to a closed ticket: %+v, want a new ticket", stats)
	}
	var subject string
	db.Raw(`SELECT subject FROM tickets ORDER BY id DESC LIMIT 1`).Scan(&subject)
	if subject != "Re: Cannot log in" {
		t.Errorf("follow-up subject %q keeps the old token", subject)
	}
}

// A change of UIDVALIDITY makes the ingester read the folder again from the start; what it took
// in before is not taken in twice, and what is new is.
func TestUIDValidityChangeResyncs(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{afterImport: mailin.AfterNone})
	r := newRunner(newDesk(), mailin.RunnerOptions{})
	var old [][]byte
	for i := range 3 {
		raw := simple(fmt.Sprintf("<%s>", emailAddr("v")), fmt.Sprintf("Before %d", i), msgID("v"), "hi")
		if i == 2 {
			raw = simple(fmt.Sprintf("<%s>", emailAddr("v")), "No id", "", "hash deduped")
		}
		old = append(old, raw)
	}
	srv.deliver(t, "INBOX", old...)
	if stats := syncOnce(t, r, mbox); stats.Tickets != 3 {
		t.Fatalf("first pass %+v", stats)
	}
	var before uint32
	db.Raw(`SELECT uid_validity FROM mailboxes WHERE id = ?`, mbox.ID).Scan(&before)

	// The server recreates the folder: new UIDVALIDITY, same messages plus one.
	srv.user.Delete("INBOX")
	srv.user.Create("INBOX", nil)
	srv.deliver(t, "INBOX", old...)
	srv.deliver(t, "INBOX", simple("<"+emailAddr("v")+">", "After", msgID("v"), "new"))
	stats := syncOnce(t, r, mbox)
	if stats.Fetched != 4 || stats.Duplicates != 3 || stats.Tickets != 1 {
		t.Errorf("resync %+v, want 4 fetched, 3 duplicates, 1 ticket", stats)
	}
	var after uint32
	db.Raw(`SELECT uid_validity FROM mailboxes WHERE id = ?`, mbox.ID).Scan(&after)
	if after == before || after == 0 {
		t.Errorf("checkpoint UIDVALIDITY %d after the change (was %d)", after, before)
	}
}

// What happens on the server after a commit: flag \Seen, move to a folder, or nothing.
func TestAfterImport(t *testing.T) {
	for _, tt := range []struct {
		after  mailin.AfterImport
		moveTo string
	}{{mailin.AfterSeen, ""}, {mailin.AfterMove, "Archive"}, {mailin.AfterNone, ""}} {
		t.Run(string(tt.after), func(t *testing.T) {
			srv := newMemIMAP(t)
			mbox := addMailbox(t, srv.addr, mailboxOpts{afterImport: tt.after, moveTo: tt.moveTo})
			srv.deliver(t, "INBOX", simple("<"+emailAddr("a")+">", "One", msgID("a"), "x"), simple("<"+emailAddr("a")+">", "Two", msgID("a"), "y"))
			syncOnce(t, newRunner(newDesk(), mailin.RunnerOptions{}), mbox)
			inbox := imapFlags(t, srv.addr, "INBOX")
			switch tt.after {
			case mailin.AfterSeen:
				for uid, f := range inbox {
					if !hasFlag(f, imap.FlagSeen) {
						t.Errorf("UID %d not seen", uid)
					}
				}
			case mailin.AfterMove:
				if len(inbox) != 0 || len(imapFlags(t, srv.addr, "Archive")) != 2 {
					t.Errorf("inbox %d, archive %d", len(inbox), len(imapFlags(t, srv.addr, "Archive")))
				}
			case mailin.AfterNone:
				for uid, f := range inbox {
					if hasFlag(f, imap.FlagSeen) {
						t.Errorf("UID %d was flagged", uid)
					}
				}
			}
		})
	}
}

// A crash between a commit and the flag leaves committed messages unflagged; the next session
// flags them without taking them in again.
func TestUnflaggedCommittedMessagesAreFlaggedLater(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	srv.deliver(t, "INBOX", simple("<"+emailAddr("f")+">", "Flag me", msgID("f"), "x"))
	// The checkpoint says UID 1 is committed, but the server never got the flag.
	db.Exec(`UPDATE mailboxes SET uid_validity = 1, last_uid = 1 WHERE id = ?`, mbox.ID)
	if stats := syncOnce(t, newRunner(newDesk(), mailin.RunnerOptions{}), mbox); stats.Fetched != 0 {
		t.Errorf("fetched %d", stats.Fetched)
	}
	for uid, f := range imapFlags(t, srv.addr, "INBOX") {
		if !hasFlag(f, imap.FlagSeen) {
			t.Errorf("UID %d not flagged", uid)
		}
	}
}

// bigMessage is a message of about size bytes, most of it one base64 attachment.
func bigMessage(from, subject, id string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: support@help.example\r\nSubject: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\nSee the attached log.\r\n"+
		"--big\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"log.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		from, subject, id)
	line := strings.Repeat("QUJD", 19) + "\r\n" // 76 base64 characters
	for b.Len() < size {
		b.WriteString(line)
	}
	b.WriteString("--big--\r\n")
	return b.Bytes()
}

// A 30 MB message goes to quarantine with its raw bytes and the reason; it blocks nothing, and
// an admin can download it byte for byte.
func TestOversizedMessageIsQuarantined(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	big := bigMessage("<"+emailAddr("big")+">", "Huge log", msgID("big"), 30<<20)
	srv.deliver(t, "INBOX", big, simple("<"+emailAddr("small")+">", "Small after big", msgID("small"), "still arrives"))
	r := newRunner(newDesk(), mailin.RunnerOptions{})
	stats := syncOnce(t, r, mbox)
	if stats.Quarantined != 1 || stats.Tickets != 1 {
		t.Fatalf("stats %+v", stats)
	}
	q := mailin.NewQuarantine(db, r.Ingester())
	items, _, err := q.List(context.Background(), mailin.QuarantineFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var found *mailin.QuarantinedMessage
	for i := range items {
		if items[i].MailboxID == mbox.ID {
			found = &items[i]
		}
	}
	if found == nil || found.Reason != "too-large" || !strings.Contains(found.Error, "25 MB") || found.Subject != "Huge log" {
		t.Fatalf("quarantined: %+v", found)
	}
	_, raw, err := q.Raw(context.Background(), found.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(raw) != sha256.Sum256(big) {
		t.Errorf("downloaded %d bytes differ from the %d sent", len(raw), len(big))
	}
	// An admin who wants it anyway reprocesses it: the limit is lifted for that message, and its
	// 22 MB file fits under what the desk keeps per file.
	res, err := q.Reprocess(context.Background(), found.ID)
	if err != nil || res.Outcome != mailin.OutcomeTicket {
		t.Fatalf("reprocess: %+v %v", res, err)
	}
	if size := count(t, `SELECT max(a.size) FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ?`, res.TicketID); size < 20<<20 {
		t.Errorf("the attachment kept is %d bytes", size)
	}
}

// A message over a lower limit is quarantined, and reprocessing it (the admin lifts the limit
// for it) opens its ticket and resolves the entry.
func TestReprocessQuarantined(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	srv.deliver(t, "INBOX", bigMessage("<"+emailAddr("mid")+">", "Two megabytes", msgID("mid"), 2<<20))
	r := newRunner(newDesk(), mailin.RunnerOptions{MaxMessageBytes: 1 << 20})
	if stats := syncOnce(t, r, mbox); stats.Quarantined != 1 {
		t.Fatalf("stats %+v", stats)
	}
	var id int64
	db.Raw(`SELECT id FROM email_quarantine WHERE mailbox_id = ?`, mbox.ID).Scan(&id)
	q := mailin.NewQuarantine(db, r.Ingester())
	res, err := q.Reprocess(context.Background(), id)
	if err != nil || res.Outcome != mailin.OutcomeTicket || res.TicketID == 0 {
		t.Fatalf("reprocess: %+v %v", res, err)
	}
	m, err := q.Get(context.Background(), id)
	if err != nil || m.ResolvedAt == nil || m.TicketID == nil || *m.TicketID != res.TicketID {
		t.Errorf("entry after reprocessing: %+v %v", m, err)
	}
	if _, err := q.Reprocess(context.Background(), id); !errors.As(err, new(*tickets.ConflictError)) {
		t.Errorf("second reprocess: %v", err)
	}
	open, _, _ := q.List(context.Background(), mailin.QuarantineFilter{})
	for _, o := range open {
		if o.ID == id {
			t.Error("a resolved entry is still listed as open")
		}
	}
}

// A message the desk refuses as it came (a body far over its limit) is kept with what fits and
// the original attached, rather than lost.
func TestRefusedContentIsKeptAsAttachment(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	body := strings.Repeat("a very long line of text ", 20000) // about 500 KB
	srv.deliver(t, "INBOX", simple("<"+emailAddr("long")+">", "Very long", msgID("long"), body))
	stats := syncOnce(t, newRunner(newDesk(), mailin.RunnerOptions{}), mbox)
	if stats.Tickets != 1 {
		t.Fatalf("stats %+v", stats)
	}
	var files []string
	db.Raw(`SELECT a.filename FROM attachments a JOIN email_messages e ON e.ticket_message_id = a.message_id WHERE e.mailbox_id = ?`, mbox.ID).Scan(&files)
	if len(files) != 1 || files[0] != "message.eml" {
		t.Errorf("files %v", files)
	}
}

// New mail reaches the desk while the runner waits on IDLE, well before any poll; when the
// server is away the runner reconnects by itself.
func TestRunnerIdleAndReconnect(t *testing.T) {
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	// Earlier tests' mailboxes point at servers that are gone.
	db.Exec(`UPDATE mailboxes SET enabled = false WHERE id <> ?`, mbox.ID)
	defer db.Exec(`UPDATE mailboxes SET enabled = true`)
	r := newRunner(newDesk(), mailin.RunnerOptions{PollInterval: time.Hour})
	mailin.SetBackoff(r, 200*time.Millisecond, 200*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	subject := fmt.Sprintf("Idle %d", unique.Add(1))
	waitFor := func(subject string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for count(t, `SELECT count(*) FROM tickets WHERE subject = ?`, subject) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%q never arrived", subject)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond) // the runner is idling now
	first := simple("<"+emailAddr("idle")+">", subject, msgID("idle"), "pushed")
	srv.deliver(t, "INBOX", first)
	waitFor(subject)

	// The server goes away and comes back on the same address.
	addr := srv.addr
	srv.server.Close()
	time.Sleep(200 * time.Millisecond)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("could not listen on %s again: %v", addr, err)
	}
	srv2 := serveMemIMAP(ln)
	defer srv2.server.Close()
	subject2 := subject + " after reconnect"
	// The new server holds the old message (UID 1, already in) and a new one.
	srv2.deliver(t, "INBOX", first, simple("<"+emailAddr("idle")+">", subject2, msgID("idle"), "again"))
	waitFor(subject2)
}

// A backlog taken in as one batch: forty customers write at once, and some answer messages of
// the same backlog — their own, or one a colleague sent. Every
// answer lands on its ticket, whether the batch went in as one transaction or split in two,
// and the checkpoint passes the whole batch.
func TestBacklogThreadsWithinABatch(t *testing.T) {
	for _, crossSender := range []bool{false, true} {
		t.Run(fmt.Sprintf("reply from another sender: %v", crossSender), func(t *testing.T) {
			srv := newMemIMAP(t)
			mbox := addMailbox(t, srv.addr, mailboxOpts{})
			r := newRunner(newDesk(), mailin.RunnerOptions{})
			mailin.SetBatchMessages(r, 100)
			var split atomic.Bool // the hook runs on both halves' goroutines
			mailin.SetCrashHook(r, func(point string) {
				if point == "before-checkpoint" {
					split.Store(true)
				}
			})
			var raws [][]byte
			ids := make([]string, 40)
			senders := make([]string, 40)
			for i := range 40 {
				ids[i], senders[i] = msgID("backlog"), emailAddr(fmt.Sprintf("backlog%d", i))
				raws = append(raws, simple("Customer <"+senders[i]+">", fmt.Sprintf("Problem %d", i), ids[i], "It broke."))
			}
			// Answers to messages of the same backlog.
			raws = append(raws, simple("Customer <"+senders[3]+">", "Re: Problem 3", msgID("answer"), "More details.", "In-Reply-To: <"+ids[3]+">"))
			if crossSender {
				raws = append(raws, simple("Colleague <"+senders[8]+">", "Re: Problem 7", msgID("answer"), "Me too.", "In-Reply-To: <"+ids[7]+">"))
			}
			srv.deliver(t, "INBOX", raws...)
			stats := syncOnce(t, r, mbox)
			answers := 1
			if crossSender {
				answers = 2
			}
			if stats.Tickets != 40 || stats.Messages != answers {
				t.Fatalf("stats %+v: want 40 tickets and %d answers on them", stats, answers)
			}
			if !crossSender && !split.Load() {
				t.Error("forty senders with nothing between them went in as one transaction")
			}
			var lastUID int64
			db.Raw(`SELECT last_uid FROM mailboxes WHERE id = ?`, mbox.ID).Scan(&lastUID)
			if lastUID != int64(len(raws)) {
				t.Errorf("checkpoint at %d, want %d", lastUID, len(raws))
			}
			if again := syncOnce(t, r, mbox); again.Tickets+again.Messages != 0 {
				t.Errorf("a second sync took in %+v", again)
			}
		})
	}
}
