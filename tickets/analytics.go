package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ValueAnalytics sums up the customer base over a period.
//
// Retention follows the usual CRM formula, (E − N) / S: S customers were active when the period
// began, E are active at its end, N of those became customers during it; a customer is active
// while their last purchase is under 12 months old. Churn is its complement. Equity is the sum
// of every customer's CLV today, and the tiers are today's.
type ValueAnalytics struct {
	From, To        time.Time
	ActiveAtStart   int64
	ActiveAtEnd     int64
	Acquired        int64
	RetentionRate   *float64 // nil when nobody was active at the start
	ChurnRate       *float64
	CustomerEquity  float64
	Currency        string
	Tiers           map[Tier]int64
	TicketsByTier   []TierTickets
	ScoredCustomers int64
}

// TierTickets is how tickets of one tier's customers fared in the period.
type TierTickets struct {
	Tier                  Tier     `json:"tier"`
	Created               int64    `json:"created"`
	Solved                int64    `json:"solved"`
	MedianResolutionHours *float64 `json:"median_resolution_hours"`
}

// Analytics computes the figures for [from, to) with aggregate queries.
func (c *Customers) Analytics(ctx context.Context, from, to time.Time) (*ValueAnalytics, error) {
	if !to.After(from) {
		return nil, invalid("to", "must be after from")
	}
	if to.Sub(from) > 5*366*24*time.Hour {
		return nil, invalid("to", "the period may be at most 5 years")
	}
	db := c.db.WithContext(ctx)
	s, err := loadValueSettings(db)
	if err != nil {
		return nil, err
	}
	a := &ValueAnalytics{From: from, To: to, Currency: s.Currency, Tiers: map[Tier]int64{}}
	var base struct {
		ActiveAtStart, ActiveAtEnd, Acquired, ScoredCustomers int64
		CustomerEquity                                        float64
	}
	err = db.Raw(`
		WITH firsts AS (
			SELECT customer_id, min(purchased_at) AS first_at FROM purchases GROUP BY customer_id
		), period AS (
			SELECT CAST(@from AS timestamptz) AS "from", CAST(@to AS timestamptz) AS "to"
		)
		SELECT
			(SELECT count(DISTINCT customer_id) FROM purchases, period p
				WHERE purchased_at < p."from" AND purchased_at >= p."from" - interval '1 year') AS active_at_start,
			(SELECT count(DISTINCT customer_id) FROM purchases, period p
				WHERE purchased_at < p."to" AND purchased_at >= p."to" - interval '1 year') AS active_at_end,
			(SELECT count(*) FROM firsts, period p WHERE first_at >= p."from" AND first_at < p."to") AS acquired,
			(SELECT coalesce(sum(clv), 0) FROM customer_scores) AS customer_equity,
			(SELECT count(*) FROM customer_scores) AS scored_customers`,
		map[string]any{"from": from, "to": to}).Scan(&base).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: analytics: %w", err)
	}
	a.ActiveAtStart, a.ActiveAtEnd, a.Acquired = base.ActiveAtStart, base.ActiveAtEnd, base.Acquired
	a.CustomerEquity, a.ScoredCustomers = base.CustomerEquity, base.ScoredCustomers
	if a.ActiveAtStart > 0 {
		r := float64(a.ActiveAtEnd-a.Acquired) / float64(a.ActiveAtStart)
		churn := 1 - r
		a.RetentionRate, a.ChurnRate = &r, &churn
	}
	var tiers []struct {
		Tier Tier
		N    int64
	}
	if err := db.Raw(`SELECT coalesce(s.tier, 'new') AS tier, count(*) AS n FROM customers c
		LEFT JOIN customer_scores s ON s.customer_id = c.id WHERE c.merged_into_id IS NULL GROUP BY 1`).Scan(&tiers).Error; err != nil {
		return nil, fmt.Errorf("tickets: analytics: %w", err)
	}
	for _, t := range Tiers {
		a.Tiers[t] = 0
	}
	for _, t := range tiers {
		a.Tiers[t.Tier] = t.N
	}
	var raw string
	err = db.Raw(`
		SELECT coalesce(jsonb_agg(row_to_json(x) ORDER BY array_position(ARRAY['new','occasional','repeat','loyal','vip'], x.tier)), '[]')::text
		FROM (
			SELECT coalesce(s.tier, 'new') AS tier, count(*) AS created,
				count(*) FILTER (WHERE t.solved_at IS NOT NULL) AS solved,
				round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.solved_at - t.created_at) / 3600)
					FILTER (WHERE t.solved_at IS NOT NULL))::numeric, 2) AS median_resolution_hours
			FROM tickets t LEFT JOIN customer_scores s ON s.customer_id = t.customer_id
			WHERE t.created_at >= ? AND t.created_at < ?
			GROUP BY 1
		) x`, from, to).Scan(&raw).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: analytics: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &a.TicketsByTier); err != nil {
		return nil, fmt.Errorf("tickets: analytics: %w", err)
	}
	return a, nil
}
