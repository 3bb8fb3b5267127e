package main

import (
	"log/slog"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// services are the desk with every hook that must see its changes (outgoing mail, SLA clocks,
// the search feed) and the channels built around it. Every command that changes tickets goes
// through newServices, so that none of them forgets a hook: a ticket taken in by a cron job
// must get its clocks and reach the search index like one from the web form.
type services struct {
	desk  *tickets.Desk
	email *emailChannel
	sla   *sla.Service
}

func newServices(cfg *config.Config, db *gorm.DB, logger *slog.Logger) (*services, error) {
	desk := tickets.NewDesk(db, tickets.Limits{MaxWriters: cfg.DBWriters})
	knowledgebase.AttachFeed(desk)
	email, err := newEmailChannel(cfg, db, desk, logger)
	if err != nil {
		return nil, err
	}
	return &services{desk: desk, email: email, sla: newSLA(db, desk, cfg, logger)}, nil
}
