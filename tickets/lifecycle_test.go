package tickets_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestStatusTransitions(t *testing.T) {
	allowed := map[[2]tickets.Status]bool{}
	for _, p := range [][2]tickets.Status{
		{"new", "open"}, {"new", "pending"}, {"new", "on-hold"}, {"new", "solved"},
		{"open", "pending"}, {"open", "on-hold"}, {"open", "solved"},
		{"pending", "open"}, {"pending", "on-hold"}, {"pending", "solved"},
		{"on-hold", "open"}, {"on-hold", "pending"}, {"on-hold", "solved"},
		{"solved", "open"}, {"solved", "closed"},
	} {
		allowed[p] = true
	}
	for _, from := range tickets.Statuses {
		for _, to := range tickets.Statuses {
			if got := from.CanBecome(to); got != allowed[[2]tickets.Status{from, to}] {
				t.Errorf("%s -> %s: CanBecome = %v", from, to, got)
			}
		}
	}
	if _, err := tickets.ParseStatus("onhold"); err == nil {
		t.Error("ParseStatus accepted onhold")
	}
}

func TestUpdateWalksTheLifecycleAndRecordsEachChange(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ag := newAgent(t, tickets.RoleAgent)
	tk := newTicket(t, desk, email("life"))
	actor := tickets.StaffActor(ag.ID)
	status := func(s tickets.Status) tickets.TicketChange { return tickets.TicketChange{Status: &s} }

	for _, step := range []tickets.Status{"open", "pending", "solved"} {
		got, err := desk.Update(ctx, tk.ID, actor, status(step))
		if err != nil {
			t.Fatalf("-> %s: %v", step, err)
		}
		tk = got
	}
	if tk.SolvedAt == nil || tk.ClosedAt != nil {
		t.Fatalf("solved ticket: solved_at %v closed_at %v", tk.SolvedAt, tk.ClosedAt)
	}
	solvedAt := *tk.SolvedAt

	// A note on a solved ticket changes nothing about when it was solved.
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: ag.ID, Body: "Customer called to say thanks"}); err != nil {
		t.Fatal(err)
	}
	d, _ := desk.Get(ctx, tk.ID)
	if d.Status != tickets.StatusSolved || !d.SolvedAt.Equal(solvedAt) {
		t.Errorf("after note: %s solved_at %v, want solved at %v", d.Status, d.SolvedAt, solvedAt)
	}

	if _, err := desk.Update(ctx, tk.ID, actor, status("new")); fieldOf(t, err) != "status" {
		t.Errorf("solved -> new: %v", err)
	}
	tk, err := desk.Update(ctx, tk.ID, actor, status("closed"))
	if err != nil {
		t.Fatal(err)
	}
	if tk.ClosedAt == nil || tk.SolvedAt == nil {
		t.Errorf("closed ticket: %+v", tk)
	}
	if _, err := desk.Update(ctx, tk.ID, actor, status("open")); fieldOf(t, err) != "status" {
		t.Errorf("closed -> open: %v", err)
	}

	var changes []struct{ Data string }
	db.Raw(`SELECT data::text AS data FROM events WHERE ticket_id = ? AND type = ? ORDER BY id`, tk.ID, tickets.EventStatusChanged).Scan(&changes)
	want := []string{`{"to": "open", "from": "new"}`, `{"to": "pending", "from": "open"}`, `{"to": "solved", "from": "pending"}`, `{"to": "closed", "from": "solved"}`}
	if len(changes) != len(want) {
		t.Fatalf("status events = %v", changes)
	}
	for i, c := range changes {
		if c.Data != want[i] {
			t.Errorf("event %d = %s, want %s", i, c.Data, want[i])
		}
	}
	var actors int64
	db.Raw(`SELECT count(*) FROM events WHERE ticket_id = ? AND type = ? AND actor_user_id = ?`, tk.ID, tickets.EventStatusChanged, ag.ID).Scan(&actors)
	if actors != 4 {
		t.Errorf("events by the agent = %d, want 4", actors)
	}
}

func TestRepliesAndCustomerMessagesMoveTheStatus(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ag := newAgent(t, tickets.RoleAgent)
	tk := newTicket(t, desk, email("reply"))

	// An agent's first reply opens a new ticket.
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "Try resetting your password."}); err != nil {
		t.Fatal(err)
	}
	if d, _ := desk.Get(ctx, tk.ID); d.Status != tickets.StatusOpen {
		t.Errorf("after first reply: %s, want open", d.Status)
	}
	// Reply and set pending in one go.
	pending := tickets.StatusPending
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "Did it work?", Status: &pending}); err != nil {
		t.Fatal(err)
	}
	// The customer answering puts it back to open.
	if _, err := desk.AddCustomerMessage(ctx, tk.ID, tickets.CustomerMessage{CustomerID: tk.CustomerID, Body: "No, still broken."}); err != nil {
		t.Fatal(err)
	}
	d, _ := desk.Get(ctx, tk.ID)
	if d.Status != tickets.StatusOpen {
		t.Errorf("after customer answer: %s, want open", d.Status)
	}
	kinds := []tickets.MessageKind{}
	for _, m := range d.Messages {
		kinds = append(kinds, m.Kind)
	}
	if !slices.Equal(kinds, []tickets.MessageKind{"inbound", "reply", "reply", "inbound"}) {
		t.Errorf("conversation = %v", kinds)
	}

	// Solved, then the customer writes again: reopened, solved_at cleared.
	solved := tickets.StatusSolved
	if _, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: &solved}); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.AddCustomerMessage(ctx, tk.ID, tickets.CustomerMessage{CustomerID: tk.CustomerID, Body: "It broke again."}); err != nil {
		t.Fatal(err)
	}
	if d, _ := desk.Get(ctx, tk.ID); d.Status != tickets.StatusOpen || d.SolvedAt != nil {
		t.Errorf("reopened: %s solved_at %v", d.Status, d.SolvedAt)
	}

	// An invalid status with a reply is refused and stores no message.
	newStatus := tickets.StatusNew
	_, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "x", Status: &newStatus})
	if fieldOf(t, err) != "status" {
		t.Errorf("reply with status new: %v", err)
	}
	if d, _ := desk.Get(ctx, tk.ID); len(d.Messages) != 5 {
		t.Errorf("messages = %d after a refused reply, want 5", len(d.Messages))
	}
}

func TestClosedTicketsRefuseReplies(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ag := newAgent(t, tickets.RoleAgent)
	tk := newTicket(t, desk, email("closed"))
	for _, s := range []tickets.Status{"solved", "closed"} {
		if _, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: &s}); err != nil {
			t.Fatal(err)
		}
	}
	var conflict *tickets.ConflictError
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "x"}); !errors.As(err, &conflict) {
		t.Errorf("reply to closed: %v", err)
	}
	if _, err := desk.AddCustomerMessage(ctx, tk.ID, tickets.CustomerMessage{CustomerID: tk.CustomerID, Body: "x"}); !errors.As(err, &conflict) {
		t.Errorf("customer message to closed: %v", err)
	}
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: ag.ID, Body: "for the record"}); err != nil {
		t.Errorf("note on closed: %v", err)
	}
	if _, err := desk.AddStaffMessage(ctx, 1<<40, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: ag.ID, Body: "x"}); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("missing ticket: %v", err)
	}
}

func TestAssigneeMustBelongToTheTeam(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ana, bo := newAgent(t, tickets.RoleAgent), newAgent(t, tickets.RoleAgent)
	billing, tech := newTeam(t, ana), newTeam(t, bo)
	actor := tickets.StaffActor(ana.ID)
	tk := newTicket(t, desk, email("assign"))

	tk, err := desk.Update(ctx, tk.ID, actor, tickets.TicketChange{TeamID: tickets.OptionalID{Set: true, ID: billing.ID}, AssigneeID: tickets.OptionalID{Set: true, ID: ana.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if *tk.TeamID != billing.ID || *tk.AssigneeID != ana.ID {
		t.Fatalf("ticket = %+v", tk)
	}
	if _, err := desk.Update(ctx, tk.ID, actor, tickets.TicketChange{AssigneeID: tickets.OptionalID{Set: true, ID: bo.ID}}); fieldOf(t, err) != "assignee_id" {
		t.Errorf("assigning outside the team: %v", err)
	}
	// Moving the ticket to a team its assignee is not in sends it to that team's queue.
	tk, err = desk.Update(ctx, tk.ID, actor, tickets.TicketChange{TeamID: tickets.OptionalID{Set: true, ID: tech.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if *tk.TeamID != tech.ID || tk.AssigneeID != nil {
		t.Errorf("after team move: team %v assignee %v", tk.TeamID, tk.AssigneeID)
	}
	// Clearing works, unknown ids are refused.
	tk, err = desk.Update(ctx, tk.ID, actor, tickets.TicketChange{TeamID: tickets.OptionalID{Set: true}})
	if err != nil || tk.TeamID != nil {
		t.Errorf("clear team: %v %v", tk, err)
	}
	if _, err := desk.Update(ctx, tk.ID, actor, tickets.TicketChange{AssigneeID: tickets.OptionalID{Set: true, ID: 1 << 40}}); fieldOf(t, err) != "assignee_id" {
		t.Errorf("unknown assignee: %v", err)
	}
	if _, err := desk.Update(ctx, tk.ID, actor, tickets.TicketChange{TeamID: tickets.OptionalID{Set: true, ID: 1 << 40}}); fieldOf(t, err) != "team_id" {
		t.Errorf("unknown team: %v", err)
	}
	if _, err := desk.Update(ctx, tk.ID, actor, tickets.TicketChange{}); fieldOf(t, err) != "body" {
		t.Errorf("empty change: %v", err)
	}
	got := eventTypes(t, tk.ID)
	want := []string{"ticket.created", "ticket.team_changed", "ticket.assignee_changed", "ticket.team_changed", "ticket.assignee_changed", "ticket.team_changed"}
	if !slices.Equal(got, want) {
		t.Errorf("events = %v\nwant %v", got, want)
	}
}

func TestPriorityAndSubjectChanges(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ag := newAgent(t, tickets.RoleAgent)
	tk := newTicket(t, desk, email("prio"))
	urgent, subject := tickets.Urgent, "  Login broken for whole team "
	tk, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Priority: &urgent, Subject: &subject})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Priority != tickets.Urgent || tk.Urgency != tickets.Normal || tk.Subject != "Login broken for whole team" {
		t.Errorf("ticket = %+v", tk)
	}
	bad := tickets.Level(7)
	if _, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Priority: &bad}); fieldOf(t, err) != "priority" {
		t.Errorf("bad priority: %v", err)
	}
	if !slices.Contains(eventTypes(t, tk.ID), tickets.EventPriorityChanged) {
		t.Error("no priority event")
	}
}

func TestListFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ag := newAgent(t, tickets.RoleAgent)
	team := newTeam(t, ag)
	customer := email("list")
	var mine []int64
	for i := range 7 {
		tk := newTicket(t, desk, customer)
		if i%2 == 0 {
			open := tickets.StatusOpen
			if _, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: &open, TeamID: tickets.OptionalID{Set: true, ID: team.ID}, AssigneeID: tickets.OptionalID{Set: true, ID: ag.ID}}); err != nil {
				t.Fatal(err)
			}
			mine = append(mine, tk.ID)
		}
	}
	slices.Reverse(mine)

	var got []int64
	f := tickets.ListFilter{AssigneeID: &ag.ID, Statuses: []tickets.Status{"open"}, Limit: 3}
	pages := 0
	for {
		page, err := desk.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tk := range page.Items {
			got = append(got, tk.ID)
		}
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	if !slices.Equal(got, mine) || pages != 2 {
		t.Errorf("pages %d, ids %v, want %v newest first", pages, got, mine)
	}

	byTeam, _ := desk.List(ctx, tickets.ListFilter{TeamID: &team.ID, Limit: 100})
	byCustomer, _ := desk.List(ctx, tickets.ListFilter{CustomerID: byTeam.Items[0].CustomerID, Statuses: []tickets.Status{"new"}, Limit: 100})
	if len(byTeam.Items) != 4 || len(byCustomer.Items) != 3 {
		t.Errorf("by team %d, by customer (new) %d; want 4 and 3", len(byTeam.Items), len(byCustomer.Items))
	}
	unassigned := int64(0)
	none, _ := desk.List(ctx, tickets.ListFilter{AssigneeID: &unassigned, CustomerID: byTeam.Items[0].CustomerID})
	if len(none.Items) != 3 {
		t.Errorf("unassigned = %d, want 3", len(none.Items))
	}
	for _, bad := range []string{"garbage!", "aWQ6MA", "eHk6MTI"} {
		if _, err := desk.List(ctx, tickets.ListFilter{Cursor: bad}); fieldOf(t, err) != "cursor" {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}

func TestCloseSolvedClosesOnlyOldSolvedTickets(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ag := newAgent(t, tickets.RoleAgent)
	solved := tickets.StatusSolved
	old, recent, open := newTicket(t, desk, email("ac")), newTicket(t, desk, email("ac")), newTicket(t, desk, email("ac"))
	for _, tk := range []*tickets.Ticket{old, recent} {
		if _, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: &solved}); err != nil {
			t.Fatal(err)
		}
	}
	db.Exec(`UPDATE tickets SET solved_at = now() - interval '5 days' WHERE id = ?`, old.ID)
	// Other tests' solved tickets may be closed too; only these three are checked.
	for {
		n, err := desk.CloseSolved(ctx, 96*time.Hour, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	for _, c := range []struct {
		tk   *tickets.Ticket
		want tickets.Status
	}{{old, tickets.StatusClosed}, {recent, tickets.StatusSolved}, {open, tickets.StatusNew}} {
		d, _ := desk.Get(ctx, c.tk.ID)
		if d.Status != c.want {
			t.Errorf("ticket %d: %s, want %s", c.tk.ID, d.Status, c.want)
		}
	}
	var systemEvents int64
	db.Raw(`SELECT count(*) FROM events WHERE ticket_id = ? AND actor_kind = 'system' AND type = ?`, old.ID, tickets.EventStatusChanged).Scan(&systemEvents)
	if systemEvents != 1 {
		t.Errorf("system close events = %d", systemEvents)
	}
}
