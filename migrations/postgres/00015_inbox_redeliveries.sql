-- +goose Up
-- The inbox kept one row per distinct body, through a unique index on the
-- body's SHA-256: a random key, so every webhook's insert dirtied its own
-- page of that index on every group commit. Redeliveries do not need it:
-- a message is stored once through its unique wamid, and statuses only
-- move forward. The inbox now records every delivery as it came, a
-- redelivery too (same body_sha256, which stays for audit).
ALTER TABLE webhook_inbox DROP CONSTRAINT webhook_inbox_body_sha256_key;

-- +goose Down
DELETE FROM webhook_inbox a USING webhook_inbox b
    WHERE a.body_sha256 = b.body_sha256 AND (a.received_at, a.id) > (b.received_at, b.id);
ALTER TABLE webhook_inbox ADD CONSTRAINT webhook_inbox_body_sha256_key UNIQUE (body_sha256);
