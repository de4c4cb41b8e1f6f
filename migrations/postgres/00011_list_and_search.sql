-- +goose Up
-- A department's or an assignee's conversations newest first, straight
-- from an index: the older (…, status, last_message_at) indexes need every
-- one of them sorted when no single status is asked for.
CREATE INDEX conversations_department_activity_idx ON conversations (department_id, last_message_at DESC NULLS LAST, id DESC);
CREATE INDEX conversations_assignee_activity_idx ON conversations (assignee_id, last_message_at DESC NULLS LAST, id DESC);

-- Customer search by name or number fragment: trigram indexes serve the
-- "LIKE '%fragment%'" conditions, which otherwise folded every customer's
-- name per search (about a second at 100,000 customers). pg_trgm is a
-- trusted extension; like unaccent (00004) it is created once, in public,
-- under a lock so that databases migrating together do not race.
SELECT pg_advisory_xact_lock(hashtext('supportwhatsapp:create extension pg_trgm'));
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- The operator class is named with the extension's schema, which need not
-- be on the search path.
-- +goose StatementBegin
DO $$
DECLARE
    ext text;
BEGIN
    SELECT quote_ident(n.nspname) INTO ext
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX customers_name_trgm_idx ON customers USING GIN (swa_fold(name) %s.gin_trgm_ops)', ext);
    EXECUTE format('CREATE INDEX customers_profile_name_trgm_idx ON customers USING GIN (swa_fold(profile_name) %s.gin_trgm_ops)', ext);
    EXECUTE format('CREATE INDEX customers_wa_id_trgm_idx ON customers USING GIN (wa_id %s.gin_trgm_ops)', ext);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX conversations_assignee_activity_idx;
DROP INDEX conversations_department_activity_idx;
DROP INDEX customers_wa_id_trgm_idx;
DROP INDEX customers_profile_name_trgm_idx;
DROP INDEX customers_name_trgm_idx;
