-- Who has a ticket open in the workspace, and whether they are writing a reply, so that two
-- agents do not answer the same customer at once. Every node reads and writes the same rows.
-- UNLOGGED: presence is seconds old and worthless after a crash, so it skips the WAL; rows
-- older than a minute are ignored by the queries and pruned as tickets are visited.

-- +goose Up

CREATE UNLOGGED TABLE ticket_presence (
    ticket_id  bigint      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_seen  timestamptz NOT NULL DEFAULT now(),
    -- When the user last typed in the reply editor; NULL once they sent it or never typed.
    typed_at   timestamptz,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_presence_last_seen_idx ON ticket_presence (last_seen);

-- +goose Down
SELECT 1;
