package tickets_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestUpdateCustomerAndIdentities(t *testing.T) {
	ctx := context.Background()
	customers := tickets.NewCustomers(db)
	id, _ := makeCustomer(t, "upd", 0)
	other, otherMail := makeCustomer(t, "upd-other", 0)
	partner := tickets.KindPartner
	name, org, notes := "  Rocío  Jiménez ", "Acme Iberia", "Prefers phone calls."
	rec, err := customers.Update(ctx, tickets.StaffActor(0), id, tickets.CustomerChange{
		Name: &name, Kind: &partner, Organization: &org, Notes: &notes,
		ExternalID: tickets.OptionalString{Set: true, Value: "CRM-" + email("x")},
		Attributes: map[string]any{"plan": "gold", "seats": 12},
	})
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]any
	json.Unmarshal(rec.Attributes, &attrs)
	if rec.Name != "Rocío Jiménez" || rec.Kind != tickets.KindPartner || rec.Organization != org || rec.Notes != notes || attrs["plan"] != "gold" || rec.ExternalID == nil {
		t.Errorf("record = %+v", rec.Customer)
	}
	bad := tickets.CustomerKind("friend")
	if _, err := customers.Update(ctx, tickets.SystemActor, id, tickets.CustomerChange{Kind: &bad}); fieldOf(t, err) != "kind" {
		t.Errorf("bad kind: %v", err)
	}
	var conflict *tickets.ConflictError
	if _, err := customers.Update(ctx, tickets.SystemActor, other, tickets.CustomerChange{ExternalID: tickets.OptionalString{Set: true, Value: *rec.ExternalID}}); !errors.As(err, &conflict) {
		t.Errorf("taken external id: %v", err)
	}

	if _, err := customers.AddIdentity(ctx, tickets.SystemActor, id, "phone", "+34 611 22 33 44"); err != nil {
		t.Fatal(err)
	}
	if _, err := customers.AddIdentity(ctx, tickets.SystemActor, id, "email", otherMail); !errors.As(err, &conflict) {
		t.Errorf("someone else's address: %v", err)
	}
	if _, err := customers.AddIdentity(ctx, tickets.SystemActor, id, "fax", "123"); fieldOf(t, err) != "kind" {
		t.Errorf("bad kind: %v", err)
	}
	rec, _ = customers.Get(ctx, id)
	if len(rec.Identities) != 2 || rec.Identities[1].Value != "+34611223344" {
		t.Errorf("identities = %+v", rec.Identities)
	}
}

func TestMergeCustomers(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	customers := tickets.NewCustomers(db)
	keep, keepMail := makeCustomer(t, "keep", 10)
	gone, goneMail := makeCustomer(t, "gone", 400)
	db.Exec(`UPDATE customers SET name = '', organization = 'Acme', notes = 'VIP at the old shop', external_id = ?, attributes = '{"plan":"gold","lang":"es"}' WHERE id = ?`, "OLD-"+goneMail, gone)
	db.Exec(`UPDATE customers SET attributes = '{"plan":"silver"}' WHERE id = ?`, keep)
	tk1 := newTicket(t, desk, goneMail)
	newTicket(t, desk, keepMail)
	bought(t, gone, 250, 30)

	if _, err := desk.Merge(ctx, tickets.StaffActor(0), keep, gone); err != nil {
		t.Fatal(err)
	}
	rec, err := customers.Get(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]any
	json.Unmarshal(rec.Attributes, &attrs)
	if rec.TicketCount != 2 || len(rec.Identities) != 2 || rec.PurchaseCount != 1 || rec.Organization != "Acme" ||
		rec.ExternalID == nil || *rec.ExternalID != "OLD-"+goneMail || attrs["plan"] != "silver" || attrs["lang"] != "es" ||
		time.Since(rec.FirstSeenAt) < 399*24*time.Hour {
		t.Errorf("merged record: tickets %d identities %d purchases %d org %q ext %v attrs %v first seen %v",
			rec.TicketCount, len(rec.Identities), rec.PurchaseCount, rec.Organization, rec.ExternalID, attrs, rec.FirstSeenAt)
	}
	if rec.Scores == nil || rec.Scores.Frequency != 1 {
		t.Errorf("the survivor's scores do not count the moved purchase: %+v", rec.Scores)
	}
	if d, _ := desk.Get(ctx, tk1.ID); d.CustomerID != keep || *d.Messages[0].AuthorCustomerID != keep {
		t.Errorf("moved ticket: customer %d, first message by %d", d.CustomerID, *d.Messages[0].AuthorCustomerID)
	}
	old, err := customers.Get(ctx, gone)
	if err != nil || old.MergedIntoID == nil || *old.MergedIntoID != keep || old.TicketCount != 0 {
		t.Errorf("the merged record: %+v %v", old, err)
	}
	// Mail from the old address now lands on the survivor.
	if id, _ := customers.FindByEmail(ctx, goneMail); id != keep {
		t.Errorf("old address resolves to %d", id)
	}
	var data struct {
		Tickets, Identities, Purchases []int64
	}
	var raw string
	db.Raw(`SELECT data::text FROM events WHERE customer_id = ? AND type = 'customer.merged'`, gone).Scan(&raw)
	json.Unmarshal([]byte(raw), &data)
	if !slices.Contains(data.Tickets, tk1.ID) || len(data.Identities) != 1 || len(data.Purchases) != 1 {
		t.Errorf("merge event does not list what moved: %s", raw)
	}
	// Merging again, or into itself, or a merged record: refused.
	var conflict *tickets.ConflictError
	if _, err := desk.Merge(ctx, tickets.SystemActor, keep, gone); !errors.As(err, &conflict) {
		t.Errorf("merging a merged record: %v", err)
	}
	if _, err := desk.Merge(ctx, tickets.SystemActor, keep, keep); fieldOf(t, err) != "from" {
		t.Errorf("self merge: %v", err)
	}
	if _, err := desk.Merge(ctx, tickets.SystemActor, keep, 1<<40); fieldOf(t, err) != "from" {
		t.Errorf("unknown from: %v", err)
	}
	if _, err := tickets.NewPurchases(desk).Add(ctx, tickets.SystemActor, gone, tickets.NewPurchase{ExternalID: "z" + goneMail, Amount: "1", Currency: "EUR", PurchasedAt: time.Now().UTC().Format(time.RFC3339)}); !errors.As(err, &conflict) {
		t.Errorf("purchase for a merged customer: %v", err)
	}
}
