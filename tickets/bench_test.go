package tickets_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/internal/demo"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// Benchmarks measure fixed-size runs and print their figures next to a baseline measured in the
// same run. Sizes come from HELPDESK_BENCH_* variables; `make bench` runs them at full size.

func benchSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkRecomputeAll scores 1,000,000 customers with 5,000,000 purchases (target: under 60 s),
// next to the plain aggregate that only reads the same purchases and tickets.
func BenchmarkRecomputeAll(b *testing.B) {
	ctx := context.Background()
	customers := benchSize("HELPDESK_BENCH_CUSTOMERS", 1_000_000)
	purchases := benchSize("HELPDESK_BENCH_PURCHASES", 5_000_000)
	var have int
	db.Raw(`SELECT count(*) FROM customers`).Scan(&have)
	if have < customers {
		start := time.Now()
		res, err := demo.Load(ctx, dsnForBench, demo.Options{Customers: customers - have, Tickets: max(1, (customers-have)/5), Purchases: purchases, Seed: 11, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("\nloaded %d customers, %d purchases, %d tickets in %s\n", res.Customers, res.Purchases, res.Tickets, time.Since(start).Round(time.Second))
	}
	desk := tickets.NewDesk(db, tickets.Limits{})
	for b.Loop() {
		start := time.Now()
		// The baseline reads what scoring reads, and computes nothing.
		// Summing the joined columns keeps the planner from dropping the joins.
		var rows struct{ Customers, Purchases, Tickets int64 }
		err := db.Raw(`SELECT count(*) AS customers, sum(p.n) AS purchases, sum(t.n) AS tickets FROM customers c
			LEFT JOIN (SELECT customer_id, count(*) n, sum(amount) total FROM purchases GROUP BY customer_id) p ON p.customer_id = c.id
			LEFT JOIN (SELECT customer_id, count(*) n FROM tickets GROUP BY customer_id) t ON t.customer_id = c.id`).Scan(&rows).Error
		if err != nil {
			b.Fatal(err)
		}
		baseline := time.Since(start)

		start = time.Now()
		moved, err := desk.RecomputeAll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.ReportMetric(took.Seconds(), "recompute_s")
		b.ReportMetric(baseline.Seconds(), "read_inputs_s")
		var n, p int64
		db.Raw(`SELECT count(*) FROM customers`).Scan(&n)
		db.Raw(`SELECT count(*) FROM purchases`).Scan(&p)
		fmt.Printf("\nscores recompute, %d customers, %d purchases\n", n, p)
		fmt.Printf("  RecomputeAll (scores, tiers, priorities)  %6.1f s   (target < 60 s; %d tier changes, %d priority changes)\n", took.Seconds(), moved.Customers, moved.Priorities)
		fmt.Printf("  baseline: aggregate the same inputs        %6.1f s\n", baseline.Seconds())
	}
}

// BenchmarkIntakeRouting creates tickets one after the other with routing (a category whose team
// has 20 agents, each with open tickets) and without (no category, so no team), and prints what
// routing adds per ticket. Target: under 2 ms.
func BenchmarkIntakeRouting(b *testing.B) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	staff := tickets.NewStaff(db)
	cat := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	team, err := staff.CreateTeam(ctx, tickets.SystemActor, "Bench "+cat)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := staff.UpdateTeam(ctx, tickets.SystemActor, team.ID, nil, &[]string{cat}); err != nil {
		b.Fatal(err)
	}
	capacity := 1000
	for i := range 20 {
		u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: fmt.Sprintf("bench.%s.%d@example.com", cat, i), Name: "Bench agent", Role: tickets.RoleAgent})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := staff.UpdateUser(ctx, tickets.SystemActor, u.ID, tickets.UserChange{MaxActiveTickets: &capacity, Languages: &[]string{"en", "es"}}); err != nil {
			b.Fatal(err)
		}
		if err := staff.SetMember(ctx, tickets.SystemActor, team.ID, u.ID, true); err != nil {
			b.Fatal(err)
		}
	}
	const n = 2000
	run := func(label, category string) []time.Duration {
		d := make([]time.Duration, n)
		for i := range n {
			start := time.Now()
			_, err := desk.Intake(ctx, tickets.NewTicket{
				Channel: tickets.ChannelAPI, Customer: tickets.CustomerContact{Email: fmt.Sprintf("bench.%s.%s.%d@example.com", cat, label, i)},
				Subject: "Cannot log in", Body: "The login page says my password is wrong.", Category: category, Language: "es",
			})
			if err != nil {
				b.Fatal(err)
			}
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		return d
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for b.Loop() {
		run("warm", "") // warm up the pool and the statement caches
		plain := run("plain", "")
		routed := run("routed", cat)
		added := ms(routed[n/2]) - ms(plain[n/2])
		b.ReportMetric(ms(plain[n/2]), "plain_p50_ms")
		b.ReportMetric(ms(routed[n/2]), "routed_p50_ms")
		b.ReportMetric(added, "routing_adds_ms")
		fmt.Printf("\nintake, %d tickets each, one at a time\n", n)
		fmt.Printf("  without routing  p50 %5.2f ms  p99 %5.2f ms\n", ms(plain[n/2]), ms(plain[n*99/100]))
		fmt.Printf("  with routing     p50 %5.2f ms  p99 %5.2f ms   (team of 20 agents, language and category checked)\n", ms(routed[n/2]), ms(routed[n*99/100]))
		fmt.Printf("  routing adds     %5.2f ms at the median   (target < 2 ms)\n", added)
	}
}
