-- Tome schema, version 5 (SQLite): assistant threads and their messages.
--
-- `assistant_threads` is one conversation with the assistant about one knowledge base, started
-- by the asker `fp` (the client's fingerprint, `anonymous` if none). `updated_at` moves with every
-- exchange; retention deletes threads last updated before a cut-off (`assistant_threads_updated`),
-- and their messages go with them. Threads of a deleted knowledge base or project go with it.
--
-- `assistant_messages` holds the turns worth keeping: the asker's question (`role = 'user'`, with
-- the page it was asked on in `page_url`) and the assistant's answer (`role = 'assistant'`, with
-- `response_type` and `resolution`, which user rows never have). `sources` is the pages an answer
-- cites, a JSON array of `{"title", "url"}` in citation order (`[]` for questions). An exchange
-- is written in one transaction, question first, so within a thread `seq` order is conversation
-- order and the question an answer replies to is the thread's user row just before it.
-- `project_id` is repeated from the thread so the analytics list (a project's answers, newest
-- first, optionally within dates) needs no join to filter.
--
-- Timestamps are ISO 8601 UTC with milliseconds (`2026-01-15T10:30:00.000Z`), the docs-platform
-- convention, not the wire format of the content tables; both sort chronologically as text.

CREATE TABLE assistant_threads (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kb_id       TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    fp          TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX assistant_threads_updated ON assistant_threads (updated_at);
CREATE INDEX assistant_threads_project ON assistant_threads (project_id, updated_at);
CREATE INDEX assistant_threads_kb ON assistant_threads (kb_id);

CREATE TABLE assistant_messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    thread_id     TEXT NOT NULL REFERENCES assistant_threads (id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content       TEXT NOT NULL,
    sources       TEXT NOT NULL DEFAULT '[]',
    response_type TEXT CHECK (response_type IN ('answer', 'clarifying_question')),
    resolution    TEXT CHECK (resolution IN ('answered', 'unanswered')),
    page_url      TEXT,
    created_at    TEXT NOT NULL,
    CONSTRAINT assistant_messages_answer_check CHECK (
        (role = 'user' AND response_type IS NULL AND resolution IS NULL)
        OR (role = 'assistant' AND response_type IS NOT NULL AND resolution IS NOT NULL)
    )
);
CREATE INDEX assistant_messages_project ON assistant_messages (project_id, role, seq);
CREATE INDEX assistant_messages_created ON assistant_messages (project_id, created_at);
CREATE INDEX assistant_messages_thread ON assistant_messages (thread_id, seq);
