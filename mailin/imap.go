package mailin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Batches are bounded by count and by bytes, so that a transaction stays short and a mailbox of
// large messages does not hold them all in memory.
const (
	defaultBatchMessages = 200
	batchBytes           = 8 << 20
)

// session is one connection to a mailbox's IMAP server.
type session struct {
	r       *Runner
	mbox    *Mailbox
	c       *imapclient.Client
	newMail chan struct{} // the server announced new messages

	mu      sync.Mutex
	pending []imap.UID // committed here, waiting for their after-import action
}

// connect dials and logs in.
func (r *Runner) connect(ctx context.Context, mbox *Mailbox) (*session, error) {
	password, err := r.mailboxes.IMAPPassword(mbox)
	if err != nil {
		return nil, err
	}
	s := &session{r: r, mbox: mbox, newMail: make(chan struct{}, 1)}
	tlsConfig := &tls.Config{ServerName: mbox.IMAPHost, MinVersion: tls.VersionTLS12}
	if r.tlsConfig != nil {
		tlsConfig = r.tlsConfig.Clone()
	}
	opts := &imapclient.Options{
		TLSConfig: tlsConfig,
		Dialer:    &net.Dialer{Timeout: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case s.newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	addr := net.JoinHostPort(mbox.IMAPHost, strconv.Itoa(mbox.IMAPPort))
	var c *imapclient.Client
	switch mbox.IMAPTLS {
	case TLSImplicit:
		c, err = imapclient.DialTLS(addr, opts)
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(addr, opts)
	default:
		c, err = imapclient.DialInsecure(addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	s.c = c
	// A cancelled context closes the connection, which ends any command waiting on it.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	go func() { <-c.Closed(); stop() }()
	if err := c.Login(mbox.IMAPUsername, password).Wait(); err != nil {
		c.Close()
		// The error quotes the server's answer, never the password we sent.
		return nil, fmt.Errorf("log in as %s: %w", mbox.IMAPUsername, err)
	}
	return s, nil
}

func (s *session) close() {
	done := make(chan struct{})
	go func() {
		s.c.Logout().Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	s.c.Close()
}

// SyncStats counts what one pass over a mailbox did.
type SyncStats struct {
	Fetched     int
	Tickets     int
	Messages    int
	Duplicates  int
	Quarantined int
	Bounces     int
}

func (st *SyncStats) add(results []Result) {
	for _, r := range results {
		st.Fetched++
		switch r.Outcome {
		case OutcomeTicket:
			st.Tickets++
		case OutcomeMessage:
			st.Messages++
		case OutcomeDuplicate:
			st.Duplicates++
		case OutcomeQuarantined:
			st.Quarantined++
		case OutcomeBounce:
			st.Bounces++
		}
	}
}

// prepare selects the folder, starts over safely when UIDVALIDITY changed, and applies the
// after-import action to messages committed before a crash stopped it.
func (s *session) prepare(ctx context.Context) (*imap.SelectData, error) {
	sel, err := s.c.Select(s.mbox.Folder, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("select %s: %w", s.mbox.Folder, err)
	}
	if s.mbox.UIDValidity != 0 && s.mbox.UIDValidity != sel.UIDValidity {
		// The server renumbered the folder: every UID we know is void. Read it all again; the
		// dedupe keys make sure that nothing already taken in is taken in twice.
		s.r.logger.Warn("UIDVALIDITY changed: reading the folder again", "mailbox", s.mbox.Name, "was", s.mbox.UIDValidity, "now", sel.UIDValidity)
		if err := s.r.db.WithContext(ctx).Exec(`UPDATE mailboxes SET uid_validity = ?, last_uid = 0, updated_at = now() WHERE id = ?`,
			int64(sel.UIDValidity), s.mbox.ID).Error; err != nil {
			return nil, fmt.Errorf("reset checkpoint: %w", err)
		}
		s.mbox.LastUID = 0
	}
	s.mbox.UIDValidity = sel.UIDValidity
	if s.mbox.AfterImport == AfterMove {
		// Creating a folder that exists fails harmlessly.
		s.c.Create(s.mbox.MoveTo, nil).Wait()
	}
	if s.mbox.LastUID > 0 && sel.NumMessages > 0 && s.mbox.AfterImport != AfterNone {
		// A crash between a commit and its flag or move leaves committed messages as they
		// were; everything up to the checkpoint is committed, so finish their action now.
		criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: 1, Stop: imap.UID(s.mbox.LastUID)}}}}
		if s.mbox.AfterImport == AfterSeen {
			criteria.NotFlag = []imap.Flag{imap.FlagSeen}
		}
		data, err := s.c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return nil, fmt.Errorf("search committed messages: %w", err)
		}
		if uids := data.AllUIDs(); len(uids) > 0 {
			s.queueDone(uids)
			if err := s.applyDone(); err != nil {
				return nil, err
			}
		}
	}
	return sel, nil
}

// sync takes in every message after the checkpoint. Fetching the next batch overlaps with
// committing the current one.
func (s *session) sync(ctx context.Context) (SyncStats, error) {
	var stats SyncStats
	if s.r.beforeSync != nil {
		s.r.beforeSync()
	}
	sizes, err := s.newMessages()
	if err != nil || len(sizes) == 0 {
		return stats, err
	}
	type fetched struct {
		msgs []Fetched
		err  error
	}
	batches := make(chan fetched, 1)
	fetchCtx, stopFetching := context.WithCancel(ctx)
	defer stopFetching()
	go func() {
		defer close(batches)
		for _, group := range groupBySize(sizes, s.r.batchMessages, s.r.maxBytes) {
			var b fetched
			if b.err = s.applyDone(); b.err == nil {
				b.msgs, b.err = s.fetchBodies(group)
			}
			if b.err == nil {
				s.r.ingester.parseAhead(b.msgs)
			}
			select {
			case batches <- b:
			case <-fetchCtx.Done():
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	for b := range batches {
		if b.err != nil {
			return stats, b.err
		}
		results, err := s.r.ingester.ingestSplit(ctx, s.mbox, s.mbox.UIDValidity, b.msgs)
		if err != nil {
			return stats, err
		}
		stats.add(results)
		last := b.msgs[len(b.msgs)-1].UID
		s.mbox.LastUID = max(s.mbox.LastUID, last)
		uids := make([]imap.UID, len(b.msgs))
		for i, m := range b.msgs {
			uids[i] = imap.UID(m.UID)
		}
		s.queueDone(uids)
	}
	return stats, s.applyDone()
}

type uidSize struct {
	uid  imap.UID
	size int64
}

// newMessages lists the UIDs after the checkpoint with their sizes.
func (s *session) newMessages() ([]uidSize, error) {
	set := imap.UIDSet{{Start: imap.UID(s.mbox.LastUID + 1), Stop: 0}}
	msgs, err := s.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("list new messages: %w", err)
	}
	var out []uidSize
	for _, m := range msgs {
		// "n:*" names the last message even when its UID is below n.
		if uint32(m.UID) > s.mbox.LastUID {
			out = append(out, uidSize{m.UID, m.RFC822Size})
		}
	}
	sortUIDs(out)
	return out, nil
}

func sortUIDs(list []uidSize) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].uid < list[j-1].uid; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

// groupBySize cuts the list into batches bounded by count and bytes. A message over the limit
// travels alone.
func groupBySize(list []uidSize, batchMessages int, maxBytes int64) [][]uidSize {
	var groups [][]uidSize
	var cur []uidSize
	var bytes int64
	for _, m := range list {
		if len(cur) > 0 && (len(cur) >= batchMessages || bytes+m.size > batchBytes || m.size > maxBytes) {
			groups = append(groups, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, m)
		bytes += m.size
		if m.size > maxBytes {
			groups = append(groups, cur)
			cur, bytes = nil, 0
		}
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// fetchBodies fetches whole messages without setting \Seen: the flag is set after the commit.
func (s *session) fetchBodies(group []uidSize) ([]Fetched, error) {
	var set imap.UIDSet
	sizes := map[imap.UID]int64{}
	for _, m := range group {
		set.AddNum(m.uid)
		sizes[m.uid] = m.size
	}
	section := &imap.FetchItemBodySection{Peek: true}
	if len(group) == 1 && group[0].size > s.r.keepBytes() {
		// Far over the limit: keep the start for the quarantine, leave the rest on the server.
		section.Partial = &imap.SectionPartial{Offset: 0, Size: s.r.keepBytes()}
	}
	msgs, err := s.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch messages: %w", err)
	}
	out := make([]Fetched, 0, len(msgs))
	for _, m := range msgs {
		if len(m.BodySection) == 0 {
			// Expunged meanwhile; nothing to take in.
			continue
		}
		out = append(out, Fetched{UID: uint32(m.UID), Size: max(sizes[m.UID], int64(len(m.BodySection[0].Bytes))), Raw: m.BodySection[0].Bytes})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].UID < out[j-1].UID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if len(out) == 0 {
		return nil, errors.New("fetch messages: the server returned none of them")
	}
	return out, nil
}

func (s *session) queueDone(uids []imap.UID) {
	if s.mbox.AfterImport == AfterNone {
		return
	}
	s.mu.Lock()
	s.pending = append(s.pending, uids...)
	s.mu.Unlock()
}

// applyDone flags or moves the messages committed so far. It runs between fetches, never
// during one, so that a move's expunges cannot confuse a fetch in flight.
func (s *session) applyDone() error {
	s.mu.Lock()
	uids := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(uids) == 0 {
		return nil
	}
	set := imap.UIDSetNum(uids...)
	switch s.mbox.AfterImport {
	case AfterSeen:
		if err := s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return fmt.Errorf("flag messages seen: %w", err)
		}
	case AfterMove:
		if _, err := s.c.Move(set, s.mbox.MoveTo).Wait(); err != nil {
			return fmt.Errorf("move messages to %s: %w", s.mbox.MoveTo, err)
		}
	}
	return nil
}

// wait blocks until the server announces new mail (IDLE), the poll interval passes, or ctx ends.
func (s *session) wait(ctx context.Context) error {
	timer := time.NewTimer(s.r.pollInterval)
	defer timer.Stop()
	if !s.c.Caps().Has(imap.CapIdle) && !s.c.Caps().Has(imap.CapIMAP4rev2) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		}
	}
	// Some servers (go-imap's own memory server among them) announce during IDLE only what
	// arrives after it began: a message that came between the last fetch and IDLE would wait
	// for the poll timer. A NOOP first collects what is already there.
	if err := s.c.Noop().Wait(); err != nil {
		return fmt.Errorf("noop: %w", err)
	}
	idle, err := s.c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-s.newMail:
	case <-timer.C:
	case <-s.c.Closed():
	}
	if err := idle.Close(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if err := idle.Wait(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return ctx.Err()
}
