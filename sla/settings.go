package sla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Events the settings record in the audit trail.
const (
	EventCalendarSaved   = "sla.calendar_saved"
	EventCalendarDeleted = "sla.calendar_deleted"
	EventPolicySaved     = "sla.policy_saved"
	EventPolicyDeleted   = "sla.policy_deleted"
)

// StoredCalendar is a calendar with its record's times.
type StoredCalendar struct {
	*Calendar
	CreatedAt, UpdatedAt time.Time
}

type calendarRow struct {
	ID        int64
	Name      string
	Timezone  string
	Hours     string
	Holidays  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r calendarRow) compile() (*StoredCalendar, error) {
	spec := CalendarSpec{Name: r.Name, Timezone: r.Timezone}
	if err := json.Unmarshal([]byte(r.Hours), &spec.Hours); err != nil {
		return nil, fmt.Errorf("calendar %d: hours: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Holidays), &spec.Holidays); err != nil {
		return nil, fmt.Errorf("calendar %d: holidays: %w", r.ID, err)
	}
	c, err := Compile(spec)
	if err != nil {
		return nil, fmt.Errorf("calendar %d: %w", r.ID, err)
	}
	c.ID = r.ID
	return &StoredCalendar{Calendar: c, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

const calendarColumns = `id, name, timezone, hours::text AS hours, holidays::text AS holidays, created_at, updated_at`

func loadCalendars(ctx context.Context, q *gorm.DB) ([]*Calendar, error) {
	stored, err := listCalendars(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*Calendar, len(stored))
	for i, s := range stored {
		out[i] = s.Calendar
	}
	return out, nil
}

func listCalendars(ctx context.Context, q *gorm.DB) ([]StoredCalendar, error) {
	var rows []calendarRow
	if err := q.WithContext(ctx).Raw(`SELECT ` + calendarColumns + ` FROM sla_calendars ORDER BY lower(name), id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load calendars: %w", err)
	}
	out := make([]StoredCalendar, 0, len(rows))
	for _, r := range rows {
		c, err := r.compile()
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}

type policyRow struct {
	ID                    int64
	Name                  string
	Position              int
	Priorities            string
	Tiers                 string
	CalendarID            int64
	Targets               string
	WarnPercent           int
	OnWarning             string
	OnBreach              string
	NotifyInBusinessHours bool
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

const policyColumns = `id, name, position, array_to_json(priorities)::text AS priorities, array_to_json(tiers)::text AS tiers,
	calendar_id, targets::text AS targets, warn_percent, on_warning::text AS on_warning, on_breach::text AS on_breach,
	notify_in_business_hours, created_at, updated_at`

func (r policyRow) policy() (Policy, error) {
	p := Policy{
		ID: r.ID, Name: r.Name, Position: r.Position, CalendarID: r.CalendarID, WarnPercent: r.WarnPercent,
		NotifyInBusinessHours: r.NotifyInBusinessHours, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	for _, f := range []struct {
		raw string
		dst any
	}{{r.Priorities, &p.Priorities}, {r.Tiers, &p.Tiers}, {r.Targets, &p.Targets}, {r.OnWarning, &p.OnWarning}, {r.OnBreach, &p.OnBreach}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return p, fmt.Errorf("policy %d: %w", r.ID, err)
		}
	}
	return p, nil
}

func loadPolicies(ctx context.Context, q *gorm.DB) ([]Policy, error) {
	var rows []policyRow
	if err := q.WithContext(ctx).Raw(`SELECT ` + policyColumns + ` FROM sla_policies ORDER BY position, id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	out := make([]Policy, 0, len(rows))
	for _, r := range rows {
		p, err := r.policy()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	SortPolicies(out)
	return out, nil
}

// Calendars lists the calendars by name.
func (s *Service) Calendars(ctx context.Context) ([]StoredCalendar, error) {
	cals, err := listCalendars(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	return cals, nil
}

// Calendar returns one calendar.
func (s *Service) Calendar(ctx context.Context, id int64) (*StoredCalendar, error) {
	return getCalendar(ctx, s.db, id)
}

func getCalendar(ctx context.Context, q *gorm.DB, id int64) (*StoredCalendar, error) {
	var rows []calendarRow
	if err := q.WithContext(ctx).Raw(`SELECT `+calendarColumns+` FROM sla_calendars WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sla: get calendar: %w", err)
	}
	if len(rows) == 0 {
		return nil, tickets.ErrNotFound
	}
	c, err := rows[0].compile()
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	return c, nil
}

// SaveCalendar creates a calendar (id 0) or replaces one. Open tickets on it are re-evaluated.
func (s *Service) SaveCalendar(ctx context.Context, actor tickets.Actor, id int64, spec CalendarSpec) (*StoredCalendar, error) {
	if spec.Holidays == nil {
		spec.Holidays = []Holiday{}
	}
	cal, err := Compile(spec)
	if err != nil {
		return nil, err
	}
	spec = cal.Spec()
	hours, _ := json.Marshal(spec.Hours) // plain maps and slices of strings
	holidays, _ := json.Marshal(spec.Holidays)
	err = s.changeSettings(ctx, func(tx *gorm.DB) error {
		var saved []int64
		var err error
		if id == 0 {
			err = tx.Raw(`INSERT INTO sla_calendars (name, timezone, hours, holidays) VALUES (?, ?, CAST(? AS jsonb), CAST(? AS jsonb))
				ON CONFLICT DO NOTHING RETURNING id`, spec.Name, spec.Timezone, string(hours), string(holidays)).Scan(&saved).Error
		} else {
			if err := mustFind(tx, "sla_calendars", id); err != nil {
				return err
			}
			err = tx.Raw(`UPDATE sla_calendars SET name = ?, timezone = ?, hours = CAST(? AS jsonb), holidays = CAST(? AS jsonb), updated_at = now()
				WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sla_calendars o WHERE lower(o.name) = lower(?) AND o.id <> ?)
				RETURNING id`, spec.Name, spec.Timezone, string(hours), string(holidays), id, spec.Name, id).Scan(&saved).Error
		}
		if err != nil {
			return fmt.Errorf("save calendar: %w", err)
		}
		if len(saved) == 0 {
			return &tickets.ConflictError{Field: "name", Message: "a calendar with this name already exists"}
		}
		id = saved[0]
		cal.ID = id
		if err := writeSpans(tx, cal); err != nil {
			return err
		}
		// Clocks that can still move on this calendar follow its new hours.
		if err := tx.Exec(`INSERT INTO sla_recompute (ticket_id)
			SELECT DISTINCT ticket_id FROM sla_clocks WHERE calendar_id = ? AND stopped_at IS NULL
			ON CONFLICT DO NOTHING`, id).Error; err != nil {
			return fmt.Errorf("queue re-evaluation: %w", err)
		}
		return audit(tx, actor, EventCalendarSaved, map[string]any{"calendar_id": id, "name": spec.Name})
	})
	if err != nil {
		return nil, fmt.Errorf("sla: save calendar: %w", err)
	}
	return getCalendar(ctx, s.db, id)
}

// DeleteCalendar removes a calendar that no policy uses.
func (s *Service) DeleteCalendar(ctx context.Context, actor tickets.Actor, id int64) error {
	err := s.changeSettings(ctx, func(tx *gorm.DB) error {
		if err := mustFind(tx, "sla_calendars", id); err != nil {
			return err
		}
		var users []string
		if err := tx.Raw(`SELECT name FROM sla_policies WHERE calendar_id = ? ORDER BY position, id`, id).Scan(&users).Error; err != nil {
			return err
		}
		if len(users) > 0 {
			return &tickets.ConflictError{Field: "id", Message: "the calendar is used by the policies " + strings.Join(users, ", ") + "; give them another calendar first"}
		}
		if err := tx.Exec(`DELETE FROM sla_calendars WHERE id = ?`, id).Error; err != nil {
			return err
		}
		return audit(tx, actor, EventCalendarDeleted, map[string]any{"calendar_id": id})
	})
	if err != nil {
		return fmt.Errorf("sla: delete calendar: %w", err)
	}
	return nil
}

// ImportHolidays adds the dates of an iCalendar file's events to a calendar's holidays (or, with
// replace, makes them its holidays), and returns the calendar and how many dates were new.
func (s *Service) ImportHolidays(ctx context.Context, actor tickets.Actor, id int64, ics string, replace bool) (*StoredCalendar, int, error) {
	cur, err := s.Calendar(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	found, err := ParseHolidays(strings.NewReader(ics), cur.Location(), s.now())
	if err != nil {
		return nil, 0, err
	}
	spec := cur.Spec()
	if replace {
		spec.Holidays = nil
	}
	have := map[string]bool{}
	for _, h := range spec.Holidays {
		have[h.Date] = true
	}
	added := 0
	for _, h := range found {
		if !have[h.Date] {
			have[h.Date] = true
			spec.Holidays = append(spec.Holidays, h)
			added++
		}
	}
	saved, err := s.SaveCalendar(ctx, actor, id, spec)
	if err != nil {
		var v *tickets.ValidationError
		if errors.As(err, &v) {
			// Too many dates, most likely: say it about the file.
			return nil, 0, &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "ics", Message: v.Error()}}}
		}
		return nil, 0, err
	}
	return saved, added, nil
}

// Policies lists the policies in the order they are tried.
func (s *Service) Policies(ctx context.Context) ([]Policy, error) {
	ps, err := loadPolicies(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	return ps, nil
}

// Policy returns one policy.
func (s *Service) Policy(ctx context.Context, id int64) (*Policy, error) {
	return getPolicy(ctx, s.db, id)
}

func getPolicy(ctx context.Context, q *gorm.DB, id int64) (*Policy, error) {
	var rows []policyRow
	if err := q.WithContext(ctx).Raw(`SELECT `+policyColumns+` FROM sla_policies WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sla: get policy: %w", err)
	}
	if len(rows) == 0 {
		return nil, tickets.ErrNotFound
	}
	p, err := rows[0].policy()
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	return &p, nil
}

// SavePolicy creates a policy (id 0) or replaces one. The policies must still cover every
// priority and tier together; open tickets are re-evaluated under the new set.
func (s *Service) SavePolicy(ctx context.Context, actor tickets.Actor, id int64, p Policy) (*Policy, error) {
	if err := p.Clean(); err != nil {
		return nil, err
	}
	targets, _ := json.Marshal(p.Targets) // plain values
	onWarning, _ := json.Marshal(p.OnWarning)
	onBreach, _ := json.Marshal(p.OnBreach)
	err := s.changeSettings(ctx, func(tx *gorm.DB) error {
		if err := checkReferences(tx, &p); err != nil {
			return err
		}
		if id != 0 {
			if err := mustFind(tx, "sla_policies", id); err != nil {
				return err
			}
		}
		var saved []int64
		var err error
		levels := make([]int16, len(p.Priorities))
		for i, l := range p.Priorities {
			levels[i] = int16(l)
		}
		args := []any{p.Name, p.Position, pgArray(levels), pgArray(p.Tiers), p.CalendarID, string(targets), p.WarnPercent,
			string(onWarning), string(onBreach), p.NotifyInBusinessHours}
		if id == 0 {
			err = tx.Raw(`INSERT INTO sla_policies (name, position, priorities, tiers, calendar_id, targets, warn_percent,
					on_warning, on_breach, notify_in_business_hours)
				VALUES (?, ?, CAST(? AS smallint[]), CAST(? AS text[]), ?, CAST(? AS jsonb), ?, CAST(? AS jsonb), CAST(? AS jsonb), ?)
				ON CONFLICT DO NOTHING RETURNING id`, args...).Scan(&saved).Error
		} else {
			err = tx.Raw(`UPDATE sla_policies SET name = ?, position = ?, priorities = CAST(? AS smallint[]), tiers = CAST(? AS text[]),
					calendar_id = ?, targets = CAST(? AS jsonb), warn_percent = ?, on_warning = CAST(? AS jsonb),
					on_breach = CAST(? AS jsonb), notify_in_business_hours = ?, updated_at = now()
				WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sla_policies o WHERE lower(o.name) = lower(?) AND o.id <> ?)
				RETURNING id`, append(args, id, p.Name, id)...).Scan(&saved).Error
		}
		if err != nil {
			return fmt.Errorf("save policy: %w", err)
		}
		if len(saved) == 0 {
			return &tickets.ConflictError{Field: "name", Message: "a policy with this name already exists"}
		}
		id = saved[0]
		if err := checkCoverage(tx, func(gaps string) error {
			field := "priorities"
			if len(p.Priorities) == 0 {
				field = "tiers"
			}
			return &tickets.ValidationError{Fields: []tickets.FieldError{{Field: field,
				Message: "with this policy no policy matches " + gaps + ": widen it or add a policy that matches everything last"}}}
		}); err != nil {
			return err
		}
		if err := queueOpenTickets(tx); err != nil {
			return err
		}
		return audit(tx, actor, EventPolicySaved, map[string]any{"policy_id": id, "name": p.Name})
	})
	if err != nil {
		return nil, fmt.Errorf("sla: save policy: %w", err)
	}
	return getPolicy(ctx, s.db, id)
}

// DeletePolicy removes a policy, unless the others would leave a priority or tier uncovered.
func (s *Service) DeletePolicy(ctx context.Context, actor tickets.Actor, id int64) error {
	err := s.changeSettings(ctx, func(tx *gorm.DB) error {
		if err := mustFind(tx, "sla_policies", id); err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM sla_policies WHERE id = ?`, id).Error; err != nil {
			return err
		}
		if err := checkCoverage(tx, func(gaps string) error {
			return &tickets.ConflictError{Field: "id", Message: "without this policy none matches " + gaps + "; add or widen another policy first"}
		}); err != nil {
			return err
		}
		if err := queueOpenTickets(tx); err != nil {
			return err
		}
		return audit(tx, actor, EventPolicyDeleted, map[string]any{"policy_id": id})
	})
	if err != nil {
		return fmt.Errorf("sla: delete policy: %w", err)
	}
	return nil
}

// changeSettings runs fn in a transaction that holds the settings row, so that changes apply one
// at a time (two admins each removing a different catch-all must not both succeed), and bumps
// the version every node checks.
func (s *Service) changeSettings(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE sla_state SET version = version + 1`).Error; err != nil {
			return fmt.Errorf("lock settings: %w", err)
		}
		return fn(tx)
	})
}

func checkCoverage(tx *gorm.DB, complain func(gaps string) error) error {
	ps, err := loadPolicies(tx.Statement.Context, tx)
	if err != nil {
		return err
	}
	if gaps := Uncovered(ps); len(gaps) > 0 {
		if len(gaps) > 6 {
			gaps = append(gaps[:6], fmt.Sprintf("and %d more", len(gaps)-6))
		}
		return complain(strings.Join(gaps, ", "))
	}
	return nil
}

// checkReferences turns dangling ids into validation errors at save time, not sweep time.
func checkReferences(tx *gorm.DB, p *Policy) error {
	var v tickets.ValidationError
	if n := countWhere(tx, `SELECT count(*) FROM sla_calendars WHERE id = ?`, p.CalendarID); n == 0 {
		v.Add("calendar_id", "no such calendar")
	}
	for _, e := range []struct {
		field string
		esc   Escalation
	}{{"on_warning", p.OnWarning}, {"on_breach", p.OnBreach}} {
		if id := e.esc.ReassignTeamID; id != nil && countWhere(tx, `SELECT count(*) FROM teams WHERE id = ?`, *id) == 0 {
			v.Add(e.field+".reassign_team_id", "no such team")
		}
		if id := e.esc.ReassignUserID; id != nil && countWhere(tx, `SELECT count(*) FROM users WHERE id = ? AND disabled_at IS NULL`, *id) == 0 {
			v.Add(e.field+".reassign_user_id", "no such active user")
		}
		if e.esc.ReassignTeamID != nil && e.esc.ReassignUserID != nil &&
			countWhere(tx, `SELECT count(*) FROM team_members WHERE team_id = ? AND user_id = ?`, *e.esc.ReassignTeamID, *e.esc.ReassignUserID) == 0 {
			v.Add(e.field+".reassign_user_id", "is not a member of the team")
		}
	}
	return v.Err()
}

func countWhere(tx *gorm.DB, query string, args ...any) int64 {
	var n int64
	if err := tx.Raw(query, args...).Scan(&n).Error; err != nil {
		// A failed count makes the transaction fail anyway; the caller's next statement reports it.
		return 0
	}
	return n
}

func mustFind(tx *gorm.DB, table string, id int64) error {
	// table is one of this package's constants, never input.
	var ids []int64
	if err := tx.Raw(`SELECT id FROM `+table+` WHERE id = ? FOR UPDATE`, id).Scan(&ids).Error; err != nil {
		return err
	}
	if len(ids) == 0 {
		return tickets.ErrNotFound
	}
	return nil
}

// queueOpenTickets asks the sweeper to re-evaluate every open ticket: a change of policies can
// move any of them.
func queueOpenTickets(tx *gorm.DB) error {
	err := tx.Exec(`INSERT INTO sla_recompute (ticket_id)
		SELECT id FROM tickets WHERE status IN ('new', 'open', 'pending', 'on-hold')
		ON CONFLICT DO NOTHING`).Error
	if err != nil {
		return fmt.Errorf("queue re-evaluation: %w", err)
	}
	return nil
}

// audit records a settings change in the audit trail.
func audit(tx *gorm.DB, actor tickets.Actor, typ string, data map[string]any) error {
	payload, _ := json.Marshal(data) // ids and names
	err := tx.Exec(`INSERT INTO events (actor_kind, actor_user_id, type, data) VALUES (?, ?, ?, CAST(? AS jsonb))`,
		actor.Kind, nullID(actor.UserID), typ, string(payload)).Error
	if err != nil {
		return fmt.Errorf("record %s: %w", typ, err)
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// pgArray writes a PostgreSQL array literal of plain values (levels, tier names), passed as a
// string: GORM would expand a slice into a list of parameters.
func pgArray[T any](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// writeSpans replaces a calendar's business spans, the table SQL uses to count business time.
func writeSpans(tx *gorm.DB, c *Calendar) error {
	spans := c.Spans(spansFrom, spansTo)
	type row struct {
		S time.Time `json:"s"`
		E time.Time `json:"e"`
		C float64   `json:"c"`
	}
	rows := make([]row, len(spans))
	var cum time.Duration
	for i, sp := range spans {
		rows[i] = row{sp.From, sp.To, cum.Seconds()}
		cum += sp.To.Sub(sp.From)
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("encode spans: %w", err)
	}
	if err := tx.Exec(`DELETE FROM sla_business_spans WHERE calendar_id = ?`, c.ID).Error; err != nil {
		return fmt.Errorf("write spans: %w", err)
	}
	err = tx.Exec(`INSERT INTO sla_business_spans (calendar_id, starts_at, ends_at, cum_seconds)
		SELECT ?, x.s, x.e, x.c FROM jsonb_to_recordset(CAST(? AS jsonb)) AS x(s timestamptz, e timestamptz, c double precision)`,
		c.ID, string(payload)).Error
	if err != nil {
		return fmt.Errorf("write spans: %w", err)
	}
	if err := tx.Exec(`UPDATE sla_calendars SET spans_ready = true WHERE id = ?`, c.ID).Error; err != nil {
		return fmt.Errorf("write spans: %w", err)
	}
	return nil
}

// PrepareSpans writes the business spans of calendars that lack them (the migration's default
// calendar). serve calls it at start; it is cheap when there is nothing to do.
func (s *Service) PrepareSpans(ctx context.Context) error {
	var ids []int64
	if err := s.db.WithContext(ctx).Raw(`SELECT id FROM sla_calendars WHERE NOT spans_ready`).Scan(&ids).Error; err != nil {
		return fmt.Errorf("sla: spans: %w", err)
	}
	for _, id := range ids {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var ready []bool
			if err := tx.Raw(`SELECT spans_ready FROM sla_calendars WHERE id = ? FOR UPDATE`, id).Scan(&ready).Error; err != nil {
				return err
			}
			if len(ready) == 0 || ready[0] {
				return nil // deleted, or another node did it
			}
			c, err := getCalendar(ctx, tx, id)
			if err != nil {
				return err
			}
			return writeSpans(tx, c.Calendar)
		})
		if err != nil {
			return fmt.Errorf("sla: spans of calendar %d: %w", id, err)
		}
	}
	return nil
}
