// Package testdb gives each test package a fresh, migrated PostgreSQL database of its own and
// drops it afterwards. The server is DATABASE_URL's, else 127.0.0.1:5432 as user postgres, else a
// private cluster started from the system's PostgreSQL install, so `go test ./...` runs wherever
// PostgreSQL is installed.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/pgcluster"
)

const localServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Main creates the package's database, migrates it, hands its DSN to setup, runs the tests and
// drops the database. Use it from TestMain: os.Exit(testdb.Main(m, func(dsn string) error {...})).
func Main(m *testing.M, setup func(dsn string) error) int {
	ctx := context.Background()
	server, stop, err := serverDSN(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	defer stop()

	name := databaseName()
	if err := exec(ctx, server, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		fmt.Fprintln(os.Stderr, "testdb: create database:", err)
		return 1
	}
	defer func() {
		if err := exec(ctx, server, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "testdb: drop database:", err)
		}
	}()

	dsn, err := WithDatabase(server, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	if err := migrate(ctx, dsn); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	if err := setup(dsn); err != nil {
		fmt.Fprintln(os.Stderr, "testdb: setup:", err)
		return 1
	}
	return m.Run()
}

// serverDSN finds a server the tests may create databases on.
func serverDSN(ctx context.Context) (string, func(), error) {
	if dsn := os.Getenv("DATABASE_URL"); dsn != "" {
		return dsn, func() {}, nil
	}
	if reachable(ctx, localServer) {
		return localServer, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "helpdesk-testpg-")
	if err != nil {
		return "", nil, err
	}
	// The cluster may run as the postgres user, which must be able to enter the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", nil, err
	}
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Database: "postgres", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("no DATABASE_URL, nothing on 127.0.0.1:5432, and no private cluster: %w", err)
	}
	return cluster.DSNFor("postgres"), func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cluster.Stop(stopCtx)
		os.RemoveAll(dir)
	}, nil
}

func reachable(ctx context.Context, dsn string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

func exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// databaseName names the database after the test binary, so a leftover one says where it came from.
func databaseName() string {
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	var b strings.Builder
	for _, r := range strings.ToLower(pkg) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	return "helpdesk_test_" + b.String() + "_" + hex.EncodeToString(suffix)
}

// WithDatabase returns dsn pointed at database name, for both URL and keyword/value DSNs.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// In keyword/value form a later key overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

func migrate(ctx context.Context, dsn string) error {
	db, err := database.Open(ctx, dsn, database.Options{MaxConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer database.Close(db)
	_, err = database.Migrate(ctx, db, nil)
	return err
}
