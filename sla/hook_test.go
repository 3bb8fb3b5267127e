package sla

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Clocks move in the transaction of every ticket change, through the desk's hook, under the
// default policies ("Normal and low": 8 business hours to the first response, 8 to the next,
// 40 to resolution, on Office hours: Monday to Friday 09:00–17:00 UTC).
func TestClocksFollowTheDesk(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cal := officeHours(t, e)
	ag := e.agent(t, tickets.RoleAgent)
	tk := e.ticket(t, tickets.Normal, 0)
	created := ticketCreatedAt(t, tk.ID)

	c := clocksOf(t, tk.ID)
	fr, res := c["first_response/1"], c["resolution/1"]
	if len(c) != 2 || fr.State != Running || res.State != Running {
		t.Fatalf("new ticket clocks = %+v", c)
	}
	if want := cal.Add(created, 8*time.Hour); !fr.DueAt.Equal(want) || fr.TargetSeconds != 8*3600 || !fr.Business {
		t.Errorf("first response due %s (target %ds), want %s", fr.DueAt, fr.TargetSeconds, want)
	}
	if want := cal.Add(created, 40*time.Hour); !res.DueAt.Equal(want) {
		t.Errorf("resolution due %s, want %s", res.DueAt, want)
	}
	if want := cal.Add(created, 6*time.Hour); !fr.WarnAt.Equal(want) || !fr.NextCheckAt.Equal(want) {
		t.Errorf("first response warns at %v (next check %v), want %s", fr.WarnAt, fr.NextCheckAt, want)
	}

	// A note is not a reply; a reply meets the first response.
	if _, err := e.desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: ag.ID, Body: "checking"}); err != nil {
		t.Fatal(err)
	}
	if c := clocksOf(t, tk.ID); c["first_response/1"].StoppedAt != nil {
		t.Fatal("a note stopped the first response")
	}
	if _, err := e.desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "Try now"}); err != nil {
		t.Fatal(err)
	}
	c = clocksOf(t, tk.ID)
	if fr := c["first_response/1"]; fr.State != Met || fr.StoppedBy == nil || *fr.StoppedBy != ag.ID || fr.NextCheckAt != nil {
		t.Errorf("after the reply, first response = %+v", fr)
	}

	// The customer writes: next response starts.
	if _, err := e.desk.AddCustomerMessage(ctx, tk.ID, tickets.CustomerMessage{CustomerID: tk.CustomerID, Body: "Still broken"}); err != nil {
		t.Fatal(err)
	}
	nr := clocksOf(t, tk.ID)["next_response/1"]
	if nr.State != Running || nr.DueAt == nil {
		t.Fatalf("next response = %+v", nr)
	}

	// Pending pauses next response and resolution: no due time while paused.
	pending := tickets.StatusPending
	if _, err := e.desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: &pending}); err != nil {
		t.Fatal(err)
	}
	c = clocksOf(t, tk.ID)
	for _, k := range []string{"next_response/1", "resolution/1"} {
		if c[k].State != Paused || c[k].DueAt != nil || c[k].RunningSince != nil || c[k].NextCheckAt != nil {
			t.Errorf("%s while pending = %+v", k, c[k])
		}
	}

	// Solving stops everything; the customer reopening resumes resolution and starts a second
	// next-response cycle.
	if _, err := e.desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "Fixed", Status: ptr(tickets.StatusSolved)}); err != nil {
		t.Fatal(err)
	}
	c = clocksOf(t, tk.ID)
	if c["resolution/1"].State != Met || c["next_response/1"].State != Met || c["resolution/1"].StoppedAt == nil {
		t.Errorf("after solving: %+v", c)
	}
	if _, err := e.desk.AddCustomerMessage(ctx, tk.ID, tickets.CustomerMessage{CustomerID: tk.CustomerID, Body: "It broke again"}); err != nil {
		t.Fatal(err)
	}
	c = clocksOf(t, tk.ID)
	if res := c["resolution/1"]; res.State != Running || res.StoppedAt != nil || res.DueAt == nil {
		t.Errorf("reopened resolution = %+v", res)
	}
	if nr2, ok := c["next_response/2"]; !ok || nr2.State != Running {
		t.Errorf("reopening did not start next response #2: %+v", c)
	}
}

func ptr[T any](v T) *T { return &v }

// A priority change re-evaluates the ticket under the policy of its new priority, counted from
// creation.
func TestPriorityChangeMidClock(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cal := officeHours(t, e)
	ag := e.agent(t, tickets.RoleAgent)
	tk := e.ticket(t, tickets.Normal, 0)
	created := ticketCreatedAt(t, tk.ID)
	urgent := tickets.Urgent
	if _, err := e.desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Priority: &urgent}); err != nil {
		t.Fatal(err)
	}
	c := clocksOf(t, tk.ID)
	fr := c["first_response/1"]
	if fr.TargetSeconds != 3600 || !fr.DueAt.Equal(cal.Add(created, time.Hour)) || fr.PolicyID != policyNamed(t, e, "Urgent").ID {
		t.Errorf("urgent first response = target %ds due %s policy %d", fr.TargetSeconds, fr.DueAt, fr.PolicyID)
	}
	if res := c["resolution/1"]; res.TargetSeconds != 8*3600 {
		t.Errorf("urgent resolution target = %ds", res.TargetSeconds)
	}
}

// An agent who files a ticket for a caller and answers at once meets the first response; no
// next response waits, since the customer has not written since.
func TestAgentCreatesTicketWithPublicReply(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ag := e.agent(t, tickets.RoleAgent)
	tk := e.ticket(t, tickets.Normal, ag.ID)
	if _, err := e.desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "As discussed on the phone: done."}); err != nil {
		t.Fatal(err)
	}
	c := clocksOf(t, tk.ID)
	if fr := c["first_response/1"]; fr.State != Met || fr.BreachedAt != nil || fr.CalendarSeconds > 60 {
		t.Errorf("first response = %+v", fr)
	}
	if _, ok := c["next_response/1"]; ok || len(c) != 2 {
		t.Errorf("clocks = %+v, want first response and resolution only", c)
	}
}

// A tier change (the customer-value scoring emits customer.tier_changed) re-evaluates the
// customer's open tickets under the policy of the new tier.
func TestTierChangeReevaluatesOpenTickets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tk := e.ticket(t, tickets.Normal, 0)
	setTier(t, db, tk.CustomerID, "vip")
	err := db.Transaction(func(tx *gorm.DB) error {
		return e.svc.onChanges(ctx, tx, []tickets.Change{{Type: EventTierChanged, CustomerID: tk.CustomerID, Data: map[string]any{"from": "new", "to": "vip"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	vip := policyNamed(t, e, "VIP customers")
	if fr := clocksOf(t, tk.ID)["first_response/1"]; fr.PolicyID != vip.ID || fr.TargetSeconds != 3600 {
		t.Errorf("after the tier change: policy %d target %d, want VIP (%d) and 1h", fr.PolicyID, fr.TargetSeconds, vip.ID)
	}
}

// A settings change that the hook cannot follow is refused with the ticket change: a hook error
// rolls the whole unit of work back. Here: clocks survive an intake in one transaction with the
// ticket, or not at all.
func TestClocksCommitWithTheTicket(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	before := count(t, `SELECT count(*) FROM sla_clocks`)
	_, err := e.desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: "not an address"}, Subject: "s", Body: "b"})
	if err == nil {
		t.Fatal("a bad intake succeeded")
	}
	if n := count(t, `SELECT count(*) FROM sla_clocks`); n != before {
		t.Errorf("a failed intake left %d clocks", n-before)
	}
	var orphans int64
	db.Raw(`SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM sla_clocks c WHERE c.ticket_id = t.id)`).Scan(&orphans)
	if orphans != 0 {
		t.Errorf("%d tickets without clocks", orphans)
	}
}

// Tickets written without the desk (a bulk load) get their clocks and activity from Backfill
// and the sweeper.
func TestBackfillTicketsWrittenWithoutTheDesk(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ag := e.agent(t, tickets.RoleAgent)
	tk := e.ticket(t, tickets.Normal, 0)
	if _, err := e.desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	// As if loaded by COPY: no clocks, no activity.
	db.Exec(`DELETE FROM sla_clocks WHERE ticket_id = ?`, tk.ID)
	db.Exec(`DELETE FROM sla_activity WHERE ticket_id = ?`, tk.ID)
	n, err := e.svc.Backfill(ctx)
	if err != nil || n == 0 {
		t.Fatalf("backfill: %d %v", n, err)
	}
	if _, err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if fr := clocksOf(t, tk.ID)["first_response/1"]; fr.State != Met || fr.StoppedBy == nil || *fr.StoppedBy != ag.ID {
		t.Errorf("backfilled first response = %+v", fr)
	}
	if count(t, `SELECT count(*) FROM sla_activity WHERE ticket_id = ? AND kind = 'reply' AND user_id = ?`, tk.ID, ag.ID) != 1 {
		t.Error("the reply is not in the activity")
	}
}

// A new ticket is written once with its place in the queue: the due time the desk asks for
// before writing it is the earliest due time of the clocks the ticket then gets, so the clocks'
// trigger finds nothing to write again.
func TestNewTicketCarriesItsFirstDueTime(t *testing.T) {
	e := newEnv(t)
	officeHours(t, e)
	e.ticket(t, tickets.Normal, 0) // the settings are read once, as on a running server
	tk := e.ticket(t, tickets.High, 0)
	var due *time.Time
	if err := db.Raw(`SELECT sla_due_at FROM tickets WHERE id = ?`, tk.ID).Scan(&due).Error; err != nil {
		t.Fatal(err)
	}
	var earliest time.Time
	if err := db.Raw(`SELECT min(due_at) FROM sla_clocks WHERE ticket_id = ? AND stopped_at IS NULL`, tk.ID).Scan(&earliest).Error; err != nil {
		t.Fatal(err)
	}
	if due == nil || !due.Equal(earliest) {
		t.Fatalf("sla_due_at %v, the clocks' earliest due %v", due, earliest)
	}
	hint := e.svc.initialDue(tk.Priority, tickets.TierNew, ticketCreatedAt(t, tk.ID))
	if hint == nil || !hint.Equal(earliest) {
		t.Errorf("the hint %v differs from the clocks' earliest due %v: the trigger rewrites every new ticket", hint, earliest)
	}
}

// A new ticket's clocks are written by intake's own statement, from what intake knows before it
// writes the ticket, and the hook does not read the ticket back; they must be exactly the clocks
// a full evaluation of the ticket gives.
func TestNewTicketClocksEqualAFullEvaluation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ag := e.agent(t, tickets.RoleAgent)
	team := e.team(t, ag)
	e.ticket(t, tickets.Normal, 0) // the settings are read once, as on a running server

	var statements statementLog
	quiet := db.Session(&gorm.Session{Logger: &statements})
	desk := tickets.NewDesk(quiet, tickets.Limits{})
	New(quiet, desk, Options{Logger: slog.New(slog.DiscardHandler), Now: e.clock.Now}).cached = e.svc.cached
	for _, urgency := range []tickets.Level{tickets.Normal, tickets.Urgent} {
		statements.reset()
		tk, err := desk.Intake(ctx, tickets.NewTicket{
			Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("customer"), Name: "Ana Ruiz"},
			Subject: "Invoice missing", Body: "I did not get the invoice for my last order.", Urgency: urgency, TeamID: &team.ID,
		})
		if err != nil {
			t.Fatal(err)
		}
		if read := statements.matching("WHERE t.id IN"); len(read) > 0 {
			t.Errorf("the clocks of a new ticket read the ticket back: %q", read)
		}
		started := clocksOf(t, tk.ID)
		if len(started) == 0 || started["first_response/1"].TeamID == nil || *started["first_response/1"].TeamID != team.ID {
			t.Fatalf("urgency %s: clocks %+v", urgency, started)
		}
		if err := db.Transaction(func(tx *gorm.DB) error { return e.svc.Reevaluate(ctx, tx, []int64{tk.ID}) }); err != nil {
			t.Fatal(err)
		}
		if evaluated := clocksOf(t, tk.ID); !reflect.DeepEqual(started, evaluated) {
			t.Errorf("urgency %s: started\n%+v\nevaluated in full\n%+v", urgency, started, evaluated)
		}
	}
}

// A node starts new tickets' clocks under the settings it last read; when another node changed
// them meanwhile, the ticket still gets the clocks of the settings in force.
func TestNewTicketFollowsAPolicyChangedOnAnotherNode(t *testing.T) {
	here, there := newEnv(t), newEnv(t)
	admin := tickets.StaffActor(here.agent(t, tickets.RoleAdmin).ID)
	here.ticket(t, tickets.Normal, 0) // this node has read the settings

	changePolicy(t, there, admin, "Normal and low", func(p *Policy) {
		p.Targets[FirstResponse] = &Target{Minutes: 60, Business: true}
	})

	tk := here.ticket(t, tickets.Normal, 0)
	if fr := clocksOf(t, tk.ID)["first_response/1"]; fr.TargetSeconds != 3600 {
		t.Errorf("first response target %ds under a policy of 60 minutes", fr.TargetSeconds)
	}
}

// statementLog keeps the SQL a session ran.
type statementLog struct {
	logger.Interface
	mu  sync.Mutex
	sql []string
}

func (l *statementLog) LogMode(logger.LogLevel) logger.Interface { return l }

func (l *statementLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	l.mu.Lock()
	l.sql = append(l.sql, sql)
	l.mu.Unlock()
}

func (l *statementLog) reset() {
	l.mu.Lock()
	l.sql = nil
	l.mu.Unlock()
}

func (l *statementLog) matching(part string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.sql {
		if strings.Contains(s, part) {
			out = append(out, s)
		}
	}
	return out
}

// The trigger that keeps a ticket's place in the queue asks for the earliest due time of the
// ticket's running clocks on every clock write. It must read only that ticket's clocks, however
// young the table's statistics: new clocks share their due times with many others, and a walk
// of the due-time index in order read every running clock at each intake.
func TestQueueTriggerReadsOnlyTheTicketsClocks(t *testing.T) {
	e := newEnv(t)
	tk := e.ticket(t, tickets.Normal, 0)
	err := db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec(`SET plan_cache_mode = force_generic_plan`).Error; err != nil {
			return err
		}
		defer conn.Exec(`RESET plan_cache_mode`)
		if err := conn.Exec(`PREPARE earliest_due(bigint) AS SELECT min(due_at) AS due FROM sla_clocks
			WHERE ticket_id = $1 AND stopped_at IS NULL AND due_at IS NOT NULL`).Error; err != nil {
			return err
		}
		defer conn.Exec(`DEALLOCATE earliest_due`)
		var plan []string
		if err := conn.Raw(fmt.Sprintf(`EXPLAIN EXECUTE earliest_due(%d)`, tk.ID)).Scan(&plan).Error; err != nil {
			return err
		}
		if joined := strings.Join(plan, "\n"); !strings.Contains(joined, "sla_clocks_ticket_due_idx") {
			t.Errorf("the trigger's lookup does not use the ticket's own index:\n%s", joined)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
