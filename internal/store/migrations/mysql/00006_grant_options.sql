-- +goose Up
-- A grant's options: the canonical text of its HAVING ATTRIBUTE and
-- TRANSFORM clauses, '' when none, part of its identity like every other
-- field (mirrors migrations/sqlite/00006). options is a MEDIUMBLOB like
-- row_filter and, like it, has no DEFAULT (MySQL before 8.0.13 allows
-- none on a BLOB): adding the NOT NULL column gives existing rows '', the
-- type's implicit default, and the store always writes it. The generated
-- grant_key is replaced by the hash of seven fields, options before
-- privilege, in one ALTER TABLE: MySQL commits each DDL statement on its
-- own, and one statement either happens or does not. Existing rows keep
-- their ids.
ALTER TABLE grants
    DROP INDEX grants_grant_key,
    DROP COLUMN grant_key,
    ADD COLUMN options MEDIUMBLOB NOT NULL AFTER row_filter,
    ADD COLUMN grant_key BINARY(32) AS (UNHEX(SHA2(CONCAT(
        LENGTH(role_name), ':', role_name,
        LENGTH(object_kind), ':', object_kind,
        LENGTH(object_name), ':', object_name,
        LENGTH(column_list), ':', column_list,
        LENGTH(row_filter), ':', row_filter,
        LENGTH(options), ':', options,
        LENGTH(privilege), ':', privilege), 256))) STORED AFTER options,
    ADD UNIQUE KEY grants_grant_key (grant_key);

-- +goose Down
-- Back to 00002's key. A grant with options is deleted rather than kept
-- without them: without its HAVING ATTRIBUTE or TRANSFORM clause it would
-- give more than it gave (fail closed).
DELETE FROM grants WHERE options <> '';
ALTER TABLE grants
    DROP INDEX grants_grant_key,
    DROP COLUMN grant_key,
    DROP COLUMN options,
    ADD COLUMN grant_key BINARY(32) AS (UNHEX(SHA2(CONCAT(
        LENGTH(role_name), ':', role_name,
        LENGTH(object_kind), ':', object_kind,
        LENGTH(object_name), ':', object_name,
        LENGTH(column_list), ':', column_list,
        LENGTH(row_filter), ':', row_filter,
        LENGTH(privilege), ':', privilege), 256))) STORED,
    ADD UNIQUE KEY grants_grant_key (grant_key);
