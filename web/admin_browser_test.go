package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

// adminFullApp is the app as serve wires it for an admin: email channel, SLA and mail notices.
func adminFullApp(t *testing.T) *fiber.App {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	key := bytes.Repeat([]byte{3}, 32) // mailApp's key, so both read the same mailboxes
	cfg := testConfig(map[string]string{"HELPDESK_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key)})
	keys, err := mailin.NewKeyring(cfg.Mail.EncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	desk := tickets.NewDesk(db, tickets.Limits{})
	desk.AddHook(mailout.New(mailout.Options{Logger: quiet}).Hook)
	ingester := mailin.NewIngester(db, desk, mailin.Options{MaxMessageBytes: 1 << 20, Logger: quiet})
	a, err := web.New(web.Deps{
		Config: cfg, DB: db, Desk: desk, Customers: tickets.NewCustomers(db), Staff: tickets.NewStaff(db),
		Purchases: tickets.NewPurchases(desk), Knowledge: kb,
		SLA:       sla.New(db, desk, sla.Options{Logger: quiet, Now: slaClock.Now}),
		HTTPState: httpState, SigningKey: []byte("0123456789abcdef0123456789abcdef"), Logger: quiet, Notify: outbox.notify,
		Mail: &web.MailDeps{Mailboxes: mailin.NewMailboxes(db, keys), Quarantine: mailin.NewQuarantine(db, ingester), DB: db},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// An admin signs in, adds an agent, tries a mailbox's settings against a real IMAP server,
// saves it and tests it again from the list, then looks at the SLA settings.
func TestBrowserAdmin(t *testing.T) {
	ctx := browser(t)
	_, imapPort, _ := testIMAPServer(t)
	smtpPort, _ := testSMTPServer(t)
	a := adminFullApp(t)
	base := serveApp(t, a)
	var err error
	n := unique.Add(1)
	agentAddr := fmt.Sprintf("browser.agent%d@example.com", n)

	err = chromedp.Do(ctx,
		signInSteps(base, tickets.RoleAdmin, "/admin"),
		chromedp.WaitVisible(chromedp.CSS(".admin-index")),
		chromedp.Click(chromedp.CSS(`.admin-index a[href="/admin/users"]`)),
		chromedp.WaitVisible(chromedp.ID("new-name")),
		chromedp.SendKeys(chromedp.ID("new-name"), "Bruno Browser"),
		chromedp.SendKeys(chromedp.ID("new-email"), agentAddr),
		chromedp.SetValue(chromedp.ID("new-role"), "agent"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/users"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
	if err != nil {
		t.Fatal(err)
	}
	table, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".admin-table")))
	screenshot(t, ctx, "admin-users")
	if !strings.Contains(flash, "sent a link") || !strings.Contains(table, "Bruno Browser") || !strings.Contains(table, agentAddr) {
		t.Errorf("after adding an agent: flash %q, table %q", flash, table)
	}
	if _, ok := outbox.last(agentAddr); !ok {
		t.Error("the new agent got no set-password link")
	}
	// A mistake: the error sits next to its field and the form keeps what was typed.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("new-name"), "Second Try"),
		chromedp.SendKeys(chromedp.ID("new-email"), "second at example"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/users"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("new-email-error")),
		chromedp.ScrollIntoView(chromedp.ID("add-user-heading")),
	)
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("new-name")))
	screenshot(t, ctx, "admin-users-error")
	if kept != "Second Try" {
		t.Errorf("the name was not kept: %q", kept)
	}

	var brunoID int64
	db.Raw(`SELECT id FROM users WHERE email = ?`, agentAddr).Scan(&brunoID)
	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/admin/users/%d", base, brunoID)),
		chromedp.WaitVisible(chromedp.ID("user-categories")),
		chromedp.SendKeys(chromedp.ID("user-categories"), "billing, shipping"),
		chromedp.SendKeys(chromedp.ID("user-languages"), "es, en"),
		chromedp.Click(chromedp.ID("user-vip")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-user-edit")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form.admin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tickets.NewStaff(db).User(context.Background(), brunoID); got == nil || !got.HandlesVIP || strings.Join(got.Categories, ",") != "billing,shipping" {
		t.Errorf("the edit was not saved: %+v", got)
	}

	// A mailbox: test before saving (htmx keeps the typed passwords), save, test from the list.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/mailboxes"),
		chromedp.WaitVisible(chromedp.ID("mb-name")),
		chromedp.SendKeys(chromedp.ID("mb-name"), fmt.Sprintf("Browser help %d", n)),
		chromedp.SendKeys(chromedp.ID("mb-address"), fmt.Sprintf("browser%d@help.example", n)),
		chromedp.SendKeys(chromedp.ID("mb-imap-host"), "127.0.0.1"),
		chromedp.SendKeys(chromedp.ID("mb-imap-port"), strconv.Itoa(imapPort)),
		chromedp.SetValue(chromedp.ID("mb-imap-tls"), "none"),
		chromedp.SendKeys(chromedp.ID("mb-imap-username"), testIMAPUser),
		chromedp.SendKeys(chromedp.ID("mb-imap-password"), testIMAPPassword),
		chromedp.SendKeys(chromedp.ID("mb-smtp-host"), "127.0.0.1"),
		chromedp.SendKeys(chromedp.ID("mb-smtp-port"), strconv.Itoa(smtpPort)),
		chromedp.SetValue(chromedp.ID("mb-smtp-tls"), "none"),
		chromedp.SendKeys(chromedp.ID("mb-smtp-username"), testSMTPUser),
		chromedp.SendKeys(chromedp.ID("mb-smtp-password"), testSMTPPassword),
		chromedp.Click(chromedp.CSS(`button[formaction="/admin/mailboxes/test"]`)),
		chromedp.WaitVisible(chromedp.CSS("#probe-new .probe")),
	)
	if err != nil {
		t.Fatal(err)
	}
	probe, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#probe-new .probe")))
	password, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("mb-imap-password")))
	screenshot(t, ctx, "admin-mailbox-tested")
	if !strings.Contains(probe, "Logged in as support.") || !strings.Contains(probe, "Folder INBOX opened (messages: 1,") || !strings.Contains(probe, "Everything works.") {
		t.Errorf("test before saving: %q", probe)
	}
	if password != testIMAPPassword {
		t.Error("the test cleared the typed password; htmx should have kept the form")
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/admin/mailboxes"] button:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	db.Raw(`SELECT id FROM mailboxes WHERE name = ?`, fmt.Sprintf("Browser help %d", n)).Scan(&id)
	if id == 0 {
		t.Fatal("the mailbox was not saved")
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[action="/admin/mailboxes/%d/test"] button`, id))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#probe-%d .probe", id))),
		chromedp.ScrollIntoView(chromedp.CSS(".admin-table")),
	)
	if err != nil {
		t.Fatal(err)
	}
	rowProbe, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf("#probe-%d .probe", id))))
	screenshot(t, ctx, "admin-mailboxes")
	if !strings.Contains(rowProbe, "Everything works.") {
		t.Errorf("test from the list: %q", rowProbe)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/sla"),
		chromedp.WaitVisible(chromedp.ID("calendars-heading")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-sla")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/sla/calendars/new"),
		chromedp.WaitVisible(chromedp.ID("cal-name")),
		chromedp.SendKeys(chromedp.ID("cal-name"), fmt.Sprintf("Browser calendar %d", n)),
		chromedp.SetValue(chromedp.ID("cal-tue"), "9 to 5"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/sla/calendars"] button`)),
		chromedp.WaitVisible(chromedp.ID("cal-tue-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-sla-calendar-error")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/sla/policies/new"),
		chromedp.WaitVisible(chromedp.ID("pol-name")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-sla-policy")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/value"),
		chromedp.WaitVisible(chromedp.ID("pm-vip-low")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-value")

	// Teams, a token made and shown once, and the quarantine list.
	team := fmt.Sprintf("Browser team %d", n)
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/teams"),
		chromedp.WaitVisible(chromedp.ID("new-team-name")),
		chromedp.SendKeys(chromedp.ID("new-team-name"), team),
		chromedp.Click(chromedp.CSS(`form[action="/admin/teams"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-teams")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/tokens"),
		chromedp.WaitVisible(chromedp.ID("tok-user")),
		chromedp.SetValue(chromedp.ID("tok-user"), strconv.FormatInt(agentUser.ID, 10)),
		chromedp.SendKeys(chromedp.ID("tok-name"), "browser-ci"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/tokens"] button`)),
		chromedp.WaitVisible(chromedp.ID("token-secret")),
	)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("token-secret")))
	screenshot(t, ctx, "admin-token-created")
	if !strings.HasPrefix(secret, "hd_") {
		t.Errorf("secret %q", secret)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/tokens"),
		chromedp.WaitVisible(chromedp.ID("tok-user")),
	)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	screenshot(t, ctx, "admin-tokens")
	if secret == "" || strings.Contains(html, secret) {
		t.Error("the token list shows the secret")
	}
	// A message without a sender lands in quarantine; reprocessing it says why it still fails.
	box, err := mailin.NewMailboxes(db, nil).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(fmt.Sprintf("To: browser%d@help.example\r\nSubject: Printer on fire\r\nMessage-ID: <bq.%d@x>\r\n\r\nno sender\r\n", n, n))
	ingester := mailin.NewIngester(db, tickets.NewDesk(db, tickets.Limits{}), mailin.Options{MaxMessageBytes: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if _, err := ingester.IngestBatch(context.Background(), box, 1, []mailin.Fetched{{UID: 1, Size: int64(len(raw)), Raw: raw}}); err != nil {
		t.Fatal(err)
	}
	var qid int64
	db.Raw(`SELECT id FROM email_quarantine WHERE mailbox_id = ?`, id).Scan(&qid)
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/quarantine"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`form[action="/admin/quarantine/%d/reprocess"] button`, qid))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[action="/admin/quarantine/%d/reprocess"] button`, qid))),
		chromedp.WaitVisible(chromedp.ID("reprocess-result")),
	)
	if err != nil {
		t.Fatal(err)
	}
	result, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("reprocess-result")))
	screenshot(t, ctx, "admin-quarantine")
	if !strings.Contains(result, "still cannot be taken in") {
		t.Errorf("reprocess: %q", result)
	}
}
