package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// portalTicket opens a web ticket for a new customer, with one attachment, and returns it.
func portalTicket(t *testing.T, subject string) *tickets.Ticket {
	t.Helper()
	tk, err := testDesk().Intake(context.Background(), tickets.NewTicket{
		Channel:  tickets.ChannelWeb,
		Customer: tickets.CustomerContact{Email: email("portal"), Name: "Lucía García"},
		Subject:  subject,
		Body:     "Desde ayer la web dice que mi contraseña es incorrecta.",
		Attachments: []tickets.NewAttachment{
			{Filename: "captura.txt", ContentType: "text/plain", Data: []byte("pantalla de error " + subject)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// portalLink makes the link a mail about the ticket would carry.
func portalLink(t *testing.T, ticketID int64) string {
	t.Helper()
	token, err := tickets.IssuePortalLink(db, ticketID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return "/portal/t/" + token
}

// portalVisitor is the ticket's customer, signed in to the portal by the link of a mail.
func portalVisitor(t *testing.T, ticketID int64) *visitor {
	t.Helper()
	v := newVisitor(t, app)
	res := v.get(portalLink(t, ticketID))
	if res.status != 303 || res.header.Get("Location") != fmt.Sprintf("/portal/tickets/%d", ticketID) || v.cookies["helpdesk_portal"] == "" {
		t.Fatalf("open link: %d to %q, cookie %q\n%s", res.status, res.header.Get("Location"), v.cookies["helpdesk_portal"], res.body)
	}
	return v
}

var portalTokenInput = regexp.MustCompile(`action="/portal/logout">\s*<input type="hidden" name="_csrf" value="([^"]+)"`)

// portalToken is the portal session's form token on a signed-in page (the layout's own forms
// carry the visitor's token, which the portal refuses).
func portalToken(t *testing.T, body []byte) string {
	t.Helper()
	m := portalTokenInput.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no portal form token on the page:\n%s", body)
	}
	return string(m[1])
}

// portalPost sends a multipart form to the portal, as the reply form does.
func (v *visitor) portalPost(path string, fields map[string]string, files ...upload) response {
	v.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
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
	req := httptest.NewRequest("POST", path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return v.do(req)
}

func TestPortalLinkSignsIn(t *testing.T) {
	tk := portalTicket(t, "No puedo iniciar sesión")
	v := newVisitor(t, app)
	res := v.get(portalLink(t, tk.ID))
	if res.status != 303 || res.header.Get("Location") != fmt.Sprintf("/portal/tickets/%d", tk.ID) {
		t.Fatalf("open link: %d to %q", res.status, res.header.Get("Location"))
	}
	cookie := strings.ToLower(res.header.Get("Set-Cookie"))
	for _, want := range []string{"helpdesk_portal=", "httponly", "samesite=lax", "path=/portal"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("portal cookie %q lacks %s", cookie, want)
		}
	}
	if v.cookies["helpdesk_session"] != "" {
		t.Error("a portal link must not start a staff session")
	}

	page := v.get(fmt.Sprintf("/portal/tickets/%d", tk.ID))
	if page.status != 200 || !strings.Contains(string(page.body), "No puedo iniciar sesión") ||
		!strings.Contains(string(page.body), "Desde ayer la web dice") || !strings.Contains(string(page.body), "captura.txt") {
		t.Fatalf("ticket page: %d\n%s", page.status, page.body)
	}
	list := v.get("/portal/tickets")
	if list.status != 200 || !strings.Contains(string(list.body), fmt.Sprintf(`href="/portal/tickets/%d"`, tk.ID)) {
		t.Fatalf("list: %d\n%s", list.status, list.body)
	}
	// A signed-in customer asking for a link goes straight to their tickets.
	if res := v.get("/portal"); res.status != 303 || res.header.Get("Location") != "/portal/tickets" {
		t.Errorf("GET /portal when signed in: %d to %q", res.status, res.header.Get("Location"))
	}
	// A portal session opens no staff page.
	if res := v.get("/desk/queue"); res.status != 303 || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("a portal session opened a staff page: %d", res.status)
	}
}

func TestPortalListShowsOnlyOwnTicketsNewestFirst(t *testing.T) {
	first := portalTicket(t, "Primera consulta")
	second, err := testDesk().Intake(context.Background(), tickets.NewTicket{
		Channel: tickets.ChannelWeb, Subject: "Segunda consulta", Body: "Otra cosa.",
		Customer: tickets.CustomerContact{Email: identityOf(t, first.CustomerID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	other := portalTicket(t, "Consulta de otra persona")
	v := portalVisitor(t, first.ID)
	body := string(v.get("/portal/tickets").body)
	i, j := strings.Index(body, "Segunda consulta"), strings.Index(body, "Primera consulta")
	if i < 0 || j < 0 || i > j {
		t.Errorf("want both tickets, newest first: %d, %d\n%s", i, j, body)
	}
	if second.CustomerID != first.CustomerID || strings.Contains(body, "Consulta de otra persona") || strings.Contains(body, fmt.Sprintf("/portal/tickets/%d\"", other.ID)) {
		t.Error("the list shows another customer's ticket")
	}
}

func identityOf(t *testing.T, customerID int64) string {
	t.Helper()
	var addr string
	db.Raw(`SELECT value FROM customer_identities WHERE customer_id = ? AND kind = 'email' ORDER BY id LIMIT 1`, customerID).Scan(&addr)
	if addr == "" {
		t.Fatal("customer without an address")
	}
	return addr
}

func TestPortalRefusesExpiredAndTamperedLinks(t *testing.T) {
	tk := portalTicket(t, "Enlace caducado")
	link := portalLink(t, tk.ID)
	token := strings.TrimPrefix(link, "/portal/t/")

	for name, path := range map[string]string{
		"tampered":  link[:len(link)-1] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(link, "A")],
		"truncated": link[:len(link)-5],
		"garbage":   "/portal/t/%3Cscript%3E",
	} {
		v := newVisitor(t, app)
		res := v.get(path)
		if res.status != 404 || v.cookies["helpdesk_portal"] != "" {
			t.Errorf("%s link: %d, cookie %q", name, res.status, v.cookies["helpdesk_portal"])
		}
		if !strings.Contains(string(res.body), "This link is not valid") || !strings.Contains(string(res.body), `action="/portal"`) {
			t.Errorf("%s link: the page should say so and offer a new link:\n%s", name, res.body)
		}
	}

	sum := sha256.Sum256([]byte(token))
	if err := db.Exec(`UPDATE portal_links SET expires_at = now() - interval '1 minute' WHERE token_hash = ?`, sum[:]).Error; err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, app)
	res := v.get(link)
	if res.status != 410 || v.cookies["helpdesk_portal"] != "" {
		t.Fatalf("expired link: %d, cookie %q", res.status, v.cookies["helpdesk_portal"])
	}
	if !strings.Contains(string(res.body), "This link has expired") || !strings.Contains(string(res.body), `action="/portal"`) {
		t.Errorf("the expired link's page should say so and offer a new link:\n%s", res.body)
	}
	if res := v.get(fmt.Sprintf("/portal/tickets/%d", tk.ID)); res.status != 303 || res.header.Get("Location") != "/portal" {
		t.Errorf("ticket after an expired link: %d to %q", res.status, res.header.Get("Location"))
	}
}

// A session older than its link's expiry ends with it.
func TestPortalSessionEndsWithItsLink(t *testing.T) {
	tk := portalTicket(t, "Sesión caducada")
	v := portalVisitor(t, tk.ID)
	sum := sha256.Sum256([]byte(v.cookies["helpdesk_portal"]))
	db.Exec(`UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = ?`, sum[:])
	if res := v.get("/portal/tickets"); res.status != 303 || res.header.Get("Location") != "/portal" {
		t.Errorf("expired session: %d to %q", res.status, res.header.Get("Location"))
	}
	if res := v.post(fmt.Sprintf("/portal/tickets/%d/messages", tk.ID), url.Values{"body": {"hola"}}); res.status != 401 {
		t.Errorf("POST with an expired session: %d", res.status)
	}
}

// A link for customer A opens nothing of customer B's: not the ticket, not its files, not a
// reply to it. The answers are the ones for a ticket that does not exist.
func TestPortalKeepsCustomersApart(t *testing.T) {
	a := portalTicket(t, "Ticket de A")
	b := portalTicket(t, "Ticket de B")
	var bFile int64
	db.Raw(`SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ?`, b.ID).Scan(&bFile)
	v := portalVisitor(t, a.ID)
	page := v.get(fmt.Sprintf("/portal/tickets/%d", a.ID))
	token := portalToken(t, page.body)

	missing := v.get("/portal/tickets/987654321")
	res := v.get(fmt.Sprintf("/portal/tickets/%d", b.ID))
	if res.status != 404 || missing.status != 404 || strings.Contains(string(res.body), "Ticket de B") {
		t.Errorf("B's ticket through A's link: %d (a missing ticket: %d)", res.status, missing.status)
	}
	if res := v.get(fmt.Sprintf("/portal/attachments/%d", bFile)); res.status != 404 || strings.Contains(string(res.body), "pantalla de error") {
		t.Errorf("B's attachment through A's link: %d", res.status)
	}
	before := count(t, `SELECT count(*) FROM messages WHERE ticket_id = ?`, b.ID)
	if res := v.portalPost(fmt.Sprintf("/portal/tickets/%d/messages", b.ID), map[string]string{"_csrf": token, "body": "intruso"}); res.status != 404 {
		t.Errorf("reply to B's ticket through A's link: %d", res.status)
	}
	if count(t, `SELECT count(*) FROM messages WHERE ticket_id = ?`, b.ID) != before {
		t.Error("a message was added to another customer's ticket")
	}
	// A's own file downloads, as a download.
	var aFile int64
	db.Raw(`SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ?`, a.ID).Scan(&aFile)
	own := v.get(fmt.Sprintf("/portal/attachments/%d", aFile))
	if own.status != 200 || string(own.body) != "pantalla de error Ticket de A" || !strings.HasPrefix(own.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("own attachment: %d %q %q", own.status, own.body, own.header.Get("Content-Disposition"))
	}
}

func TestPortalNeverShowsInternalNotes(t *testing.T) {
	ctx := context.Background()
	tk := portalTicket(t, "Notas internas")
	note, err := testDesk().AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{
		Kind: tickets.MessageNote, AuthorID: agentUser.ID, Body: "NOTA-INTERNA: cliente conflictivo",
		Attachments: []tickets.NewAttachment{{Filename: "informe-interno.txt", ContentType: "text/plain", Data: []byte("solo para el equipo")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testDesk().AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{
		Kind: tickets.MessageReply, AuthorID: agentUser.ID, Body: "Hemos restablecido su contraseña.",
	}); err != nil {
		t.Fatal(err)
	}
	v := portalVisitor(t, tk.ID)
	page := string(v.get(fmt.Sprintf("/portal/tickets/%d", tk.ID)).body)
	if !strings.Contains(page, "Hemos restablecido su contraseña.") {
		t.Errorf("the public reply is missing:\n%s", page)
	}
	if strings.Contains(page, "NOTA-INTERNA") || strings.Contains(page, "informe-interno.txt") {
		t.Error("an internal note or its file reached the portal")
	}
	if res := v.get(fmt.Sprintf("/portal/attachments/%d", note.Attachments[0].ID)); res.status != 404 {
		t.Errorf("a note's attachment: %d, want 404", res.status)
	}
}

func TestPortalReplyAddsACustomerMessage(t *testing.T) {
	ctx := context.Background()
	tk := portalTicket(t, "Respuesta desde el portal")
	solved := tickets.StatusSolved
	if _, err := testDesk().AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{
		Kind: tickets.MessageReply, AuthorID: agentUser.ID, Body: "Resuelto, creemos.", Status: &solved,
	}); err != nil {
		t.Fatal(err)
	}
	v := portalVisitor(t, tk.ID)
	path := fmt.Sprintf("/portal/tickets/%d", tk.ID)
	token := portalToken(t, v.get(path).body)

	// An empty message comes back with the error next to the field.
	bad := v.portalPost(path+"/messages", map[string]string{"_csrf": token, "body": "  "})
	if bad.status != 422 || !strings.Contains(string(bad.body), `id="body-error"`) {
		t.Fatalf("empty reply: %d\n%s", bad.status, bad.body)
	}

	res := v.portalPost(path+"/messages", map[string]string{"_csrf": token, "body": "Sigue sin funcionar <b>nada</b>."},
		upload{"registro.log", []byte("error 500 a las 10:02")})
	if res.status != 303 || !strings.HasPrefix(res.header.Get("Location"), path+"?sent=1") {
		t.Fatalf("reply: %d to %q\n%s", res.status, res.header.Get("Location"), res.body)
	}
	var msg struct {
		Kind             string
		AuthorCustomerID int64
		Files            int
	}
	db.Raw(`SELECT m.kind, m.author_customer_id, (SELECT count(*) FROM attachments WHERE message_id = m.id) AS files
		FROM messages m WHERE ticket_id = ? ORDER BY id DESC LIMIT 1`, tk.ID).Scan(&msg)
	if msg.Kind != "inbound" || msg.AuthorCustomerID != tk.CustomerID || msg.Files != 1 {
		t.Errorf("stored message: %+v", msg)
	}
	if n := count(t, `SELECT count(*) FROM tickets WHERE id = ? AND status = 'open'`, tk.ID); n != 1 {
		t.Error("a reply to a solved ticket should open it again")
	}
	page := string(v.get(res.header.Get("Location")).body)
	if !strings.Contains(page, "Sigue sin funcionar &lt;b&gt;nada&lt;/b&gt;.") || !strings.Contains(page, "registro.log") || !strings.Contains(page, `id="portal-reply-sent"`) {
		t.Errorf("the ticket does not show the reply (escaped) and its file:\n%s", page)
	}
}

func TestPortalFormsNeedTheSessionToken(t *testing.T) {
	tk := portalTicket(t, "Sin token")
	v := portalVisitor(t, tk.ID)
	path := fmt.Sprintf("/portal/tickets/%d", tk.ID)
	page := v.get(path)
	visitorToken := v.csrf // the layout's token, good for public forms only
	before := count(t, `SELECT count(*) FROM messages WHERE ticket_id = ?`, tk.ID)
	for name, token := range map[string]string{"missing": "", "forged": "Zm9yZ2Vk", "public form's": visitorToken} {
		fields := map[string]string{"body": "hola"}
		if token != "" {
			fields["_csrf"] = token
		}
		if res := v.portalPost(path+"/messages", fields); res.status != 403 {
			t.Errorf("reply with a %s token: %d", name, res.status)
		}
	}
	if res := v.post("/portal/logout", url.Values{"_csrf": {visitorToken}}); res.status != 403 || v.cookies["helpdesk_portal"] == "" {
		t.Errorf("logout with the public form's token: %d", res.status)
	}
	if count(t, `SELECT count(*) FROM messages WHERE ticket_id = ?`, tk.ID) != before {
		t.Error("a message was added without the portal's form token")
	}
	// Another site's page posting with a stolen token is refused by its Origin.
	req := httptest.NewRequest("POST", path+"/messages", strings.NewReader(url.Values{"_csrf": {portalToken(t, page.body)}, "body": {"hola"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if res := v.do(req); res.status != 403 {
		t.Errorf("cross-origin post: %d", res.status)
	}
}

func TestPortalLogout(t *testing.T) {
	tk := portalTicket(t, "Cerrar sesión")
	v := portalVisitor(t, tk.ID)
	secret := v.cookies["helpdesk_portal"]
	token := portalToken(t, v.get("/portal/tickets").body)
	res := v.post("/portal/logout", url.Values{"_csrf": {token}})
	if res.status != 303 || v.cookies["helpdesk_portal"] != "" {
		t.Fatalf("logout: %d, cookie %q", res.status, v.cookies["helpdesk_portal"])
	}
	if _, err := testDesk().PortalSessionCustomer(context.Background(), secret); err == nil {
		t.Error("the portal session still works after signing out")
	}
}

// /portal answers the same for any address, and mails a link only to a customer we know.
func TestPortalRequestLink(t *testing.T) {
	tk := portalTicket(t, "Pedir enlace")
	known := identityOf(t, tk.CustomerID)
	unknown := email("stranger")
	tokens := regexp.MustCompile(`value="[A-Za-z0-9_-]{20,}"`)

	answer := func(addr string) (int, string) {
		v := newVisitor(t, app)
		v.get("/portal")
		res := v.post("/portal", url.Values{"email": {addr}})
		body := strings.ReplaceAll(string(res.body), addr, "ADDRESS")
		return res.status, tokens.ReplaceAllString(body, `value="TOKEN"`)
	}
	knownStatus, knownBody := answer(known)
	unknownStatus, unknownBody := answer(unknown)
	if knownStatus != 200 || knownStatus != unknownStatus || knownBody != unknownBody {
		t.Errorf("known and unknown addresses get different answers: %d vs %d\n%s\n---\n%s", knownStatus, unknownStatus, knownBody, unknownBody)
	}
	if !strings.Contains(knownBody, "If we know this address") {
		t.Errorf("the answer should say a link is on its way if we know the address:\n%s", knownBody)
	}
	if _, ok := outbox.last(unknown); ok {
		t.Error("a link was mailed to an unknown address")
	}
	mail, ok := outbox.last(known)
	if !ok {
		t.Fatal("no link mailed to a known customer")
	}
	m := regexp.MustCompile(`/portal/t/[A-Za-z0-9_-]+`).FindString(mail.text)
	if m == "" {
		t.Fatalf("no link in the mail:\n%s", mail.text)
	}
	v := newVisitor(t, app)
	if res := v.get(m); res.status != 303 || res.header.Get("Location") != "/portal/tickets" {
		t.Fatalf("the mailed link: %d to %q", res.status, res.header.Get("Location"))
	}
	if page := v.get("/portal/tickets"); !strings.Contains(string(page.body), "Pedir enlace") {
		t.Error("the mailed link does not show the customer's tickets")
	}

	// A malformed address is named as such, and what was typed stays.
	v = newVisitor(t, app)
	v.get("/portal")
	res := v.post("/portal", url.Values{"email": {"lucia at example"}})
	if res.status != 422 || !strings.Contains(string(res.body), `id="email-error"`) || !strings.Contains(string(res.body), `value="lucia at example"`) {
		t.Errorf("malformed address: %d\n%s", res.status, res.body)
	}
	// Without the form's token nothing is sent.
	before := len(outbox.sent)
	if res := newVisitor(t, app).post("/portal", url.Values{"email": {known}, "_csrf": {"forged"}}); res.status != 403 {
		t.Errorf("request without a token: %d", res.status)
	}
	if len(outbox.sent) != before {
		t.Error("a link was mailed for a form without its token")
	}
}

// Pages without a portal session send people to ask for a link.
func TestPortalPagesNeedASession(t *testing.T) {
	v := newVisitor(t, app)
	for _, path := range []string{"/portal/tickets", "/portal/tickets/1", "/portal/attachments/1"} {
		if res := v.get(path); res.status != 303 || res.header.Get("Location") != "/portal" {
			t.Errorf("GET %s: %d to %q", path, res.status, res.header.Get("Location"))
		}
	}
	// A staff session is not a portal session.
	staff := signIn(t, tickets.RoleAgent)
	if res := staff.get("/portal/tickets"); res.status != 303 || res.header.Get("Location") != "/portal" {
		t.Errorf("a staff session opened the portal: %d", res.status)
	}
	page := v.get("/portal")
	if page.status != 200 || !strings.Contains(string(page.body), `href="/kb"`) || !strings.Contains(string(page.body), `href="/support"`) {
		t.Errorf("the portal's front page should link the help center and the form: %d", page.status)
	}
}

// Text a customer or an email wrote stays inert in the portal.
func TestPortalEscapesWhatCustomersWrote(t *testing.T) {
	tk, err := testDesk().Intake(context.Background(), tickets.NewTicket{
		Channel:  tickets.ChannelEmail,
		Customer: tickets.CustomerContact{Email: email("xss")},
		Subject:  `<script>alert("subject")</script>`,
		BodyHTML: `<p>Hola</p><script>alert("body")</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	v := portalVisitor(t, tk.ID)
	page := string(v.get(fmt.Sprintf("/portal/tickets/%d", tk.ID)).body)
	for _, bad := range []string{`<script>alert`, `onerror=`, `javascript:`} {
		if strings.Contains(page, bad) {
			t.Errorf("the page carries %q", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;") || !strings.Contains(page, "<p>Hola</p>") {
		t.Errorf("subject not escaped or safe HTML not shown:\n%s", page)
	}
}

func TestPortalInSpanish(t *testing.T) {
	tk := portalTicket(t, "En español")
	v := portalVisitor(t, tk.ID)
	req := httptest.NewRequest("GET", fmt.Sprintf("/portal/tickets/%d", tk.ID), nil)
	req.Header.Set("Accept-Language", "es-ES,es;q=0.9")
	page := string(v.do(req).body)
	for _, want := range []string{`lang="es"`, "Mis solicitudes", "Añadir un mensaje", "Usted"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Spanish ticket page lacks %q", want)
		}
	}
	req = httptest.NewRequest("GET", "/portal", nil)
	req.Header.Set("Accept-Language", "es")
	if page := string(newVisitor(t, app).do(req).body); !strings.Contains(page, "Enviarme un enlace") {
		t.Error("the Spanish request page lacks its button")
	}
}

// A closed ticket takes no more messages: the page says how to write again, and a reply sent
// from a page loaded before it closed comes back with what was written.
func TestPortalClosedTicket(t *testing.T) {
	tk := portalTicket(t, "Cerrada")
	v := portalVisitor(t, tk.ID)
	path := fmt.Sprintf("/portal/tickets/%d", tk.ID)
	token := portalToken(t, v.get(path).body)
	if err := db.Exec(`UPDATE tickets SET status = 'closed', closed_at = now() WHERE id = ?`, tk.ID).Error; err != nil {
		t.Fatal(err)
	}
	res := v.portalPost(path+"/messages", map[string]string{"_csrf": token, "body": "Una cosa más"})
	if res.status != 409 || !strings.Contains(string(res.body), "Una cosa más") || !strings.Contains(string(res.body), "was closed in the meantime") {
		t.Errorf("reply to a closed ticket: %d\n%s", res.status, res.body)
	}
	page := string(v.get(path).body)
	if strings.Contains(page, `action="`+path+`/messages"`) || !strings.Contains(page, "This request is closed") {
		t.Errorf("a closed ticket should offer a new request instead of the reply form:\n%s", page)
	}
}

// A portal link is as good as a password for a while: the request log must not keep it.
func TestPortalLinkStaysOutOfTheLog(t *testing.T) {
	var log bytes.Buffer
	a, err := newApp(testConfig(nil), slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tk := portalTicket(t, "Registro")
	link := portalLink(t, tk.ID)
	v := newVisitor(t, a)
	if res := v.get(link + "x"); res.status != 404 {
		t.Fatalf("wrong link: %d", res.status)
	}
	if res := v.get(link); res.status != 303 {
		t.Fatalf("link: %d", res.status)
	}
	token := strings.TrimPrefix(link, "/portal/t/")
	if !strings.Contains(log.String(), "path=/portal/t/:token") || strings.Contains(log.String(), token) {
		t.Errorf("the log keeps the link:\n%s", log.String())
	}
}
