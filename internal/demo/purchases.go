package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Purchases give customers a value: a few buy often and much, most rarely, as in any shop.
// Each customer gets a buying rate from a heavy-tailed draw, purchases are spread over the three
// years before now at roughly that rate, and some customers stopped buying a while ago, so that
// every tier and churn risk appears.

// purchaseBatch is the number of purchases copied in one transaction.
const purchaseBatch = 250_000

// loadPurchases copies about n purchases spread over the loaded customers.
func (l *loader) loadPurchases(ctx context.Context, n int) error {
	if n == 0 || len(l.customers) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(l.opts.Seed), 0x5eed_b0b))
	// Weights: a Pareto draw per customer; the purchase count is the weight's share of n.
	weights := make([]float64, len(l.customers))
	total := 0.0
	for i := range weights {
		weights[i] = 1 / math.Pow(1-rng.Float64()*0.999, 1/1.5) // Pareto, alpha 1.5
		total += weights[i]
	}
	type plan struct {
		customer int
		count    int
		stopped  int64 // microseconds before now when they stopped buying
	}
	plans := make([]plan, 0, len(l.customers))
	assigned := 0
	for i, w := range weights {
		c := int(math.Round(w / total * float64(n)))
		if assigned+c > n {
			c = n - assigned
		}
		assigned += c
		var stopped int64
		if rng.IntN(5) == 0 { // one in five drifted away up to two years ago
			stopped = rng.Int64N(2 * 365 * 24 * int64(time.Hour/time.Microsecond))
		}
		plans = append(plans, plan{i, c, stopped})
	}
	span := 3 * 365 * 24 * int64(time.Hour/time.Microsecond)
	written := 0
	for start := 0; start < len(plans); {
		// A batch is whole customers, so the customer locks of lockRefs cover it.
		end, rows := start, 0
		for end < len(plans) && rows < purchaseBatch {
			rows += plans[end].count
			end++
		}
		batch := plans[start:end]
		tx, err := l.conns[0].Begin(ctx)
		if err != nil {
			return fmt.Errorf("demo: purchases: %w", err)
		}
		if l.fastRefs {
			ids := make([]int64, len(batch))
			for i, p := range batch {
				ids[i] = l.customers[p.customer].id
			}
			if err := lockRefs(ctx, tx, "customers", ids); err != nil {
				tx.Rollback(ctx)
				return fmt.Errorf("demo: purchases: %w", err)
			}
		}
		pi, k := 0, 0
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"purchases"},
			[]string{"customer_id", "external_id", "amount", "currency", "purchased_at"},
			&rowSource{n: rows, row: make([]any, 5), fill: func(_ int, row []any) {
				for k >= batch[pi].count {
					pi, k = pi+1, 0
				}
				p := batch[pi]
				c := &l.customers[p.customer]
				latest := l.now - p.stopped
				earliest := max(c.created-span/3, l.now-span)
				if earliest >= latest {
					earliest = latest - 1
				}
				at := earliest + rng.Int64N(latest-earliest)
				amount := math.Min(math.Exp(3.4+0.9*rng.NormFloat64()), 20000)
				row[0] = c.id
				row[1] = fmt.Sprintf("DEMO-%d-%d", c.id, k+1)
				row[2] = fmt.Sprintf("%.2f", amount)
				row[3] = "EUR"
				row[4] = timeOf(at)
				k++
			}})
		if err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("demo: copy purchases: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("demo: purchases: %w", err)
		}
		written += rows
		l.log.Info("demo: purchases loaded", "purchases", written, "total", assigned)
		start = end
	}
	l.res.Purchases = written
	// A customer is first seen at their first purchase when they bought before they wrote.
	first, last := l.customers[0].id, l.customers[len(l.customers)-1].id
	_, err := l.conns[0].Exec(ctx, `
		UPDATE customers c SET first_seen_at = p.first_at
		FROM (SELECT customer_id, min(purchased_at) AS first_at FROM purchases
			WHERE customer_id BETWEEN $1 AND $2 GROUP BY customer_id) p
		WHERE c.id = p.customer_id AND p.first_at < c.first_seen_at`, min(first, last), max(first, last))
	if err != nil {
		return fmt.Errorf("demo: first seen: %w", err)
	}
	return nil
}
