-- +goose Up
-- Every inbound message updates its conversation's last_message_at, and
-- SQLite rewrites each index holding that column. The 00001 department
-- and assignee indexes held it, yet no list walks them any more: the
-- 00011 activity indexes give a department's or an assignee's page in
-- order. What still read them, the assignment queries (an agent's open
-- conversations, a department's waiting queue), need status, assignee
-- and department only, so one index without the activity column serves
-- them and is left alone by message ingest.
DROP INDEX conversations_department_idx;
DROP INDEX conversations_assignee_idx;
CREATE INDEX conversations_queue_idx ON conversations (status, assignee_id, department_id);

-- +goose Down
DROP INDEX conversations_queue_idx;
CREATE INDEX conversations_assignee_idx ON conversations (assignee_id, status, last_message_at DESC);
CREATE INDEX conversations_department_idx ON conversations (department_id, status, last_message_at DESC);
