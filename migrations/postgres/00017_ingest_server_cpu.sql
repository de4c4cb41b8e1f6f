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

-- swa_fold (00004) was a SQL function. Its body calls unaccent(), which is
-- only STABLE, so PostgreSQL never inlines it into an IMMUTABLE caller:
-- every statement that evaluates it (each group commit's message insert,
-- for the search index; searches) parsed and planned the body again and
-- started an executor per call, ~40 µs per statement more than the
-- expression alone. PL/pgSQL keeps the compiled function for the session
-- and evaluates a one-expression body on its fast path. Same expression,
-- same results: the indexes on swa_fold stay valid.
-- +goose StatementBegin
DO $$
DECLARE
    ext text;
BEGIN
    SELECT quote_ident(n.nspname) INTO ext
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'unaccent';
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION swa_fold(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS %L',
        format('BEGIN RETURN lower(%s.unaccent(%L::regdictionary, t)); END', ext, ext || '.unaccent'));
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE fanout_messages ALTER COLUMN payload SET COMPRESSION default;

-- +goose StatementBegin
DO $$
DECLARE
    ext text;
BEGIN
    SELECT quote_ident(n.nspname) INTO ext
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'unaccent';
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION swa_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS %L',
        format('SELECT lower(%s.unaccent(%L::regdictionary, t))', ext, ext || '.unaccent'));
END
$$;
-- +goose StatementEnd
