-- +goose Up
-- A grant's options: the canonical text of its HAVING ATTRIBUTE and
-- TRANSFORM clauses, '' when none, part of its identity like every other
-- field (mirrors migrations/sqlite/00006). The unique grant_key becomes
-- the hash of seven fields: lakegate_grant_key_v2 is 00002's
-- lakegate_grant_key with options before privilege. Existing rows keep
-- their ids, get options '' and their key recomputed; goose runs this in
-- one transaction.
-- +goose StatementBegin
CREATE FUNCTION lakegate_grant_key_v2(role_name TEXT, object_kind TEXT, object_name TEXT,
    column_list TEXT, row_filter TEXT, options TEXT, privilege TEXT) RETURNS BYTEA
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT sha256(convert_to(
        length(role_name) || ':' || role_name ||
        length(object_kind) || ':' || object_kind ||
        length(object_name) || ':' || object_name ||
        length(column_list) || ':' || column_list ||
        length(row_filter) || ':' || row_filter ||
        length(options) || ':' || options ||
        length(privilege) || ':' || privilege, 'UTF8'))
$$;
-- +goose StatementEnd

ALTER TABLE grants ADD COLUMN options TEXT NOT NULL DEFAULT '';
-- Dropping the column drops its constraint grants_grant_key.
ALTER TABLE grants DROP COLUMN grant_key;
ALTER TABLE grants ADD COLUMN grant_key BYTEA NOT NULL GENERATED ALWAYS AS
    (lakegate_grant_key_v2(role_name, object_kind, object_name, column_list, row_filter, options, privilege)) STORED;
ALTER TABLE grants ADD CONSTRAINT grants_grant_key UNIQUE (grant_key);
DROP FUNCTION lakegate_grant_key(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);

-- +goose Down
-- Back to 00002's key. A grant with options is deleted rather than kept
-- without them: without its HAVING ATTRIBUTE or TRANSFORM clause it would
-- give more than it gave (fail closed).
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

DELETE FROM grants WHERE options <> '';
ALTER TABLE grants DROP COLUMN grant_key;
ALTER TABLE grants DROP COLUMN options;
ALTER TABLE grants ADD COLUMN grant_key BYTEA NOT NULL GENERATED ALWAYS AS
    (lakegate_grant_key(role_name, object_kind, object_name, column_list, row_filter, privilege)) STORED;
ALTER TABLE grants ADD CONSTRAINT grants_grant_key UNIQUE (grant_key);
DROP FUNCTION lakegate_grant_key_v2(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
