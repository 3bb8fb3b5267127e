package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// every runs job at once and then every interval until ctx ends. A failing pass is logged and the
// next one tries again: jobs work from the database's state, so nothing is lost by waiting.
func every(ctx context.Context, interval time.Duration, name string, logger *slog.Logger, job func(context.Context) error) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil {
			logger.Error("job failed", "job", name, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// customerValueJobs keep scores and queues current: customers whose tickets or purchases changed
// are rescored within half a minute; everyone is rescored daily, since recency grows with every
// day that passes without a purchase; and waiting tickets go to agents who have room.
func customerValueJobs(ctx context.Context, desk *tickets.Desk, logger *slog.Logger) []func() {
	return []func(){
		func() {
			every(ctx, 30*time.Second, "rescore changed customers", logger, func(ctx context.Context) error {
				_, err := desk.RescoreChanged(ctx)
				return err
			})
		},
		func() {
			every(ctx, time.Hour, "daily scoring", logger, func(ctx context.Context) error {
				last, err := desk.LastBulkScoring(ctx)
				if err != nil || time.Since(last) < 24*time.Hour {
					return err
				}
				moved, err := desk.RecomputeAll(ctx)
				if err == nil {
					logger.Info("scored every customer", "tier_changes", moved.Customers, "priority_changes", moved.Priorities)
				}
				return err
			})
		},
		func() {
			every(ctx, time.Minute, "assign queued tickets", logger, func(ctx context.Context) error {
				n, err := desk.AssignAllQueued(ctx)
				if n > 0 {
					logger.Info("assigned queued tickets", "count", n)
				}
				return err
			})
		},
	}
}

// dashboardRollups refreshes the supervisor dashboard's figures every minute. Every node runs
// it; the advisory lock and the age check in RefreshRollups leave the work to one of them.
func dashboardRollups(ctx context.Context, svc *sla.Service, logger *slog.Logger) func() {
	return func() {
		every(ctx, time.Minute, "dashboard rollups", logger, func(ctx context.Context) error {
			_, err := svc.RefreshRollups(ctx, 50*time.Second)
			return err
		})
	}
}

// signInUpkeep deletes staff sessions and customer portal sessions that ended, and portal links
// long expired, so that those tables hold only what can still sign someone in. Deleting twice is
// harmless, so every node runs it.
func signInUpkeep(ctx context.Context, staff *tickets.Staff, desk *tickets.Desk, logger *slog.Logger) func() {
	return func() {
		every(ctx, time.Hour, "sign-in upkeep", logger, func(ctx context.Context) error {
			if err := staff.EndExpiredSessions(ctx); err != nil {
				return err
			}
			return desk.SweepPortal(ctx)
		})
	}
}
