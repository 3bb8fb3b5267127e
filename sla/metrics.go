package sla

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Groupings of the metrics.
const (
	GroupAgent = "agent"
	GroupTeam  = "team"
	GroupTier  = "tier"
	GroupAll   = "all"
)

// MetricsQuery asks for the figures of [From, To), grouped.
type MetricsQuery struct {
	From, To time.Time
	Group    string // agent, team, tier or all
}

// maxMetricsRange bounds a report: a year and a day.
const maxMetricsRange = 366 * 24 * time.Hour

// Durations summarizes a set of times, in business and in calendar seconds; nil when the set is
// empty.
type Durations struct {
	Count          int64
	MedianBusiness *float64
	P90Business    *float64
	MedianCalendar *float64
	P90Calendar    *float64
}

// MetricsRow holds the figures of one agent, team or tier, or of everybody.
type MetricsRow struct {
	// Key is the agent's or team's id, the tier, "none" for work without an agent or team, or
	// "all" for the overall row.
	Key  string
	Name string
	// Assigned counts tickets given to the agent (or the group's tickets given to anyone).
	Assigned int64
	Solved   int64
	Reopened int64
	Replies  int64
	// Answered counts tickets with a public reply in the range; AnsweredShare is their share of
	// all tickets answered in the range.
	Answered      int64
	AnsweredShare *float64
	FirstResponse Durations
	NextResponse  Durations
	Resolution    Durations
	// Clocks that met their target or breached in the range, and the share met.
	Clocks    int64
	ClocksMet int64
	MetShare  *float64
	// Backlog is the tickets open now and their age.
	Backlog    int64
	BacklogAge Durations
	// SecondContact is the time from our first public reply on a ticket to our second.
	SecondContact Durations
}

// Metrics is a report.
type Metrics struct {
	From, To time.Time
	Group    string
	Rows     []MetricsRow // by key
	Overall  MetricsRow
}

// Metrics computes the report with SQL aggregates, several queries at once. Every figure is
// defined in the package documentation.
func (s *Service) Metrics(ctx context.Context, q MetricsQuery) (*Metrics, error) {
	var v tickets.ValidationError
	if q.Group == "" {
		q.Group = GroupAll
	}
	if !slices.Contains([]string{GroupAgent, GroupTeam, GroupTier, GroupAll}, q.Group) {
		v.Add("group", "must be agent, team, tier or all")
	}
	switch {
	case q.From.IsZero() || q.To.IsZero():
		v.Add("from", "from and to are required")
	case !q.To.After(q.From):
		v.Add("to", "must be after from")
	case q.To.Sub(q.From) > maxMetricsRange:
		v.Add("to", "the range must be at most 366 days")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	rows := map[string]*MetricsRow{}
	var mu sync.Mutex
	row := func(key string) *MetricsRow {
		if r, ok := rows[key]; ok {
			return r
		}
		r := &MetricsRow{Key: key}
		rows[key] = r
		return r
	}
	// The parts read different tables and rows; run them side by side, each on a connection.
	parts := []func() error{
		func() error { return s.activityMetrics(ctx, q, &mu, row) },
		func() error { return s.answeredMetrics(ctx, q, true, &mu, row) },
		func() error { return s.clockMetrics(ctx, q, FirstResponse, &mu, row) },
		func() error { return s.clockMetrics(ctx, q, NextResponse, &mu, row) },
		func() error { return s.clockMetrics(ctx, q, Resolution, &mu, row) },
		func() error { return s.backlogMetrics(ctx, q, now, &mu, row) },
		func() error { return s.followUpMetrics(ctx, q, &mu, row) },
	}
	if q.Group != GroupAll {
		parts = append(parts, func() error { return s.answeredMetrics(ctx, q, false, &mu, row) })
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { errs[i] = part() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("sla: metrics: %w", err)
		}
	}
	out := &Metrics{From: q.From, To: q.To, Group: q.Group}
	for key, r := range rows {
		if key == "all" {
			out.Overall = *r
			continue
		}
		out.Rows = append(out.Rows, *r)
	}
	out.Overall.Key = "all"
	for i := range out.Rows {
		r := &out.Rows[i]
		if out.Overall.Answered > 0 {
			share := float64(r.Answered) / float64(out.Overall.Answered)
			r.AnsweredShare = &share
		}
		r.MetShare = share(r.ClocksMet, r.Clocks)
	}
	if out.Overall.Answered > 0 {
		one := 1.0
		out.Overall.AnsweredShare = &one
	}
	out.Overall.MetShare = share(out.Overall.ClocksMet, out.Overall.Clocks)
	if err := s.nameRows(ctx, q.Group, out.Rows); err != nil {
		return nil, fmt.Errorf("sla: metrics: %w", err)
	}
	slices.SortFunc(out.Rows, func(a, b MetricsRow) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

func share(part, whole int64) *float64 {
	if whole == 0 {
		return nil
	}
	f := float64(part) / float64(whole)
	return &f
}

// keyExpr is the SQL of the group key from the columns that hold the agent, the team and the
// tier: an id (0 for none) or a tier in the "C" collation, because sorting numbers or bytes is
// far cheaper than sorting text by the database's locale. The overall row is told apart by
// GROUPING().
func keyExpr(group, agent, team, tier string) string {
	switch group {
	case GroupAgent:
		return `coalesce(` + agent + `, 0)`
	case GroupTeam:
		return `coalesce(` + team + `, 0)`
	case GroupTier:
		return `coalesce(` + tier + `, 'none') COLLATE "C"`
	}
	return `0`
}

// groupBy groups by key and adds the overall row; the overall report is one group already.
func groupBy(group string) string {
	if group == GroupAll {
		return ` GROUP BY key`
	}
	return ` GROUP BY GROUPING SETS ((key), ())`
}

// groupingExpr tells the overall row (1) from the groups' rows (0).
func groupingExpr(group string) string {
	if group == GroupAll {
		return `1`
	}
	return `GROUPING(key)`
}

// rowKey is the key of a result row: "all" for the overall (grouped-away) row, "none" for work
// without an agent or team.
func rowKey(key *string, grouped int) string {
	switch {
	case grouped == 1 || key == nil:
		return "all"
	case *key == "0":
		return "none"
	}
	return *key
}

// report runs one query of a report in a transaction of its own, so that it can have its
// settings: room to sort its samples in memory, and no JIT compilation, whose start-up costs
// more than it saves at this size.
func (s *Service) report(ctx context.Context, dest any, sql string, args map[string]any) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true)`).Error; err != nil {
			return err
		}
		return tx.Raw(sql, args).Scan(dest).Error
	})
}

type activityRow struct {
	Key      *string
	Grouped  int
	Assigned int64
	Solved   int64
	Reopened int64
	Replies  int64
	Answered int64
}

// activityMetrics counts assignments, solves, reopenings and replies of the range from
// sla_activity, whose rows name the agent each counts for and the ticket's team and tier at the
// time.
func (s *Service) activityMetrics(ctx context.Context, q MetricsQuery, mu *sync.Mutex, row func(string) *MetricsRow) error {
	sql := `SELECT key::text AS key, ` + groupingExpr(q.Group) + ` AS grouped,
			count(*) FILTER (WHERE kind = 'assigned') AS assigned, count(*) FILTER (WHERE kind = 'solved') AS solved,
			count(*) FILTER (WHERE kind = 'reopened') AS reopened, count(*) FILTER (WHERE kind = 'reply') AS replies
		FROM (SELECT ` + keyExpr(q.Group, "a.user_id", "a.team_id", "a.tier") + ` AS key, a.kind
			FROM sla_activity a
			WHERE a.kind IN ('assigned', 'reply', 'solved', 'reopened') AND a.at >= @from AND a.at < @to) x` + groupBy(q.Group)
	var rows []activityRow
	if err := s.report(ctx, &rows, sql, map[string]any{"from": q.From, "to": q.To}); err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range rows {
		m := row(rowKey(r.Key, r.Grouped))
		m.Assigned, m.Solved, m.Reopened, m.Replies = r.Assigned, r.Solved, r.Reopened, r.Replies
	}
	return nil
}

// answeredMetrics counts the tickets with a public reply in the range: per group (a ticket two
// agents answered counts for both) or, for the overall row, once.
func (s *Service) answeredMetrics(ctx context.Context, q MetricsQuery, overall bool, mu *sync.Mutex, row func(string) *MetricsRow) error {
	sql := `SELECT key::text AS key, 0 AS grouped, count(*) AS answered
		FROM (SELECT DISTINCT ` + keyExpr(q.Group, "a.user_id", "a.team_id", "a.tier") + ` AS key, a.ticket_id
			FROM sla_activity a WHERE a.kind = 'reply' AND a.at >= @from AND a.at < @to) x
		GROUP BY key`
	if overall {
		sql = `SELECT NULL AS key, 1 AS grouped, count(DISTINCT a.ticket_id) AS answered
			FROM sla_activity a WHERE a.kind = 'reply' AND a.at >= @from AND a.at < @to`
	}
	var rows []activityRow
	if err := s.report(ctx, &rows, sql, map[string]any{"from": q.From, "to": q.To}); err != nil {
		return fmt.Errorf("answered: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range rows {
		row(rowKey(r.Key, r.Grouped)).Answered = r.Answered
	}
	return nil
}

type durationRow struct {
	Key            *string
	Grouped        int
	Count          int64
	MedianBusiness *float64
	P90Business    *float64
	MedianCalendar *float64
	P90Calendar    *float64
	Clocks         int64
	Met            int64
}

func (r durationRow) durations() Durations {
	return Durations{Count: r.Count, MedianBusiness: r.MedianBusiness, P90Business: r.P90Business, MedianCalendar: r.MedianCalendar, P90Calendar: r.P90Calendar}
}

// percentiles aggregates business and calendar seconds (columns b and c) of the rows where
// filter holds. One percentile_cont over an array of fractions sorts once for both.
func percentiles(filter string) string {
	f := ` FILTER (WHERE ` + filter + `)`
	b := `(percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY b)` + f + `)`
	c := `(percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY c)` + f + `)`
	return `count(*)` + f + ` AS count, ` + b + `[1] AS median_business, ` + b + `[2] AS p90_business, ` +
		c + `[1] AS median_calendar, ` + c + `[2] AS p90_calendar`
}

// clockMetrics reports one kind of clock: the times of those that stopped in the range (response
// times only where a reply stopped them), for who stopped them, and the share met among those
// that stopped or breached while running in the range.
func (s *Service) clockMetrics(ctx context.Context, q MetricsQuery, kind Kind, mu *sync.Mutex, row func(string) *MetricsRow) error {
	sql := `SELECT key::text AS key, ` + groupingExpr(q.Group) + ` AS grouped, ` + percentiles(`timed`) + `,
			count(*) AS clocks, count(*) FILTER (WHERE stopped AND NOT breached) AS met
		FROM (SELECT ` + keyExpr(q.Group, "coalesce(c.stopped_by, c.assignee_id)", "c.team_id", "c.tier") + ` AS key,
				c.business_seconds AS b, c.calendar_seconds AS c, true AS stopped, c.breached_at IS NOT NULL AS breached,
				(c.kind = 'resolution' OR c.stop_reason = 'reply') AS timed
			FROM sla_clocks c
			WHERE c.kind = @kind AND c.stopped_at IS NOT NULL AND c.stopped_at >= @from AND c.stopped_at < @to
			UNION ALL
			SELECT ` + keyExpr(q.Group, "c.assignee_id", "c.team_id", "c.tier") + `, 0, 0, false, true, false
			FROM sla_clocks c
			WHERE c.kind = @kind AND c.stopped_at IS NULL AND c.breached_at IS NOT NULL AND c.breached_at >= @from AND c.breached_at < @to) x` +
		groupBy(q.Group)
	var rows []durationRow
	if err := s.report(ctx, &rows, sql, map[string]any{"from": q.From, "to": q.To, "kind": string(kind)}); err != nil {
		return fmt.Errorf("%s clocks: %w", kind, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range rows {
		m := row(rowKey(r.Key, r.Grouped))
		switch kind {
		case FirstResponse:
			m.FirstResponse = r.durations()
		case NextResponse:
			m.NextResponse = r.durations()
		case Resolution:
			m.Resolution = r.durations()
		}
		m.Clocks += r.Clocks
		m.ClocksMet += r.Met
	}
	return nil
}

// backlogMetrics: tickets open now, by their assignee, team and tier now, and their age in
// calendar time and in business time of the calendar their resolution clock runs on. An open
// ticket's resolution clock carries what is needed (its running clock follows reassignments),
// so the report reads the small index of open resolution clocks; tickets whose policy sets no
// resolution target come from the tickets table, without a business age.
func (s *Service) backlogMetrics(ctx context.Context, q MetricsQuery, now time.Time, mu *sync.Mutex, row func(string) *MetricsRow) error {
	joins := ``
	if q.Group == GroupTier {
		joins = ` LEFT JOIN customer_scores cs ON cs.customer_id = t.customer_id`
	}
	sql := `WITH cal AS (SELECT id, sla_business_at(id, @now) AS b FROM sla_calendars)
		SELECT key::text AS key, ` + groupingExpr(q.Group) + ` AS grouped, ` + percentiles(`true`) + `
		FROM (SELECT ` + keyExpr(q.Group, "rc.assignee_id", "rc.team_id", "rc.tier") + ` AS key,
				extract(epoch FROM (CAST(@now AS timestamptz) - rc.started_at))::double precision AS c,
				cal.b - rc.started_cum_seconds AS b
			FROM sla_clocks rc LEFT JOIN cal ON cal.id = rc.calendar_id
			WHERE rc.kind = 'resolution' AND rc.stopped_at IS NULL
			UNION ALL
			SELECT ` + keyExpr(q.Group, "t.assignee_id", "t.team_id", "coalesce(cs.tier, 'new')") + `,
				extract(epoch FROM (CAST(@now AS timestamptz) - t.created_at))::double precision, NULL
			FROM tickets t` + joins + `
			WHERE t.status IN ('new', 'open', 'pending', 'on-hold') AND NOT EXISTS (SELECT 1 FROM sla_clocks rc
				WHERE rc.ticket_id = t.id AND rc.kind = 'resolution' AND rc.stopped_at IS NULL)) x` + groupBy(q.Group)
	var rows []durationRow
	if err := s.report(ctx, &rows, sql, map[string]any{"now": now}); err != nil {
		return fmt.Errorf("backlog: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range rows {
		m := row(rowKey(r.Key, r.Grouped))
		m.Backlog, m.BacklogAge = r.Count, r.durations()
	}
	return nil
}

// followUpMetrics: time from the first public reply to the second, for second replies in the
// range, counted for the author of the second.
func (s *Service) followUpMetrics(ctx context.Context, q MetricsQuery, mu *sync.Mutex, row func(string) *MetricsRow) error {
	sql := `SELECT key::text AS key, ` + groupingExpr(q.Group) + ` AS grouped, ` + percentiles(`true`) + `
		FROM (SELECT ` + keyExpr(q.Group, "c.followup_by", "c.team_id", "c.tier") + ` AS key,
				c.followup_business_seconds AS b, c.followup_calendar_seconds AS c
			FROM sla_clocks c
			WHERE c.followup_at IS NOT NULL AND c.followup_at >= @from AND c.followup_at < @to) x` + groupBy(q.Group)
	var rows []durationRow
	if err := s.report(ctx, &rows, sql, map[string]any{"from": q.From, "to": q.To}); err != nil {
		return fmt.Errorf("second contact: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range rows {
		row(rowKey(r.Key, r.Grouped)).SecondContact = r.durations()
	}
	return nil
}

// nameRows fills in agents' and teams' names.
func (s *Service) nameRows(ctx context.Context, group string, rows []MetricsRow) error {
	table := map[string]string{GroupAgent: "users", GroupTeam: "teams"}[group]
	if table == "" {
		for i := range rows {
			rows[i].Name = rows[i].Key
		}
		return nil
	}
	var ids []int64
	for _, r := range rows {
		if id, err := strconv.ParseInt(r.Key, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	var names []struct {
		ID   int64
		Name string
	}
	if len(ids) > 0 {
		// table is one of two constants.
		if err := s.db.WithContext(ctx).Raw(`SELECT id, name FROM `+table+` WHERE id IN ?`, ids).Scan(&names).Error; err != nil {
			return err
		}
	}
	byID := map[string]string{}
	for _, n := range names {
		byID[strconv.FormatInt(n.ID, 10)] = n.Name
	}
	for i := range rows {
		switch name, ok := byID[rows[i].Key]; {
		case ok:
			rows[i].Name = name
		case rows[i].Key == "none" && group == GroupAgent:
			rows[i].Name = "(nobody)"
		case rows[i].Key == "none":
			rows[i].Name = "(no team)"
		default:
			rows[i].Name = rows[i].Key
		}
	}
	return nil
}

// CSVHeader names the columns of WriteCSV.
var CSVHeader = []string{
	"group", "key", "name", "assigned", "solved", "reopened", "replies", "answered", "answered_share",
	"first_response_count", "first_response_median_business_s", "first_response_p90_business_s", "first_response_median_calendar_s", "first_response_p90_calendar_s",
	"next_response_count", "next_response_median_business_s", "next_response_p90_business_s", "next_response_median_calendar_s", "next_response_p90_calendar_s",
	"resolution_count", "resolution_median_business_s", "resolution_p90_business_s", "resolution_median_calendar_s", "resolution_p90_calendar_s",
	"clocks", "clocks_met", "met_share",
	"backlog", "backlog_age_median_business_s", "backlog_age_p90_business_s", "backlog_age_median_calendar_s", "backlog_age_p90_calendar_s",
	"second_contact_count", "second_contact_median_business_s", "second_contact_p90_business_s", "second_contact_median_calendar_s", "second_contact_p90_calendar_s",
}

// WriteCSV writes the report, one row per group and the overall row last. Empty cells mean
// "no data" (a median of nothing).
func (m *Metrics) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	rows := append(slices.Clone(m.Rows), m.Overall)
	for _, r := range rows {
		name := r.Name
		if r.Key == "all" {
			name = "everybody"
		}
		rec := []string{m.Group, r.Key, name, itoa(r.Assigned), itoa(r.Solved), itoa(r.Reopened), itoa(r.Replies), itoa(r.Answered), ftoa(r.AnsweredShare)}
		for _, d := range []Durations{r.FirstResponse, r.NextResponse, r.Resolution} {
			rec = append(rec, itoa(d.Count), ftoa(d.MedianBusiness), ftoa(d.P90Business), ftoa(d.MedianCalendar), ftoa(d.P90Calendar))
		}
		rec = append(rec, itoa(r.Clocks), itoa(r.ClocksMet), ftoa(r.MetShare), itoa(r.Backlog),
			ftoa(r.BacklogAge.MedianBusiness), ftoa(r.BacklogAge.P90Business), ftoa(r.BacklogAge.MedianCalendar), ftoa(r.BacklogAge.P90Calendar),
			itoa(r.SecondContact.Count), ftoa(r.SecondContact.MedianBusiness), ftoa(r.SecondContact.P90Business),
			ftoa(r.SecondContact.MedianCalendar), ftoa(r.SecondContact.P90Calendar))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ftoa(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}
