-- +goose Up
-- The conversation's own timeline beside its messages: takeovers,
-- transfers, closing and reopening (later bot steps), for the history view.
CREATE TABLE conversation_events (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    type            TEXT NOT NULL,
    actor_id        TEXT REFERENCES users (id),
    data            TEXT NOT NULL DEFAULT '{}',
    created_at      TIMESTAMP NOT NULL
);

CREATE INDEX conversation_events_conversation_idx ON conversation_events (conversation_id, created_at);

-- +goose Down
DROP TABLE conversation_events;
