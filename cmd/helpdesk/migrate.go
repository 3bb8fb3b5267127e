package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/openhelpdesk/helpdesk/internal/database"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return fmt.Errorf("say what to do: helpdesk migrate up, or helpdesk migrate status")
	}
	action := args[0]
	cfg, logger, err := loadConfig(e, flag.NewFlagSet("migrate "+action, flag.ContinueOnError), args[1:])
	if err != nil {
		return err
	}
	odb, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	if action == "up" {
		applied, err := database.Migrate(ctx, odb.DB, logger)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(e.stdout, "The database is up to date.")
			return nil
		}
		fmt.Fprintf(e.stdout, "Applied %d migration(s): %v\n", len(applied), applied)
		return nil
	}
	list, err := database.Status(ctx, odb.DB)
	if err != nil {
		return err
	}
	for _, m := range list {
		state := "pending"
		if m.Applied {
			state = "applied " + m.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(e.stdout, "%5d  %-40s %s\n", m.Version, m.Name, state)
	}
	return nil
}
