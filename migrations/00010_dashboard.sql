-- The supervisor dashboard's rollups: figures the sla package precomputes every minute, so that
-- the page reads a few small rows instead of aggregating a month of clocks per view.

-- +goose Up

-- One row per fixed range (7, 30 or 90 days, ending at computed_at and starting at midnight UTC
-- of the range's first day). Medians and 90th percentiles cannot be summed over days, so the
-- per-agent and per-tier figures are stored whole for each range: the sla.MetricsRow of every
-- agent and tier, as JSON, exactly as sla.Service.Metrics computed them.
CREATE TABLE dash_rollups (
    range_days  smallint    PRIMARY KEY CHECK (range_days IN (7, 30, 90)),
    range_from  timestamptz NOT NULL,
    range_to    timestamptz NOT NULL,
    computed_at timestamptz NOT NULL,
    took_ms     integer     NOT NULL,
    agents      jsonb       NOT NULL,
    tiers       jsonb       NOT NULL,
    overall     jsonb       NOT NULL
);

-- One row per UTC day of the last 90: figures that do sum over days. fr_buckets counts the first
-- responses given that day by their business time (bucket bounds in sla.FirstResponseBuckets).
CREATE TABLE dash_daily (
    day        date    PRIMARY KEY,
    created    integer NOT NULL,
    solved     integer NOT NULL,
    clocks     integer NOT NULL,
    clocks_met integer NOT NULL,
    fr_buckets integer[] NOT NULL
);

-- Tickets created per day, for the volume chart.
CREATE INDEX tickets_created_at_idx ON tickets (created_at);

-- +goose Down
DROP INDEX tickets_created_at_idx;
DROP TABLE dash_daily;
DROP TABLE dash_rollups;
