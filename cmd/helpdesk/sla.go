package main

import (
	"context"
	"errors"
	"log/slog"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// newSLA starts the SLA service on desk: from now on every ticket change moves its clocks in its
// own transaction, and escalation notices go out by email through the outbox.
func newSLA(db *gorm.DB, desk *tickets.Desk, cfg *config.Config, logger *slog.Logger) *sla.Service {
	return sla.New(db, desk, sla.Options{
		Logger:  logger,
		BaseURL: cfg.BaseURL,
		Mailer: func(ctx context.Context, tx *gorm.DB, m sla.Email) error {
			err := mailout.Enqueue(tx, mailout.Outgoing{
				Kind: mailout.KindNotice, TicketID: m.TicketID, To: []string{m.ToAddress}, Subject: m.Subject, Text: m.Body,
			})
			var invalid *tickets.ValidationError
			if errors.As(err, &invalid) {
				// One unusable address must not hold back every other notice of the sweep.
				logger.Warn("sla: notice not emailed", "ticket_id", m.TicketID, "error", err)
				return nil
			}
			return err
		},
	})
}
