-- +goose Up
-- Every inbound message updates its conversation's last_message_at, which
-- an index holds, so PostgreSQL cannot update in place and adds an entry
-- to every index of the table. The 00001 department and assignee indexes
-- are no longer read by any list: the 00011 activity indexes give a
-- department's or an assignee's page in order. What still read them, the
-- assignment queries (an agent's open conversations, a department's
-- waiting queue), need status, assignee and department only: one index
-- instead of two.
DROP INDEX conversations_department_idx;
DROP INDEX conversations_assignee_idx;
CREATE INDEX conversations_queue_idx ON conversations (status, assignee_id, department_id);

-- +goose Down
DROP INDEX conversations_queue_idx;
CREATE INDEX conversations_assignee_idx ON conversations (assignee_id, status, last_message_at DESC NULLS LAST);
CREATE INDEX conversations_department_idx ON conversations (department_id, status, last_message_at DESC NULLS LAST);
