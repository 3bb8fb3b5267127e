-- The foundation: staff, customers and their identities, tickets, messages, attachments and the
-- append-only event log.

-- +goose Up

-- Staff: everybody who works tickets. The role decides what they may do.
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- API tokens are random and high-entropy, so a SHA-256 of the token is enough to store; a slow
-- password hash would cost a bcrypt per request for no gain.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id),
    name         text        NOT NULL,
    token_hash   bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE teams (
    id         bigserial PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));

CREATE TABLE team_members (
    team_id bigint NOT NULL REFERENCES teams (id),
    user_id bigint NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id_idx ON team_members (user_id);

-- One record per person or company we serve, whatever channel they write from.
CREATE TABLE customers (
    id           bigserial PRIMARY KEY,
    name         text        NOT NULL DEFAULT '',
    kind         text        NOT NULL DEFAULT 'customer'
                 CHECK (kind IN ('customer', 'prospect', 'partner', 'employee', 'supplier')),
    organization text        NOT NULL DEFAULT '',
    external_id  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_external_id_key ON customers (external_id) WHERE external_id IS NOT NULL;

-- An address or phone number belongs to exactly one customer: the unique key is what intake
-- resolves an incoming message against.
CREATE TABLE customer_identities (
    id          bigserial PRIMARY KEY,
    customer_id bigint      NOT NULL REFERENCES customers (id),
    kind        text        NOT NULL CHECK (kind IN ('email', 'phone')),
    value       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, value)
);
CREATE INDEX customer_identities_customer_id_idx ON customer_identities (customer_id);

-- Urgency is what the customer asked for, priority what we work by; both 1 (low) .. 4 (urgent) so
-- that queues sort on an integer.
CREATE TABLE tickets (
    id          bigserial PRIMARY KEY,
    subject     text        NOT NULL,
    status      text        NOT NULL DEFAULT 'new'
                CHECK (status IN ('new', 'open', 'pending', 'on-hold', 'solved', 'closed')),
    urgency     smallint    NOT NULL CHECK (urgency BETWEEN 1 AND 4),
    priority    smallint    NOT NULL CHECK (priority BETWEEN 1 AND 4),
    channel     text        NOT NULL CHECK (channel IN ('web', 'email', 'api', 'phone')),
    customer_id bigint      NOT NULL REFERENCES customers (id),
    assignee_id bigint      REFERENCES users (id),
    team_id     bigint      REFERENCES teams (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    solved_at   timestamptz,
    closed_at   timestamptz
);
-- Reference numbers start at 1000 so that the first customers don't read "#1".
ALTER SEQUENCE tickets_id_seq RESTART WITH 1000;
-- Listing is newest first, keyset-paginated on id, filtered by one of these columns.
CREATE INDEX tickets_status_id_idx ON tickets (status, id);
CREATE INDEX tickets_assignee_id_idx ON tickets (assignee_id, status, id);
CREATE INDEX tickets_team_id_idx ON tickets (team_id, status, id);
CREATE INDEX tickets_customer_id_idx ON tickets (customer_id, id);
CREATE INDEX tickets_priority_id_idx ON tickets (priority, id);
-- The auto-close sweep takes solved tickets in the order they were solved.
CREATE INDEX tickets_solved_at_idx ON tickets (solved_at) WHERE status = 'solved';

CREATE TABLE messages (
    id                 bigserial PRIMARY KEY,
    ticket_id          bigint      NOT NULL REFERENCES tickets (id),
    kind               text        NOT NULL CHECK (kind IN ('inbound', 'reply', 'note')),
    author_user_id     bigint      REFERENCES users (id),
    author_customer_id bigint      REFERENCES customers (id),
    body_text          text        NOT NULL,
    body_html          text        NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- Customers write inbound messages; staff write replies and notes.
    CHECK ((kind = 'inbound' AND author_customer_id IS NOT NULL)
        OR (kind <> 'inbound' AND author_user_id IS NOT NULL))
);
CREATE INDEX messages_ticket_id_idx ON messages (ticket_id, id);

-- Attachment contents live in the database, addressed by their SHA-256, so that every node of a
-- multi-node install reads the same bytes and a file sent twice is stored once.
CREATE TABLE blobs (
    sha256     bytea       PRIMARY KEY,
    size       bigint      NOT NULL,
    data       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Most attachments (images, PDFs, archives) are already compressed.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE attachments (
    id           bigserial PRIMARY KEY,
    message_id   bigint      NOT NULL REFERENCES messages (id),
    blob_sha256  bytea       NOT NULL REFERENCES blobs (sha256),
    filename     text        NOT NULL,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    content_id   text        NOT NULL DEFAULT '',
    inline       boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message_id_idx ON attachments (message_id);
CREATE INDEX attachments_blob_sha256_idx ON attachments (blob_sha256);

-- Who changed what, when. Rows are never updated or deleted; the trigger makes that a rule of the
-- database rather than a habit of the code.
CREATE TABLE events (
    id                bigserial PRIMARY KEY,
    created_at        timestamptz NOT NULL DEFAULT now(),
    actor_kind        text        NOT NULL CHECK (actor_kind IN ('user', 'customer', 'system')),
    actor_user_id     bigint      REFERENCES users (id),
    actor_customer_id bigint      REFERENCES customers (id),
    ticket_id         bigint      REFERENCES tickets (id),
    customer_id       bigint      REFERENCES customers (id),
    type              text        NOT NULL,
    data              jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ticket_id_idx ON events (ticket_id, id) WHERE ticket_id IS NOT NULL;
CREATE INDEX events_customer_id_idx ON events (customer_id, id) WHERE customer_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Short-lived HTTP state shared by every node: CSRF tokens and rate-limit counters. The layout is
-- the one github.com/gofiber/storage/postgres expects. Unlogged: losing it in a crash costs
-- a visitor one retry, and skipping the WAL keeps the public form cheap.
CREATE UNLOGGED TABLE http_state (
    k varchar(64) PRIMARY KEY NOT NULL DEFAULT '',
    v bytea       NOT NULL,
    e bigint      NOT NULL DEFAULT 0
);
CREATE INDEX http_state_e_idx ON http_state (e);

-- Secrets the installation generates for itself (signing keys), shared by every node.
CREATE TABLE app_secrets (
    name       text PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
-- Forward only: restoring a backup is the way back.
SELECT 1;
