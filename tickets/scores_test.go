package tickets_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// makeCustomer inserts a customer first seen some days ago, with an email identity.
func makeCustomer(t *testing.T, name string, firstSeenDaysAgo int) (int64, string) {
	t.Helper()
	addr := email(name)
	var id int64
	if err := db.Raw(`INSERT INTO customers (name, first_seen_at) VALUES (?, now() - make_interval(days => ?)) RETURNING id`, name, firstSeenDaysAgo).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO customer_identities (customer_id, kind, value) VALUES (?, 'email', ?)`, id, addr).Error; err != nil {
		t.Fatal(err)
	}
	return id, addr
}

// bought records purchases of amount each, the given numbers of days ago (and an hour, so that
// whole days are counted the same way whenever the test runs).
func bought(t *testing.T, customerID int64, amount float64, daysAgo ...int) {
	t.Helper()
	for _, d := range daysAgo {
		if err := db.Exec(`INSERT INTO purchases (customer_id, external_id, amount, currency, purchased_at)
			VALUES (?, ?, ?, 'EUR', now() - make_interval(days => ?) - interval '1 hour')`,
			customerID, fmt.Sprintf("order-%d", unique.Add(1)), amount, d).Error; err != nil {
			t.Fatal(err)
		}
	}
}

type wantScores struct {
	recency            *int
	frequency          int
	monetary           float64
	r, f, m            int
	clv                float64
	loyalty            int
	tier               tickets.Tier
	churn              string
	tierReason, reason string // parts of the explanation, where checked
}

func intp(n int) *int { return &n }

func checkScores(t *testing.T, name string, customerID int64, want wantScores) *tickets.Scores {
	t.Helper()
	s, err := tickets.NewCustomers(db).ScoresOf(context.Background(), customerID)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	recency := func(p *int) string {
		if p == nil {
			return "none"
		}
		return fmt.Sprint(*p)
	}
	if recency(s.RecencyDays) != recency(want.recency) || s.Frequency != want.frequency || math.Abs(s.Monetary-want.monetary) > 0.005 ||
		s.RScore != want.r || s.FScore != want.f || s.MScore != want.m || math.Abs(s.CLV-want.clv) > 0.005 ||
		s.Loyalty != want.loyalty || s.Tier != want.tier || s.ChurnRisk != want.churn {
		t.Errorf("%s: got recency %s F %d M %.2f RFM %s CLV %.2f loyalty %d tier %s churn %s\n   want recency %s F %d M %.2f RFM %d%d%d CLV %.2f loyalty %d tier %s churn %s",
			name, recency(s.RecencyDays), s.Frequency, s.Monetary, s.RFM(), s.CLV, s.Loyalty, s.Tier, s.ChurnRisk,
			recency(want.recency), want.frequency, want.monetary, want.r, want.f, want.m, want.clv, want.loyalty, want.tier, want.churn)
	}
	ex := s.Explanation
	if ex.Tier.Value != string(want.tier) || ex.Churn.Value != want.churn || ex.CLV.Formula == "" || math.Abs(ex.CLV.Value-want.clv) > 0.005 {
		t.Errorf("%s: explanation disagrees with the scores: %+v", name, s.Explanation)
	}
	if want.tierReason != "" && ex.Tier.Reason != want.tierReason {
		t.Errorf("%s: tier reason %q, want %q", name, ex.Tier.Reason, want.tierReason)
	}
	if ex.Tier.ReasonCode == "" || ex.Churn.ReasonCode == "" {
		t.Errorf("%s: reasons without codes for other languages: %+v %+v", name, ex.Tier, ex.Churn)
	}
	if want.reason != "" && ex.Churn.Reason != want.reason {
		t.Errorf("%s: churn reason %q, want %q", name, ex.Churn.Reason, want.reason)
	}
	return s
}

// The figures below were computed by hand from the model in scores.go, with the default settings
// (margin 0.30, retention 0.75, discount 0.10, so CLV = 0.642857 × 12-month spend; VIP the top 5%;
// loyal from 70; repeat from 2 purchases; new under 90 days).
func TestScoresByHand(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	// Quintiles are across all customers: start from a ledger with only this test's purchases.
	db.Exec(`DELETE FROM purchases`)
	db.Exec(`DELETE FROM customer_scores`)
	db.Exec(`DELETE FROM settings WHERE name = 'customer_value_cutoffs'`)

	a, aMail := makeCustomer(t, "a", 730)
	b, _ := makeCustomer(t, "b", 0)
	c, cMail := makeCustomer(t, "c", 0)
	d, _ := makeCustomer(t, "d", 0)
	e, eMail := makeCustomer(t, "e", 0)
	f, _ := makeCustomer(t, "f", 0)
	g, _ := makeCustomer(t, "g", 0)
	bought(t, a, 100, 10, 40, 70, 100, 130)
	bought(t, b, 50, 20, 80, 140)
	bought(t, c, 200, 30)
	bought(t, c, 100, 200)
	bought(t, d, 40, 60)
	bought(t, e, 1000, 300)
	bought(t, f, 80, 400, 500)

	// Open tickets: A's high-urgency one, whose priority an agent lowered by hand; C's; E's
	// normal one, which E's rise to VIP must raise.
	ag := newAgent(t, tickets.RoleAgent)
	aTicket := intakeIn(t, desk, aMail, "", tickets.High)
	low := tickets.Low
	if _, err := desk.Update(ctx, aTicket.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Priority: &low}); err != nil {
		t.Fatal(err)
	}
	intakeIn(t, desk, cMail, "", tickets.Normal)
	eTicket := intakeIn(t, desk, eMail, "", tickets.Normal)
	if eTicket.Priority != tickets.Normal {
		t.Fatalf("E's ticket starts at %s", eTicket.Priority)
	}

	changes, err := desk.RecomputeAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Cut points: recency over A–F [10 20 30 60 300 400] → 20 30 60 300; frequency over A–E
	// [1 1 2 3 5] → 1 1 2 3; monetary over A–E [40 150 300 500 1000] → 40 150 300 500; VIP from
	// the 95th percentile of positive CLVs, which is E's 642.86.
	checkScores(t, "A", a, wantScores{recency: intp(10), frequency: 5, monetary: 500, r: 5, f: 5, m: 4, clv: 321.43,
		// tenure 20 + RFM 60·11/12 = 55 + support 20 − 5 (open) − 2 (recent) = 13 → 88
		loyalty: 88, tier: tickets.TierLoyal, churn: "low", tierReason: "loyalty 88 is at least 70", reason: "buying at the usual pace"})
	checkScores(t, "B", b, wantScores{recency: intp(20), frequency: 3, monetary: 150, r: 5, f: 4, m: 2, clv: 96.43,
		loyalty: 60, tier: tickets.TierRepeat, churn: "low", tierReason: "3 purchases in 12 months, at least 2"})
	checkScores(t, "C", c, wantScores{recency: intp(30), frequency: 2, monetary: 300, r: 4, f: 3, m: 3, clv: 192.86,
		loyalty: 48, tier: tickets.TierRepeat, churn: "low"})
	checkScores(t, "D", d, wantScores{recency: intp(60), frequency: 1, monetary: 40, r: 3, f: 1, m: 1, clv: 25.71,
		loyalty: 30, tier: tickets.TierNew, churn: "low", tierReason: "first purchase 60 days ago, under 90", reason: "too few purchases to know the usual interval"})
	checkScores(t, "E", e, wantScores{recency: intp(300), frequency: 1, monetary: 1000, r: 2, f: 1, m: 5, clv: 642.86,
		loyalty: 38, tier: tickets.TierVIP, churn: "low", tierReason: "CLV 642.86 is in the top 5.0% of customers (at least 642.86)"})
	checkScores(t, "F", f, wantScores{recency: intp(400), frequency: 0, monetary: 0, r: 1, f: 1, m: 1, clv: 0,
		loyalty: 20, tier: tickets.TierOccasional, churn: "high", reason: "bought before, but nothing in the last 12 months"})
	checkScores(t, "G", g, wantScores{frequency: 0, monetary: 0, r: 1, f: 1, m: 1, clv: 0,
		loyalty: 20, tier: tickets.TierNew, churn: "low", tierReason: "no purchases yet"})

	// Tiers moved on the customers, and E's open ticket followed; A's hand-set priority stayed.
	// (Customers of other tests may move too, so the counts are lower bounds.)
	if changes.Customers < 5 || changes.Priorities < 1 {
		t.Errorf("changes = %+v, want at least the tiers of A, B, C, E, F and E's priority", changes)
	}
	if d, _ := desk.Get(ctx, eTicket.ID); d.Priority != tickets.High {
		t.Errorf("E's ticket priority %s, want high now that E is VIP", d.Priority)
	}
	if d, _ := desk.Get(ctx, aTicket.ID); d.Priority != tickets.Low {
		t.Errorf("A's hand-set priority became %s", d.Priority)
	}
	var reason string
	db.Raw(`SELECT data->>'reason' FROM events WHERE ticket_id = ? AND type = 'ticket.priority_changed' AND actor_kind = 'system'`, eTicket.ID).Scan(&reason)
	if reason != "customer tier changed from new to vip" {
		t.Errorf("priority change reason %q", reason)
	}
	// A first scoring is not a move: nothing to record for E yet.
	var tierEvents int64
	db.Raw(`SELECT count(*) FROM events WHERE customer_id = ? AND type = 'customer.tier_changed'`, e).Scan(&tierEvents)
	if tierEvents != 0 {
		t.Errorf("E's tier events after the first scoring = %d", tierEvents)
	}

	// One customer scored between bulk runs lands on the same scale.
	h, _ := makeCustomer(t, "h", 0)
	bought(t, h, 10, 100, 130, 160)
	i, _ := makeCustomer(t, "i", 0)
	bought(t, i, 10, 40, 70)
	if _, err := desk.Recompute(ctx, []int64{h, i}); err != nil {
		t.Fatal(err)
	}
	checkScores(t, "H", h, wantScores{recency: intp(100), frequency: 3, monetary: 30, r: 2, f: 4, m: 1, clv: 19.29,
		loyalty: 40, tier: tickets.TierRepeat, churn: "high", reason: "100 days since the last purchase, 3.33 times the usual interval"})
	checkScores(t, "I", i, wantScores{recency: intp(40), frequency: 2, monetary: 20, r: 3, f: 3, m: 1, clv: 12.86,
		loyalty: 40, tier: tickets.TierRepeat, churn: "medium", reason: "1.33 times the usual interval"})

	// A second bulk run with nothing new moves nothing.
	again, err := desk.RecomputeAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Priorities != 0 || again.Customers != 0 {
		t.Errorf("second run moved %+v", again)
	}
	// D buys again: two purchases in 12 months make a repeat customer, a real move, recorded.
	bought(t, d, 40, 5)
	if _, err := desk.Recompute(ctx, []int64{d}); err != nil {
		t.Fatal(err)
	}
	var move struct{ Data string }
	db.Raw(`SELECT data::text AS data FROM events WHERE customer_id = ? AND type = 'customer.tier_changed'`, d).Scan(&move)
	if move.Data != `{"to": "repeat", "from": "new"}` {
		t.Errorf("D's tier event = %q", move.Data)
	}
}

// CLV follows its settings: each case sets them, scores a customer whose last 12 months of
// purchases add up to spend, and reads the CLV back.
func TestCLVSettings(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	customers := tickets.NewCustomers(db)
	defer customers.SaveSettings(ctx, tickets.SystemActor, tickets.DefaultValueSettings())
	id, _ := makeCustomer(t, "clv", 0)
	bought(t, id, 300, 10)
	bought(t, id, 100, 20)
	cases := []struct {
		margin, retention, discount, acquisition float64
		want                                     float64
	}{
		// m = 400 × margin; CLV = m·r/(1+d−r) − acquisition
		{0.30, 0.75, 0.10, 0, 257.14},  // 120·0.75/0.35
		{0.50, 0.80, 0.12, 50, 450},    // 200·0.8/0.32 − 50 = 500 − 50
		{0.25, 0.50, 0.00, 10, 90},     // 100·0.5/0.5 − 10
		{1.00, 0.90, 0.10, 0, 1800},    // 400·0.9/0.2
		{0.25, 0.60, 0.05, 100, 33.33}, // 100·0.6/0.45 − 100
		{0.10, 0.00, 0.10, 5, -5},      // nobody comes back: only the acquisition cost
	}
	for _, c := range cases {
		s := tickets.DefaultValueSettings()
		s.MarginRate, s.RetentionRate, s.DiscountRate, s.AcquisitionCost = c.margin, c.retention, c.discount, c.acquisition
		if err := customers.SaveSettings(ctx, tickets.SystemActor, s); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if _, err := desk.Recompute(ctx, []int64{id}); err != nil {
			t.Fatal(err)
		}
		got, err := customers.ScoresOf(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.CLV-c.want) > 0.005 {
			t.Errorf("%+v: CLV %.2f, want %.2f", c, got.CLV, c.want)
		}
	}
}

func TestValueSettingsValidation(t *testing.T) {
	cases := []struct {
		edit  func(*tickets.ValueSettings)
		field string
	}{
		{func(s *tickets.ValueSettings) { s.Currency = "EURO" }, "currency"},
		{func(s *tickets.ValueSettings) { s.Rates = map[string]float64{"USD": 0} }, "rates.USD"},
		{func(s *tickets.ValueSettings) { s.Rates = map[string]float64{"XYZW": 1} }, "rates.XYZW"},
		{func(s *tickets.ValueSettings) { s.RetentionRate = 1 }, "retention_rate"},
		{func(s *tickets.ValueSettings) { s.MarginRate = 0 }, "margin_rate"},
		{func(s *tickets.ValueSettings) { s.DiscountRate = -0.1 }, "discount_rate"},
		{func(s *tickets.ValueSettings) { s.AcquisitionCost = -5 }, "acquisition_cost"},
		{func(s *tickets.ValueSettings) { s.VIPShare = 1 }, "vip_share"},
		{func(s *tickets.ValueSettings) { s.LoyalMinLoyalty = 101 }, "loyal_min_loyalty"},
		{func(s *tickets.ValueSettings) { s.PriorityMatrix = map[tickets.Tier]map[string]string{"gold": {}} }, "priority_matrix.gold"},
		{func(s *tickets.ValueSettings) {
			s.PriorityMatrix = map[tickets.Tier]map[string]string{"vip": {"high": "low"}}
		}, "priority_matrix.vip.high"},
		{func(s *tickets.ValueSettings) {
			s.PriorityMatrix = map[tickets.Tier]map[string]string{"vip": {"meh": "high"}}
		}, "priority_matrix.vip.meh"},
	}
	for _, c := range cases {
		s := tickets.DefaultValueSettings()
		c.edit(&s)
		if got := fieldOf(t, s.Validate()); got != c.field {
			t.Errorf("field %q, want %q", got, c.field)
		}
	}
}

func TestPriorityMatrix(t *testing.T) {
	s := tickets.DefaultValueSettings()
	cases := []struct {
		tier    tickets.Tier
		urgency tickets.Level
		want    tickets.Level
	}{
		{tickets.TierVIP, tickets.Low, tickets.Normal},
		{tickets.TierVIP, tickets.Normal, tickets.High},
		{tickets.TierVIP, tickets.High, tickets.Urgent},
		{tickets.TierVIP, tickets.Urgent, tickets.Urgent},
		{tickets.TierLoyal, tickets.Normal, tickets.Normal},
		{tickets.TierLoyal, tickets.High, tickets.Urgent},
		{tickets.TierRepeat, tickets.High, tickets.High},
		{tickets.TierNew, tickets.Low, tickets.Low},
		{tickets.TierOccasional, tickets.Urgent, tickets.Urgent},
	}
	for _, c := range cases {
		if got := s.Priority(c.tier, c.urgency); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.tier, c.urgency, got, c.want)
		}
	}
}
