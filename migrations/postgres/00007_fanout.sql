-- +goose Up
-- Real-time events between replicas (internal/fanout): each is a row plus a
-- NOTIFY, kept ten minutes so a replica that lost its listening connection
-- can catch up. UNLOGGED: after a crash they are worthless anyway.
CREATE UNLOGGED TABLE fanout_messages (
    id         BIGSERIAL PRIMARY KEY,
    payload    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX fanout_messages_created_idx ON fanout_messages (created_at);

-- +goose Down
DROP TABLE fanout_messages;
