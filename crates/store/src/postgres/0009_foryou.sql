-- For you: what a reader told the ranking besides their library, and each reader's model
-- (see sqlite/0013_foryou.sql).
CREATE TABLE foryou_marks (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    paper_id   TEXT COLLATE "C" NOT NULL REFERENCES papers (id),
    kind       TEXT COLLATE "C" NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, paper_id)
);
CREATE TABLE foryou_readers (
    account_id  BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    reset_at    TEXT,
    fingerprint TEXT,
    model       TEXT,
    trained_at  TEXT,
    feed_hash   TEXT COLLATE "C" UNIQUE
);
