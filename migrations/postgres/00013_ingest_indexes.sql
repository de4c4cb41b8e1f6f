-- +goose Up
-- The trigram index for number fragments was on wa_id itself, and pg_trgm
-- also serves equality: without statistics (a new or busy database) the
-- planner chose it over the unique index for the ingest's "wa_id = ANY($1)"
-- and scanned the whole GIN pending list on every group commit, 60 % of
-- the database's time in bench ingest. On an expression (the number folded
-- like names, which leaves digits as they are) it serves the fragment
-- search and nothing else.
-- +goose StatementBegin
DO $$
DECLARE
    ext text;
BEGIN
    SELECT quote_ident(n.nspname) INTO ext
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    DROP INDEX customers_wa_id_trgm_idx;
    EXECUTE format('CREATE INDEX customers_wa_id_trgm_idx ON customers USING GIN (swa_fold(wa_id) %s.gin_trgm_ops)', ext);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    ext text;
BEGIN
    SELECT quote_ident(n.nspname) INTO ext
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    DROP INDEX customers_wa_id_trgm_idx;
    EXECUTE format('CREATE INDEX customers_wa_id_trgm_idx ON customers USING GIN (wa_id %s.gin_trgm_ops)', ext);
END
$$;
-- +goose StatementEnd
