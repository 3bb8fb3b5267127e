package tickets

import (
	"context"
	"fmt"
	"time"
)

// CloseSolved closes up to batch tickets that have been solved for longer than after, oldest
// first, recording an event for each, and returns how many it closed. It takes rows with SKIP
// LOCKED, so every node may run it at once without closing a ticket twice or waiting on another.
func (d *Desk) CloseSolved(ctx context.Context, after time.Duration, batch int) (int, error) {
	data := map[string]any{"from": StatusSolved, "to": StatusClosed, "reason": fmt.Sprintf("solved for more than %s", after)}
	var closed []struct{ ID, CustomerID int64 }
	err := d.inTx(ctx, func(w *work) error {
		err := w.tx.Raw(`
			WITH due AS (
				SELECT id FROM tickets
				WHERE status = 'solved' AND solved_at < now() - make_interval(secs => ?)
				ORDER BY solved_at
				LIMIT ?
				FOR UPDATE SKIP LOCKED
			), closed AS (
				UPDATE tickets t SET status = 'closed', closed_at = now(), updated_at = now()
				FROM due WHERE t.id = due.id
				RETURNING t.id, t.customer_id
			), e AS (
				INSERT INTO events (actor_kind, ticket_id, customer_id, type, data)
				SELECT 'system', id, customer_id, ?, CAST(? AS jsonb) FROM closed
			)
			SELECT id, customer_id FROM closed`,
			after.Seconds(), batch, EventStatusChanged, jsonString(data)).Scan(&closed).Error
		if err != nil {
			return err
		}
		for _, c := range closed {
			w.recorded(event{SystemActor, c.ID, c.CustomerID, EventStatusChanged, data})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("tickets: close solved: %w", err)
	}
	return len(closed), nil
}
