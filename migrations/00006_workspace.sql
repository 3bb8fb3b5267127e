-- Staff sign-in for the web workspace: sessions, password resets, and each user's language.

-- +goose Up

-- '' follows the browser's language.
ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT '' CHECK (locale IN ('', 'en', 'es'));

-- A session is a random secret in a cookie; only its SHA-256 is stored, as with API tokens, so a
-- copy of the table signs nobody in.
CREATE TABLE sessions (
    id_hash      bytea       PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE password_resets (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user_id_idx ON password_resets (user_id);

-- +goose Down
SELECT 1;
