-- +goose Up
-- When a send request for an outbound message last left for Meta without
-- its answer being recorded. A crash in that window leaves the message
-- queued with this set: the send job then waits for Meta's status webhook
-- (which names the message in biz_opaque_callback_data) before sending
-- again, so a reply Meta already accepted is not sent twice.
ALTER TABLE messages ADD COLUMN send_attempted_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE messages DROP COLUMN send_attempted_at;
