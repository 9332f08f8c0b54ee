-- +goose Up
-- Mirrors migrations/sqlite/00001. Times are Unix milliseconds (UTC);
-- expires_at NULL means never. Text compares exactly: equality under
-- PostgreSQL's deterministic collations is byte equality.
CREATE TABLE access_keys (
    access_key_id     TEXT   NOT NULL PRIMARY KEY,
    secret_access_key TEXT   NOT NULL,
    user_name         TEXT   NOT NULL,
    session_token     TEXT   NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NULL
);
CREATE INDEX access_keys_user_name ON access_keys (user_name);
CREATE INDEX access_keys_expires_at ON access_keys (expires_at) WHERE expires_at IS NOT NULL;

-- +goose Down
DROP TABLE access_keys;
