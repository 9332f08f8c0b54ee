-- +goose Up
-- Mirrors migrations/sqlite/00002: roles, the groups they are granted to,
-- their grants, users and their groups, REST tokens, the policy version and
-- shared secrets. Names compare exactly (byte equality). Times are Unix
-- milliseconds (UTC); expires_at NULL means never.
CREATE TABLE roles (
    name TEXT NOT NULL PRIMARY KEY
);

CREATE TABLE role_groups (
    role_name  TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (role_name, group_name)
);

-- lakegate_grant_key is the SHA-256 of a grant's six fields, each prefixed
-- with its length so that no two different grants encode alike. A B-tree
-- entry holds at most about 2.7 kB, too little for a UNIQUE constraint
-- over the fields themselves once an object name or a row filter is long;
-- the constraint is on the key instead. The function is IMMUTABLE as a
-- generated column needs: convert_to is only STABLE, because it depends on
-- the database's encoding, which never changes for a database.
-- +goose StatementBegin
CREATE FUNCTION lakegate_grant_key(role_name TEXT, object_kind TEXT, object_name TEXT,
    column_list TEXT, row_filter TEXT, privilege TEXT) RETURNS BYTEA
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT sha256(convert_to(
        length(role_name) || ':' || role_name ||
        length(object_kind) || ':' || object_kind ||
        length(object_name) || ':' || object_name ||
        length(column_list) || ':' || column_list ||
        length(row_filter) || ':' || row_filter ||
        length(privilege) || ':' || privilege, 'UTF8'))
$$;
-- +goose StatementEnd

-- One row per privilege. The unique grant_key spans every field, so storing
-- an identical grant twice is a no-op. column_list and row_filter hold ''
-- for "every column" and "no filter", never NULL. id is a primary key for
-- logical replication (a table without one cannot publish deletes).
CREATE TABLE grants (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role_name   TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    privilege   TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_name TEXT NOT NULL,
    column_list TEXT NOT NULL DEFAULT '',
    row_filter  TEXT NOT NULL DEFAULT '',
    grant_key   BYTEA NOT NULL GENERATED ALWAYS AS
        (lakegate_grant_key(role_name, object_kind, object_name, column_list, row_filter, privilege)) STORED,
    CONSTRAINT grants_grant_key UNIQUE (grant_key)
);
-- Serves the foreign key (ON DELETE CASCADE) and a role's grants.
CREATE INDEX grants_role_name ON grants (role_name);

CREATE TABLE users (
    name       TEXT   NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_groups (
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_name, group_name)
);

-- Tokens and access keys name their user without a foreign key: both may be
-- issued to users that have no users row (groups unresolved yet).
CREATE TABLE tokens (
    hash       TEXT   NOT NULL PRIMARY KEY,
    user_name  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NULL
);
CREATE INDEX tokens_user_name ON tokens (user_name);

-- One row, increased by every committed policy update; UpdatePolicy's
-- UPDATE of it takes the row lock that serializes policy updates.
CREATE TABLE policy_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);
INSERT INTO policy_version (id, version) VALUES (1, 0);

CREATE TABLE secrets (
    name  TEXT  NOT NULL PRIMARY KEY,
    value BYTEA NOT NULL
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE policy_version;
DROP TABLE tokens;
DROP TABLE user_groups;
DROP TABLE users;
DROP TABLE grants;
DROP FUNCTION lakegate_grant_key(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
DROP TABLE role_groups;
DROP TABLE roles;
