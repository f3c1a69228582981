-- What readers follow: authors (by name as core::names::normalise writes it, with the name as
-- they first saw it) and arXiv categories.
CREATE TABLE follows (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    shown      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, key)
) WITHOUT ROWID;
