// Package demo fills a help desk database with realistic sample data: customers, staff, teams
// and a year of tickets with their conversations and audit events, in volumes that make it
// possible to try the desk (and its queries) at the size of a busy installation.
//
// Loading goes through COPY on two connections, in batches of tickets generated on the fly (never
// the whole run in memory). Ids of rows that other rows refer to are reserved from the sequences
// first, so a ticket's messages and events are written without asking the database for the
// ticket's id. Where it may, the loader also replaces the per-row foreign key checks with one
// lock per batch (see refs.go), which halves the time of a large load.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options say how much to load. Zero values take the defaults.
type Options struct {
	Customers int // default 200
	Tickets   int // default 1000
	Agents    int // staff users, a few of them supervisors and none admins; default 12
	// Purchases spread over the customers, the input of their value scores; default 4 per
	// customer. Negative loads none.
	Purchases int
	Seed      int64 // default 1; the same seed gives the same data, apart from ids
	Logger    *slog.Logger
	// Now is the reference moment: tickets spread over the 12 months before it and nothing happens
	// after it. Default time.Now(); set it for data that is the same from one run to the next.
	Now time.Time
}

// Result counts what Load added.
type Result struct {
	Customers, Tickets, Messages, Events, Agents, Purchases int
	// Teams counts the teams created. Teams with the sample names that already exist, from an
	// earlier run or made by hand, are reused.
	Teams    int
	Duration time.Duration
}

// batchSize is the number of tickets generated and copied in one transaction. It is part of what
// a seed means (each batch draws from its own random stream), so changing it changes the data.
const batchSize = 5000

// workers is the number of connections copying ticket batches at once. Each COPY keeps one server
// process busy; two keep both cores of a small machine busy, and generating a batch (about a tenth
// of the work) overlaps with the other worker's writing.
const workers = 2

// progressEvery is how many tickets pass between progress log lines.
const progressEvery = 200_000

// Load adds sample data to the database at dsn. It never changes or deletes what is there:
// running it twice adds a second batch with fresh customers and staff (generated addresses carry
// the row's id, so they never collide with an earlier run's) and reuses the sample teams.
// Every address is under example.com, example.org or example.net, reserved for documentation.
func Load(ctx context.Context, dsn string, opts Options) (*Result, error) {
	start := time.Now()
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	l := &loader{opts: opts, log: opts.Logger}
	err := l.connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer l.close()

	if l.fastRefs, err = l.bypassTriggers(ctx); err != nil {
		return nil, err
	}
	now := opts.Now.UTC().Truncate(time.Microsecond)
	windowStart := now.AddDate(-1, 0, 0)
	window := newCurve(windowStart, now)
	l.now = now.UnixMicro()

	if err := l.loadStaff(ctx); err != nil {
		return nil, err
	}
	if err := l.loadCustomers(ctx, window, windowStart.UnixMicro()); err != nil {
		return nil, err
	}
	l.log.Info("demo: customers loaded", "customers", l.res.Customers, "staff", l.res.Agents,
		"foreign_keys", map[bool]string{true: "checked per batch", false: "checked per row"}[l.fastRefs],
		"elapsed", time.Since(start).Round(time.Millisecond))

	if err := l.loadPurchases(ctx, max(opts.Purchases, 0)); err != nil {
		return nil, err
	}
	p := newPlanner(opts.Seed, opts.Tickets, l.now, window, l.customers, l.staff, len(teamNames))
	if err := l.loadTickets(ctx, p); err != nil {
		return nil, err
	}
	// Fresh statistics, or the planner would see tables of a few rows and plan accordingly.
	if _, err := l.conns[0].Exec(ctx, `ANALYZE users, teams, team_members, customers, customer_identities, tickets, messages, events, purchases`); err != nil {
		return nil, fmt.Errorf("demo: analyze: %w", err)
	}
	l.res.Duration = time.Since(start)
	l.log.Info("demo: done", "customers", l.res.Customers, "tickets", l.res.Tickets, "messages", l.res.Messages,
		"events", l.res.Events, "staff", l.res.Agents, "duration", l.res.Duration.Round(time.Millisecond))
	res := l.res
	return &res, nil
}

func (o *Options) defaults() error {
	if o.Customers < 0 || o.Tickets < 0 || o.Agents < 0 {
		return errors.New("demo: counts must not be negative")
	}
	if o.Customers == 0 {
		o.Customers = 200
	}
	if o.Tickets == 0 {
		o.Tickets = 1000
	}
	if o.Agents == 0 {
		o.Agents = 12
	}
	if o.Purchases == 0 {
		o.Purchases = 4 * o.Customers
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return nil
}

// loader is the state of one Load.
type loader struct {
	opts      Options
	log       *slog.Logger
	conns     [workers]*pgx.Conn
	now       int64
	staff     []staffer
	teamIDs   []int64
	customers []customer
	res       Result
	// fastRefs: the sessions skip foreign key triggers, and transactions lock what they
	// reference themselves (see refs.go).
	fastRefs bool
}

func (l *loader) connect(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return errors.New("demo: the DSN is not a valid PostgreSQL URL or key=value string")
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "helpdesk-demo"
	}
	// Each batch commits on its own; waiting for every commit to reach the disk would only slow
	// the load, and a crash can at worst lose the last batches of sample data.
	cfg.RuntimeParams["synchronous_commit"] = "off"
	for i := range l.conns {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			l.close()
			return fmt.Errorf("demo: connect: %w", err)
		}
		l.conns[i] = conn
	}
	return nil
}

func (l *loader) close() {
	for i, c := range l.conns {
		if c != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c.Close(ctx)
			cancel()
			l.conns[i] = nil
		}
	}
}

// reserveIDs takes n values from each named sequence in one round trip. The values come in
// ascending order but need not be contiguous: other sessions may draw from the same sequence.
func reserveIDs(ctx context.Context, conn *pgx.Conn, seqs []string, counts []int) ([][]int64, error) {
	sql := "SELECT "
	args := make([]any, 0, 2*len(seqs))
	for i, seq := range seqs {
		if i > 0 {
			sql += ", "
		}
		sql += fmt.Sprintf("array(SELECT nextval($%d::regclass) FROM generate_series(1, $%d::int))", 2*i+1, 2*i+2)
		args = append(args, seq, counts[i])
	}
	out := make([][]int64, len(seqs))
	dest := make([]any, len(seqs))
	for i := range out {
		dest[i] = &out[i]
	}
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("reserve ids: %w", err)
	}
	for i := range out {
		if len(out[i]) != counts[i] {
			return nil, fmt.Errorf("reserve ids: got %d of %d from %s", len(out[i]), counts[i], seqs[i])
		}
	}
	return out, nil
}

// loadStaff creates the staff users, finds or creates the teams and puts the staff in them, with
// the events the application would have recorded.
func (l *loader) loadStaff(ctx context.Context) error {
	conn := l.conns[0]
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("demo: staff: %w", err)
	}
	defer tx.Rollback(ctx)

	ids, err := reserveIDs(ctx, conn, []string{"users_id_seq"}, []int{l.opts.Agents})
	if err != nil {
		return fmt.Errorf("demo: staff: %w", err)
	}
	l.staff = genStaff(l.opts.Seed, ids[0], len(teamNames), l.now)

	var events [][]any
	event := func(at int64, typ, data string) {
		events = append(events, []any{timeOf(at), "system", nil, nil, nil, nil, typ, []byte(data)})
	}
	rows := make([][]any, len(l.staff))
	for i, s := range l.staff {
		rows[i] = []any{s.id, s.email, s.name, s.role, timeOf(s.created)}
		data := appendJSONString([]byte(`{"user_id":`+fmt.Sprint(s.id)+`,"email":`), s.email)
		data = append(data, `,"role":"`+s.role+`"}`...)
		event(s.created, "user.created", string(data))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "email", "name", "role", "created_at"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("demo: copy users: %w", err)
	}

	// Teams predate their members.
	teamsCreated := l.now - 430*microsPerDay
	l.teamIDs = make([]int64, len(teamNames))
	for i, name := range teamNames {
		// The unique index is on lower(name): take the existing team of that name if there is one.
		// The second branch runs on the statement's snapshot, so it sees only a team that was
		// there before, never the one this statement inserts.
		var created bool
		err := tx.QueryRow(ctx, `
			WITH ins AS (
				INSERT INTO teams (name, created_at) VALUES ($1, $2)
				ON CONFLICT ((lower(name))) DO NOTHING
				RETURNING id
			)
			SELECT id, true FROM ins
			UNION ALL
			SELECT id, false FROM teams WHERE lower(name) = lower($1)
			LIMIT 1`, name, timeOf(teamsCreated)).Scan(&l.teamIDs[i], &created)
		if err != nil {
			return fmt.Errorf("demo: team %q: %w", name, err)
		}
		if created {
			l.res.Teams++
			data := appendJSONString([]byte(`{"team_id":`+fmt.Sprint(l.teamIDs[i])+`,"name":`), name)
			event(teamsCreated, "team.created", string(append(data, '}')))
		}
	}
	if l.fastRefs {
		// The teams may be an earlier run's; the members' rows must not lose them.
		if err := lockRefs(ctx, tx, "teams", l.teamIDs); err != nil {
			return fmt.Errorf("demo: teams: %w", err)
		}
	}
	var members [][]any
	for _, s := range l.staff {
		for _, t := range s.teams {
			members = append(members, []any{l.teamIDs[t], s.id})
			event(s.created+microsPerHour, "team.member_added", fmt.Sprintf(`{"team_id":%d,"user_id":%d}`, l.teamIDs[t], s.id))
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"team_members"}, []string{"team_id", "user_id"}, pgx.CopyFromRows(members)); err != nil {
		return fmt.Errorf("demo: copy team members: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, pgx.CopyFromRows(events)); err != nil {
		return fmt.Errorf("demo: copy staff events: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("demo: staff: %w", err)
	}
	l.res.Agents = len(l.staff)
	l.res.Events += len(events)
	return nil
}

var eventColumns = []string{"created_at", "actor_kind", "actor_user_id", "actor_customer_id", "ticket_id", "customer_id", "type", "data"}

// loadCustomers creates the customers, their identities and their customer.created events.
func (l *loader) loadCustomers(ctx context.Context, window *curve, windowStart int64) error {
	conn := l.conns[0]
	ids, err := reserveIDs(ctx, conn, []string{"customers_id_seq"}, []int{l.opts.Customers})
	if err != nil {
		return fmt.Errorf("demo: customers: %w", err)
	}
	l.customers = genCustomers(l.opts.Seed, ids[0], window, windowStart, l.now)
	cs := l.customers

	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("demo: customers: %w", err)
	}
	defer tx.Rollback(ctx)

	_, err = tx.CopyFrom(ctx, pgx.Identifier{"customers"},
		[]string{"id", "name", "kind", "organization", "created_at", "updated_at", "first_seen_at"},
		&rowSource{n: len(cs), row: make([]any, 7), fill: func(i int, row []any) {
			c := &cs[i]
			org := ""
			if c.org >= 0 {
				org = organizations[c.org].name
			}
			at := timeOf(c.created)
			row[0], row[1], row[2], row[3], row[4], row[5], row[6] = c.id, c.fullName(), customerKinds[c.kind], org, at, at, at
		}})
	if err != nil {
		return fmt.Errorf("demo: copy customers: %w", err)
	}

	// Identities go through a staging table: an address can't collide with an earlier run's (it
	// carries the customer id), but a phone number can belong to somebody entered by hand, and
	// one such clash must not fail the whole load. The clashing identity is simply left out.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE demo_identities (customer_id bigint, kind text, value text, created_at timestamptz) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("demo: identities: %w", err)
	}
	type ident struct {
		c     int
		phone bool
	}
	var idents []ident
	for i := range cs {
		idents = append(idents, ident{i, false})
		if cs[i].phone {
			idents = append(idents, ident{i, true})
		}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"demo_identities"}, []string{"customer_id", "kind", "value", "created_at"},
		&rowSource{n: len(idents), row: make([]any, 4), fill: func(i int, row []any) {
			c := &cs[idents[i].c]
			row[0], row[3] = c.id, timeOf(c.created)
			if idents[i].phone {
				row[1], row[2] = "phone", c.phoneNumber()
			} else {
				row[1], row[2] = "email", c.email()
			}
		}})
	if err != nil {
		return fmt.Errorf("demo: copy identities: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO customer_identities (customer_id, kind, value, created_at)
		SELECT customer_id, kind, value, created_at FROM demo_identities ORDER BY customer_id, kind
		ON CONFLICT (kind, value) DO NOTHING`); err != nil {
		return fmt.Errorf("demo: identities: %w", err)
	}

	var data []byte
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns,
		&rowSource{n: len(cs), row: make([]any, 8), fill: func(i int, row []any) {
			c := &cs[i]
			data = append(data[:0], `{"channel":"`...)
			data = append(data, channelNames[c.channel0]...)
			data = append(data, `"}`...)
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = timeOf(c.created), "customer", nil, c.id, nil, c.id, "customer.created", data
		}})
	if err != nil {
		return fmt.Errorf("demo: copy customer events: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("demo: customers: %w", err)
	}
	l.res.Customers = len(cs)
	l.res.Events += len(cs)
	return nil
}

// rowSource hands COPY one generated row at a time, so that a table's rows never need to exist
// all at once as []any. pgx encodes each row before asking for the next, which lets fill reuse
// row and the buffers it points to.
type rowSource struct {
	n, i int
	row  []any
	fill func(i int, row []any)
}

func (s *rowSource) Next() bool {
	if s.i >= s.n {
		return false
	}
	s.i++
	return true
}

func (s *rowSource) Values() ([]any, error) {
	s.fill(s.i-1, s.row)
	return s.row, nil
}

func (s *rowSource) Err() error { return nil }

// loadTickets plans and copies the tickets batch by batch on all connections.
func (l *loader) loadTickets(ctx context.Context, p *planner) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	total := l.opts.Tickets
	nBatches := (total + batchSize - 1) / batchSize

	// Batches reserve their ids in batch order, so that ticket ids grow with creation time across
	// batches too: turn[b] is closed when batch b may reserve.
	turn := make([]chan struct{}, nBatches+1)
	for i := range turn {
		turn[i] = make(chan struct{})
	}
	close(turn[0])

	var next atomic.Int64
	var mu sync.Mutex
	started := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		conn := l.conns[w]
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= nBatches || ctx.Err() != nil {
					return
				}
				first := b * batchSize
				bt := p.plan(b, first, min(batchSize, total-first))
				select {
				case <-turn[b]:
				case <-ctx.Done():
					return
				}
				err := l.reserveBatch(ctx, conn, bt)
				close(turn[b+1])
				if err == nil {
					err = l.copyBatch(ctx, conn, p, bt)
				}
				if err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				before := l.res.Tickets
				l.res.Tickets += len(bt.tickets)
				l.res.Messages += len(bt.messages)
				l.res.Events += len(bt.events)
				if l.res.Tickets/progressEvery != before/progressEvery || l.res.Tickets == total {
					elapsed := time.Since(started)
					l.log.Info("demo: tickets loaded", "tickets", l.res.Tickets, "total", total,
						"messages", l.res.Messages, "events", l.res.Events,
						"tickets_per_s", int(float64(l.res.Tickets)/elapsed.Seconds()))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("demo: tickets: %w", err)
		}
		return err
	}
	return nil
}

func (l *loader) reserveBatch(ctx context.Context, conn *pgx.Conn, bt *batch) error {
	ids, err := reserveIDs(ctx, conn, []string{"tickets_id_seq", "messages_id_seq"}, []int{len(bt.tickets), len(bt.messages)})
	if err != nil {
		return fmt.Errorf("demo: batch %d: %w", bt.number, err)
	}
	bt.ticketIDs, bt.messageIDs = ids[0], ids[1]
	return nil
}

// copyBatch writes a batch's tickets, messages and events in one transaction, so that a ticket
// is never there without its conversation.
func (l *loader) copyBatch(ctx context.Context, conn *pgx.Conn, p *planner, bt *batch) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("demo: batch %d: %w", bt.number, err)
	}
	defer tx.Rollback(ctx)
	staffID := func(i int32) any {
		if i < 0 {
			return nil
		}
		return l.staff[i].id
	}
	teamID := func(i int32) any {
		if i < 0 {
			return nil
		}
		return l.teamIDs[i]
	}
	optTime := func(t int64) any {
		if t == 0 {
			return nil
		}
		return timeOf(t)
	}

	if l.fastRefs {
		if err := l.lockBatchRefs(ctx, tx, p, bt); err != nil {
			return fmt.Errorf("demo: batch %d: %w", bt.number, err)
		}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"tickets"},
		[]string{"id", "subject", "status", "urgency", "priority", "channel", "customer_id", "assignee_id", "team_id",
			"created_at", "updated_at", "solved_at", "closed_at"},
		&rowSource{n: len(bt.tickets), row: make([]any, 13), fill: func(i int, row []any) {
			t := &bt.tickets[i]
			row[0], row[1], row[2], row[3], row[4], row[5] = bt.ticketIDs[i], t.subject, statusNames[t.status], t.urgency, t.urgency, channelNames[t.channel]
			row[6], row[7], row[8] = p.customers[t.customer].id, staffID(t.assignee), teamID(t.team)
			row[9], row[10], row[11], row[12] = timeOf(t.created), timeOf(t.updated), optTime(t.solved), optTime(t.closed)
		}})
	if err != nil {
		return fmt.Errorf("demo: batch %d: copy tickets: %w", bt.number, err)
	}

	_, err = tx.CopyFrom(ctx, pgx.Identifier{"messages"},
		[]string{"id", "ticket_id", "kind", "author_user_id", "author_customer_id", "body_text", "created_at"},
		&rowSource{n: len(bt.messages), row: make([]any, 7), fill: func(i int, row []any) {
			m := &bt.messages[i]
			row[0], row[1], row[2] = bt.messageIDs[i], bt.ticketIDs[m.ticket], kindNames[m.kind]
			if m.kind == kindInbound {
				row[3], row[4] = nil, p.customers[bt.tickets[m.ticket].customer].id
			} else {
				row[3], row[4] = l.staff[m.author].id, nil
			}
			row[5], row[6] = m.body, timeOf(m.at)
		}})
	if err != nil {
		return fmt.Errorf("demo: batch %d: copy messages: %w", bt.number, err)
	}

	var data []byte
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns,
		&rowSource{n: len(bt.events), row: make([]any, 8), fill: func(i int, row []any) {
			e := &bt.events[i]
			t := &bt.tickets[e.ticket]
			custID := p.customers[t.customer].id
			row[0], row[4], row[5], row[6] = timeOf(e.at), bt.ticketIDs[e.ticket], custID, eventTypes[e.typ]
			row[1], row[2], row[3] = actorKinds[e.actor], nil, nil
			switch e.actor {
			case actorUser:
				row[2] = l.staff[e.user].id
			case actorCustomer:
				row[3] = custID
			}
			data = l.eventData(data[:0], bt, e)
			row[7] = data
		}})
	if err != nil {
		return fmt.Errorf("demo: batch %d: copy events: %w", bt.number, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("demo: batch %d: commit: %w", bt.number, err)
	}
	return nil
}

// lockBatchRefs locks the committed rows a batch refers to: its customers, the staff and the teams.
func (l *loader) lockBatchRefs(ctx context.Context, tx pgx.Tx, p *planner, bt *batch) error {
	custIDs := make([]int64, len(bt.tickets))
	for i := range bt.tickets {
		custIDs[i] = p.customers[bt.tickets[i].customer].id
	}
	if err := lockRefs(ctx, tx, "customers", custIDs); err != nil {
		return err
	}
	staffIDs := make([]int64, len(l.staff))
	for i := range l.staff {
		staffIDs[i] = l.staff[i].id
	}
	if err := lockRefs(ctx, tx, "users", staffIDs); err != nil {
		return err
	}
	return lockRefs(ctx, tx, "teams", l.teamIDs)
}

// eventData writes an event's payload as the application does for the same change.
func (l *loader) eventData(b []byte, bt *batch, e *plannedEvent) []byte {
	appendID := func(b []byte, id int64) []byte { return strconv.AppendInt(b, id, 10) }
	switch e.typ {
	case evTicketCreated:
		t := &bt.tickets[e.ticket]
		b = append(b, `{"channel":"`...)
		b = append(b, channelNames[t.channel]...)
		b = append(b, `","subject":`...)
		b = appendJSONString(b, t.subject)
		b = append(b, `,"urgency":"`...)
		b = append(b, urgencyNames[t.urgency]...)
		b = append(b, `","priority":"`...)
		b = append(b, urgencyNames[t.urgency]...)
		b = append(b, `","team_id":`...)
		if t.team >= 0 {
			b = appendID(b, l.teamIDs[t.team])
		} else {
			b = append(b, "null"...)
		}
		return append(b, '}')
	case evMessageAdded:
		b = append(b, `{"message_id":`...)
		b = appendID(b, bt.messageIDs[e.message])
		b = append(b, `,"kind":"`...)
		b = append(b, kindNames[bt.messages[e.message].kind]...)
		return append(b, `"}`...)
	case evStatusChanged:
		b = append(b, `{"from":"`...)
		b = append(b, statusNames[e.from]...)
		b = append(b, `","to":"`...)
		b = append(b, statusNames[e.to]...)
		if e.actor == actorSystem {
			b = append(b, `","reason":"`+autoCloseReason...)
		}
		return append(b, `"}`...)
	case evAssigneeChanged:
		return append(appendID(append(b, `{"from":null,"to":`...), l.staff[e.to].id), '}')
	}
	return append(b, "{}"...)
}
