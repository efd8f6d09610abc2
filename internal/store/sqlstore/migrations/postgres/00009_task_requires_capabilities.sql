-- What a task needs of its delegate beyond tags: capabilities the delegate
-- must report as "true" (a managed-identity script step needs a delegate
-- running in Kubernetes). A JSON list; internal/ops decides it, the claim
-- checks it.

-- +goose Up
ALTER TABLE tasks ADD COLUMN requires TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE tasks DROP COLUMN requires;
