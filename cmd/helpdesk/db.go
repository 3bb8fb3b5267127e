package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/pgcluster"
)

// openedDB is a database connection and, when it runs one, the private cluster behind it.
type openedDB struct {
	DB      *gorm.DB
	DSN     string
	cluster *pgcluster.Cluster
	logger  *slog.Logger
}

// openDB connects to DATABASE_URL, or without one starts (or joins) the private cluster under
// the data dir.
func openDB(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*openedDB, error) {
	o := &openedDB{DSN: cfg.DatabaseURL, logger: logger}
	if o.DSN == "" {
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Logger: logger})
		if errors.Is(err, pgcluster.ErrNoPostgres) {
			return nil, fmt.Errorf("DATABASE_URL is not set, so the help desk runs its own PostgreSQL, but: %w", err)
		}
		if err != nil {
			return nil, err
		}
		o.cluster, o.DSN = cluster, cluster.DSN()
	}
	db, err := database.Open(ctx, o.DSN, database.Options{MaxConns: cfg.DBMaxConns, Logger: logger})
	if err != nil {
		o.stopCluster()
		return nil, err
	}
	o.DB = db
	return o, nil
}

// Close closes the pool and stops the private cluster if this process started it.
func (o *openedDB) Close() {
	if o.DB != nil {
		database.Close(o.DB)
	}
	o.stopCluster()
}

func (o *openedDB) stopCluster() {
	if o.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.cluster.Stop(ctx); err != nil {
		o.logger.Error("stopping the private PostgreSQL", "error", err)
	}
}

// openCurrentDB is openDB for commands that work on the data: the schema is brought up to date
// when auto-migrate is on (the default), and otherwise must already be what this binary expects.
func openCurrentDB(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*openedDB, error) {
	o, err := openDB(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := o.prepareSchema(ctx, cfg); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

func (o *openedDB) prepareSchema(ctx context.Context, cfg *config.Config) error {
	if !cfg.AutoMigrate {
		return database.CheckCurrent(ctx, o.DB)
	}
	applied, err := database.Migrate(ctx, o.DB, o.logger)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		o.logger.Info("applied migrations", "versions", applied)
	}
	return nil
}
