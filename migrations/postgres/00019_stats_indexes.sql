-- +goose Up
-- The dashboard's figures for a period (GET /api/v1/conversations/stats
-- with from/to) are ranges over time: conversations opened, conversations
-- closed, messages each way. Without these indexes each request read the
-- whole conversations and messages tables.
--
-- Write cost, weighed against 00014: created_at and closed_at never change
-- while a conversation takes messages, but its last_message_at does and is
-- indexed, so PostgreSQL adds an entry to every index on each such update;
-- created_at is one more of those. closed_at is partial: a live
-- conversation (closed_at NULL; reopening clears it) has no entry there.
-- messages gain one index entry per insert, appended at its end.
CREATE INDEX conversations_created_idx ON conversations (created_at);
CREATE INDEX conversations_closed_idx ON conversations (closed_at) WHERE closed_at IS NOT NULL;
-- created_at leads, not direction: the send path's look-up of earlier
-- queued outbound messages (QueuedOutboundBefore) filters on direction and
-- a created_at range too, and an index led by direction offered SQLite
-- (and PostgreSQL on small tables) a walk of every outbound message since
-- then in place of the conversation's own range of messages_conversation_idx.
CREATE INDEX messages_created_idx ON messages (created_at, direction);

-- +goose Down
DROP INDEX messages_created_idx;
DROP INDEX conversations_closed_idx;
DROP INDEX conversations_created_idx;
