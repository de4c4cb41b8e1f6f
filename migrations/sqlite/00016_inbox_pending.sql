-- +goose Up
-- Replay reads the entries still waiting for a channel (unrouted, partial),
-- oldest first. A partial index holds only those: the processed rows, all
-- but a few of every webhook's inserts, add nothing to it, so the live
-- ingest keeps one index write per delivery (received_at's).
CREATE INDEX webhook_inbox_pending_idx ON webhook_inbox (status, received_at) WHERE status <> 'processed';

-- A fingerprint of the app secret that signed the body (a SHA-256 of it:
-- the secrets themselves are in channels). A live webhook is accepted for
-- a number only when that number's app signed it; a body kept unrouted
-- was accepted whatever signed it, so its replay applies the same rule
-- with this. '' for bodies stored before it existed.
ALTER TABLE webhook_inbox ADD COLUMN signer TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhook_inbox DROP COLUMN signer;
DROP INDEX webhook_inbox_pending_idx;
