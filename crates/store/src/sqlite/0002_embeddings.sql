-- Sentence embeddings of each paper's title and abstract, per model. `text_hash` says which text
-- was embedded, so a paper is embedded again only when its text (or the model) changes.
CREATE TABLE embeddings (
    model     TEXT NOT NULL,
    paper_id  TEXT NOT NULL REFERENCES papers (id),
    text_hash INTEGER NOT NULL,
    vector    BLOB NOT NULL,
    PRIMARY KEY (model, paper_id)
) WITHOUT ROWID;

-- Small named values: how far each background worker has followed the change feed.
CREATE TABLE cursors (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
