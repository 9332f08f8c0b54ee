-- +goose Up
-- Mirrors migrations/sqlite/00003: the groups resolved when a key was
-- issued for an authenticated session (a JSON array of strings); '' for
-- keys whose user's groups come from the users table.
ALTER TABLE access_keys ADD COLUMN session_groups TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE access_keys DROP COLUMN session_groups;
