package sla

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Service keeps the SLA settings and every ticket's clocks, runs the sweeper and reports the
// metrics. Clocks change in the transaction of the ticket change that moves them, through a hook
// on the desk.
type Service struct {
	db      *gorm.DB
	desk    *tickets.Desk
	logger  *slog.Logger
	mailer  Mailer
	baseURL string
	now     func() time.Time

	mu     sync.Mutex
	cached *settings
}

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// Mailer sends notices by email in the sweeper's transaction; nil keeps them in the app.
	Mailer Mailer
	// BaseURL is the help desk's public address, for links in notices.
	BaseURL string
	// Now is the sweeper's clock; default time.Now. Tests move it.
	Now func() time.Time
}

// Mailer queues an email in tx, so that it goes out only if the notice it carries commits.
type Mailer func(ctx context.Context, tx *gorm.DB, m Email) error

// Email is a notice to a member of staff.
type Email struct {
	ToAddress, ToName string
	Subject, Body     string
	TicketID          int64
}

// New returns the service and registers its hook on desk, so that from now on every ticket
// change moves the ticket's clocks in its own transaction.
func New(db *gorm.DB, desk *tickets.Desk, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{db: db, desk: desk, logger: opts.Logger, mailer: opts.Mailer, baseURL: opts.BaseURL, now: opts.Now}
	desk.AddHook(s.onChanges)
	desk.AddCompanion(tickets.Companion{Name: clocksCompanion, Rows: s.newTicketClocks})
	desk.SetInitialDue(s.initialDue)
	return s
}

// initialDue is when a ticket created at created first falls due: the earliest due time of the
// clocks a ticket with no history starts with, under the settings last read. It asks the
// database nothing; settings changed meanwhile only make the hint wrong, which the clocks'
// trigger corrects.
func (s *Service) initialDue(priority tickets.Level, tier tickets.Tier, created time.Time) *time.Time {
	s.mu.Lock()
	st := s.cached
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	p := Select(st.policies, priority, string(tier))
	if p == nil || st.calendars[p.CalendarID] == nil {
		return nil
	}
	var due *time.Time
	for _, c := range Evaluate(created, nil, p, st.calendars[p.CalendarID], created) {
		if c.StoppedAt == nil && c.DueAt != nil && (due == nil || c.DueAt.Before(*due)) {
			due = c.DueAt
		}
	}
	return due
}

// settings are the calendars and policies of one version, compiled.
type settings struct {
	version   int64
	calendars map[int64]*Calendar
	policies  []Policy
}

// settings returns the current settings, reloading them when another transaction (on any node)
// changed them. q may be a transaction, which then sees its own changes.
func (s *Service) settings(ctx context.Context, q *gorm.DB) (*settings, error) {
	var version int64
	if err := q.WithContext(ctx).Raw(`SELECT version FROM sla_state`).Scan(&version).Error; err != nil {
		return nil, fmt.Errorf("read settings version: %w", err)
	}
	return s.settingsAt(ctx, q, version)
}

func (s *Service) settingsAt(ctx context.Context, q *gorm.DB, version int64) (*settings, error) {
	s.mu.Lock()
	cached := s.cached
	s.mu.Unlock()
	if cached != nil && cached.version == version {
		return cached, nil
	}
	st := &settings{version: version, calendars: map[int64]*Calendar{}}
	cals, err := loadCalendars(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, c := range cals {
		st.calendars[c.ID] = c
	}
	if st.policies, err = loadPolicies(ctx, q); err != nil {
		return nil, err
	}
	s.mu.Lock()
	// Keep the newest: a slow reader must not replace fresher settings with older ones.
	if s.cached == nil || s.cached.version <= version {
		s.cached = st
	}
	s.mu.Unlock()
	return st, nil
}

// ticketFacts are what clocks depend on besides the history.
type ticketFacts struct {
	ID         int64
	Priority   tickets.Level
	Status     tickets.Status
	CreatedAt  time.Time
	AssigneeID *int64
	TeamID     *int64
	Tier       string
	Now        time.Time
	Version    int64
}

// historyRow is an event that can move clocks.
type historyRow struct {
	TicketID    int64
	CreatedAt   time.Time
	Type        string
	ActorKind   string
	ActorUserID *int64
	Kind        string // message.added: inbound, reply, note
	ToStatus    string // ticket.status_changed
}

// storedClock is what the sweeper and earlier evaluations left on a clock that must survive a
// re-evaluation.
type storedClock struct {
	TicketID       int64
	Kind           Kind
	Cycle          int
	WarnedAt       *time.Time
	EscalatedAt    *time.Time
	PendingActions string // as PostgreSQL prints the array
}

type clockKey struct {
	ticket int64
	kind   Kind
	cycle  int
}

type clockKeyJSON struct {
	TicketID int64 `json:"ticket_id"`
	Kind     Kind  `json:"kind"`
	Cycle    int   `json:"cycle"`
}

// onChanges is the desk hook: it re-evaluates the clocks of every ticket a unit of work touched
// in a way clocks care about.
func (s *Service) onChanges(ctx context.Context, tx *gorm.DB, changes []tickets.Change) error {
	if err := clearPending(ctx, tx); err != nil {
		return err
	}
	var ids, customers, reassigned []int64
	var acts []activity
	created := map[int64]bool{}
	moved := map[int64]bool{}   // tickets with history this transaction added to
	started := map[int64]bool{} // new tickets whose clocks the companion wrote with them
	for _, c := range changes {
		switch c.Type {
		case tickets.EventTicketCreated:
			created[c.TicketID] = true
			ids = append(ids, c.TicketID)
			if c.Companions[clocksCompanion] > 0 {
				started[c.TicketID] = true
			}
		case tickets.EventMessageAdded:
			k := fmt.Sprint(c.Data["kind"])
			if k == string(tickets.MessageInbound) || k == string(tickets.MessageReply) {
				ids = append(ids, c.TicketID)
				moved[c.TicketID] = true
			}
			if k == string(tickets.MessageReply) && c.Actor.UserID != 0 {
				acts = append(acts, activity{TicketID: c.TicketID, Kind: "reply", UserID: nullInt(c.Actor.UserID)})
			}
		case tickets.EventStatusChanged:
			from, to := fmt.Sprint(c.Data["from"]), fmt.Sprint(c.Data["to"])
			switch {
			case to == string(tickets.StatusSolved):
				acts = append(acts, activity{TicketID: c.TicketID, Kind: "solved", UserID: nullInt(c.Actor.UserID)})
			case from == string(tickets.StatusSolved) && to != string(tickets.StatusClosed):
				acts = append(acts, activity{TicketID: c.TicketID, Kind: "reopened"})
			}
			// Closing a solved ticket moves no clock: solving stopped them all.
			if from == string(tickets.StatusSolved) && to == string(tickets.StatusClosed) {
				continue
			}
			ids = append(ids, c.TicketID)
			moved[c.TicketID] = true
		case tickets.EventPriorityChanged:
			ids = append(ids, c.TicketID)
		case tickets.EventAssigneeChanged, tickets.EventTeamChanged:
			reassigned = append(reassigned, c.TicketID)
			if to := asInt(c.Data["to"]); c.Type == tickets.EventAssigneeChanged && to != 0 {
				acts = append(acts, activity{TicketID: c.TicketID, Kind: "assigned", UserID: nullInt(to)})
			}
		case EventTierChanged:
			if c.CustomerID != 0 {
				customers = append(customers, c.CustomerID)
			}
		}
	}
	if len(customers) > 0 {
		var theirs []int64
		if err := tx.Raw(`SELECT id FROM tickets WHERE customer_id IN ? AND status IN ('new', 'open', 'pending', 'on-hold')`, customers).Scan(&theirs).Error; err != nil {
			return fmt.Errorf("sla: tickets of re-tiered customers: %w", err)
		}
		ids = append(ids, theirs...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	fresh := map[int64]bool{}
	for id := range created {
		if !moved[id] {
			fresh[id] = true
		}
	}
	// A new ticket with nothing else happening to it has the clocks its companion wrote.
	toEvaluate := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return fresh[id] && started[id] })
	// A bulk re-scoring can move thousands of customers in one transaction: bounded batches
	// keep each statement's payload small.
	for chunk := range slices.Chunk(toEvaluate, recomputeBatch) {
		if err := s.recompute(ctx, tx, chunk, fresh); err != nil {
			return fmt.Errorf("sla: %w", err)
		}
	}
	// Re-evaluated clocks already carry the ticket's assignee and team; the others follow here.
	reassigned = slices.DeleteFunc(reassigned, func(id int64) bool { _, found := slices.BinarySearch(ids, id); return found })
	if err := recordActivity(tx, acts, reassigned); err != nil {
		return fmt.Errorf("sla: %w", err)
	}
	return nil
}

// activity is a row of sla_activity to write.
type activity struct {
	TicketID int64  `json:"ticket_id"`
	Kind     string `json:"kind"`
	UserID   *int64 `json:"user_id"` // for reopened: the ticket's assignee, filled in by SQL
	N        int    `json:"n"`
}

// recordActivity writes what the metrics count, with the ticket's team and tier now, and moves
// the running clocks of reassigned tickets to their new assignee and team.
func recordActivity(tx *gorm.DB, acts []activity, reassigned []int64) error {
	if len(acts) == 0 && len(reassigned) == 0 {
		return nil
	}
	for i := range acts {
		acts[i].N = i
	}
	if acts == nil {
		acts = []activity{}
	}
	payload, _ := json.Marshal(acts) // ids and names
	err := tx.Exec(`
		WITH x AS (
			SELECT * FROM jsonb_to_recordset(CAST(? AS jsonb)) AS x(ticket_id bigint, kind text, user_id bigint, n int)
		), a AS (
			INSERT INTO sla_activity (at, ticket_id, kind, user_id, team_id, tier)
			SELECT now(), x.ticket_id, x.kind, CASE WHEN x.kind = 'reopened' THEN t.assignee_id ELSE x.user_id END,
				t.team_id, coalesce(cs.tier, 'new')
			FROM x JOIN tickets t ON t.id = x.ticket_id LEFT JOIN customer_scores cs ON cs.customer_id = t.customer_id
			ORDER BY x.n
		)
		UPDATE sla_clocks k SET assignee_id = t.assignee_id, team_id = t.team_id, updated_at = now()
		FROM tickets t
		WHERE t.id = k.ticket_id AND k.ticket_id = ANY(CAST(? AS bigint[])) AND k.stopped_at IS NULL`,
		string(payload), pgArray(reassigned)).Error
	if err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	return nil
}

func nullInt(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// asInt reads an id from event data, which holds ids as int64, *int64 or (decoded) float64.
func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case *int64:
		if x != nil {
			return *x
		}
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

// EventTierChanged is the event of a customer moving to another tier; their open tickets'
// clocks follow the policy of the new tier.
const EventTierChanged = tickets.EventTierChanged

// Reevaluate recomputes the clocks of the given tickets in tx, for callers that change what
// clocks depend on outside the desk (a bulk re-scoring of customer tiers).
func (s *Service) Reevaluate(ctx context.Context, tx *gorm.DB, ticketIDs []int64) error {
	if len(ticketIDs) == 0 {
		return nil
	}
	if err := s.recompute(ctx, tx, ticketIDs, nil); err != nil {
		return fmt.Errorf("sla: re-evaluate: %w", err)
	}
	return nil
}

// recompute evaluates the clocks of tickets ids from their histories and writes them. Tickets in
// fresh were created in this transaction with no other history, which spares reading it.
func (s *Service) recompute(ctx context.Context, tx *gorm.DB, ids []int64, fresh map[int64]bool) error {
	tx = tx.WithContext(ctx)
	var facts []ticketFacts
	// A customer not yet scored is new (customer_scores holds the tier).
	err := tx.Raw(`SELECT t.id, t.priority, t.status, t.created_at, t.assignee_id, t.team_id,
			coalesce(cs.tier, 'new') AS tier, now() AS now, (SELECT version FROM sla_state) AS version
		FROM tickets t LEFT JOIN customer_scores cs ON cs.customer_id = t.customer_id
		WHERE t.id IN ?`, ids).Scan(&facts).Error
	if err != nil {
		return fmt.Errorf("load tickets: %w", err)
	}
	if len(facts) == 0 {
		return nil
	}
	st, err := s.settingsAt(ctx, tx, facts[0].Version)
	if err != nil {
		return err
	}
	var old []int64
	for _, f := range facts {
		if !fresh[f.ID] {
			old = append(old, f.ID)
		}
	}
	histories := map[int64][]Step{}
	stored := map[clockKey]storedClock{}
	if len(old) > 0 {
		var rows []historyRow
		err := tx.Raw(`SELECT ticket_id, created_at, type, actor_kind, actor_user_id,
				coalesce(data->>'kind', '') AS kind, coalesce(data->>'to', '') AS to_status
			FROM events
			WHERE ticket_id IN ? AND type IN ('message.added', 'ticket.status_changed')
			ORDER BY ticket_id, id`, old).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("load histories: %w", err)
		}
		for _, r := range rows {
			if st, ok := r.step(); ok {
				histories[r.TicketID] = append(histories[r.TicketID], st)
			}
		}
		var prev []storedClock
		err = tx.Raw(`SELECT ticket_id, kind, cycle, warned_at, escalated_at, pending_actions::text AS pending_actions
			FROM sla_clocks WHERE ticket_id IN ?`, old).Scan(&prev).Error
		if err != nil {
			return fmt.Errorf("load clocks: %w", err)
		}
		for _, p := range prev {
			stored[clockKey{p.TicketID, p.Kind, p.Cycle}] = p
		}
	}

	var rows []clockRow
	keep := map[clockKey]bool{}
	for _, f := range facts {
		evaluated, err := st.clocks(f, histories[f.ID], stored)
		if err != nil {
			return err
		}
		for _, row := range evaluated {
			keep[clockKey{row.TicketID, row.Kind, row.Cycle}] = true
		}
		rows = append(rows, evaluated...)
	}
	if len(rows) > 0 {
		payload, err := json.Marshal(rows)
		if err != nil {
			return fmt.Errorf("encode clocks: %w", err)
		}
		// One statement for all clocks of the batch. pending_actions is the sweeper's and stays.
		err = tx.Exec(insertClocks+`
			ON CONFLICT (ticket_id, kind, cycle) DO UPDATE SET
				policy_id = excluded.policy_id, calendar_id = excluded.calendar_id, business = excluded.business,
				target_seconds = excluded.target_seconds, state = excluded.state, started_at = excluded.started_at,
				running_since = excluded.running_since, business_seconds = excluded.business_seconds,
				calendar_seconds = excluded.calendar_seconds, due_at = excluded.due_at, warn_at = excluded.warn_at,
				breached_at = excluded.breached_at, stopped_at = excluded.stopped_at, stopped_by = excluded.stopped_by,
				stop_reason = excluded.stop_reason, followup_at = excluded.followup_at, followup_by = excluded.followup_by,
				followup_business_seconds = excluded.followup_business_seconds,
				followup_calendar_seconds = excluded.followup_calendar_seconds,
				-- A clock that stopped as before keeps the assignee, team and tier it stopped with.
				assignee_id = CASE WHEN c.stopped_at = excluded.stopped_at THEN c.assignee_id ELSE excluded.assignee_id END,
				team_id = CASE WHEN c.stopped_at = excluded.stopped_at THEN c.team_id ELSE excluded.team_id END,
				tier = CASE WHEN c.stopped_at = excluded.stopped_at THEN c.tier ELSE excluded.tier END,
				started_cum_seconds = excluded.started_cum_seconds,
				warned_at = excluded.warned_at, escalated_at = excluded.escalated_at,
				next_check_at = excluded.next_check_at, updated_at = now()`, string(payload)).Error
		if err != nil {
			return fmt.Errorf("write clocks: %w", err)
		}
	}
	var stale []clockKeyJSON
	for key := range stored {
		if !keep[key] {
			stale = append(stale, clockKeyJSON{key.ticket, key.kind, key.cycle})
		}
	}
	if len(stale) > 0 {
		// A policy without a clock the old one had, or a history with fewer cycles.
		payload, _ := json.Marshal(stale) // ids and names always encode
		err := tx.Exec(`DELETE FROM sla_clocks c
			USING jsonb_to_recordset(CAST(? AS jsonb)) AS x(ticket_id bigint, kind text, cycle int)
			WHERE c.ticket_id = x.ticket_id AND c.kind = x.kind AND c.cycle = x.cycle`, string(payload)).Error
		if err != nil {
			return fmt.Errorf("delete stale clocks: %w", err)
		}
	}
	return nil
}

// step turns an event into a clock step; events that move no clock give false.
func (r historyRow) step() (Step, bool) {
	by := int64(0)
	if r.ActorKind == "user" && r.ActorUserID != nil {
		by = *r.ActorUserID
	}
	switch {
	case r.Type == tickets.EventMessageAdded && r.Kind == string(tickets.MessageInbound):
		return Step{At: r.CreatedAt, Kind: CustomerMessage}, true
	case r.Type == tickets.EventMessageAdded && r.Kind == string(tickets.MessageReply) && by != 0:
		return Step{At: r.CreatedAt, Kind: AgentReply, By: by}, true
	case r.Type == tickets.EventStatusChanged && tickets.Status(r.ToStatus).Valid():
		return Step{At: r.CreatedAt, Kind: StatusChange, Status: tickets.Status(r.ToStatus), By: by}, true
	}
	return Step{}, false
}

// clockColumns are the columns of sla_clocks a clockRow writes, in the order of clockRecordset.
var clockColumns = []string{"ticket_id", "kind", "cycle", "policy_id", "calendar_id", "business", "target_seconds",
	"state", "started_at", "running_since", "business_seconds", "calendar_seconds", "due_at", "warn_at",
	"breached_at", "stopped_at", "stopped_by", "stop_reason", "followup_at", "followup_by", "followup_business_seconds",
	"followup_calendar_seconds", "assignee_id", "team_id", "tier", "started_cum_seconds", "warned_at", "escalated_at", "next_check_at"}

// clockRecordset is how jsonb_to_recordset reads a clockRow.
const clockRecordset = `(ticket_id bigint, kind text, cycle int, policy_id bigint,
		calendar_id bigint, business boolean, target_seconds int, state text, started_at timestamptz,
		running_since timestamptz, business_seconds double precision, calendar_seconds double precision,
		due_at timestamptz, warn_at timestamptz, breached_at timestamptz, stopped_at timestamptz,
		stopped_by bigint, stop_reason text, followup_at timestamptz, followup_by bigint,
		followup_business_seconds double precision, followup_calendar_seconds double precision,
		assignee_id bigint, team_id bigint, tier text, started_cum_seconds double precision,
		warned_at timestamptz, escalated_at timestamptz, next_check_at timestamptz)`

// insertClocks writes the clocks of a JSON array of clockRow, bound as its one parameter.
var insertClocks = `
	INSERT INTO sla_clocks AS c (` + strings.Join(clockColumns, ", ") + `, updated_at)
	SELECT x.*, now() FROM jsonb_to_recordset(CAST(? AS jsonb)) AS x` + clockRecordset

// clocks evaluates one ticket's clocks under these settings, carrying over what stored holds of
// its earlier clocks. A ticket no policy covers has none.
func (st *settings) clocks(f ticketFacts, history []Step, stored map[clockKey]storedClock) ([]clockRow, error) {
	p := Select(st.policies, f.Priority, f.Tier)
	if p == nil {
		return nil, nil
	}
	cal := st.calendars[p.CalendarID]
	if cal == nil {
		return nil, fmt.Errorf("policy %d: calendar %d is missing", p.ID, p.CalendarID)
	}
	var rows []clockRow
	for _, c := range Evaluate(f.CreatedAt, history, p, cal, f.Now) {
		row := newClockRow(f.ID, c, stored[clockKey{f.ID, c.Kind, c.Cycle}], p, f.Now)
		row.AssigneeID, row.TeamID, row.Tier = f.AssigneeID, f.TeamID, f.Tier
		rows = append(rows, row)
	}
	return rows, nil
}

// clocksCompanion names the clocks written with a new ticket (see newTicketClocks).
const clocksCompanion = "sla_clocks"

// newTicketClocks gives intake the statement that starts a new ticket's clocks along with the
// ticket, under the settings this node last read, so that the busiest write of the help desk
// costs no round trip of ours. The clocks go in only if those settings are still current;
// otherwise none are written and the hook evaluates the ticket the long way. So does a ticket no
// policy covers, because the settings version alone cannot vouch for having no clocks.
func (s *Service) newTicketClocks(t tickets.NewTicketFacts) (string, map[string]any, bool) {
	s.mu.Lock()
	st := s.cached
	s.mu.Unlock()
	if st == nil || t.Created.IsZero() {
		return "", nil, false
	}
	rows, err := st.clocks(ticketFacts{Priority: t.Priority, Status: tickets.StatusNew, CreatedAt: t.Created, Tier: string(t.Tier), Now: t.Created}, nil, nil)
	if err != nil || len(rows) == 0 {
		return "", nil, false
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return "", nil, false
	}
	return newTicketClocksSQL, map[string]any{"sla_clocks": string(payload), "sla_version": st.version}, true
}

// newTicketClocksSQL writes clockRows whose ticket, assignee and team come from the new ticket
// row t of the intake statement.
var newTicketClocksSQL = func() string {
	from := map[string]string{"ticket_id": "t.id", "assignee_id": "t.assignee_id", "team_id": "t.team_id"}
	selected := make([]string, len(clockColumns))
	for i, c := range clockColumns {
		if selected[i] = from[c]; selected[i] == "" {
			selected[i] = "x." + c
		}
	}
	return `INSERT INTO sla_clocks (` + strings.Join(clockColumns, ", ") + `, updated_at)
		SELECT ` + strings.Join(selected, ", ") + `, now()
		FROM t, jsonb_to_recordset(CAST(@sla_clocks AS jsonb)) AS x` + clockRecordset + `
		WHERE (SELECT version FROM sla_state) = CAST(@sla_version AS bigint)
		RETURNING 1`
}()

// clockRow is a clock as written, in the JSON that jsonb_to_recordset reads.
type clockRow struct {
	TicketID         int64      `json:"ticket_id"`
	Kind             Kind       `json:"kind"`
	Cycle            int        `json:"cycle"`
	PolicyID         int64      `json:"policy_id"`
	CalendarID       int64      `json:"calendar_id"`
	Business         bool       `json:"business"`
	TargetSeconds    int64      `json:"target_seconds"`
	State            State      `json:"state"`
	StartedAt        time.Time  `json:"started_at"`
	RunningSince     *time.Time `json:"running_since"`
	BusinessSeconds  float64    `json:"business_seconds"`
	CalendarSeconds  float64    `json:"calendar_seconds"`
	DueAt            *time.Time `json:"due_at"`
	WarnAt           *time.Time `json:"warn_at"`
	BreachedAt       *time.Time `json:"breached_at"`
	StoppedAt        *time.Time `json:"stopped_at"`
	StoppedBy        *int64     `json:"stopped_by"`
	StopReason       *string    `json:"stop_reason"`
	FollowUpAt       *time.Time `json:"followup_at"`
	FollowUpBy       *int64     `json:"followup_by"`
	FollowUpBusiness *float64   `json:"followup_business_seconds"`
	FollowUpCalendar *float64   `json:"followup_calendar_seconds"`
	AssigneeID       *int64     `json:"assignee_id"`
	TeamID           *int64     `json:"team_id"`
	Tier             string     `json:"tier"`
	StartedCum       float64    `json:"started_cum_seconds"`
	WarnedAt         *time.Time `json:"warned_at"`
	EscalatedAt      *time.Time `json:"escalated_at"`
	NextCheckAt      *time.Time `json:"next_check_at"`
}

// newClockRow carries over what the sweeper noticed while it still holds, and works out when the
// sweeper must look next.
func newClockRow(ticketID int64, c Clock, prev storedClock, p *Policy, now time.Time) clockRow {
	r := clockRow{
		TicketID: ticketID, Kind: c.Kind, Cycle: c.Cycle, PolicyID: c.PolicyID, CalendarID: c.CalendarID,
		Business: c.Business, TargetSeconds: int64(c.Target / time.Second), State: c.State, StartedAt: c.StartedAt,
		RunningSince: c.RunningSince, BusinessSeconds: c.BusinessElapsed.Seconds(), CalendarSeconds: c.CalendarElapsed.Seconds(),
		DueAt: c.DueAt, WarnAt: c.WarnAt, BreachedAt: c.BreachedAt, StoppedAt: c.StoppedAt,
		StartedCum: c.StartedCumulative.Seconds(),
	}
	if c.StoppedBy != 0 {
		by := c.StoppedBy
		r.StoppedBy = &by
	}
	if c.StopReason != "" {
		reason := c.StopReason
		r.StopReason = &reason
	}
	if c.FollowUpAt != nil {
		by, b, cal := c.FollowUpBy, c.FollowUpBusiness.Seconds(), c.FollowUpCalendar.Seconds()
		r.FollowUpAt, r.FollowUpBusiness, r.FollowUpCalendar = c.FollowUpAt, &b, &cal
		if by != 0 {
			r.FollowUpBy = &by
		}
	}
	stopped := c.StoppedAt != nil
	// A warning stands while the threshold is still behind us; a policy change that moved it
	// ahead makes the sweeper warn again when it comes.
	if prev.WarnedAt != nil && (stopped || (c.WarnAt != nil && !c.WarnAt.After(now))) {
		r.WarnedAt = prev.WarnedAt
	}
	if prev.EscalatedAt != nil && (stopped || c.BreachedAt != nil) {
		r.EscalatedAt = prev.EscalatedAt
	}
	switch {
	case stopped || r.EscalatedAt != nil:
		// Nothing left to notice.
	case c.BreachedAt != nil:
		// A breach nobody has noticed yet, even if the clock has paused since.
		r.NextCheckAt = c.BreachedAt
	case c.RunningSince != nil:
		r.NextCheckAt = c.DueAt
		if c.WarnAt != nil && r.WarnedAt == nil && p.WarnPercent > 0 && c.WarnAt.Before(*c.DueAt) {
			r.NextCheckAt = c.WarnAt
		}
	}
	return r
}

// activityFromEvents derives sla_activity rows from the event log, for tickets whose events
// were written without the desk; the migration's backfill is the same statement.
const activityFromEvents = `
	INSERT INTO sla_activity (at, ticket_id, kind, user_id, team_id, tier)
	SELECT e.created_at, e.ticket_id,
		CASE WHEN e.type = 'ticket.assignee_changed' THEN 'assigned'
			WHEN e.type = 'message.added' THEN 'reply'
			WHEN e.data->>'to' = 'solved' THEN 'solved'
			ELSE 'reopened' END,
		CASE WHEN e.type = 'ticket.assignee_changed' THEN (e.data->>'to')::bigint
			WHEN e.type = 'ticket.status_changed' AND e.data->>'from' = 'solved' THEN t.assignee_id
			ELSE e.actor_user_id END,
		t.team_id, coalesce(cs.tier, 'new')
	FROM events e JOIN tickets t ON t.id = e.ticket_id LEFT JOIN customer_scores cs ON cs.customer_id = t.customer_id
	WHERE (CAST(@all AS boolean) OR e.ticket_id = ANY(CAST(@ids AS bigint[])))
		AND ((e.type = 'ticket.assignee_changed' AND e.data->>'to' IS NOT NULL)
		OR (e.type = 'message.added' AND e.data->>'kind' = 'reply' AND e.actor_kind = 'user')
		OR (e.type = 'ticket.status_changed' AND (e.data->>'to' = 'solved'
			OR (e.data->>'from' = 'solved' AND e.data->>'to' <> 'closed'))))
	ORDER BY e.id`

// RebuildActivity rewrites what the metrics count of the given tickets from their event history,
// with the teams and tiers they have now: for tickets whose events were written without the
// desk, such as an import.
func (s *Service) RebuildActivity(ctx context.Context, tx *gorm.DB, ticketIDs []int64) error {
	tx = tx.WithContext(ctx)
	ids := pgArray(ticketIDs)
	if err := tx.Exec(`DELETE FROM sla_activity WHERE ticket_id = ANY(CAST(? AS bigint[]))`, ids).Error; err != nil {
		return fmt.Errorf("sla: rebuild activity: %w", err)
	}
	if err := tx.Exec(activityFromEvents, map[string]any{"all": false, "ids": ids}).Error; err != nil {
		return fmt.Errorf("sla: rebuild activity: %w", err)
	}
	return nil
}

// Backfill derives what the SLA keeps for tickets written without the desk (bulk loads such as
// `helpdesk demo`): it rewrites the metrics' activity from the whole event log, and queues every
// ticket without clocks for the sweeper to evaluate. It returns how many tickets it queued.
func (s *Service) Backfill(ctx context.Context) (int64, error) {
	var queued int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM sla_activity`).Error; err != nil {
			return err
		}
		if err := tx.Exec(activityFromEvents, map[string]any{"all": true, "ids": "{}"}).Error; err != nil {
			return err
		}
		res := tx.Exec(`INSERT INTO sla_recompute (ticket_id)
			SELECT t.id FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM sla_clocks c WHERE c.ticket_id = t.id)
			ON CONFLICT DO NOTHING`)
		queued = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("sla: backfill: %w", err)
	}
	return queued, nil
}
