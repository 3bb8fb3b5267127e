package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

const (
	testIMAPUser     = "support"
	testIMAPPassword = "imap-SECRET-password"
	testSMTPUser     = "sender"
	testSMTPPassword = "smtp-SECRET-password"
)

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}

// testIMAPServer is go-imap's in-memory server on a loopback port, with one message in INBOX.
func testIMAPServer(t *testing.T) (host string, port int, user *imapmemserver.User) {
	t.Helper()
	mem := imapmemserver.New()
	user = imapmemserver.NewUser(testIMAPUser, testIMAPPassword)
	user.Create("INBOX", nil)
	user.Append("INBOX", bytes.NewReader([]byte("From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n")), &imap.AppendOptions{})
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       quietLog{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	a := ln.Addr().(*net.TCPAddr)
	return "127.0.0.1", a.Port, user
}

// testSMTPBackend is a go-smtp server that wants a login and counts messages it is given.
type testSMTPBackend struct{ messages atomic.Int32 }

func (b *testSMTPBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &testSMTPSession{b: b}, nil
}

type testSMTPSession struct {
	b      *testSMTPBackend
	authed bool
}

func (s *testSMTPSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *testSMTPSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != testSMTPUser || password != testSMTPPassword {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *testSMTPSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *testSMTPSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *testSMTPSession) Data(r io.Reader) error {
	s.b.messages.Add(1)
	_, err := io.Copy(io.Discard, r)
	return err
}
func (s *testSMTPSession) Reset()        {}
func (s *testSMTPSession) Logout() error { return nil }

func testSMTPServer(t *testing.T) (int, *testSMTPBackend) {
	t.Helper()
	b := &testSMTPBackend{}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, b
}

func mailboxForm(n int64, imapPort, smtpPort int, imapPassword string) url.Values {
	return url.Values{
		"name": {fmt.Sprintf("Help %d", n)}, "address": {fmt.Sprintf("help%d@help.example", n)},
		"imap.host": {"127.0.0.1"}, "imap.port": {fmt.Sprint(imapPort)}, "imap.tls": {"none"},
		"imap.username": {testIMAPUser}, "imap.password": {imapPassword}, "imap.folder": {"INBOX"}, "imap.after_import": {"seen"},
		"smtp.host": {"127.0.0.1"}, "smtp.port": {fmt.Sprint(smtpPort)}, "smtp.tls": {"none"},
		"smtp.username": {testSMTPUser}, "smtp.password": {testSMTPPassword},
	}
}

func noSecrets(t *testing.T, what string, res response) {
	t.Helper()
	for _, s := range []string{testIMAPPassword, testSMTPPassword, "wrong-SECRET"} {
		if strings.Contains(string(res.body), s) {
			t.Errorf("%s: a password is in the page", what)
		}
	}
}

func TestAdminMailboxTestBeforeSaving(t *testing.T) {
	_, imapPort, _ := testIMAPServer(t)
	smtpPort, smtpSrv := testSMTPServer(t)
	admin := adminSignInOn(t, mailApp(t), tickets.RoleAdmin)
	page := admin.get("/admin/mailboxes")
	if page.status != 200 {
		t.Fatalf("page: %d", page.status)
	}
	n := unique.Add(1)

	res := admin.post("/admin/mailboxes/test", mailboxForm(n, imapPort, smtpPort, testIMAPPassword))
	if res.status != 200 {
		t.Fatalf("test: %d %s", res.status, res.body)
	}
	mustContain(t, "good settings", res, "Connected to 127.0.0.1:", "Logged in as support.", "Folder INBOX opened (messages: 1,",
		"Logged in as sender.", "Signed off; nothing was sent.", "Everything works.", fmt.Sprintf(`value="Help %d"`, n))
	noSecrets(t, "test", res)
	if count(t, `SELECT count(*) FROM mailboxes WHERE name = ?`, fmt.Sprintf("Help %d", n)) != 0 {
		t.Error("testing saved the mailbox")
	}
	if smtpSrv.messages.Load() != 0 {
		t.Error("the test sent mail")
	}

	res = admin.post("/admin/mailboxes/test", mailboxForm(n, imapPort, smtpPort, "wrong-SECRET"))
	mustContain(t, "wrong password", res, "Login refused by server:")
	noSecrets(t, "wrong password", res)

	// Nothing listening on the IMAP port.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	res = admin.post("/admin/mailboxes/test", mailboxForm(n, closed, smtpPort, testIMAPPassword))
	mustContain(t, "nothing listening", res, fmt.Sprintf("Could not connect to 127.0.0.1:%d: ", closed), "refused")

	// With htmx, only the result comes back, and the form (with its typed passwords) stays.
	form := mailboxForm(n, imapPort, smtpPort, testIMAPPassword)
	form.Set("_csrf", admin.csrf)
	req := httptest.NewRequest("POST", "/admin/mailboxes/test", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	frag := admin.do(req)
	if frag.status != 200 || strings.Contains(string(frag.body), "<html") || !strings.Contains(string(frag.body), "Everything works.") {
		t.Errorf("htmx test: %d %s", frag.status, frag.body)
	}

	// A bad setting is named before anything is tried.
	bad := mailboxForm(n, imapPort, smtpPort, testIMAPPassword)
	bad.Set("imap.host", "not a host")
	res = admin.post("/admin/mailboxes/test", bad)
	if res.status != 422 || strings.Contains(string(res.body), "Connected to") {
		t.Errorf("bad host: %d", res.status)
	}
	errorAfter(t, string(res.body), "mb-imap-host")
}

func TestAdminAddMailboxAndTestIt(t *testing.T) {
	_, imapPort, user := testIMAPServer(t)
	smtpPort, _ := testSMTPServer(t)
	admin := adminSignInOn(t, mailApp(t), tickets.RoleAdmin)
	admin.get("/admin/mailboxes")
	n := unique.Add(1)
	res := admin.post("/admin/mailboxes", mailboxForm(n, imapPort, smtpPort, testIMAPPassword))
	if res.status != 303 || res.header.Get("Location") != "/admin/mailboxes?ok=mailbox_added" {
		t.Fatalf("add: %d %s", res.status, res.body)
	}
	var id int64
	db.Raw(`SELECT id FROM mailboxes WHERE name = ?`, fmt.Sprintf("Help %d", n)).Scan(&id)
	if id == 0 {
		t.Fatal("not saved")
	}
	var sealed []byte
	db.Raw(`SELECT imap_password FROM mailboxes WHERE id = ?`, id).Row().Scan(&sealed)
	if bytes.Contains(sealed, []byte("SECRET")) {
		t.Error("the password is stored in clear")
	}
	list := admin.get("/admin/mailboxes?ok=mailbox_added")
	mustContain(t, "list", list, "The mailbox was added.", fmt.Sprintf("help%d@help.example", n), "Not checked yet",
		fmt.Sprintf(`action="/admin/mailboxes/%d/test"`, id))
	noSecrets(t, "list", list)

	user.Append("INBOX", bytes.NewReader([]byte("From: b@example.com\r\nSubject: two\r\n\r\nhello\r\n")), &imap.AppendOptions{})
	res = admin.post(fmt.Sprintf("/admin/mailboxes/%d/test", id), url.Values{})
	if res.status != 200 {
		t.Fatalf("test saved: %d", res.status)
	}
	mustContain(t, "test saved", res, "Folder INBOX opened (messages: 2,", "Logged in as sender.", "Everything works.")
	noSecrets(t, "test saved", res)
	// The result sits in that mailbox's row.
	body := string(res.body)
	if i, j := strings.Index(body, fmt.Sprintf(`id="probe-%d"`, id)), strings.Index(body, "Folder INBOX opened"); i < 0 || j < i {
		t.Error("the result is not in the mailbox's row")
	}

	// The same name again, and bad fields: errors next to fields, values kept, passwords not.
	bad := mailboxForm(n, imapPort, smtpPort, testIMAPPassword)
	bad.Set("imap.tls", "ssl")
	bad.Set("imap.port", "70000")
	bad.Set("address", "nope")
	res = admin.post("/admin/mailboxes", bad)
	if res.status != 422 {
		t.Fatalf("bad: %d", res.status)
	}
	b := string(res.body)
	errorAfter(t, b, "mb-address")
	errorAfter(t, b, "mb-imap-port")
	if !strings.Contains(b, `id="mb-imap-tls-error"`) {
		t.Error("no error next to the TLS mode")
	}
	mustContain(t, "bad", res, `value="nope"`, `value="70000"`, "Type the passwords again.")
	noSecrets(t, "bad", res)
	res = admin.post("/admin/mailboxes", mailboxForm(n, imapPort, smtpPort, testIMAPPassword))
	if res.status != 422 || !strings.Contains(errorAfter(t, string(res.body), "mb-name"), "exists") {
		t.Errorf("duplicate: %d", res.status)
	}
}

// Without the email channel the page says so instead of failing.
func TestAdminMailboxesWithoutMail(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	res := admin.get("/admin/mailboxes")
	if res.status != 200 || !strings.Contains(string(res.body), "HELPDESK_ENCRYPTION_KEY") {
		t.Errorf("without mail: %d", res.status)
	}
	if res := admin.get("/admin/quarantine"); res.status != 200 {
		t.Errorf("quarantine without mail: %d", res.status)
	}
}

func TestAdminQuarantine(t *testing.T) {
	a := mailApp(t)
	m, err := mailin.NewMailboxes(db, mailKeys).Add(context.Background(), mailin.NewMailbox{
		Name: fmt.Sprintf("Quarantined %d", unique.Add(1)), Address: email("aq"),
		IMAP: mailin.ServerSettings{Host: "127.0.0.1", Port: 1, TLS: mailin.TLSNone, Username: "u", Password: "p"},
		SMTP: mailin.ServerSettings{Host: "127.0.0.1", Port: 2, TLS: mailin.TLSNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	noFrom := []byte("To: support@help.example\r\nSubject: <script>alert(1)</script> Who am I\r\nMessage-ID: <anofrom." + fmt.Sprint(m.ID) + "@x>\r\n\r\nno sender\r\n")
	big := []byte(fmt.Sprintf("From: <%s>\r\nSubject: Large one\r\nMessage-ID: <abig.%d@x>\r\n\r\n%s\r\n", email("abig"), m.ID, strings.Repeat("0123456789", 150000)))
	in := mailin.NewIngester(db, mailDesk, mailin.Options{MaxMessageBytes: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if _, err := in.IngestBatch(context.Background(), m, 1, []mailin.Fetched{
		{UID: 1, Size: int64(len(noFrom)), Raw: noFrom}, {UID: 2, Size: int64(len(big)), Raw: big},
	}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, reason := range []string{"unparseable", "too-large"} {
		var id int64
		db.Raw(`SELECT id FROM email_quarantine WHERE mailbox_id = ? AND reason = ?`, m.ID, reason).Scan(&id)
		ids[reason] = id
	}
	if ids["unparseable"] == 0 || ids["too-large"] == 0 {
		t.Fatalf("quarantine: %v", ids)
	}

	for _, role := range []tickets.Role{tickets.RoleAgent, tickets.RoleSupervisor} {
		v := adminSignInOn(t, a, role)
		if res := v.get(fmt.Sprintf("/admin/quarantine/%d/raw", ids["unparseable"])); res.status != 403 {
			t.Errorf("%s download: %d", role, res.status)
		}
	}
	admin := adminSignInOn(t, a, tickets.RoleAdmin)
	page := admin.get("/admin/quarantine")
	mustContain(t, "list", page, m.Name, "Large one", "&lt;script&gt;alert(1)&lt;/script&gt; Who am I", "no From",
		fmt.Sprintf(`href="/admin/quarantine/%d/raw"`, ids["unparseable"]), fmt.Sprintf("%d bytes", len(big)))
	if strings.Contains(string(page.body), "<script>alert(1)") {
		t.Error("a subject from outside is not escaped")
	}
	raw := admin.get(fmt.Sprintf("/admin/quarantine/%d/raw", ids["unparseable"]))
	if raw.status != 200 || !bytes.Equal(raw.body, noFrom) || raw.header.Get("Content-Type") != "message/rfc822" ||
		!strings.HasPrefix(raw.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %v", raw.status, raw.header)
	}

	// Still broken: the page says why, and the entry stays.
	res := admin.post(fmt.Sprintf("/admin/quarantine/%d/reprocess", ids["unparseable"]), url.Values{})
	if res.status != 409 || !strings.Contains(string(res.body), "still cannot be taken in") || !strings.Contains(string(res.body), "no From") {
		t.Errorf("reprocess unparseable: %d %s", res.status, res.body)
	}
	// Taken in now: the page says which ticket it made.
	res = admin.post(fmt.Sprintf("/admin/quarantine/%d/reprocess", ids["too-large"]), url.Values{})
	if res.status != 303 || !strings.HasPrefix(res.header.Get("Location"), "/admin/quarantine?outcome=ticket&ticket=") {
		t.Fatalf("reprocess large: %d %s", res.status, res.header.Get("Location"))
	}
	done := admin.get(res.header.Get("Location"))
	mustContain(t, "after reprocess", done, "The message was taken in and opened ticket #")
	if strings.Contains(string(done.body), "Large one") {
		t.Error("a reprocessed message is still listed as waiting")
	}
	mustContain(t, "all", admin.get("/admin/quarantine?all=true"), "Large one", "Reprocessed")
	if res := admin.post("/admin/quarantine/987654321/reprocess", url.Values{}); res.status != 404 {
		t.Errorf("unknown: %d", res.status)
	}
	_ = http.StatusOK
}
