package sla

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Events the sweeper records on tickets.
const (
	EventWarning          = "sla.warning"
	EventBreached         = "sla.breached"
	EventEscalationFailed = "sla.escalation_failed"
)

// sweepLock is the PostgreSQL advisory lock a sweep holds, so that one node sweeps at a time.
const sweepLock = 0x534c415357454550 // "SLASWEEP"

// Batch sizes of a pass. A batch is one transaction.
const (
	dueBatch       = 1000
	emailBatch     = 5000
	actionBatch    = 200
	recomputeBatch = 500
	// A pass stops re-evaluating after this long, so that a change of policies over a large
	// backlog never delays warnings and breaches by more than a pass.
	recomputeBudget = 10 * time.Second
)

// SweepResult counts what a pass did.
type SweepResult struct {
	Skipped     bool // another node holds the sweep
	Warnings    int
	Breaches    int
	Notices     int // in-app notifications created
	Emails      int // emails queued: one per person per pass
	Actions     int // escalations run through the desk
	Reevaluated int
	// How long each part of the pass took.
	NoticeTime, EmailTime, ActionTime, ReevaluateTime time.Duration
}

func (r SweepResult) busy() bool {
	return r.Warnings+r.Breaches+r.Notices+r.Emails+r.Actions+r.Reevaluated > 0
}

// Sweep runs one pass: it records the warnings and breaches of clocks that reached them and
// escalates them as their policies say, delivers notices held for business hours, and
// re-evaluates tickets queued by a change of settings. Only one node sweeps at a time; on the
// others Sweep returns at once with Skipped set.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	held, release, err := s.sessionLock(ctx, int64(sweepLock))
	if err != nil {
		return res, fmt.Errorf("sla: sweep lock: %w", err)
	}
	if !held {
		res.Skipped = true
		return res, nil
	}
	defer release()

	// PostgreSQL keeps microseconds, and rounds where the driver truncates: a notice due "now"
	// must compare as due now, not a microsecond later.
	now := s.now().Truncate(time.Microsecond)
	t0 := time.Now()
	for {
		n, err := s.noticeDue(ctx, now, &res)
		if err != nil {
			return res, err
		}
		if n < dueBatch {
			break
		}
	}
	t1 := time.Now()
	for {
		n, err := s.deliverEmails(ctx, now, &res)
		if err != nil {
			return res, err
		}
		if n < emailBatch {
			break
		}
	}
	t2 := time.Now()
	for {
		n, err := s.runActions(ctx, &res)
		if err != nil {
			return res, err
		}
		if n < actionBatch {
			break
		}
	}
	t3 := time.Now()
	for time.Since(t3) < recomputeBudget {
		n, err := s.recomputeQueued(ctx)
		if err != nil {
			return res, err
		}
		res.Reevaluated += n
		if n < recomputeBatch {
			break
		}
	}
	res.NoticeTime, res.EmailTime, res.ActionTime, res.ReevaluateTime = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), time.Since(t3)
	return res, nil
}

// sessionLock takes the session advisory lock key on a connection of its own, so that it lasts
// across the caller's transactions and vanishes with the connection if the process dies. held
// is false when another session has it; when held, the caller must call release.
func (s *Service) sessionLock(ctx context.Context, key int64) (held bool, release func(), err error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return false, nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return false, nil, err
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&held); err != nil || !held {
		conn.Close()
		return false, nil, err
	}
	return true, func() {
		// With a cancelled ctx the unlock must still reach the server, or the next user of this
		// pooled connection would find the lock held by itself forever.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(unlockCtx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // drop the connection, and the lock with it
		}
		conn.Close()
	}, nil
}

// Run sweeps every interval until ctx ends. Every node runs it; the lock makes one sweep.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	if err := s.PrepareSpans(ctx); err != nil && ctx.Err() == nil {
		s.logger.Error("sla: preparing business spans", "error", err)
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		res, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Error("sla sweep", "error", err)
		case res.busy():
			s.logger.Info("sla sweep", "warnings", res.Warnings, "breaches", res.Breaches, "notices", res.Notices,
				"emails", res.Emails, "escalations", res.Actions, "reevaluated", res.Reevaluated,
				"notice_time", res.NoticeTime, "email_time", res.EmailTime, "escalation_time", res.ActionTime,
				"reevaluate_time", res.ReevaluateTime)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// dueClock is a clock the sweeper has to look at, with what it needs of its ticket.
type dueClock struct {
	ID            int64
	TicketID      int64
	Kind          Kind
	Cycle         int
	PolicyID      *int64
	CalendarID    *int64
	TargetSeconds int64
	DueAt         *time.Time
	WarnAt        *time.Time
	BreachedAt    *time.Time
	WarnedAt      *time.Time
	EscalatedAt   *time.Time
	Subject       string
}

// notice is one clock's update, event and notification, as the statement below reads them.
type notice struct {
	ID          int64           `json:"id"`
	TicketID    int64           `json:"ticket_id"`
	State       *State          `json:"state"`
	WarnedAt    *time.Time      `json:"warned_at"`
	EscalatedAt *time.Time      `json:"escalated_at"`
	BreachedAt  *time.Time      `json:"breached_at"`
	NextCheckAt *time.Time      `json:"next_check_at"`
	Pending     []string        `json:"pending"`
	Event       string          `json:"event"`
	Data        json.RawMessage `json:"data"`
	Notify      bool            `json:"notify"`
	DeliverAt   time.Time       `json:"deliver_at"`
	Title       string          `json:"title"`
	Body        string          `json:"body"`
}

// noticeDue takes a batch of clocks whose warning or breach has come, records it, and queues its
// notices and escalation. It touches only those clocks: the index on next_check_at holds only
// clocks with something left to notice.
func (s *Service) noticeDue(ctx context.Context, now time.Time, res *SweepResult) (int, error) {
	var taken int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var due []dueClock
		err := tx.Raw(`SELECT c.id, c.ticket_id, c.kind, c.cycle, c.policy_id, c.calendar_id, c.target_seconds,
				c.due_at, c.warn_at, c.breached_at, c.warned_at, c.escalated_at, t.subject
			FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id
			WHERE c.next_check_at <= ?
			ORDER BY c.next_check_at
			LIMIT ?
			FOR UPDATE OF c SKIP LOCKED`, now, dueBatch).Scan(&due).Error
		if err != nil {
			return fmt.Errorf("take due clocks: %w", err)
		}
		taken = len(due)
		if len(due) == 0 {
			return nil
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		notices := make([]notice, 0, len(due))
		for _, c := range due {
			n := s.decide(c, st, now)
			switch n.Event {
			case EventWarning:
				res.Warnings++
			case EventBreached:
				res.Breaches++
			}
			notices = append(notices, n)
		}
		payload, err := json.Marshal(notices)
		if err != nil {
			return fmt.Errorf("encode notices: %w", err)
		}
		var created int
		err = tx.Raw(`
			WITH x AS MATERIALIZED (
				SELECT * FROM jsonb_to_recordset(CAST(? AS jsonb)) AS x(id bigint, ticket_id bigint, state text,
					warned_at timestamptz, escalated_at timestamptz, breached_at timestamptz, next_check_at timestamptz,
					pending text[], event text, data jsonb, notify boolean, deliver_at timestamptz, title text, body text)
			), u AS (
				UPDATE sla_clocks c SET warned_at = x.warned_at, escalated_at = x.escalated_at,
					breached_at = coalesce(c.breached_at, x.breached_at), state = coalesce(x.state, c.state),
					next_check_at = x.next_check_at, pending_actions = c.pending_actions || x.pending, updated_at = now()
				FROM x WHERE c.id = x.id
			), e AS (
				INSERT INTO events (actor_kind, ticket_id, customer_id, type, data)
				SELECT 'system', x.ticket_id, t.customer_id, x.event, x.data
				FROM x JOIN tickets t ON t.id = x.ticket_id WHERE x.event <> ''
			), n AS (
				INSERT INTO notifications (user_id, ticket_id, type, title, body, data, deliver_at, email_pending)
				SELECT r.id, x.ticket_id, x.event, x.title, x.body, x.data, x.deliver_at, ?
				FROM x JOIN tickets t ON t.id = x.ticket_id
				CROSS JOIN LATERAL (`+recipientsSQL+`) r
				WHERE x.notify
				RETURNING 1
			)
			SELECT count(*) FROM n`, string(payload), s.mailer != nil).Scan(&created).Error
		if err != nil {
			return fmt.Errorf("record notices: %w", err)
		}
		res.Notices += created
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sla: sweep: %w", err)
	}
	return taken, nil
}

// recipientsSQL picks who hears of a ticket's clock: its assignee, and the supervisors of its
// team, or every supervisor when it has no team or its team has none.
const recipientsSQL = `
	SELECT u.id FROM users u
	WHERE u.disabled_at IS NULL AND (u.id = t.assignee_id OR (u.role = 'supervisor' AND (
		EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.team_id AND m.user_id = u.id)
		OR NOT EXISTS (SELECT 1 FROM team_members m JOIN users s ON s.id = m.user_id
			WHERE m.team_id = t.team_id AND s.role = 'supervisor' AND s.disabled_at IS NULL))))`

// decide works out what a due clock calls for at now.
func (s *Service) decide(c dueClock, st *settings, now time.Time) notice {
	n := notice{ID: c.ID, TicketID: c.TicketID, WarnedAt: c.WarnedAt, EscalatedAt: c.EscalatedAt, DeliverAt: now, Pending: []string{}}
	var p *Policy
	if c.PolicyID != nil {
		for i := range st.policies {
			if st.policies[i].ID == *c.PolicyID {
				p = &st.policies[i]
			}
		}
	}
	if p == nil {
		// The policy was deleted after the clock was set: tell people, change nothing.
		p = &Policy{Name: "(deleted policy)", WarnPercent: 1, OnWarning: Escalation{Notify: true}, OnBreach: Escalation{Notify: true}}
	}
	breachAt := c.BreachedAt
	if breachAt == nil && c.DueAt != nil && !c.DueAt.After(now) {
		breachAt = c.DueAt
	}
	breach := c.EscalatedAt == nil && breachAt != nil && !breachAt.After(now)
	warn := !breach && c.WarnedAt == nil && c.WarnAt != nil && !c.WarnAt.After(now) && p.WarnPercent > 0
	var esc Escalation
	switch {
	case breach:
		state := Breached
		n.State, n.BreachedAt, n.EscalatedAt = &state, breachAt, &now
		if n.WarnedAt == nil {
			n.WarnedAt = &now // a breach says more than the warning it overtook
		}
		n.Event, esc = EventBreached, p.OnBreach
		if esc.acts() {
			n.Pending = []string{"breach"}
		}
	case warn:
		n.WarnedAt = &now
		n.NextCheckAt = c.DueAt
		n.Event, esc = EventWarning, p.OnWarning
		if esc.acts() {
			n.Pending = []string{"warning"}
		}
	default:
		// Nothing due after all (the clock moved since it was queued): look again at the due time.
		if c.EscalatedAt == nil {
			n.NextCheckAt = c.DueAt
		}
		return n
	}
	ref := tickets.Ref(c.TicketID)
	what := strings.ReplaceAll(string(c.Kind), "_", " ")
	target := time.Duration(c.TargetSeconds) * time.Second
	due := ""
	if c.DueAt != nil {
		due = c.DueAt.UTC().Format(time.RFC3339)
	}
	data := map[string]any{"kind": c.Kind, "cycle": c.Cycle, "due_at": due, "policy": p.Name, "target_minutes": int(target / time.Minute)}
	if c.PolicyID != nil {
		data["policy_id"] = *c.PolicyID
	}
	n.Data, _ = json.Marshal(data) // plain values
	if n.Event == EventWarning {
		n.Title = fmt.Sprintf("%s: %s due %s", ref, what, due)
	} else {
		n.Title = fmt.Sprintf("%s: %s target missed", ref, what)
	}
	n.Body = fmt.Sprintf("Ticket %s %q: the %s target of %s (policy %s) ", ref, c.Subject, what, formatTarget(target), p.Name)
	if n.Event == EventWarning {
		n.Body += fmt.Sprintf("falls due at %s.", due)
	} else {
		n.Body += fmt.Sprintf("was due at %s and has passed.", due)
	}
	if s.baseURL != "" {
		n.Body += fmt.Sprintf("\n\n%s/api/v1/tickets/%d", s.baseURL, c.TicketID)
	}
	n.Notify = esc.Notify
	if n.Notify && p.NotifyInBusinessHours && c.CalendarID != nil {
		if cal := st.calendars[*c.CalendarID]; cal != nil {
			n.DeliverAt = cal.Next(now)
		}
	}
	return n
}

func formatTarget(d time.Duration) string {
	switch {
	case d%(time.Hour) == 0:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
}

// deliverEmails hands the notices whose time has come to the mailer, one email per person with
// all of theirs (a breach storm is one email to each supervisor, not a thousand), in the
// transaction that marks them sent.
func (s *Service) deliverEmails(ctx context.Context, now time.Time, res *SweepResult) (int, error) {
	if s.mailer == nil {
		return 0, nil
	}
	var taken int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			ID       int64
			UserID   int64
			TicketID *int64
			Title    string
			Body     string
			Email    string
			Name     string
		}
		err := tx.Raw(`SELECT n.id, n.user_id, n.ticket_id, n.title, n.body, u.email, u.name
			FROM notifications n JOIN users u ON u.id = n.user_id
			WHERE n.email_pending AND n.deliver_at <= ?
			ORDER BY n.deliver_at, n.id LIMIT ?
			FOR UPDATE OF n SKIP LOCKED`, now, emailBatch).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("take notices: %w", err)
		}
		taken = len(rows)
		if taken == 0 {
			return nil
		}
		ids := make([]int64, len(rows))
		byUser := map[int64][]int{}
		var order []int64
		for i, r := range rows {
			ids[i] = r.ID
			if _, seen := byUser[r.UserID]; !seen {
				order = append(order, r.UserID)
			}
			byUser[r.UserID] = append(byUser[r.UserID], i)
		}
		for _, user := range order {
			mine := byUser[user]
			first := rows[mine[0]]
			m := Email{ToAddress: first.Email, ToName: first.Name, Subject: first.Title, Body: first.Body}
			if len(mine) == 1 {
				if first.TicketID != nil {
					m.TicketID = *first.TicketID
				}
			} else {
				m.Subject = fmt.Sprintf("%d SLA notices", len(mine))
				var b strings.Builder
				for _, i := range mine {
					b.WriteString("- " + rows[i].Body + "\n\n")
				}
				m.Body = strings.TrimSpace(b.String())
			}
			if err := s.mailer(ctx, tx, m); err != nil {
				return fmt.Errorf("queue email: %w", err)
			}
			res.Emails++
		}
		if err := tx.Exec(`UPDATE notifications SET email_pending = false WHERE id IN ?`, ids).Error; err != nil {
			return fmt.Errorf("mark notices sent: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sla: sweep: %w", err)
	}
	return taken, nil
}

// escalating marks the context of a desk change made by an escalation, so that the hook clears
// the clock's pending actions in the change's own transaction: the change happens once.
type escalating struct{}

var errAlreadyEscalated = errors.New("escalation already done")

// clearPending runs in the desk's transaction of an escalation.
func clearPending(ctx context.Context, tx *gorm.DB) error {
	id, ok := ctx.Value(escalating{}).(int64)
	if !ok {
		return nil
	}
	res := tx.Exec(`UPDATE sla_clocks SET pending_actions = '{}' WHERE id = ? AND pending_actions <> '{}'`, id)
	if res.Error != nil {
		return fmt.Errorf("clear escalation: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errAlreadyEscalated
	}
	return nil
}

// runActions applies pending escalation steps (raise priority, reassign) through the desk, so
// that they are ordinary ticket changes with their events and hooks.
func (s *Service) runActions(ctx context.Context, res *SweepResult) (int, error) {
	var rows []struct {
		ID             int64
		TicketID       int64
		PolicyID       *int64
		PendingActions string
		Priority       tickets.Level
		Status         tickets.Status
		CustomerID     int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT c.id, c.ticket_id, c.policy_id, c.pending_actions::text AS pending_actions,
			t.priority, t.status, t.customer_id
		FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id
		WHERE c.pending_actions <> '{}' ORDER BY c.id LIMIT ?`, actionBatch).Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("sla: sweep: pending escalations: %w", err)
	}
	st, err := s.settings(ctx, s.db)
	if err != nil {
		return 0, fmt.Errorf("sla: sweep: %w", err)
	}
	for _, r := range rows {
		var p *Policy
		for i := range st.policies {
			if r.PolicyID != nil && st.policies[i].ID == *r.PolicyID {
				p = &st.policies[i]
			}
		}
		var change tickets.TicketChange
		if p != nil && r.Status != tickets.StatusSolved && r.Status != tickets.StatusClosed {
			change = escalationChange(p, strings.Split(strings.Trim(r.PendingActions, "{}"), ","), r.Priority)
		}
		if !change.Empty() {
			_, err := s.desk.Update(context.WithValue(ctx, escalating{}, r.ID), r.TicketID, tickets.SystemActor, change)
			var invalid *tickets.ValidationError
			switch {
			case errors.Is(err, errAlreadyEscalated):
				continue
			case errors.As(err, &invalid):
				// The ticket's state refuses it (the user is not in the ticket's team): say so
				// on the ticket and drop it, rather than retry forever.
				if err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					data, _ := json.Marshal(map[string]any{"clock_id": r.ID, "reason": invalid.Error()})
					return tx.Exec(`INSERT INTO events (actor_kind, ticket_id, customer_id, type, data) VALUES ('system', ?, ?, ?, CAST(? AS jsonb))`,
						r.TicketID, r.CustomerID, EventEscalationFailed, string(data)).Error
				}); err != nil {
					return 0, fmt.Errorf("sla: sweep: record failed escalation: %w", err)
				}
			case err != nil:
				return 0, fmt.Errorf("sla: sweep: escalate ticket %d: %w", r.TicketID, err)
			default:
				res.Actions++
			}
		}
		// Nothing to change (already urgent, or solved meanwhile), or the change committed and
		// cleared it already: make sure it is not tried again.
		if err := s.db.WithContext(ctx).Exec(`UPDATE sla_clocks SET pending_actions = '{}' WHERE id = ?`, r.ID).Error; err != nil {
			return 0, fmt.Errorf("sla: sweep: clear escalation: %w", err)
		}
	}
	return len(rows), nil
}

// escalationChange merges the steps of the pending stages into one ticket change.
func escalationChange(p *Policy, stages []string, prio tickets.Level) tickets.TicketChange {
	var c tickets.TicketChange
	raise := 0
	for _, stage := range []string{"warning", "breach"} {
		if !slices.Contains(stages, stage) {
			continue
		}
		esc := p.OnWarning
		if stage == "breach" {
			esc = p.OnBreach
		}
		if esc.RaisePriority {
			raise++
		}
		if esc.ReassignTeamID != nil {
			c.TeamID = tickets.OptionalID{Set: true, ID: *esc.ReassignTeamID}
		}
		if esc.ReassignUserID != nil {
			c.AssigneeID = tickets.OptionalID{Set: true, ID: *esc.ReassignUserID}
		}
	}
	if next := min(prio+tickets.Level(raise), tickets.Urgent); next != prio {
		c.Priority = &next
	}
	return c
}

// recomputeQueued re-evaluates a batch of queued tickets. It locks their rows, so that a change
// on the desk (which locks the ticket too) and the re-evaluation apply one after the other.
func (s *Service) recomputeQueued(ctx context.Context) (int, error) {
	var n int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []int64
		err := tx.Raw(`SELECT r.ticket_id FROM sla_recompute r JOIN tickets t ON t.id = r.ticket_id
			ORDER BY r.queued_at, r.ticket_id LIMIT ?
			FOR UPDATE OF r, t SKIP LOCKED`, recomputeBatch).Scan(&ids).Error
		if err != nil {
			return fmt.Errorf("take queued tickets: %w", err)
		}
		n = len(ids)
		if n == 0 {
			return nil
		}
		if err := s.recompute(ctx, tx, ids, nil); err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM sla_recompute WHERE ticket_id IN ?`, ids).Error
	})
	if err != nil {
		return 0, fmt.Errorf("sla: re-evaluate: %w", err)
	}
	return n, nil
}
