-- +goose Up
-- Mirrors migrations/sqlite/00005: the catalog's databases, tables and
-- partitions. Names compare exactly (byte equality); a table's columns,
-- partition columns and properties are one JSON document (columns_json,
-- TEXT: the store encodes it and compares nothing inside). Partitions name
-- their table by id, so that a renamed table keeps them.
CREATE TABLE catalog_databases (
    name       TEXT   NOT NULL PRIMARY KEY,
    comment    TEXT   NOT NULL DEFAULT '',
    location   TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE catalog_tables (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    database_name   TEXT   NOT NULL REFERENCES catalog_databases (name) ON DELETE CASCADE,
    name            TEXT   NOT NULL,
    location        TEXT   NOT NULL,
    format          TEXT   NOT NULL,
    comment         TEXT   NOT NULL DEFAULT '',
    field_delimiter TEXT   NOT NULL DEFAULT '',
    columns_json    TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    -- Also serves the foreign key.
    CONSTRAINT catalog_tables_name UNIQUE (database_name, name)
);

CREATE TABLE catalog_partitions (
    table_id   BIGINT NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    spec       TEXT   NOT NULL,
    location   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (table_id, spec)
);

-- +goose Down
DROP TABLE catalog_partitions;
DROP TABLE catalog_tables;
DROP TABLE catalog_databases;
