-- +goose Up
-- Mirrors migrations/sqlite/00002: roles, the groups they are granted to,
-- their grants, users and their groups, REST tokens, the policy version and
-- shared secrets. Binary strings and bounds as in 00001. MySQL commits each
-- CREATE TABLE on its own: IF NOT EXISTS lets a migration that failed half
-- way run again.
CREATE TABLE IF NOT EXISTS roles (
    name VARBINARY(1024) NOT NULL PRIMARY KEY
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS role_groups (
    role_name  VARBINARY(1024) NOT NULL,
    group_name VARBINARY(1024) NOT NULL,
    PRIMARY KEY (role_name, group_name),
    CONSTRAINT role_groups_role FOREIGN KEY (role_name) REFERENCES roles (name) ON DELETE CASCADE
) ENGINE = InnoDB;

-- One row per privilege. Object names and row filters may be long, too long
-- for an InnoDB key over the six fields; the UNIQUE key is grant_key, the
-- SHA-256 of the fields, each prefixed with its length so that no two
-- different grants encode alike. Storing an identical grant twice is thus a
-- no-op. column_list and row_filter hold '' for "every column" and "no
-- filter", never NULL. id is there because some servers require a primary
-- key in every table (MySQL's sql_require_primary_key, group replication).
CREATE TABLE IF NOT EXISTS grants (
    id          BIGINT          NOT NULL AUTO_INCREMENT PRIMARY KEY,
    role_name   VARBINARY(1024) NOT NULL,
    privilege   VARBINARY(64)   NOT NULL,
    object_kind VARBINARY(64)   NOT NULL,
    object_name BLOB            NOT NULL,
    column_list MEDIUMBLOB      NOT NULL,
    row_filter  MEDIUMBLOB      NOT NULL,
    grant_key   BINARY(32) AS (UNHEX(SHA2(CONCAT(
        LENGTH(role_name), ':', role_name,
        LENGTH(object_kind), ':', object_kind,
        LENGTH(object_name), ':', object_name,
        LENGTH(column_list), ':', column_list,
        LENGTH(row_filter), ':', row_filter,
        LENGTH(privilege), ':', privilege), 256))) STORED,
    UNIQUE KEY grants_grant_key (grant_key),
    INDEX grants_role_name (role_name),
    CONSTRAINT grants_role FOREIGN KEY (role_name) REFERENCES roles (name) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS users (
    name       VARBINARY(1024) NOT NULL PRIMARY KEY,
    created_at BIGINT          NOT NULL
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS user_groups (
    user_name  VARBINARY(1024) NOT NULL,
    group_name VARBINARY(1024) NOT NULL,
    PRIMARY KEY (user_name, group_name),
    CONSTRAINT user_groups_user FOREIGN KEY (user_name) REFERENCES users (name) ON DELETE CASCADE
) ENGINE = InnoDB;

-- Tokens and access keys name their user without a foreign key: both may be
-- issued to users that have no users row (groups unresolved yet).
CREATE TABLE IF NOT EXISTS tokens (
    hash       VARBINARY(255)  NOT NULL PRIMARY KEY,
    user_name  VARBINARY(1024) NOT NULL,
    created_at BIGINT          NOT NULL,
    expires_at BIGINT          NULL,
    INDEX tokens_user_name (user_name)
) ENGINE = InnoDB;

-- One row, increased by every committed policy update; UpdatePolicy's
-- UPDATE of it takes the row lock that serializes policy updates.
CREATE TABLE IF NOT EXISTS policy_version (
    id      INT    NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL,
    CHECK (id = 1)
) ENGINE = InnoDB;
INSERT INTO policy_version (id, version) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = id;

CREATE TABLE IF NOT EXISTS secrets (
    name  VARBINARY(255) NOT NULL PRIMARY KEY,
    value BLOB           NOT NULL
) ENGINE = InnoDB;

-- +goose Down
DROP TABLE secrets;
DROP TABLE policy_version;
DROP TABLE tokens;
DROP TABLE user_groups;
DROP TABLE users;
DROP TABLE grants;
DROP TABLE role_groups;
DROP TABLE roles;
