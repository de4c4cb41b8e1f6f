-- +goose Up
-- The inbox kept one row per distinct body, through a unique index on the
-- body's SHA-256. A hash is a random key: every webhook's insert landed
-- on a different leaf of that index, and it was the largest share of
-- what each group commit wrote (a third of the WAL frames in a batch of
-- 64). Redeliveries do not need it: a message is stored once through its
-- unique wamid, and statuses only move forward. So the inbox now records
-- every delivery as it came, a redelivery too (same body_sha256, which
-- stays for audit). SQLite cannot drop a column's UNIQUE constraint, so
-- the table is rebuilt.
CREATE TABLE webhook_inbox_new (
    id           TEXT PRIMARY KEY,
    body_sha256  TEXT NOT NULL,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('processed', 'unrouted', 'partial')),
    note         TEXT NOT NULL DEFAULT '',
    received_at  TIMESTAMP NOT NULL
);
INSERT INTO webhook_inbox_new (id, body_sha256, body, status, note, received_at)
    SELECT id, body_sha256, body, status, note, received_at FROM webhook_inbox ORDER BY rowid;
DROP TABLE webhook_inbox;
ALTER TABLE webhook_inbox_new RENAME TO webhook_inbox;
CREATE INDEX webhook_inbox_received_idx ON webhook_inbox (received_at);

-- +goose Down
CREATE TABLE webhook_inbox_old (
    id           TEXT PRIMARY KEY,
    body_sha256  TEXT NOT NULL UNIQUE,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('processed', 'unrouted', 'partial')),
    note         TEXT NOT NULL DEFAULT '',
    received_at  TIMESTAMP NOT NULL
);
INSERT OR IGNORE INTO webhook_inbox_old (id, body_sha256, body, status, note, received_at)
    SELECT id, body_sha256, body, status, note, received_at FROM webhook_inbox ORDER BY rowid;
DROP TABLE webhook_inbox;
ALTER TABLE webhook_inbox_old RENAME TO webhook_inbox;
CREATE INDEX webhook_inbox_received_idx ON webhook_inbox (received_at);
