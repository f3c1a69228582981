-- Collections: an account's named, ordered lists of papers, public or private, each item with an
-- optional note. `key` is the slug's part after the owner's name (title words and 24 hex digits,
-- as hf.co makes them); moderators may hide a public collection.
CREATE TABLE collections (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key         TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    private     INTEGER NOT NULL DEFAULT 0,
    theme       TEXT NOT NULL DEFAULT 'orange',
    position    INTEGER NOT NULL DEFAULT 0,
    hidden      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX collections_by_account ON collections (account_id, position);

CREATE TABLE collection_items (
    id            INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    paper_id      TEXT NOT NULL REFERENCES papers (id),
    position      INTEGER NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    added_at      TEXT NOT NULL,
    UNIQUE (collection_id, paper_id)
);
CREATE INDEX collection_items_by_position ON collection_items (collection_id, position);
CREATE INDEX collection_items_by_paper ON collection_items (paper_id);
