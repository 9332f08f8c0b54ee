-- +goose Up
-- The policy: roles, the groups they are granted to, their grants, users and
-- their groups, REST tokens, the policy version and shared secrets.
-- Names compare exactly (SQLite's default BINARY collation). Times are Unix
-- milliseconds (UTC); expires_at NULL means never.
CREATE TABLE roles (
    name TEXT NOT NULL PRIMARY KEY
);

CREATE TABLE role_groups (
    role_name  TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (role_name, group_name)
);

-- One row per privilege. The UNIQUE constraint spans every field, so storing
-- an identical grant twice is a no-op. column_list and row_filter hold ''
-- for "every column" and "no filter", never NULL, which UNIQUE would treat
-- as distinct from every other NULL. role_name leads the constraint so that
-- its index also serves the foreign key.
CREATE TABLE grants (
    role_name   TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    privilege   TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_name TEXT NOT NULL,
    column_list TEXT NOT NULL DEFAULT '',
    row_filter  TEXT NOT NULL DEFAULT '',
    UNIQUE (role_name, object_kind, object_name, column_list, row_filter, privilege)
);

CREATE TABLE users (
    name       TEXT    NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE user_groups (
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_name, group_name)
);

-- Tokens and access keys name their user without a foreign key: both may be
-- issued to users that have no users row (groups unresolved yet).
CREATE TABLE tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,
    user_name  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NULL
);
CREATE INDEX tokens_user_name ON tokens (user_name);

-- One row, increased by every committed policy update.
CREATE TABLE policy_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO policy_version (id, version) VALUES (1, 0);

CREATE TABLE secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE policy_version;
DROP TABLE tokens;
DROP TABLE user_groups;
DROP TABLE users;
DROP TABLE grants;
DROP TABLE role_groups;
DROP TABLE roles;
