-- +goose Up
-- Kept in step with PostgreSQL's schema; a single SQLite process fans out
-- in memory and never writes here.
CREATE TABLE fanout_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    payload    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE fanout_messages;
