package sla

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkDashboard compares what the supervisor dashboard reads per view with what it would
// cost to compute its figures per view, at HELPDESK_BENCH_SLA_TICKETS tickets (default
// 1,000,000): the stored rollup of 30 days (two indexed reads) and the live "breaching" and "at
// risk" lists, against Metrics by agent over the same 30 days. It also times the refresh the
// serve job runs every minute. Target: the page's reads under 50 ms p99.
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	n := envInt("HELPDESK_BENCH_SLA_TICKETS", 1_000_000)
	views := envInt("HELPDESK_BENCH_DASH_VIEWS", 200)
	e := benchTickets(b, n)
	e.clock.Set(time.Time{})
	for b.Loop() {
		res, err := e.svc.RefreshRollups(ctx, 0)
		if err != nil || res.Skipped {
			b.Fatalf("refresh: %+v %v", res, err)
		}
		// The periodic refresh a minute later: the week and the month, not the quarter.
		e.clock.Set(time.Now().Add(61 * time.Second))
		periodic, err := e.svc.RefreshRollups(ctx, 50*time.Second)
		e.clock.Set(time.Time{})
		if err != nil || len(periodic.Ranges) != 2 {
			b.Fatalf("periodic refresh: %+v %v", periodic, err)
		}
		var rollup, live, page []time.Duration
		var breaching, atRisk int
		for range views {
			t0 := time.Now()
			d, err := e.svc.Dashboard(ctx, 30)
			t1 := time.Now()
			if err != nil || len(d.Daily) != 30 {
				b.Fatalf("dashboard: %v", err)
			}
			br, err := e.svc.AtRisk(ctx, AtRiskFilter{Limit: 25})
			if err != nil {
				b.Fatal(err)
			}
			soon, err := e.svc.DueSoon(ctx, 25)
			if err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			rollup, live, page = append(rollup, t1.Sub(t0)), append(live, t2.Sub(t1)), append(page, t2.Sub(t0))
			breaching, atRisk = len(br), len(soon)
		}
		from, to := rollupRange(time.Now(), 30)
		var raw []time.Duration
		for range 3 {
			t0 := time.Now()
			if _, err := e.svc.Metrics(ctx, MetricsQuery{From: from, To: to, Group: GroupAgent}); err != nil {
				b.Fatal(err)
			}
			raw = append(raw, time.Since(t0))
		}
		p := func(ds []time.Duration, q float64) float64 {
			ds = slices.Clone(ds)
			slices.Sort(ds)
			return ms(ds[min(len(ds)-1, int(float64(len(ds))*q))])
		}
		b.ReportMetric(p(page, 0.99), "page_p99_ms")
		b.ReportMetric(p(raw, 0.5), "metrics_ms")
		b.ReportMetric(ms(res.Took), "full_refresh_ms")
		b.ReportMetric(ms(periodic.Took), "minute_refresh_ms")
		fmt.Printf("\nsupervisor dashboard, 30 days, %d tickets, %d views (%d breaching and %d at risk listed)\n", n, views, breaching, atRisk)
		fmt.Printf("  stored rollup                 p50 %7.2f ms  p99 %7.2f ms\n", p(rollup, 0.5), p(rollup, 0.99))
		fmt.Printf("  live lists (breaching, risk)  p50 %7.2f ms  p99 %7.2f ms\n", p(live, 0.5), p(live, 0.99))
		fmt.Printf("  the page's reads together     p50 %7.2f ms  p99 %7.2f ms  (target p99 < 50 ms)\n", p(page, 0.5), p(page, 0.99))
		fmt.Printf("  raw Metrics by agent, 30 days p50 %7.2f ms  (what each view would cost without rollups)\n", p(raw, 0.5))
		fmt.Printf("  refresh of all 3 ranges (agents, tiers) and 90 daily rows  %8.1f ms  (first view of a fresh install; every 5 min)\n", ms(res.Took))
		fmt.Printf("  refresh of 7 and 30 days and the daily rows               %8.1f ms  (every minute, on one node)\n", ms(periodic.Took))
	}
}
