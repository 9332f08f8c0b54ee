-- +goose Up
-- Mirrors migrations/sqlite/00005: the catalog's databases, tables and
-- partitions. Binary strings (byte-exact comparison) and bounds as in
-- 00002; the store checks the bounds first and refuses longer values with
-- a clear error. Keys stay under InnoDB's 3072 bytes: a database and a
-- table name at most 1024 bytes each, a partition spec at most 2048.
-- columns_json holds a table's columns, partition columns and properties
-- (at most 4 MiB, checked by the store). Partitions name their table by
-- id, so that a renamed table keeps them. IF NOT EXISTS lets a migration
-- that failed half way run again (MySQL commits each CREATE TABLE).
CREATE TABLE IF NOT EXISTS catalog_databases (
    name       VARBINARY(1024) NOT NULL PRIMARY KEY,
    comment    MEDIUMBLOB      NOT NULL,
    location   BLOB            NOT NULL,
    created_at BIGINT          NOT NULL
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS catalog_tables (
    id              BIGINT          NOT NULL AUTO_INCREMENT PRIMARY KEY,
    database_name   VARBINARY(1024) NOT NULL,
    name            VARBINARY(1024) NOT NULL,
    location        BLOB            NOT NULL,
    format          VARBINARY(64)   NOT NULL,
    comment         MEDIUMBLOB      NOT NULL,
    field_delimiter VARBINARY(64)   NOT NULL,
    columns_json    MEDIUMBLOB      NOT NULL,
    created_at      BIGINT          NOT NULL,
    UNIQUE KEY catalog_tables_name (database_name, name),
    CONSTRAINT catalog_tables_database FOREIGN KEY (database_name)
        REFERENCES catalog_databases (name) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS catalog_partitions (
    table_id   BIGINT          NOT NULL,
    spec       VARBINARY(2048) NOT NULL,
    location   BLOB            NOT NULL,
    created_at BIGINT          NOT NULL,
    PRIMARY KEY (table_id, spec),
    CONSTRAINT catalog_partitions_table FOREIGN KEY (table_id)
        REFERENCES catalog_tables (id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- +goose Down
DROP TABLE catalog_partitions;
DROP TABLE catalog_tables;
DROP TABLE catalog_databases;
