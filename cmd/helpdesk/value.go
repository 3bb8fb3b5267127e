package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// runImport reads purchases from a CSV file. Every bad row is printed with its line; a file with
// bad rows imports nothing unless --skip-invalid.
func runImport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "purchases" {
		return errors.New("say what to import: helpdesk import purchases FILE [--skip-invalid]")
	}
	fs := flag.NewFlagSet("import purchases", flag.ContinueOnError)
	skip := fs.Bool("skip-invalid", false, "import the good rows of a file that has bad ones")
	// The file comes first, as people type it; flags may follow.
	if len(args) < 2 || args[1] == "" || args[1][0] == '-' {
		return errors.New("give the CSV file: helpdesk import purchases FILE [--skip-invalid]")
	}
	path := args[1]
	cfg, logger, err := loadConfig(e, fs, args[2:])
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	svc, err := newServices(cfg, odb.DB, logger)
	if err != nil {
		return err
	}
	res, err := tickets.NewPurchases(svc.desk).Import(ctx, tickets.SystemActor, f, *skip)
	if res != nil {
		for _, le := range res.Errors {
			field := ""
			if le.Field != "" {
				field = le.Field + ": "
			}
			fmt.Fprintf(e.stdout, "%s:%d: %s%s\n", path, le.Line, field, le.Message)
		}
		if err == nil {
			fmt.Fprintf(e.stdout, "Imported %d of %d rows (%d already recorded, %d refused); rescored %d customers.\n",
				res.Imported, res.Rows, res.Duplicates, len(res.Errors), res.Customers)
		}
	}
	if errors.Is(err, tickets.ErrImportRejected) {
		return fmt.Errorf("%s has %d bad rows; nothing was imported (fix them, or pass --skip-invalid)", path, len(res.Errors))
	}
	return err
}

// runScores recomputes every customer's scores.
func runScores(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "recompute" {
		return errors.New("say what to do: helpdesk scores recompute")
	}
	cfg, logger, err := loadConfig(e, flag.NewFlagSet("scores recompute", flag.ContinueOnError), args[1:])
	if err != nil {
		return err
	}
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	svc, err := newServices(cfg, odb.DB, logger)
	if err != nil {
		return err
	}
	moved, err := svc.desk.RecomputeAll(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Scored every customer: %d changed tier, %d open tickets changed priority.\n", moved.Customers, moved.Priorities)
	return nil
}
