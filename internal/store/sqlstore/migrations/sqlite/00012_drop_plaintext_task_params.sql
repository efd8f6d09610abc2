-- Task parameters are now stored sealed with the keyring (a script step's
-- script and env may carry secrets); rows written before held them in
-- plaintext. An ended task's parameters are never read again (they are
-- opened only to offer a queued task to its delegate), so the plaintext
-- ones of ended tasks are dropped; the rows stay for the task list.

-- +goose Up
UPDATE tasks SET params = ''
WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND params <> '' AND params NOT LIKE 'enc1:%';

-- +goose Down
-- Nothing to undo: the dropped parameters are gone.
