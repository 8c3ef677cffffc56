-- Tome schema, version 2 (SQLite): the change feed.
--
-- Every write appends one row per entity it created, changed or removed, in the same transaction
-- as the write, so the feed and the data never disagree. Derived state (the search index, and
-- later the caches of other nodes) follows the feed by `seq`. SQLite's single write lock makes
-- `seq` order the commit order. No foreign keys: a row outlives the entity it names.

CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    kb_id      TEXT,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX changes_created ON changes (created_at);

-- One row: the feed's identity (so an index built from another database is recognised) and the
-- highest `seq` pruned by retention (a follower behind it cannot replay and must rebuild).
CREATE TABLE change_feed (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    feed_id        TEXT NOT NULL,
    pruned_through INTEGER NOT NULL DEFAULT 0
);
INSERT INTO change_feed (id, feed_id) VALUES (1, lower(hex(randomblob(16))));
