package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/lakegate/lakegate/internal/atomicfile"
	"github.com/lakegate/lakegate/internal/authz"
	"github.com/lakegate/lakegate/internal/config"
	"github.com/lakegate/lakegate/internal/credentials"
)

// AdminTokenFile is the file in the data directory holding the admin token
// serve creates when the configuration names no admin credential.
const AdminTokenFile = "admin-token"

// reservedGroups are the groups only the users table may confer: the
// bootstrap admin group, unless admin.groups names it.
func reservedGroups(a config.Admin) []string {
	for _, g := range a.Groups {
		if strings.EqualFold(g, AdminGroup) {
			return nil
		}
	}
	return []string{AdminGroup}
}

// bootstrapAdmin makes the bootstrap admin ready: the configured access key
// and token, or, with neither configured, a token kept in
// <data_dir>/admin-token (created mode 0600 on the first start); then the
// groups of admin.groups are made catalog admin. It logs who the catalog
// admins are and where the created token is, never the token.
func bootstrapAdmin(ctx context.Context, cfg *config.Config, engine *authz.Engine, creds *credentials.Service, tokens *credentials.Tokens, logger *slog.Logger) error {
	token := cfg.Admin.Token
	tokenFile := ""
	if cfg.Admin.AccessKeyID == "" && token == "" {
		tokenFile = filepath.Join(cfg.DataDir, AdminTokenFile)
		var created bool
		var err error
		if token, created, err = loadOrCreateToken(tokenFile); err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
		msg := "admin token read from the data directory (admin.token is not set)"
		if created {
			msg = "admin token created in the data directory (admin.token is not set)"
		}
		logger.Info(msg, "file", tokenFile,
			"use", "export LAKEGATE_TOKEN=$(cat "+tokenFile+") for lakegate sql, users, check and audit query")
	}
	if err := engine.Bootstrap(ctx, AdminUser, AdminGroup); err != nil {
		return err
	}
	if cfg.Admin.AccessKeyID != "" {
		if err := creds.Ensure(ctx, cfg.Admin.AccessKeyID, cfg.Admin.SecretAccessKey, AdminUser); err != nil {
			return err
		}
		logger.Info("admin access key ready", "access_key_id", cfg.Admin.AccessKeyID)
	}
	if token != "" {
		err := tokens.Ensure(ctx, token, AdminUser)
		switch {
		case errors.Is(err, credentials.ErrTokenRevoked) && tokenFile != "":
			// The admin's credentials were revoked: a new token
			// replaces the file's, which stays refused.
			if err = writeNewToken(ctx, tokenFile, tokens); err != nil {
				return fmt.Errorf("admin token in %s: %w", tokenFile, err)
			}
			logger.Warn("the admin token in the data directory was revoked; a new one was created in its place", "file", tokenFile)
		case errors.Is(err, credentials.ErrTokenRevoked):
			logger.Warn("admin.token was revoked and is not registered again; set a new one to use an admin token")
		case err != nil && tokenFile != "":
			return fmt.Errorf("admin token in %s: %w", tokenFile, err)
		case err != nil:
			return err
		}
	}
	granted, revoked, err := engine.SyncAdminGroups(ctx, cfg.Admin.Groups)
	if err != nil {
		return err
	}
	if len(granted) > 0 {
		logger.Info("granted role "+authz.ConfigAdminRole+" to the groups of admin.groups", "groups", granted)
	}
	if len(revoked) > 0 {
		logger.Info("revoked role "+authz.ConfigAdminRole+" from groups no longer in admin.groups", "groups", revoked)
	}
	groups := "none"
	if len(cfg.Admin.Groups) > 0 {
		groups = strings.Join(cfg.Admin.Groups, ",")
	}
	logger.Info("catalog admins: user "+AdminUser+", the groups of admin.groups and groups granted ALL ON SERVER; "+
		"a group named "+AdminGroup+" from a JWT, the group resolver, LDAP or the host is not one unless admin.groups names it",
		"admin.groups", groups)
	return nil
}

// writeNewToken replaces the token in path with a new one (mode 0600)
// and registers it for the admin.
func writeNewToken(ctx context.Context, path string, tokens *credentials.Tokens) error {
	token := credentials.TokenPrefix + credentials.RandomToken(40)
	if err := atomicfile.Write(path, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	return tokens.Ensure(ctx, token, AdminUser)
}

// loadOrCreateToken reads the token in path, or writes a new one there
// (mode 0600) when the file does not exist. An existing file others may
// read is made 0600.
func loadOrCreateToken(path string) (token string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", false, err
			}
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if token = strings.TrimSpace(line); !strings.HasPrefix(token, credentials.TokenPrefix) {
			return "", false, fmt.Errorf("%s does not hold a lakegate token (want %s…); remove it to have a new one created", path, credentials.TokenPrefix)
		}
		return token, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}
	token = credentials.TokenPrefix + credentials.RandomToken(40)
	if err := atomicfile.Write(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, err
	}
	return token, true, nil
}
