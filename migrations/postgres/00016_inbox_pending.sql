-- +goose Up
-- Replay reads the entries still waiting for a channel (unrouted, partial),
-- oldest first. A partial index holds only those: the processed rows, all
-- but a few of every webhook's inserts, add nothing to it, so the live
-- ingest keeps one index write per delivery (received_at's).
CREATE INDEX webhook_inbox_pending_idx ON webhook_inbox (status, received_at) WHERE status <> 'processed';

-- +goose Down
DROP INDEX webhook_inbox_pending_idx;
