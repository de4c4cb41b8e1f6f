-- +goose Up
-- PostgreSQL's 00017 changes how fanout_messages.payload is compressed
-- there; SQLite never writes that table (its replica fans out in memory)
-- and has no such setting. Kept so both engines sit at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
