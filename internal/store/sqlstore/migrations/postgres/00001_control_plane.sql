-- The control plane: scopes, secrets (ciphertext only), connectors and the
-- secrets they refer to, API keys (hashes only), the hash-chained audit
-- trail and the secrets keyring. Times are Unix milliseconds; org and
-- project are '' above their level so that keys stay unique.

-- +goose Up
CREATE TABLE accounts (
    identifier TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    account     TEXT NOT NULL REFERENCES accounts (identifier),
    identifier  TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '{}',
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account, identifier)
);

CREATE TABLE projects (
    account     TEXT NOT NULL,
    org         TEXT NOT NULL,
    identifier  TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    color       TEXT NOT NULL DEFAULT '',
    modules     TEXT NOT NULL DEFAULT '[]',
    tags        TEXT NOT NULL DEFAULT '{}',
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account, org, identifier),
    FOREIGN KEY (account, org) REFERENCES organizations (account, identifier)
);

CREATE TABLE secrets (
    account        TEXT NOT NULL,
    org            TEXT NOT NULL,
    project        TEXT NOT NULL,
    identifier     TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    tags           TEXT NOT NULL DEFAULT '{}',
    type           TEXT NOT NULL,
    secret_manager TEXT NOT NULL,
    value_type     TEXT NOT NULL DEFAULT '',
    key_id         BIGINT NOT NULL,
    ciphertext     BYTEA NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (account, org, project, identifier)
);
CREATE INDEX secrets_key_id ON secrets (key_id);

CREATE TABLE connectors (
    account           TEXT NOT NULL,
    org               TEXT NOT NULL,
    project           TEXT NOT NULL,
    identifier        TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    tags              TEXT NOT NULL DEFAULT '{}',
    type              TEXT NOT NULL,
    document          TEXT NOT NULL,
    version           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'PENDING',
    error_summary     TEXT NOT NULL DEFAULT '',
    errors            TEXT NOT NULL DEFAULT '[]',
    tested_at         BIGINT NOT NULL DEFAULT 0,
    last_tested_at    BIGINT NOT NULL DEFAULT 0,
    last_connected_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account, org, project, identifier)
);

-- Which connector field refers to which secret. No foreign key to secrets:
-- a force-deleted secret leaves the reference in place, as Harness does.
CREATE TABLE connector_secret_refs (
    account        TEXT NOT NULL,
    org            TEXT NOT NULL,
    project        TEXT NOT NULL,
    connector      TEXT NOT NULL,
    field          TEXT NOT NULL,
    secret_org     TEXT NOT NULL,
    secret_project TEXT NOT NULL,
    secret         TEXT NOT NULL,
    PRIMARY KEY (account, org, project, connector, field),
    FOREIGN KEY (account, org, project, connector)
        REFERENCES connectors (account, org, project, identifier) ON DELETE CASCADE
);
CREATE INDEX connector_secret_refs_secret ON connector_secret_refs (account, secret_org, secret_project, secret);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    account    TEXT NOT NULL,
    org        TEXT NOT NULL,
    project    TEXT NOT NULL,
    role       TEXT NOT NULL,
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_scope ON api_keys (account, org, project);

CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY,
    at            BIGINT NOT NULL,
    actor_key_id  TEXT NOT NULL,
    actor_name    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    account       TEXT NOT NULL,
    org           TEXT NOT NULL,
    project       TEXT NOT NULL,
    identifier    TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    detail        TEXT NOT NULL,
    source        TEXT NOT NULL,
    prev_hash     BYTEA NOT NULL,
    hash          BYTEA NOT NULL
);
CREATE INDEX audit_events_scope ON audit_events (account, org, project);

-- The chain's head: the last sequence number and hash, one row.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, ''::bytea);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE keyring (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    check_value BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE data_keys (
    id         BIGINT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    active     INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE data_keys;
DROP TABLE keyring;
DROP TRIGGER audit_events_no_update ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE api_keys;
DROP TABLE connector_secret_refs;
DROP TABLE connectors;
DROP TABLE secrets;
DROP TABLE projects;
DROP TABLE organizations;
DROP TABLE accounts;
