package mailin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"mime"
	"net/mail"
	"net/textproto"
	"runtime/debug"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Ingester takes the raw messages of a mailbox into the desk: dedupe, parse, thread, create the
// ticket or add the message, store attachments and move the checkpoint, all in one transaction.
type Ingester struct {
	db       *gorm.DB
	desk     *tickets.Desk
	maxBytes int64
	logger   *slog.Logger
	// crash, when set, is called at named points of ingestion; the crash-safety test kills the
	// process there.
	crash func(point string)
}

// Options tune an Ingester. Zero values take the defaults.
type Options struct {
	MaxMessageBytes int64 // larger messages go to quarantine; default 25 MB
	Logger          *slog.Logger
}

// NewIngester returns an ingester writing to db through desk. The desk's hooks (acknowledgements,
// SLA clocks, search feed) run in the same transactions.
func NewIngester(db *gorm.DB, desk *tickets.Desk, opts Options) *Ingester {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 25 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Ingester{db: db, desk: desk, maxBytes: opts.MaxMessageBytes, logger: opts.Logger}
}

// Fetched is a message as the IMAP server gave it.
type Fetched struct {
	UID  uint32
	Size int64  // RFC822.SIZE; larger than len(Raw) when only the start was fetched
	Raw  []byte // the whole message, or its first bytes when it is far over the limit

	// Set by parseAhead, so that parsing overlaps the database work of the batch before.
	parsed   *Parsed
	parseErr error
	ready    bool
}

// parseAhead parses the messages that will be parsed, ahead of their transaction.
func (in *Ingester) parseAhead(msgs []Fetched) {
	for i := range msgs {
		if msgs[i].Size <= in.maxBytes {
			msgs[i].parsed, msgs[i].parseErr = parseSafely(msgs[i].Raw)
			msgs[i].ready = true
		}
	}
}

// Outcome is what became of a message.
type Outcome string

// The outcomes.
const (
	OutcomeTicket      Outcome = "ticket"      // opened a new ticket
	OutcomeMessage     Outcome = "message"     // added to an existing ticket
	OutcomeDuplicate   Outcome = "duplicate"   // already taken in; skipped
	OutcomeQuarantined Outcome = "quarantined" // kept raw in quarantine with the reason
	OutcomeBounce      Outcome = "bounce"      // a bounce of our mail, recorded on it
)

// Result is the outcome for one message.
type Result struct {
	UID      uint32
	Outcome  Outcome
	TicketID int64
	Error    string // why it was quarantined
}

// errDuplicate rolls back a message whose dedupe row another transaction wrote first.
var errDuplicate = errors.New("mailin: message already taken in")

// IngestBatch takes msgs (in UID order) into the desk in one transaction, each message in a
// savepoint of its own, and moves the mailbox's checkpoint to the last UID. A crash before the
// commit leaves nothing; after it, everything, so the batch is taken in exactly once. An error
// means nothing was committed.
func (in *Ingester) IngestBatch(ctx context.Context, mbox *Mailbox, uidValidity uint32, msgs []Fetched) ([]Result, error) {
	return in.ingestBatch(ctx, mbox, uidValidity, msgs, true)
}

// ingestBatch is IngestBatch, with the checkpoint left alone when checkpoint is false: a batch
// committing while an earlier one is still in flight must not move the checkpoint past it.
// Its messages are safe without it: their dedupe keys are committed, so fetching them again
// skips them.
func (in *Ingester) ingestBatch(ctx context.Context, mbox *Mailbox, uidValidity uint32, msgs []Fetched, checkpoint bool) ([]Result, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	var results []Result
	err := in.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		results = results[:0]
		known, err := knownKeys(tx, mbox.ID, msgs)
		if err != nil {
			return err
		}
		desk := in.desk.InTx(tx)
		for i := range msgs {
			r, err := in.ingestOne(ctx, tx, desk, mbox, uidValidity, &msgs[i], known, false)
			if err != nil {
				return fmt.Errorf("uid %d: %w", msgs[i].UID, err)
			}
			results = append(results, r)
			in.crashpoint("after-message")
		}
		if checkpoint {
			if err := moveCheckpoint(tx, mbox.ID, uidValidity, msgs[len(msgs)-1].UID); err != nil {
				return err
			}
		}
		in.crashpoint("before-commit")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailin: ingest: %w", err)
	}
	in.crashpoint("after-commit")
	return results, nil
}

// ingestSplit takes a batch in as two halves on two connections at once when the halves cannot
// touch each other: split by sender, so that no customer, identity or acknowledgement limit is
// shared, and with no message of one half replying to, copying or naming a ticket by token from
// the other. Then neither half waits on the other's round trips, and threading comes out as if
// one ran after the other. The checkpoint moves after both have committed; a crash between the
// two leaves committed messages behind it, which fetching again skips by their dedupe keys.
// Batches that cannot be split go in as one transaction.
func (in *Ingester) ingestSplit(ctx context.Context, mbox *Mailbox, uidValidity uint32, msgs []Fetched) ([]Result, error) {
	halves, ok := splitBySender(msgs)
	if !ok {
		return in.ingestBatch(ctx, mbox, uidValidity, msgs, true)
	}
	var results [2][]Result
	var errs [2]error
	var wg sync.WaitGroup
	for i := range halves {
		wg.Go(func() { results[i], errs[i] = in.ingestBatch(ctx, mbox, uidValidity, halves[i], false) })
	}
	wg.Wait()
	if err := errors.Join(errs[0], errs[1]); err != nil {
		return nil, err
	}
	in.crashpoint("before-checkpoint")
	err := in.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return moveCheckpoint(tx, mbox.ID, uidValidity, msgs[len(msgs)-1].UID)
	})
	if err != nil {
		return nil, fmt.Errorf("mailin: ingest: %w", err)
	}
	return append(results[0], results[1]...), nil
}

// splitBySender cuts msgs in two by a hash of the sender, keeping UID order within each half.
// It says no when a half would be nearly empty or when the halves could depend on each other.
func splitBySender(msgs []Fetched) ([2][]Fetched, bool) {
	var halves [2][]Fetched
	if len(msgs) < 20 {
		return halves, false
	}
	side := func(addr string) int {
		h := fnv.New32a()
		h.Write([]byte(addr))
		return int(h.Sum32() & 1)
	}
	senders := map[string]int{}
	ids := map[string]int{}
	for _, m := range msgs {
		p := m.parsed
		if p == nil || p.Token != 0 {
			return halves, false
		}
		n := side(p.From.Address)
		senders[p.From.Address] = n
		if p.MessageID != "" {
			ids[p.MessageID] = n
		}
	}
	for _, m := range msgs {
		p := m.parsed
		n := senders[p.From.Address]
		refs := append([]string{p.InReplyTo}, p.References...)
		for _, id := range refs {
			if other, ok := ids[id]; ok && other != n {
				return halves, false
			}
		}
		for _, addr := range append(append([]string{}, p.To...), p.Cc...) {
			if other, ok := senders[addr]; ok && other != n {
				return halves, false
			}
		}
		halves[n] = append(halves[n], m)
	}
	if min(len(halves[0]), len(halves[1])) < len(msgs)/4 {
		return halves, false
	}
	return halves, true
}

// moveCheckpoint records that every message of the mailbox up to uid is taken in.
func moveCheckpoint(tx *gorm.DB, mailboxID int64, uidValidity, uid uint32) error {
	if err := tx.Exec(`UPDATE mailboxes SET uid_validity = ?, last_uid = GREATEST(last_uid, ?), updated_at = now() WHERE id = ?`,
		int64(uidValidity), int64(uid), mailboxID).Error; err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func (in *Ingester) crashpoint(name string) {
	if in.crash != nil {
		in.crash(name)
	}
}

// knownKeys returns which messages of the batch are already taken in, in one query rather than
// one per message. The unique key written with each message stays what guarantees it.
func knownKeys(tx *gorm.DB, mailboxID int64, msgs []Fetched) (map[string]bool, error) {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, "sha256:"+hexSum(m.Raw))
		if id := quickMessageID(m.Raw); id != "" {
			ids = append(ids, id)
		}
	}
	var found []string
	if err := tx.Raw(`SELECT dedupe_key FROM email_messages WHERE mailbox_id = ? AND dedupe_key = ANY(?)`, mailboxID, textArray(ids)).Scan(&found).Error; err != nil {
		return nil, fmt.Errorf("dedupe: %w", err)
	}
	known := make(map[string]bool, len(found))
	for _, k := range found {
		known[k] = true
	}
	return known, nil
}

func hexSum(raw []byte) string {
	return strings.TrimPrefix(DedupeKey("", raw), "sha256:")
}

// quickMessageID reads the Message-ID from the header block without a full parse.
func quickMessageID(raw []byte) string {
	head := raw
	if i := strings.Index(string(raw[:min(len(raw), 64<<10)]), "\r\n\r\n"); i >= 0 {
		head = raw[:i]
	} else if i := strings.Index(string(raw[:min(len(raw), 64<<10)]), "\n\n"); i >= 0 {
		head = raw[:i]
	}
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	for i, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "message-id") {
			continue
		}
		// Folded onto the next line.
		for j := i + 1; j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")); j++ {
			value += lines[j]
		}
		return firstID(value)
	}
	return ""
}

// ingestOne takes one message in. Its own failures (unparseable, too large, refused by the desk)
// end in quarantine and are not errors; an error is a database failure that undoes the batch.
func (in *Ingester) ingestOne(ctx context.Context, tx *gorm.DB, desk *tickets.Desk, mbox *Mailbox, validity uint32, f *Fetched, known map[string]bool, reprocess bool) (Result, error) {
	res := Result{UID: f.UID}
	q := quarantined{mailboxID: mbox.ID, validity: validity, uid: f.UID, raw: f.Raw, size: f.Size}
	if f.Size > in.maxBytes && !reprocess {
		q.subject, q.from = peekHeaders(f.Raw)
		q.reason, q.err = "too-large", fmt.Sprintf("the message is %.1f MB, over the limit of %d MB (HELPDESK_MAIL_MAX_MB)", float64(f.Size)/(1<<20), in.maxBytes>>20)
		if int64(len(f.Raw)) < f.Size {
			q.err += fmt.Sprintf("; only its first %d MB were kept, the rest stays on the mail server", len(f.Raw)>>20)
		}
		return in.quarantine(tx, q, res)
	}
	p, err := f.parsed, f.parseErr
	if !f.ready {
		p, err = parseSafely(f.Raw)
	}
	if err != nil {
		q.subject, q.from = peekHeaders(f.Raw)
		q.reason, q.err = "unparseable", err.Error()
		return in.quarantine(tx, q, res)
	}
	q.subject, q.from = p.Subject, p.From.Address
	key := DedupeKey(p.MessageID, f.Raw)
	if known[key] {
		res.Outcome = OutcomeDuplicate
		return res, nil
	}
	rec := emailRecord{mailboxID: mbox.ID, key: key, p: p, validity: validity, uid: f.UID, size: f.Size}
	if p.Class == ClassBounce {
		done, ticketID, err := recordBounce(tx, &rec)
		if err != nil {
			return res, err
		}
		if done {
			res.Outcome, res.TicketID = OutcomeBounce, ticketID
			known[key] = true
			return res, nil
		}
	}
	ticketID, how, err := thread(tx, p)
	if err != nil {
		return res, err
	}
	rec.threadedBy = how
	files := p.Files
	if p.Broken {
		files = append(files, tickets.NewAttachment{Filename: "message.eml", ContentType: "message/rfc822", Data: f.Raw})
	}
	res, err = in.store(ctx, tx, desk, mbox, &rec, ticketID, p.Text, p.HTML, files, res)
	var invalid *tickets.ValidationError
	if errors.As(err, &invalid) {
		// The desk refused the content (a body over its limit, too many files, a file too
		// large): keep what fits and the whole message as an attachment rather than lose it.
		text, files := fallbackContent(p, f.Raw, invalid)
		res, err = in.store(ctx, tx, desk, mbox, &rec, ticketID, text, "", files, res)
		if errors.As(err, &invalid) {
			q.reason, q.err = "refused", "the desk refused the message: "+invalid.Error()
			return in.quarantine(tx, q, res)
		}
	}
	if errors.Is(err, errDuplicate) {
		res.Outcome = OutcomeDuplicate
		return res, nil
	}
	if err != nil {
		return res, err
	}
	known[key] = true
	return res, nil
}

// store opens a ticket or adds the message to ticketID, with the email's record.
func (in *Ingester) store(ctx context.Context, tx *gorm.DB, desk *tickets.Desk, mbox *Mailbox, rec *emailRecord, ticketID int64, text, htmlBody string, files []tickets.NewAttachment, res Result) (Result, error) {
	p := rec.p
	onStored := func(tx *gorm.DB, t *tickets.Ticket, m *tickets.Message) error {
		rec.ticketID, rec.messageID = t.ID, m.ID
		return rec.insert(tx)
	}
	if ticketID != 0 {
		author, err := authorOn(ctx, tx, p.From)
		if err != nil {
			return res, err
		}
		_, err = desk.AddCustomerMessage(ctx, ticketID, tickets.CustomerMessage{
			CustomerID: author, Body: text, BodyHTML: htmlBody, Attachments: files, OnStored: onStored,
		})
		var conflict *tickets.ConflictError
		if !errors.As(err, &conflict) && !errors.Is(err, tickets.ErrNotFound) {
			if err == nil {
				res.Outcome, res.TicketID = OutcomeMessage, ticketID
			}
			return res, err
		}
		// A closed ticket takes no more messages: the customer's answer opens a follow-up.
		rec.threadedBy = "new"
	}
	t, err := desk.Intake(ctx, tickets.NewTicket{
		Channel:     tickets.ChannelEmail,
		Customer:    tickets.CustomerContact{Email: p.From.Address, Name: p.From.Name},
		Subject:     subjectWithoutToken(p.Subject),
		Body:        text,
		BodyHTML:    htmlBody,
		TeamID:      mbox.TeamID,
		Attachments: files,
		OnStored:    onStored,
	})
	if err != nil {
		return res, err
	}
	res.Outcome, res.TicketID = OutcomeTicket, t.ID
	return res, nil
}

// subjectWithoutToken drops a token of ours from the subject of a follow-up.
func subjectWithoutToken(s string) string {
	out := strings.Join(strings.Fields(tokenRE.ReplaceAllString(s, "")), " ")
	if out == "" {
		return s
	}
	return out
}

// fallbackContent keeps as much of a refused message as the desk takes: the text up to the
// limit, and the raw message as an .eml attachment when it fits.
func fallbackContent(p *Parsed, raw []byte, why *tickets.ValidationError) (string, []tickets.NewAttachment) {
	const keep = 200 << 10
	text := p.Text
	if p.Quoted != "" {
		text += "\n\n" + p.Quoted
	}
	if len(text) > keep {
		cut := keep
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	text += "\n\n[The help desk could not keep this email as it came (" + why.Error() + "); the original is attached as message.eml.]"
	return text, []tickets.NewAttachment{{Filename: "message.eml", ContentType: "message/rfc822", Data: raw}}
}

// authorOn returns the customer an email from addr is written by: the customer owning the
// address, created when nobody does yet (someone copied on the conversation).
func authorOn(ctx context.Context, tx *gorm.DB, from mail.Address) (int64, error) {
	var owner int64
	if err := tx.Raw(`SELECT customer_id FROM customer_identities WHERE kind = 'email' AND value = ?`, from.Address).Scan(&owner).Error; err != nil {
		return 0, fmt.Errorf("find author: %w", err)
	}
	if owner != 0 {
		return owner, nil
	}
	return tickets.NewCustomers(tx).FindOrCreateByEmail(ctx, from.Address, from.Name)
}

// peekHeaders reads the subject and sender of a message that is not parsed, for the quarantine
// list.
func peekHeaders(raw []byte) (subject, from string) {
	head := raw[:min(len(raw), 64<<10)]
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(bytes.Clone(head), "\r\n\r\n"...))))
	h, _ := r.ReadMIMEHeader()
	dec := mime.WordDecoder{CharsetReader: charsetReader}
	if subject, _ = dec.DecodeHeader(h.Get("Subject")); subject == "" {
		subject = h.Get("Subject")
	}
	if a, err := (&mail.AddressParser{WordDecoder: &dec}).Parse(h.Get("From")); err == nil {
		from = strings.ToLower(a.Address)
	}
	return clip(oneLine(subject), 500), clip(from, 300)
}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(input), nil
}

// parseSafely parses, turning a panic deep in a MIME library into a quarantine reason rather
// than a crash loop on one message.
func parseSafely(raw []byte) (p *Parsed, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &ParseError{Reason: fmt.Sprintf("the parser failed: %v", r)}
			slog.Error("mailin: parser panic", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	return Parse(raw)
}

// quarantined is a message kept raw with the reason it could not be taken in.
type quarantined struct {
	mailboxID     int64
	validity      uint32
	uid           uint32
	raw           []byte
	size          int64
	reason, err   string
	subject, from string
}

func (in *Ingester) quarantine(tx *gorm.DB, q quarantined, res Result) (Result, error) {
	sum := sha256.Sum256(q.raw)
	// The raw bytes are kept as they came; a second copy of the same bytes (a resync, a crash
	// after the commit) finds the first.
	err := tx.Exec(`INSERT INTO email_quarantine (mailbox_id, raw_sha256, raw, size, reason, error, subject, from_address, uid_validity, uid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mailbox_id, raw_sha256) DO NOTHING`,
		q.mailboxID, sum[:], q.raw, q.size, q.reason, clip(q.err, 2000), clip(q.subject, 500), q.from, int64(q.validity), int64(q.uid)).Error
	if err != nil {
		return res, fmt.Errorf("quarantine: %w", err)
	}
	in.logger.Warn("mail quarantined", "mailbox_id", q.mailboxID, "uid", q.uid, "reason", q.reason, "error", q.err)
	res.Outcome, res.Error = OutcomeQuarantined, q.err
	return res, nil
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// emailRecord is the row that makes an email's ingestion exactly once and threads replies to it.
type emailRecord struct {
	mailboxID           int64
	key                 string
	p                   *Parsed
	ticketID, messageID int64
	threadedBy          string
	validity, uid       uint32
	size                int64
}

// insert writes the record. When another transaction wrote it first, errDuplicate rolls the
// message back.
func (r *emailRecord) insert(tx *gorm.DB) error {
	p := r.p
	var id int64
	// Whoever writes to us in person is reachable again: the same statement clears a bounce.
	err := tx.Raw(`WITH e AS (
			INSERT INTO email_messages (mailbox_id, dedupe_key, message_id, ticket_id, ticket_message_id, in_reply_to,
				"references", from_address, from_name, to_addresses, cc_addresses, subject, class, threaded_by, quoted_text,
				uid_validity, uid, size)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (mailbox_id, dedupe_key) DO NOTHING RETURNING id, from_address, class
		), d AS (
			DELETE FROM email_undeliverable u USING e WHERE u.address = e.from_address AND e.class = 'normal'
		)
		SELECT id FROM e`,
		r.mailboxID, r.key, p.MessageID, nullID(r.ticketID), nullID(r.messageID), p.InReplyTo,
		textArray(p.References), p.From.Address, clip(p.From.Name, 200), textArray(p.To), textArray(p.Cc), clip(p.Subject, 1000),
		string(p.Class), r.threadedBy, clip(p.Quoted, 1<<20), int64(r.validity), int64(r.uid), r.size).Scan(&id).Error
	if err != nil {
		return fmt.Errorf("record email: %w", err)
	}
	if id == 0 {
		return errDuplicate
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// textArray is a text[] parameter. GORM would expand a plain []string into a list of values.
type textArray []string

// Value hands the list to pgx, which encodes a []string as text[].
func (a textArray) Value() (driver.Value, error) {
	if a == nil {
		return []string{}, nil
	}
	return []string(a), nil
}
