-- +goose Up
-- The customer service window is per business number: it opens with the
-- customer's last message to that number, which the conversations on that
-- channel already hold (conversations.last_inbound_at). From this version on
-- customers.last_inbound_at is neither written nor read: its copy spanned
-- every number, and keeping it rewrote the customer's row for every inbound
-- message. The column stays for now, because replicas of the previous
-- version still read and write it during a rolling upgrade; a later
-- migration drops it.
SELECT 1;

-- +goose Down
SELECT 1;
