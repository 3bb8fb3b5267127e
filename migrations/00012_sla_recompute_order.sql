-- The sweeper takes queued tickets oldest first, 500 at a time. Without an index in that order
-- each batch sorted the whole queue: 0.8 s a batch with every ticket of a large install queued
-- after a change of policy.

-- +goose Up
CREATE INDEX IF NOT EXISTS sla_recompute_queued_at_idx ON sla_recompute (queued_at, ticket_id);

-- +goose Down
DROP INDEX sla_recompute_queued_at_idx;
