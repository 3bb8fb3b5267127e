package demo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhelpdesk/helpdesk/internal/demo"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
)

var dsn string

// testNow is every test's reference moment, so that "nothing after now" holds for all their data.
var testNow = time.Date(2026, 3, 16, 10, 30, 0, 0, time.UTC)

func smallOptions() demo.Options {
	return demo.Options{Customers: 300, Tickets: 2000, Agents: 9, Seed: 7, Now: testNow, Logger: slog.New(slog.DiscardHandler)}
}

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m, func(d string) error { dsn = d; return nil }))
}

// counts are the row counts Result reports on.
type counts struct {
	customers, tickets, messages, events, users, teams, purchases int
}

func count(t *testing.T, conn *pgx.Conn) counts {
	t.Helper()
	var c counts
	err := conn.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM customers), (SELECT count(*) FROM tickets), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM events), (SELECT count(*) FROM users), (SELECT count(*) FROM teams),
		(SELECT count(*) FROM purchases)`).
		Scan(&c.customers, &c.tickets, &c.messages, &c.events, &c.users, &c.teams, &c.purchases)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// zero asks a question whose answer must be 0 (rows that break a rule), and reports it as name.
func zero(t *testing.T, conn *pgx.Conn, name, sql string, args ...any) {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if n != 0 {
		t.Errorf("%s: %d rows break the rule", name, n)
	}
}

func TestLoadTwiceAddsConsistentData(t *testing.T) {
	ctx := context.Background()
	conn := connect(t)
	now := testNow
	opts := smallOptions()

	var since int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM tickets`).Scan(&since); err != nil {
		t.Fatal(err)
	}
	before := count(t, conn)
	res1, err := demo.Load(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	after1 := count(t, conn)
	checkAdded(t, before, after1, res1)
	if res1.Customers != 300 || res1.Tickets != 2000 || res1.Agents != 9 || res1.Teams != 4 {
		t.Errorf("result %+v, want 300 customers, 2000 tickets, 9 staff, 4 teams", res1)
	}
	if res1.Messages < 2*res1.Tickets || res1.Messages > 4*res1.Tickets {
		t.Errorf("%d messages for %d tickets: want about 1 to 4 each", res1.Messages, res1.Tickets)
	}
	checkInvariants(t, conn, now, since, 1)

	var firstRunMaxTicket int64
	if err := conn.QueryRow(ctx, `SELECT max(id) FROM tickets`).Scan(&firstRunMaxTicket); err != nil {
		t.Fatal(err)
	}

	// A second run adds a second batch: no unique address, phone or team name gets in its way.
	// It runs with the foreign key triggers, the path taken without superuser rights, and must
	// come out the same.
	restore := demo.SetTriggerBypass(false)
	res2, err := demo.Load(ctx, dsn, opts)
	restore()
	if err != nil {
		t.Fatalf("second load: %v", err)
	}
	after2 := count(t, conn)
	checkAdded(t, after1, after2, res2)
	if res2.Teams != 0 || after2.teams != after1.teams {
		t.Errorf("second run created %d teams (%d -> %d); want the sample teams reused", res2.Teams, after1.teams, after2.teams)
	}
	// Same seed and Now, same data: the counts match exactly.
	if res2.Customers != res1.Customers || res2.Tickets != res1.Tickets || res2.Messages != res1.Messages ||
		res2.Events != res1.Events-4 /* team.created */ || res2.Agents != res1.Agents {
		t.Errorf("second run %+v differs from first %+v", res2, res1)
	}
	if after2.customers != 2*after1.customers || after2.tickets != 2*after1.tickets || after2.messages != 2*after1.messages || after2.users != 2*after1.users {
		t.Errorf("counts after two runs %+v, want twice %+v", after2, after1)
	}
	checkInvariants(t, conn, now, since, 2)

	// And the same content, ticket by ticket, apart from the ids.
	zero(t, conn, "second run's tickets equal the first's", `
		WITH a AS (SELECT row_number() OVER (ORDER BY id) n, subject, status, urgency, channel, created_at, updated_at, solved_at, closed_at,
				(SELECT count(*) FROM messages m WHERE m.ticket_id = t.id) msgs
			FROM tickets t WHERE id <= $1),
		b AS (SELECT row_number() OVER (ORDER BY id) n, subject, status, urgency, channel, created_at, updated_at, solved_at, closed_at,
				(SELECT count(*) FROM messages m WHERE m.ticket_id = t.id) msgs
			FROM tickets t WHERE id > $1)
		SELECT count(*) FROM a FULL JOIN b USING (n)
		WHERE (a.subject, a.status, a.urgency, a.channel, a.created_at, a.updated_at, a.msgs)
			IS DISTINCT FROM (b.subject, b.status, b.urgency, b.channel, b.created_at, b.updated_at, b.msgs)
			OR a.solved_at IS DISTINCT FROM b.solved_at OR a.closed_at IS DISTINCT FROM b.closed_at`, firstRunMaxTicket)
}

func checkAdded(t *testing.T, before, after counts, res *demo.Result) {
	t.Helper()
	added := counts{after.customers - before.customers, after.tickets - before.tickets, after.messages - before.messages,
		after.events - before.events, after.users - before.users, after.teams - before.teams, after.purchases - before.purchases}
	want := counts{res.Customers, res.Tickets, res.Messages, res.Events, res.Agents, res.Teams, res.Purchases}
	if res.Purchases == 0 {
		t.Error("no purchases were loaded")
	}
	if added != want {
		t.Errorf("rows added %+v, result says %+v", added, want)
	}
}

// checkInvariants checks the rules sample data must follow, on the whole database; the tickets
// after since come from runs loads.
func checkInvariants(t *testing.T, conn *pgx.Conn, now time.Time, since int64, runs int) {
	t.Helper()
	// The bypass of foreign key triggers must not have let a dangling reference through.
	for _, fk := range [][3]string{
		{"team_members", "team_id", "teams"}, {"team_members", "user_id", "users"},
		{"customer_identities", "customer_id", "customers"},
		{"tickets", "customer_id", "customers"}, {"tickets", "assignee_id", "users"}, {"tickets", "team_id", "teams"},
		{"messages", "ticket_id", "tickets"}, {"messages", "author_user_id", "users"}, {"messages", "author_customer_id", "customers"},
		{"events", "ticket_id", "tickets"}, {"events", "customer_id", "customers"},
		{"events", "actor_user_id", "users"}, {"events", "actor_customer_id", "customers"},
		{"purchases", "customer_id", "customers"},
	} {
		zero(t, conn, fk[0]+"."+fk[1]+" dangling", `SELECT count(*) FROM `+fk[0]+` f WHERE f.`+fk[1]+
			` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `+fk[2]+` r WHERE r.id = f.`+fk[1]+`)`)
	}
	zero(t, conn, "ticket without a first inbound message from its customer", `
		SELECT count(*) FROM tickets t
		WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id
			AND m.id = (SELECT min(id) FROM messages WHERE ticket_id = t.id)
			AND m.kind = 'inbound' AND m.author_customer_id = t.customer_id AND m.created_at = t.created_at)`)
	zero(t, conn, "purchase in the future or with a bad amount", `
		SELECT count(*) FROM purchases WHERE purchased_at > now() OR amount <= 0 OR currency <> 'EUR'`)
	zero(t, conn, "purchase before its customer was first seen", `
		SELECT count(*) FROM purchases p JOIN customers c ON c.id = p.customer_id WHERE p.purchased_at < c.first_seen_at`)
	zero(t, conn, "message before its ticket", `
		SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.created_at < t.created_at`)
	zero(t, conn, "messages of a ticket out of order", `
		SELECT count(*) FROM (SELECT created_at, lag(created_at) OVER (PARTITION BY ticket_id ORDER BY id) prev FROM messages) m
		WHERE m.created_at < m.prev`)
	// Within a run ticket ids grow with creation time; each later run starts over a year back.
	zero(t, conn, "ticket ids not growing with creation time", `
		SELECT count(*) - $2 FROM (SELECT created_at, lag(created_at) OVER (ORDER BY id) prev FROM tickets WHERE id > $1) t
		WHERE t.created_at < t.prev`, since, runs-1)
	zero(t, conn, "inbound from someone else than the ticket's customer", `
		SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE m.kind = 'inbound' AND m.author_customer_id <> t.customer_id`)
	zero(t, conn, "solved_at and closed_at not matching the status", `
		SELECT count(*) FROM tickets WHERE NOT CASE status
			WHEN 'solved' THEN solved_at IS NOT NULL AND closed_at IS NULL
			WHEN 'closed' THEN solved_at IS NOT NULL AND closed_at IS NOT NULL
			ELSE solved_at IS NULL AND closed_at IS NULL END`)
	zero(t, conn, "times out of order", `
		SELECT count(*) FROM tickets WHERE updated_at < created_at OR solved_at < created_at OR closed_at < solved_at
			OR updated_at < solved_at OR updated_at < closed_at OR greatest(updated_at, solved_at, closed_at) > $1`, now)
	zero(t, conn, "anything after now", `
		SELECT (SELECT count(*) FROM messages WHERE created_at > $1) + (SELECT count(*) FROM events WHERE created_at > $1)
			+ (SELECT count(*) FROM customers WHERE created_at > $1)`, now)
	zero(t, conn, "last message after updated_at", `
		SELECT count(*) FROM tickets t WHERE (SELECT max(created_at) FROM messages WHERE ticket_id = t.id) > t.updated_at`)
	zero(t, conn, "assignee outside the ticket's team", `
		SELECT count(*) FROM tickets t WHERE assignee_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = t.team_id AND tm.user_id = t.assignee_id)`)
	zero(t, conn, "worked ticket without a team", `SELECT count(*) FROM tickets WHERE status <> 'new' AND team_id IS NULL`)
	zero(t, conn, "new ticket with an assignee", `SELECT count(*) FROM tickets WHERE status = 'new' AND assignee_id IS NOT NULL`)
	zero(t, conn, "priority differs from urgency", `SELECT count(*) FROM tickets WHERE priority <> urgency`)
	zero(t, conn, "admin created", `SELECT count(*) FROM users WHERE role = 'admin' OR password_hash IS NOT NULL`)
	zero(t, conn, "staff address outside example.com", `SELECT count(*) FROM users WHERE email NOT LIKE '%@example.com'`)
	zero(t, conn, "customer without exactly one email identity", `
		SELECT count(*) FROM customers c
		WHERE (SELECT count(*) FROM customer_identities i WHERE i.customer_id = c.id AND i.kind = 'email') <> 1`)
	zero(t, conn, "address outside the documentation domains", `
		SELECT count(*) FROM customer_identities WHERE kind = 'email'
			AND value !~ '^[a-z0-9.]+@([a-z0-9-]+\.)?example\.(com|org|net)$'`)
	zero(t, conn, "phone not in intake's normalized form", `
		SELECT count(*) FROM customer_identities WHERE kind = 'phone' AND value !~ '^\+(346[0-9]{8}|447[0-9]{9})$'`)
	zero(t, conn, "ticket without exactly one ticket.created by its customer", `
		SELECT count(*) FROM tickets t WHERE (SELECT count(*) FROM events e WHERE e.ticket_id = t.id AND e.type = 'ticket.created'
			AND e.actor_kind = 'customer' AND e.actor_customer_id = t.customer_id AND e.customer_id = t.customer_id
			AND e.created_at = t.created_at AND e.data->>'subject' = t.subject AND e.data ? 'team_id') <> 1`)
	zero(t, conn, "customer without customer.created", `
		SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.id AND e.type = 'customer.created' AND e.ticket_id IS NULL)`)
	zero(t, conn, "later message without message.added", `
		SELECT count(*) FROM messages m
		WHERE m.id > (SELECT min(id) FROM messages WHERE ticket_id = m.ticket_id)
			AND NOT EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = m.ticket_id AND e.type = 'message.added'
				AND (e.data->>'message_id')::bigint = m.id AND e.data->>'kind' = m.kind
				AND coalesce(e.actor_user_id, e.actor_customer_id) = coalesce(m.author_user_id, m.author_customer_id))`)
	zero(t, conn, "message.added for no message", `
		SELECT count(*) FROM events e WHERE e.type = 'message.added'
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = (e.data->>'message_id')::bigint AND m.ticket_id = e.ticket_id)`)
	zero(t, conn, "status changes that do not lead to the ticket's status", `
		SELECT count(*) FROM tickets t WHERE status <> coalesce(
			(SELECT data->>'to' FROM events e WHERE e.ticket_id = t.id AND e.type = 'ticket.status_changed' ORDER BY id DESC LIMIT 1), 'new')`)
	zero(t, conn, "status change chain broken", `
		SELECT count(*) FROM (SELECT data->>'from' f, lag(data->>'to', 1, 'new') OVER (PARTITION BY ticket_id ORDER BY id) prev
			FROM events WHERE type = 'ticket.status_changed') s WHERE f <> prev`)
	zero(t, conn, "solved or closed without its status event at that time", `
		SELECT count(*) FROM tickets t WHERE status IN ('solved', 'closed') AND NOT EXISTS (SELECT 1 FROM events e
			WHERE e.ticket_id = t.id AND e.type = 'ticket.status_changed' AND e.data->>'to' = 'solved' AND e.created_at = t.solved_at)`)
	zero(t, conn, "closed without the system's closing event", `
		SELECT count(*) FROM tickets t WHERE status = 'closed' AND NOT EXISTS (SELECT 1 FROM events e
			WHERE e.ticket_id = t.id AND e.type = 'ticket.status_changed' AND e.data->>'to' = 'closed'
			AND e.actor_kind = 'system' AND e.created_at = t.closed_at)`)
	zero(t, conn, "assignee without an assignment event", `
		SELECT count(*) FROM tickets t WHERE assignee_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events e
			WHERE e.ticket_id = t.id AND e.type = 'ticket.assignee_changed' AND (e.data->>'to')::bigint = t.assignee_id)`)
	zero(t, conn, "events of a ticket out of order", `
		SELECT count(*) FROM (SELECT created_at, lag(created_at) OVER (PARTITION BY ticket_id ORDER BY id) prev
			FROM events WHERE ticket_id IS NOT NULL) e WHERE e.created_at < e.prev`)

	// Shape: mostly done, some in progress, bodies of a readable length, both languages.
	var closedShare, activeShare, avgBody, spanish float64
	err := conn.QueryRow(context.Background(), `SELECT
		avg((status IN ('solved', 'closed'))::int), avg((status IN ('new', 'open', 'pending', 'on-hold'))::int),
		(SELECT avg(length(body_text)) FROM messages), (SELECT avg((body_text ~ '(Hola|Buenos días|Buenas tardes|Estimado)')::int) FROM messages WHERE kind = 'inbound')
		FROM tickets`).Scan(&closedShare, &activeShare, &avgBody, &spanish)
	if err != nil {
		t.Fatal(err)
	}
	if closedShare < 0.85 || activeShare < 0.005 {
		t.Errorf("%.3f solved or closed, %.3f in progress: want most done and some in progress", closedShare, activeShare)
	}
	if avgBody < 150 || avgBody > 500 {
		t.Errorf("messages average %.0f bytes, want 150 to 500", avgBody)
	}
	if spanish < 0.2 || spanish > 0.8 {
		t.Errorf("%.2f of first messages in Spanish, want a mix", spanish)
	}
}

// A table's own insert triggers must keep firing: the loader may skip only foreign key checks.
func TestLoadKeepsTheTablesOwnTriggers(t *testing.T) {
	ctx := context.Background()
	conn := connect(t)
	for _, sql := range []string{
		`CREATE TABLE demo_trigger_hits (ticket_id bigint)`,
		`CREATE FUNCTION demo_trigger_hit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO demo_trigger_hits VALUES (NEW.id); RETURN NEW; END $$`,
		`CREATE TRIGGER demo_trigger_hit AFTER INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION demo_trigger_hit()`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		conn.Exec(ctx, `DROP TRIGGER demo_trigger_hit ON tickets`)
		conn.Exec(ctx, `DROP FUNCTION demo_trigger_hit()`)
		conn.Exec(ctx, `DROP TABLE demo_trigger_hits`)
	})
	opts := smallOptions()
	opts.Tickets = 50
	res, err := demo.Load(ctx, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	var hits int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM demo_trigger_hits`).Scan(&hits); err != nil {
		t.Fatal(err)
	}
	if hits != res.Tickets {
		t.Errorf("the tickets trigger fired %d times for %d tickets", hits, res.Tickets)
	}
}

// Without superuser rights the loader cannot skip foreign key triggers; it must still load.
func TestLoadAsOrdinaryRole(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(dsn, "postgres") {
		t.Skip("needs a URL DSN to log in as another role")
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	role := "helpdesk_demo_" + hex.EncodeToString(suffix)
	conn := connect(t)
	for _, sql := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO ` + role,
		`GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ` + role,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		conn.Exec(ctx, `DROP OWNED BY `+role)
		conn.Exec(ctx, `DROP ROLE `+role)
	})
	u.User = url.User(role)
	if c, err := pgx.Connect(ctx, u.String()); err != nil {
		t.Skipf("cannot log in as a new role without a password: %v", err)
	} else {
		c.Close(ctx)
	}
	opts := smallOptions()
	opts.Tickets = 200
	before := count(t, conn)
	res, err := demo.Load(ctx, u.String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkAdded(t, before, count(t, conn), res)
}

func TestLoadRejectsNegativeCounts(t *testing.T) {
	if _, err := demo.Load(context.Background(), dsn, demo.Options{Tickets: -1}); err == nil {
		t.Fatal("Load accepted -1 tickets")
	}
}

// TestLoadBig loads a large desk (100k customers, 1M tickets) to measure the loader. It takes
// minutes and gigabytes, so it runs only with HELPDESK_DEMO_BIG=1.
func TestLoadBig(t *testing.T) {
	if os.Getenv("HELPDESK_DEMO_BIG") == "" {
		t.Skip("set HELPDESK_DEMO_BIG=1 to load 100k customers and 1M tickets")
	}
	opts := demo.Options{Customers: 100_000, Tickets: 1_000_000, Agents: 60, Seed: 42}
	res, err := demo.Load(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Customers + res.Tickets + res.Messages + res.Events
	t.Logf("%+v: %.0f rows/s", *res, float64(rows)/res.Duration.Seconds())
}
