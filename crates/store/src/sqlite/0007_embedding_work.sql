-- The embedding backlog as shared work: each row a stretch of the change feed, seq in
-- (after_seq, upto_seq], that one process claimed (claimed_by: its key) and embeds for a model.
-- Done stretches stay until the model's cursor has passed every stretch before them.
CREATE TABLE embedding_work (
    model      TEXT NOT NULL,
    after_seq  INTEGER NOT NULL,
    upto_seq   INTEGER NOT NULL,
    claimed_by INTEGER,
    done       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (model, after_seq)
);
