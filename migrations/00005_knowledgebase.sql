-- The knowledge base: articles and their revisions, the change feed that keeps every node's
-- search index current, and what customers did with the suggestions the support form showed them.

-- +goose Up

-- An article as its editors last saved it. body is the Markdown they wrote; body_html is what
-- pages show (rendered and sanitized once, at save time); body_text is what search indexes.
CREATE TABLE kb_articles (
    id               bigserial PRIMARY KEY,
    title            text        NOT NULL,
    body             text        NOT NULL,
    body_html        text        NOT NULL,
    body_text        text        NOT NULL,
    category         text        NOT NULL DEFAULT '',
    tags             text[]      NOT NULL DEFAULT '{}',
    locale           text        NOT NULL CHECK (locale IN ('en', 'es')),
    state            text        NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published', 'archived')),
    visibility       text        NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'internal')),
    author_id        bigint      NOT NULL REFERENCES users (id),
    -- The solved ticket this article was promoted from, if any.
    source_ticket_id bigint      REFERENCES tickets (id),
    revision         integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz
);
-- The public help center lists published public articles by locale and category.
CREATE INDEX kb_articles_public_idx ON kb_articles (locale, category, lower(title), id)
    WHERE state = 'published' AND visibility = 'public';
-- Staff list articles newest first, usually filtered by state.
CREATE INDEX kb_articles_state_id_idx ON kb_articles (state, id);
CREATE INDEX kb_articles_source_ticket_id_idx ON kb_articles (source_ticket_id) WHERE source_ticket_id IS NOT NULL;

-- Every saved version of an article, whole, so that any version can be read or restored.
CREATE TABLE kb_article_revisions (
    article_id bigint      NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    revision   integer     NOT NULL,
    title      text        NOT NULL,
    body       text        NOT NULL,
    category   text        NOT NULL,
    tags       text[]      NOT NULL,
    locale     text        NOT NULL,
    state      text        NOT NULL,
    visibility text        NOT NULL,
    editor_id  bigint      NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, revision)
);

-- The change feed: one row per document that a committed transaction changed. The search index is
-- derived from PostgreSQL, and every serve process reads this feed from its own position to keep
-- its local index current. Rows carry the id of the transaction that wrote them: sequence values
-- are taken before commit, so ids alone can commit out of order, but once no transaction older
-- than txid is running, no row below it can still appear. Readers order by (txid, id) and only
-- move their saved position past rows older than the oldest running transaction.
CREATE TABLE kb_feed (
    id         bigserial   PRIMARY KEY,
    txid       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    kind       text        NOT NULL CHECK (kind IN ('article', 'ticket', 'rebuild')),
    doc_id     bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_feed_position_idx ON kb_feed (txid, id);
CREATE INDEX kb_feed_created_at_idx ON kb_feed (created_at);

-- How far old feed rows have been deleted. A node whose index stopped before this point cannot
-- catch up from the feed and rebuilds its index instead.
CREATE TABLE kb_feed_pruned (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    txid      xid8    NOT NULL,
    id        bigint  NOT NULL
);

-- Deflection: the support form's script makes a random id per visit and reports each suggested
-- article the visitor opens; the form carries the same id when it is sent. A visit with an opened
-- suggestion and no submission is a ticket the knowledge base saved.
CREATE TABLE kb_suggestion_opens (
    session_id text        NOT NULL,
    -- No foreign key: the history of a deleted article still counts in the report.
    article_id bigint      NOT NULL,
    opened_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, article_id)
);
CREATE INDEX kb_suggestion_opens_opened_at_idx ON kb_suggestion_opens (opened_at);

CREATE TABLE kb_form_submissions (
    session_id   text        PRIMARY KEY,
    ticket_id    bigint      NOT NULL REFERENCES tickets (id),
    submitted_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
SELECT 1;
