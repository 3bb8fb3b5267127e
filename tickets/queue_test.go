package tickets_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The ticket's sla_due_at follows the earliest running clock through every change the SLA
// module makes to its clocks: insert, a moved due time, a stop, a delete.
func TestQueueDueFollowsClocks(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	tk := newTicket(t, desk, email("due"))
	due := func() *time.Time {
		t.Helper()
		var d sql.NullTime
		if err := db.Raw(`SELECT sla_due_at FROM tickets WHERE id = ?`, tk.ID).Row().Scan(&d); err != nil {
			t.Fatal(err)
		}
		if !d.Valid {
			return nil
		}
		return &d.Time
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := db.Exec(sql, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	same := func(got *time.Time, want time.Time) bool { return got != nil && got.Equal(want) }
	if d := due(); d != nil {
		t.Fatalf("a ticket without clocks is due at %v", d)
	}
	t1 := time.Now().Add(2 * time.Hour).Truncate(time.Microsecond)
	t2 := time.Now().Add(30 * time.Minute).Truncate(time.Microsecond)
	exec(`INSERT INTO sla_clocks (ticket_id, kind, business, target_seconds, state, started_at, due_at) VALUES (?, 'resolution', false, 3600, 'running', now(), ?)`, tk.ID, t1)
	if d := due(); !same(d, t1) {
		t.Fatalf("after the first clock: %v, want %v", d, t1)
	}
	exec(`INSERT INTO sla_clocks (ticket_id, kind, business, target_seconds, state, started_at, due_at) VALUES (?, 'first_response', false, 3600, 'running', now(), ?)`, tk.ID, t2)
	if d := due(); !same(d, t2) {
		t.Fatalf("after an earlier clock: %v, want %v", d, t2)
	}
	// A paused clock has no due time; the other one counts.
	exec(`UPDATE sla_clocks SET due_at = NULL, state = 'paused' WHERE ticket_id = ? AND kind = 'first_response'`, tk.ID)
	if d := due(); !same(d, t1) {
		t.Fatalf("after a pause: %v, want %v", d, t1)
	}
	exec(`UPDATE sla_clocks SET due_at = ?, state = 'running' WHERE ticket_id = ? AND kind = 'first_response'`, t2, tk.ID)
	exec(`UPDATE sla_clocks SET stopped_at = now(), state = 'met' WHERE ticket_id = ? AND kind = 'first_response'`, tk.ID)
	if d := due(); !same(d, t1) {
		t.Fatalf("after a stop: %v, want %v", d, t1)
	}
	exec(`DELETE FROM sla_clocks WHERE ticket_id = ? AND kind = 'resolution'`, tk.ID)
	if d := due(); d != nil {
		t.Fatalf("with no running clock left: %v", d)
	}
}

// Tickets due at the same moment and of the same priority page by id, without gaps or
// repeats, also across the end of those with a due time.
func TestQueuePagesThroughTies(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	agent := newAgent(t, tickets.RoleAgent)
	at := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	var want []int64
	for i := range 7 {
		tk := newTicket(t, desk, email("tie"))
		if _, err := desk.Update(ctx, tk.ID, tickets.SystemActor, tickets.TicketChange{AssigneeID: tickets.OptionalID{Set: true, ID: agent.ID}}); err != nil {
			t.Fatal(err)
		}
		if i < 4 {
			err := db.Exec(`INSERT INTO sla_clocks (ticket_id, kind, business, target_seconds, state, started_at, due_at) VALUES (?, 'first_response', false, 3600, 'running', now(), ?)`, tk.ID, at).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, tk.ID)
	}
	for _, limit := range []int{1, 2, 3, 7, 8} {
		var got []int64
		f := tickets.QueueFilter{AssigneeID: &agent.ID, Limit: limit}
		for range 20 {
			page, err := desk.Queue(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Items {
				got = append(got, r.ID)
			}
			if page.Next == "" {
				break
			}
			f.Cursor = page.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pages of %d: %v, want %v", limit, got, want)
		}
	}
}

func TestQueueRefusesUnknownStatus(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{})
	_, err := desk.Queue(context.Background(), tickets.QueueFilter{Statuses: []tickets.Status{"open'); DROP TABLE tickets; --"}})
	var invalid *tickets.ValidationError
	if !errors.As(err, &invalid) || invalid.Fields[0].Field != "status" {
		t.Errorf("an unknown status: %v", err)
	}
	page, err := desk.Queue(context.Background(), tickets.QueueFilter{TeamIDs: []int64{}})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("no teams: %v %v", page, err)
	}
}
