package knowledgebase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"gorm.io/gorm"
)

// buildPage is how many documents one read from PostgreSQL and one index batch take in a full
// build.
const buildPage = 1000

// BuildStats describe a full build.
type BuildStats struct {
	Index     string
	Documents int
	Duration  time.Duration
}

// build indexes every published article and every ticket into a new index directory and returns
// its name. The position it saves is the horizon read before the first row: every change older
// than it is in what the build read, and the feed replays the rest when the index is taken in.
// Reading (PostgreSQL) and indexing (Bleve) overlap: the next page loads while one is indexed.
func (b *Base) build(ctx context.Context) (string, BuildStats, error) {
	start := time.Now()
	stamp := start.UTC().Format("20060102T150405.000000000")
	tmp := filepath.Join(b.dir, buildPrefix+stamp)
	name := indexPrefix + stamp
	idx, pub, err := b.newIndexAt(tmp)
	if err != nil {
		return "", BuildStats{}, fmt.Errorf("knowledgebase: build: %w", err)
	}
	fail := func(err error) (string, BuildStats, error) {
		idx.Close()
		pub.Close()
		os.RemoveAll(tmp)
		return "", BuildStats{}, fmt.Errorf("knowledgebase: build: %w", err)
	}
	horizon, err := currentHorizon(ctx, b.db)
	if err != nil {
		return fail(err)
	}
	pages := make(chan []doc, 2)
	loadErr := make(chan error, 1)
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(pages)
		loadErr <- streamDocs(loadCtx, b.db, pages)
	}()
	count := 0
	for docs := range pages {
		batch, pubBatch := idx.NewBatch(), pub.NewBatch()
		for i := range docs {
			fields := docs[i].fields()
			err := batch.Index(docID(docs[i].kind, docs[i].id), fields)
			if err == nil && docs[i].public() {
				err = pubBatch.Index(docID(docs[i].kind, docs[i].id), fields)
			}
			if err != nil {
				cancel()
				return fail(err)
			}
		}
		if pubBatch.Size() > 0 {
			if err := pub.Batch(pubBatch); err != nil {
				cancel()
				return fail(err)
			}
		}
		if err := idx.Batch(batch); err != nil {
			cancel()
			return fail(err)
		}
		count += len(docs)
		if count%(100*buildPage) == 0 {
			b.log.Info("building the search index", "documents", count)
		}
	}
	if err := <-loadErr; err != nil {
		return fail(err)
	}
	batch := idx.NewBatch()
	batch.SetInternal([]byte(internalVersion), []byte(mappingVersion))
	batch.SetInternal([]byte(internalPosition), []byte(position{txid: horizon}.String()))
	if err := idx.Batch(batch); err != nil {
		return fail(err)
	}
	if err := errors.Join(pub.Close(), idx.Close()); err != nil {
		os.RemoveAll(tmp)
		return "", BuildStats{}, fmt.Errorf("knowledgebase: build: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(b.dir, name)); err != nil {
		os.RemoveAll(tmp)
		return "", BuildStats{}, fmt.Errorf("knowledgebase: build: %w", err)
	}
	stats := BuildStats{Index: name, Documents: count, Duration: time.Since(start)}
	b.log.Info("built the search index", "index", name, "documents", count, "duration", stats.Duration.Round(time.Millisecond))
	return name, stats, nil
}

// streamDocs sends every published article and then every ticket, a page at a time.
func streamDocs(ctx context.Context, db *gorm.DB, out chan<- []doc) error {
	for _, page := range []func(context.Context, *gorm.DB, int64, int) ([]doc, int64, error){pageArticleDocs, pageTicketDocs} {
		var after int64
		for {
			docs, last, err := page(ctx, db, after, buildPage)
			if err != nil {
				return err
			}
			if len(docs) == 0 {
				break
			}
			select {
			case out <- docs:
			case <-ctx.Done():
				return ctx.Err()
			}
			after = last
		}
	}
	return nil
}

// Reindex rebuilds the index under dir from scratch into a new directory and points CURRENT at
// it. A serve process running on the same directory notices within a poll, brings the new index
// up to date from the feed and swaps it in without a pause in search; otherwise the next serve
// opens it. It is `helpdesk reindex`.
func Reindex(ctx context.Context, db *gorm.DB, dir string, logger *slog.Logger) (BuildStats, error) {
	if logger == nil {
		logger = slog.Default()
	}
	m, err := newMapping()
	if err != nil {
		return BuildStats{}, fmt.Errorf("knowledgebase: mapping: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return BuildStats{}, fmt.Errorf("knowledgebase: %w", err)
	}
	b := &Base{db: db, dir: dir, log: logger, mapping: m}
	name, stats, err := b.build(ctx)
	if err != nil {
		return stats, err
	}
	if err := writeCurrent(dir, name); err != nil {
		return stats, err
	}
	return stats, nil
}
