-- The email channel: the mailboxes we read and send from, every email we ingested (for dedupe and
-- threading), the quarantine of mail we could not take in, the outbox of mail to send, and the
-- addresses that bounce.

-- +goose Up

-- A support address: the IMAP folder we read it from and the SMTP server we send as it. Passwords
-- are sealed with AES-GCM under HELPDESK_ENCRYPTION_KEY (key id, nonce, ciphertext), so a copy of
-- the database alone does not give the mail accounts away.
CREATE TABLE mailboxes (
    id              bigserial PRIMARY KEY,
    name            text        NOT NULL,
    address         text        NOT NULL,
    imap_host       text        NOT NULL,
    imap_port       integer     NOT NULL CHECK (imap_port BETWEEN 1 AND 65535),
    imap_tls        text        NOT NULL CHECK (imap_tls IN ('none', 'starttls', 'tls')),
    imap_username   text        NOT NULL,
    imap_password   bytea       NOT NULL,
    folder          text        NOT NULL DEFAULT 'INBOX',
    -- What happens on the server to a message once it is committed here.
    after_import    text        NOT NULL DEFAULT 'seen' CHECK (after_import IN ('seen', 'move', 'none')),
    move_to         text        NOT NULL DEFAULT '',
    smtp_host       text        NOT NULL,
    smtp_port       integer     NOT NULL CHECK (smtp_port BETWEEN 1 AND 65535),
    smtp_tls        text        NOT NULL CHECK (smtp_tls IN ('none', 'starttls', 'tls')),
    smtp_username   text        NOT NULL DEFAULT '',
    smtp_password   bytea,
    team_id         bigint      REFERENCES teams (id),
    enabled         boolean     NOT NULL DEFAULT true,
    -- The checkpoint: every message of the folder up to last_uid under uid_validity is committed
    -- here (as a ticket, a message, a duplicate skipped, or in quarantine).
    uid_validity    bigint      NOT NULL DEFAULT 0,
    last_uid        bigint      NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    last_checked_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (after_import <> 'move' OR move_to <> '')
);
CREATE UNIQUE INDEX mailboxes_name_key ON mailboxes (lower(name));
CREATE UNIQUE INDEX mailboxes_address_key ON mailboxes (lower(address));

-- Every email taken in. The unique key on (mailbox, dedupe_key) is what makes ingestion exactly
-- once: dedupe_key is the Message-ID, or "sha256:" and the hash of the raw message when it has
-- none. The row is written in the transaction that stores the ticket or message.
CREATE TABLE email_messages (
    id                bigserial PRIMARY KEY,
    mailbox_id        bigint      NOT NULL REFERENCES mailboxes (id),
    dedupe_key        text        NOT NULL,
    message_id        text        NOT NULL DEFAULT '',
    ticket_id         bigint      REFERENCES tickets (id),
    ticket_message_id bigint      REFERENCES messages (id),
    in_reply_to       text        NOT NULL DEFAULT '',
    "references"      text[]      NOT NULL DEFAULT '{}',
    from_address      text        NOT NULL DEFAULT '',
    from_name         text        NOT NULL DEFAULT '',
    to_addresses      text[]      NOT NULL DEFAULT '{}',
    cc_addresses      text[]      NOT NULL DEFAULT '{}',
    subject           text        NOT NULL DEFAULT '',
    -- normal, auto-reply, bulk or bounce: only normal mail is acknowledged.
    class             text        NOT NULL DEFAULT 'normal' CHECK (class IN ('normal', 'auto-reply', 'bulk', 'bounce')),
    -- How it was threaded: new, header, token, or bounce (attached to the mail that bounced).
    threaded_by       text        NOT NULL DEFAULT 'new',
    -- The quoted history and signature split off the new text, kept so that nothing is lost.
    quoted_text       text        NOT NULL DEFAULT '',
    uid_validity      bigint      NOT NULL DEFAULT 0,
    uid               bigint      NOT NULL DEFAULT 0,
    size              bigint      NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (mailbox_id, dedupe_key)
);
-- Threading looks replies up by the Message-IDs they cite.
CREATE INDEX email_messages_message_id_idx ON email_messages (message_id) WHERE message_id <> '';
CREATE INDEX email_messages_ticket_id_idx ON email_messages (ticket_id, id);
CREATE INDEX email_messages_ticket_message_id_idx ON email_messages (ticket_message_id) WHERE ticket_message_id IS NOT NULL;

-- Mail that could not be taken in (too large, unparseable, refused by the desk), kept raw with the
-- reason so that an admin can download it and process it again. Never blocks the mailbox.
CREATE TABLE email_quarantine (
    id             bigserial PRIMARY KEY,
    mailbox_id     bigint      NOT NULL REFERENCES mailboxes (id),
    raw_sha256     bytea       NOT NULL,
    raw            bytea       NOT NULL,
    size           bigint      NOT NULL,
    reason         text        NOT NULL CHECK (reason IN ('too-large', 'unparseable', 'refused')),
    error          text        NOT NULL,
    subject        text        NOT NULL DEFAULT '',
    from_address   text        NOT NULL DEFAULT '',
    uid_validity   bigint      NOT NULL DEFAULT 0,
    uid            bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    attempts       integer     NOT NULL DEFAULT 0,
    resolved_at    timestamptz,
    ticket_id      bigint      REFERENCES tickets (id),
    UNIQUE (mailbox_id, raw_sha256)
);
ALTER TABLE email_quarantine ALTER COLUMN raw SET STORAGE EXTERNAL;
CREATE INDEX email_quarantine_open_idx ON email_quarantine (id) WHERE resolved_at IS NULL;

-- Mail to send: written in the transaction of what it reports (an agent's reply, a new ticket,
-- an escalation), sent by a worker that takes rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('reply', 'ack', 'notice')),
    mailbox_id      bigint      REFERENCES mailboxes (id),
    ticket_id       bigint      REFERENCES tickets (id),
    ticket_message_id bigint    REFERENCES messages (id),
    -- Our Message-ID header, unique so that a reply to it threads to exactly one ticket.
    header_message_id text      NOT NULL,
    to_addresses    text[]      NOT NULL,
    cc_addresses    text[]      NOT NULL DEFAULT '{}',
    subject         text        NOT NULL,
    body_text       text        NOT NULL,
    body_html       text        NOT NULL DEFAULT '',
    headers         jsonb       NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE UNIQUE INDEX outbox_header_message_id_key ON outbox (header_message_id);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX outbox_ticket_message_id_idx ON outbox (ticket_message_id) WHERE ticket_message_id IS NOT NULL;
CREATE INDEX outbox_ticket_id_idx ON outbox (ticket_id) WHERE ticket_id IS NOT NULL;
-- The acknowledgement limit counts recent acknowledgements per address.
CREATE INDEX outbox_ack_idx ON outbox ((to_addresses[1]), created_at) WHERE kind = 'ack';

-- Addresses that bounced: no acknowledgement goes to them until they write to us again.
CREATE TABLE email_undeliverable (
    address    text        PRIMARY KEY,
    reason     text        NOT NULL,
    bounced_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
-- Forward only: restoring a backup is the way back.
SELECT 1;
