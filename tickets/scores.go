package tickets

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The customer value model, after the CRM texts the design follows:
//
//   - RFM: recency is the days since the customer's last purchase; frequency and monetary are
//     the number and value of purchases in the last 12 months. Each scores 1 to 5 by quintile
//     across customers: the cut points are the 20th, 40th, 60th and 80th percentiles of the
//     customers who bought (within 12 months, for frequency and monetary), and a score is 1 plus
//     the number of cut points the customer beats (for recency, is at or under).
//   - CLV = m·r/(1+d−r) − acquisition cost, with m the yearly margin (monetary × margin rate),
//     r the retention rate and d the discount rate (ValueSettings).
//   - Loyalty, 0–100: tenure (up to 20 points over two years since first seen), RFM (up to 60:
//     60·(R+F+M−3)/12) and support (20 points, less 5 per open ticket and 2 per ticket in the
//     last 90 days).
//   - Tier: VIP for the top share by CLV, loyal from a loyalty score, repeat from purchases in 12
//     months, new for a first purchase within NewDays (or none), occasional otherwise.
//   - Churn risk compares the days since the last purchase with the customer's usual interval
//     between purchases: high at twice the interval (or 1.5 times with an open ticket), or when
//     a past buyer bought nothing in 12 months; medium at 1.25 times or with two open tickets.
//
// Quintile cut points and the VIP threshold are set by the bulk recomputation and kept, so that
// scoring one customer between two bulk runs places them on the same scale as everyone else.

// Scores is a customer's value and loyalty, with what each figure is made of.
type Scores struct {
	CustomerID        int64
	RunID             int64
	RecencyDays       *int
	Frequency         int
	Monetary          float64
	PurchasesTotal    int
	FirstPurchaseAt   *time.Time
	RScore            int
	FScore            int
	MScore            int
	CLV               float64 `gorm:"column:clv"`
	TenureDays        int
	TenurePoints      float64
	RFMPoints         float64 `gorm:"column:rfm_points"`
	SupportPoints     int
	OpenTickets       int
	RecentTickets     int
	Loyalty           int
	UsualIntervalDays *float64
	Lateness          *float64
	ChurnRisk         string
	Tier              Tier
	ComputedAt        time.Time
	// Explanation says how the figures came about, with the settings and cut points they were
	// computed with. Filled when scores are read.
	Explanation Explanation `gorm:"-"`
}

// TableName keeps the table name explicit.
func (Scores) TableName() string { return "customer_scores" }

// RFM is the three scores as customers are usually classed, such as "545".
func (s Scores) RFM() string { return fmt.Sprintf("%d%d%d", s.RScore, s.FScore, s.MScore) }

// cutoffs are the quintile cut points and the VIP threshold of the last bulk recomputation.
type cutoffs struct {
	Recency   []float64 `json:"recency"`
	Frequency []float64 `json:"frequency"`
	Monetary  []float64 `json:"monetary"`
	VIPMinCLV *float64  `json:"vip_min_clv"`
}

const cutoffsName = "customer_value_cutoffs"

// at returns the i-th cut point or nil, so that a scale with no buyers yet scores everyone 1.
func at(list []float64, i int) any {
	if i < len(list) {
		return list[i]
	}
	return nil
}

// scoreInputs gathers, per customer, what the scores are computed from. %s filters customers.
const scoreInputs = `
	SELECT c.id AS customer_id, c.first_seen_at,
		p.first_at, p.last_at, coalesce(p.total, 0) AS total,
		coalesce(p.frequency, 0) AS frequency, coalesce(p.monetary, 0) AS monetary,
		coalesce(t.open_tickets, 0) AS open_tickets, coalesce(t.recent_tickets, 0) AS recent_tickets
	FROM customers c
	LEFT JOIN (
		SELECT customer_id, min(purchased_at) AS first_at, max(purchased_at) AS last_at, count(*) AS total,
			count(*) FILTER (WHERE purchased_at > now() - interval '1 year') AS frequency,
			sum(amount * coalesce((CAST(@rates AS jsonb) ->> currency)::numeric, 0))
				FILTER (WHERE purchased_at > now() - interval '1 year') AS monetary
		FROM purchases %[1]s
		GROUP BY customer_id
	) p ON p.customer_id = c.id
	LEFT JOIN (
		SELECT customer_id,
			count(*) FILTER (WHERE status IN ` + activeStatuses + `) AS open_tickets,
			count(*) FILTER (WHERE created_at > now() - interval '90 days') AS recent_tickets
		FROM tickets %[1]s
		GROUP BY customer_id
	) t ON t.customer_id = c.id
	WHERE c.merged_into_id IS NULL %[2]s`

// scoreQuery turns inputs into scores and stores them. The inputs relation is %s.
//
// Each step is a LATERAL subquery fenced with OFFSET 0, so that its values are computed once per
// customer: without the fence the planner pastes a step's expressions into every later use, and
// the whole chain is evaluated again for each of them.
const scoreQuery = `
	WITH p AS (
		SELECT CAST(@r1 AS float8) AS r1, CAST(@r2 AS float8) AS r2, CAST(@r3 AS float8) AS r3, CAST(@r4 AS float8) AS r4,
			CAST(@f1 AS float8) AS f1, CAST(@f2 AS float8) AS f2, CAST(@f3 AS float8) AS f3, CAST(@f4 AS float8) AS f4,
			CAST(@m1 AS float8) AS m1, CAST(@m2 AS float8) AS m2, CAST(@m3 AS float8) AS m3, CAST(@m4 AS float8) AS m4,
			CAST(@margin AS numeric) AS margin, CAST(@retention AS numeric) AS retention,
			CAST(@discount AS numeric) AS discount, CAST(@acquisition AS numeric) AS acquisition,
			CAST(@vip_min AS numeric) AS vip_min, CAST(@loyal_min AS int) AS loyal_min,
			CAST(@repeat_min AS int) AS repeat_min, CAST(@new_days AS int) AS new_days, CAST(@run AS bigint) AS run,
			CAST(@matrix AS jsonb) AS matrix
	), prev AS (
		SELECT customer_id, tier FROM customer_scores WHERE %[2]s
	), ins AS (
	INSERT INTO customer_scores (customer_id, run_id, recency_days, frequency, monetary, purchases_total, first_purchase_at,
		r_score, f_score, m_score, clv, tenure_days, tenure_points, rfm_points, support_points, open_tickets, recent_tickets,
		loyalty, usual_interval_days, lateness, churn_risk, tier, computed_at)
	SELECT i.customer_id, p.run, b.recency_days, i.frequency, round(i.monetary, 2), i.total, i.first_at,
		s.r, s.f, s.m, s.clv, b.tenure_days, g.tenure_points, g.rfm_points, g.support_points, i.open_tickets, i.recent_tickets,
		l.loyalty, b.usual_interval, g.lateness, j.churn_risk, j.tier, now()
	FROM %[1]s i
	CROSS JOIN p
	CROSS JOIN LATERAL (
		SELECT CASE WHEN i.last_at IS NOT NULL THEN floor(extract(epoch FROM now() - i.last_at) / 86400)::int END AS recency_days,
			floor(extract(epoch FROM now() - i.first_seen_at) / 86400)::int AS tenure_days,
			CASE WHEN i.total >= 2 THEN extract(epoch FROM i.last_at - i.first_at) / 86400 / (i.total - 1) END AS usual_interval
		OFFSET 0
	) b
	CROSS JOIN LATERAL (
		SELECT CASE WHEN b.recency_days IS NULL THEN 1 ELSE 1
				+ coalesce((b.recency_days <= p.r1)::int, 0) + coalesce((b.recency_days <= p.r2)::int, 0)
				+ coalesce((b.recency_days <= p.r3)::int, 0) + coalesce((b.recency_days <= p.r4)::int, 0) END AS r,
			1 + coalesce((i.frequency > p.f1)::int, 0) + coalesce((i.frequency > p.f2)::int, 0)
				+ coalesce((i.frequency > p.f3)::int, 0) + coalesce((i.frequency > p.f4)::int, 0) AS f,
			1 + coalesce((i.monetary > p.m1)::int, 0) + coalesce((i.monetary > p.m2)::int, 0)
				+ coalesce((i.monetary > p.m3)::int, 0) + coalesce((i.monetary > p.m4)::int, 0) AS m,
			round(i.monetary * p.margin * p.retention / (1 + p.discount - p.retention) - p.acquisition, 2) AS clv
		OFFSET 0
	) s
	CROSS JOIN LATERAL (
		SELECT round((20 * least(b.tenure_days / 730.0, 1))::numeric, 2)::float8 AS tenure_points,
			round((60 * (s.r + s.f + s.m - 3) / 12.0)::numeric, 2)::float8 AS rfm_points,
			20 - least(20, 5 * i.open_tickets + 2 * i.recent_tickets)::int AS support_points,
			round((b.recency_days / nullif(b.usual_interval, 0))::numeric, 2)::float8 AS lateness
		OFFSET 0
	) g
	CROSS JOIN LATERAL (
		SELECT greatest(0, least(100, round(g.tenure_points + g.rfm_points + g.support_points)))::int AS loyalty
		OFFSET 0
	) l
	CROSS JOIN LATERAL (
		SELECT CASE
				WHEN s.clv > 0 AND s.clv >= p.vip_min THEN 'vip'
				WHEN l.loyalty >= p.loyal_min THEN 'loyal'
				WHEN i.frequency >= p.repeat_min THEN 'repeat'
				WHEN i.first_at IS NULL OR i.first_at > now() - make_interval(days => p.new_days) THEN 'new'
				ELSE 'occasional' END AS tier,
			CASE
				WHEN i.total > 0 AND i.frequency = 0 THEN 'high'
				WHEN g.lateness >= 2 OR (g.lateness >= 1.5 AND i.open_tickets > 0) THEN 'high'
				WHEN g.lateness >= 1.25 OR i.open_tickets >= 2 THEN 'medium'
				ELSE 'low' END AS churn_risk
		OFFSET 0
	) j
	ON CONFLICT (customer_id) DO UPDATE SET
		run_id = excluded.run_id, recency_days = excluded.recency_days, frequency = excluded.frequency,
		monetary = excluded.monetary, purchases_total = excluded.purchases_total, first_purchase_at = excluded.first_purchase_at,
		r_score = excluded.r_score, f_score = excluded.f_score, m_score = excluded.m_score, clv = excluded.clv,
		tenure_days = excluded.tenure_days, tenure_points = excluded.tenure_points, rfm_points = excluded.rfm_points,
		support_points = excluded.support_points, open_tickets = excluded.open_tickets, recent_tickets = excluded.recent_tickets,
		loyalty = excluded.loyalty, usual_interval_days = excluded.usual_interval_days, lateness = excluded.lateness,
		churn_risk = excluded.churn_risk, tier = excluded.tier, computed_at = excluded.computed_at
	RETURNING customer_id, tier
	), moved AS (
		-- A customer never scored before was new; only a move from a real score is an event.
		SELECT ins.customer_id, coalesce(prev.tier, 'new') AS old, ins.tier AS new, prev.tier IS NOT NULL AS scored_before
		FROM ins LEFT JOIN prev USING (customer_id)
		WHERE coalesce(prev.tier, 'new') <> ins.tier
	), tier_events AS (
		INSERT INTO events (actor_kind, customer_id, type, data)
		SELECT 'system', customer_id, 'customer.tier_changed', jsonb_build_object('from', old, 'to', new)
		FROM moved WHERE scored_before
	), open AS (
		SELECT tk.id, tk.customer_id, tk.priority, m.old, m.new,
			coalesce(array_position(` + sqlLevelNames + `, p.matrix -> m.old ->> (` + sqlLevelNames + `)[tk.urgency]), tk.urgency) AS old_rule,
			coalesce(array_position(` + sqlLevelNames + `, p.matrix -> m.new ->> (` + sqlLevelNames + `)[tk.urgency]), tk.urgency) AS new_rule
		FROM tickets tk JOIN moved m USING (customer_id) CROSS JOIN p
		WHERE tk.status IN ` + activeStatuses + `
	), bumped AS (
		-- A priority an agent set by hand (it no longer matches the old tier's rule) stays.
		UPDATE tickets SET priority = open.new_rule, updated_at = now()
		FROM open WHERE tickets.id = open.id AND tickets.priority = open.old_rule AND open.new_rule <> tickets.priority
		RETURNING tickets.id, open.customer_id, open.old_rule AS "from", open.new_rule AS "to", open.old, open.new
	), priority_events AS (
		INSERT INTO events (actor_kind, ticket_id, customer_id, type, data)
		SELECT 'system', id, customer_id, 'ticket.priority_changed', jsonb_build_object(
			'from', (` + sqlLevelNames + `)["from"], 'to', (` + sqlLevelNames + `)["to"],
			'reason', format('customer tier changed from %%s to %%s', old, new))
		FROM bumped
	)
	SELECT 'moved' AS kind, (SELECT count(*) FROM moved) AS customer_id, 0 AS ticket_id, '' AS old, '' AS new
	UNION ALL
	SELECT DISTINCT 'tier', customer_id, 0, old, new FROM open
	UNION ALL
	SELECT 'priority', customer_id, id, (` + sqlLevelNames + `)["from"], (` + sqlLevelNames + `)["to"] FROM bumped`

// scoreParams are the named parameters of scoreQuery and scoreInputs.
func scoreParams(s ValueSettings, c cutoffs) (map[string]any, error) {
	rates := map[string]float64{s.Currency: 1}
	for k, v := range s.Rates {
		rates[k] = v
	}
	ratesJSON, err := json.Marshal(rates)
	if err != nil {
		return nil, err
	}
	matrix, err := json.Marshal(s.PriorityMatrix)
	if err != nil {
		return nil, err
	}
	var vipMin any
	if c.VIPMinCLV != nil {
		vipMin = *c.VIPMinCLV
	}
	return map[string]any{
		"rates": string(ratesJSON),
		"r1":    at(c.Recency, 0), "r2": at(c.Recency, 1), "r3": at(c.Recency, 2), "r4": at(c.Recency, 3),
		"f1": at(c.Frequency, 0), "f2": at(c.Frequency, 1), "f3": at(c.Frequency, 2), "f4": at(c.Frequency, 3),
		"m1": at(c.Monetary, 0), "m2": at(c.Monetary, 1), "m3": at(c.Monetary, 2), "m4": at(c.Monetary, 3),
		"margin": s.MarginRate, "retention": s.RetentionRate, "discount": s.DiscountRate, "acquisition": s.AcquisitionCost,
		"vip_min": vipMin, "loyal_min": s.LoyalMinLoyalty, "repeat_min": s.RepeatMinPurchases, "matrix": string(matrix),
		"new_days": s.NewDays,
	}, nil
}

// RecomputeAll recomputes every customer's scores with set-based SQL: fresh quintile cut points
// and VIP threshold from all customers, then every score, then the tiers that moved and the
// priorities of their open tickets.
func (d *Desk) RecomputeAll(ctx context.Context) (TierChanges, error) {
	var out TierChanges
	err := d.inTx(ctx, func(w *work) error {
		s, err := loadValueSettings(w.tx)
		if err != nil {
			return err
		}
		params, err := scoreParams(s, cutoffs{})
		if err != nil {
			return err
		}
		// Inputs once into a temporary table: the cut points and the scores both read them.
		if err := w.tx.Exec(`CREATE TEMPORARY TABLE score_inputs ON COMMIT DROP AS `+fmt.Sprintf(scoreInputs, "", ""), params).Error; err != nil {
			return fmt.Errorf("score inputs: %w", err)
		}
		c, err := computeCutoffs(w.tx, s)
		if err != nil {
			return err
		}
		if err := storeCutoffs(w.tx, c); err != nil {
			return err
		}
		if params, err = scoreParams(s, c); err != nil {
			return err
		}
		if params["run"], err = ensureRun(w.tx, s, c); err != nil {
			return err
		}
		out, err = runScoring(w, "score_inputs", "true", params)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("tickets: recompute scores: %w", err)
	}
	return out, nil
}

// computeCutoffs reads the quintile cut points and the VIP threshold from score_inputs.
func computeCutoffs(tx *gorm.DB, s ValueSettings) (cutoffs, error) {
	var row struct {
		Recency, Frequency, Monetary string
		VIPMinCLV                    *float64 `gorm:"column:vip_min_clv"`
	}
	err := tx.Raw(`
		SELECT
			(SELECT coalesce(to_jsonb(percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY floor(extract(epoch FROM now() - last_at) / 86400))), '[]')
				FROM score_inputs WHERE last_at IS NOT NULL)::text AS recency,
			(SELECT coalesce(to_jsonb(percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY frequency)), '[]')
				FROM score_inputs WHERE frequency > 0)::text AS frequency,
			(SELECT coalesce(to_jsonb(percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY monetary)), '[]')
				FROM score_inputs WHERE frequency > 0)::text AS monetary,
			(SELECT percentile_disc(1 - CAST(? AS float8)) WITHIN GROUP (ORDER BY clv)
				FROM (SELECT round(monetary * m * r / (1 + d - r) - a, 2) AS clv FROM score_inputs,
					(SELECT CAST(? AS numeric) AS m, CAST(? AS numeric) AS r, CAST(? AS numeric) AS d, CAST(? AS numeric) AS a) p) v
				WHERE clv > 0) AS vip_min_clv`,
		// Every parameter is cast: PostgreSQL would type one next to an integer literal as an
		// integer, and 0.75 would arrive as 0.
		s.VIPShare, s.MarginRate, s.RetentionRate, s.DiscountRate, s.AcquisitionCost).Scan(&row).Error
	if err != nil {
		return cutoffs{}, fmt.Errorf("cut points: %w", err)
	}
	var c cutoffs
	for _, p := range []struct {
		raw string
		dst *[]float64
	}{{row.Recency, &c.Recency}, {row.Frequency, &c.Frequency}, {row.Monetary, &c.Monetary}} {
		if err := json.Unmarshal([]byte(p.raw), p.dst); err != nil {
			return cutoffs{}, fmt.Errorf("cut points: %w", err)
		}
	}
	c.VIPMinCLV = row.VIPMinCLV
	return c, nil
}

func storeCutoffs(tx *gorm.DB, c cutoffs) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()`, cutoffsName, string(raw)).Error
}

func loadCutoffs(tx *gorm.DB) (cutoffs, error) {
	var c cutoffs
	var raw []byte
	err := tx.Raw(`SELECT value FROM settings WHERE name = ?`, cutoffsName).Row().Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("load cut points: %w", err)
	}
	return c, json.Unmarshal(raw, &c)
}

// Recompute scores the given customers on the scale of the last bulk recomputation, as after a
// purchase or a change to their tickets, and moves their tiers and ticket priorities.
func (d *Desk) Recompute(ctx context.Context, customerIDs []int64) (TierChanges, error) {
	var out TierChanges
	if len(customerIDs) == 0 {
		return out, nil
	}
	err := d.inTx(ctx, func(w *work) error {
		var err error
		out, err = recomputeIn(w, customerIDs)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("tickets: recompute scores: %w", err)
	}
	return out, nil
}

func recomputeIn(w *work, customerIDs []int64) (TierChanges, error) {
	s, err := loadValueSettings(w.tx)
	if err != nil {
		return TierChanges{}, err
	}
	c, err := loadCutoffs(w.tx)
	if err != nil {
		return TierChanges{}, err
	}
	params, err := scoreParams(s, c)
	if err != nil {
		return TierChanges{}, err
	}
	if params["run"], err = ensureRun(w.tx, s, c); err != nil {
		return TierChanges{}, err
	}
	params["ids"] = int64s(customerIDs)
	inputs := "(" + fmt.Sprintf(scoreInputs, "WHERE customer_id = ANY(@ids)", "AND c.id = ANY(@ids)") + ")"
	return runScoring(w, inputs, "customer_id = ANY(@ids)", params)
}

// TierChanges says what a recomputation moved.
type TierChanges struct {
	Customers  int // customers whose tier changed
	Priorities int // open tickets whose priority followed
}

// runScoring scores the customers of inputs and carries the consequences in the same statement:
// tier moves are recorded, and the priority matrix is re-applied to the open tickets of customers
// who moved. The hooks hear of every moved priority, and of tier moves of customers with open
// work, which is all the rest of the desk cares about.
func runScoring(w *work, inputs, prevFilter string, params map[string]any) (TierChanges, error) {
	var rows []struct {
		Kind       string
		CustomerID int64
		TicketID   int64
		Old, New   string
	}
	if err := w.tx.Raw(fmt.Sprintf(scoreQuery, inputs, prevFilter), params).Scan(&rows).Error; err != nil {
		return TierChanges{}, fmt.Errorf("scores: %w", err)
	}
	var out TierChanges
	for _, r := range rows {
		switch r.Kind {
		case "moved":
			out.Customers = int(r.CustomerID) // the count rides in this column
		case "tier":
			w.recorded(event{SystemActor, 0, r.CustomerID, EventTierChanged, map[string]any{"from": Tier(r.Old), "to": Tier(r.New)}})
		case "priority":
			out.Priorities++
			w.recorded(event{SystemActor, r.TicketID, r.CustomerID, EventPriorityChanged, map[string]any{"from": r.Old, "to": r.New}})
		}
	}
	return out, nil
}

// sqlLevelNames maps a level number to its name in SQL: (sqlLevelNames)[priority].
const sqlLevelNames = `ARRAY['low', 'normal', 'high', 'urgent']`

// textArray passes a list of strings as one text[] parameter.
type textArray []string

func (a textArray) Value() (driver.Value, error) { return []string(a), nil }

// ScoresOf returns a customer's stored scores with their explanation, or ErrNotFound when none
// were computed yet.
func (c *Customers) ScoresOf(ctx context.Context, customerID int64) (*Scores, error) {
	var found []Scores
	db := c.db.WithContext(ctx)
	if err := db.Where("customer_id = ?", customerID).Limit(1).Find(&found).Error; err != nil {
		return nil, fmt.Errorf("tickets: scores: %w", err)
	}
	if len(found) == 0 {
		return nil, ErrNotFound
	}
	s := &found[0]
	run, err := loadRun(db, s.RunID, &c.runs)
	if err != nil {
		return nil, err
	}
	s.Explanation = explain(s, run)
	return s, nil
}
