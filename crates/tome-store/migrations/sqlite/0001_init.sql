-- Tome schema, version 1 (SQLite).
--
-- Every table has `seq`, a monotonically increasing integer that gives list pagination a stable
-- tie-breaker; entity IDs are the random public IDs. Content tables carry `project_id` so every
-- query can be scoped to the caller's project without a join. Timestamps are UTC text in the wire
-- format `YYYY-MM-DD HH:MM:SS`, which sorts chronologically.

CREATE TABLE instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    secret      BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE projects (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    allowed_domains TEXT NOT NULL DEFAULT '[]',
    credit_cap      INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE api_keys (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('admin', 'assistant')),
    key_hash     TEXT NOT NULL UNIQUE,
    key_prefix   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_keys_project ON api_keys (project_id, seq);

CREATE TABLE knowledge_bases (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    slug           TEXT NOT NULL,
    description    TEXT,
    is_public      INTEGER NOT NULL DEFAULT 0,
    theme          TEXT NOT NULL DEFAULT 'minimal',
    theme_settings TEXT,
    logo_path      TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CONSTRAINT knowledge_bases_slug_key UNIQUE (project_id, slug)
);

CREATE TABLE site_keys (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kb_id       TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    key_hash    TEXT NOT NULL UNIQUE,
    key_prefix  TEXT NOT NULL,
    rate_limit  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX site_keys_kb ON site_keys (kb_id, revoked_at);

CREATE TABLE categories (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kb_id       TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT,
    icon        TEXT,
    sort_order  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX categories_kb ON categories (kb_id, sort_order, seq);

CREATE TABLE sections (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kb_id       TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    category_id TEXT NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT,
    sort_order  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX sections_kb ON sections (kb_id, sort_order, seq);
CREATE INDEX sections_category ON sections (category_id);

CREATE TABLE articles (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kb_id            TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    category_id      TEXT NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    section_id       TEXT REFERENCES sections (id) ON DELETE SET NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    excerpt          TEXT,
    status           TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    tags             TEXT NOT NULL DEFAULT '[]',
    related_articles TEXT NOT NULL DEFAULT '[]',
    sort_order       INTEGER NOT NULL DEFAULT 0,
    published_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX articles_kb ON articles (kb_id, sort_order, seq);
CREATE INDEX articles_category ON articles (category_id);
CREATE INDEX articles_section ON articles (section_id);

CREATE TABLE faqs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kb_id        TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    category_id  TEXT NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    section_id   TEXT REFERENCES sections (id) ON DELETE SET NULL,
    question     TEXT NOT NULL,
    answer       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    sort_order   INTEGER NOT NULL DEFAULT 0,
    published_at TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX faqs_kb ON faqs (kb_id, sort_order, seq);
CREATE INDEX faqs_category ON faqs (category_id);
CREATE INDEX faqs_section ON faqs (section_id);

-- One row per billable create (a bulk create is one row). Summed per project and month.
CREATE TABLE credit_ledger (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    month       TEXT NOT NULL,
    action      TEXT NOT NULL,
    items       INTEGER NOT NULL,
    credits     INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX credit_ledger_month ON credit_ledger (project_id, month);
