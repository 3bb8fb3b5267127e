package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	fiberpg "github.com/gofiber/storage/postgres/v3"
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

func runServe(ctx context.Context, e *env, args []string) error {
	cfg, logger, err := loadConfig(e, flag.NewFlagSet("serve", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	logger.Info("starting", "config", cfg)
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	signingKey, err := database.Secret(ctx, odb.DB, "signing-key", 32)
	if err != nil {
		return err
	}
	httpState, err := openHTTPState(ctx, odb.DSN)
	if err != nil {
		return err
	}
	defer httpState.Close()

	svc, err := newServices(cfg, odb.DB, logger)
	if err != nil {
		return err
	}
	desk, email, slaService := svc.desk, svc.email, svc.sla
	knowledge, err := openKnowledge(ctx, cfg, odb.DB, logger)
	if err != nil {
		return err
	}
	defer knowledge.Close()
	if n, err := email.mailboxes.Rekey(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("resealed mailbox passwords with the current encryption key", "mailboxes", n)
	}
	app, err := web.New(web.Deps{
		SLA:        slaService,
		Config:     cfg,
		DB:         odb.DB,
		Desk:       desk,
		Customers:  tickets.NewCustomers(odb.DB),
		Staff:      tickets.NewStaff(odb.DB),
		Purchases:  tickets.NewPurchases(desk),
		Knowledge:  knowledge,
		HTTPState:  httpState,
		SigningKey: signingKey,
		Logger:     logger,
		Mail:       email.webDeps(odb.DB),
		Notify:     notifyByEmail(odb.DB),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (HELPDESK_ADDR): %w", cfg.Addr, err)
	}

	jobsCtx, stopJobs := context.WithCancel(context.Background())
	var jobs sync.WaitGroup
	if cfg.AutoClose > 0 {
		jobs.Go(func() { autoCloseLoop(jobsCtx, desk, cfg.AutoClose, logger) })
	}
	for _, job := range customerValueJobs(jobsCtx, desk, logger) {
		jobs.Go(job)
	}
	jobs.Go(func() { email.runner.Run(jobsCtx) })
	jobs.Go(func() { knowledge.Run(jobsCtx) })
	jobs.Go(func() { email.sender.Run(jobsCtx) })
	if cfg.SLASweepEvery > 0 {
		jobs.Go(func() { slaService.Run(jobsCtx, cfg.SLASweepEvery) })
	}
	jobs.Go(dashboardRollups(jobsCtx, slaService, logger))
	jobs.Go(signInUpkeep(jobsCtx, tickets.NewStaff(odb.DB), desk, logger))

	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "url", cfg.BaseURL, "support_form", cfg.BaseURL+"/support")

	select {
	case err = <-served:
	case <-ctx.Done():
		logger.Info("shutting down")
		err = app.ShutdownWithTimeout(30 * time.Second)
	}
	stopJobs()
	jobs.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// openHTTPState opens the store of HTTP state that every node must share (the support form's
// rate-limit counters), on a small pool of its own because the library closes the pool it is given.
func openHTTPState(ctx context.Context, dsn string) (store *fiberpg.Storage, err error) {
	poolCfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("DATABASE_URL is not a valid PostgreSQL URL or key=value string")
	}
	poolCfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("http state: %w", err)
	}
	// The library panics where it could return an error.
	defer func() {
		if r := recover(); r != nil {
			pool.Close()
			store, err = nil, fmt.Errorf("http state: %v", r)
		}
	}()
	// The table comes from our migrations; the library only checks its shape.
	return fiberpg.New(fiberpg.Config{DB: pool, Table: "http_state", GCInterval: time.Minute}), nil
}

// notifyByEmail queues a system message (a password reset link) in the outbox, from the first
// mailbox, so that it goes out with the same retries and delivery records as every other mail.
func notifyByEmail(db *gorm.DB) func(ctx context.Context, to, subject, text string) error {
	return func(ctx context.Context, to, subject, text string) error {
		return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return mailout.Enqueue(tx, mailout.Outgoing{Kind: mailout.KindNotice, To: []string{to}, Subject: subject, Text: text})
		})
	}
}

// autoCloseLoop closes tickets that have stayed solved for the configured time. Every node runs
// it; the query takes rows with SKIP LOCKED, so they never close a ticket twice.
func autoCloseLoop(ctx context.Context, desk *tickets.Desk, after time.Duration, logger *slog.Logger) {
	ticker := time.NewTicker(time.Minute)
	defer ticker.Stop()
	for {
		for {
			n, err := desk.CloseSolved(ctx, after, 500)
			if err != nil {
				if ctx.Err() == nil {
					logger.Error("auto-close", "error", err)
				}
				break
			}
			if n > 0 {
				logger.Info("auto-closed solved tickets", "count", n)
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
