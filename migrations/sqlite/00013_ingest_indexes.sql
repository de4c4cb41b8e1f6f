-- +goose Up
-- An UPDATE OF trigger fires whenever the column is assigned, changed or
-- not. Every inbound message upserts its customer and assigns name and
-- profile_name, so each one rewrote the customer's trigram index entries
-- (some fifty trigrams out and back in) for nothing: now only a real
-- change does.

DROP TRIGGER customers_fts_update;

-- +goose StatementBegin
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, profile_name, wa_id ON customers
WHEN old.name IS NOT new.name OR old.profile_name IS NOT new.profile_name OR old.wa_id IS NOT new.wa_id BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, profile_name, wa_id) VALUES ('delete', old.rowid, old.name, old.profile_name, old.wa_id);
    INSERT INTO customers_fts (rowid, name, profile_name, wa_id) VALUES (new.rowid, new.name, new.profile_name, new.wa_id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER customers_fts_update;

-- +goose StatementBegin
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, profile_name, wa_id ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, profile_name, wa_id) VALUES ('delete', old.rowid, old.name, old.profile_name, old.wa_id);
    INSERT INTO customers_fts (rowid, name, profile_name, wa_id) VALUES (new.rowid, new.name, new.profile_name, new.wa_id);
END;
-- +goose StatementEnd
