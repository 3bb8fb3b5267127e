package tickets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestAddPurchase(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	purchases := tickets.NewPurchases(desk)
	id, _ := makeCustomer(t, "buyer", 10)
	when := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	p, err := purchases.Add(ctx, tickets.SystemActor, id, tickets.NewPurchase{ExternalID: "A-" + fmt.Sprint(unique.Add(1)), Amount: "123.4", Currency: "eur", PurchasedAt: when})
	if err != nil {
		t.Fatal(err)
	}
	if p.Amount != "123.40" || p.Currency != "EUR" || p.CustomerID != id {
		t.Errorf("purchase = %+v", p)
	}
	// The purchase reaches the scores at once.
	s, err := tickets.NewCustomers(db).ScoresOf(ctx, id)
	if err != nil || s.Frequency != 1 || s.Monetary != 123.4 || *s.RecencyDays != 2 {
		t.Errorf("scores after a purchase: %+v %v", s, err)
	}
	var conflict *tickets.ConflictError
	if _, err := purchases.Add(ctx, tickets.SystemActor, id, tickets.NewPurchase{ExternalID: p.ExternalID, Amount: "1", Currency: "EUR", PurchasedAt: when}); !errors.As(err, &conflict) {
		t.Errorf("duplicate external id: %v", err)
	}
	if _, err := purchases.Add(ctx, tickets.SystemActor, 1<<40, tickets.NewPurchase{ExternalID: "x-" + fmt.Sprint(unique.Add(1)), Amount: "1", Currency: "EUR", PurchasedAt: when}); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("unknown customer: %v", err)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		p     tickets.NewPurchase
		field string
	}{
		{tickets.NewPurchase{Amount: "1", Currency: "EUR", PurchasedAt: when}, "external_id"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "-5", Currency: "EUR", PurchasedAt: when}, "amount"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "12,50", Currency: "EUR", PurchasedAt: when}, "amount"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "1e9", Currency: "EUR", PurchasedAt: when}, "amount"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "5000000000", Currency: "EUR", PurchasedAt: when}, "amount"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "1.005", Currency: "EUR", PurchasedAt: when}, "amount"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "1", Currency: "EURO", PurchasedAt: when}, "currency"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "1", Currency: "XQZ", PurchasedAt: when}, "currency"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "1", Currency: "USD", PurchasedAt: when}, "currency"}, // no rate set
		{tickets.NewPurchase{ExternalID: "x", Amount: "1", Currency: "EUR", PurchasedAt: future}, "purchased_at"},
		{tickets.NewPurchase{ExternalID: "x", Amount: "1", Currency: "EUR", PurchasedAt: "yesterday"}, "purchased_at"},
	} {
		if _, err := purchases.Add(ctx, tickets.SystemActor, id, c.p); fieldOf(t, err) != c.field {
			t.Errorf("%+v: %v, want an error on %s", c.p, err, c.field)
		}
	}
}

func importCSV(t *testing.T, purchases *tickets.Purchases, csv string, skip bool) (*tickets.ImportResult, error) {
	t.Helper()
	return purchases.Import(context.Background(), tickets.SystemActor, strings.NewReader(csv), skip)
}

func TestImportPurchases(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	purchases := tickets.NewPurchases(desk)
	a, aMail := makeCustomer(t, "imp-a", 100)
	b, _ := makeCustomer(t, "imp-b", 100)
	ext := fmt.Sprintf("shop-%d", unique.Add(1))
	db.Exec(`UPDATE customers SET external_id = ? WHERE id = ?`, ext, b)
	n := unique.Add(1)
	when := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)

	good := fmt.Sprintf("customer_email,external_id,amount,currency,purchased_at\n%s,O%d-1,10.00,EUR,%s\n%s,O%d-2,\"1,5\",EUR,%s\n", strings.ToUpper(aMail), n, when, aMail, n, when)
	// "1,5" is quoted, so CSV reads one field with a comma: an amount the check refuses.
	res, err := importCSV(t, purchases, good, false)
	if !errors.Is(err, tickets.ErrImportRejected) || res.Imported != 0 || len(res.Errors) != 1 || res.Errors[0].Line != 3 || res.Errors[0].Field != "amount" {
		t.Fatalf("file with a bad row: %+v %v", res, err)
	}
	var count int64
	db.Raw(`SELECT count(*) FROM purchases WHERE customer_id = ?`, a).Scan(&count)
	if count != 0 {
		t.Fatalf("a rejected file imported %d rows", count)
	}
	// Told to skip bad rows, the good one goes in and the bad one is still reported.
	res, err = importCSV(t, purchases, good, true)
	if err != nil || res.Imported != 1 || len(res.Errors) != 1 || res.Customers != 1 {
		t.Fatalf("skipping: %+v %v", res, err)
	}
	// The same file again: nothing new.
	res, err = importCSV(t, purchases, good, true)
	if err != nil || res.Imported != 0 || res.Duplicates != 1 {
		t.Errorf("re-import: %+v %v", res, err)
	}
	// By the customer's external id.
	byID := fmt.Sprintf("customer_external_id,external_id,amount,currency,purchased_at\n%s,O%d-3,99.99,EUR,%s\n", ext, n, when)
	if res, err := importCSV(t, purchases, byID, false); err != nil || res.Imported != 1 {
		t.Errorf("by external id: %+v %v", res, err)
	}
	if s, err := tickets.NewCustomers(db).ScoresOf(context.Background(), b); err != nil || s.Frequency != 1 {
		t.Errorf("b's scores after import: %+v %v", s, err)
	}
}

func TestImportReportsEveryBadRow(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	purchases := tickets.NewPurchases(desk)
	_, aMail := makeCustomer(t, "imp-bad", 100)
	other, _ := makeCustomer(t, "imp-other", 100)
	n := unique.Add(1)
	taken := fmt.Sprintf("T%d", n)
	db.Exec(`INSERT INTO purchases (customer_id, external_id, amount, currency, purchased_at) VALUES (?, ?, 1, 'EUR', now())`, other, taken)
	when := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	rows := []string{
		"customer_email,external_id,amount,currency,purchased_at",
		fmt.Sprintf("%s,B%d-1,-3,EUR,%s", aMail, n, when),                // 2 negative
		fmt.Sprintf("%s,B%d-2,10,ZZZ,%s", aMail, n, when),                // 3 unknown currency
		fmt.Sprintf("%s,B%d-3,10,EUR,%s", aMail, n, future),              // 4 future
		fmt.Sprintf("nobody.%d@example.com,B%d-4,10,EUR,%s", n, n, when), // 5 unknown customer
		fmt.Sprintf("%s,B%d-5,10,EUR,%s", aMail, n, when),                // 6 good
		fmt.Sprintf("%s,B%d-5,10,EUR,%s", aMail, n, when),                // 7 repeats line 6
		fmt.Sprintf("%s,%s,10,EUR,%s", aMail, taken, when),               // 8 someone else's order
		fmt.Sprintf("%s,B%d-6,10,EUR", aMail, n),                         // 9 missing a field
		fmt.Sprintf("not-an-email,B%d-7,10,EUR,%s", n, when),             // 10 bad email
		fmt.Sprintf("%s,B%d-8,abc,EUR,%s", aMail, n, when),               // 11 not a number
		"\xff\xfe,B-9,10,EUR," + when,                                    // 12 bad encoding
	}
	res, err := importCSV(t, purchases, strings.Join(rows, "\n")+"\n", false)
	if !errors.Is(err, tickets.ErrImportRejected) {
		t.Fatalf("err = %v", err)
	}
	want := map[int]string{2: "amount", 3: "currency", 4: "purchased_at", 5: "customer_email", 7: "external_id", 8: "external_id", 9: "", 10: "customer_email", 11: "amount", 12: "customer_email"}
	got := map[int]string{}
	for _, e := range res.Errors {
		got[e.Line] = e.Field
		if e.Message == "" {
			t.Errorf("line %d has no message", e.Line)
		}
	}
	for line, field := range want {
		if f, ok := got[line]; !ok || f != field {
			t.Errorf("line %d: reported %q (%v), want an error on %q", line, f, ok, field)
		}
	}
	if _, ok := got[6]; ok || res.Imported != 0 {
		t.Errorf("line 6 is good; imported %d", res.Imported)
	}
}

func TestImportRefusesBrokenFiles(t *testing.T) {
	purchases := tickets.NewPurchases(tickets.NewDesk(db, tickets.Limits{}))
	for name, file := range map[string]string{
		"empty":          "",
		"unknown column": "customer_email,order,amount,currency,purchased_at\n",
		"missing column": "customer_email,external_id,amount,purchased_at\n",
		"both keys":      "customer_email,customer_external_id,external_id,amount,currency,purchased_at\n",
		"no key":         "external_id,amount,currency,purchased_at\n",
		"twice":          "customer_email,external_id,amount,amount,currency,purchased_at\n",
		"broken quote":   "customer_email,external_id,amount,currency,purchased_at\na@example.com,\"X-1,10,EUR,2026-01-01T00:00:00Z\n",
	} {
		res, err := importCSV(t, purchases, file, true)
		if !errors.Is(err, tickets.ErrImportRejected) || len(res.Errors) == 0 {
			t.Errorf("%s: %+v %v", name, res, err)
		}
	}
}
