-- PostgreSQL schema. Keep in step with ../sqlite/00001_init.sql.
--
-- Ids are UUIDv7 strings (TEXT, as on SQLite, so both engines compare and
-- sort them the same way). Times are TIMESTAMPTZ, written by the store as UTC
-- with millisecond precision. JSON columns are JSONB.

-- +goose Up
CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    email                TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    max_conversations    INTEGER NOT NULL DEFAULT 5 CHECK (max_conversations >= 0),
    avatar_url           TEXT,
    last_login_at        TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE departments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    auto_assign BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- "Suporte" and "suporte" are the same department. PostgreSQL's lower()
-- folds every letter; SQLite's only ASCII ones.
CREATE UNIQUE INDEX departments_name_key ON departments (lower(name));

CREATE TABLE user_departments (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    department_id TEXT NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, department_id)
);

CREATE INDEX user_departments_department_id_idx ON user_departments (department_id);

-- A channel is one WhatsApp business phone number.
CREATE TABLE channels (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    phone_number_id      TEXT NOT NULL UNIQUE,
    display_phone_number TEXT NOT NULL DEFAULT '',
    business_account_id  TEXT NOT NULL DEFAULT '',
    access_token         TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'unhealthy', 'disabled')),
    messages_per_second  INTEGER NOT NULL DEFAULT 80 CHECK (messages_per_second > 0),
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE customers (
    id              TEXT PRIMARY KEY,
    wa_id           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL DEFAULT '',
    profile_name    TEXT NOT NULL DEFAULT '',
    email           TEXT,
    notes           TEXT NOT NULL DEFAULT '',
    last_inbound_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE conversations (
    id                   TEXT PRIMARY KEY,
    channel_id           TEXT NOT NULL REFERENCES channels (id),
    customer_id          TEXT NOT NULL REFERENCES customers (id),
    department_id        TEXT REFERENCES departments (id) ON DELETE RESTRICT,
    assignee_id          TEXT REFERENCES users (id),
    status               TEXT NOT NULL CHECK (status IN ('bot', 'waiting', 'open', 'closed')),
    last_message_at      TIMESTAMPTZ,
    last_message_preview TEXT NOT NULL DEFAULT '',
    last_inbound_at      TIMESTAMPTZ,
    unread_count         INTEGER NOT NULL DEFAULT 0,
    waiting_since        TIMESTAMPTZ,
    closed_at            TIMESTAMPTZ,
    closed_by            TEXT REFERENCES users (id),
    csat_score           INTEGER CHECK (csat_score BETWEEN 1 AND 5),
    csat_comment         TEXT,
    bot_state            JSONB,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- At most one live conversation per customer and channel: a second inbound
-- message racing the first cannot open a duplicate.
CREATE UNIQUE INDEX conversations_live_key ON conversations (channel_id, customer_id) WHERE status <> 'closed';

-- Inbox lists. NULLS LAST matches SQLite's order (NULLs are smallest there),
-- so queries written "ORDER BY last_message_at DESC NULLS LAST" sort alike
-- on both engines and can use these indexes.
CREATE INDEX conversations_status_idx ON conversations (status, last_message_at DESC NULLS LAST);
CREATE INDEX conversations_department_idx ON conversations (department_id, status, last_message_at DESC NULLS LAST);
CREATE INDEX conversations_assignee_idx ON conversations (assignee_id, status, last_message_at DESC NULLS LAST);
CREATE INDEX conversations_customer_idx ON conversations (customer_id, created_at);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender_type     TEXT NOT NULL CHECK (sender_type IN ('customer', 'agent', 'bot', 'system')),
    sender_id       TEXT,
    type            TEXT NOT NULL,
    text            TEXT NOT NULL DEFAULT '',
    media_id        TEXT,
    media_mime_type TEXT,
    media_file_name TEXT,
    media_size      BIGINT,
    media_sha256    TEXT,
    media_path      TEXT,
    reply_to_id     TEXT,
    -- Meta retries webhooks: the unique wamid makes a redelivery a no-op.
    wa_message_id   TEXT UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')),
    error_code      TEXT,
    error_message   TEXT,
    raw             JSONB,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    read_at         TIMESTAMPTZ
);

CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);

CREATE TABLE conversation_transfers (
    id                 TEXT PRIMARY KEY,
    conversation_id    TEXT NOT NULL REFERENCES conversations (id),
    from_user_id       TEXT REFERENCES users (id),
    to_user_id         TEXT REFERENCES users (id),
    from_department_id TEXT REFERENCES departments (id),
    to_department_id   TEXT REFERENCES departments (id),
    reason             TEXT NOT NULL DEFAULT '',
    transferred_by     TEXT REFERENCES users (id),
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX conversation_transfers_conversation_idx ON conversation_transfers (conversation_id);

CREATE TABLE bot_configurations (
    key        TEXT PRIMARY KEY,
    value      JSONB NOT NULL,
    updated_by TEXT REFERENCES users (id),
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    -- No foreign key: rotation sets replaced_by before it inserts the token
    -- it names.
    replaced_by TEXT,
    user_agent  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT ''
);

CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);

CREATE TABLE audit_logs (
    id          TEXT PRIMARY KEY,
    actor_id    TEXT, -- no foreign key: the log outlives the users it names
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL DEFAULT '',
    entity_id   TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    details     JSONB,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at);
CREATE INDEX audit_logs_action_idx ON audit_logs (action, created_at);
CREATE INDEX audit_logs_entity_id_idx ON audit_logs (entity_id);

-- +goose Down
DROP TABLE audit_logs;
DROP TABLE refresh_tokens;
DROP TABLE bot_configurations;
DROP TABLE conversation_transfers;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE customers;
DROP TABLE channels;
DROP TABLE user_departments;
DROP TABLE departments;
DROP TABLE users;
