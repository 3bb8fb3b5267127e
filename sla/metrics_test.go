package sla

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// seeded is a week of work, 3–9 March 2025, with the figures computed by hand below. Office
// hours (the default calendar) are 09:00–17:00 UTC on weekdays; every ticket is of normal
// priority, so the "Normal and low" policy applies: 8h to first and next response, 40h to
// resolution.
//
//	T1 (loyal customer, team X): created Mon 09:00, assigned to Ana 09:10, Ana replies 10:00,
//	   the customer writes 11:00, Ana replies 13:00 and solves 14:00.
//	T2 (repeat customer, team X): created Mon 16:00, assigned to Bruno 16:05, Bruno replies
//	   Tue 10:00 and solves 11:00; the customer reopens Wed 09:00, Bruno replies 09:30 and
//	   solves 10:00.
//	T3 (loyal customer, team X): created Tue 09:00, assigned to Ana, never answered: the first
//	   response breaches Tue 17:00.
//	T4 (repeat customer, no team): created Wed 10:00, Bruno replies 10:30 and solves 11:00.
type seeded struct {
	ana, bruno     *tickets.User
	team           *tickets.Team
	t1, t2, t3, t4 int64
}

func seedWeek(t *testing.T, e *env) seeded {
	t.Helper()
	var s seeded
	s.ana, s.bruno = e.agent(t, tickets.RoleAgent), e.agent(t, tickets.RoleAgent)
	s.team = e.team(t, s.ana, s.bruno)
	err := db.Transaction(func(tx *gorm.DB) error {
		customer := func(tier string) int64 {
			var id int64
			if err := tx.Raw(`INSERT INTO customers (name) VALUES ('Seeded') RETURNING id`).Scan(&id).Error; err != nil {
				t.Fatal(err)
			}
			setTier(t, tx, id, tier)
			return id
		}
		loyal, repeat := customer("loyal"), customer("repeat")
		ticket := func(customerID int64, created, status string, assignee *tickets.User, team *tickets.Team) int64 {
			var a, tm *int64
			if assignee != nil {
				a = &assignee.ID
			}
			if team != nil {
				tm = &team.ID
			}
			var id int64
			err := tx.Raw(`INSERT INTO tickets (subject, status, urgency, priority, channel, customer_id, assignee_id, team_id, created_at, updated_at)
				VALUES ('Seeded', ?, 2, 2, 'web', ?, ?, ?, ?, ?) RETURNING id`, status, customerID, a, tm, utc(created), utc(created)).Scan(&id).Error
			if err != nil {
				t.Fatal(err)
			}
			ev(t, tx, created, id, customerID, tickets.EventTicketCreated, "customer", 0, map[string]any{})
			return id
		}
		s.t1 = ticket(loyal, "2025-03-03T09:00:00Z", "solved", s.ana, s.team)
		s.t2 = ticket(repeat, "2025-03-03T16:00:00Z", "solved", s.bruno, s.team)
		s.t3 = ticket(loyal, "2025-03-04T09:00:00Z", "new", s.ana, s.team)
		s.t4 = ticket(repeat, "2025-03-05T10:00:00Z", "solved", nil, nil)
		assign := func(at string, tk int64, cust int64, u *tickets.User) {
			ev(t, tx, at, tk, cust, tickets.EventAssigneeChanged, "user", u.ID, map[string]any{"from": nil, "to": u.ID})
		}
		reply := func(at string, tk int64, cust int64, u *tickets.User) {
			ev(t, tx, at, tk, cust, tickets.EventMessageAdded, "user", u.ID, map[string]any{"kind": "reply"})
		}
		inbound := func(at string, tk int64, cust int64) {
			ev(t, tx, at, tk, cust, tickets.EventMessageAdded, "customer", 0, map[string]any{"kind": "inbound"})
		}
		status := func(at string, tk int64, cust int64, u *tickets.User, from, to string) {
			var id int64
			kind := "customer"
			if u != nil {
				id, kind = u.ID, "user"
			}
			ev(t, tx, at, tk, cust, tickets.EventStatusChanged, kind, id, map[string]any{"from": from, "to": to})
		}
		assign("2025-03-03T09:10:00Z", s.t1, loyal, s.ana)
		reply("2025-03-03T10:00:00Z", s.t1, loyal, s.ana)
		status("2025-03-03T10:00:00Z", s.t1, loyal, s.ana, "new", "open")
		inbound("2025-03-03T11:00:00Z", s.t1, loyal)
		reply("2025-03-03T13:00:00Z", s.t1, loyal, s.ana)
		status("2025-03-03T14:00:00Z", s.t1, loyal, s.ana, "open", "solved")

		assign("2025-03-03T16:05:00Z", s.t2, repeat, s.bruno)
		reply("2025-03-04T10:00:00Z", s.t2, repeat, s.bruno)
		status("2025-03-04T10:00:00Z", s.t2, repeat, s.bruno, "new", "open")
		status("2025-03-04T11:00:00Z", s.t2, repeat, s.bruno, "open", "solved")
		inbound("2025-03-05T09:00:00Z", s.t2, repeat)
		status("2025-03-05T09:00:00Z", s.t2, repeat, nil, "solved", "open")
		reply("2025-03-05T09:30:00Z", s.t2, repeat, s.bruno)
		status("2025-03-05T10:00:00Z", s.t2, repeat, s.bruno, "open", "solved")

		assign("2025-03-04T09:00:00Z", s.t3, loyal, s.ana)

		reply("2025-03-05T10:30:00Z", s.t4, repeat, s.bruno)
		status("2025-03-05T10:30:00Z", s.t4, repeat, s.bruno, "new", "open")
		status("2025-03-05T11:00:00Z", s.t4, repeat, s.bruno, "open", "solved")
		ids := []int64{s.t1, s.t2, s.t3, s.t4}
		if err := e.svc.Reevaluate(context.Background(), tx, ids); err != nil {
			return err
		}
		return e.svc.RebuildActivity(context.Background(), tx, ids)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ev(t *testing.T, tx *gorm.DB, at string, ticketID, customerID int64, typ, actorKind string, userID int64, data map[string]any) {
	t.Helper()
	payload, _ := json.Marshal(data)
	var actorUser, actorCustomer any
	if actorKind == "user" {
		actorUser = userID
	} else {
		actorCustomer = customerID
	}
	err := tx.Exec(`INSERT INTO events (created_at, actor_kind, actor_user_id, actor_customer_id, ticket_id, customer_id, type, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS jsonb))`, utc(at), actorKind, actorUser, actorCustomer, ticketID, customerID, typ, string(payload)).Error
	if err != nil {
		t.Fatal(err)
	}
}

func rowOf(t *testing.T, m *Metrics, key string) MetricsRow {
	t.Helper()
	if key == "all" {
		return m.Overall
	}
	for _, r := range m.Rows {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no row %q in %+v", key, m.Rows)
	return MetricsRow{}
}

func near(got *float64, want float64) bool { return got != nil && math.Abs(*got-want) < 1e-6 }

func checkDurations(t *testing.T, what string, got Durations, count int64, medB, p90B, medC, p90C float64) {
	t.Helper()
	if got.Count != count || !near(got.MedianBusiness, medB) || !near(got.P90Business, p90B) || !near(got.MedianCalendar, medC) || !near(got.P90Calendar, p90C) {
		t.Errorf("%s = count %d, business %v/%v, calendar %v/%v; want %d, %v/%v, %v/%v", what, got.Count,
			deref(got.MedianBusiness), deref(got.P90Business), deref(got.MedianCalendar), deref(got.P90Calendar), count, medB, p90B, medC, p90C)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestMetricsOnASeededWeek(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := seedWeek(t, e)
	// Reports run "now" on Monday 10 March 00:00, so the backlog's age is known.
	e.clock.Set(utc("2025-03-10T00:00:00Z"))
	defer e.clock.Set(time.Time{})
	week := MetricsQuery{From: utc("2025-03-03T00:00:00Z"), To: utc("2025-03-10T00:00:00Z")}
	id := func(u *tickets.User) string { return itoa(u.ID) }

	q := week
	q.Group = GroupAgent
	m, err := e.svc.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	ana, bruno := rowOf(t, m, id(s.ana)), rowOf(t, m, id(s.bruno))
	if ana.Name != s.ana.Name {
		t.Errorf("name %q", ana.Name)
	}
	// Ana: T1 and T3 assigned, two replies on T1, T1 solved. Bruno: T2, three replies on T2 and
	// T4, T2 solved twice and T4 once, and T2's reopening counts against him.
	for _, c := range []struct {
		who                                           string
		r                                             MetricsRow
		assigned, solved, reopened, replies, answered int64
		share                                         float64
	}{
		{"Ana", ana, 2, 1, 0, 2, 1, 1.0 / 3},
		{"Bruno", bruno, 1, 3, 1, 3, 2, 2.0 / 3},
	} {
		if c.r.Assigned != c.assigned || c.r.Solved != c.solved || c.r.Reopened != c.reopened || c.r.Replies != c.replies || c.r.Answered != c.answered || !near(c.r.AnsweredShare, c.share) {
			t.Errorf("%s: %+v", c.who, c.r)
		}
	}
	// First response: Ana 1h (T1); Bruno T4 30m and T2 2h of business time (Mon 16–17, Tue
	// 09–10), 18h of calendar time. percentile_cont: the median of two is their mean, p90 is
	// 90% of the way from the first to the second.
	checkDurations(t, "Ana first response", ana.FirstResponse, 1, 3600, 3600, 3600, 3600)
	checkDurations(t, "Bruno first response", bruno.FirstResponse, 2, 4500, 6660, 33300, 58500)
	checkDurations(t, "Ana next response", ana.NextResponse, 1, 7200, 7200, 7200, 7200)
	checkDurations(t, "Bruno next response", bruno.NextResponse, 1, 1800, 1800, 1800, 1800)
	// Resolution: T1 5h; T2 3h before the reopening and 1h after (19h + 1h of calendar time),
	// T4 1h.
	checkDurations(t, "Ana resolution", ana.Resolution, 1, 18000, 18000, 18000, 18000)
	checkDurations(t, "Bruno resolution", bruno.Resolution, 2, 9000, 13320, 37800, 65160)
	// Clocks: Ana met T1's three and breached T3's first response; Bruno met all five.
	if ana.Clocks != 4 || ana.ClocksMet != 3 || !near(ana.MetShare, 0.75) || bruno.Clocks != 5 || bruno.ClocksMet != 5 || !near(bruno.MetShare, 1) {
		t.Errorf("clocks: Ana %d/%d, Bruno %d/%d", ana.ClocksMet, ana.Clocks, bruno.ClocksMet, bruno.Clocks)
	}
	// Backlog: T3, open since Tue 09:00: 5 days 15 hours, of which 32 business hours.
	if ana.Backlog != 1 || bruno.Backlog != 0 {
		t.Errorf("backlog: Ana %d, Bruno %d", ana.Backlog, bruno.Backlog)
	}
	checkDurations(t, "Ana backlog age", ana.BacklogAge, 1, 32*3600, 32*3600, 135*3600, 135*3600)
	// Second contact: T1 10:00 → 13:00; T2 Tue 10:00 → Wed 09:30 (7h30 of business time).
	checkDurations(t, "Ana second contact", ana.SecondContact, 1, 10800, 10800, 10800, 10800)
	checkDurations(t, "Bruno second contact", bruno.SecondContact, 1, 27000, 27000, 84600, 84600)
	if m.Overall.Answered < 3 || m.Overall.Clocks < 9 {
		t.Errorf("overall: %+v", m.Overall)
	}

	q.Group = GroupTeam
	m, err = e.svc.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	team := rowOf(t, m, itoa(s.team.ID))
	if team.Name != s.team.Name || team.Assigned != 3 || team.Solved != 3 || team.Reopened != 1 || team.Replies != 4 || team.Answered != 2 || team.Clocks != 7 || team.ClocksMet != 6 || team.Backlog != 1 {
		t.Errorf("team: %+v", team)
	}
	checkDurations(t, "team first response", team.FirstResponse, 2, 5400, 6840, 34200, 58680)

	q.Group = GroupTier
	m, err = e.svc.Metrics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	loyal, repeat := rowOf(t, m, "loyal"), rowOf(t, m, "repeat")
	if loyal.Assigned != 2 || loyal.Solved != 1 || loyal.Replies != 2 || loyal.Clocks != 4 || loyal.ClocksMet != 3 || loyal.Backlog != 1 {
		t.Errorf("loyal: %+v", loyal)
	}
	if repeat.Assigned != 1 || repeat.Solved != 3 || repeat.Reopened != 1 || repeat.Replies != 3 || repeat.Answered != 2 || repeat.Clocks != 5 || repeat.ClocksMet != 5 {
		t.Errorf("repeat: %+v", repeat)
	}

	// The week before holds nothing of ours.
	q = MetricsQuery{From: utc("2025-02-24T00:00:00Z"), To: utc("2025-03-03T00:00:00Z"), Group: GroupAll}
	if m, err = e.svc.Metrics(ctx, q); err != nil || m.Overall.Replies != 0 || m.Overall.Clocks != 0 {
		t.Errorf("the week before: %+v %v", m.Overall, err)
	}

	// CSV: a header, a row per group and the overall row.
	q = week
	q.Group = GroupAgent
	m, _ = e.svc.Metrics(ctx, q)
	var buf bytes.Buffer
	if err := m.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != len(m.Rows)+2 || len(recs[0]) != len(CSVHeader) || recs[len(recs)-1][1] != "all" {
		t.Fatalf("csv: %v %v", recs, err)
	}
	for _, r := range recs {
		if r[1] == id(s.bruno) && (r[9] != "2" || r[10] != "4500") {
			t.Errorf("Bruno's CSV row: %v", r)
		}
	}
}

func TestMetricsRejectsBadQueries(t *testing.T) {
	e := newEnv(t)
	for _, q := range []MetricsQuery{
		{From: utc("2025-03-10T00:00:00Z"), To: utc("2025-03-03T00:00:00Z")},
		{From: utc("2024-01-01T00:00:00Z"), To: utc("2025-03-03T00:00:00Z")},
		{From: utc("2025-03-03T00:00:00Z"), To: utc("2025-03-10T00:00:00Z"), Group: "country"},
		{},
	} {
		var v *tickets.ValidationError
		if _, err := e.svc.Metrics(context.Background(), q); !errors.As(err, &v) {
			t.Errorf("%+v: %v", q, err)
		}
	}
}
