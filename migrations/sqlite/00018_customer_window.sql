-- +goose Up
-- The customer service window is per business number: it opens with the
-- customer's last message to that number, which the conversations on that
-- channel already hold (conversations.last_inbound_at). The customer row's
-- copy spanned every number, so it let a reply through on a number the
-- customer never wrote to, and keeping it rewrote the customer's row (and
-- a page of the database) for every inbound message.
ALTER TABLE customers DROP COLUMN last_inbound_at;

-- +goose Down
ALTER TABLE customers ADD COLUMN last_inbound_at TIMESTAMP;
UPDATE customers SET last_inbound_at = (SELECT MAX(last_inbound_at) FROM conversations WHERE customer_id = customers.id);
