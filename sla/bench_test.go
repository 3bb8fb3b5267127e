package sla

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/demo"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// The benchmarks measure fixed-size runs and print their figures next to a baseline measured in
// the same run. Run them with `make bench`; HELPDESK_BENCH_SLA_TICKETS (default 1,000,000) and
// HELPDESK_BENCH_SLA_DUE (default 1,000) change the sizes.

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func µs(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkDueTime computes a 5-day business target (40 hours of the Madrid office) from Monday
// 22 December 2025, across Christmas and a weekend, in closed form; against the minute-by-minute
// walk peers use. Target: under 5 µs per call.
func BenchmarkDueTime(b *testing.B) {
	cal := madridOffice(b)
	start, target := utc("2025-12-22T08:00:00Z"), 40*time.Hour
	want := utc("2025-12-29T17:00:00Z")
	const calls, naiveCalls = 200_000, 50
	for b.Loop() {
		t0 := time.Now()
		for range calls {
			if !cal.Add(start, target).Equal(want) {
				b.Fatal("wrong due time")
			}
		}
		closed := time.Since(t0) / calls
		t0 = time.Now()
		for range naiveCalls {
			if !naiveAdd(cal, start, target).Equal(want) {
				b.Fatal("the minute walk disagrees")
			}
		}
		naive := time.Since(t0) / naiveCalls
		// Ten years of business time, where the closed form skips whole weeks.
		t0 = time.Now()
		for range calls / 10 {
			cal.Add(start, 10*52*40*time.Hour)
		}
		long := time.Since(t0) / (calls / 10)
		b.ReportMetric(µs(closed), "closed_µs/call")
		b.ReportMetric(µs(naive), "naive_µs/call")
		b.ReportMetric(µs(long), "ten_years_µs/call")
		fmt.Printf("\ndue time, 5 business days across a weekend and a holiday (Europe/Madrid)\n")
		fmt.Printf("  closed form            %10.3f µs/call  (target < 5 µs)\n", µs(closed))
		fmt.Printf("  minute-by-minute walk  %10.3f µs/call  (%.0f× slower)\n", µs(naive), float64(naive)/float64(closed))
		fmt.Printf("  closed form, 10 years  %10.3f µs/call\n", µs(long))
	}
}

// benchTickets makes sure the database holds n demo tickets with clocks, set up with set-based
// SQL from each ticket's history as the hook would have (without pauses).
func benchTickets(b *testing.B, n int) *env {
	b.Helper()
	ctx := context.Background()
	e := newEnv(b)
	var have int
	db.Raw(`SELECT count(*) FROM tickets`).Scan(&have)
	if have < n {
		start := time.Now()
		res, err := demo.Load(ctx, testDSN, demo.Options{Customers: max(1, (n-have)/10), Tickets: n - have, Seed: 11, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("\nloaded %d tickets, %d messages, %d events in %s\n", res.Tickets, res.Messages, res.Events, time.Since(start).Round(time.Second))
	}
	var missing int
	db.Raw(`SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM sla_clocks c WHERE c.ticket_id = t.id)`).Scan(&missing)
	if missing > 0 {
		start := time.Now()
		if err := setUpClocks(ctx, e); err != nil {
			b.Fatal(err)
		}
		var clocks, activity int
		db.Raw(`SELECT count(*) FROM sla_clocks`).Scan(&clocks)
		db.Raw(`SELECT count(*) FROM sla_activity`).Scan(&activity)
		// Index-only scans need the visibility map a vacuum writes; autovacuum does it in time
		// on a live installation.
		db.Exec(`VACUUM ANALYZE sla_clocks, sla_activity`)
		fmt.Printf("set up %d clocks and %d activity rows for %d tickets with set-based SQL in %s\n", clocks, activity, missing, time.Since(start).Round(time.Second))
	}
	return e
}

// setUpClocks writes first response, next response (the first cycle) and resolution clocks of
// every ticket without clocks, under the default policies, with business time counted from the
// calendar's spans.
func setUpClocks(ctx context.Context, e *env) error {
	st, err := e.svc.settings(ctx, db)
	if err != nil {
		return err
	}
	type target struct {
		Priority int64  `json:"priority"`
		Tier     string `json:"tier"`
		Policy   int64  `json:"policy"`
		Calendar int64  `json:"calendar"`
		FR       int64  `json:"fr"`
		NR       int64  `json:"nr"`
		Res      int64  `json:"res"`
		Warn     int    `json:"warn"`
	}
	var targets []target
	for _, l := range Levels {
		for _, tier := range Tiers {
			p := Select(st.policies, l, tier)
			targets = append(targets, target{int64(l), tier, p.ID, p.CalendarID,
				int64(p.Targets[FirstResponse].Minutes * 60), int64(p.Targets[NextResponse].Minutes * 60), int64(p.Targets[Resolution].Minutes * 60), p.WarnPercent})
		}
	}
	payload, _ := json.Marshal(targets)
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		steps := []string{
			`CREATE INDEX IF NOT EXISTS bench_spans_cum_idx ON sla_business_spans (calendar_id, cum_seconds)`,
			`CREATE TEMP TABLE bt ON COMMIT DROP AS
				SELECT t.id, t.created_at, t.status, t.solved_at, t.assignee_id, t.team_id, x.*
				FROM tickets t LEFT JOIN customer_scores cs ON cs.customer_id = t.customer_id
				JOIN jsonb_to_recordset(CAST(@targets AS jsonb))
					AS x(priority int, tier text, policy bigint, calendar bigint, fr int, nr int, res int, warn int)
					ON x.priority = t.priority AND x.tier = coalesce(cs.tier, 'new')
				WHERE NOT EXISTS (SELECT 1 FROM sla_clocks c WHERE c.ticket_id = t.id)`,
			// The first two replies and, after the first, the first customer message and the
			// reply that answered it.
			`CREATE TEMP TABLE br ON COMMIT DROP AS
				SELECT m.ticket_id,
					(array_agg(m.created_at ORDER BY m.id) FILTER (WHERE m.kind = 'reply'))[1] AS r1,
					(array_agg(m.author_user_id ORDER BY m.id) FILTER (WHERE m.kind = 'reply'))[1] AS r1_by,
					(array_agg(m.created_at ORDER BY m.id) FILTER (WHERE m.kind = 'reply'))[2] AS r2,
					(array_agg(m.author_user_id ORDER BY m.id) FILTER (WHERE m.kind = 'reply'))[2] AS r2_by
				FROM messages m JOIN bt ON bt.id = m.ticket_id WHERE m.kind = 'reply' GROUP BY m.ticket_id`,
			`CREATE TEMP TABLE bn ON COMMIT DROP AS
				SELECT br.ticket_id, i.created_at AS started, r.created_at AS stopped, r.author_user_id AS by
				FROM br
				JOIN LATERAL (SELECT created_at, id FROM messages m WHERE m.ticket_id = br.ticket_id AND m.kind = 'inbound'
					AND m.created_at > br.r1 ORDER BY m.id LIMIT 1) i ON true
				LEFT JOIN LATERAL (SELECT created_at, author_user_id FROM messages m WHERE m.ticket_id = br.ticket_id AND m.kind = 'reply'
					AND m.id > i.id ORDER BY m.id LIMIT 1) r ON true`,
			// One row per clock: start, stop (or none), reason, who, target.
			`CREATE TEMP TABLE bc ON COMMIT DROP AS
				SELECT bt.id AS ticket_id, 'first_response' AS kind, bt.policy, bt.calendar, bt.fr AS target, bt.warn,
					bt.assignee_id, bt.team_id, bt.tier, bt.created_at AS started,
					coalesce(br.r1, bt.solved_at) AS stopped, CASE WHEN br.r1 IS NOT NULL THEN 'reply' WHEN bt.solved_at IS NOT NULL THEN 'solved' END AS reason,
					CASE WHEN br.r1 IS NOT NULL THEN br.r1_by ELSE bt.assignee_id END AS by, br.r2 AS followup_at, br.r2_by AS followup_by, br.r1
				FROM bt LEFT JOIN br ON br.ticket_id = bt.id
				UNION ALL
				SELECT bt.id, 'resolution', bt.policy, bt.calendar, bt.res, bt.warn, bt.assignee_id, bt.team_id, bt.tier, bt.created_at,
					CASE WHEN bt.status IN ('solved', 'closed') THEN bt.solved_at END, CASE WHEN bt.status IN ('solved', 'closed') THEN 'solved' END,
					bt.assignee_id, NULL, NULL, NULL
				FROM bt
				UNION ALL
				SELECT bt.id, 'next_response', bt.policy, bt.calendar, bt.nr, bt.warn, bt.assignee_id, bt.team_id, bt.tier, bn.started, bn.stopped,
					CASE WHEN bn.stopped IS NOT NULL THEN 'reply' END, bn.by, NULL, NULL, NULL
				FROM bt JOIN bn ON bn.ticket_id = bt.id`,
			`CREATE TEMP TABLE bb ON COMMIT DROP AS
				SELECT bc.*, sla_business_at(bc.calendar, bc.started) AS b0,
					sla_business_at(bc.calendar, coalesce(bc.stopped, @now)) AS b1
				FROM bc`,
			`INSERT INTO sla_clocks (ticket_id, kind, cycle, policy_id, calendar_id, business, target_seconds, state, started_at,
					running_since, business_seconds, calendar_seconds, due_at, warn_at, breached_at, stopped_at, stopped_by, stop_reason,
					followup_at, followup_by, followup_business_seconds, followup_calendar_seconds, assignee_id, team_id, tier,
					started_cum_seconds, warned_at, escalated_at)
				SELECT bb.ticket_id, bb.kind, 1, bb.policy, bb.calendar, true, bb.target,
					CASE WHEN bb.b1 - bb.b0 > bb.target THEN 'breached' WHEN bb.stopped IS NOT NULL THEN 'met' ELSE 'running' END,
					bb.started, CASE WHEN bb.stopped IS NULL THEN bb.started END,
					CASE WHEN bb.stopped IS NULL THEN 0 ELSE bb.b1 - bb.b0 END,
					CASE WHEN bb.stopped IS NULL THEN 0 ELSE extract(epoch FROM bb.stopped - bb.started) END,
					CASE WHEN bb.stopped IS NULL THEN due.at END,
					CASE WHEN bb.stopped IS NULL THEN warn.at END,
					CASE WHEN bb.b1 - bb.b0 > bb.target THEN due.at END,
					bb.stopped, bb.by, bb.reason, bb.followup_at, bb.followup_by,
					CASE WHEN bb.followup_at IS NOT NULL THEN sla_business_at(bb.calendar, bb.followup_at) - sla_business_at(bb.calendar, bb.r1) END,
					extract(epoch FROM bb.followup_at - bb.r1), bb.assignee_id, bb.team_id, bb.tier, bb.b0,
					-- As if the sweeper had seen every warning and breach so far.
					CASE WHEN bb.b1 - bb.b0 >= bb.target * bb.warn / 100.0 THEN warn.at END,
					CASE WHEN bb.b1 - bb.b0 > bb.target THEN due.at END
				FROM bb
				LEFT JOIN LATERAL (SELECT s.starts_at + make_interval(secs => bb.b0 + bb.target - s.cum_seconds) AS at
					FROM sla_business_spans s WHERE s.calendar_id = bb.calendar AND s.cum_seconds <= bb.b0 + bb.target
					ORDER BY s.cum_seconds DESC LIMIT 1) due ON true
				LEFT JOIN LATERAL (SELECT s.starts_at + make_interval(secs => bb.b0 + bb.target * bb.warn / 100.0 - s.cum_seconds) AS at
					FROM sla_business_spans s WHERE s.calendar_id = bb.calendar AND s.cum_seconds <= bb.b0 + bb.target * bb.warn / 100.0
					ORDER BY s.cum_seconds DESC LIMIT 1) warn ON true`,
			`DELETE FROM sla_activity`,
			activityFromEvents,
			`ANALYZE sla_clocks, sla_activity`,
		}
		args := map[string]any{"targets": string(payload), "now": time.Now(), "all": true, "ids": "{}"}
		for _, sql := range steps {
			var withArgs []any
			if strings.Contains(sql, "@") {
				withArgs = []any{args}
			}
			if err := tx.Exec(sql, withArgs...).Error; err != nil {
				return fmt.Errorf("%.60s: %w", sql, err)
			}
		}
		return nil
	})
}

// BenchmarkMetrics computes the report of the last 30 days at HELPDESK_BENCH_SLA_TICKETS tickets
// (default 1,000,000), by agent, team, tier and overall; against a naive report that loads the
// window's events and clocks into Go and aggregates there. Target: under 500 ms.
func BenchmarkMetrics(b *testing.B) {
	ctx := context.Background()
	n := envInt("HELPDESK_BENCH_SLA_TICKETS", 1_000_000)
	e := benchTickets(b, n)
	e.clock.Set(time.Time{})
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -30)
	for b.Loop() {
		times := map[string]time.Duration{}
		var rows int
		for _, g := range []string{GroupAgent, GroupTeam, GroupTier, GroupAll} {
			t0 := time.Now()
			m, err := e.svc.Metrics(ctx, MetricsQuery{From: from, To: to, Group: g})
			times[g] = time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if g == GroupAll {
				rows = int(m.Overall.Replies)
			}
		}
		t0 := time.Now()
		naiveRows, err := naiveMetrics(ctx, from, to)
		naive := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		worst := slices.Max([]time.Duration{times[GroupAgent], times[GroupTeam], times[GroupTier], times[GroupAll]})
		b.ReportMetric(ms(worst), "worst_ms")
		b.ReportMetric(ms(naive), "naive_ms")
		fmt.Printf("\nSLA metrics, 30 days (%d replies, %d rows loaded by the naive report) of %d tickets\n", rows, naiveRows, n)
		for _, g := range []string{GroupAgent, GroupTeam, GroupTier, GroupAll} {
			fmt.Printf("  group=%-6s  SQL aggregates  %8.1f ms  (target < 500 ms)\n", g, ms(times[g]))
		}
		fmt.Printf("  naive: load the window into Go  %8.1f ms\n", ms(naive))
	}
}

// naiveMetrics is the report as a loop in Go would make it: every event and clock of the
// window loaded, counted and sorted per agent.
func naiveMetrics(ctx context.Context, from, to time.Time) (int, error) {
	var evs []struct {
		TicketID    int64
		Type        string
		ActorUserID *int64
		Data        string
	}
	if err := db.WithContext(ctx).Raw(`SELECT ticket_id, type, actor_user_id, data::text AS data FROM events
		WHERE created_at >= ? AND created_at < ? AND ticket_id IS NOT NULL`, from, to).Scan(&evs).Error; err != nil {
		return 0, err
	}
	var clocks []struct {
		Kind            string
		StoppedBy       *int64
		BusinessSeconds float64
		CalendarSeconds float64
		BreachedAt      *time.Time
	}
	if err := db.WithContext(ctx).Raw(`SELECT kind, stopped_by, business_seconds, calendar_seconds, breached_at FROM sla_clocks
		WHERE stopped_at >= ? AND stopped_at < ?`, from, to).Scan(&clocks).Error; err != nil {
		return 0, err
	}
	replies := map[int64]int{}
	for _, e := range evs {
		var d map[string]any
		json.Unmarshal([]byte(e.Data), &d)
		if e.Type == tickets.EventMessageAdded && d["kind"] == "reply" && e.ActorUserID != nil {
			replies[*e.ActorUserID]++
		}
	}
	times := map[int64][]float64{}
	for _, c := range clocks {
		if c.StoppedBy != nil {
			times[*c.StoppedBy] = append(times[*c.StoppedBy], c.BusinessSeconds)
		}
	}
	for _, ts := range times {
		slices.Sort(ts)
	}
	return len(evs) + len(clocks), nil
}

// BenchmarkSweep runs sweeper passes over HELPDESK_BENCH_SLA_TICKETS open tickets (default
// 1,000,000), each with running clocks, of which HELPDESK_BENCH_SLA_DUE (default 1,000) have
// reached their target: a pass records the breaches, writes the notices of the assignee and
// the team's supervisors, and queues their emails in the outbox. The baseline is what a sweep
// without the due-time index costs: one scan over every clock to find the due ones.
// Target: under 1 s per pass.
func BenchmarkSweep(b *testing.B) {
	ctx := context.Background()
	n, due := envInt("HELPDESK_BENCH_SLA_TICKETS", 1_000_000), envInt("HELPDESK_BENCH_SLA_DUE", 1000)
	e := benchTickets(b, n)
	e.svc.mailer = func(ctx context.Context, tx *gorm.DB, m Email) error {
		return mailout.Enqueue(tx, mailout.Outgoing{Kind: mailout.KindNotice, TicketID: m.TicketID, To: []string{m.ToAddress}, Subject: m.Subject, Text: m.Body})
	}
	// Every ticket open, its resolution clock running and due in the coming weeks: the
	// sweeper's queue holds a row per open ticket.
	var queued int
	db.Raw(`SELECT count(*) FROM sla_clocks WHERE next_check_at IS NOT NULL`).Scan(&queued)
	if queued < n {
		start := time.Now()
		err := db.Transaction(func(tx *gorm.DB) error {
			for _, sql := range []string{
				`UPDATE tickets SET status = 'open', solved_at = NULL, closed_at = NULL WHERE status <> 'open'`,
				`UPDATE sla_clocks SET state = 'running', stopped_at = NULL, stopped_by = NULL, stop_reason = NULL, breached_at = NULL,
					warned_at = NULL, escalated_at = NULL, running_since = now(), business_seconds = 0, calendar_seconds = 0,
					due_at = now() + (1 + id % 30) * interval '1 day', warn_at = now() + (1 + id % 30) * interval '18 hours',
					next_check_at = now() + (1 + id % 30) * interval '18 hours'
				WHERE kind = 'resolution'`,
				// The worst case: every notice goes out at once, by email too.
				`UPDATE sla_policies SET notify_in_business_hours = false`,
				`UPDATE sla_state SET version = version + 1`,
				`ANALYZE tickets, sla_clocks`,
			} {
				if err := tx.Exec(sql).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		db.Exec(`VACUUM ANALYZE sla_clocks`)
		fmt.Printf("opened every ticket and set its resolution clock running in %s\n", time.Since(start).Round(time.Second))
	}
	var open int
	db.Raw(`SELECT count(*) FROM tickets WHERE status = 'open'`).Scan(&open)
	db.Raw(`SELECT count(*) FROM sla_clocks WHERE next_check_at IS NOT NULL`).Scan(&queued)
	for b.Loop() {
		// Arm `due` clocks at random: due a minute ago.
		if err := db.Exec(`UPDATE sla_clocks SET due_at = now() - interval '1 minute', warn_at = now() - interval '2 hours',
				warned_at = now() - interval '2 hours', next_check_at = now() - interval '1 minute'
			WHERE id IN (SELECT id FROM sla_clocks WHERE kind = 'resolution' AND escalated_at IS NULL ORDER BY random() LIMIT ?)`, due).Error; err != nil {
			b.Fatal(err)
		}
		var events, notices, mails int
		db.Raw(`SELECT count(*) FROM events`).Scan(&events)
		db.Raw(`SELECT count(*) FROM notifications`).Scan(&notices)
		db.Raw(`SELECT count(*) FROM outbox`).Scan(&mails)

		e.clock.Set(time.Now())
		t0 := time.Now()
		res, err := e.svc.Sweep(ctx)
		pass := time.Since(t0)
		if err != nil || res.Breaches != due {
			b.Fatalf("sweep: %+v %v", res, err)
		}
		var events2, notices2, mails2 int
		db.Raw(`SELECT count(*) FROM events`).Scan(&events2)
		db.Raw(`SELECT count(*) FROM notifications`).Scan(&notices2)
		db.Raw(`SELECT count(*) FROM outbox`).Scan(&mails2)

		// The baseline: find the due clocks by reading them all.
		var naive time.Duration
		err = db.Transaction(func(tx *gorm.DB) error {
			tx.Exec(`SET LOCAL enable_indexscan = off`)
			tx.Exec(`SET LOCAL enable_bitmapscan = off`)
			var ids []int64
			t0 := time.Now()
			err := tx.Raw(`SELECT id FROM sla_clocks WHERE stopped_at IS NULL AND escalated_at IS NULL AND due_at <= now()`).Scan(&ids).Error
			naive = time.Since(t0)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		var plan string
		db.Raw(`EXPLAIN SELECT c.id FROM sla_clocks c WHERE c.next_check_at <= now() ORDER BY c.next_check_at LIMIT 1000`).Row().Scan(&plan)

		b.ReportMetric(ms(pass), "pass_ms")
		b.ReportMetric(ms(naive), "scan_all_ms")
		fmt.Printf("\nSLA sweep, %d open tickets, %d clocks queued, %d due\n", open, queued, due)
		fmt.Printf("  one pass                      %8.1f ms  (target < 1000 ms): %d breaches, %d events, %d notices, %d emails queued\n",
			ms(pass), res.Breaches, events2-events, notices2-notices, mails2-mails)
		fmt.Printf("    of which: notices %.1f ms, emails %.1f ms, escalations %.1f ms, re-evaluation %.1f ms\n",
			ms(res.NoticeTime), ms(res.EmailTime), ms(res.ActionTime), ms(res.ReevaluateTime))
		fmt.Printf("  finding them by a full scan   %8.1f ms  (the scan alone, before any work)\n", ms(naive))
		fmt.Printf("  the pass's query plan starts: %s\n", plan)
	}
}
