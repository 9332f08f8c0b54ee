-- +goose Up
-- Mirrors migrations/sqlite/00003: the groups resolved when a key was
-- issued for an authenticated session (a JSON array of strings); '' for
-- keys whose user's groups come from the users table. A BLOB column takes
-- no DEFAULT on MySQL 5.7: existing rows get the implicit '' and the store
-- always writes the column.
ALTER TABLE access_keys ADD COLUMN session_groups MEDIUMBLOB NOT NULL;

-- +goose Down
ALTER TABLE access_keys DROP COLUMN session_groups;
