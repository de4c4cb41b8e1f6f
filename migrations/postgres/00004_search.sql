-- +goose Up
-- Message search: a GIN full-text index over the folded text (lower case,
-- accents removed), so "nao consigo" matches "Não consigo". unaccent is a
-- trusted extension: the database owner may create it without superuser.
-- Two databases' migrations (replicas starting together, parallel test
-- schemas) may race to create it: the lock makes the second wait and then
-- find it there.
SELECT pg_advisory_xact_lock(hashtext('supportwhatsapp:create extension unaccent'));
-- In public, not the current schema: one extension serves every schema of
-- the database, and dropping an application schema must not take it along.
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- unaccent() is only STABLE (its dictionary could change); pinning the
-- dictionary makes a wrapper that may be declared IMMUTABLE and indexed.
-- The extension may live in another schema than this one (it is created
-- once per database), so the wrapper names it with its schema.
-- +goose StatementBegin
DO $$
DECLARE
    ext text;
BEGIN
    SELECT quote_ident(n.nspname) INTO ext
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'unaccent';
    EXECUTE format(
        'CREATE FUNCTION swa_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS %L',
        format('SELECT lower(%s.unaccent(%L::regdictionary, t))', ext, ext || '.unaccent'));
END
$$;
-- +goose StatementEnd

CREATE INDEX messages_search_idx ON messages USING GIN (to_tsvector('simple', swa_fold(text)));

-- +goose Down
DROP INDEX messages_search_idx;
DROP FUNCTION swa_fold(text);
