-- +goose Up
-- Per-channel credentials: each WhatsApp number may belong to its own Meta
-- app, and new conversations of a number land in its default department.
ALTER TABLE channels ADD COLUMN app_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN verify_token TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN default_department_id TEXT REFERENCES departments (id) ON DELETE SET NULL;
ALTER TABLE channels ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';

-- The emoji the customer last reacted with to a message ('' = none).
ALTER TABLE messages ADD COLUMN reaction TEXT NOT NULL DEFAULT '';

-- Every signed webhook body as received, for audit and replay. A redelivery
-- of the same body is recognised by its hash.
CREATE TABLE webhook_inbox (
    id           TEXT PRIMARY KEY,
    body_sha256  TEXT NOT NULL UNIQUE,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('processed', 'unrouted', 'partial')),
    note         TEXT NOT NULL DEFAULT '',
    received_at  TIMESTAMP NOT NULL
);
CREATE INDEX webhook_inbox_received_idx ON webhook_inbox (received_at);

-- Status updates as Meta sent them, also for wamids we do not know.
CREATE TABLE message_status_events (
    wa_message_id TEXT NOT NULL,
    status        TEXT NOT NULL,
    occurred_at   TIMESTAMP NOT NULL,
    error_code    TEXT,
    error_message TEXT,
    known         BOOLEAN NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (wa_message_id, status)
);

CREATE INDEX conversations_activity_idx ON conversations (last_message_at DESC, id DESC);

-- +goose Down
DROP INDEX conversations_activity_idx;
DROP TABLE message_status_events;
DROP TABLE webhook_inbox;
ALTER TABLE messages DROP COLUMN reaction;
ALTER TABLE channels DROP COLUMN status_reason;
ALTER TABLE channels DROP COLUMN default_department_id;
ALTER TABLE channels DROP COLUMN verify_token;
ALTER TABLE channels DROP COLUMN app_secret;
