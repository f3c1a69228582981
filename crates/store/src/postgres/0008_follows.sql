-- What readers follow: authors (by name as core::names::normalise writes it, with the name as
-- they first saw it) and arXiv categories.
CREATE TABLE follows (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    shown      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, key)
);
