package sla

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func eventsOf(t *testing.T, ticketID int64, typ string) int64 {
	t.Helper()
	return count(t, `SELECT count(*) FROM events WHERE ticket_id = ? AND type = ?`, ticketID, typ)
}

// deliver sweeps again at the next business hour, when held notices go out, if the clock
// stands outside business hours.
func deliver(t *testing.T, e *env, cal *Calendar) {
	t.Helper()
	now := e.clock.Now()
	if next := cal.Next(now); !next.Equal(now) {
		e.clock.Set(next)
		if _, err := e.svc.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func noticesFor(t *testing.T, e *env, userID, ticketID int64) []Notification {
	t.Helper()
	all, err := e.svc.Notifications(context.Background(), userID, false, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []Notification
	for _, n := range all {
		if n.TicketID != nil && *n.TicketID == ticketID {
			out = append(out, n)
		}
	}
	return out
}

// A supervisor hears of a clock before it breaches and when it does: the sweeper records the
// warning and the breach once each, and notifies the assignee and the team's supervisors in the
// app and by email.
func TestSweepWarnsThenBreaches(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	defer e.clock.Set(time.Time{})
	ag, sup, otherSup := e.agent(t, tickets.RoleAgent), e.agent(t, tickets.RoleSupervisor), e.agent(t, tickets.RoleSupervisor)
	team := e.team(t, ag, sup)
	tk := e.ticket(t, tickets.Normal, 0)
	if _, err := e.desk.Update(ctx, tk.ID, tickets.StaffActor(sup.ID), tickets.TicketChange{TeamID: tickets.OptionalID{Set: true, ID: team.ID}, AssigneeID: tickets.OptionalID{Set: true, ID: ag.ID}}); err != nil {
		t.Fatal(err)
	}
	fr := clocksOf(t, tk.ID)["first_response/1"]

	// Just before the warning: nothing.
	e.clock.Set(fr.WarnAt.Add(-time.Second))
	if _, err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if eventsOf(t, tk.ID, EventWarning) != 0 {
		t.Fatal("warned early")
	}

	cal := officeHours(t, e)
	e.clock.Set(fr.WarnAt.Add(time.Second))
	res, err := e.svc.Sweep(ctx)
	if err != nil || res.Warnings == 0 {
		t.Fatalf("sweep at the warning: %+v %v", res, err)
	}
	// The default policies hold notices for business hours; a threshold can fall at closing time.
	deliver(t, e, cal)
	if eventsOf(t, tk.ID, EventWarning) != 1 {
		t.Errorf("warning events = %d", eventsOf(t, tk.ID, EventWarning))
	}
	after := clocksOf(t, tk.ID)["first_response/1"]
	if after.WarnedAt == nil || !after.NextCheckAt.Equal(*fr.DueAt) {
		t.Errorf("after the warning: warned %v, next check %v, want the due time %s", after.WarnedAt, after.NextCheckAt, fr.DueAt)
	}
	for _, u := range []*tickets.User{ag, sup} {
		ns := noticesFor(t, e, u.ID, tk.ID)
		if len(ns) == 0 || ns[0].Type != EventWarning || !strings.Contains(ns[0].Title, "first response") {
			t.Errorf("user %d notices: %+v", u.ID, ns)
		}
		if len(e.mail.about(u.Email, tk.ID)) == 0 {
			t.Errorf("no email to %s", u.Email)
		}
	}
	if ns := noticesFor(t, e, otherSup.ID, tk.ID); len(ns) != 0 {
		t.Errorf("a supervisor of no team of the ticket was told: %+v", ns)
	}

	// The breach.
	e.clock.Set(fr.DueAt.Add(time.Minute))
	if res, err := e.svc.Sweep(ctx); err != nil || res.Breaches == 0 {
		t.Fatalf("sweep at the breach: %+v %v", res, err)
	}
	deliver(t, e, cal)
	br := clocksOf(t, tk.ID)["first_response/1"]
	if br.State != Breached || br.EscalatedAt == nil || br.NextCheckAt != nil || !br.BreachedAt.Equal(*fr.DueAt) {
		t.Errorf("breached clock = %+v", br)
	}
	ns := noticesFor(t, e, sup.ID, tk.ID)
	if len(ns) != 2 || ns[0].Type != EventBreached {
		t.Errorf("supervisor notices after the breach: %+v", ns)
	}
	// Once only.
	if _, err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := eventsOf(t, tk.ID, EventBreached); n != 1 {
		t.Errorf("breach events = %d after another sweep", n)
	}

	// The supervisor reads the notice.
	if err := e.svc.MarkRead(ctx, sup.ID, ns[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.MarkRead(ctx, ag.ID, ns[0].ID); err == nil {
		t.Error("an agent marked a supervisor's notice read")
	}
	unread, _ := e.svc.Notifications(ctx, sup.ID, true, 100, 0)
	for _, n := range unread {
		if n.ID == ns[0].ID {
			t.Error("a read notice is still unread")
		}
	}

	// The answer comes late: the clock stays breached, and the sweeper has nothing to do.
	e.clock.Set(time.Time{})
	if _, err := e.desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "Sorry for the wait"}); err != nil {
		t.Fatal(err)
	}
	// The ticket was created a moment ago: the real clock says the reply was on time.
	if got := clocksOf(t, tk.ID)["first_response/1"]; got.State != Met || got.StoppedAt == nil {
		t.Errorf("answered clock = %+v", got)
	}
}

// Notices that fall outside business hours wait for the next business hour when the policy
// says so; the record of the breach does not wait.
func TestNoticesWaitForBusinessHours(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	defer e.clock.Set(time.Time{})
	admin := tickets.StaffActor(e.agent(t, tickets.RoleAdmin).ID)
	sup := e.agent(t, tickets.RoleSupervisor)
	team := e.team(t, sup)

	// A calendar open on one weekday only, two days after today, and a policy in calendar
	// minutes for low priority: the breach falls outside business hours.
	open := Weekdays[(int(time.Now().UTC().Weekday())+6+2)%7]
	cal, err := e.svc.SaveCalendar(ctx, admin, 0, CalendarSpec{Name: "One day " + email("c"), Timezone: "UTC",
		Hours: map[string][]Interval{open: {{From: "10:00", To: "11:00"}}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.SavePolicy(ctx, admin, 0, Policy{Name: "Low, round the clock " + email("p"), Position: 1, Priorities: []tickets.Level{tickets.Low},
		CalendarID: cal.ID, WarnPercent: 50, NotifyInBusinessHours: true, OnWarning: Escalation{}, OnBreach: Escalation{Notify: true},
		Targets: map[Kind]*Target{FirstResponse: {Minutes: 30}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.svc.DeletePolicy(ctx, admin, p.ID) })

	tk := e.ticket(t, tickets.Low, 0)
	if _, err := e.desk.Update(ctx, tk.ID, tickets.StaffActor(sup.ID), tickets.TicketChange{TeamID: tickets.OptionalID{Set: true, ID: team.ID}}); err != nil {
		t.Fatal(err)
	}
	c := clocksOf(t, tk.ID)
	fr := c["first_response/1"]
	if fr.PolicyID != p.ID || fr.Business || len(c) != 1 {
		t.Fatalf("clocks under the round-the-clock policy: %+v", c)
	}
	now := fr.DueAt.Add(time.Minute)
	e.clock.Set(now)
	if res, err := e.svc.Sweep(ctx); err != nil || res.Breaches == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if eventsOf(t, tk.ID, EventBreached) != 1 || eventsOf(t, tk.ID, EventWarning) != 0 {
		t.Error("the breach was not recorded at once (or a warning was, with no warning escalation)")
	}
	if ns := noticesFor(t, e, sup.ID, tk.ID); len(ns) != 0 {
		t.Errorf("a notice showed outside business hours: %+v", ns)
	}
	if len(e.mail.about(sup.Email, tk.ID)) != 0 {
		t.Error("an email went out outside business hours")
	}
	opens := cal.Next(now)
	var deliver time.Time
	db.Raw(`SELECT deliver_at FROM notifications WHERE ticket_id = ? AND user_id = ?`, tk.ID, sup.ID).Scan(&deliver)
	if !deliver.Equal(opens) {
		t.Errorf("notice held until %s, want %s", deliver, opens)
	}
	e.clock.Set(opens)
	if _, err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if ns := noticesFor(t, e, sup.ID, tk.ID); len(ns) != 1 || ns[0].Type != EventBreached {
		t.Errorf("at opening time: %+v", ns)
	}
	if n := len(e.mail.about(sup.Email, tk.ID)); n != 1 {
		t.Errorf("emails at opening time: %d", n)
	}
}

// Escalation that changes the ticket goes through the desk, as system events, exactly once.
func TestEscalationRaisesPriorityAndReassigns(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	defer e.clock.Set(time.Time{})
	admin := tickets.StaffActor(e.agent(t, tickets.RoleAdmin).ID)
	lead := e.agent(t, tickets.RoleAgent)
	escalations := e.team(t, lead)
	p, err := e.svc.SavePolicy(ctx, admin, 0, Policy{Name: "Low escalates " + email("p"), Position: 1, Priorities: []tickets.Level{tickets.Low},
		CalendarID: officeHours(t, e).ID, WarnPercent: 75,
		OnBreach: Escalation{Notify: true, RaisePriority: true, ReassignTeamID: &escalations.ID, ReassignUserID: &lead.ID},
		Targets:  map[Kind]*Target{FirstResponse: {Minutes: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.svc.DeletePolicy(ctx, admin, p.ID) })
	tk := e.ticket(t, tickets.Low, 0)
	fr := clocksOf(t, tk.ID)["first_response/1"]
	e.clock.Set(fr.DueAt.Add(time.Second))
	res, err := e.svc.Sweep(ctx)
	if err != nil || res.Actions == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	d, err := e.desk.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Priority != tickets.Normal || d.TeamID == nil || *d.TeamID != escalations.ID || d.AssigneeID == nil || *d.AssigneeID != lead.ID {
		t.Errorf("after escalation: priority %s team %v assignee %v", d.Priority, d.TeamID, d.AssigneeID)
	}
	var types []string
	for _, ev := range d.Events {
		if ev.ActorKind == "system" {
			types = append(types, ev.Type)
		}
	}
	for _, want := range []string{EventBreached, tickets.EventPriorityChanged, tickets.EventTeamChanged, tickets.EventAssigneeChanged} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s by the system in %v", want, types)
		}
	}
	if n := count(t, `SELECT count(*) FROM sla_clocks WHERE ticket_id = ? AND pending_actions <> '{}'`, tk.ID); n != 0 {
		t.Error("escalation still pending")
	}
	// Raised to normal, the ticket follows the normal policy now; sweeping again raises nothing.
	if _, err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.desk.Get(ctx, tk.ID); d.Priority != tickets.Normal {
		t.Errorf("priority %s after a second sweep", d.Priority)
	}
	if n := eventsOf(t, tk.ID, tickets.EventPriorityChanged); n != 1 {
		t.Errorf("priority changed %d times", n)
	}
}

// Only one node sweeps at a time.
func TestSweepHoldsAnAdvisoryLock(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	other, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(sweepLock)); err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.Sweep(ctx); err != nil || !res.Skipped {
		t.Errorf("sweep while another node sweeps: %+v %v", res, err)
	}
	if _, err := other.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(sweepLock)); err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.Sweep(ctx); err != nil || res.Skipped {
		t.Errorf("sweep after the other node stopped: %+v %v", res, err)
	}
}

// Supervisors see which tickets are about to breach, most urgent first.
func TestAtRisk(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	defer e.clock.Set(time.Time{})
	urgentTk := e.ticket(t, tickets.Urgent, 0)
	normalTk := e.ticket(t, tickets.Normal, 0)
	urgentDue := *clocksOf(t, urgentTk.ID)["first_response/1"].DueAt
	e.clock.Set(urgentDue.Add(time.Minute))
	items, err := e.svc.AtRisk(ctx, AtRiskFilter{Within: time.Hour, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var sawUrgent bool
	for i, it := range items {
		if i > 0 && it.Clock.DueAt.Before(*items[i-1].Clock.DueAt) {
			t.Error("not soonest first")
		}
		if it.TicketID == urgentTk.ID && it.Clock.Kind == FirstResponse {
			sawUrgent = true
			if it.Clock.State != Breached || it.Clock.Remaining == nil || *it.Clock.Remaining >= 0 {
				t.Errorf("overdue clock: %+v", it.Clock)
			}
		}
		if it.TicketID == normalTk.ID && it.Clock.DueAt.After(urgentDue.Add(time.Minute+time.Hour)) {
			t.Errorf("listed a clock due later than the window: %+v", it)
		}
	}
	if !sawUrgent {
		t.Errorf("the overdue urgent ticket is not listed: %+v", items)
	}
	views, err := e.svc.TicketClocks(ctx, urgentTk.ID)
	if err != nil || len(views) != 2 || views[0].Kind != FirstResponse || views[1].Kind != Resolution || views[0].PolicyName != "Urgent" {
		t.Errorf("ticket clocks: %+v %v", views, err)
	}
}

// A breach storm is one email to each person per pass, listing every notice, not one email per
// notice.
func TestEmailsAreOnePerPersonPerPass(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	defer e.clock.Set(time.Time{})
	sup := e.agent(t, tickets.RoleSupervisor)
	team := e.team(t, sup)
	var last time.Time
	var ids []int64
	for range 3 {
		tk := e.ticket(t, tickets.Urgent, 0)
		if _, err := e.desk.Update(ctx, tk.ID, tickets.StaffActor(sup.ID), tickets.TicketChange{TeamID: tickets.OptionalID{Set: true, ID: team.ID}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
		if due := *clocksOf(t, tk.ID)["first_response/1"].DueAt; due.After(last) {
			last = due
		}
	}
	cal := officeHours(t, e)
	e.clock.Set(cal.Next(last.Add(time.Minute)))
	if _, err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	var mails []Email
	for _, m := range e.mail.sent {
		if m.ToAddress == sup.Email {
			mails = append(mails, m)
		}
	}
	if len(mails) != 1 {
		t.Fatalf("%d emails to the supervisor, want one digest", len(mails))
	}
	for _, id := range ids {
		if !strings.Contains(mails[0].Body, fmt.Sprintf("Ticket #%d ", id)) {
			t.Errorf("the digest does not name ticket %d:\n%s", id, mails[0].Body)
		}
	}
	if !strings.Contains(mails[0].Subject, "SLA notices") {
		t.Errorf("subject %q", mails[0].Subject)
	}
}
