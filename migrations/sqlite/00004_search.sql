-- +goose Up
-- Message search: an FTS5 index over messages.text kept by triggers.
-- unicode61 with remove_diacritics folds case and accents, so "nao
-- consigo" matches "Não consigo".
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', tokenize='unicode61 remove_diacritics 2');

INSERT INTO messages_fts (rowid, text) SELECT rowid, text FROM messages WHERE text <> '';

-- +goose StatementBegin
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.text <> '' BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) SELECT 'delete', old.rowid, old.text WHERE old.text <> '';
    INSERT INTO messages_fts (rowid, text) SELECT new.rowid, new.text WHERE new.text <> '';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.text <> '' BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_insert;
DROP TABLE messages_fts;
