package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/openhelpdesk/helpdesk/internal/demo"
	"github.com/openhelpdesk/helpdesk/knowledgebase"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	customers := fs.Int("customers", 200, "customers to add")
	ticketCount := fs.Int("tickets", 1000, "tickets to add")
	agents := fs.Int("agents", 12, "agents and supervisors to add")
	purchases := fs.Int("purchases", 0, "purchases to add (default 4 per customer; -1 for none)")
	seed := fs.Int64("seed", 1, "random seed; the same seed gives the same data")
	cfg, logger, err := loadConfig(e, fs, args)
	if err != nil {
		return err
	}
	if *customers < 1 || *ticketCount < 0 || *agents < 1 {
		return fmt.Errorf("--customers and --agents must be at least 1, --tickets at least 0")
	}
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	res, err := demo.Load(ctx, odb.DSN, demo.Options{Customers: *customers, Tickets: *ticketCount, Agents: *agents, Purchases: *purchases, Seed: *seed, Logger: logger})
	if err != nil {
		return err
	}
	// The sample rows were copied in bulk, past the search feed: every node rebuilds its index.
	if err := knowledgebase.RequestRebuild(ctx, odb.DB); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Added %d customers, %d tickets, %d messages, %d events, %d purchases, %d agents in %d teams in %s.\n",
		res.Customers, res.Tickets, res.Messages, res.Events, res.Purchases, res.Agents, res.Teams, res.Duration.Round(1e7))
	// The rows came in by COPY, past the desk's hooks: give the open tickets their SLA clocks,
	// and score everyone, so the sample shows value, tiers and clocks at once.
	svc, err := newServices(cfg, odb.DB, logger)
	if err != nil {
		return err
	}
	start := time.Now()
	clocks, err := svc.sla.Backfill(ctx)
	if err != nil {
		return err
	}
	moved, err := svc.desk.RecomputeAll(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Gave %d tickets their SLA clocks and scored every customer in %s: %d changed tier.\n",
		clocks, time.Since(start).Round(1e7), moved.Customers)
	return nil
}
