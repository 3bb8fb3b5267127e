package mailout

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/mailin"
)

// Sender delivers queued mail over SMTP. Every serve process runs one; rows are taken with FOR
// UPDATE SKIP LOCKED and held while they are sent, so two senders never send the same row.
type Sender struct {
	db          *gorm.DB
	mailboxes   *mailin.Mailboxes
	logger      *slog.Logger
	workers     int
	poll        time.Duration
	maxAttempts int
	retryBase   time.Duration
	tlsConfig   *tls.Config
}

// SenderOptions tune a Sender. Zero values take the defaults.
type SenderOptions struct {
	Workers     int           // messages sent at once; default 4
	Poll        time.Duration // how often to look for due mail; default 2s
	MaxAttempts int           // temporary failures before giving up; default 12 (about two days)
	RetryBase   time.Duration // the first retry's delay, doubling each time; default 1m
	TLSConfig   *tls.Config   // for SMTP connections (a private CA, tests)
	Logger      *slog.Logger
}

// NewSender returns a sender for the mail queued in db.
func NewSender(db *gorm.DB, mailboxes *mailin.Mailboxes, opts SenderOptions) *Sender {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 12
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sender{db: db, mailboxes: mailboxes, logger: opts.Logger, workers: opts.Workers, poll: opts.Poll,
		maxAttempts: opts.MaxAttempts, retryBase: opts.RetryBase, tlsConfig: opts.TLSConfig}
}

// Run sends due mail until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	ticker := time.NewTicker(s.poll)
	defer ticker.Stop()
	for {
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("mailout: send", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// SendStats counts what a pass over the outbox did.
type SendStats struct{ Sent, Retrying, Failed int }

// SendDue sends every due mail and returns what became of it.
func (s *Sender) SendDue(ctx context.Context) (SendStats, error) {
	var (
		mu    sync.Mutex
		stats SendStats
		first error
		wg    sync.WaitGroup
	)
	for range s.workers {
		wg.Go(func() {
			w := &worker{s: s, conns: map[int64]*smtp.Client{}, mailboxes: map[int64]*mailin.Mailbox{}}
			defer w.closeAll()
			for ctx.Err() == nil {
				outcome, err := w.sendOne(ctx)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				switch outcome {
				case "sent":
					stats.Sent++
				case "retry":
					stats.Retrying++
				case "failed":
					stats.Failed++
				}
				mu.Unlock()
				if outcome == "" || err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return stats, first
}

// worker sends one row at a time over connections it keeps per mailbox.
type worker struct {
	s     *Sender
	conns map[int64]*smtp.Client
	// mailboxes are read once per pass over the outbox.
	mailboxes map[int64]*mailin.Mailbox
}

func (w *worker) closeAll() {
	for _, c := range w.conns {
		c.Quit()
		c.Close()
	}
}

type outboxRow struct {
	ID              int64
	Kind            string
	MailboxID       *int64
	TicketMessageID *int64
	HeaderMessageID string
	ToAddresses     textArray
	CcAddresses     textArray
	Subject         string
	BodyText        string
	BodyHTML        string
	Headers         string
	Attempts        int
}

// sendOne takes the next due row and sends it: "" when none was due.
func (w *worker) sendOne(ctx context.Context) (outcome string, err error) {
	err = w.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []outboxRow
		err := tx.Raw(`SELECT id, kind, mailbox_id, ticket_message_id, header_message_id, to_addresses, cc_addresses, subject,
				body_text, body_html, headers::text AS headers, attempts
			FROM outbox WHERE status = 'queued' AND next_attempt_at <= now()
			ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("take due mail: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		r := &rows[0]
		sendErr := w.deliver(ctx, tx, r)
		outcome = "sent"
		switch {
		case sendErr == nil:
			err = tx.Exec(`UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = '' WHERE id = ?`, r.ID).Error
		case isPermanent(sendErr) || r.Attempts+1 >= w.s.maxAttempts:
			outcome = "failed"
			msg := sendErr.Error()
			if !isPermanent(sendErr) {
				msg = fmt.Sprintf("gave up after %d attempts: %s", r.Attempts+1, msg)
			}
			w.s.logger.Warn("mail not delivered", "outbox_id", r.ID, "error", msg)
			err = tx.Exec(`UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`, clip(msg), r.ID).Error
		default:
			outcome = "retry"
			delay := w.s.retryBase << min(r.Attempts, 12)
			err = tx.Exec(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = now() + make_interval(secs => ?) WHERE id = ?`,
				clip(sendErr.Error()), delay.Seconds(), r.ID).Error
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("mailout: %w", err)
	}
	return outcome, nil
}

func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > 2000 {
		s = s[:2000]
	}
	return s
}

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p permanentError
	if errors.As(err, &p) {
		return true
	}
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// deliver sends one row over the mailbox's connection, opening it when needed.
func (w *worker) deliver(ctx context.Context, tx *gorm.DB, r *outboxRow) error {
	if r.MailboxID == nil {
		id, _, err := defaultMailbox(tx)
		if err != nil {
			return err
		}
		if id == 0 {
			return permanentError{errNoMailbox}
		}
		r.MailboxID = &id
	}
	mbox := w.mailboxes[*r.MailboxID]
	if mbox == nil {
		var err error
		if mbox, err = w.s.mailboxes.Get(ctx, *r.MailboxID); err != nil {
			return err
		}
		w.mailboxes[mbox.ID] = mbox
	}
	raw, err := compose(tx, mbox, r)
	if err != nil {
		return permanentError{err}
	}
	c, err := w.conn(mbox)
	if err != nil {
		return err
	}
	err = transact(c, mbox.Address, append(append([]string{}, r.ToAddresses...), r.CcAddresses...), raw)
	if err != nil {
		// The connection may be in any state now; the next mail opens a fresh one.
		c.Close()
		delete(w.conns, mbox.ID)
	}
	return err
}

// transact sends one message. Recipients the server refuses for good are dropped while others
// are accepted; only when none is accepted does the message fail.
func transact(c *smtp.Client, from string, rcpts []string, raw []byte) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	var refused []string
	var lastErr error
	for _, to := range rcpts {
		if err := c.Rcpt(to, nil); err != nil {
			if !isPermanent(err) {
				return err
			}
			refused = append(refused, to+": "+err.Error())
			lastErr = err
		}
	}
	if len(refused) == len(rcpts) {
		c.Reset()
		return fmt.Errorf("every recipient was refused: %w", lastErr)
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := wc.Write(raw); err != nil {
		return err
	}
	return wc.Close()
}

// conn returns an open connection for the mailbox, dialing, securing and logging in.
func (w *worker) conn(mbox *mailin.Mailbox) (*smtp.Client, error) {
	// A connection whose last transaction failed was closed and dropped; one that is kept
	// ended its last transaction cleanly and takes the next MAIL as it is.
	if c := w.conns[mbox.ID]; c != nil {
		return c, nil
	}
	addr := net.JoinHostPort(mbox.SMTPHost, strconv.Itoa(mbox.SMTPPort))
	tlsConfig := &tls.Config{ServerName: mbox.SMTPHost, MinVersion: tls.VersionTLS12}
	if w.s.tlsConfig != nil {
		tlsConfig = w.s.tlsConfig.Clone()
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	var c *smtp.Client
	switch mbox.SMTPTLS {
	case mailin.TLSImplicit:
		conn, err := tls.DialWithDialer(dialer, "tcp", addr, tlsConfig)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", addr, err)
		}
		c = smtp.NewClient(conn)
	default:
		conn, err := dialer.Dial("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", addr, err)
		}
		if mbox.SMTPTLS == mailin.TLSStartTLS {
			if c, err = smtp.NewClientStartTLS(conn, tlsConfig); err != nil {
				conn.Close()
				return nil, fmt.Errorf("starttls with %s: %w", addr, err)
			}
		} else {
			c = smtp.NewClient(conn)
		}
	}
	c.CommandTimeout = time.Minute
	c.SubmissionTimeout = 5 * time.Minute
	_, domain, _ := strings.Cut(mbox.Address, "@")
	if err := c.Hello(domain); err != nil {
		c.Close()
		return nil, fmt.Errorf("hello to %s: %w", addr, err)
	}
	if mbox.SMTPUsername != "" {
		password, err := w.s.mailboxes.SMTPPassword(mbox)
		if err != nil {
			c.Close()
			return nil, permanentError{err}
		}
		if err := c.Auth(sasl.NewPlainClient("", mbox.SMTPUsername, password)); err != nil {
			c.Close()
			// The server's answer, never the password.
			return nil, fmt.Errorf("log in to %s as %s: %w", addr, mbox.SMTPUsername, err)
		}
	}
	w.conns[mbox.ID] = c
	return c, nil
}

// compose builds the MIME message of a row: our Message-ID, the threading headers, the ticket
// token in the subject, text and HTML, and the attachments of the ticket message it carries.
func compose(tx *gorm.DB, mbox *mailin.Mailbox, r *outboxRow) ([]byte, error) {
	b := enmime.Builder().
		From(mbox.Name, mbox.Address).
		Subject(r.Subject).
		Header("Message-ID", "<"+r.HeaderMessageID+">").
		Text([]byte(r.BodyText))
	for _, to := range r.ToAddresses {
		b = b.To("", to)
	}
	for _, cc := range r.CcAddresses {
		b = b.CC("", cc)
	}
	if r.BodyHTML != "" {
		b = b.HTML([]byte(r.BodyHTML))
	}
	var headers map[string]string
	if err := json.Unmarshal([]byte(r.Headers), &headers); err != nil {
		return nil, fmt.Errorf("compose: headers: %w", err)
	}
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		b = b.Header(k, headers[k])
	}
	if r.TicketMessageID != nil {
		var files []struct {
			Filename, ContentType, ContentID string
			Inline                           bool
			Data                             []byte
		}
		err := tx.Raw(`SELECT a.filename, a.content_type, a.content_id, a.inline, b.data
			FROM attachments a JOIN blobs b ON b.sha256 = a.blob_sha256 WHERE a.message_id = ? ORDER BY a.id`, *r.TicketMessageID).Scan(&files).Error
		if err != nil {
			return nil, fmt.Errorf("compose: attachments: %w", err)
		}
		for _, f := range files {
			if f.Inline && f.ContentID != "" {
				b = b.AddInline(f.Data, f.ContentType, f.Filename, f.ContentID)
			} else {
				b = b.AddAttachment(f.Data, f.ContentType, f.Filename)
			}
		}
	}
	root, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	var buf bytes.Buffer
	if err := root.Encode(&buf); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	return buf.Bytes(), nil
}
