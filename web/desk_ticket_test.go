package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// signInOn signs a member of staff in on an app other than the shared one.
func signInOn(t *testing.T, a *fiber.App, role tickets.Role) *visitor {
	t.Helper()
	v := newVisitor(t, a)
	v.get("/login")
	res := v.post("/login", url.Values{"email": {string(role) + "@example.com"}, "password": {testPassword}, "next": {"/desk"}})
	if res.status != 303 || v.cookies["helpdesk_session"] == "" {
		t.Fatalf("sign in as %s: %d %s", role, res.status, res.body)
	}
	return v
}

// deskTicket opens a web ticket from a new customer through the desk, as the form would.
func deskTicket(t *testing.T, subject, body string, files ...tickets.NewAttachment) *tickets.Ticket {
	t.Helper()
	tk, err := testDesk().Intake(context.Background(), tickets.NewTicket{
		Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("tk"), Name: "Marta Ruiz"},
		Subject: subject, Body: body, Urgency: tickets.Normal, Attachments: files,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func ticketPath(id int64, rest ...string) string {
	return "/desk/tickets/" + strconv.FormatInt(id, 10) + strings.Join(rest, "")
}

// untranslated finds catalog ids that a page shows because its catalog lacks them.
var untranslated = regexp.MustCompile(`\bticket_[a-z_]+`)

// fieldError is the text of the error shown under an input, by the error's element id.
func fieldError(body []byte, id string) string {
	m := regexp.MustCompile(`<p class="error" id="` + regexp.QuoteMeta(id) + `">([^<]*)</p>`).FindSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(string(m[1]))
}

// postReply sends the reply editor as the browser does: multipart, with optional files.
func (v *visitor) postReply(id int64, fields map[string]string, files ...upload) response {
	v.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if _, ok := fields["_csrf"]; !ok {
		w.WriteField("_csrf", v.csrf)
	}
	for k, val := range fields {
		w.WriteField(k, val)
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile("attachments", f.name)
		fw.Write(f.data)
	}
	if len(files) == 0 {
		w.CreateFormFile("attachments", "")
	}
	w.Close()
	req := httptest.NewRequest("POST", ticketPath(id, "/messages"), &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return v.do(req)
}

// The page shows the three kinds of message apart, oldest first, with their files.
func TestDeskTicketShowsConversation(t *testing.T) {
	ctx := context.Background()
	desk := testDesk()
	tk := deskTicket(t, "Printer on fire", "The printer in room 4 is smoking.",
		tickets.NewAttachment{Filename: "smoke.txt", ContentType: "text/plain", Data: []byte("lots of smoke\n")})
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: agentUser.ID, Body: "Please unplug it now."}); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: agentUser.ID, Body: "Facilities are on their way."}); err != nil {
		t.Fatal(err)
	}
	v := signIn(t, tickets.RoleAgent)
	res := v.get(ticketPath(tk.ID))
	if res.status != 200 {
		t.Fatalf("GET ticket: %d %s", res.status, res.body)
	}
	body := string(res.body)
	kinds := []struct{ class, label, text string }{
		{`class="msg msg-inbound"`, "Customer", "The printer in room 4 is smoking."},
		{`class="msg msg-reply"`, "Reply", "Please unplug it now."},
		{`class="msg msg-note"`, "Internal note", "Facilities are on their way."},
	}
	last := -1
	for _, k := range kinds {
		at := strings.Index(body, k.class)
		if at < 0 {
			t.Fatalf("no %s on the page", k.class)
		}
		item := body[at:]
		item = item[:strings.Index(item, "</li>\n")]
		if !strings.Contains(item, "</span> "+k.label+"</span>") || !strings.Contains(item, k.text) {
			t.Errorf("%s lacks its label %q or text:\n%s", k.class, k.label, item)
		}
		if at < last {
			t.Errorf("%s is out of order: the conversation reads oldest first", k.class)
		}
		last = at
	}
	if ids := untranslated.FindAllString(body, -1); len(ids) > 0 {
		t.Errorf("catalog ids shown untranslated: %v", ids)
	}
	if !strings.Contains(body, "Only staff can see this") {
		t.Error("the note does not say it is internal")
	}
	var attID int64
	db.Raw(`SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ?`, tk.ID).Scan(&attID)
	if !strings.Contains(body, fmt.Sprintf(`<a href="/desk/attachments/%d" download>smoke.txt</a>`, attID)) {
		t.Errorf("no download link for attachment %d", attID)
	}
	for _, want := range []string{"Printer on fire", "Marta Ruiz", `href="/desk/customers/`, "Web form", "Properties", "History", "Suggestions"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// Customer text is text: a script in a subject or body, or an event handler in HTML mail,
// never runs on the agent's page.
func TestDeskTicketXSS(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	tk := deskTicket(t, evil, evil)
	_, err := testDesk().AddCustomerMessage(context.Background(), tk.ID, tickets.CustomerMessage{
		CustomerID: tk.CustomerID,
		BodyHTML:   `<p>Here is <b>the screenshot</b></p><img src=x onerror="alert(2)"><a href="javascript:alert(3)">link</a><script>alert(4)</script>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Whatever path stored it, markup in the table is cleaned again on the way out.
	db.Exec(`INSERT INTO messages (ticket_id, kind, author_customer_id, body_text, body_html) VALUES (?, 'inbound', ?, 'raw', ?)`,
		tk.ID, tk.CustomerID, `<p>raw</p><svg onload="alert(5)"></svg><iframe src="https://evil.example/"></iframe>`)
	v := signIn(t, tickets.RoleAgent)
	res := v.get(ticketPath(tk.ID))
	if res.status != 200 {
		t.Fatalf("GET ticket: %d", res.status)
	}
	body := string(res.body)
	for _, bad := range []string{"<script>alert", "onerror", "onload", "javascript:", "<iframe", "alert(2)", "alert(5)"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page carries %q", bad)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the subject and body should show as text")
	}
	if !strings.Contains(body, "<b>the screenshot</b>") {
		t.Error("the safe part of the HTML mail should keep its formatting")
	}
}

// A public reply goes out by email and opens the ticket; a note stays inside.
func TestDeskTicketReplyAndNote(t *testing.T) {
	a := mailApp(t)
	tk := deskTicket(t, "Refund", "I was charged twice.")
	v := signInOn(t, a, tickets.RoleAgent)
	page := v.get(ticketPath(tk.ID))
	if page.status != 200 {
		t.Fatalf("GET ticket on the mail app: %d %s", page.status, page.body)
	}
	if strings.Contains(string(page.body), "SLA clocks") {
		t.Error("a server without SLA shows no clocks section")
	}
	events := count(t, `SELECT count(*) FROM events WHERE ticket_id = ? AND type = 'message.added'`, tk.ID)

	res := v.postReply(tk.ID, map[string]string{"kind": "reply", "body": "We refunded the second charge."},
		upload{"refund.pdf", []byte("%PDF-1.4 refund")})
	if res.status != 303 {
		t.Fatalf("reply: %d %s", res.status, res.body)
	}
	var reply tickets.Message
	db.Where("ticket_id = ? AND kind = 'reply'", tk.ID).Take(&reply)
	if reply.ID == 0 || reply.BodyText != "We refunded the second charge." || reply.AuthorUserID == nil || *reply.AuthorUserID != agentUser.ID {
		t.Fatalf("reply stored as %+v", reply)
	}
	if loc := res.header.Get("Location"); loc != fmt.Sprintf("/desk/tickets/%d#message-%d", tk.ID, reply.ID) {
		t.Errorf("after the reply, sent to %q", loc)
	}
	if n := count(t, `SELECT count(*) FROM events WHERE ticket_id = ? AND type = 'message.added'`, tk.ID); n != events+1 {
		t.Errorf("message events: %d, want %d", n, events+1)
	}
	if n := count(t, `SELECT count(*) FROM outbox WHERE ticket_message_id = ?`, reply.ID); n != 1 {
		t.Errorf("outbox rows for the reply: %d", n)
	}
	if n := count(t, `SELECT count(*) FROM attachments WHERE message_id = ? AND filename = 'refund.pdf'`, reply.ID); n != 1 {
		t.Errorf("the reply's file was not stored")
	}
	if st := count(t, `SELECT count(*) FROM tickets WHERE id = ? AND status = 'open'`, tk.ID); st != 1 {
		t.Error("a reply to a new ticket opens it")
	}

	res = v.postReply(tk.ID, map[string]string{"kind": "note", "body": "Finance confirmed.", "status": "pending"})
	if res.status != 303 {
		t.Fatalf("note: %d %s", res.status, res.body)
	}
	var note tickets.Message
	db.Where("ticket_id = ? AND kind = 'note'", tk.ID).Take(&note)
	if note.ID == 0 {
		t.Fatal("the note was not stored")
	}
	if n := count(t, `SELECT count(*) FROM outbox WHERE ticket_message_id = ?`, note.ID); n != 0 {
		t.Errorf("a note must never be emailed: %d outbox rows", n)
	}
	if st := count(t, `SELECT count(*) FROM tickets WHERE id = ? AND status = 'pending'`, tk.ID); st != 1 {
		t.Error("the note's status choice was not applied")
	}
	page = v.get(ticketPath(tk.ID))
	if !strings.Contains(string(page.body), "Email queued") {
		t.Error("the reply should show its email delivery")
	}
}

// A reply that cannot go comes back with the message next to the field and the text kept.
func TestDeskTicketReplyErrors(t *testing.T) {
	tk := deskTicket(t, "Password", "I cannot sign in.")
	v := signIn(t, tickets.RoleAgent)
	v.get(ticketPath(tk.ID))

	res := v.postReply(tk.ID, map[string]string{"kind": "reply", "body": "   "})
	if res.status != 422 || !strings.Contains(fieldError(res.body, "body-error"), "required") {
		t.Errorf("empty reply: %d, error %q", res.status, fieldError(res.body, "body-error"))
	}
	res = v.postReply(tk.ID, map[string]string{"kind": "shout", "body": "Kept <text> & all"})
	if res.status != 422 || fieldError(res.body, "kind-error") == "" {
		t.Errorf("unknown kind: %d, error %q", res.status, fieldError(res.body, "kind-error"))
	}
	if !strings.Contains(string(res.body), ">Kept &lt;text&gt; &amp; all</textarea>") {
		t.Error("the text typed is lost")
	}
	res = v.postReply(tk.ID, map[string]string{"kind": "reply", "body": "Done, closing.", "status": "closed"})
	if res.status != 422 || !strings.Contains(fieldError(res.body, "reply-status-error"), "cannot move to Closed") {
		t.Errorf("invalid transition: %d, error %q", res.status, fieldError(res.body, "reply-status-error"))
	}
	if !strings.Contains(string(res.body), ">Done, closing.</textarea>") {
		t.Error("the text typed is lost after a refused status")
	}
	if n := count(t, `SELECT count(*) FROM messages WHERE ticket_id = ? AND kind <> 'inbound'`, tk.ID); n != 0 {
		t.Errorf("refused replies stored %d messages", n)
	}

	// A closed ticket takes no reply.
	desk := testDesk()
	for _, st := range []tickets.Status{tickets.StatusSolved, tickets.StatusClosed} {
		if _, err := desk.Update(context.Background(), tk.ID, tickets.StaffActor(agentUser.ID), tickets.TicketChange{Status: &st}); err != nil {
			t.Fatal(err)
		}
	}
	res = v.postReply(tk.ID, map[string]string{"kind": "reply", "body": "Hello?"})
	if res.status != 422 || !strings.Contains(fieldError(res.body, "body-error"), "closed") {
		t.Errorf("reply to a closed ticket: %d, error %q", res.status, fieldError(res.body, "body-error"))
	}
}

// Another site cannot post a reply in an agent's name.
func TestDeskTicketReplyNeedsCSRF(t *testing.T) {
	tk := deskTicket(t, "CSRF", "Is my account safe?")
	v := signIn(t, tickets.RoleAgent)
	v.get(ticketPath(tk.ID))
	for _, token := range []string{"", "forged"} {
		res := v.postReply(tk.ID, map[string]string{"_csrf": token, "kind": "reply", "body": "Forged reply"})
		if res.status != 403 {
			t.Errorf("reply with token %q: %d", token, res.status)
		}
	}
	res := v.post(ticketPath(tk.ID), url.Values{"_csrf": {""}, "status": {"solved"}, "priority": {"normal"}})
	if res.status != 403 {
		t.Errorf("properties without a token: %d", res.status)
	}
	if n := count(t, `SELECT count(*) FROM messages WHERE ticket_id = ? AND kind = 'reply'`, tk.ID); n != 0 {
		t.Errorf("a forged reply was stored")
	}
}

// The properties form changes status, priority, assignee and team; a move the ticket cannot make
// is explained next to the status.
func TestDeskTicketProperties(t *testing.T) {
	tk := deskTicket(t, "Invoice address", "Please change the address on my invoices.")
	v := signIn(t, tickets.RoleAgent)
	v.get(ticketPath(tk.ID))
	agentID := strconv.FormatInt(agentUser.ID, 10)
	res := v.post(ticketPath(tk.ID), url.Values{"status": {"pending"}, "priority": {"high"}, "assignee": {agentID}, "team": {""}})
	if res.status != 303 || res.header.Get("Location") != ticketPath(tk.ID) {
		t.Fatalf("save properties: %d to %q %s", res.status, res.header.Get("Location"), res.body)
	}
	var got tickets.Ticket
	db.Take(&got, tk.ID)
	if got.Status != tickets.StatusPending || got.Priority != tickets.High || got.AssigneeID == nil || *got.AssigneeID != agentUser.ID {
		t.Fatalf("after saving: %+v", got)
	}
	if n := count(t, `SELECT count(*) FROM events WHERE ticket_id = ? AND type = 'ticket.status_changed' AND actor_user_id = ?`, tk.ID, agentUser.ID); n != 1 {
		t.Errorf("status change events by the agent: %d", n)
	}
	page := v.get(ticketPath(tk.ID))
	if !regexp.MustCompile(`<option value="pending" selected>Pending</option>`).Match(page.body) {
		t.Error("the form does not show the new status")
	}

	res = v.post(ticketPath(tk.ID), url.Values{"status": {"new"}, "priority": {"urgent"}, "assignee": {agentID}, "team": {""}})
	if res.status != 422 || !strings.Contains(fieldError(res.body, "prop-status-error"), "cannot move to New") {
		t.Errorf("invalid transition: %d, error %q", res.status, fieldError(res.body, "prop-status-error"))
	}
	db.Take(&got, tk.ID)
	if got.Status != tickets.StatusPending || got.Priority != tickets.High {
		t.Errorf("a refused change changed the ticket: %+v", got)
	}
	res = v.post(ticketPath(tk.ID), url.Values{"status": {"pending"}, "priority": {"extreme"}, "assignee": {"someone"}, "team": {""}})
	if res.status != 422 || fieldError(res.body, "prop-priority-error") == "" || fieldError(res.body, "prop-assignee-error") == "" {
		t.Errorf("bad priority and assignee: %d %q %q", res.status, fieldError(res.body, "prop-priority-error"), fieldError(res.body, "prop-assignee-error"))
	}
	if !strings.Contains(string(res.body), `<option value="pending" selected>`) {
		t.Error("the form should keep the status chosen")
	}
}

// An agent typing a reply shows on a colleague's page; a page that stopped sending does not.
func TestDeskTicketPresence(t *testing.T) {
	tk := deskTicket(t, "Presence", "Two agents, one ticket.")
	ana := signIn(t, tickets.RoleAgent)
	ben := signIn(t, tickets.RoleSupervisor)
	ana.get(ticketPath(tk.ID))
	page := ben.get(ticketPath(tk.ID))
	if !strings.Contains(string(page.body), `<span class="tk-viewer">The agent</span>`) || strings.Contains(string(page.body), "is replying") {
		t.Errorf("Ben should see Ana viewing, not replying:\n%s", presenceBox(page.body))
	}

	beat := func(v *visitor, token, typing string) int {
		req := httptest.NewRequest("POST", ticketPath(tk.ID, "/presence"), strings.NewReader(url.Values{"typing": {typing}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", token)
		return v.do(req).status
	}
	if st := beat(ana, "forged", "1"); st != 403 {
		t.Errorf("heartbeat with a forged token: %d", st)
	}
	if st := beat(ana, ana.csrf, "1"); st != 204 {
		t.Fatalf("heartbeat: %d", st)
	}
	for _, path := range []string{ticketPath(tk.ID), ticketPath(tk.ID, "/presence")} {
		res := ben.get(path)
		if res.status != 200 || !strings.Contains(string(res.body), "The agent is replying to this ticket.") {
			t.Errorf("GET %s: %d, no warning:\n%s", path, res.status, presenceBox(res.body))
		}
	}
	// Ana does not warn herself.
	if res := ana.get(ticketPath(tk.ID, "/presence")); strings.Contains(string(res.body), "is replying") {
		t.Errorf("Ana is warned about herself: %s", res.body)
	}
	// Sending the reply ends the warning.
	ana.postReply(tk.ID, map[string]string{"kind": "reply", "body": "On it."})
	if res := ben.get(ticketPath(tk.ID, "/presence")); strings.Contains(string(res.body), "is replying") {
		t.Errorf("still replying after sending: %s", res.body)
	}

	// A heartbeat a couple of minutes old counts for nothing.
	beat(ana, ana.csrf, "1")
	db.Exec(`UPDATE ticket_presence SET last_seen = now() - interval '2 minutes', typed_at = now() - interval '2 minutes' WHERE ticket_id = ? AND user_id = ?`, tk.ID, agentUser.ID)
	res := ben.get(ticketPath(tk.ID, "/presence"))
	if strings.Contains(string(res.body), "The agent") {
		t.Errorf("stale presence shown: %s", res.body)
	}
	if res := ben.get(ticketPath(1<<40, "/presence")); res.status != 200 {
		// An unknown ticket has nobody on it; the fragment is simply empty.
		t.Errorf("presence of an unknown ticket: %d", res.status)
	}
	if st := beat(ben, ben.csrf, "0"); st != 204 {
		t.Errorf("Ben's heartbeat: %d", st)
	}
}

func presenceBox(body []byte) string {
	s := string(body)
	if i := strings.Index(s, `id="ticket-presence"`); i >= 0 {
		s = s[i:]
		return s[:min(len(s), 400)]
	}
	return "(no presence box)"
}

// Files download as files, never as pages, and only for staff.
func TestDeskAttachmentDownload(t *testing.T) {
	data := []byte("<html><script>alert(1)</script></html>")
	tk := deskTicket(t, "A file", "See the file.", tickets.NewAttachment{Filename: "page.html", ContentType: "text/html", Data: data})
	var attID int64
	db.Raw(`SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ?`, tk.ID).Scan(&attID)
	path := "/desk/attachments/" + strconv.FormatInt(attID, 10)

	if res := newVisitor(t, app).get(path); res.status != 303 {
		t.Errorf("signed out: %d", res.status)
	}
	v := signIn(t, tickets.RoleAgent)
	res := v.get(path)
	if res.status != 200 || !bytes.Equal(res.body, data) {
		t.Fatalf("download: %d %q", res.status, res.body)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "page.html") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
	if res := v.get("/desk/attachments/999999999"); res.status != 404 {
		t.Errorf("unknown attachment: %d", res.status)
	}
}

func TestDeskTicketNotFound(t *testing.T) {
	v := signIn(t, tickets.RoleAgent)
	for _, path := range []string{ticketPath(1 << 40), "/desk/tickets/abc"} {
		if res := v.get(path); res.status != 404 {
			t.Errorf("GET %s: %d", path, res.status)
		}
	}
	if res := newVisitor(t, app).get(ticketPath(1)); res.status != 303 {
		t.Errorf("signed out: %d", res.status)
	}
}

// The page speaks the agent's language.
func TestDeskTicketSpanish(t *testing.T) {
	tk := deskTicket(t, "Idioma", "Hola.")
	v := signIn(t, tickets.RoleAgent)
	req := httptest.NewRequest("GET", ticketPath(tk.ID), nil)
	req.Header.Set("Accept-Language", "es")
	res := v.do(req)
	for _, want := range []string{"Conversación", "Respuesta pública", "Propiedades", "Historial"} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("the Spanish page lacks %q", want)
		}
	}
}

// The clocks show their time left, and a breached one says so in words and colour.
func TestDeskTicketShowsClocks(t *testing.T) {
	tk := createTicket(t, email("tkclock")) // urgency high: the "High" policy
	v := signIn(t, tickets.RoleAgent)
	body := string(v.get(ticketPath(tk.ID)).body)
	for _, want := range []string{"SLA clocks", `class="clock clock-ok"`, "First response", "Resolution", "Running", " left</span>", "Policy: High"} {
		if !strings.Contains(body, want) {
			t.Errorf("the clocks lack %q", want)
		}
	}
	defer slaClock.Set(time.Time{})
	slaClock.Set(time.Now().Add(30 * 24 * time.Hour))
	body = string(v.get(ticketPath(tk.ID)).body)
	for _, want := range []string{`class="clock clock-breached"`, "Breached", " overdue</span>"} {
		if !strings.Contains(body, want) {
			t.Errorf("a breached clock lacks %q", want)
		}
	}
}

// The customer panel shows the record, its scores with their explanation, history and purchases.
func TestDeskTicketCustomerPanel(t *testing.T) {
	ctx := context.Background()
	old := deskTicket(t, "Earlier problem", "Something else, last month.")
	var custEmail string
	db.Raw(`SELECT value FROM customer_identities WHERE customer_id = ? AND kind = 'email'`, old.CustomerID).Scan(&custEmail)
	tk, err := testDesk().Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: custEmail},
		Subject: "Today's problem", Body: "It broke again.", Urgency: tickets.Normal})
	if err != nil {
		t.Fatal(err)
	}
	purchases := tickets.NewPurchases(testDesk())
	for i, amount := range []string{"120.00", "75.50"} {
		_, err := purchases.Add(ctx, tickets.SystemActor, tk.CustomerID, tickets.NewPurchase{ExternalID: fmt.Sprintf("ORD-%d-%d", tk.ID, i),
			Amount: amount, Currency: "EUR", PurchasedAt: time.Now().AddDate(0, -i-1, 0).Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := testDesk().Recompute(ctx, []int64{tk.CustomerID}); err != nil {
		t.Fatal(err)
	}
	v := signIn(t, tickets.RoleAgent)
	body := string(v.get(ticketPath(tk.ID)).body)
	for _, want := range []string{
		custEmail, "Loyalty", "Lifetime value", "Churn risk", "Why?", "Tenure ", "CLV = m·r/(1",
		fmt.Sprintf(`<a href="/desk/tickets/%d">#%d Earlier problem</a>`, old.ID, old.ID),
		fmt.Sprintf("ORD-%d-0", tk.ID), "120.00 EUR", fmt.Sprintf(`href="/desk/customers/%d"`, tk.CustomerID),
		"Past tickets (2 in all)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the customer panel lacks %q", want)
		}
	}
	if ids := untranslated.FindAllString(body, -1); len(ids) > 0 {
		t.Errorf("catalog ids shown untranslated: %v", ids)
	}
	if strings.Contains(body, fmt.Sprintf(`<a href="/desk/tickets/%d">`, tk.ID)) {
		t.Error("the ticket itself is listed among the past tickets")
	}
}

// Next to the ticket: the articles and solved tickets most like it, as the API suggests them.
func TestDeskTicketSuggestions(t *testing.T) {
	kbSetup(t)
	v := signIn(t, tickets.RoleAgent)
	page := string(v.get(ticketPath(kbCorpus.openTicket)).body)
	later := fmt.Sprintf(`data-src="/desk/tickets/%d/suggestions"`, kbCorpus.openTicket)
	if !strings.Contains(page, later) || !strings.Contains(page, "?suggestions=now#suggestions") {
		t.Error("the page neither loads the suggestions after itself nor links to them")
	}
	// As the page's script fetches them, and as the link without JavaScript shows them.
	fragment := v.get(ticketPath(kbCorpus.openTicket) + "/suggestions")
	if strings.Contains(string(fragment.body), "<html") {
		t.Error("the suggestions fragment came with the whole layout")
	}
	inline := v.get(ticketPath(kbCorpus.openTicket) + "?suggestions=now")
	for _, body := range []string{string(fragment.body), string(inline.body)} {
		for _, want := range []string{
			fmt.Sprintf(`<a href="/kb/articles/%d">%s</a>`, kbCorpus.loginES.ID, html.EscapeString(kbCorpus.loginES.Title)),
			fmt.Sprintf(`<a href="/desk/tickets/%d">`, kbCorpus.solvedTicket),
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the suggestions lack %s", want)
			}
		}
		if strings.Contains(body, fmt.Sprintf(`<a href="/kb/articles/%d">`, kbCorpus.draft.ID)) {
			t.Error("a draft is suggested")
		}
	}
	if res := v.get("/desk/tickets/987654321/suggestions"); res.status != 404 {
		t.Errorf("suggestions for an unknown ticket: %d", res.status)
	}
}

// A picture pasted in an email shows in the message, served as its attachment.
func TestDeskTicketInlineImages(t *testing.T) {
	tk, err := testDesk().Intake(context.Background(), tickets.NewTicket{
		Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: email("inline")}, Subject: "Screenshot",
		BodyHTML: `<p>See this:</p><img src="cid:shot1@example.com" alt="screenshot"><img src="cid:unknown@example.com">`, Urgency: tickets.Normal,
		Attachments: []tickets.NewAttachment{{Filename: "shot.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n"), ContentID: "shot1@example.com", Inline: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var attID int64
	db.Raw(`SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ?`, tk.ID).Scan(&attID)
	v := signIn(t, tickets.RoleAgent)
	body := string(v.get(ticketPath(tk.ID)).body)
	if !strings.Contains(body, fmt.Sprintf(`<img src="/desk/attachments/%d" alt="screenshot">`, attID)) {
		t.Errorf("the inline image does not point at attachment %d", attID)
	}
	if !strings.Contains(body, `src="cid:unknown@example.com"`) {
		t.Error("an unknown content id should stay as it is")
	}
}

// When the customer's tier raised the urgency at intake, the header says so.
func TestDeskTicketExplainsPriority(t *testing.T) {
	tk := deskTicket(t, "VIP", "Urgent for a VIP.")
	v := signIn(t, tickets.RoleAgent)
	if body := string(v.get(ticketPath(tk.ID)).body); !strings.Contains(body, "Urgency Normal</span>") || strings.Contains(body, "raised for") {
		t.Error("a ticket at its own urgency should show it and no raise")
	}
	// The trail is append-only: a second creation event stands for what intake records when a
	// VIP's urgency is raised.
	db.Exec(`UPDATE tickets SET priority = 3 WHERE id = ?`, tk.ID)
	db.Exec(`INSERT INTO events (actor_kind, ticket_id, customer_id, type, data) VALUES ('system', ?, ?, 'ticket.created',
		'{"channel": "web", "urgency": "normal", "priority": "high", "tier": "vip", "priority_reason": "vip customer: normal urgency raised to high"}')`,
		tk.ID, tk.CustomerID)
	body := string(v.get(ticketPath(tk.ID)).body)
	if !strings.Contains(body, "Urgency Normal, raised for a VIP customer") || !strings.Contains(body, `<span class="badge level-high">High</span>`) {
		t.Error("the raise is not explained")
	}
}
