-- Email digests: subscriptions (double opt-in), what each digest period gave each subscriber (the
-- outbox: recorded first, sent after), and which papers a subscriber has been sent.
CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    account_id     INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    frequency      TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    -- {"categories": [...], "authors": [...], "searches": [...]}
    topics         TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL,
    confirm_sent_at TEXT,
    confirmed_at   TEXT,
    unsubscribed_at TEXT,
    bouncing       INTEGER NOT NULL DEFAULT 0,
    -- The period of the last digest recorded for this subscriber ("2026-11-27" or "2026-W48").
    last_period    TEXT
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    period          TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    -- The composed message (headers and both parts), so a retry sends exactly the same mail.
    message         BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (subscription_id, period)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE digest_papers (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    paper_id        TEXT NOT NULL,
    period          TEXT NOT NULL,
    PRIMARY KEY (subscription_id, paper_id)
) WITHOUT ROWID;

-- Server-wide secrets and small state (the key that signs subscription links, the last run).
CREATE TABLE settings_kv (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
