package sla

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
	"github.com/openhelpdesk/helpdesk/tickets"
)

var (
	db      *gorm.DB
	testDSN string
	unique  atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m, func(dsn string) error {
		testDSN = dsn
		var err error
		db, err = database.Open(context.Background(), dsn, database.Options{Logger: slog.New(slog.DiscardHandler)})
		return err
	}))
}

// testClock is a movable clock for the sweeper.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// mailbox records the emails the sweeper queues.
type mailbox struct {
	mu   sync.Mutex
	sent []Email
}

func (m *mailbox) send(_ context.Context, tx *gorm.DB, e Email) error {
	if tx == nil {
		return fmt.Errorf("no transaction")
	}
	m.mu.Lock()
	m.sent = append(m.sent, e)
	m.mu.Unlock()
	return nil
}

// about returns the emails to addr about a ticket.
func (m *mailbox) about(addr string, ticketID int64) []Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Email
	for _, e := range m.sent {
		// A digest of several notices names each ticket in its body.
		if e.ToAddress == addr && (e.TicketID == ticketID || strings.Contains(e.Body, fmt.Sprintf("Ticket #%d ", ticketID))) {
			out = append(out, e)
		}
	}
	return out
}

type env struct {
	desk  *tickets.Desk
	svc   *Service
	clock *testClock
	mail  *mailbox
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{desk: tickets.NewDesk(db, tickets.Limits{}), clock: &testClock{}, mail: &mailbox{}}
	e.svc = New(db, e.desk, Options{Logger: slog.New(slog.DiscardHandler), Mailer: e.mail.send, BaseURL: "https://help.example.com", Now: e.clock.Now})
	if err := e.svc.PrepareSpans(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func email(prefix string) string { return fmt.Sprintf("%s.%d@example.com", prefix, unique.Add(1)) }

func (e *env) agent(t testing.TB, role tickets.Role) *tickets.User {
	t.Helper()
	u, err := tickets.NewStaff(db).CreateUser(context.Background(), tickets.SystemActor, tickets.NewUser{Email: email(string(role)), Name: "Staff " + string(role), Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) team(t testing.TB, members ...*tickets.User) *tickets.Team {
	t.Helper()
	staff := tickets.NewStaff(db)
	team, err := staff.CreateTeam(context.Background(), tickets.SystemActor, fmt.Sprintf("Team %d", unique.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if err := staff.SetMember(context.Background(), tickets.SystemActor, team.ID, m.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	return team
}

func (e *env) ticket(t testing.TB, urgency tickets.Level, createdBy int64) *tickets.Ticket {
	t.Helper()
	tk, err := e.desk.Intake(context.Background(), tickets.NewTicket{
		Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("customer"), Name: "Lucía García"},
		Subject: "Cannot log in", Body: "The login page says my password is wrong.", Urgency: urgency, CreatedBy: createdBy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// clocks reads a ticket's stored clocks, keyed "kind/cycle".
func clocksOf(t testing.TB, ticketID int64) map[string]clockRow {
	t.Helper()
	var rows []clockRow
	err := db.Raw(`SELECT ticket_id, kind, cycle, policy_id, calendar_id, business, target_seconds, state, started_at,
			running_since, business_seconds, calendar_seconds, due_at, warn_at, breached_at, stopped_at, stopped_by,
			warned_at, escalated_at, next_check_at, assignee_id, team_id, tier
		FROM sla_clocks WHERE ticket_id = ? ORDER BY kind, cycle`, ticketID).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]clockRow{}
	for _, r := range rows {
		out[fmt.Sprintf("%s/%d", r.Kind, r.Cycle)] = r
	}
	return out
}

func count(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// setTier gives a customer a tier the way the customer-value scoring does: in customer_scores
// (a customer without a row there is new).
func setTier(t testing.TB, tx *gorm.DB, customerID int64, tier string) {
	t.Helper()
	err := tx.Exec(`INSERT INTO customer_scores (customer_id, run_id, frequency, monetary, purchases_total, r_score, f_score,
			m_score, clv, tenure_days, tenure_points, rfm_points, support_points, open_tickets, recent_tickets, loyalty,
			churn_risk, tier, computed_at)
		VALUES (?, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 'low', ?, now())
		ON CONFLICT (customer_id) DO UPDATE SET tier = excluded.tier`, customerID, tier).Error
	if err != nil {
		t.Fatal(err)
	}
}

func ticketCreatedAt(t testing.TB, id int64) time.Time {
	t.Helper()
	var at time.Time
	if err := db.Raw(`SELECT created_at FROM tickets WHERE id = ?`, id).Scan(&at).Error; err != nil {
		t.Fatal(err)
	}
	return at
}

// officeHours is the migration's default calendar.
func officeHours(t testing.TB, e *env) *Calendar {
	t.Helper()
	cals, err := e.svc.Calendars(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cals {
		if c.Name == "Office hours" {
			return c.Calendar
		}
	}
	t.Fatal("no default calendar")
	return nil
}

// policyNamed finds a policy; settings tests restore what they change.
// changePolicy saves the policy called name as edit leaves it, and puts it back as it was when
// the test ends.
func changePolicy(t testing.TB, e *env, admin tickets.Actor, name string, edit func(*Policy)) {
	t.Helper()
	ctx := context.Background()
	changed := *policyNamed(t, e, name)
	original := changed
	original.Targets = map[Kind]*Target{}
	for k, v := range changed.Targets {
		c := *v
		original.Targets[k] = &c
	}
	t.Cleanup(func() {
		if _, err := e.svc.SavePolicy(ctx, admin, original.ID, original); err != nil {
			t.Error(err)
		}
		e.svc.Sweep(ctx)
	})
	edit(&changed)
	if _, err := e.svc.SavePolicy(ctx, admin, changed.ID, changed); err != nil {
		t.Fatal(err)
	}
}

func policyNamed(t testing.TB, e *env, name string) *Policy {
	t.Helper()
	ps, err := e.svc.Policies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	t.Fatalf("no policy %q", name)
	return nil
}
