-- +goose Up
-- SQLite's version of this migration stops its customer search triggers
-- from rewriting the index on every inbound message. PostgreSQL's trigram
-- indexes are index expressions, maintained only when a row moves to a new
-- version outside its page's HOT chain, so there is nothing to change here:
-- the file keeps both engines at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
