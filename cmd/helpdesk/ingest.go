package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

// emailChannel is the email channel wired for a command: mailboxes and their keyring, the hook
// that queues acknowledgements and replies on the desk, the ingest runner and the sender.
type emailChannel struct {
	mailboxes *mailin.Mailboxes
	runner    *mailin.Runner
	sender    *mailout.Sender
}

// newEmailChannel wires the email channel and registers its hook on desk, which must not have
// been used yet.
func newEmailChannel(cfg *config.Config, db *gorm.DB, desk *tickets.Desk, logger *slog.Logger) (*emailChannel, error) {
	keys, err := mailin.NewKeyring(cfg.Mail.EncryptionKey, cfg.Mail.OldKeys...)
	if err != nil {
		return nil, err
	}
	mailboxes := mailin.NewMailboxes(db, keys)
	mail := mailout.New(mailout.Options{
		AckLimit: cfg.Mail.AckLimit,
		// Every mail to a customer carries their own expiring link to the portal; one that
		// also reaches others carries the portal's front page instead.
		TicketURL: func(int64) string { return cfg.BaseURL + "/portal" },
		PortalLink: func(tx *gorm.DB, ticketID int64) (string, error) {
			token, err := tickets.IssuePortalLink(tx, ticketID, cfg.PortalLinkTTL)
			if err != nil {
				return "", err
			}
			return web.PortalLinkURL(cfg.BaseURL, token), nil
		},
		Logger: logger,
	})
	desk.AddHook(mail.Hook)
	return &emailChannel{
		mailboxes: mailboxes,
		runner: mailin.NewRunner(db, desk, mailboxes, mailin.RunnerOptions{
			PollInterval: cfg.Mail.PollInterval, MaxMessageBytes: cfg.Mail.MaxMessageBytes, Logger: logger,
		}),
		sender: mailout.NewSender(db, mailboxes, mailout.SenderOptions{Logger: logger}),
	}, nil
}

// webDeps is what the web layer needs of the email channel.
func (ch *emailChannel) webDeps(db *gorm.DB) *web.MailDeps {
	return &web.MailDeps{Mailboxes: ch.mailboxes, Quarantine: mailin.NewQuarantine(db, ch.runner.Ingester()), DB: db}
}

// runIngest reads every mailbox: once with --once (for cron and tests), else until interrupted.
// With --once it also sends the mail that is due (acknowledgements of what it took in), so that
// a cron job alone runs the email channel.
func runIngest(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	once := fs.Bool("once", false, "read every mailbox once, send due mail, and exit")
	noSend := fs.Bool("no-send", false, "with --once, do not send due mail")
	cfg, logger, err := loadConfig(e, fs, args)
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
	ch := svc.email
	if !*once {
		logger.Info("reading mailboxes until interrupted")
		ch.runner.Run(ctx)
		return nil
	}
	reports, err := ch.runner.RunOnce(ctx)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range reports {
		s := r.Stats
		if r.Err != nil {
			failed++
			fmt.Fprintf(e.stdout, "%s: error: %v\n", r.Mailbox.Name, r.Err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: %d fetched, %d new tickets, %d added to tickets, %d duplicates, %d quarantined, %d bounces\n",
			r.Mailbox.Name, s.Fetched, s.Tickets, s.Messages, s.Duplicates, s.Quarantined, s.Bounces)
	}
	if len(reports) == 0 {
		fmt.Fprintln(e.stdout, "no mailboxes are configured (helpdesk mailbox add)")
	}
	if !*noSend {
		sent, err := ch.sender.SendDue(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "mail sent: %d, to retry: %d, failed: %d\n", sent.Sent, sent.Retrying, sent.Failed)
	}
	if failed > 0 {
		return errors.New("some mailboxes could not be read")
	}
	return nil
}
