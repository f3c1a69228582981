-- Papers found by DOI (library imports match BibTeX and RIS entries by it), lowercased as
-- core::bib reads them. Rows already stored are filled by the same backfill as `announced`.
ALTER TABLE papers ADD COLUMN doi TEXT COLLATE "C";
CREATE INDEX papers_by_doi ON papers (doi) WHERE doi IS NOT NULL;
INSERT INTO cursors (name, value) SELECT 'announced backfill', 0 WHERE EXISTS (SELECT 1 FROM papers)
    ON CONFLICT (name) DO UPDATE SET value = 0;
