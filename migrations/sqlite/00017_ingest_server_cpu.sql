-- +goose Up
-- PostgreSQL's 00017 changes how fanout_messages.payload is compressed
-- and the language of swa_fold there. SQLite never writes that table (its
-- replica fans out in memory) and its swa_fold is a Go function: nothing
-- to do. Kept so both engines sit at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
