// Package tickets is the core of the help desk: customers and their identities, tickets, their
// conversations and attachments, staff and teams, and the audit trail of every change. It depends
// on nothing else of ours; every channel (web form, email, API) goes through the same intake.
package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Desk is where tickets are opened, answered and moved through their statuses.
type Desk struct {
	db         *gorm.DB
	limits     Limits
	hooks      []Hook
	settings   settingsCache
	initialDue InitialDue
	companions []Companion
	// turns admits units of work to the database a few at a time, in the order they came:
	// database/sql hands a freed connection to a random waiter, so under load some requests
	// waited many turns (intake's p99 was twice its p50), and with fewer transactions at once
	// the database spends less of the machine switching between them. nil lets every unit in:
	// a desk inside another's transaction (InTx) is already admitted.
	turns chan struct{}
}

// InitialDue says when a ticket created at created, with this priority for a customer of this
// tier, first falls due, or nil.
type InitialDue func(priority Level, tier Tier, created time.Time) *time.Time

// SetInitialDue lets the SLA module say, before a new ticket is written, when its clocks will
// first fall due, so that the ticket is written once with its place in the queue
// (tickets.sla_due_at) rather than written again by the clocks' trigger, which cost a quarter of
// intake's throughput. The trigger stays the truth: a wrong or missing answer costs only that
// second write.
func (d *Desk) SetInitialDue(f InitialDue) { d.initialDue = f }

// dueHint is the SLA module's answer for a ticket about to be created, nil without one.
func (d *Desk) dueHint(priority Level, cust resolvedCustomer) *time.Time {
	if d.initialDue == nil || cust.now.IsZero() {
		return nil
	}
	return d.initialDue(priority, cust.tier, cust.now)
}

// settingsTTL is how long intake trusts the customer value settings it read: a change made on
// any node takes effect everywhere within it, and intake does not pay a query each time.
const settingsTTL = 5 * time.Second

type settingsCache struct {
	mu    sync.Mutex
	value ValueSettings
	until time.Time
}

func (d *Desk) valueSettings(tx *gorm.DB) (ValueSettings, error) {
	d.settings.mu.Lock()
	defer d.settings.mu.Unlock()
	if time.Now().Before(d.settings.until) {
		return d.settings.value, nil
	}
	s, err := loadValueSettings(tx)
	if err != nil {
		return s, err
	}
	d.settings.value, d.settings.until = s, time.Now().Add(settingsTTL)
	return s, nil
}

// Change is one change a transaction on the desk made, as its event records it.
type Change struct {
	Type       string
	TicketID   int64
	CustomerID int64
	Actor      Actor
	Data       map[string]any
	// Companions holds, on a new ticket's ticket.created, how many rows each companion (see
	// AddCompanion) wrote with the ticket; nil on other changes.
	Companions map[string]int64
}

// Hook runs inside the transaction of a unit of work on the desk, after its changes are written
// and before it commits, with every change it made. Work that must happen with a change or not
// at all (SLA clocks, outgoing mail, the search feed) goes here; an error rolls everything back.
type Hook func(ctx context.Context, tx *gorm.DB, changes []Change) error

// AddHook registers h. Register hooks before the desk is used; they are not guarded for
// concurrent registration.
func (d *Desk) AddHook(h Hook) { d.hooks = append(d.hooks, h) }

// Companion writes another module's rows for a new ticket in the very statement that inserts
// the ticket. Intake is the busiest write of the help desk, and each statement is a round trip
// that, measured, costs the machine about as much as the rows it writes; a hook that writes a
// new ticket's rows after it costs one more.
type Companion struct {
	// Name names the companion in Change.Companions and in SQL: lower-case letters and
	// underscores.
	Name string
	// Rows gives a data-modifying statement for a ticket about to be created. It reads the new
	// ticket row from the CTE t and returns one row per row it writes. Its parameters are named
	// (@name), with names its own: prefix them with the companion's name. ok false writes
	// nothing for this ticket.
	Rows func(t NewTicketFacts) (sql string, args map[string]any, ok bool)
}

// NewTicketFacts is what intake knows of a ticket before it writes it.
type NewTicketFacts struct {
	Priority Level
	Tier     Tier
	// Created is the transaction's now(), which the ticket's created_at will be.
	Created time.Time
}

var companionName = regexp.MustCompile(`^[a-z_]+$`)

// AddCompanion registers c. Register companions before the desk is used. A hook that also sees
// new tickets learns from Change.Companions whether its companion already wrote their rows.
func (d *Desk) AddCompanion(c Companion) {
	if !companionName.MatchString(c.Name) || slices.ContainsFunc(d.companions, func(o Companion) bool { return o.Name == c.Name }) {
		panic(fmt.Sprintf("tickets: companion name %q is not a new lower-case identifier", c.Name))
	}
	d.companions = append(d.companions, c)
}

// work is one transaction on the desk. It collects the changes recorded in it for the hooks.
type work struct {
	tx      *gorm.DB
	changes []Change
}

// inTx runs fn in a transaction bound to ctx and hands its changes to the hooks before commit.
func (d *Desk) inTx(ctx context.Context, fn func(w *work) error) error {
	if d.turns != nil {
		// A channel's blocked senders are woken in the order they blocked.
		select {
		case d.turns <- struct{}{}:
			defer func() { <-d.turns }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		w := &work{tx: tx}
		if err := fn(w); err != nil {
			return err
		}
		if len(w.changes) == 0 {
			return nil
		}
		// An agent who just finished a ticket takes the next one waiting in their queues, in
		// the same transaction, so a ticket never waits for a sweep while someone is free.
		freed, err := freedAgents(tx, w.changes)
		if err != nil {
			return err
		}
		for _, agent := range freed {
			if err := pickUpQueued(w, agent); err != nil {
				return err
			}
		}
		for _, h := range d.hooks {
			if err := h(ctx, tx, w.changes); err != nil {
				return err
			}
		}
		return nil
	})
}

// record writes events and remembers them as changes of this transaction.
func (w *work) record(events ...event) error {
	if err := recordEvents(w.tx, events...); err != nil {
		return err
	}
	w.recorded(events...)
	return nil
}

// recorded remembers events that a statement of the caller's already wrote.
func (w *work) recorded(events ...event) {
	for _, e := range events {
		w.changes = append(w.changes, Change{Type: e.typ, TicketID: e.ticketID, CustomerID: e.customerID, Actor: e.actor, Data: e.data})
	}
}

// Limits bound what one ticket or message may carry, and how many of the desk's transactions
// run at once.
type Limits struct {
	MaxBodyBytes       int   // text body; default 256 KiB
	MaxAttachments     int   // per message; default 20
	MaxAttachmentBytes int64 // per file; default 25 MiB
	// MaxWriters is how many units of work run on the database at once; the others wait their
	// turn, first come, first served. Default 4 per CPU.
	MaxWriters int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 256 << 10
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 20
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = 25 << 20
	}
	if l.MaxWriters <= 0 {
		l.MaxWriters = 4 * runtime.GOMAXPROCS(0)
	}
	return l
}

// NewDesk returns a Desk working on db.
func NewDesk(db *gorm.DB, limits Limits) *Desk {
	limits = limits.withDefaults()
	return &Desk{db: db, limits: limits, turns: make(chan struct{}, limits.MaxWriters)}
}

// event is one audit trail entry waiting to be written.
type event struct {
	actor                Actor
	ticketID, customerID int64
	typ                  string
	data                 map[string]any
}

// recordEvent appends to the audit trail. It runs in the transaction of the change it records,
// so a change and its event commit or vanish together.
func recordEvent(tx *gorm.DB, actor Actor, ticketID, customerID int64, typ string, data map[string]any) error {
	return recordEvents(tx, event{actor, ticketID, customerID, typ, data})
}

// recordEvents writes several events in one statement.
func recordEvents(tx *gorm.DB, events ...event) error {
	var sql strings.Builder
	sql.WriteString(`INSERT INTO events (actor_kind, actor_user_id, actor_customer_id, ticket_id, customer_id, type, data) VALUES `)
	args := make([]any, 0, 7*len(events))
	for i, e := range events {
		payload := []byte("{}")
		if e.data != nil {
			var err error
			if payload, err = json.Marshal(e.data); err != nil {
				return fmt.Errorf("event %s: %w", e.typ, err)
			}
		}
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.actor.Kind, nullID(e.actor.UserID), nullID(e.actor.CustomerID), nullID(e.ticketID), nullID(e.customerID), e.typ, payload)
	}
	if err := tx.Exec(sql.String(), args...).Error; err != nil {
		return fmt.Errorf("record %s: %w", events[0].typ, err)
	}
	return nil
}

// nullID maps the zero id to SQL NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// jsonString encodes event data for SQL that writes events itself. A string, not []byte: GORM
// would expand a byte slice bound after "(" into a list.
func jsonString(data map[string]any) string {
	b, _ := json.Marshal(data) // maps of strings, numbers and ids always encode
	return string(b)
}

// unmarshalIDs reads a JSON array of ids produced by SQL.
func unmarshalIDs(raw string, ids *[]int64) error {
	if err := json.Unmarshal([]byte(raw), ids); err != nil {
		return fmt.Errorf("read ids: %w", err)
	}
	return nil
}
