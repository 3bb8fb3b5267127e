package tickets_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestAnalyticsRetentionAndEquity(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	db.Exec(`DELETE FROM purchases`)
	db.Exec(`DELETE FROM customer_scores`)
	p1, _ := makeCustomer(t, "an1", 400)
	p2, _ := makeCustomer(t, "an2", 400)
	p3, _ := makeCustomer(t, "an3", 400)
	p4, _ := makeCustomer(t, "an4", 10)
	bought(t, p1, 100, 100, 10)
	bought(t, p2, 100, 200)
	bought(t, p3, 100, 380) // active when the period starts, lapsed by its end
	bought(t, p4, 100, 5)   // acquired during the period
	if _, err := desk.RecomputeAll(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a, err := tickets.NewCustomers(db).Analytics(ctx, now.Add(-30*24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	// S = {1, 2, 3}, E = {1, 2, 4}, N = {4}: retention (3 − 1) / 3.
	if a.ActiveAtStart != 3 || a.ActiveAtEnd != 3 || a.Acquired != 1 || a.RetentionRate == nil ||
		math.Abs(*a.RetentionRate-2.0/3) > 1e-9 || math.Abs(*a.ChurnRate-1.0/3) > 1e-9 {
		t.Errorf("analytics = %+v", a)
	}
	// Equity: 12-month spend 200 + 100 + 0 + 100 = 400 → 400 × 0.642857 = 257.14, give or take
	// rounding per customer (128.57 + 64.29 + 0 + 64.29).
	if math.Abs(a.CustomerEquity-257.15) > 0.011 {
		t.Errorf("equity = %.2f", a.CustomerEquity)
	}
	var total int64
	for _, n := range a.Tiers {
		total += n
	}
	if total < 4 || len(a.Tiers) != 5 {
		t.Errorf("tiers = %v", a.Tiers)
	}
	if _, err := tickets.NewCustomers(db).Analytics(ctx, now, now.Add(-time.Hour)); fieldOf(t, err) != "to" {
		t.Errorf("inverted period: %v", err)
	}
}

func TestRescoreChangedFollowsTheEventLog(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	customers := tickets.NewCustomers(db)
	tk := newTicket(t, desk, email("rescore"))
	if _, err := customers.ScoresOf(ctx, tk.CustomerID); err != tickets.ErrNotFound {
		t.Fatalf("scores before the job: %v", err)
	}
	n, err := desk.RescoreChanged(ctx)
	if err != nil || n == 0 {
		t.Fatalf("rescored %d, %v", n, err)
	}
	s, err := customers.ScoresOf(ctx, tk.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	// One open ticket from today: support 20 − 5 − 2.
	if s.Explanation.Loyalty.SupportPoints != 13 || s.SupportPoints != 13 {
		t.Errorf("support points %+v", s.Explanation.Loyalty)
	}
}
