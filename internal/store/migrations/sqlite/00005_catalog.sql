-- +goose Up
-- The catalog: databases, external tables over s3:// locations and their
-- partitions. Names compare exactly (BINARY collation); the server
-- lower-cases them. A table's columns, partition columns and properties
-- are one JSON document (columns_json), encoded and decoded by the store.
-- Partitions name their table by id, so that renaming a table, even into
-- another database, leaves them attached. Times are Unix milliseconds.
CREATE TABLE catalog_databases (
    name       TEXT    NOT NULL PRIMARY KEY,
    comment    TEXT    NOT NULL DEFAULT '',
    location   TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE catalog_tables (
    id              INTEGER NOT NULL PRIMARY KEY,
    database_name   TEXT    NOT NULL REFERENCES catalog_databases (name) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    location        TEXT    NOT NULL,
    format          TEXT    NOT NULL,
    comment         TEXT    NOT NULL DEFAULT '',
    field_delimiter TEXT    NOT NULL DEFAULT '',
    columns_json    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Also serves the foreign key.
    UNIQUE (database_name, name)
);

CREATE TABLE catalog_partitions (
    table_id   INTEGER NOT NULL REFERENCES catalog_tables (id) ON DELETE CASCADE,
    spec       TEXT    NOT NULL,
    location   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (table_id, spec)
);

-- +goose Down
DROP TABLE catalog_partitions;
DROP TABLE catalog_tables;
DROP TABLE catalog_databases;
