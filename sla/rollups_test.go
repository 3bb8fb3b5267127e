package sla

import (
	"context"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The rollups are Metrics' figures, stored: for every range, each agent's and tier's row must
// equal what Metrics computes for the same range at the same moment, and the daily counts must
// add up to the range's totals.
func TestRollupsMatchMetrics(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := seedWeek(t, e)
	late := lateAnswer(t, e, s)
	now := utc("2025-03-09T12:00:00Z")
	e.clock.Set(now)
	defer e.clock.Set(time.Time{})

	res, err := e.svc.RefreshRollups(ctx, 0)
	if err != nil || res.Skipped || res.Fresh {
		t.Fatalf("refresh: %+v %v", res, err)
	}
	for _, days := range RollupRanges {
		d, err := e.svc.Dashboard(ctx, days)
		if err != nil {
			t.Fatal(err)
		}
		from := utc("2025-03-09T00:00:00Z").AddDate(0, 0, -(days - 1))
		if !d.From.Equal(from) || !d.To.Equal(now) || !d.ComputedAt.Equal(now) || len(d.Daily) != days {
			t.Errorf("%d days: from %v to %v as of %v, %d days", days, d.From, d.To, d.ComputedAt, len(d.Daily))
		}
		agents, err := e.svc.Metrics(ctx, MetricsQuery{From: from, To: now, Group: GroupAgent})
		if err != nil {
			t.Fatal(err)
		}
		tiers, err := e.svc.Metrics(ctx, MetricsQuery{From: from, To: now, Group: GroupTier})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.Agents, agents.Rows) {
			t.Errorf("%d days: agents\n got %+v\nwant %+v", days, d.Agents, agents.Rows)
		}
		if !reflect.DeepEqual(d.Tiers, tiers.Rows) {
			t.Errorf("%d days: tiers\n got %+v\nwant %+v", days, d.Tiers, tiers.Rows)
		}
		if !reflect.DeepEqual(d.Overall, agents.Overall) {
			t.Errorf("%d days: overall\n got %+v\nwant %+v", days, d.Overall, agents.Overall)
		}
		var created, solved, clocks, met, frs int64
		for _, day := range d.Daily {
			created, solved, clocks, met = created+day.Created, solved+day.Solved, clocks+day.Clocks, met+day.ClocksMet
		}
		for _, n := range d.FirstResponseSum {
			frs += n
		}
		wantCreated := count(t, `SELECT count(*) FROM tickets WHERE created_at >= ? AND created_at < ?`, from, now)
		if created != wantCreated || solved != d.Overall.Solved || clocks != d.Overall.Clocks || met != d.Overall.ClocksMet || frs != d.Overall.FirstResponse.Count {
			t.Errorf("%d days: daily sums created %d/%d, solved %d/%d, clocks %d/%d, met %d/%d, first responses %d/%d", days,
				created, wantCreated, solved, d.Overall.Solved, clocks, d.Overall.Clocks, met, d.Overall.ClocksMet, frs, d.Overall.FirstResponse.Count)
		}
	}

	// The seeded week by hand: Ana and Bruno are in the 7-day table; first responses of 1h (T1),
	// 2h of business time (T2) and 30m (T4) fall in the buckets [15m, 1h) and [1h, 4h); Monday
	// has T1 and T2 created and T1 solved.
	d, err := e.svc.Dashboard(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range d.Agents {
		names[r.Name] = true
	}
	if !names[s.ana.Name] || !names[s.bruno.Name] {
		t.Errorf("agents %v lack Ana or Bruno", names)
	}
	if d.FirstResponseSum[1] < 1 || d.FirstResponseSum[2] < 2 {
		t.Errorf("first response histogram %v", d.FirstResponseSum)
	}
	// Thursday's late answer: its first response stopped on Friday, breached.
	friday := d.Daily[4]
	if !friday.Day.Equal(utc("2025-03-07T00:00:00Z")) || friday.Clocks < 1 || friday.ClocksMet >= friday.Clocks || d.FirstResponseSum[4] < 1 {
		t.Errorf("Friday (ticket %d answered late): %+v, histogram %v", late, friday, d.FirstResponseSum)
	}
	monday := d.Daily[0]
	if !monday.Day.Equal(utc("2025-03-03T00:00:00Z")) || monday.Created < 2 || monday.Solved < 1 {
		t.Errorf("Monday: %+v", monday)
	}
	// Sunday, the last day, is the partial day of the refresh: nothing happened in it.
	if last := d.Daily[6]; !last.Day.Equal(utc("2025-03-09T00:00:00Z")) {
		t.Errorf("last day %v", last.Day)
	}
}

func TestRollupsFreshAndMissing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.svc.Dashboard(ctx, 14); err == nil {
		t.Error("a 14-day range was accepted")
	}
	db.Exec(`DELETE FROM dash_rollups`)
	if _, err := e.svc.Dashboard(ctx, 30); err != ErrNoRollup {
		t.Fatalf("before any refresh: %v", err)
	}
	if res, err := e.svc.RefreshRollups(ctx, time.Minute); err != nil || res.Fresh || res.Skipped {
		t.Fatalf("first refresh: %+v %v", res, err)
	}
	if _, err := e.svc.Dashboard(ctx, 30); err != nil {
		t.Fatal(err)
	}
	// Another node refreshed a moment ago: this one leaves it.
	if res, err := e.svc.RefreshRollups(ctx, time.Minute); err != nil || !res.Fresh {
		t.Fatalf("second refresh: %+v %v", res, err)
	}
	// Two minutes on, the week and the month are due again; the quarter waits five minutes.
	start := time.Now()
	defer e.clock.Set(time.Time{})
	e.clock.Set(start.Add(2 * time.Minute))
	if res, err := e.svc.RefreshRollups(ctx, time.Minute); err != nil || res.Fresh || !reflect.DeepEqual(res.Ranges, []int{7, 30}) {
		t.Fatalf("refresh after two minutes: %+v %v", res, err)
	}
	e.clock.Set(start.Add(6 * time.Minute))
	if res, err := e.svc.RefreshRollups(ctx, time.Minute); err != nil || !reflect.DeepEqual(res.Ranges, []int{7, 30, 90}) {
		t.Fatalf("refresh after six minutes: %+v %v", res, err)
	}
	d7, _ := e.svc.Dashboard(ctx, 7)
	if d7 == nil || !d7.ComputedAt.Equal(start.Add(6*time.Minute).Truncate(time.Microsecond)) {
		t.Errorf("the week's figures: %+v", d7)
	}
}

// While one node holds the refresh lock, another's refresh does nothing.
func TestRollupsLockKeepsSecondRefreshOut(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, int64(rollupLock)).Scan(&locked); err != nil || !locked {
		t.Fatalf("lock: %v %v", locked, err)
	}
	before := count(t, `SELECT count(*) FROM dash_rollups WHERE computed_at = ?`, utc("2025-01-01T00:00:00Z"))
	e.clock.Set(utc("2025-01-01T00:00:00Z"))
	defer e.clock.Set(time.Time{})
	res, err := e.svc.RefreshRollups(ctx, 0)
	if err != nil || !res.Skipped {
		t.Fatalf("refresh under another's lock: %+v %v", res, err)
	}
	if after := count(t, `SELECT count(*) FROM dash_rollups WHERE computed_at = ?`, utc("2025-01-01T00:00:00Z")); after != before {
		t.Errorf("a skipped refresh wrote %d rows", after-before)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(rollupLock)); err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.RefreshRollups(ctx, 0); err != nil || res.Skipped {
		t.Fatalf("refresh after the lock is free: %+v %v", res, err)
	}
	if n := count(t, `SELECT count(*) FROM dash_rollups WHERE computed_at = ?`, utc("2025-01-01T00:00:00Z")); n != int64(len(RollupRanges)) {
		t.Errorf("refresh wrote %d ranges", n)
	}
}

// lateAnswer adds to the seeded week a ticket created Thursday 6 March 09:00 and first answered
// by Bruno on Friday at 12:00: 11 business hours against a target of 8, so a clock that stopped
// breached.
func lateAnswer(t *testing.T, e *env, s seeded) int64 {
	t.Helper()
	var id int64
	err := db.Transaction(func(tx *gorm.DB) error {
		var customer int64
		if err := tx.Raw(`INSERT INTO customers (name) VALUES ('Late') RETURNING id`).Scan(&customer).Error; err != nil {
			return err
		}
		err := tx.Raw(`INSERT INTO tickets (subject, status, urgency, priority, channel, customer_id, assignee_id, created_at, updated_at)
			VALUES ('Late', 'open', 2, 2, 'web', ?, ?, ?, ?) RETURNING id`, customer, s.bruno.ID, utc("2025-03-06T09:00:00Z"), utc("2025-03-06T09:00:00Z")).Scan(&id).Error
		if err != nil {
			return err
		}
		ev(t, tx, "2025-03-06T09:00:00Z", id, customer, tickets.EventTicketCreated, "customer", 0, map[string]any{})
		ev(t, tx, "2025-03-06T09:05:00Z", id, customer, tickets.EventAssigneeChanged, "user", s.bruno.ID, map[string]any{"from": nil, "to": s.bruno.ID})
		ev(t, tx, "2025-03-07T12:00:00Z", id, customer, tickets.EventMessageAdded, "user", s.bruno.ID, map[string]any{"kind": "reply"})
		ev(t, tx, "2025-03-07T12:00:00Z", id, customer, tickets.EventStatusChanged, "user", s.bruno.ID, map[string]any{"from": "new", "to": "open"})
		if err := e.svc.Reevaluate(context.Background(), tx, []int64{id}); err != nil {
			return err
		}
		return e.svc.RebuildActivity(context.Background(), tx, []int64{id})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
