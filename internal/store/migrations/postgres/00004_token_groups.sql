-- +goose Up
-- Mirrors migrations/sqlite/00004: the groups resolved when a token was
-- issued for an authenticated session, stored like
-- access_keys.session_groups; '' for tokens whose user's groups are
-- resolved when the token is used.
ALTER TABLE tokens ADD COLUMN session_groups TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN session_groups;
