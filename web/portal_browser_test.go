package web_test

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// A customer sends the support form, gets an answer, follows the link of our mail into the
// portal, reads the conversation and replies with a file.
func TestBrowserPortal(t *testing.T) {
	ctx := browser(t)
	base := serveApp(t, app)
	var err error
	addr := email("portal-browser")

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/support"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("name"), "Lucía García"),
		chromedp.SendKeys(chromedp.ID("email"), addr),
		chromedp.SendKeys(chromedp.ID("subject"), "No puedo iniciar sesión"),
		chromedp.SendKeys(chromedp.ID("description"), "Desde ayer la web dice que mi contraseña es incorrecta."),
		chromedp.Click(chromedp.CSS(`form[action="/support"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".ref")),
	)
	if err != nil {
		t.Fatal(err)
	}
	var id, customerID int64
	row := db.Raw(`SELECT t.id, t.customer_id FROM tickets t JOIN customer_identities i ON i.customer_id = t.customer_id WHERE i.value = ?`, addr).Row()
	if err := row.Scan(&id, &customerID); err != nil {
		t.Fatalf("the form made no ticket: %v", err)
	}
	// An agent answers, leaves a note the customer must not see, and an older request of the
	// same customer fills the list.
	ctxb := context.Background()
	if _, err := testDesk().AddStaffMessage(ctxb, id, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: agentUser.ID, Body: "NOTA-INTERNA: revisar el registro"}); err != nil {
		t.Fatal(err)
	}
	pending := tickets.StatusPending
	if _, err := testDesk().AddStaffMessage(ctxb, id, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: agentUser.ID, Status: &pending,
		Body: "Hola Lucía:\n\nHemos restablecido su acceso. ¿Puede probar de nuevo y decirnos si funciona?"}); err != nil {
		t.Fatal(err)
	}
	if _, err := testDesk().Intake(ctxb, tickets.NewTicket{Channel: tickets.ChannelEmail, Subject: "Cambio de dirección de facturación",
		Body: "Quiero cambiar la dirección de mis facturas.", Customer: tickets.CustomerContact{Email: addr}}); err != nil {
		t.Fatal(err)
	}
	// The link our mail would carry (TestPortalLinkInMails checks that the mails carry one).
	token, err := tickets.IssuePortalLink(db, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/portal/t/"+token),
		chromedp.WaitVisible(chromedp.CSS(".portal-thread")),
	)
	if err != nil {
		t.Fatal(err)
	}
	location, _ := chromedp.Run(ctx, chromedp.Location())
	thread, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(location, "/portal/tickets/"+strconv.FormatInt(id, 10)) || !strings.Contains(thread, "Hemos restablecido su acceso") ||
		!strings.Contains(thread, "Desde ayer la web dice") || strings.Contains(thread, "NOTA-INTERNA") {
		t.Fatalf("at %s the ticket reads:\n%s", location, thread)
	}

	file := filepath.Join(t.TempDir(), "registro.txt")
	if err := os.WriteFile(file, []byte("10:02 error de acceso\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("body"), "Sigue fallando. Le adjunto el registro."),
		chromedp.SetUploadFiles(chromedp.ID("attachments"), []string{file}),
		chromedp.Click(chromedp.CSS(`form.portal-reply button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("portal-reply-sent")),
	)
	if err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".portal-thread")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "portal-ticket")
	if !strings.Contains(after, "Sigue fallando. Le adjunto el registro.") || !strings.Contains(after, "registro.txt") {
		t.Errorf("the reply or its file is missing:\n%s", after)
	}
	if n := count(t, `SELECT count(*) FROM tickets WHERE id = ? AND status = 'open'`, id); n != 1 {
		t.Error("the customer's reply should open the pending ticket again")
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.portal-bar a[href="/portal/tickets"]`)),
		chromedp.WaitVisible(chromedp.CSS(".portal-table")),
	)
	if err != nil {
		t.Fatal(err)
	}
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".portal-table")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "portal-list")
	i, j := strings.Index(list, "Cambio de dirección"), strings.Index(list, "No puedo iniciar sesión")
	if i < 0 || j < 0 || i > j {
		t.Errorf("the list should show both requests, newest first:\n%s", list)
	}

	// Signing out ends the session: the list sends the visitor to ask for a link.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/portal/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/portal"]`)),
		chromedp.Navigate(base+"/portal/tickets"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/portal"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "portal-request")

	// The same link once expired: the page says so and offers a new one.
	sum := sha256.Sum256([]byte(token))
	if err := db.Exec(`UPDATE portal_links SET expires_at = now() - interval '1 minute' WHERE token_hash = ?`, sum[:]).Error; err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/portal/t/"+token),
		chromedp.WaitVisible(chromedp.ID("portal-notice")),
	)
	if err != nil {
		t.Fatal(err)
	}
	notice, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("portal-notice")))
	screenshot(t, ctx, "portal-link-expired")
	if !strings.Contains(notice, "expired") {
		t.Errorf("expired link notice: %q", notice)
	}
}
