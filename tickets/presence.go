package tickets

import (
	"context"
	"fmt"
	"time"
)

// Presence is who has a ticket open in the workspace right now. Pages send a heartbeat while
// they are open, saying whether their user is writing in the reply editor; other agents on the
// ticket see "Ana is replying" and do not answer the customer twice. It lives in PostgreSQL (an
// UNLOGGED table) so that every node of the help desk sees the same.

// PresenceWindow is how long a heartbeat counts: a page that stopped sending (closed, asleep,
// offline) drops out after it. Pages send one every 20 seconds.
const PresenceWindow = 60 * time.Second

// Viewer is another member of staff with a ticket open.
type Viewer struct {
	UserID int64
	Name   string
	// Replying is true when they typed in the reply editor within PresenceWindow.
	Replying bool
	LastSeen time.Time
}

// TouchPresence records that a user has a ticket open now, and, when typing is true, that they are
// writing a reply. A ticket that does not exist gives ErrNotFound. A heartbeat without typing keeps an earlier keystroke, so that a pause to
// think does not hide the warning; it ages out after PresenceWindow.
func (d *Desk) TouchPresence(ctx context.Context, ticketID, userID int64, typing bool) error {
	res := d.db.WithContext(ctx).Exec(`INSERT INTO ticket_presence (ticket_id, user_id, last_seen, typed_at)
		SELECT id, ?, now(), CASE WHEN ? THEN now() END FROM tickets WHERE id = ?
		ON CONFLICT (ticket_id, user_id) DO UPDATE SET last_seen = now(),
			typed_at = CASE WHEN ? THEN now() ELSE ticket_presence.typed_at END`,
		userID, typing, ticketID, typing)
	if res.Error != nil {
		return fmt.Errorf("tickets: touch presence: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// StoppedReplying records that a user sent (or dropped) what they were writing on a ticket.
func (d *Desk) StoppedReplying(ctx context.Context, ticketID, userID int64) error {
	err := d.db.WithContext(ctx).Exec(`UPDATE ticket_presence SET typed_at = NULL WHERE ticket_id = ? AND user_id = ?`,
		ticketID, userID).Error
	if err != nil {
		return fmt.Errorf("tickets: stop replying: %w", err)
	}
	return nil
}

// Viewers lists the members of staff other than userID who have the ticket open, those replying
// first, then by name. Stale rows are ignored by time and pruned by PrunePresence.
func (d *Desk) Viewers(ctx context.Context, ticketID, userID int64) ([]Viewer, error) {
	window := PresenceWindow.Seconds()
	var out []Viewer
	err := d.db.WithContext(ctx).Raw(`SELECT p.user_id, u.name, p.last_seen,
			coalesce(p.typed_at > now() - make_interval(secs => ?), false) AS replying
		FROM ticket_presence p JOIN users u ON u.id = p.user_id
		WHERE p.ticket_id = ? AND p.user_id <> ? AND p.last_seen > now() - make_interval(secs => ?)
			AND u.disabled_at IS NULL
		ORDER BY replying DESC, lower(u.name), u.id`, window, ticketID, userID, window).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: viewers: %w", err)
	}
	return out, nil
}

// PrunePresence deletes presence rows older than an hour. Queries ignore them anyway; this keeps
// the table small. Pages call it now and then; it is cheap on the last_seen index.
func (d *Desk) PrunePresence(ctx context.Context) error {
	err := d.db.WithContext(ctx).Exec(`DELETE FROM ticket_presence WHERE last_seen < now() - interval '1 hour'`).Error
	if err != nil {
		return fmt.Errorf("tickets: prune presence: %w", err)
	}
	return nil
}
