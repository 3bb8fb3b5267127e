-- What each customer is worth and how loyal they are, and the routing that uses it: purchases,
-- scores, tiers, agents' skills and capacity, and the settings that tune them.

-- +goose Up

ALTER TABLE customers
    ADD COLUMN notes          text        NOT NULL DEFAULT '',
    ADD COLUMN attributes     jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN first_seen_at  timestamptz NOT NULL DEFAULT now(),
    -- A merged customer keeps its row, pointing at the record it became, so that old references
    -- and the audit trail still resolve.
    ADD COLUMN merged_into_id bigint      REFERENCES customers (id);
CREATE INDEX customers_merged_into_id_idx ON customers (merged_into_id) WHERE merged_into_id IS NOT NULL;

CREATE TABLE purchases (
    id           bigserial PRIMARY KEY,
    customer_id  bigint        NOT NULL REFERENCES customers (id),
    -- The order number in the shop: importing the same order twice must not count it twice.
    external_id  text          NOT NULL,
    amount       numeric(14,2) NOT NULL CHECK (amount >= 0),
    currency     char(3)       NOT NULL,
    purchased_at timestamptz   NOT NULL,
    created_at   timestamptz   NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX purchases_external_id_key ON purchases (external_id);
CREATE INDEX purchases_customer_id_idx ON purchases (customer_id, purchased_at);
CREATE INDEX purchases_purchased_at_idx ON purchases (purchased_at);

-- Every scoring records the settings and quintile cut points it used, once per distinct set, so
-- that a customer's scores can be explained with exactly what produced them.
CREATE TABLE score_runs (
    id          bigserial   PRIMARY KEY,
    params_hash text        NOT NULL UNIQUE,
    params      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Scores are derived from purchases and support history and recomputed in bulk; they live apart
-- from the customer row so that a recomputation rewrites only this narrow table. The table has
-- no foreign keys on purpose: a bulk run writes a million rows, a check per row would cost
-- seconds, and nothing deletes customers or runs (a merge deletes the merged customer's row).
CREATE TABLE customer_scores (
    customer_id         bigint        PRIMARY KEY,
    run_id              bigint        NOT NULL,
    recency_days        integer,
    frequency           integer       NOT NULL,
    monetary            numeric(14,2) NOT NULL,
    purchases_total     integer       NOT NULL,
    first_purchase_at   timestamptz,
    r_score             smallint      NOT NULL,
    f_score             smallint      NOT NULL,
    m_score             smallint      NOT NULL,
    clv                 numeric(14,2) NOT NULL,
    tenure_days         integer       NOT NULL,
    tenure_points       float8        NOT NULL,
    rfm_points          float8        NOT NULL,
    support_points      integer       NOT NULL,
    open_tickets        integer       NOT NULL,
    recent_tickets      integer       NOT NULL,
    loyalty             smallint      NOT NULL CHECK (loyalty BETWEEN 0 AND 100),
    usual_interval_days float8,
    lateness            float8,
    churn_risk          text          NOT NULL CHECK (churn_risk IN ('low', 'medium', 'high')),
    -- The customer's tier is this column; a customer not yet scored is new.
    tier                text          NOT NULL CHECK (tier IN ('new', 'occasional', 'repeat', 'loyal', 'vip')),
    computed_at         timestamptz   NOT NULL
) WITH (fillfactor = 70);
-- Every bulk run rewrites every row. Free room in each page and no index beyond the key let
-- those updates stay on their page (HOT) instead of writing index entries: half the time.

-- Where the score job has read the event log up to: the log itself is the queue of customers
-- whose tickets changed.
CREATE TABLE score_progress (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_event_id bigint  NOT NULL
);
INSERT INTO score_progress (last_event_id) VALUES (0);

-- Routing: what an agent can take, and how much of it.
ALTER TABLE users
    ADD COLUMN languages          text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN categories         text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN max_active_tickets integer     NOT NULL DEFAULT 25 CHECK (max_active_tickets >= 0),
    ADD COLUMN handles_vip        boolean     NOT NULL DEFAULT false,
    ADD COLUMN available          boolean     NOT NULL DEFAULT true,
    -- Round-robin among equally loaded agents gives the next ticket to who waited longest.
    ADD COLUMN last_assigned_at   timestamptz;

-- Which team takes tickets of which categories.
ALTER TABLE teams ADD COLUMN categories text[] NOT NULL DEFAULT '{}';

ALTER TABLE tickets
    ADD COLUMN category text NOT NULL DEFAULT '',
    ADD COLUMN language text NOT NULL DEFAULT '';
-- A team's queue: its active tickets nobody holds, oldest first.
CREATE INDEX tickets_team_queue_idx ON tickets (team_id, created_at)
    WHERE assignee_id IS NULL AND status IN ('new', 'open', 'pending', 'on-hold');

-- Settings an admin tunes at run time (tier thresholds, the priority matrix, CLV parameters).
CREATE TABLE settings (
    name       text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
SELECT 1;
