-- +goose Up
-- Connector lists are ordered newest change first within a scope. Without
-- this index every page sorted the scope's whole table, documents and all
-- (88 ms for a page of 100 among 10,000 connectors on SQLite).
CREATE INDEX connectors_scope_updated ON connectors (account, org, project, updated_at DESC, identifier);

-- +goose Down
DROP INDEX connectors_scope_updated;
