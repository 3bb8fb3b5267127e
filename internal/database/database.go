// Package database opens the PostgreSQL pool the help desk runs on and keeps its schema current.
package database

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/openhelpdesk/helpdesk/migrations"
)

// Options tune the pool. Zero values take the defaults.
type Options struct {
	MaxConns      int           // open connections at most; default 20
	SlowQuery     time.Duration // queries slower than this are logged; default 200ms
	Logger        *slog.Logger
	ApplicationID string // shown in pg_stat_activity; default "helpdesk"
}

var hideRecordedParams sync.Once

// Open connects to dsn and checks the connection. SQL is logged only when slow or failing, and
// always without its parameters, which can hold token hashes and customer data.
func Open(ctx context.Context, dsn string, opts Options) (*gorm.DB, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 20
	}
	if opts.SlowQuery <= 0 {
		opts.SlowQuery = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ApplicationID == "" {
		opts.ApplicationID = "helpdesk"
	}
	pgxConfig, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, errors.New("database: DATABASE_URL is not a valid PostgreSQL URL or key=value string")
	}
	if _, ok := pgxConfig.RuntimeParams["application_name"]; !ok {
		pgxConfig.RuntimeParams["application_name"] = opts.ApplicationID
	}
	hideRecordedParams.Do(func() {
		// GORM's Scan records SQL through a recorder that ignores ParameterizedQueries below
		// unless this hook says otherwise; without it, a failing Raw().Scan() logs its values.
		logger.RecorderParamsFilter = func(_ context.Context, sql string, _ ...any) (string, []any) { return sql, nil }
	})
	sqlDB := stdlib.OpenDB(*pgxConfig)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		// Every write that needs a transaction opens one explicitly.
		SkipDefaultTransaction: true,
		Logger: quietLogger{
			Interface: logger.NewSlogLogger(opts.Logger, logger.Config{
				SlowThreshold:             opts.SlowQuery,
				LogLevel:                  logger.Warn,
				IgnoreRecordNotFoundError: true,
				ParameterizedQueries:      true,
			}),
			slow: opts.SlowQuery,
		},
		TranslateError: true,
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("database: open: %w", err)
	}
	sqlDB.SetMaxOpenConns(opts.MaxConns)
	sqlDB.SetMaxIdleConns(opts.MaxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("database: connect: %w", err)
	}
	return gdb, nil
}

// quietLogger skips GORM's tracing of queries that will not be logged. GORM's slog logger builds
// the SQL text of every query (with a regular expression) before deciding to drop it, which costs
// more CPU than the query's own round trip on a busy node.
type quietLogger struct {
	logger.Interface
	slow time.Duration
}

func (l quietLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if (err == nil || errors.Is(err, gorm.ErrRecordNotFound)) && time.Since(begin) < l.slow {
		return
	}
	l.Interface.Trace(ctx, begin, fc, err)
}

// ParamsFilter keeps bound values out of logged SQL: they can be customer data or token hashes.
func (l quietLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (l quietLogger) LogMode(level logger.LogLevel) logger.Interface {
	return quietLogger{Interface: l.Interface.LogMode(level), slow: l.slow}
}

// ErrSchemaBehind means the database lacks migrations this binary needs.
var ErrSchemaBehind = errors.New("database schema is behind this binary")

// ErrSchemaAhead means a newer binary has migrated the database past what this one knows.
var ErrSchemaAhead = errors.New("database schema is newer than this binary")

func newProvider(db *gorm.DB, logger *slog.Logger) (*goose.Provider, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// Several nodes may start at once; the session lock lets one migrate while the others wait.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	return goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, opts...)
}

// Migrate applies every pending migration, each in its own transaction, and returns the versions
// it applied.
func Migrate(ctx context.Context, db *gorm.DB, logger *slog.Logger) ([]int64, error) {
	p, err := newProvider(db, logger)
	if err != nil {
		return nil, fmt.Errorf("database: migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// MigrationStatus is one migration and whether the database has it.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every migration the binary carries and whether it is applied.
func Status(ctx context.Context, db *gorm.DB) ([]MigrationStatus, error) {
	p, err := newProvider(db, nil)
	if err != nil {
		return nil, fmt.Errorf("database: status: %w", err)
	}
	list, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(list))
	for _, s := range list {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Name:      baseName(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

func baseName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}

// CheckCurrent returns nil when the database holds exactly the migrations this binary carries,
// and an error wrapping ErrSchemaBehind or ErrSchemaAhead, naming both versions, otherwise.
func CheckCurrent(ctx context.Context, db *gorm.DB) error {
	p, err := newProvider(db, nil)
	if err != nil {
		return fmt.Errorf("database: check schema: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("database: check schema: %w", err)
	}
	switch {
	case current < target:
		return fmt.Errorf("%w: database is at version %d, binary needs %d (run `helpdesk migrate up`)", ErrSchemaBehind, current, target)
	case current > target:
		return fmt.Errorf("%w: database is at version %d, binary knows up to %d (upgrade the binary)", ErrSchemaAhead, current, target)
	}
	return nil
}

// Secret returns the installation's secret called name, generating size random bytes the first
// time. Every node reads the same value, so signatures made on one node verify on another.
func Secret(ctx context.Context, db *gorm.DB, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("database: secret %s: %w", name, err)
	}
	var value []byte
	// Insert-or-read, so that two nodes starting together agree on one value. The read can miss a
	// row committed by the other node during the statement; the second round then sees it.
	var err error
	for round := 0; round < 2; round++ {
		err = db.WithContext(ctx).Raw(`
		WITH inserted AS (
			INSERT INTO app_secrets (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING
			RETURNING value
		)
		SELECT value FROM inserted
		UNION ALL
		SELECT value FROM app_secrets WHERE name = ?
		LIMIT 1`, name, fresh, name).Row().Scan(&value)
		if !errors.Is(err, sql.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("database: secret %s: %w", name, err)
	}
	return value, nil
}

// Close releases the pool.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
