package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// An agent signs in, finds a ticket in their queue, selects it and takes it with a bulk change,
// then opens its customer's page from the row.
func TestBrowserDeskQueue(t *testing.T) {
	ctx := browser(t)
	base := serveApp(t, app)
	var err error

	now := time.Now()
	team := newTeam(t, agentUser.ID)
	main := newQueueTicket(t, ticketSpec{subject: "El pedido llegó roto", customer: "Lucía García Browser", urgency: tickets.High, assignee: agentUser.ID})
	addClock(t, main.ID, "first_response", now.Add(-25*time.Minute), false)
	soon := newQueueTicket(t, ticketSpec{subject: "Cannot download the invoice", customer: "Ana Pérez", assignee: agentUser.ID, team: team})
	addClock(t, soon.ID, "first_response", now.Add(40*time.Minute), false)
	later := newQueueTicket(t, ticketSpec{subject: "Change my delivery address", customer: "Marc Dubois", urgency: tickets.Urgent, assignee: agentUser.ID})
	addClock(t, later.ID, "resolution", now.Add(26*time.Hour), false)
	newQueueTicket(t, ticketSpec{subject: "Question about the warranty", customer: "Sven Berg", urgency: tickets.Low, assignee: agentUser.ID})
	// The customer has bought before, so the page has scores to explain.
	desk := testDesk()
	for i, days := range []int{300, 120, 30, 8} {
		_, err := tickets.NewPurchases(desk).Add(context.Background(), tickets.SystemActor, main.CustomerID, tickets.NewPurchase{
			ExternalID: fmt.Sprintf("WEB-%d-%d", main.CustomerID, i), Amount: fmt.Sprintf("%d.90", 40*(i+1)), Currency: "EUR",
			PurchasedAt: now.AddDate(0, 0, -days).UTC().Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := desk.Recompute(context.Background(), []int64{main.CustomerID}); err != nil {
		t.Fatal(err)
	}

	row := fmt.Sprintf(`tr[data-ticket="%d"]`, main.ID)
	err = chromedp.Do(ctx,
		signInSteps(base, tickets.RoleAgent, "/desk/queue"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "El pedido llegó roto") || !strings.Contains(text, "overdue") {
		t.Errorf("the ticket's row reads %q", text)
	}
	// The overdue ticket comes first.
	first, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#queue-rows tbody tr"), "data-ticket"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Value != fmt.Sprint(main.ID) {
		t.Errorf("the first row is ticket %q, want the overdue %d", first.Value, main.ID)
	}
	screenshot(t, ctx, "desk-queue")

	// A ticket that arrives while the page is open shows up within a poll (15 s), with a notice.
	arrived := newQueueTicket(t, ticketSpec{subject: "Llegó mientras miraba", customer: "Late Comer", assignee: agentUser.ID})
	addClock(t, arrived.ID, "first_response", now.Add(-time.Hour), false)
	waitCtx, cancel := context.WithTimeout(ctx, 25*time.Second)
	err = chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-ticket="%d"]`, arrived.ID))))
	cancel()
	if err != nil {
		t.Fatalf("the new ticket did not appear without a reload: %v", err)
	}
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".queue-news")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "1 new ticket") {
		t.Errorf("the notice reads %q", notice)
	}
	screenshot(t, ctx, "desk-queue-live")

	// Take the ticket: select it, set the status, apply.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` input[name=ticket]`)),
		chromedp.SetValue(chromedp.ID("bulk-status"), "open"),
		chromedp.Click(chromedp.CSS(`.queue-bulk-controls button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("flash")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flash, "1 ticket changed") || count(t, `SELECT count(*) FROM tickets WHERE id = ? AND status = 'open'`, main.ID) != 1 {
		t.Errorf("after the bulk change: %q", flash)
	}
	screenshot(t, ctx, "desk-queue-bulk")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` a[href^="/desk/customers/"]`)),
		chromedp.WaitVisible(chromedp.ID("scores-h")),
	)
	if err != nil {
		t.Fatal(err)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "desk-customer")
	for _, want := range []string{"Lucía García Browser", "Loyalty", "Lifetime value (CLV)", "Churn risk", fmt.Sprintf("WEB-%d-3", main.CustomerID), "El pedido llegó roto"} {
		if !strings.Contains(page, want) {
			t.Errorf("the customer page lacks %q", want)
		}
	}

	// The same customer found by the start of their name.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.crumbs a[href="/desk/customers"]`)),
		chromedp.WaitVisible(chromedp.ID("customer-q")),
		chromedp.SendKeys(chromedp.ID("customer-q"), "lucía garcía b"),
		chromedp.Click(chromedp.CSS(`.customer-search button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("hits-h")),
	)
	if err != nil {
		t.Fatal(err)
	}
	hits, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main table")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hits, "Lucía García Browser") {
		t.Errorf("the search found %q", hits)
	}
	screenshot(t, ctx, "desk-customer-search")
}

// A supervisor merges a second record of the same person from the customer page: find it by
// address, compare the two, confirm.
func TestBrowserDeskCustomerMerge(t *testing.T) {
	ctx := browser(t)
	base := serveApp(t, app)
	var err error
	keep, _, _ := customerWithHistory(t, "Jordi Puig")
	gone, goneAddr, _ := customerWithHistory(t, "J. Puig (work)")

	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/login?next=/desk/customers/%d", base, keep)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "supervisor@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("merge-from")),
		chromedp.SendKeys(chromedp.ID("merge-from"), goneAddr),
		chromedp.Click(chromedp.CSS(`.merge button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("merge-confirm-h")),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "desk-customer-merge")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.merge-do button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("flash")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flash, fmt.Sprintf("Customer %d was merged", gone)) || count(t, `SELECT count(*) FROM customers WHERE id = ? AND merged_into_id = ?`, gone, keep) != 1 {
		t.Errorf("after the merge: %q", flash)
	}
}
