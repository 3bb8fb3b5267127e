package tickets_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// routingTeam makes a team of agents with the given routing settings, taking category cat.
func routingTeam(t *testing.T, cat string, agents ...tickets.UserChange) (*tickets.Team, []*tickets.User) {
	t.Helper()
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	var users []*tickets.User
	for _, change := range agents {
		u := newAgent(t, tickets.RoleAgent)
		u, err := staff.UpdateUser(ctx, tickets.SystemActor, u.ID, change)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	team := newTeam(t, users...)
	if _, err := staff.UpdateTeam(ctx, tickets.SystemActor, team.ID, nil, &[]string{cat}); err != nil {
		t.Fatal(err)
	}
	return team, users
}

func capacity(n int) *int { return &n }
func yes() *bool          { b := true; return &b }
func no() *bool           { b := false; return &b }

// customerWithTier files nothing; it makes the customer of addr exist with a tier.
func customerWithTier(t *testing.T, desk *tickets.Desk, addr string, tier tickets.Tier) {
	t.Helper()
	newTicket(t, desk, addr)
	setTier(t, addr, tier)
	// Close it so it does not count against anyone.
	db.Exec(`UPDATE tickets SET status = 'closed', assignee_id = NULL WHERE customer_id = (SELECT customer_id FROM customer_identities WHERE value = ?)`, addr)
}

func intakeIn(t *testing.T, desk *tickets.Desk, addr, category string, urgency tickets.Level) *tickets.Ticket {
	t.Helper()
	tk, err := desk.Intake(context.Background(), tickets.NewTicket{
		Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: addr}, Subject: "Help", Body: "Please help",
		Category: category, Urgency: urgency,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func assignmentReason(t *testing.T, ticketID int64) string {
	t.Helper()
	var reason string
	db.Raw(`SELECT data->>'reason' FROM events WHERE ticket_id = ? AND type = 'ticket.assignee_changed' ORDER BY id DESC LIMIT 1`, ticketID).Scan(&reason)
	return reason
}

func TestVIPTicketIsRaisedAndGoesToAVIPAgent(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	cat := fmt.Sprintf("billing-%d", unique.Add(1))
	_, agents := routingTeam(t, cat,
		tickets.UserChange{MaxActiveTickets: capacity(10)},
		tickets.UserChange{MaxActiveTickets: capacity(10), HandlesVIP: yes()},
	)
	vip := email("vip")
	customerWithTier(t, desk, vip, tickets.TierVIP)

	tk := intakeIn(t, desk, vip, cat, tickets.Normal)
	if tk.Priority != tickets.High || tk.Urgency != tickets.Normal {
		t.Errorf("urgency %s priority %s, want normal raised to high", tk.Urgency, tk.Priority)
	}
	if tk.AssigneeID == nil || *tk.AssigneeID != agents[1].ID {
		t.Fatalf("assignee %v, want the VIP agent %d", tk.AssigneeID, agents[1].ID)
	}
	if r := assignmentReason(t, tk.ID); !strings.Contains(r, "may serve VIP customers") || !strings.Contains(r, "least loaded") {
		t.Errorf("reason = %q", r)
	}
	var why string
	db.Raw(`SELECT data->>'priority_reason' FROM events WHERE ticket_id = ? AND type = 'ticket.created'`, tk.ID).Scan(&why)
	if why != "vip customer: normal urgency raised to high" {
		t.Errorf("priority reason = %q", why)
	}

	// An ordinary customer's ticket can go to either; with the VIP agent busier, the other.
	plain := intakeIn(t, desk, email("plain"), cat, tickets.Normal)
	if plain.Priority != tickets.Normal || plain.AssigneeID == nil || *plain.AssigneeID != agents[0].ID {
		t.Errorf("plain ticket: priority %s assignee %v", plain.Priority, plain.AssigneeID)
	}
}

func TestLoyalRaisesOnlyHighUrgency(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	loyal := email("loyal")
	customerWithTier(t, desk, loyal, tickets.TierLoyal)
	cases := map[tickets.Level]tickets.Level{tickets.Low: tickets.Low, tickets.Normal: tickets.Normal, tickets.High: tickets.Urgent, tickets.Urgent: tickets.Urgent}
	for urgency, want := range cases {
		if tk := intakeIn(t, desk, loyal, "", urgency); tk.Priority != want {
			t.Errorf("loyal %s: priority %s, want %s", urgency, tk.Priority, want)
		}
	}
}

func TestLeastLoadedThenRoundRobin(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	cat := fmt.Sprintf("tech-%d", unique.Add(1))
	_, agents := routingTeam(t, cat,
		tickets.UserChange{MaxActiveTickets: capacity(10)},
		tickets.UserChange{MaxActiveTickets: capacity(10)},
		tickets.UserChange{MaxActiveTickets: capacity(10)},
	)
	var got []int64
	for range 6 {
		got = append(got, *intakeIn(t, desk, email("rr"), cat, tickets.Normal).AssigneeID)
	}
	// Equal loads: each agent in turn, then again.
	want := []int64{agents[0].ID, agents[1].ID, agents[2].ID, agents[0].ID, agents[1].ID, agents[2].ID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("assignees %v, want %v", got, want)
	}
	// Solving two of agent 0's... rather: solve one of agent 2's tickets; agent 2 is now least loaded.
	var t2 int64
	db.Raw(`SELECT id FROM tickets WHERE assignee_id = ? ORDER BY id LIMIT 1`, agents[2].ID).Scan(&t2)
	solved := tickets.StatusSolved
	if _, err := desk.Update(context.Background(), t2, tickets.StaffActor(agents[2].ID), tickets.TicketChange{Status: &solved}); err != nil {
		t.Fatal(err)
	}
	if next := intakeIn(t, desk, email("rr"), cat, tickets.Normal); *next.AssigneeID != agents[2].ID {
		t.Errorf("next went to %d, want the least loaded %d", *next.AssigneeID, agents[2].ID)
	}
}

func TestSkillsAndAvailability(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	ctx := context.Background()
	cat := fmt.Sprintf("accounts-%d", unique.Add(1))
	_, agents := routingTeam(t, cat,
		tickets.UserChange{Languages: &[]string{"en"}},
		tickets.UserChange{Languages: &[]string{"es", "en"}},
		tickets.UserChange{Languages: &[]string{"es"}, Available: no()},
	)
	tk, err := desk.Intake(ctx, tickets.NewTicket{
		Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("es")}, Subject: "Ayuda", Body: "No puedo entrar",
		Category: cat, Language: "es-MX",
	})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Language != "es" || tk.AssigneeID == nil || *tk.AssigneeID != agents[1].ID {
		t.Errorf("language %q assignee %v, want es and the available Spanish speaker %d", tk.Language, tk.AssigneeID, agents[1].ID)
	}
	if r := assignmentReason(t, tk.ID); !strings.Contains(r, "speaks es") {
		t.Errorf("reason = %q", r)
	}
	for _, bad := range []tickets.NewTicket{
		{Category: "no such category"},
		{Language: "klingon!"},
	} {
		bad.Channel, bad.Customer, bad.Subject, bad.Body = tickets.ChannelWeb, tickets.CustomerContact{Email: email("bad")}, "s", "b"
		if _, err := desk.Intake(ctx, bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

// A ticket nobody can take waits in the team's queue and goes to the first agent who frees up.
func TestQueueWhenEveryoneIsFull(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	ctx := context.Background()
	cat := fmt.Sprintf("returns-%d", unique.Add(1))
	_, agents := routingTeam(t, cat, tickets.UserChange{MaxActiveTickets: capacity(1)})
	first := intakeIn(t, desk, email("q"), cat, tickets.Normal)
	waiting := intakeIn(t, desk, email("q"), cat, tickets.Low)
	urgent := intakeIn(t, desk, email("q"), cat, tickets.Urgent)
	if first.AssigneeID == nil || waiting.AssigneeID != nil || urgent.AssigneeID != nil || waiting.TeamID == nil {
		t.Fatalf("first %v, waiting %v (team %v), urgent %v", first.AssigneeID, waiting.AssigneeID, waiting.TeamID, urgent.AssigneeID)
	}
	// Solving the first ticket frees the agent, who takes the most urgent waiting one at once.
	solved := tickets.StatusSolved
	if _, err := desk.Update(ctx, first.ID, tickets.StaffActor(agents[0].ID), tickets.TicketChange{Status: &solved}); err != nil {
		t.Fatal(err)
	}
	u, _ := desk.Get(ctx, urgent.ID)
	w, _ := desk.Get(ctx, waiting.ID)
	if u.AssigneeID == nil || *u.AssigneeID != agents[0].ID || w.AssigneeID != nil {
		t.Fatalf("after freeing up: urgent %v, low %v", u.AssigneeID, w.AssigneeID)
	}
	if r := assignmentReason(t, urgent.ID); !strings.Contains(r, "picked up from the") {
		t.Errorf("reason = %q", r)
	}
	// More capacity, then the sweep hands out the rest.
	if _, err := tickets.NewStaff(db).UpdateUser(ctx, tickets.SystemActor, agents[0].ID, tickets.UserChange{MaxActiveTickets: capacity(5)}); err != nil {
		t.Fatal(err)
	}
	if n, err := desk.AssignQueued(ctx, agents[0].ID); err != nil || n != 1 {
		t.Errorf("assign queued: %d %v", n, err)
	}
	if w, _ := desk.Get(ctx, waiting.ID); w.AssigneeID == nil {
		t.Error("the low-urgency ticket is still waiting")
	}
}

// Tickets arriving together never push an agent past their capacity.
func TestConcurrentIntakeRespectsCapacity(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	cat := fmt.Sprintf("rush-%d", unique.Add(1))
	_, agents := routingTeam(t, cat, tickets.UserChange{MaxActiveTickets: capacity(3)}, tickets.UserChange{MaxActiveTickets: capacity(3)})
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := desk.Intake(context.Background(), tickets.NewTicket{
				Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("rush")}, Subject: "s", Body: "b", Category: cat,
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, a := range agents {
		var n int64
		db.Raw(`SELECT count(*) FROM tickets WHERE assignee_id = ?`, a.ID).Scan(&n)
		if n != 3 {
			t.Errorf("agent %d has %d tickets, want 3 (capacity)", a.ID, n)
		}
	}
	var queued int64
	db.Raw(`SELECT count(*) FROM tickets WHERE category = ? AND assignee_id IS NULL`, cat).Scan(&queued)
	if queued != 6 {
		t.Errorf("queued = %d, want 6", queued)
	}
}

func TestNoTeamMeansUnassigned(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	tk := intakeIn(t, desk, email("noteam"), "", tickets.Normal)
	if tk.TeamID != nil || tk.AssigneeID != nil {
		t.Errorf("team %v assignee %v", tk.TeamID, tk.AssigneeID)
	}
}

// setTier gives the customer of addr a scored tier without purchases behind it, for tests about
// what a tier does rather than how it is computed.
func setTier(t *testing.T, addr string, tier tickets.Tier) {
	t.Helper()
	err := db.Exec(`INSERT INTO customer_scores (customer_id, run_id, frequency, monetary, purchases_total, r_score, f_score, m_score,
			clv, tenure_days, tenure_points, rfm_points, support_points, open_tickets, recent_tickets, loyalty, churn_risk, tier, computed_at)
		SELECT customer_id, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 20, 0, 0, 20, 'low', ?, now()
		FROM customer_identities WHERE value = ?
		ON CONFLICT (customer_id) DO UPDATE SET tier = excluded.tier`, tier, addr).Error
	if err != nil {
		t.Fatal(err)
	}
}
