package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// customerWithHistory makes a customer with two tickets and three purchases, scored.
func customerWithHistory(t *testing.T, name string) (int64, string, []*tickets.Ticket) {
	t.Helper()
	ctx := context.Background()
	desk := testDesk()
	addr := email("cust")
	var made []*tickets.Ticket
	for _, subject := range []string{"first problem", "second problem"} {
		tk, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: addr, Name: name},
			Subject: subject, Body: "Details."})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, tk)
	}
	id := made[0].CustomerID
	for i, days := range []int{200, 90, 10} {
		_, err := tickets.NewPurchases(desk).Add(ctx, tickets.SystemActor, id, tickets.NewPurchase{
			ExternalID: fmt.Sprintf("ORD-%d-%d", id, i), Amount: fmt.Sprintf("%d.50", 100*(i+1)), Currency: "EUR",
			PurchasedAt: time.Now().AddDate(0, 0, -days).UTC().Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := desk.Recompute(ctx, []int64{id}); err != nil {
		t.Fatal(err)
	}
	return id, addr, made
}

func TestDeskCustomerPage(t *testing.T) {
	id, addr, made := customerWithHistory(t, "Lucía García")
	agent := newDeskStaff(t, tickets.RoleAgent)
	res := agent.v.get(fmt.Sprintf("/desk/customers/%d", id))
	if res.status != 200 {
		t.Fatalf("customer page: %d %s", res.status, res.body)
	}
	body := html.UnescapeString(string(res.body))
	scores, err := tickets.NewCustomers(db).ScoresOf(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	e := scores.Explanation
	for _, want := range []string{
		"Lucía García", addr, "Customer id",
		// Every score with what it is made of.
		fmt.Sprintf("<strong>%d</strong> / 100", scores.Loyalty), e.Loyalty.Rule,
		fmt.Sprintf("%.2f EUR", scores.CLV), e.CLV.Formula, "retention r = ",
		"<strong>" + scores.RFM() + "</strong>", fmt.Sprintf("%d purchases in 12 months", e.Frequency.Purchases12Months),
		e.Tier.Reason, e.Churn.Reason,
		// Purchases and tickets, each linking where it should.
		fmt.Sprintf("ORD-%d-2", id), "300.50 EUR", ticketLink(made[0].ID), ticketLink(made[1].ID),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the customer page lacks %q", want)
		}
	}
	// In Spanish, the reasons too: from their codes and figures, not the domain's English.
	req := httptest.NewRequest("GET", fmt.Sprintf("/desk/customers/%d", id), nil)
	req.Header.Set("Accept-Language", "es")
	spanish := html.UnescapeString(string(agent.v.do(req).body))
	if strings.Contains(spanish, e.Tier.Reason) || strings.Contains(spanish, e.Churn.Reason) || strings.Contains(spanish, e.Loyalty.Rule) {
		t.Errorf("the Spanish page has English reasons: %q, %q", e.Tier.Reason, e.Churn.Reason)
	}
	if !strings.Contains(spanish, "antigüedad hasta 20 puntos") || !strings.Contains(spanish, "compras en 12 meses") {
		t.Error("the Spanish page lacks the Spanish reasons")
	}

	// Most recent first: the latest purchase and ticket come before the older ones.
	if strings.Index(body, fmt.Sprintf("ORD-%d-2", id)) > strings.Index(body, fmt.Sprintf("ORD-%d-0", id)) {
		t.Error("purchases are not most recent first")
	}
	if strings.Index(body, ticketLink(made[1].ID)) > strings.Index(body, ticketLink(made[0].ID)) {
		t.Error("tickets are not most recent first")
	}
	// Agents do not get the merge form.
	if strings.Contains(body, "/merge") {
		t.Error("an agent is offered the merge")
	}
	if res := agent.v.get("/desk/customers/999999999"); res.status != 404 {
		t.Errorf("an unknown customer: %d", res.status)
	}
	if res := agent.v.get("/desk/customers/nope"); res.status != 404 {
		t.Errorf("a malformed id: %d", res.status)
	}
}

// The queue's rows link to the customer page.
func TestDeskQueueLinksCustomer(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	tk := newQueueTicket(t, ticketSpec{subject: "who is this", customer: "Ana Pérez", assignee: a.user.ID})
	body := string(a.v.get("/desk/queue").body)
	if !strings.Contains(body, fmt.Sprintf(`<a href="/desk/customers/%d">Ana Pérez</a>`, tk.CustomerID)) {
		t.Error("the row does not link its customer")
	}
}

func TestDeskCustomerMerge(t *testing.T) {
	keep, _, keepTickets := customerWithHistory(t, "Kept Person")
	gone, goneAddr, goneTickets := customerWithHistory(t, "")
	page := fmt.Sprintf("/desk/customers/%d", keep)

	// An agent can neither see, confirm nor make a merge.
	agent := newDeskStaff(t, tickets.RoleAgent)
	agent.v.get(page)
	if res := agent.v.get(page + "/merge?from=" + url.QueryEscape(goneAddr)); res.status != 403 {
		t.Errorf("an agent confirming a merge: %d", res.status)
	}
	if res := agent.v.post(page+"/merge", url.Values{"from": {fmt.Sprint(gone)}}); res.status != 403 {
		t.Errorf("an agent merging: %d", res.status)
	}
	if n := count(t, `SELECT count(*) FROM customers WHERE id = ? AND merged_into_id IS NULL`, gone); n != 1 {
		t.Fatal("an agent's request merged the customer")
	}

	sup := newDeskStaff(t, tickets.RoleSupervisor)
	body := string(sup.v.get(page).body)
	if !strings.Contains(body, `action="/desk/customers/`+fmt.Sprint(keep)+`/merge"`) {
		t.Fatal("a supervisor is not offered the merge")
	}
	// Bad choices come back next to the field, with what was typed.
	for _, bad := range []string{fmt.Sprint(keep), "nobody.here@example.com", ""} {
		res := sup.v.get(page + "/merge?from=" + url.QueryEscape(bad))
		if res.status != 422 || !strings.Contains(string(res.body), `id="merge-from-error"`) || !strings.Contains(string(res.body), `value="`+bad+`"`) {
			t.Errorf("merge from %q: %d", bad, res.status)
		}
	}

	// By email address: the confirmation shows both records and changes nothing yet.
	confirm := sup.v.get(page + "/merge?from=" + url.QueryEscape(goneAddr))
	body = string(confirm.body)
	if confirm.status != 200 || !strings.Contains(body, "Confirm the merge") || !strings.Contains(body, goneAddr) ||
		!strings.Contains(body, fmt.Sprintf(`name="from" value="%d"`, gone)) {
		t.Fatalf("confirmation: %d\n%s", confirm.status, body)
	}
	if n := count(t, `SELECT count(*) FROM customers WHERE id = ? AND merged_into_id IS NULL`, gone); n != 1 {
		t.Fatal("the confirmation step merged already")
	}
	res := sup.v.post(page+"/merge", url.Values{"from": {fmt.Sprint(gone)}})
	if res.status != 303 || res.header.Get("Location") != page {
		t.Fatalf("merge: %d to %q\n%s", res.status, res.header.Get("Location"), res.body)
	}
	if n := count(t, `SELECT count(*) FROM customers WHERE id = ? AND merged_into_id = ?`, gone, keep); n != 1 {
		t.Error("the customer was not merged")
	}
	after := string(sup.v.get(page).body)
	if !strings.Contains(after, fmt.Sprintf("Customer %d was merged into this record.", gone)) {
		t.Error("no message after the merge")
	}
	for _, tk := range append(keepTickets, goneTickets...) {
		if !strings.Contains(after, ticketLink(tk.ID)) {
			t.Errorf("ticket %d is not on the kept record", tk.ID)
		}
	}
	if !strings.Contains(after, goneAddr) {
		t.Error("the merged identity is not on the kept record")
	}
	// The merged record says where it went.
	if !strings.Contains(string(sup.v.get(fmt.Sprintf("/desk/customers/%d", gone)).body), page) {
		t.Error("the merged record does not point to the kept one")
	}
}

func TestDeskCustomerSearch(t *testing.T) {
	agent := newDeskStaff(t, tickets.RoleAgent)
	stem := fmt.Sprintf("Zoë Searchable%d", unique.Add(1))
	id, addr, _ := customerWithHistory(t, stem+" Martí")
	other, _, _ := customerWithHistory(t, stem+" Bosch")
	merged, _, _ := customerWithHistory(t, stem+" Merged")
	if _, err := testDesk().Merge(context.Background(), tickets.SystemActor, other, merged); err != nil {
		t.Fatal(err)
	}
	res := agent.v.get("/desk/customers?q=" + url.QueryEscape(strings.ToLower(stem)))
	body := string(res.body)
	if res.status != 200 || !strings.Contains(body, fmt.Sprintf(`href="/desk/customers/%d"`, id)) || !strings.Contains(body, fmt.Sprintf(`href="/desk/customers/%d"`, other)) {
		t.Fatalf("search by name: %d\n%s", res.status, body)
	}
	if strings.Contains(body, fmt.Sprintf(`href="/desk/customers/%d"`, merged)) {
		t.Error("a merged record is listed")
	}
	if !strings.Contains(body, addr) {
		t.Error("the hit does not show its address")
	}
	// % is a character to search for, not a wildcard.
	if res := agent.v.get("/desk/customers?q=" + url.QueryEscape("%earchable")); strings.Contains(string(res.body), stem) {
		t.Error("% worked as a wildcard")
	}
	for q, want := range map[string]string{addr: fmt.Sprintf("/desk/customers/%d", id), fmt.Sprint(id): fmt.Sprintf("/desk/customers/%d", id)} {
		if res := agent.v.get("/desk/customers?q=" + url.QueryEscape(q)); res.status != 303 || res.header.Get("Location") != want {
			t.Errorf("search %q: %d to %q", q, res.status, res.header.Get("Location"))
		}
	}
	if res := agent.v.get("/desk/customers?q=" + url.QueryEscape("ana@")); res.status != 422 || !strings.Contains(string(res.body), `id="customer-q-error"`) {
		t.Errorf("a broken address: %d", res.status)
	}
	if res := agent.v.get("/desk/customers?q=" + url.QueryEscape("nobody.at.all@example.com")); res.status != 200 || !strings.Contains(string(res.body), "No customer") {
		t.Errorf("an unknown address: %d", res.status)
	}
}
