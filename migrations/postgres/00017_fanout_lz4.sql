-- +goose Up
-- A real-time bus row holds one batch of events: ~50 KB of JSON under load
-- (bench ingest), written once, read back once by each replica's listener
-- and deleted after ten minutes. PostgreSQL compressed each with pglz, the
-- single hottest function in the server's profile of bench ingest, and
-- decompressed it again for every read. lz4 compresses and decompresses
-- such text several times faster. It is optional in PostgreSQL builds
-- (--with-lz4); without it the column stays as it was.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings
               WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE fanout_messages ALTER COLUMN payload SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE fanout_messages ALTER COLUMN payload SET COMPRESSION default;
