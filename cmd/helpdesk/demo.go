package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/openhelpdesk/helpdesk/internal/demo"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	customers := fs.Int("customers", 200, "customers to add")
	tickets := fs.Int("tickets", 1000, "tickets to add")
	agents := fs.Int("agents", 12, "agents and supervisors to add")
	seed := fs.Int64("seed", 1, "random seed; the same seed gives the same data")
	cfg, logger, err := loadConfig(e, fs, args)
	if err != nil {
		return err
	}
	if *customers < 1 || *tickets < 0 || *agents < 1 {
		return fmt.Errorf("--customers and --agents must be at least 1, --tickets at least 0")
	}
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	res, err := demo.Load(ctx, odb.DSN, demo.Options{Customers: *customers, Tickets: *tickets, Agents: *agents, Seed: *seed, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Added %d customers, %d tickets, %d messages, %d events, %d agents in %d teams in %s.\n",
		res.Customers, res.Tickets, res.Messages, res.Events, res.Agents, res.Teams, res.Duration.Round(1e7))
	return nil
}
