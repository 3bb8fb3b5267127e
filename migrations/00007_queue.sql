-- The agents' queue: open tickets sorted by their next SLA due time (nulls last), then priority
-- (urgent first), then id, paged by keyset. The due time lives in sla_clocks, one ticket having
-- several clocks; sorting a million tickets by a min() over another table cannot use an index,
-- so the ticket keeps its earliest running clock's due time in a column of its own, written by
-- a trigger in the transaction that writes the clocks. NULL means no running clock, which an
-- ascending index sorts last.

-- +goose Up

ALTER TABLE tickets ADD COLUMN sla_due_at timestamptz;

-- +goose StatementBegin
CREATE FUNCTION tickets_sla_due_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        tid := OLD.ticket_id;
    ELSE
        tid := NEW.ticket_id;
    END IF;
    -- The clock upsert rewrites every clock of a ticket; only a moved due time writes the ticket.
    UPDATE tickets t SET sla_due_at = d.due
    FROM (SELECT min(due_at) AS due FROM sla_clocks
          WHERE ticket_id = tid AND stopped_at IS NULL AND due_at IS NOT NULL) d
    WHERE t.id = tid AND t.sla_due_at IS DISTINCT FROM d.due;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER sla_clocks_due_insert AFTER INSERT ON sla_clocks
    FOR EACH ROW WHEN (NEW.due_at IS NOT NULL AND NEW.stopped_at IS NULL)
    EXECUTE FUNCTION tickets_sla_due_refresh();
CREATE TRIGGER sla_clocks_due_update AFTER UPDATE ON sla_clocks
    FOR EACH ROW WHEN (OLD.due_at IS DISTINCT FROM NEW.due_at OR OLD.stopped_at IS DISTINCT FROM NEW.stopped_at)
    EXECUTE FUNCTION tickets_sla_due_refresh();
CREATE TRIGGER sla_clocks_due_delete AFTER DELETE ON sla_clocks
    FOR EACH ROW WHEN (OLD.due_at IS NOT NULL AND OLD.stopped_at IS NULL)
    EXECUTE FUNCTION tickets_sla_due_refresh();

-- Existing installations: today's due times.
UPDATE tickets t SET sla_due_at = d.due
FROM (SELECT ticket_id, min(due_at) AS due FROM sla_clocks
      WHERE stopped_at IS NULL AND due_at IS NOT NULL GROUP BY ticket_id) d
WHERE t.id = d.ticket_id;

-- The queue's order, for open tickets only (solved and closed ones are the bulk of a big desk).
-- -priority makes the whole key ascending, so one row comparison pages through it; NULL due
-- times come last, as the queue wants them.
CREATE INDEX tickets_queue_idx ON tickets (sla_due_at, (-priority), id)
    WHERE status IN ('new', 'open', 'pending', 'on-hold');
-- "Mine" and "unassigned" (assignee_id IS NULL) in the same order.
CREATE INDEX tickets_queue_assignee_idx ON tickets (assignee_id, sla_due_at, (-priority), id)
    WHERE status IN ('new', 'open', 'pending', 'on-hold');
-- A team's queue.
CREATE INDEX tickets_queue_team_idx ON tickets (team_id, sla_due_at, (-priority), id)
    WHERE status IN ('new', 'open', 'pending', 'on-hold');
-- Solved tickets, which the queue can filter for; the auto-close sweep keeps them few. Closed
-- ones, the bulk of the table, are not a queue: they are found by customer or search.
CREATE INDEX tickets_queue_solved_idx ON tickets (sla_due_at, (-priority), id) WHERE status = 'solved';

-- The desk's customer search by the start of a name. In the C collation one index serves both
-- the prefix match (LIKE 'ana%') and the order of the results.
CREATE INDEX customers_name_prefix_idx ON customers ((lower(name) COLLATE "C"), id) WHERE merged_into_id IS NULL;

-- +goose Down
SELECT 1;
