-- +goose Up
-- A department's or an assignee's conversations newest first, straight
-- from an index: the older (…, status, last_message_at) indexes need every
-- one of them sorted when no single status is asked for.
CREATE INDEX conversations_department_activity_idx ON conversations (department_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_assignee_activity_idx ON conversations (assignee_id, last_message_at DESC, id DESC);

-- Customer search by name or number fragment: a trigram FTS5 index over
-- the customers, kept by triggers. Trigrams make a phrase query a substring
-- match ("conceicao" finds "Maria da Conceição", "98765" finds
-- 5511987654321) without folding every customer's name per search, which
-- took seconds at 100,000 customers. remove_diacritics folds accents like
-- helpdesk.Fold.
CREATE VIRTUAL TABLE customers_fts USING fts5(name, profile_name, wa_id, content='customers',
    tokenize='trigram remove_diacritics 1');

INSERT INTO customers_fts (rowid, name, profile_name, wa_id) SELECT rowid, name, profile_name, wa_id FROM customers;

-- +goose StatementBegin
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, name, profile_name, wa_id) VALUES (new.rowid, new.name, new.profile_name, new.wa_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, profile_name, wa_id ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, profile_name, wa_id) VALUES ('delete', old.rowid, old.name, old.profile_name, old.wa_id);
    INSERT INTO customers_fts (rowid, name, profile_name, wa_id) VALUES (new.rowid, new.name, new.profile_name, new.wa_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, profile_name, wa_id) VALUES ('delete', old.rowid, old.name, old.profile_name, old.wa_id);
END;
-- +goose StatementEnd

-- +goose Down
DROP INDEX conversations_assignee_activity_idx;
DROP INDEX conversations_department_activity_idx;
DROP TRIGGER customers_fts_delete;
DROP TRIGGER customers_fts_update;
DROP TRIGGER customers_fts_insert;
DROP TABLE customers_fts;
