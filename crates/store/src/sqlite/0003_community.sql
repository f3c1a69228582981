-- The community: accounts (signed in by emailed links), sessions, votes, comments, moderation.
-- Secrets (sign-in links, session cookies) are stored as SHA-256 hashes, never as sent.
CREATE TABLE accounts (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    is_admin     INTEGER NOT NULL DEFAULT 0,
    blocked      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

CREATE TABLE login_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    email      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) WITHOUT ROWID;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_account ON sessions (account_id);

-- One vote per account per paper. papers.local_upvotes is kept equal to the count of these rows
-- by the same transaction that adds or removes one.
CREATE TABLE votes (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    paper_id   TEXT NOT NULL REFERENCES papers (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (paper_id, account_id)
) WITHOUT ROWID;
CREATE INDEX votes_by_time ON votes (created_at);
CREATE INDEX votes_by_account ON votes (account_id, paper_id);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    paper_id   TEXT NOT NULL REFERENCES papers (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    edited_at  TEXT,
    hidden     INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX comments_by_paper ON comments (paper_id, id);

-- Comments shown (not hidden, not deleted, author not blocked): kept by the same transactions.
ALTER TABLE papers ADD COLUMN local_comments INTEGER NOT NULL DEFAULT 0;

-- What moderators did, newest last.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
