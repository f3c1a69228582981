-- The embedding backlog as shared work: each row a stretch of the change feed, seq in
-- (after_seq, upto_seq], that one node claimed (claimed_by: its key, whose liveness lock says
-- whether it is still there) and embeds for a model. Done stretches stay until the model's
-- cursor has passed every stretch before them.
CREATE TABLE embedding_work (
    model      TEXT COLLATE "C" NOT NULL,
    after_seq  BIGINT NOT NULL,
    upto_seq   BIGINT NOT NULL,
    claimed_by BIGINT,
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (model, after_seq)
);
