package app

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/postgres"
	"github.com/openproton/openproton/internal/store/sqlite"
)

// OpenStore opens the store the configuration names: PostgreSQL for a postgres:// URL,
// otherwise embedded SQLite in the data dir.
func OpenStore(ctx context.Context, cfg config.Server) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "openproton.db"))
	if err != nil {
		return nil, fmt.Errorf("open SQLite store: %w", err)
	}
	return st, nil
}
