package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

var (
	mailOnce    sync.Once
	mailAppInst *fiber.App
	mailDesk    *tickets.Desk
	mailKeys    *mailin.Keyring
)

// mailApp is the app with the email channel wired as serve wires it: an encryption key, the
// outgoing mail hook on the desk, mailboxes and quarantine.
func mailApp(t *testing.T) *fiber.App {
	t.Helper()
	mailOnce.Do(func() {
		key := bytes.Repeat([]byte{3}, 32)
		cfg := testConfig(map[string]string{"HELPDESK_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key)})
		mailKeys, _ = mailin.NewKeyring(cfg.Mail.EncryptionKey)
		mailDesk = tickets.NewDesk(db, tickets.Limits{})
		mailDesk.AddHook(mailout.New(mailout.Options{AckLimit: 3, Logger: slog.New(slog.DiscardHandler)}).Hook)
		boxes := mailin.NewMailboxes(db, mailKeys)
		ingester := mailin.NewIngester(db, mailDesk, mailin.Options{MaxMessageBytes: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
		var err error
		mailAppInst, err = web.New(web.Deps{
			Config: cfg, DB: db, Desk: mailDesk, Customers: tickets.NewCustomers(db), Staff: tickets.NewStaff(db),
			HTTPState: httpState, SigningKey: []byte("0123456789abcdef0123456789abcdef"), Logger: slog.New(slog.DiscardHandler),
			Mail: &web.MailDeps{Mailboxes: boxes, Quarantine: mailin.NewQuarantine(db, ingester), DB: db},
		})
		if err != nil {
			panic(err)
		}
	})
	return mailAppInst
}

// callMail is call() against the app with email set up, checked against openapi.json as well.
func callMail(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw = mustJSON(t, b)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res := send(t, mailApp(t), req)
	checkAgainstSpec(t, method, path, token, "application/json", raw, res)
	return res
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newMailboxBody(n int64) map[string]any {
	return map[string]any{
		"name": fmt.Sprintf("Support %d", n), "address": fmt.Sprintf("support.web%d@help.example", n),
		"imap": map[string]any{"host": "imap.help.example", "tls": "tls", "username": "support", "password": "imap-SECRET-pw", "after_import": "move", "move_to": "Done"},
		"smtp": map[string]any{"host": "smtp.help.example", "tls": "starttls", "username": "support", "password": "smtp-SECRET-pw"},
	}
}

func TestAPIMailboxes(t *testing.T) {
	n := unique.Add(1)
	if res := callMail(t, "POST", "/api/v1/mailboxes", agentToken, newMailboxBody(n)); res.status != 403 {
		t.Errorf("agent: %d", res.status)
	}
	res := callMail(t, "POST", "/api/v1/mailboxes", adminToken, newMailboxBody(n))
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), "SECRET") || strings.Contains(string(res.body), "password") {
		t.Errorf("the answer shows a password: %s", res.body)
	}
	var m struct {
		ID   int64 `json:"id"`
		IMAP struct {
			Port        int    `json:"port"`
			AfterImport string `json:"after_import"`
		} `json:"imap"`
		SMTP struct {
			Port int `json:"port"`
		} `json:"smtp"`
	}
	res.json(t, &m)
	if m.IMAP.Port != 993 || m.SMTP.Port != 587 || m.IMAP.AfterImport != "move" {
		t.Errorf("defaults: %s", res.body)
	}
	var stored []byte
	db.Raw(`SELECT imap_password FROM mailboxes WHERE id = ?`, m.ID).Row().Scan(&stored)
	if bytes.Contains(stored, []byte("SECRET")) {
		t.Error("the password is stored in clear")
	}
	list := callMail(t, "GET", "/api/v1/mailboxes", adminToken, nil)
	if list.status != 200 || !strings.Contains(string(list.body), fmt.Sprintf(`"id":%d`, m.ID)) || strings.Contains(string(list.body), "SECRET") {
		t.Errorf("list: %d %s", list.status, list.body)
	}
	if res := callMail(t, "POST", "/api/v1/mailboxes", adminToken, newMailboxBody(n)); res.status != 409 || res.errorField(t) != "name" {
		t.Errorf("duplicate: %d %s", res.status, res.body)
	}
	bad := newMailboxBody(unique.Add(1))
	bad["address"] = "nope"
	bad["imap"].(map[string]any)["tls"] = "ssl"
	bad["imap"].(map[string]any)["port"] = 70000
	res = callMail(t, "POST", "/api/v1/mailboxes", adminToken, bad)
	if res.status != 422 || !strings.Contains(string(res.body), "imap.tls") || !strings.Contains(string(res.body), "imap.port") {
		t.Errorf("invalid: %d %s", res.status, res.body)
	}
	if res := callMail(t, "POST", "/api/v1/mailboxes", adminToken, `{"name":"x","imap":{"hots":"a"}}`); res.status != 400 || res.errorField(t) != "hots" {
		t.Errorf("unknown field: %d %s", res.status, res.body)
	}
	// A server without the email channel says so rather than failing.
	if res := call(t, "GET", "/api/v1/mailboxes", adminToken, nil); res.status != 409 {
		t.Errorf("without email: %d %s", res.status, res.body)
	}
}

func TestAPIQuarantine(t *testing.T) {
	mailApp(t)
	m, err := mailin.NewMailboxes(db, mailKeys).Add(context.Background(), mailin.NewMailbox{
		Name: fmt.Sprintf("Quarantine %d", unique.Add(1)), Address: email("q"),
		IMAP: mailin.ServerSettings{Host: "127.0.0.1", Port: 1, TLS: mailin.TLSNone, Username: "u", Password: "p"},
		SMTP: mailin.ServerSettings{Host: "127.0.0.1", Port: 2, TLS: mailin.TLSNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	noFrom := []byte("To: support@help.example\r\nSubject: Who am I\r\nMessage-ID: <nofrom." + fmt.Sprint(m.ID) + "@x>\r\n\r\nno sender\r\n")
	big := []byte(fmt.Sprintf("From: <%s>\r\nSubject: Large\r\nMessage-ID: <big.%d@x>\r\n\r\n%s\r\n", email("big"), m.ID, strings.Repeat("0123456789", 150000)))
	in := mailin.NewIngester(db, mailDesk, mailin.Options{MaxMessageBytes: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if _, err := in.IngestBatch(context.Background(), m, 1, []mailin.Fetched{
		{UID: 1, Size: int64(len(noFrom)), Raw: noFrom}, {UID: 2, Size: int64(len(big)), Raw: big},
	}); err != nil {
		t.Fatal(err)
	}
	if res := callMail(t, "GET", "/api/v1/quarantine", supervisorToken, nil); res.status != 403 {
		t.Errorf("supervisor: %d", res.status)
	}
	res := callMail(t, "GET", "/api/v1/quarantine?limit=200", adminToken, nil)
	var page struct {
		Items []struct {
			ID        int64  `json:"id"`
			MailboxID int64  `json:"mailbox_id"`
			Reason    string `json:"reason"`
			Error     string `json:"error"`
			Subject   string `json:"subject"`
			RawURL    string `json:"raw_url"`
		} `json:"items"`
	}
	res.json(t, &page)
	ids := map[string]int64{}
	for _, it := range page.Items {
		if it.MailboxID == m.ID {
			ids[it.Reason] = it.ID
			if it.Reason == "unparseable" && (!strings.Contains(it.Error, "no From") || it.Subject != "Who am I") {
				t.Errorf("entry %+v", it)
			}
		}
	}
	if ids["unparseable"] == 0 || ids["too-large"] == 0 {
		t.Fatalf("quarantine list: %s", res.body)
	}
	raw := callMail(t, "GET", fmt.Sprintf("/api/v1/quarantine/%d/raw", ids["unparseable"]), adminToken, nil)
	if raw.status != 200 || !bytes.Equal(raw.body, noFrom) || raw.header.Get("Content-Type") != "message/rfc822" ||
		!strings.HasPrefix(raw.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %v %q", raw.status, raw.header, raw.body)
	}
	if res := callMail(t, "POST", fmt.Sprintf("/api/v1/quarantine/%d/reprocess", ids["unparseable"]), adminToken, nil); res.status != 409 || !strings.Contains(string(res.body), "no From") {
		t.Errorf("reprocess unparseable: %d %s", res.status, res.body)
	}
	res = callMail(t, "POST", fmt.Sprintf("/api/v1/quarantine/%d/reprocess", ids["too-large"]), adminToken, nil)
	var out struct {
		Outcome  string `json:"outcome"`
		TicketID int64  `json:"ticket_id"`
	}
	res.json(t, &out)
	if res.status != 200 || out.Outcome != "ticket" || out.TicketID == 0 {
		t.Errorf("reprocess too large: %d %s", res.status, res.body)
	}
	if res := callMail(t, "GET", "/api/v1/quarantine/999999999/raw", adminToken, nil); res.status != 404 {
		t.Errorf("unknown id: %d", res.status)
	}
	if res := callMail(t, "GET", "/api/v1/quarantine?all=maybe", adminToken, nil); res.status != 400 || res.errorField(t) != "all" {
		t.Errorf("bad parameter: %d %s", res.status, res.body)
	}
}

// The agent sees on the reply whether the email went out, and why not.
func TestAPITicketShowsDelivery(t *testing.T) {
	mailApp(t)
	if _, err := mailin.NewMailboxes(db, mailKeys).Add(context.Background(), mailin.NewMailbox{
		Name: fmt.Sprintf("Delivery %d", unique.Add(1)), Address: email("d"),
		IMAP: mailin.ServerSettings{Host: "127.0.0.1", Port: 1, TLS: mailin.TLSNone, Username: "u", Password: "p"},
		SMTP: mailin.ServerSettings{Host: "127.0.0.1", Port: 2, TLS: mailin.TLSNone},
	}); err != nil {
		t.Fatal(err)
	}
	res := callMail(t, "POST", "/api/v1/tickets", agentToken, newTicketBody(email("deliv")))
	var tk ticketOut
	res.json(t, &tk)
	res = callMail(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), agentToken, map[string]any{"kind": "reply", "body": "We are on it."})
	if res.status != 201 {
		t.Fatalf("reply: %d %s", res.status, res.body)
	}
	var reply struct {
		ID int64 `json:"id"`
	}
	res.json(t, &reply)
	callMail(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), agentToken, map[string]any{"kind": "note", "body": "internal"})
	type detail struct {
		Messages []struct {
			ID       int64 `json:"id"`
			Kind     string
			Delivery *struct {
				Status string `json:"status"`
				Error  string `json:"error"`
			} `json:"delivery"`
		} `json:"messages"`
	}
	get := func() detail {
		var d detail
		callMail(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, nil).json(t, &d)
		return d
	}
	d := get()
	for _, m := range d.Messages {
		switch {
		case m.ID == reply.ID && (m.Delivery == nil || m.Delivery.Status != "queued"):
			t.Errorf("reply delivery: %+v", m.Delivery)
		case m.ID != reply.ID && m.Delivery != nil:
			t.Errorf("message %d (%s) has a delivery", m.ID, m.Kind)
		}
	}
	db.Exec(`UPDATE outbox SET status = 'failed', last_error = '550 5.1.1 no such user' WHERE ticket_message_id = ?`, reply.ID)
	for _, m := range get().Messages {
		if m.ID == reply.ID && (m.Delivery == nil || m.Delivery.Status != "failed" || !strings.Contains(m.Delivery.Error, "no such user")) {
			t.Errorf("failed delivery: %+v", m.Delivery)
		}
	}
}
