-- +goose Up
-- The bot (internal/bot). Every saved flow is a new version; a conversation
-- keeps the version it started on, so editing the flow never strands a
-- customer mid-menu.
CREATE TABLE bot_flows (
    version    INTEGER PRIMARY KEY,
    definition TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);

-- Where each conversation is in its flow. seq grows with every step, so an
-- inactivity timer armed at an earlier step knows it is stale;
-- last_message_id (ids are time-ordered) keeps a late job for an older
-- message from overriding the answer to a newer one.
CREATE TABLE bot_sessions (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations (id),
    flow_version     INTEGER NOT NULL REFERENCES bot_flows (version),
    node             TEXT NOT NULL,
    variables        TEXT NOT NULL DEFAULT '{}',
    path             TEXT NOT NULL DEFAULT '[]',
    mode             TEXT NOT NULL DEFAULT '',
    invalid_count    INTEGER NOT NULL DEFAULT 0,
    seq              INTEGER NOT NULL DEFAULT 0,
    last_message_id  TEXT NOT NULL DEFAULT '',
    last_activity_at TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ,
    ended_reason     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL
);

-- The satisfaction survey: when it was asked and answered (the score and
-- comment columns exist since 00001).
ALTER TABLE conversations ADD COLUMN csat_requested_at TIMESTAMPTZ;
ALTER TABLE conversations ADD COLUMN csat_answered_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE conversations DROP COLUMN csat_answered_at;
ALTER TABLE conversations DROP COLUMN csat_requested_at;
DROP TABLE bot_sessions;
DROP TABLE bot_flows;
