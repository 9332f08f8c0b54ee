-- +goose Up
-- A grant's options: the canonical text of its HAVING ATTRIBUTE and
-- TRANSFORM clauses, '' when none, part of its identity like every other
-- field. SQLite cannot change a table's UNIQUE constraint in place, so the
-- table is rebuilt (https://sqlite.org/lang_altertable.html#otheralter):
-- a new table, the rows copied with their rowids and options '', the old
-- table dropped, the new one renamed. Nothing references grants, so no
-- foreign key needs to be switched off; goose runs this in one
-- transaction.
CREATE TABLE grants_00006 (
    role_name   TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    privilege   TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_name TEXT NOT NULL,
    column_list TEXT NOT NULL DEFAULT '',
    row_filter  TEXT NOT NULL DEFAULT '',
    options     TEXT NOT NULL DEFAULT '',
    UNIQUE (role_name, object_kind, object_name, column_list, row_filter, options, privilege)
);
INSERT INTO grants_00006 (rowid, role_name, privilege, object_kind, object_name, column_list, row_filter, options)
    SELECT rowid, role_name, privilege, object_kind, object_name, column_list, row_filter, '' FROM grants;
DROP TABLE grants;
ALTER TABLE grants_00006 RENAME TO grants;

-- +goose Down
-- Back to 00002's grants. A grant with options is deleted rather than
-- kept without them: without its HAVING ATTRIBUTE or TRANSFORM clause it
-- would give more than it gave (fail closed).
CREATE TABLE grants_00002 (
    role_name   TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    privilege   TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_name TEXT NOT NULL,
    column_list TEXT NOT NULL DEFAULT '',
    row_filter  TEXT NOT NULL DEFAULT '',
    UNIQUE (role_name, object_kind, object_name, column_list, row_filter, privilege)
);
INSERT INTO grants_00002 (rowid, role_name, privilege, object_kind, object_name, column_list, row_filter)
    SELECT rowid, role_name, privilege, object_kind, object_name, column_list, row_filter FROM grants
    WHERE options = '';
DROP TABLE grants;
ALTER TABLE grants_00002 RENAME TO grants;
