-- For you: what a reader told the ranking besides their library, and each reader's model.
-- `foryou_marks`: papers marked 'not-interested' or 'fewer' (fewer like this), and library papers
-- the reader took out of the ranking ('ignored'); one mark per paper.
-- `foryou_readers`: the model (JSON, search::foryou::Profile) with the fingerprint of the signals
-- it was trained on, the time of the last reset (votes, saves and collection items before it are
-- not signals), and the SHA-256 of the private feed's secret.
CREATE TABLE foryou_marks (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    paper_id   TEXT NOT NULL REFERENCES papers (id),
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, paper_id)
) WITHOUT ROWID;
CREATE TABLE foryou_readers (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    reset_at    TEXT,
    fingerprint TEXT,
    model       TEXT,
    trained_at  TEXT,
    feed_hash   TEXT UNIQUE
);
