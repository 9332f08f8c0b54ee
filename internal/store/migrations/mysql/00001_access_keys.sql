-- +goose Up
-- Mirrors migrations/sqlite/00001 for MySQL 5.7/8.0 and MariaDB 10.6+.
-- Text is stored as binary strings (VARBINARY, BLOB): they compare byte by
-- byte, exactly as SQLite's BINARY collation does, where utf8mb4_bin would
-- ignore trailing spaces (PAD SPACE) on MySQL 5.7 and MariaDB. Keyed
-- columns are bounded (InnoDB keys hold at most 3072 bytes): names and ids
-- up to 1024 bytes. Times are Unix milliseconds (UTC); expires_at NULL
-- means never. The store's connections run in strict mode, so a value too
-- long is refused, never cut. MySQL commits DDL statement by statement:
-- IF NOT EXISTS lets the migrations that create tables (00001, 00002) run
-- again after failing half way. The ADD COLUMN ones (00003, 00004) cannot:
-- MySQL 5.7 and 8.0 have no ADD COLUMN IF NOT EXISTS; if the column was
-- added and the version not recorded, the next start fails with a
-- duplicate column and the version is recorded by hand (README, "MySQL
-- migrations").
CREATE TABLE IF NOT EXISTS access_keys (
    access_key_id     VARBINARY(1024) NOT NULL PRIMARY KEY,
    secret_access_key BLOB            NOT NULL,
    user_name         VARBINARY(1024) NOT NULL,
    session_token     MEDIUMBLOB      NOT NULL,
    created_at        BIGINT          NOT NULL,
    expires_at        BIGINT          NULL,
    INDEX access_keys_user_name (user_name),
    INDEX access_keys_expires_at (expires_at)
) ENGINE = InnoDB;

-- +goose Down
DROP TABLE access_keys;
