-- Tome schema, version 6 (sqlite): dashboard sign-in sessions.
--
-- A session is what signing in to /dashboard with an admin key makes. The browser holds a random
-- 256-bit ID in a cookie; only its SHA-256 (hex) is stored here, so a copy of the database signs
-- nobody in. A session belongs to the key it was opened with: a key revoked (`revoked_at` set)
-- ends its sessions at their next request, on every node, because every request reads the key
-- with the session; a deleted key or project takes its sessions with it.
--
-- Times are Unix seconds. A session ends 12 hours after `last_seen_at` (idle) or 7 days after
-- `created_at` (absolute), whichever comes first; `last_seen_at` is refreshed at most once a
-- minute, and expired rows are pruned in the background.

CREATE TABLE dashboard_sessions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id_hash      TEXT NOT NULL UNIQUE,
    key_id       TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id);
CREATE INDEX dashboard_sessions_seen ON dashboard_sessions (last_seen_at);
CREATE INDEX dashboard_sessions_created ON dashboard_sessions (created_at);
