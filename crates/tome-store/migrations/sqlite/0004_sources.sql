-- Tome schema, version 4 (SQLite): docs-as-code sources and update jobs.
--
-- `kb_sources` holds at most one source per knowledge base (`kb_sources_kb_key`); `seq` is the
-- row key as in every other table (`tome copy` reads tables in key order). The token and webhook
-- secret are stored as given: the job runner needs the token itself to fetch, and the webhook
-- needs the secret itself to compute the HMAC. `last_polled_at` is Unix seconds.
--
-- `source_items` maps each file of a synced knowledge base to the article or FAQ made from it
-- (one row per part of a split file); it goes with its source.
--
-- `update_jobs` is the persisted queue: `queued` → `in_progress` → `success` | `failure`. A node
-- that claims a job holds a lease (`lease_owner`, `lease_until` in Unix milliseconds); a job whose
-- lease ran out is claimed again by another node. `logs` is a JSON array of lines (a list of
-- strings, as `tags`), `commit_info` the applied commit as JSON. Job timestamps are ISO 8601 with
-- milliseconds (the docs-platform convention), not the wire format of the other tables. Jobs of a
-- deleted knowledge base go with it.

CREATE TABLE kb_sources (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    kb_id                 TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    project_id            TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind                  TEXT NOT NULL CHECK (kind IN ('git', 'folder')),
    url                   TEXT NOT NULL,
    branch                TEXT,
    path                  TEXT NOT NULL DEFAULT '',
    format                TEXT NOT NULL CHECK (format IN ('auto', 'tome', 'mintlify')),
    token                 TEXT,
    webhook_secret        TEXT,
    poll_interval_minutes INTEGER,
    last_commit           TEXT,
    last_synced_at        TEXT,
    last_polled_at        INTEGER,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    CONSTRAINT kb_sources_kb_key UNIQUE (kb_id)
);
CREATE INDEX kb_sources_project ON kb_sources (project_id);

CREATE TABLE source_items (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kb_id      TEXT NOT NULL REFERENCES kb_sources (kb_id) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    entity     TEXT NOT NULL CHECK (entity IN ('article', 'faq')),
    entity_id  TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    CONSTRAINT source_items_path_key UNIQUE (kb_id, path)
);

CREATE TABLE update_jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kb_id       TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    kb_slug     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'in_progress', 'success', 'failure')),
    trigger     TEXT NOT NULL CHECK (trigger IN ('api', 'dashboard', 'github', 'internal')),
    summary     TEXT NOT NULL DEFAULT '',
    logs        TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    ended_at    TEXT,
    author      TEXT,
    commit_info TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER
);
CREATE INDEX update_jobs_project ON update_jobs (project_id, seq);
CREATE INDEX update_jobs_kb ON update_jobs (kb_id, status);
CREATE INDEX update_jobs_status ON update_jobs (status, seq);
