-- Live sync: one row per source (`arxiv-oai`, `hf-daily`). `state` is the harvester's resume point
-- (JSON only the harvester reads: last datestamp, next day, pending resumption token); it is
-- written in the same transaction as the records it brought, so a killed harvest resumes exactly.
CREATE TABLE harvests (
    source        TEXT PRIMARY KEY NOT NULL,
    state         TEXT NOT NULL DEFAULT '{}',
    -- Papers new or changed by this source, all time (moved with the records, like `state`).
    papers_total  INTEGER NOT NULL DEFAULT 0,
    -- Papers new or changed by the pass under way (or the last one, once it ended).
    run_papers    INTEGER NOT NULL DEFAULT 0,
    run_started   TEXT,
    last_success  TEXT,
    last_papers   INTEGER,
    last_error    TEXT,
    last_error_at TEXT
);

-- Hidden papers are few: counting the visible ones is all rows minus these.
CREATE INDEX papers_hidden ON papers (id) WHERE hidden = 1;
