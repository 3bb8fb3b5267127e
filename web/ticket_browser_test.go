package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// An agent signs in, opens a ticket, sees a colleague start replying, answers the customer and
// sets the ticket to pending, all in a real browser.
func TestBrowserDeskTicket(t *testing.T) {
	ctx := browser(t)
	desk := testDesk()
	bg := context.Background()
	tk := deskTicket(t, "The invoice PDF does not open", "Hello,\n\nthe invoice you sent me for October does not open: my reader says the file is damaged.\n\nThanks,\nMarta",
		tickets.NewAttachment{Filename: "error-message.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nnot really")})
	if _, err := desk.AddStaffMessage(bg, tk.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: agentUser.ID,
		Body: "Billing regenerated October's invoices on the 3rd; this may be one of them."}); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.AddCustomerMessage(bg, tk.ID, tickets.CustomerMessage{CustomerID: tk.CustomerID,
		BodyHTML: `<p>I tried <b>two</b> readers, same result.</p><img src="x" onerror="alert(1)">`}); err != nil {
		t.Fatal(err)
	}

	// A customer with a history, so the panel has something to explain.
	for i, amount := range []string{"249.00", "89.90", "120.00"} {
		if _, err := tickets.NewPurchases(desk).Add(bg, tickets.SystemActor, tk.CustomerID, tickets.NewPurchase{
			ExternalID: fmt.Sprintf("ORD-%d-%d", tk.ID, i), Amount: amount, Currency: "EUR",
			PurchasedAt: time.Now().AddDate(0, -2*i-1, 0).Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := desk.Recompute(bg, []int64{tk.CustomerID}); err != nil {
		t.Fatal(err)
	}

	base := serveApp(t, app)
	var err error
	page := ticketPath(tk.ID)

	err = chromedp.Do(ctx,
		signInSteps(base, tickets.RoleAgent, page),
		chromedp.WaitVisible(chromedp.ID("reply-body")),
		// The suggestions arrive after the page, from their own request.
		chromedp.WaitVisible(chromedp.CSS("#ticket-suggestions h3")),
	)
	if err != nil {
		t.Fatal(err)
	}

	// A colleague starts typing a reply on the same ticket: the open page learns of it by polling.
	sup := signIn(t, tickets.RoleSupervisor)
	sup.get(page)
	req := httptest.NewRequest("POST", ticketPath(tk.ID, "/presence"), strings.NewReader("typing=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", sup.csrf)
	if res := sup.do(req); res.status != 204 {
		t.Fatalf("colleague's heartbeat: %d", res.status)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS(".tk-collision")))
	cancel()
	if err != nil {
		t.Fatalf("no collision warning after the colleague's heartbeat: %v", err)
	}
	warning, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".tk-collision")))
	if err != nil || !strings.Contains(warning, "The supervisor is replying to this ticket") {
		t.Errorf("warning %q (%v)", warning, err)
	}
	alerts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".msg-html img[onerror], script:not([src])").length`))
	if err != nil || alerts != 0 {
		t.Errorf("the HTML mail kept something that runs: %d (%v)", alerts, err)
	}
	screenshot(t, ctx, "desk-ticket")

	// The agent types: their heartbeat tells the others.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("reply-body"), "Hello Marta,\n\nsorry about that. Here is the October invoice again, regenerated; it opens in every reader we tried."),
	)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, `SELECT count(*) FROM ticket_presence WHERE ticket_id = ? AND user_id = ? AND typed_at > now() - interval '1 minute'`, tk.ID, agentUser.ID) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("typing in the editor sent no heartbeat")
		}
		time.Sleep(100 * time.Millisecond)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".msg-reply")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, `SELECT count(*) FROM messages WHERE ticket_id = ? AND kind = 'reply' AND body_text LIKE 'Hello Marta,%'`, tk.ID); n != 1 {
		t.Fatalf("replies stored: %d", n)
	}
	text, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("reply-body")))
	if err != nil || text != "" {
		t.Errorf("the editor should be empty after sending: %q (%v)", text, err)
	}

	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("prop-status"), "pending"),
		chromedp.Click(chromedp.CSS(`#props-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".tk-facts .status-pending")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, `SELECT count(*) FROM tickets WHERE id = ? AND status = 'pending'`, tk.ID); n != 1 {
		t.Error("the ticket is not pending")
	}
	err = chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "desk-ticket-after")

	// An empty reply comes back with the message next to the editor.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("body-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "desk-ticket-error")
}
