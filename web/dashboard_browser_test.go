package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// seedDashboardHistory spreads a few answered and solved tickets over the last four weeks, with
// first responses of varied lengths and some breaches, so that the charts have a shape.
func seedDashboardHistory(t *testing.T) {
	t.Helper()
	for i := range 14 {
		tk := createTicket(t, email("dash-history"))
		if r := call(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), agentToken, map[string]any{"kind": "reply", "body": "Done"}); r.status != 201 {
			t.Fatalf("reply: %d %s", r.status, r.body)
		}
		if i%3 != 2 {
			if r := call(t, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, map[string]any{"status": "solved"}); r.status != 200 {
				t.Fatalf("solve: %d %s", r.status, r.body)
			}
		}
		shift := fmt.Sprintf("%d hours", i*47)
		minutes := []int{5, 12, 25, 40, 70, 150, 300, 520, 20, 9, 95, 35, 1600, 18}[i]
		for _, q := range []string{
			`UPDATE tickets SET created_at = created_at - CAST(? AS interval) WHERE id = ?`,
			`UPDATE sla_activity SET at = at - CAST(? AS interval) WHERE ticket_id = ?`,
			`UPDATE sla_clocks SET started_at = started_at - CAST(? AS interval), stopped_at = stopped_at - CAST(? AS interval) WHERE ticket_id = ?`,
		} {
			args := []any{shift, tk.ID}
			if strings.Count(q, "?") == 3 {
				args = []any{shift, shift, tk.ID}
			}
			if err := db.Exec(q, args...).Error; err != nil {
				t.Fatal(err)
			}
		}
		err := db.Exec(`UPDATE sla_clocks SET business_seconds = ?, calendar_seconds = ?,
				breached_at = CASE WHEN ? THEN stopped_at ELSE NULL END
			WHERE ticket_id = ? AND kind = 'first_response'`, minutes*60, minutes*60, minutes > 480, tk.ID).Error
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A supervisor signs in, opens the dashboard and sees its four charts drawn.
func TestBrowserDashboard(t *testing.T) {
	ctx := browser(t)
	seedDashboardHistory(t)
	beatriz, _ := dashAgent(t, "Beatriz Ortega")
	// One ticket of hers long overdue, one close to its due time.
	late, soon := createTicket(t, email("dash-late")), createTicket(t, email("dash-soon"))
	for _, id := range []int64{late.ID, soon.ID} {
		if r := call(t, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", id), supervisorToken, map[string]any{"assignee_id": beatriz.ID}); r.status != 200 {
			t.Fatalf("assign: %d %s", r.status, r.body)
		}
	}
	err := db.Exec(`UPDATE sla_clocks SET started_at = '2000-01-03T09:00:00Z', running_since = '2000-01-03T09:00:00Z',
			due_at = '2000-01-03T10:00:00Z', breached_at = '2000-01-03T10:00:00Z'
		WHERE ticket_id = ? AND kind = 'first_response'`, late.ID).Error
	if err == nil {
		err = db.Exec(`UPDATE sla_clocks SET warn_at = now() - interval '10 minutes', due_at = now() + interval '20 minutes'
			WHERE ticket_id = ? AND kind = 'first_response'`, soon.ID).Error
	}
	if err != nil {
		t.Fatal(err)
	}
	refreshRollups(t)
	base := serveApp(t, app)

	// Reduced motion: the page draws its charts without animation, so the picture shows them
	// whole.
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
			})
			return err
		}),
		signInSteps(base, tickets.RoleSupervisor, "/desk/dashboard"),
		chromedp.WaitVisible(chromedp.ID("dash-volume")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Chart.js keeps an instance per canvas it drew; all four must be there with data.
	drawn, err := chromedp.Run(ctx, chromedp.Poll[int](`(() => {
		const ids = ["dash-volume", "dash-frt", "dash-met", "dash-tiers"];
		const charts = ids.map(id => window.Chart && Chart.getChart(document.getElementById(id))).filter(c => c && c.data.labels.length > 0);
		return charts.length === ids.length ? charts.length : 0;
	})()`, chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil || drawn != 4 {
		t.Fatalf("charts drawn: %d %v", drawn, err)
	}
	screenshot(t, ctx, "desk-dashboard")

	lists, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".dash-lists")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lists, fmt.Sprintf("#%d", late.ID)) || !strings.Contains(lists, fmt.Sprintf("#%d", soon.ID)) {
		t.Errorf("breaching and at-risk lists: %q", lists)
	}
	agents, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table.dash-agents")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(agents, "Beatriz Ortega") || !strings.Contains(agents, "The agent") {
		t.Errorf("agent table: %q", agents)
	}

	// The range selector: a plain link, the page reloads with a week's figures.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.dash-ranges a[href="/desk/dashboard?days=7"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.dash-ranges a[href="/desk/dashboard?days=7"][aria-current="page"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	days, err := chromedp.Run(ctx, chromedp.Poll[int](`window.Chart && Chart.getChart(document.getElementById("dash-volume")) ? Chart.getChart(document.getElementById("dash-volume")).data.labels.length : 0`))
	if err != nil || days != 7 {
		t.Errorf("7-day volume chart: %d days, %v", days, err)
	}

	// Without JavaScript the numbers are in the page: open one table.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#dash-frt ~ details summary, .dash-chart:nth-child(2) summary`)),
		chromedp.WaitVisible(chromedp.CSS(`.dash-chart:nth-child(2) details table`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "desk-dashboard-7d")
}
