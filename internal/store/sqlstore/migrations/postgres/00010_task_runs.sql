-- How many times a task was handed to a delegate (every claim; a task
-- handed back unstarted or after its lease ran out is claimed again). Its
-- log lines are numbered per run by the delegate, so the hub places run
-- n's lines after run n-1's (task_logs.seq is (n-1)*2^32 + the delegate's
-- number) and a second run's first lines are not taken for retried posts
-- of the first run's.

-- +goose Up
ALTER TABLE tasks ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE tasks DROP COLUMN runs;
