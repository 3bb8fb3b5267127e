package database_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
)

var dsn string

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m, func(d string) error { dsn = d; return nil }))
}

// A failing query is logged, but never with the values bound to it: they can be customer data
// or token hashes.
func TestFailingQueriesAreLoggedWithoutValues(t *testing.T) {
	var logs bytes.Buffer
	db, err := database.Open(context.Background(), dsn, database.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	const secret = "lucia.secret@example.com"
	var n int
	db.Raw(`SELECT count(*) FROM no_such_table WHERE email = ?`, secret).Scan(&n)
	db.Exec(`INSERT INTO no_such_table (email) VALUES (?)`, secret)
	if !strings.Contains(logs.String(), "no_such_table") {
		t.Fatalf("the failures were not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log holds a bound value:\n%s", logs.String())
	}
}

func TestSchemaIsCurrentAfterMigrate(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, dsn, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	if err := database.CheckCurrent(ctx, db); err != nil {
		t.Fatal(err)
	}
	applied, err := database.Migrate(ctx, db, nil)
	if err != nil || len(applied) != 0 {
		t.Errorf("second migrate applied %v, %v", applied, err)
	}
	list, err := database.Status(ctx, db)
	if err != nil || len(list) == 0 || !list[0].Applied || list[0].Name != "00001_foundation.sql" {
		t.Errorf("status = %+v, %v", list, err)
	}
	// A database that lacks the newest migration is behind, and says so.
	last := list[len(list)-1].Version
	if err := db.Exec(`DELETE FROM goose_db_version WHERE version_id = ?`, last).Error; err != nil {
		t.Fatal(err)
	}
	defer db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, true)`, last)
	if err := database.CheckCurrent(ctx, db); !errors.Is(err, database.ErrSchemaBehind) {
		t.Errorf("behind: %v", err)
	}
}

func TestSecretIsGeneratedOnceAndShared(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, dsn, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	a, err := database.Secret(ctx, db, "test-key", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("%x %v", a, err)
	}
	b, _ := database.Secret(ctx, db, "test-key", 32)
	if !bytes.Equal(a, b) {
		t.Error("a second call made a new secret")
	}
}

func TestOpenRejectsBadURLWithoutEchoingIt(t *testing.T) {
	_, err := database.Open(context.Background(), "postgres://user:hunter2@[bad", database.Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}
