-- Papers are kept whole as JSON (`doc`, a paperboy_core::Paper); the columns beside it are the ones
-- queries filter or sort on. `seq` orders every change: derived indexes follow it.
CREATE TABLE papers (
    id            TEXT PRIMARY KEY NOT NULL,
    seq           INTEGER NOT NULL,
    sort_date     TEXT NOT NULL,
    hidden        INTEGER NOT NULL DEFAULT 0,
    local_upvotes INTEGER NOT NULL DEFAULT 0,
    doc           TEXT NOT NULL
);
CREATE UNIQUE INDEX papers_by_seq ON papers (seq);
CREATE INDEX papers_by_date ON papers (sort_date, id);

CREATE TABLE daily_entries (
    day       TEXT NOT NULL,
    paper_id  TEXT NOT NULL REFERENCES papers (id),
    position  INTEGER NOT NULL,
    submitter TEXT,
    doc       TEXT NOT NULL,
    PRIMARY KEY (day, paper_id)
) WITHOUT ROWID;
CREATE INDEX daily_entries_by_paper ON daily_entries (paper_id, day);
