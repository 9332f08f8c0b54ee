-- +goose Up
-- The groups resolved when a token was issued for an authenticated session
-- (a JWT's groups claim, a group resolver's answer), stored like
-- access_keys.session_groups; '' for tokens whose user's groups are
-- resolved when the token is used.
ALTER TABLE tokens ADD COLUMN session_groups TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN session_groups;
