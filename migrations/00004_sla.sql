-- Service level agreements: business-hours calendars, policies, every ticket's clocks, the
-- notifications the sweeper sends when a clock nears or passes its target, and what the metrics
-- need to count business time in SQL.

-- +goose Up

CREATE TABLE sla_calendars (
    id         bigserial PRIMARY KEY,
    name       text        NOT NULL,
    timezone   text        NOT NULL,
    -- {"mon": [{"from": "09:00", "to": "17:00"}], ...} as the API takes it; validated by the
    -- application, which alone can check time zones and overlaps.
    hours      jsonb       NOT NULL,
    holidays   jsonb       NOT NULL DEFAULT '[]',
    -- False until the application has written the calendar's business spans (below).
    spans_ready boolean    NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sla_calendars_name_key ON sla_calendars (lower(name));

-- Tried in position order (then id); the first whose priorities and tiers match a ticket sets
-- its targets. Empty arrays match everything.
CREATE TABLE sla_policies (
    id           bigserial PRIMARY KEY,
    name         text        NOT NULL,
    position     integer     NOT NULL DEFAULT 0,
    priorities   smallint[]  NOT NULL DEFAULT '{}',
    tiers        text[]      NOT NULL DEFAULT '{}',
    calendar_id  bigint      NOT NULL REFERENCES sla_calendars (id),
    -- {"first_response": {"minutes": 60, "business": true, "pause_on": []}, ...}
    targets      jsonb       NOT NULL,
    warn_percent smallint    NOT NULL DEFAULT 75 CHECK (warn_percent BETWEEN 0 AND 99),
    -- {"notify": true, "raise_priority": false, "reassign_team_id": null, "reassign_user_id": null}
    on_warning   jsonb       NOT NULL DEFAULT '{"notify": true}',
    on_breach    jsonb       NOT NULL DEFAULT '{"notify": true}',
    notify_in_business_hours boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sla_policies_name_key ON sla_policies (lower(name));
CREATE INDEX sla_policies_calendar_id_idx ON sla_policies (calendar_id);

-- One row. Every change of calendars or policies bumps the version, so that each node knows to
-- reload the settings it caches.
CREATE TABLE sla_state (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint  NOT NULL DEFAULT 1
);
INSERT INTO sla_state DEFAULT VALUES;

-- Every ticket's clocks: one row per kind, and per cycle of next response (one for each customer
-- message that waited for an answer). Rows are derived from the ticket's event history and
-- rewritten in the transaction of each change; warned_at and escalated_at are the sweeper's.
-- Only the ticket is a foreign key: a key to the policy, the calendar or a user would share-lock
-- that one row from every concurrent intake, and nothing deletes users or teams (a deleted
-- policy's clocks keep its id, a calendar in use cannot be deleted).
CREATE TABLE sla_clocks (
    id               bigserial PRIMARY KEY,
    ticket_id        bigint      NOT NULL REFERENCES tickets (id),
    kind             text        NOT NULL CHECK (kind IN ('first_response', 'next_response', 'resolution')),
    cycle            integer     NOT NULL DEFAULT 1,
    policy_id        bigint,
    calendar_id      bigint,
    business         boolean     NOT NULL,
    target_seconds   integer     NOT NULL CHECK (target_seconds > 0),
    state            text        NOT NULL CHECK (state IN ('running', 'paused', 'met', 'breached')),
    started_at       timestamptz NOT NULL,
    -- The calendar's business seconds from 2000 to started_at (what sla_business_at gives), so
    -- that a clock's business age is one subtraction.
    started_cum_seconds double precision NOT NULL DEFAULT 0,
    -- Set while the clock runs: elapsed times count up to it, and exclude paused time.
    running_since    timestamptz,
    business_seconds double precision NOT NULL DEFAULT 0,
    calendar_seconds double precision NOT NULL DEFAULT 0,
    due_at           timestamptz,
    warn_at          timestamptz,
    breached_at      timestamptz,
    stopped_at       timestamptz,
    -- Who met it: the author of the reply, or whoever solved the ticket.
    stopped_by       bigint,
    stop_reason      text        CHECK (stop_reason IN ('reply', 'solved')),
    -- First response only: our second public reply (the second contact) and the time since the
    -- first, for the metrics.
    followup_at      timestamptz,
    followup_by      bigint,
    followup_business_seconds double precision,
    followup_calendar_seconds double precision,
    -- Who and what the metrics count the clock for: the ticket's assignee, team and customer
    -- tier when the clock last moved (a stopped clock keeps those it stopped with).
    assignee_id      bigint,
    team_id          bigint,
    tier             text,
    warned_at        timestamptz,
    escalated_at     timestamptz,
    -- Escalation steps (raise priority, reassign) that still have to go through the desk.
    pending_actions  text[]      NOT NULL DEFAULT '{}',
    -- When the sweeper must look at this clock next: its warning or its breach. Null when
    -- nothing is left to notice.
    next_check_at    timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticket_id, kind, cycle)
);
-- The sweeper's queue: only clocks with something left to notice are in it.
CREATE INDEX sla_clocks_next_check_at_idx ON sla_clocks (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX sla_clocks_pending_actions_idx ON sla_clocks (id) WHERE pending_actions <> '{}';
-- "About to breach": running clocks by due time.
CREATE INDEX sla_clocks_due_at_idx ON sla_clocks (due_at) WHERE stopped_at IS NULL AND due_at IS NOT NULL;
-- Metrics count clocks that stopped, or breached while running, in a date range. The indexes
-- carry what the report reads, so that it can be answered from them alone.
CREATE INDEX sla_clocks_stopped_at_idx ON sla_clocks (kind, stopped_at)
    INCLUDE (stop_reason, business_seconds, calendar_seconds, breached_at, stopped_by, assignee_id, team_id, tier)
    WHERE stopped_at IS NOT NULL;
CREATE INDEX sla_clocks_breached_at_idx ON sla_clocks (kind, breached_at)
    INCLUDE (assignee_id, team_id, tier)
    WHERE breached_at IS NOT NULL AND stopped_at IS NULL;
-- The backlog: open tickets' resolution clocks, and the calendar their age counts in.
CREATE INDEX sla_clocks_open_resolution_idx ON sla_clocks (ticket_id)
    INCLUDE (calendar_id, started_at, started_cum_seconds, assignee_id, team_id, tier)
    WHERE kind = 'resolution' AND stopped_at IS NULL;
CREATE INDEX sla_clocks_followup_at_idx ON sla_clocks (followup_at)
    INCLUDE (followup_by, followup_business_seconds, followup_calendar_seconds, team_id, tier)
    WHERE followup_at IS NOT NULL;

-- What the metrics count, one narrow row per assignment, public reply, solve and reopening,
-- with the agent it counts for and the ticket's team and customer tier at the time. Written
-- with the event it mirrors, so a report reads this rather than the whole event log.
CREATE TABLE sla_activity (
    at        timestamptz NOT NULL,
    ticket_id bigint      NOT NULL REFERENCES tickets (id),
    kind      text        NOT NULL CHECK (kind IN ('assigned', 'reply', 'solved', 'reopened')),
    -- The new assignee, the author of the reply, who solved, or the assignee of a reopened ticket.
    user_id   bigint,
    team_id   bigint,
    tier      text
);
CREATE INDEX sla_activity_kind_at_idx ON sla_activity (kind, at) INCLUDE (ticket_id, user_id, team_id, tier);
CREATE INDEX sla_activity_ticket_id_idx ON sla_activity (ticket_id);

-- An existing installation's history, with today's teams and tiers.
INSERT INTO sla_activity (at, ticket_id, kind, user_id, team_id, tier)
SELECT e.created_at, e.ticket_id,
    CASE WHEN e.type = 'ticket.assignee_changed' THEN 'assigned'
        WHEN e.type = 'message.added' THEN 'reply'
        WHEN e.data->>'to' = 'solved' THEN 'solved'
        ELSE 'reopened' END,
    CASE WHEN e.type = 'ticket.assignee_changed' THEN (e.data->>'to')::bigint
        WHEN e.type = 'ticket.status_changed' AND e.data->>'from' = 'solved' THEN t.assignee_id
        ELSE e.actor_user_id END,
    t.team_id, coalesce(cs.tier, 'new')
FROM events e JOIN tickets t ON t.id = e.ticket_id LEFT JOIN customer_scores cs ON cs.customer_id = t.customer_id
WHERE (e.type = 'ticket.assignee_changed' AND e.data->>'to' IS NOT NULL)
    OR (e.type = 'message.added' AND e.data->>'kind' = 'reply' AND e.actor_kind = 'user')
    OR (e.type = 'ticket.status_changed' AND (e.data->>'to' = 'solved'
        OR (e.data->>'from' = 'solved' AND e.data->>'to' <> 'closed')))
ORDER BY e.id;

-- Tickets whose clocks must be evaluated again after a change of calendars or policies, taken in
-- batches by the sweeper. Open tickets of an existing installation get their first clocks so.
CREATE TABLE sla_recompute (
    ticket_id bigint      PRIMARY KEY REFERENCES tickets (id),
    queued_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sla_recompute (ticket_id)
    SELECT id FROM tickets WHERE status IN ('new', 'open', 'pending', 'on-hold');

-- Business time of each calendar as spans of instants with the business seconds before each, so
-- that SQL can tell the business time between two instants: at(t2) - at(t1). Written by the
-- application (which does the time-zone arithmetic) for 2000 to 2100.
CREATE TABLE sla_business_spans (
    calendar_id bigint           NOT NULL REFERENCES sla_calendars (id) ON DELETE CASCADE,
    starts_at   timestamptz      NOT NULL,
    ends_at     timestamptz      NOT NULL,
    cum_seconds double precision NOT NULL,
    PRIMARY KEY (calendar_id, starts_at)
);

-- Business seconds of calendar cal from the start of its spans up to t.
-- +goose StatementBegin
CREATE FUNCTION sla_business_at(cal bigint, t timestamptz) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((
        SELECT s.cum_seconds + extract(epoch FROM least(t, s.ends_at) - s.starts_at)::double precision
        FROM sla_business_spans s
        WHERE s.calendar_id = cal AND s.starts_at <= t
        ORDER BY s.starts_at DESC
        LIMIT 1), 0)
$$;
-- +goose StatementEnd

-- In-app notices for staff: SLA warnings and breaches. A notice held for business hours shows up
-- (and is emailed) at deliver_at.
CREATE TABLE notifications (
    id            bigserial PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id),
    ticket_id     bigint      REFERENCES tickets (id),
    type          text        NOT NULL,
    title         text        NOT NULL,
    body          text        NOT NULL DEFAULT '',
    data          jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    deliver_at    timestamptz NOT NULL DEFAULT now(),
    email_pending boolean     NOT NULL DEFAULT false,
    read_at       timestamptz
);
CREATE INDEX notifications_user_id_idx ON notifications (user_id, id);
CREATE INDEX notifications_email_idx ON notifications (deliver_at) WHERE email_pending;

-- A fresh installation has clocks from its first ticket: office hours in UTC and one policy per
-- priority, VIP customers first. Admins change them in the API.
INSERT INTO sla_calendars (name, timezone, hours) VALUES ('Office hours', 'UTC',
    '{"mon": [{"from": "09:00", "to": "17:00"}], "tue": [{"from": "09:00", "to": "17:00"}],
      "wed": [{"from": "09:00", "to": "17:00"}], "thu": [{"from": "09:00", "to": "17:00"}],
      "fri": [{"from": "09:00", "to": "17:00"}]}');
INSERT INTO sla_policies (name, position, priorities, tiers, calendar_id, targets, on_warning, on_breach)
SELECT p.name, p.position, p.priorities, p.tiers, c.id, p.targets::jsonb, p.on_warning::jsonb, p.on_breach::jsonb
FROM sla_calendars c, (VALUES
    ('VIP customers', 10, '{}'::smallint[], '{vip}'::text[],
     '{"first_response": {"minutes": 60, "business": true, "pause_on": []},
       "next_response": {"minutes": 120, "business": true, "pause_on": ["on-hold", "pending"]},
       "resolution": {"minutes": 960, "business": true, "pause_on": ["on-hold", "pending"]}}',
     '{"notify": true}', '{"notify": true, "raise_priority": true}'),
    ('Urgent', 20, '{4}', '{}',
     '{"first_response": {"minutes": 60, "business": true, "pause_on": []},
       "next_response": {"minutes": 120, "business": true, "pause_on": ["on-hold", "pending"]},
       "resolution": {"minutes": 480, "business": true, "pause_on": ["on-hold", "pending"]}}',
     '{"notify": true}', '{"notify": true}'),
    ('High', 30, '{3}', '{}',
     '{"first_response": {"minutes": 240, "business": true, "pause_on": []},
       "next_response": {"minutes": 240, "business": true, "pause_on": ["on-hold", "pending"]},
       "resolution": {"minutes": 1440, "business": true, "pause_on": ["on-hold", "pending"]}}',
     '{"notify": true}', '{"notify": true}'),
    ('Normal and low', 40, '{}', '{}',
     '{"first_response": {"minutes": 480, "business": true, "pause_on": []},
       "next_response": {"minutes": 480, "business": true, "pause_on": ["on-hold", "pending"]},
       "resolution": {"minutes": 2400, "business": true, "pause_on": ["on-hold", "pending"]}}',
     '{"notify": true}', '{"notify": true}')
) AS p(name, position, priorities, tiers, targets, on_warning, on_breach)
WHERE c.name = 'Office hours';

-- +goose Down
SELECT 1;
