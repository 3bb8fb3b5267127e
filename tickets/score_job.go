package tickets

import (
	"context"
	"fmt"
	"time"
)

// scoreLag is how long the score job waits before it trusts that no transaction will still
// commit an older event. Event ids are taken when a row is written, not when its transaction
// commits, so a slow transaction can land behind ids already read; the job re-reads events this
// young on its next pass, and rescoring a customer twice is harmless.
const scoreLag = time.Minute

// scoreEvents are the changes that move a customer's scores: their tickets (support history)
// and their purchases are counted in them.
var scoreEvents = []string{EventTicketCreated, EventStatusChanged, EventPurchaseAdded, EventCustomersMerged}

// RescoreChanged rescores the customers whose tickets or purchases changed since the last pass,
// reading the event log as its queue, and returns how many it rescored. One node at a time does
// it (a transaction-scoped advisory lock); the others return at once.
func (d *Desk) RescoreChanged(ctx context.Context) (int, error) {
	var n int
	err := d.inTx(ctx, func(w *work) error {
		var got bool
		if err := w.tx.Raw(`SELECT pg_try_advisory_xact_lock(hashtext('helpdesk.rescore'))`).Scan(&got).Error; err != nil {
			return err
		}
		if !got {
			return nil
		}
		var last int64
		if err := w.tx.Raw(`SELECT last_event_id FROM score_progress`).Scan(&last).Error; err != nil {
			return err
		}
		var batch struct {
			Customers string
			Settled   *int64
		}
		// Customers to rescore, and how far the log is settled: the newest event older than the
		// lag, below which no transaction can still add events.
		err := w.tx.Raw(`
			WITH fresh AS (
				SELECT id, customer_id, created_at FROM events
				WHERE id > ? AND type IN ? AND customer_id IS NOT NULL
				ORDER BY id LIMIT 20000
			)
			SELECT (SELECT coalesce(jsonb_agg(DISTINCT customer_id), '[]') FROM fresh)::text AS customers,
				(SELECT max(id) FROM fresh WHERE created_at < now() - make_interval(secs => ?)) AS settled`,
			last, scoreEvents, scoreLag.Seconds()).Scan(&batch).Error
		if err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		var ids []int64
		if err := unmarshalIDs(batch.Customers, &ids); err != nil {
			return err
		}
		if len(ids) > 0 {
			if _, err := recomputeIn(w, ids); err != nil {
				return err
			}
		}
		n = len(ids)
		if batch.Settled != nil {
			return w.tx.Exec(`UPDATE score_progress SET last_event_id = ?`, *batch.Settled).Error
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("tickets: rescore changed customers: %w", err)
	}
	return n, nil
}

// LastBulkScoring says when every customer was last scored together, or the zero time.
func (d *Desk) LastBulkScoring(ctx context.Context) (time.Time, error) {
	var at *time.Time
	err := d.db.WithContext(ctx).Raw(`SELECT updated_at FROM settings WHERE name = ?`, cutoffsName).Scan(&at).Error
	if err != nil || at == nil {
		return time.Time{}, err
	}
	return *at, nil
}
