-- A task's output is kept only until the request waiting for it has read
-- it; outputs nobody read (their waiter died) are dropped once the task
-- has been over for longer than a lease and a grace. This index finds the
-- few rows still holding one without reading the whole task history.

-- +goose Up
CREATE INDEX tasks_outputs ON tasks (finished_at) WHERE output <> '';

-- +goose Down
DROP INDEX tasks_outputs;
