-- The trigger that keeps tickets.sla_due_at asks, for every clock it sees written, for the
-- earliest due time among the ticket's running clocks. No index answered that exactly, so the
-- planner guessed: on a young or freshly grown table it walked the due-time index in order,
-- filtering by ticket, or AND-ed that whole index with the ticket's as a bitmap. New clocks share
-- their due times with many others (the end of the same business day) and sort last among them,
-- so each intake read every running clock: a third of the database's work at intake. This index
-- holds exactly the rows the trigger asks for, in the order it wants them, so any plan is cheap.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS sla_clocks_ticket_due_idx ON sla_clocks (ticket_id, due_at)
    WHERE stopped_at IS NULL AND due_at IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS sla_clocks_ticket_due_idx;
