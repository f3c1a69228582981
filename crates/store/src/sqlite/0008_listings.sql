-- arXiv's lists by category and day. `papers.announced` is the day of a paper's first "new" list
-- (Paper::announced_day, YYYY-MM-DD); `paper_categories` has a row per category of a paper with
-- that day, `cross_list` false for its primary category. Rows of papers already stored are
-- filled by the store when it opens (`papers::backfill_announced`), which needs Rust.
ALTER TABLE papers ADD COLUMN announced TEXT;
CREATE INDEX papers_by_announced ON papers (announced) WHERE announced IS NOT NULL;
CREATE TABLE paper_categories (
    category   TEXT NOT NULL,
    announced  TEXT NOT NULL,
    paper_id   TEXT NOT NULL REFERENCES papers (id),
    cross_list INTEGER NOT NULL,
    PRIMARY KEY (category, announced, paper_id)
) WITHOUT ROWID;
CREATE INDEX paper_categories_by_paper ON paper_categories (paper_id);
-- A database with papers gets the backfill's cursor; it is deleted when the backfill is done.
INSERT INTO cursors (name, value) SELECT 'announced backfill', 0 WHERE EXISTS (SELECT 1 FROM papers);
