package mailin

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// lockClass is the first key of the advisory locks that let one process at a time read a
// mailbox; the second is the mailbox id.
const lockClass = 0x6d61696c // "mail"

// Runner reads every enabled mailbox: a loop per mailbox that connects, takes in what is new,
// then waits on IDLE (or polls) and reconnects with backoff after any error.
type Runner struct {
	db           *gorm.DB
	mailboxes    *Mailboxes
	ingester     *Ingester
	logger       *slog.Logger
	pollInterval time.Duration
	maxBytes     int64
	tlsConfig    *tls.Config
	reload       time.Duration
	maxBackoff   time.Duration
	beforeSync   func() // tests count passes
	// batchMessages bounds a batch; the crash test makes it small to crash between many.
	batchMessages int
}

// RunnerOptions tune a Runner. Zero values take the defaults.
type RunnerOptions struct {
	PollInterval    time.Duration // without IDLE, and the longest IDLE before a fresh check; default 1m
	MaxMessageBytes int64         // default 25 MB
	Logger          *slog.Logger
	// TLSConfig, when set, is used for IMAP connections (a private CA, tests).
	TLSConfig *tls.Config
}

// NewRunner returns a runner that takes mail into desk.
func NewRunner(db *gorm.DB, desk *tickets.Desk, mailboxes *Mailboxes, opts RunnerOptions) *Runner {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Minute
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 25 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Runner{
		db: db, mailboxes: mailboxes,
		ingester:     NewIngester(db, desk, Options{MaxMessageBytes: opts.MaxMessageBytes, Logger: opts.Logger}),
		logger:       opts.Logger,
		pollInterval: opts.PollInterval,
		maxBytes:     opts.MaxMessageBytes,
		tlsConfig:    opts.TLSConfig,
		reload:       30 * time.Second,
		maxBackoff:   5 * time.Minute,

		batchMessages: defaultBatchMessages,
	}
}

// Ingester is the runner's ingester, for reprocessing quarantined mail.
func (r *Runner) Ingester() *Ingester { return r.ingester }

// keepBytes is how much of a message far over the limit is fetched for the quarantine.
func (r *Runner) keepBytes() int64 { return max(2*r.maxBytes, 64<<20) }

// Run reads every enabled mailbox until ctx ends, starting loops for mailboxes added meanwhile
// and stopping those disabled.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	running := map[int64]context.CancelFunc{}
	ticker := time.NewTicker(r.reload)
	defer ticker.Stop()
	for {
		list, err := r.mailboxes.List(ctx)
		if err != nil && ctx.Err() == nil {
			r.logger.Error("mailin: list mailboxes", "error", err)
		}
		enabled := map[int64]bool{}
		for _, m := range list {
			if !m.Enabled {
				continue
			}
			enabled[m.ID] = true
			if running[m.ID] == nil {
				loopCtx, cancel := context.WithCancel(ctx)
				running[m.ID] = cancel
				id := m.ID
				wg.Go(func() { r.loop(loopCtx, id) })
			}
		}
		for id, cancel := range running {
			if err == nil && !enabled[id] {
				cancel()
				delete(running, id)
			}
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-ticker.C:
		}
	}
}

// loop keeps one mailbox read, reconnecting with growing backoff after errors.
func (r *Runner) loop(ctx context.Context, id int64) {
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := r.withLock(ctx, id, func(conn *sql.Conn) error { return r.serve(ctx, id) })
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errLocked) {
			// Another process reads this mailbox; take over if it stops.
			sleep(ctx, r.reload)
			continue
		}
		if time.Since(started) > 2*time.Minute {
			backoff = time.Second
		}
		r.logger.Warn("mailin: mailbox loop failed; reconnecting", "mailbox_id", id, "error", err, "retry_in", backoff)
		r.mailboxes.recordStatus(context.WithoutCancel(ctx), id, err)
		// Jitter spreads the reconnections of many mailboxes after the server comes back.
		sleep(ctx, backoff+time.Duration(rand.Int64N(int64(backoff)/2+1)))
		backoff = min(2*backoff, r.maxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// serve runs one connection: take in what is new, wait for more, and again, until an error.
func (r *Runner) serve(ctx context.Context, id int64) error {
	mbox, err := r.mailboxes.Get(ctx, id)
	if err != nil {
		return err
	}
	s, err := r.connect(ctx, mbox)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.prepare(ctx); err != nil {
		return err
	}
	for {
		stats, err := s.sync(ctx)
		if err != nil {
			return err
		}
		if stats.Fetched > 0 {
			r.logger.Info("mail taken in", "mailbox", mbox.Name, "fetched", stats.Fetched, "tickets", stats.Tickets,
				"messages", stats.Messages, "duplicates", stats.Duplicates, "quarantined", stats.Quarantined, "bounces", stats.Bounces)
		}
		r.mailboxes.recordStatus(ctx, id, nil)
		if err := s.wait(ctx); err != nil {
			return err
		}
	}
}

var errLocked = errors.New("mailin: another process is reading this mailbox")

// withLock runs fn holding the mailbox's advisory lock on a connection of its own, so that of
// several serve processes exactly one reads a mailbox at a time. The lock goes with the
// connection if the process dies.
func (r *Runner) withLock(ctx context.Context, id int64, fn func(*sql.Conn) error) error {
	sqlDB, err := r.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mailin: lock mailbox: %w", err)
	}
	defer conn.Close()
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(lockClass), int32(id)).Scan(&ok); err != nil {
		return fmt.Errorf("mailin: lock mailbox: %w", err)
	}
	if !ok {
		return errLocked
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, int32(lockClass), int32(id))
	return fn(conn)
}

// MailboxReport is what one pass over a mailbox did.
type MailboxReport struct {
	Mailbox Mailbox
	Stats   SyncStats
	Err     error
}

// RunOnce reads every enabled mailbox once: connect, take in what is new, disconnect. A mailbox
// that another process is reading is reported as busy.
func (r *Runner) RunOnce(ctx context.Context) ([]MailboxReport, error) {
	list, err := r.mailboxes.List(ctx)
	if err != nil {
		return nil, err
	}
	var reports []MailboxReport
	for _, m := range list {
		if !m.Enabled {
			continue
		}
		stats, err := r.SyncOnce(ctx, m.ID)
		reports = append(reports, MailboxReport{Mailbox: m, Stats: stats, Err: err})
	}
	return reports, nil
}

// SyncOnce reads one mailbox once.
func (r *Runner) SyncOnce(ctx context.Context, id int64) (SyncStats, error) {
	var stats SyncStats
	err := r.withLock(ctx, id, func(*sql.Conn) error {
		mbox, err := r.mailboxes.Get(ctx, id)
		if err != nil {
			return err
		}
		s, err := r.connect(ctx, mbox)
		if err != nil {
			return err
		}
		defer s.close()
		if _, err := s.prepare(ctx); err != nil {
			return err
		}
		stats, err = s.sync(ctx)
		return err
	})
	if !errors.Is(err, errLocked) && ctx.Err() == nil {
		r.mailboxes.recordStatus(ctx, id, err)
	}
	return stats, err
}
