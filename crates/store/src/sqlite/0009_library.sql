-- A reader's library: the papers each account saved, and personal API tokens (stored as SHA-256
-- of the secret, as sessions are).
CREATE TABLE saves (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    paper_id   TEXT NOT NULL REFERENCES papers (id),
    saved_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, paper_id)
) WITHOUT ROWID;
CREATE INDEX saves_by_time ON saves (account_id, saved_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX api_tokens_by_account ON api_tokens (account_id);
