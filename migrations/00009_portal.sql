-- The customer portal: links we email to customers, and the sessions those links start.

-- +goose Up

-- A link is a random secret in a URL; only its SHA-256 is stored, as with staff sessions, so a
-- copy of the table opens nothing. A link lets its customer (not just one ticket) into the
-- portal until it expires; ticket_id is only where it lands. Rows live in the database rather
-- than in a signed token so that every node accepts the same links and a link can be revoked
-- (delete the row). purpose tells the links we put in our mails from those a customer asked for
-- at /portal, which are limited per hour.
CREATE TABLE portal_links (
    token_hash  bytea       PRIMARY KEY,
    customer_id bigint      NOT NULL REFERENCES customers (id),
    ticket_id   bigint      REFERENCES tickets (id),
    purpose     text        NOT NULL CHECK (purpose IN ('mail', 'request')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX portal_links_customer_id_idx ON portal_links (customer_id, created_at);
CREATE INDEX portal_links_expires_at_idx ON portal_links (expires_at);

-- A portal session is, like a staff session, a random secret in a cookie stored as its hash.
-- It never outlives the link that started it.
CREATE TABLE portal_sessions (
    id_hash     bytea       PRIMARY KEY,
    customer_id bigint      NOT NULL REFERENCES customers (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX portal_sessions_customer_id_idx ON portal_sessions (customer_id);
CREATE INDEX portal_sessions_expires_at_idx ON portal_sessions (expires_at);

-- +goose Down
SELECT 1;
