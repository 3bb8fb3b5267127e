package sla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// RollupRanges are the dashboard's ranges, in days.
var RollupRanges = []int{7, 30, 90}

// FirstResponseBuckets are the upper bounds, in business seconds, of the first response time
// histogram: under 15 minutes, under 1 hour, under 4, under 8, under 24, and a last, open bucket.
var FirstResponseBuckets = []int64{15 * 60, 60 * 60, 4 * 3600, 8 * 3600, 24 * 3600}

// rollupLock is the advisory lock a refresh holds, so that one node refreshes at a time.
const rollupLock = 0x534c41524f4c4c55 // "SLAROLLU"

// ErrNoRollup says the dashboard's figures have not been computed yet (a fresh installation).
var ErrNoRollup = errors.New("sla: no rollup yet")

// RefreshResult says what a refresh did.
type RefreshResult struct {
	Skipped bool  // another node holds the refresh
	Fresh   bool  // the figures were younger than asked; nothing recomputed
	Ranges  []int // the ranges recomputed (the daily rows always are, unless Skipped or Fresh)
	Took    time.Duration
}

// rollupEvery is how old a range's figures may grow before the periodic refresh recomputes
// them, where that is longer than the refresh's interval: the 90-day figures cost twice what
// the two shorter ranges and the daily rows cost together (2 of 3 seconds at 1,000,000
// tickets), and a view of three months changes little in five minutes.
var rollupEvery = map[int]time.Duration{90: 5 * time.Minute}

// Dashboard is what the supervisor dashboard shows for one range, as of the last refresh.
//
// Why two shapes: counts (tickets created, solved, clocks met) sum over days, so they are kept
// per day and a range is a sum. Medians and 90th percentiles do not sum, and the per-agent table
// needs them exactly, so each of the three fixed ranges keeps its own per-agent and per-tier
// figures, computed by Metrics itself: exact by construction, one definition of every figure,
// and three rows to read. Histogram buckets per day would sum, but give medians only to a
// bucket's width.
type Dashboard struct {
	Days             int
	From, To         time.Time // [From, To): From is midnight UTC of the first day, To the refresh
	ComputedAt       time.Time
	Took             time.Duration
	Agents, Tiers    []MetricsRow
	Overall          MetricsRow
	Daily            []DailyFigures // one per UTC day of the range, oldest first
	FirstResponseSum []int64        // the histogram of the whole range
}

// DailyFigures are one UTC day's counts.
type DailyFigures struct {
	Day       time.Time
	Created   int64
	Solved    int64
	Clocks    int64 // clocks that stopped, or breached while running, that day
	ClocksMet int64
	// FirstResponse counts first responses given that day by business time, in the buckets of
	// FirstResponseBuckets (one more than the bounds).
	FirstResponse []int64
}

// MetShare is the day's share of clocks met; nil when none stopped or breached.
func (d DailyFigures) MetShare() *float64 { return share(d.ClocksMet, d.Clocks) }

// storedRange is when a range's figures were computed.
type storedRange struct {
	RangeDays  int
	ComputedAt time.Time
}

// rollupRange is [from, to) of a range ending now: its first day starts at midnight UTC.
func rollupRange(now time.Time, days int) (from, to time.Time) {
	today := now.UTC().Truncate(24 * time.Hour)
	return today.AddDate(0, 0, -(days - 1)), now
}

// RefreshRollups recomputes the dashboard's figures unless another node holds the refresh
// (Skipped) or the stored figures are younger than maxAge (Fresh; maxAge 0 always recomputes
// every range). With maxAge set, a range listed in rollupEvery waits that long instead.
// Every serve process calls it every minute; the advisory lock and the age check let one do the
// work.
func (s *Service) RefreshRollups(ctx context.Context, maxAge time.Duration) (RefreshResult, error) {
	var res RefreshResult
	start := time.Now()
	// Held across the refresh's queries, as the sweep holds its own.
	held, release, err := s.sessionLock(ctx, int64(rollupLock))
	if err != nil {
		return res, fmt.Errorf("sla: rollups lock: %w", err)
	}
	if !held {
		res.Skipped = true
		return res, nil
	}
	defer release()

	now := s.now().Truncate(time.Microsecond)
	stale := RollupRanges
	if maxAge > 0 {
		var stored []storedRange
		if err := s.db.WithContext(ctx).Raw(`SELECT range_days, computed_at FROM dash_rollups`).Scan(&stored).Error; err != nil {
			return res, fmt.Errorf("sla: rollups: %w", err)
		}
		stale = nil
		for _, days := range RollupRanges {
			age := max(maxAge, rollupEvery[days])
			i := slices.IndexFunc(stored, func(r storedRange) bool { return r.RangeDays == days })
			if i < 0 || !stored[i].ComputedAt.After(now.Add(-age)) || stored[i].ComputedAt.After(now) {
				stale = append(stale, days)
			}
		}
		if len(stale) == 0 {
			res.Fresh = true
			return res, nil
		}
	}
	res.Ranges = stale

	type rangeRow struct {
		days                   int
		from, to               time.Time
		agents, tiers, overall []byte
	}
	var ranges []rangeRow
	for _, days := range stale {
		from, to := rollupRange(now, days)
		r := rangeRow{days: days, from: from, to: to}
		agents, err := s.Metrics(ctx, MetricsQuery{From: from, To: to, Group: GroupAgent})
		if err != nil {
			return res, fmt.Errorf("sla: rollups: %w", err)
		}
		tiers, err := s.Metrics(ctx, MetricsQuery{From: from, To: to, Group: GroupTier})
		if err != nil {
			return res, fmt.Errorf("sla: rollups: %w", err)
		}
		if r.agents, err = json.Marshal(agents.Rows); err == nil {
			if r.tiers, err = json.Marshal(tiers.Rows); err == nil {
				r.overall, err = json.Marshal(agents.Overall)
			}
		}
		if err != nil {
			return res, fmt.Errorf("sla: rollups: %w", err)
		}
		ranges = append(ranges, r)
	}
	maxDays := slices.Max(RollupRanges)
	from, to := rollupRange(now, maxDays)
	daily, err := s.dailyFigures(ctx, from, to, maxDays)
	if err != nil {
		return res, fmt.Errorf("sla: rollups: %w", err)
	}

	took := time.Since(start)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, r := range ranges {
			err := tx.Exec(`INSERT INTO dash_rollups (range_days, range_from, range_to, computed_at, took_ms, agents, tiers, overall)
				VALUES (?, ?, ?, ?, ?, CAST(? AS jsonb), CAST(? AS jsonb), CAST(? AS jsonb))
				ON CONFLICT (range_days) DO UPDATE SET range_from = excluded.range_from, range_to = excluded.range_to,
					computed_at = excluded.computed_at, took_ms = excluded.took_ms, agents = excluded.agents,
					tiers = excluded.tiers, overall = excluded.overall`,
				r.days, r.from, r.to, now, took.Milliseconds(), string(r.agents), string(r.tiers), string(r.overall)).Error
			if err != nil {
				return err
			}
		}
		if err := tx.Exec(`DELETE FROM dash_daily`).Error; err != nil {
			return err
		}
		var b strings.Builder
		args := make([]any, 0, len(daily)*6)
		b.WriteString(`INSERT INTO dash_daily (day, created, solved, clocks, clocks_met, fr_buckets) VALUES `)
		for i, d := range daily {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`(CAST(? AS date), ?, ?, ?, ?, CAST(? AS integer[]))`)
			args = append(args, d.Day.Format(time.DateOnly), d.Created, d.Solved, d.Clocks, d.ClocksMet, pgIntArray(d.FirstResponse))
		}
		return tx.Exec(b.String(), args...).Error
	})
	if err != nil {
		return res, fmt.Errorf("sla: rollups: write: %w", err)
	}
	res.Took = time.Since(start)
	return res, nil
}

func pgIntArray(xs []int64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// dailyFigures counts each UTC day of [from, to), days of them, with the definitions of
// Metrics: solves from sla_activity; clocks that stopped in the day, or breached while running,
// and of those the ones that stopped unbreached; first responses a reply gave.
func (s *Service) dailyFigures(ctx context.Context, from, to time.Time, days int) ([]DailyFigures, error) {
	out := make([]DailyFigures, days)
	index := map[string]int{}
	for i := range out {
		out[i].Day = from.AddDate(0, 0, i)
		out[i].FirstResponse = make([]int64, len(FirstResponseBuckets)+1)
		index[out[i].Day.Format(time.DateOnly)] = i
	}
	args := map[string]any{"from": from, "to": to}
	var counts []struct {
		Day time.Time
		N   int64
	}
	at := func(day time.Time) *DailyFigures {
		if i, ok := index[day.UTC().Format(time.DateOnly)]; ok {
			return &out[i]
		}
		return nil
	}
	// date_bin puts each moment in its UTC day, cheaper than formatting every row.
	if err := s.report(ctx, &counts, `SELECT `+utcDay("created_at")+` AS day, count(*) AS n
		FROM tickets WHERE created_at >= @from AND created_at < @to GROUP BY 1`, args); err != nil {
		return nil, fmt.Errorf("created: %w", err)
	}
	for _, c := range counts {
		if d := at(c.Day); d != nil {
			d.Created = c.N
		}
	}
	counts = nil
	if err := s.report(ctx, &counts, `SELECT `+utcDay("at")+` AS day, count(*) AS n
		FROM sla_activity WHERE kind = 'solved' AND at >= @from AND at < @to GROUP BY 1`, args); err != nil {
		return nil, fmt.Errorf("solved: %w", err)
	}
	for _, c := range counts {
		if d := at(c.Day); d != nil {
			d.Solved = c.N
		}
	}
	// One bucket column per bound, and the open one: b < bound picks the first that holds.
	buckets := make([]string, 0, len(FirstResponseBuckets)+1)
	lower := "-1"
	for i, bound := range FirstResponseBuckets {
		upper := strconv.FormatInt(bound, 10)
		buckets = append(buckets, fmt.Sprintf(`count(*) FILTER (WHERE fr AND b >= %s AND b < %s) AS b%d`, lower, upper, i))
		lower = upper
	}
	buckets = append(buckets, fmt.Sprintf(`count(*) FILTER (WHERE fr AND b >= %s) AS b%d`, lower, len(FirstResponseBuckets)))
	var rows []map[string]any
	err := s.report(ctx, &rows, `SELECT day, count(*) AS clocks, count(*) FILTER (WHERE met) AS met, `+strings.Join(buckets, ", ")+`
		FROM (SELECT `+utcDay("c.stopped_at")+` AS day, c.breached_at IS NULL AS met,
				(c.kind = 'first_response' AND c.stop_reason = 'reply') AS fr, c.business_seconds AS b
			FROM sla_clocks c
			WHERE c.kind IN ('first_response', 'next_response', 'resolution') AND c.stopped_at IS NOT NULL
				AND c.stopped_at >= @from AND c.stopped_at < @to
			UNION ALL
			SELECT `+utcDay("c.breached_at")+`, false, false, 0
			FROM sla_clocks c
			WHERE c.kind IN ('first_response', 'next_response', 'resolution') AND c.stopped_at IS NULL
				AND c.breached_at IS NOT NULL AND c.breached_at >= @from AND c.breached_at < @to) x
		GROUP BY day`, args)
	if err != nil {
		return nil, fmt.Errorf("clocks: %w", err)
	}
	for _, r := range rows {
		day, _ := r["day"].(time.Time)
		d := at(day)
		if d == nil {
			continue
		}
		d.Clocks, d.ClocksMet = asInt(r["clocks"]), asInt(r["met"])
		for i := range d.FirstResponse {
			d.FirstResponse[i] = asInt(r["b"+strconv.Itoa(i)])
		}
	}
	return out, nil
}

// utcDay is the SQL of the UTC midnight that starts the day of a timestamptz column.
func utcDay(col string) string {
	return `date_bin('1 day', ` + col + `, TIMESTAMPTZ '2000-01-01 00:00:00+00')`
}

// Dashboard reads the stored figures of a range of 7, 30 or 90 days: two indexed reads.
// ErrNoRollup when no refresh has run yet.
func (s *Service) Dashboard(ctx context.Context, days int) (*Dashboard, error) {
	if !slices.Contains(RollupRanges, days) {
		return nil, fmt.Errorf("sla: dashboard: no range of %d days", days)
	}
	var head []struct {
		RangeFrom, RangeTo, ComputedAt time.Time
		TookMs                         int64
		Agents, Tiers, Overall         string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT range_from, range_to, computed_at, took_ms, agents::text AS agents,
			tiers::text AS tiers, overall::text AS overall
		FROM dash_rollups WHERE range_days = ?`, days).Scan(&head).Error
	if err != nil {
		return nil, fmt.Errorf("sla: dashboard: %w", err)
	}
	if len(head) == 0 {
		return nil, ErrNoRollup
	}
	h := head[0]
	d := &Dashboard{Days: days, From: h.RangeFrom, To: h.RangeTo, ComputedAt: h.ComputedAt, Took: time.Duration(h.TookMs) * time.Millisecond}
	for _, part := range []struct {
		raw  string
		dest any
	}{{h.Agents, &d.Agents}, {h.Tiers, &d.Tiers}, {h.Overall, &d.Overall}} {
		if err := json.Unmarshal([]byte(part.raw), part.dest); err != nil {
			return nil, fmt.Errorf("sla: dashboard: %w", err)
		}
	}
	var daily []struct {
		Day                                time.Time
		Created, Solved, Clocks, ClocksMet int64
		FrBuckets                          string
	}
	err = s.db.WithContext(ctx).Raw(`SELECT day, created, solved, clocks, clocks_met, array_to_json(fr_buckets)::text AS fr_buckets
		FROM dash_daily WHERE day >= CAST(? AS date) AND day <= CAST(? AS date) ORDER BY day`,
		d.From.UTC().Format(time.DateOnly), d.To.UTC().Format(time.DateOnly)).Scan(&daily).Error
	if err != nil {
		return nil, fmt.Errorf("sla: dashboard: %w", err)
	}
	d.FirstResponseSum = make([]int64, len(FirstResponseBuckets)+1)
	for _, r := range daily {
		f := DailyFigures{Day: r.Day, Created: r.Created, Solved: r.Solved, Clocks: r.Clocks, ClocksMet: r.ClocksMet}
		if err := json.Unmarshal([]byte(r.FrBuckets), &f.FirstResponse); err != nil {
			return nil, fmt.Errorf("sla: dashboard: %w", err)
		}
		for i, n := range f.FirstResponse {
			if i < len(d.FirstResponseSum) {
				d.FirstResponseSum[i] += n
			}
		}
		d.Daily = append(d.Daily, f)
	}
	return d, nil
}

// DueSoon lists running clocks past their warning threshold and not yet due, soonest first: the
// "at risk" list next to AtRisk's overdue ones. It walks the index of running clocks by due time.
func (s *Service) DueSoon(ctx context.Context, limit int) ([]AtRiskItem, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	now := s.now()
	var rows []atRiskRow
	// The clocks are taken first, in the index's order, and only then joined to their tickets:
	// the planner, which cannot know how many warned clocks there are, would otherwise join
	// every one of them before keeping the first few.
	err := s.db.WithContext(ctx).Raw(`SELECT c.*, t.subject, t.status AS ticket_status, t.priority, t.assignee_id, t.team_id
		FROM (SELECT c.id, `+clockRecordColumns+` FROM sla_clocks c
			WHERE c.stopped_at IS NULL AND c.due_at IS NOT NULL AND c.due_at > ? AND c.warn_at <= ? AND c.running_since IS NOT NULL
			ORDER BY c.due_at LIMIT ?) c
		JOIN tickets t ON t.id = c.ticket_id
		ORDER BY c.due_at, c.id`, now, now, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("sla: due soon: %w", err)
	}
	st, err := s.settings(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	out := make([]AtRiskItem, len(rows))
	for i, r := range rows {
		out[i] = AtRiskItem{
			TicketID: r.TicketID, Subject: r.Subject, Status: r.TicketStatus, Priority: r.Priority,
			AssigneeID: r.AssigneeID, TeamID: r.TeamID, Clock: r.clock().view(st, now),
		}
	}
	return out, nil
}
