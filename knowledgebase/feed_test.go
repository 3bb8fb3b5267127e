package knowledgebase_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// found reports whether a staff search for text finds the document of kind and id.
func found(t *testing.T, kb *knowledgebase.Base, text, kind string, id int64) bool {
	t.Helper()
	return slices.Contains(hitIDs(search(t, kb, knowledgebase.Query{Text: text, Limit: 50}), kind), id)
}

// suggested reports whether a customer typing text is offered article id.
func suggested(t *testing.T, kb *knowledgebase.Base, text string, id int64) bool {
	t.Helper()
	res, err := kb.Suggest(context.Background(), text, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(hitIDs(res, knowledgebase.KindArticle), id)
}

// Every committed change reaches a running node's index through the feed: articles created,
// edited, unpublished and deleted, tickets opened, solved and reopened.
func TestChangeFeedReachesTheIndex(t *testing.T) {
	ctx := context.Background()
	kb, _ := openBase(t)
	runBase(t, kb)

	a := publish(t, kb, "Configure the zephyr modem", "Connect the zephyr modem to the wall socket.", "en", "public", "network")
	eventually(t, "a new article is searchable", func() bool { return found(t, kb, "zephyr", knowledgebase.KindArticle, a.ID) })

	if _, err := kb.UpdateArticle(ctx, supervisor, a.ID, knowledgebase.ArticleChange{Title: strp("Configure the quasar router"), Body: strp("Connect the quasar router.")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an edit is searchable", func() bool {
		return found(t, kb, "quasar", knowledgebase.KindArticle, a.ID) && !found(t, kb, "zephyr", knowledgebase.KindArticle, a.ID)
	})
	// Customers' suggestions follow too: a public article is suggested, an internal one is not.
	eventually(t, "a public article is suggested", func() bool { return suggested(t, kb, "quasar", a.ID) })
	if _, err := kb.UpdateArticle(ctx, supervisor, a.ID, knowledgebase.ArticleChange{Visibility: strp("internal")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an article made internal is no longer suggested", func() bool {
		return !suggested(t, kb, "quasar", a.ID) && found(t, kb, "quasar", knowledgebase.KindArticle, a.ID)
	})
	if _, err := kb.UpdateArticle(ctx, supervisor, a.ID, knowledgebase.ArticleChange{State: strp("draft")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an unpublished article leaves the index", func() bool { return !found(t, kb, "quasar", knowledgebase.KindArticle, a.ID) })

	b := publish(t, kb, "Nebula cable colours", "The nebula cable is blue.", "en", "public", "network")
	eventually(t, "a second article is searchable", func() bool { return found(t, kb, "nebula", knowledgebase.KindArticle, b.ID) })
	if err := kb.DeleteArticle(ctx, supervisor, b.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a deleted article leaves the index", func() bool { return !found(t, kb, "nebula", knowledgebase.KindArticle, b.ID) })

	tk := newTicket(t, "Pulsar headset crackles", "My pulsar headset crackles on every call.")
	// Intake writes the new ticket's feed row in its own statement, and the hook adds no second.
	var rows int64
	db.Raw(`SELECT count(*) FROM kb_feed WHERE kind = 'ticket' AND doc_id = ?`, tk.ID).Scan(&rows)
	if rows != 1 {
		t.Errorf("a new ticket has %d feed rows, want 1", rows)
	}
	eventually(t, "a new ticket is searchable", func() bool { return found(t, kb, "pulsar", knowledgebase.KindTicket, tk.ID) })
	solve(t, tk.ID, "Update the pulsar firmware to version 3; the crackle is gone after that.")
	eventually(t, "a solved ticket becomes a common problem", func() bool {
		return found(t, kb, "pulsar firmware", knowledgebase.KindProblem, tk.ID)
	})
	if _, err := desk.AddCustomerMessage(ctx, tk.ID, tickets.CustomerMessage{CustomerID: tk.CustomerID, Body: "It crackles again."}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a reopened ticket is no common problem", func() bool {
		return found(t, kb, "pulsar", knowledgebase.KindTicket, tk.ID) && !found(t, kb, "pulsar", knowledgebase.KindProblem, tk.ID)
	})
	// An internal note is never indexed.
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: agent.ID, Body: "Customer is on the quokka plan."}); err != nil {
		t.Fatal(err)
	}
	syncIndex(t, kb)
	if found(t, kb, "quokka", knowledgebase.KindTicket, tk.ID) {
		t.Error("an internal note was indexed")
	}
}

// A node that stops catches up from where it stopped, without rebuilding.
func TestRestartCatchesUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kb := openBaseAt(t, dir)
	before := kb.Status()
	a := publish(t, kb, "Meteor keyboard pairing", "Hold the meteor key for five seconds.", "en", "public", "hardware")
	tk := newTicket(t, "Comet mouse lag", "The comet mouse lags.")
	syncIndex(t, kb)
	if err := kb.Close(); err != nil {
		t.Fatal(err)
	}

	// While the node is down: an edit, a new article, a solved ticket.
	if _, err := kb.UpdateArticle(ctx, supervisor, a.ID, knowledgebase.ArticleChange{Body: strp("Hold the meteor key and the asteroid key.")}); err != nil {
		t.Fatal(err)
	}
	b := publish(t, kb, "Galaxy screen flicker", "Lower the galaxy refresh rate.", "en", "public", "hardware")
	solve(t, tk.ID, "Replace the comet mouse battery.")

	kb = openBaseAt(t, dir)
	after := kb.Status()
	if after.Index != before.Index || after.Builds != 0 {
		t.Errorf("restart rebuilt the index: before %+v, after %+v", before, after)
	}
	if !found(t, kb, "asteroid", knowledgebase.KindArticle, a.ID) || !found(t, kb, "galaxy", knowledgebase.KindArticle, b.ID) ||
		!found(t, kb, "comet battery", knowledgebase.KindProblem, tk.ID) {
		t.Errorf("after restart: %+v", after)
	}
}

// Feed rows can commit out of order: a transaction that took an earlier id may commit after a
// later one. The index shows the later one at once, but keeps its saved position behind the
// running transaction, so that a restart still picks the earlier row up when it commits.
func TestFeedRowsCommittingLate(t *testing.T) {
	dir := t.TempDir()
	kb := openBaseAt(t, dir)
	start := kb.Status().Position

	// A long transaction writes an article and its feed row, and does not commit yet.
	slow := db.Begin()
	defer slow.Rollback()
	var lateID int64
	err := slow.Raw(`INSERT INTO kb_articles (title, body, body_html, body_text, locale, state, visibility, author_id)
		VALUES ('Tachyon pager', 'The tachyon pager beeps.', '', 'The tachyon pager beeps.', 'en', 'published', 'public', ?) RETURNING id`, supervisor.ID).Scan(&lateID).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := slow.Exec(`INSERT INTO kb_feed (kind, doc_id) VALUES ('article', ?)`, lateID).Error; err != nil {
		t.Fatal(err)
	}

	// Meanwhile another change commits.
	early := publish(t, kb, "Photon charger", "The photon charger glows.", "en", "public", "hardware")
	syncIndex(t, kb)
	if !found(t, kb, "photon", knowledgebase.KindArticle, early.ID) {
		t.Fatal("a committed change waits for an unrelated running transaction")
	}
	if kb.Status().Position != start {
		t.Errorf("the saved position moved past a running transaction: %s -> %s", start, kb.Status().Position)
	}

	// The node restarts before the slow transaction commits, then it commits.
	kb.Close()
	kb = openBaseAt(t, dir)
	if err := slow.Commit().Error; err != nil {
		t.Fatal(err)
	}
	syncIndex(t, kb)
	if !found(t, kb, "tachyon", knowledgebase.KindArticle, lateID) || !found(t, kb, "photon", knowledgebase.KindArticle, early.ID) {
		t.Error("the late row, or the early one, is missing after the restart")
	}
	// The position moves once no older transaction runs (other tests' may, for a moment).
	eventuallyWithin(t, 2*time.Minute, "the position moves once the transaction has ended", func() bool {
		syncIndex(t, kb)
		return kb.Status().Position != start
	})
}

// `helpdesk reindex` builds a new index beside the live one; the running node takes it in and
// searches go on throughout.
func TestReindexSwapsWithoutDowntime(t *testing.T) {
	dir := t.TempDir()
	kb := openBaseAt(t, dir)
	runBase(t, kb)
	a := publish(t, kb, "Quantum backup schedule", "Quantum backups run nightly.", "en", "public", "backups")
	eventually(t, "article indexed", func() bool { return found(t, kb, "quantum", knowledgebase.KindArticle, a.ID) })
	old := kb.Status().Index

	var searches, misses atomic.Int64
	var failures []error
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := kb.Search(context.Background(), knowledgebase.Query{Text: "quantum backups"})
			searches.Add(1)
			if err != nil {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
				continue
			}
			if !slices.Contains(hitIDs(res, knowledgebase.KindArticle), a.ID) {
				misses.Add(1)
			}
		}
	})

	stats, err := knowledgebase.Reindex(context.Background(), db, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new index is swapped in", func() bool { return kb.Status().Index == stats.Index })
	b := publish(t, kb, "Quantum restore steps", "Restore a quantum backup from the console.", "en", "public", "backups")
	eventually(t, "the new index follows the feed", func() bool { return found(t, kb, "restore", knowledgebase.KindArticle, b.ID) })
	close(stop)
	wg.Wait()

	if stats.Documents == 0 || stats.Index == old {
		t.Errorf("reindex: %+v (old %s)", stats, old)
	}
	if len(failures) > 0 || misses.Load() > 0 || searches.Load() == 0 {
		t.Errorf("during the swap: %d searches, %d failed (%v), %d missed the article", searches.Load(), len(failures), failures, misses.Load())
	}
	if _, err := os.Stat(filepath.Join(dir, old)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old index is still on disk: %v", err)
	}
}

// A binary with another mapping version rebuilds the index it finds, and serves the old one
// until the new one is in.
func TestMappingChangeTriggersRebuild(t *testing.T) {
	dir := t.TempDir()
	kb := openBaseAt(t, dir)
	a := publish(t, kb, "Neutrino firewall rules", "Open port 443 on the neutrino firewall.", "en", "public", "network")
	syncIndex(t, kb)
	old := kb.Status().Index
	kb.Close()

	restore := knowledgebase.SetMappingVersion("test-next")
	defer restore()
	kb, err := knowledgebase.Open(context.Background(), db, knowledgebase.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Close()
	if st := kb.Status(); !st.Building || st.Index != old {
		t.Errorf("before the rebuild: %+v", st)
	}
	if !found(t, kb, "neutrino", knowledgebase.KindArticle, a.ID) {
		t.Error("the old index does not answer while the new one is built")
	}
	syncIndex(t, kb)
	if st := kb.Status(); st.Building || st.Index == old || st.Builds != 1 {
		t.Errorf("after the rebuild: %+v", st)
	}
	if !found(t, kb, "neutrino", knowledgebase.KindArticle, a.ID) {
		t.Error("the rebuilt index lacks the article")
	}
}

// A rebuild asked for through the feed (after a bulk load) happens on every running node.
func TestRequestRebuild(t *testing.T) {
	kb, _ := openBase(t)
	runBase(t, kb)
	old := kb.Status().Index
	// A bulk load writes rows without feed rows, as `helpdesk demo` does.
	var id int64
	err := db.Raw(`INSERT INTO kb_articles (title, body, body_html, body_text, locale, state, visibility, author_id)
		VALUES ('Bulk loaded boson guide', 'Boson.', '', 'Boson.', 'en', 'published', 'public', ?) RETURNING id`, supervisor.ID).Scan(&id).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := knowledgebase.RequestRebuild(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rebuild is taken in", func() bool { return kb.Status().Index != old && !kb.Status().Building })
	if !found(t, kb, "boson", knowledgebase.KindArticle, id) {
		t.Error("the bulk-loaded article is not in the rebuilt index")
	}
}

// Old feed rows are pruned, and the marker says how far.
func TestPruneFeed(t *testing.T) {
	ctx := context.Background()
	kb, _ := openBase(t)
	a := publish(t, kb, "Photino battery care", "Charge the photino battery fully.", "en", "public", "hardware")
	if err := db.Exec(`UPDATE kb_feed SET created_at = now() - interval '8 days' WHERE kind = 'article' AND doc_id = ?`, a.ID).Error; err != nil {
		t.Fatal(err)
	}
	var fresh int64
	db.Raw(`SELECT count(*) FROM kb_feed WHERE created_at > now() - interval '1 day'`).Scan(&fresh)
	// Rows go once no transaction older than them runs.
	eventuallyWithin(t, 2*time.Minute, "the old feed row is pruned", func() bool {
		if _, err := knowledgebase.PruneFeed(ctx, db); err != nil {
			t.Fatal(err)
		}
		var left int64
		db.Raw(`SELECT count(*) FROM kb_feed WHERE kind = 'article' AND doc_id = ?`, a.ID).Scan(&left)
		return left == 0
	})
	var after, marked int64
	db.Raw(`SELECT count(*) FROM kb_feed WHERE created_at > now() - interval '1 day'`).Scan(&after)
	db.Raw(`SELECT count(*) FROM kb_feed_pruned`).Scan(&marked)
	if after < fresh || marked != 1 {
		t.Errorf("recent rows %d -> %d, marker rows %d", fresh, after, marked)
	}
}

// A node that stopped before the oldest feed row kept rebuilds instead of missing changes.
func TestNodeBehindPrunedFeedRebuilds(t *testing.T) {
	dir := t.TempDir()
	kb := openBaseAt(t, dir)
	kb.Close()
	a := publish(t, kb, "Graviton battery care", "Charge the graviton battery fully.", "en", "public", "hardware")
	// What pruning does: the article's feed row goes, and the marker moves past it.
	err := db.Exec(`
		WITH d AS (DELETE FROM kb_feed WHERE kind = 'article' AND doc_id = ? RETURNING txid, id)
		INSERT INTO kb_feed_pruned (txid, id) SELECT txid, id FROM d
		ON CONFLICT (singleton) DO UPDATE SET txid = EXCLUDED.txid, id = EXCLUDED.id
			WHERE (kb_feed_pruned.txid, kb_feed_pruned.id) < (EXCLUDED.txid, EXCLUDED.id)`, a.ID).Error
	if err != nil {
		t.Fatal(err)
	}
	kb = openBaseAt(t, dir)
	if st := kb.Status(); st.Builds != 1 {
		t.Errorf("a node behind the pruned feed did not rebuild: %+v", st)
	}
	if !found(t, kb, "graviton", knowledgebase.KindArticle, a.ID) {
		t.Error("the article whose feed row was pruned is missing")
	}
}

// Two processes on one index directory: the second is refused with a message saying why.
func TestIndexInUse(t *testing.T) {
	_, dir := openBase(t)
	_, err := knowledgebase.Open(context.Background(), db, knowledgebase.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, knowledgebase.ErrIndexInUse) {
		t.Errorf("second open: %v", err)
	}
}

// Waiting for the index never outlives the test: Run stops with its context.
func TestRunStops(t *testing.T) {
	kb, _ := openBase(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { kb.Run(ctx); close(done) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}
