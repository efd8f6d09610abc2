-- Delegates and the task engine: delegate tokens (hashes only), the
-- delegates that registered with them, the tasks (a connector snapshot
-- holds secret references, never values) and their masked log lines.
-- Times are Unix milliseconds; org and project are '' above their level.

-- +goose Up
CREATE TABLE delegate_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    account    TEXT NOT NULL,
    org        TEXT NOT NULL,
    project    TEXT NOT NULL,
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX delegate_tokens_name ON delegate_tokens (account, org, project, name);

CREATE TABLE delegates (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    account        TEXT NOT NULL,
    org            TEXT NOT NULL,
    project        TEXT NOT NULL,
    token_id       TEXT NOT NULL,
    tags           TEXT NOT NULL DEFAULT '[]',
    version        TEXT NOT NULL DEFAULT '',
    capabilities   TEXT NOT NULL DEFAULT '{}',
    concurrency    BIGINT NOT NULL DEFAULT 0,
    registered_at  BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL,
    stopped_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX delegates_scope ON delegates (account, org, project);

CREATE TABLE tasks (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    account           TEXT NOT NULL,
    org               TEXT NOT NULL,
    project           TEXT NOT NULL,
    owner_org         TEXT NOT NULL,
    owner_project     TEXT NOT NULL,
    connector         TEXT NOT NULL DEFAULT '',
    connector_doc     TEXT NOT NULL DEFAULT '',
    connector_version BIGINT NOT NULL DEFAULT 0,
    params            TEXT NOT NULL DEFAULT '',
    selectors         TEXT NOT NULL DEFAULT '[]',
    status            TEXT NOT NULL,
    delegate_id       TEXT NOT NULL DEFAULT '',
    delegate_name     TEXT NOT NULL DEFAULT '',
    lease_expires     BIGINT NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 1,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    output            TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT '',
    note              TEXT NOT NULL DEFAULT '',
    requester         TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    claimed_at        BIGINT NOT NULL DEFAULT 0,
    started_at        BIGINT NOT NULL DEFAULT 0,
    finished_at       BIGINT NOT NULL DEFAULT 0,
    deadline          BIGINT NOT NULL
);
CREATE INDEX tasks_queued ON tasks (created_at) WHERE status = 'QUEUED';
CREATE INDEX tasks_leases ON tasks (lease_expires) WHERE status = 'RUNNING';
CREATE INDEX tasks_owner ON tasks (account, owner_org, owner_project, created_at);

CREATE TABLE task_logs (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);

-- +goose Down
DROP TABLE task_logs;
DROP TABLE tasks;
DROP TABLE delegates;
DROP TABLE delegate_tokens;
