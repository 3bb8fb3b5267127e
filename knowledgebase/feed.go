package knowledgebase

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// AttachFeed makes desk write a change-feed row for every ticket a unit of work on it changes in
// a way the index shows, in the same transaction: the index learns of exactly the committed
// changes. Attach it to every desk that changes tickets.
func AttachFeed(desk *tickets.Desk) {
	desk.AddCompanion(tickets.Companion{Name: feedCompanion, Rows: newTicketFeed})
	desk.AddHook(feedHook)
}

// feedCompanion names the feed row written with a new ticket.
const feedCompanion = "kb_feed"

// newTicketFeed writes a new ticket's feed row in intake's own statement, which saves intake a
// round trip.
func newTicketFeed(tickets.NewTicketFacts) (string, map[string]any, bool) {
	return `INSERT INTO kb_feed (kind, doc_id) SELECT 'ticket', t.id FROM t RETURNING 1`, nil, true
}

// feedHook writes the feed rows of a unit of work's changes that the companion did not.
func feedHook(ctx context.Context, tx *gorm.DB, changes []tickets.Change) error {
	var ids []int64
	for _, c := range changes {
		if c.TicketID == 0 || !indexed(c) || slices.Contains(ids, c.TicketID) {
			continue
		}
		if c.Type == tickets.EventTicketCreated && c.Companions[feedCompanion] > 0 {
			continue
		}
		ids = append(ids, c.TicketID)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := tx.Exec(`INSERT INTO kb_feed (kind, doc_id) SELECT 'ticket', unnest(CAST(? AS bigint[]))`, idArray(ids)).Error; err != nil {
		return fmt.Errorf("knowledgebase: feed: %w", err)
	}
	return nil
}

// indexed reports whether a change can change what the index holds for its ticket: the subject,
// the opening message, the status, the resolving reply, the category and language. Who works a
// ticket and how urgent it is are not searched, and internal notes are never indexed.
func indexed(c tickets.Change) bool {
	switch c.Type {
	case tickets.EventPriorityChanged, tickets.EventAssigneeChanged, tickets.EventTeamChanged:
		return false
	case tickets.EventMessageAdded:
		return c.Data["kind"] == tickets.MessageReply || c.Data["kind"] == string(tickets.MessageReply)
	}
	return true
}

// RequestRebuild asks every node to rebuild its index from scratch, in the background, through
// the feed: for data that reached the database without passing the desk, such as a bulk load.
func RequestRebuild(ctx context.Context, db *gorm.DB) error {
	if err := db.WithContext(ctx).Exec(`INSERT INTO kb_feed (kind, doc_id) VALUES ('rebuild', 0)`).Error; err != nil {
		return fmt.Errorf("knowledgebase: request rebuild: %w", err)
	}
	return nil
}

// position is how far an index has read the feed: every row up to (txid, id) in feed order is in
// the index. Feed order is (txid, id), and a position only moves past rows whose transaction is
// older than every transaction still running, so no row can later appear behind it.
type position struct {
	txid uint64
	id   int64
}

func (p position) String() string {
	return strconv.FormatUint(p.txid, 10) + "/" + strconv.FormatInt(p.id, 10)
}

func (p position) less(q position) bool {
	return p.txid < q.txid || (p.txid == q.txid && p.id < q.id)
}

func parsePosition(s string) (position, error) {
	t, i, ok := strings.Cut(s, "/")
	txid, err1 := strconv.ParseUint(t, 10, 64)
	id, err2 := strconv.ParseInt(i, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return position{}, fmt.Errorf("bad feed position %q", s)
	}
	return position{txid, id}, nil
}

// feedRow is one row of the change feed.
type feedRow struct {
	ID    int64
	Txid  uint64
	Kind  string
	DocID int64
}

func (r feedRow) pos() position { return position{r.Txid, r.ID} }

// feedPage is how many feed rows one read takes.
const feedPage = 1000

// readFeed returns up to limit rows after p in feed order, and the horizon: the oldest
// transaction still running when they were read. Rows of older transactions are final.
func readFeed(ctx context.Context, db *gorm.DB, after position, limit int) ([]feedRow, uint64, error) {
	var rows []struct {
		Horizon string
		ID      *int64
		Txid    *string
		Kind    *string
		DocID   *int64
	}
	// One statement, so that the horizon belongs to the snapshot the rows were read in.
	err := db.WithContext(ctx).Raw(`
		SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, f.id, f.txid::text AS txid, f.kind, f.doc_id
		FROM (SELECT 1) one LEFT JOIN LATERAL (
			SELECT id, txid, kind, doc_id FROM kb_feed
			WHERE (txid, id) > (CAST(CAST(? AS text) AS xid8), ?)
			ORDER BY txid, id LIMIT ?
		) f ON true`, strconv.FormatUint(after.txid, 10), after.id, limit).Scan(&rows).Error
	if err != nil {
		return nil, 0, fmt.Errorf("read feed: %w", err)
	}
	if len(rows) == 0 {
		return nil, 0, fmt.Errorf("read feed: no horizon")
	}
	horizon, err := strconv.ParseUint(rows[0].Horizon, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("read feed: horizon %q: %w", rows[0].Horizon, err)
	}
	out := make([]feedRow, 0, len(rows))
	for _, r := range rows {
		if r.ID == nil {
			continue
		}
		txid, err := strconv.ParseUint(*r.Txid, 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("read feed: txid %q: %w", *r.Txid, err)
		}
		out = append(out, feedRow{ID: *r.ID, Txid: txid, Kind: *r.Kind, DocID: *r.DocID})
	}
	return out, horizon, nil
}

// currentHorizon returns the oldest running transaction: everything older is committed or gone.
func currentHorizon(ctx context.Context, db *gorm.DB) (uint64, error) {
	var s string
	if err := db.WithContext(ctx).Raw(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&s).Error; err != nil {
		return 0, fmt.Errorf("read horizon: %w", err)
	}
	return strconv.ParseUint(s, 10, 64)
}

// follow applies the feed rows after the index's position and reports whether it should be
// called again at once (it read a full page) and whether a rebuild was asked for.
//
// Rows of transactions older than the horizon are final: they are applied and the saved position
// moves past them, in the same index batch. Newer rows that are already visible are committed
// too, and are applied at once so that search is fresh even while some long transaction holds
// the horizon back; they are remembered so that they are applied once, and the saved position
// waits for the horizon, so that a restart never skips a row that commits late.
func (b *Base) follow(ctx context.Context, li *liveIndex) (more, rebuild bool, err error) {
	rows, horizon, err := readFeed(ctx, b.db, li.pos, feedPage)
	if err != nil {
		return false, false, err
	}
	more = len(rows) == feedPage
	var apply []feedRow
	newPos := li.pos
	for _, r := range rows {
		// Rows come in (txid, id) order, so the final ones are a prefix.
		final := r.Txid < horizon
		if final {
			newPos = r.pos()
		}
		if _, done := li.early[r.ID]; done {
			continue
		}
		apply = append(apply, r)
		if !final {
			li.early[r.ID] = r.pos()
			if li.earlyMax.less(r.pos()) {
				li.earlyMax = r.pos()
			}
		}
	}
	// A page full of rows applied ahead of the position: read on from the newest of them.
	if more && len(apply) == 0 && li.pos.less(li.earlyMax) {
		ahead, _, err := readFeed(ctx, b.db, li.earlyMax, feedPage)
		if err != nil {
			return false, false, err
		}
		more = len(ahead) == feedPage
		for _, r := range ahead {
			apply = append(apply, r)
			li.early[r.ID] = r.pos()
			if li.earlyMax.less(r.pos()) {
				li.earlyMax = r.pos()
			}
		}
	}
	if len(apply) == 0 && newPos == li.pos {
		return more, false, nil
	}
	rebuild, err = b.apply(ctx, li, apply, newPos)
	if err != nil {
		return false, false, err
	}
	li.pos = newPos
	li.shown.Store(newPos.String())
	for id, p := range li.early {
		if !li.pos.less(p) {
			delete(li.early, id)
		}
	}
	return more, rebuild, nil
}

// apply brings the documents named by rows up to date in the index, saving pos with them.
func (b *Base) apply(ctx context.Context, li *liveIndex, rows []feedRow, pos position) (rebuild bool, err error) {
	var articleIDs, ticketIDs []int64
	for _, r := range rows {
		switch r.Kind {
		case "article":
			articleIDs = append(articleIDs, r.DocID)
		case "ticket":
			ticketIDs = append(ticketIDs, r.DocID)
		case "rebuild":
			rebuild = true
		}
	}
	slices.Sort(articleIDs)
	articleIDs = slices.Compact(articleIDs)
	slices.Sort(ticketIDs)
	ticketIDs = slices.Compact(ticketIDs)
	// The public index first: should the process stop between the two, the position in the main
	// index has not moved, and the same rows are applied again.
	batch, pubBatch := li.idx.NewBatch(), li.pub.NewBatch()
	if err := b.addDocs(ctx, batch, pubBatch, KindArticle, articleIDs, loadArticleDocs); err != nil {
		return false, err
	}
	if err := b.addDocs(ctx, batch, nil, KindTicket, ticketIDs, loadTicketDocs); err != nil {
		return false, err
	}
	if pubBatch.Size() > 0 {
		if err := li.pub.Batch(pubBatch); err != nil {
			return false, fmt.Errorf("public index batch: %w", err)
		}
	}
	batch.SetInternal([]byte(internalPosition), []byte(pos.String()))
	if err := li.idx.Batch(batch); err != nil {
		return false, fmt.Errorf("index batch: %w", err)
	}
	b.stats.applied.Add(int64(len(articleIDs) + len(ticketIDs)))
	return rebuild, nil
}

// addDocs puts the current documents of ids in the batch, and deletes those that no longer
// exist (a deleted article, one no longer published). pub, when given, gets the public ones and
// loses the others.
func (b *Base) addDocs(ctx context.Context, batch, pub *bleve.Batch, kind string, ids []int64,
	load func(context.Context, *gorm.DB, []int64) ([]doc, error)) error {
	if len(ids) == 0 {
		return nil
	}
	docs, err := load(ctx, b.db, ids)
	if err != nil {
		return err
	}
	found := make(map[int64]bool, len(docs))
	public := make(map[int64]bool, len(docs))
	for i := range docs {
		found[docs[i].id] = true
		fields := docs[i].fields()
		if err := batch.Index(docID(docs[i].kind, docs[i].id), fields); err != nil {
			return fmt.Errorf("index %s %d: %w", docs[i].kind, docs[i].id, err)
		}
		if pub != nil && docs[i].public() {
			public[docs[i].id] = true
			if err := pub.Index(docID(docs[i].kind, docs[i].id), fields); err != nil {
				return fmt.Errorf("index %s %d: %w", docs[i].kind, docs[i].id, err)
			}
		}
	}
	for _, id := range ids {
		if !found[id] {
			batch.Delete(docID(kind, id))
		}
		if pub != nil && !public[id] {
			pub.Delete(docID(kind, id))
		}
	}
	return nil
}

// feedRetention is how long feed rows are kept. A node stopped for longer rebuilds its index
// when it starts.
const feedRetention = 7 * 24 * time.Hour

// pruneChunk is how many feed rows one statement deletes, to keep its transaction short.
const pruneChunk = 10000

// pruneFeed deletes feed rows older than feedRetention, a chunk at a time, and records how far it
// went. One node does it at a time (an advisory lock), so the marker only moves forward.
func pruneFeed(ctx context.Context, db *gorm.DB) (int64, error) {
	var total int64
	err := db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		var locked bool
		if err := conn.Raw(`SELECT pg_try_advisory_lock(hashtext('helpdesk.kb_feed.prune'))`).Scan(&locked).Error; err != nil {
			return err
		}
		if !locked {
			return nil
		}
		defer conn.Exec(`SELECT pg_advisory_unlock(hashtext('helpdesk.kb_feed.prune'))`)
		for ctx.Err() == nil {
			var n int64
			err := conn.Raw(`
				WITH d AS (
					DELETE FROM kb_feed WHERE id IN (
						SELECT id FROM kb_feed
						WHERE created_at < now() - make_interval(secs => ?)
							AND txid < pg_snapshot_xmin(pg_current_snapshot())
						ORDER BY txid, id LIMIT ?)
					RETURNING txid, id
				), last AS (
					SELECT txid, id FROM d ORDER BY txid DESC, id DESC LIMIT 1
				), marker AS (
					INSERT INTO kb_feed_pruned (txid, id) SELECT txid, id FROM last
					ON CONFLICT (singleton) DO UPDATE SET txid = EXCLUDED.txid, id = EXCLUDED.id
						WHERE (kb_feed_pruned.txid, kb_feed_pruned.id) < (EXCLUDED.txid, EXCLUDED.id)
				)
				SELECT count(*) FROM d`, feedRetention.Seconds(), pruneChunk).Scan(&n).Error
			if err != nil {
				return err
			}
			total += n
			if n < pruneChunk {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("knowledgebase: prune feed: %w", err)
	}
	return total, nil
}

// prunedPast reports whether feed rows after p have been deleted, so that an index at p can no
// longer catch up from the feed.
func prunedPast(ctx context.Context, db *gorm.DB, p position) (bool, error) {
	var rows []struct {
		Txid string
		ID   int64
	}
	if err := db.WithContext(ctx).Raw(`SELECT txid::text AS txid, id FROM kb_feed_pruned`).Scan(&rows).Error; err != nil {
		return false, fmt.Errorf("read prune marker: %w", err)
	}
	if len(rows) == 0 {
		return false, nil
	}
	txid, err := strconv.ParseUint(rows[0].Txid, 10, 64)
	if err != nil {
		return false, err
	}
	return p.less(position{txid, rows[0].ID}), nil
}
