// Package knowledgebase is the help desk's knowledge base and search: articles with their
// revisions, "common problems" (solved tickets with the reply that solved them), and a Bleve
// index over both and over tickets, with suggestions for agents and for customers as they type.
//
// PostgreSQL is the truth and the index a derived view. Every committed change to an article or
// a ticket writes a row to a change feed in its own transaction (AttachFeed for the desk's units of
// work); every serve process keeps its own index under its data directory and follows the feed
// from the position saved in that index, so each node of a multi-node install stays current and
// catches up after a restart. A full rebuild (Reindex, a mapping change, RequestRebuild) goes to
// a new index directory that is swapped in once it has caught up, so search never stops.
package knowledgebase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	bolt "go.etcd.io/bbolt"
	"gorm.io/gorm"
)

// Base is the knowledge base of one process: the articles in PostgreSQL and this node's index.
type Base struct {
	db      *gorm.DB
	dir     string
	log     *slog.Logger
	poll    time.Duration
	mapping mapping.IndexMapping
	fold    analysis.Analyzer
	lang    map[string]analysis.Analyzer

	mu   sync.RWMutex // guards live; searches hold it for reading while they use the index
	live *liveIndex

	work      sync.Mutex // serializes following the feed, builds taken in and swaps
	needBuild atomic.Bool
	building  atomic.Bool
	builds    chan buildResult
	stats     counters
}

// liveIndex is an open index and how far it has read the feed.
type liveIndex struct {
	idx bleve.Index // everything staff search: articles, problems, tickets
	// pub holds the published public articles alone, for customers. Suggestions search a few
	// thousand documents rather than every ticket, and what customers may read is kept apart
	// from what they may not by more than a filter.
	pub  bleve.Index
	name string // its directory under Base.dir; "" for the empty stand-in before the first build
	pos  position
	// early holds the feed rows applied ahead of pos (see follow), by id; earlyMax is the last.
	early    map[int64]position
	earlyMax position
	// shown is pos for Status, which must not wait for the follower.
	shown atomic.Value // string
	// compacting is the background merge of a freshly built index into one segment.
	stopCompacting context.CancelFunc
	compacting     sync.WaitGroup
}

// compact merges a freshly built index into one segment in the background: a build leaves
// segments batch by batch, and a search costs about as much per segment as per thousand
// documents. Searches and the feed go on meanwhile.
func (li *liveIndex) compact(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	li.stopCompacting = cancel
	for _, idx := range []bleve.Index{li.pub, li.idx} {
		adv, err := idx.Advanced()
		if err != nil {
			continue
		}
		s, ok := adv.(*scorch.Scorch)
		if !ok {
			continue
		}
		li.compacting.Go(func() {
			start := time.Now()
			if err := s.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
				if ctx.Err() == nil {
					log.Warn("search index: merging segments", "error", err)
				}
				return
			}
			log.Info("search index merged into one segment", "index", li.name, "duration", time.Since(start).Round(time.Millisecond))
		})
	}
}

// close stops the background merge and closes the index.
func (li *liveIndex) close() error {
	if li.stopCompacting != nil {
		li.stopCompacting()
		li.compacting.Wait()
	}
	return errors.Join(li.pub.Close(), li.idx.Close())
}

type counters struct {
	applied atomic.Int64 // documents brought up to date from the feed
	built   atomic.Int64 // full builds taken in
}

type buildResult struct {
	name string
	err  error
}

// Options configure a Base. Zero values take the defaults.
type Options struct {
	// Dir holds this node's index (HELPDESK_DATA_DIR/search). Required.
	Dir    string
	Logger *slog.Logger
	// Poll is how often the feed is read; default 500ms.
	Poll time.Duration
}

// Names inside an index directory: the index's own keys for its feed position and mapping.
const (
	internalPosition = "helpdesk.feed_position"
	internalVersion  = "helpdesk.mapping_version"
	currentFile      = "CURRENT"
	indexPrefix      = "index-"
	buildPrefix      = "build-"
)

// ErrIndexInUse means another process has this index open.
var ErrIndexInUse = errors.New("the search index is in use by another process: give each serve process its own HELPDESK_DATA_DIR")

// Open opens this node's index under opts.Dir. Without one, or with one of an older mapping, it
// serves what it has (nothing, at first) and builds a new one in the background as soon as Run
// starts; Sync builds it at once.
func Open(ctx context.Context, db *gorm.DB, opts Options) (*Base, error) {
	if opts.Dir == "" {
		return nil, errors.New("knowledgebase: no index directory")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	m, err := newMapping()
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: mapping: %w", err)
	}
	b := &Base{
		db: db, dir: opts.Dir, log: opts.Logger, poll: opts.Poll, mapping: m,
		fold: m.AnalyzerNamed(analyzerFold), builds: make(chan buildResult, 1),
		lang: map[string]analysis.Analyzer{"en": m.AnalyzerNamed(analyzerEN), "es": m.AnalyzerNamed(analyzerES)},
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, fmt.Errorf("knowledgebase: %w", err)
	}
	name, err := readCurrent(b.dir)
	if err != nil {
		return nil, err
	}
	if name != "" {
		li, version, err := b.openIndex(name)
		switch {
		case errors.Is(err, ErrIndexInUse):
			return nil, fmt.Errorf("knowledgebase: %s: %w", filepath.Join(b.dir, name), err)
		case err != nil:
			b.log.Warn("search index unreadable; rebuilding it", "dir", filepath.Join(b.dir, name), "error", err)
		default:
			b.live = li
			if version != mappingVersion {
				b.log.Info("search index has an older mapping; rebuilding it in the background", "have", version, "want", mappingVersion)
				b.needBuild.Store(true)
			} else if pruned, err := prunedPast(ctx, db, li.pos); err != nil {
				li.close()
				return nil, fmt.Errorf("knowledgebase: %w", err)
			} else if pruned {
				b.log.Info("search index stopped before the oldest change kept; rebuilding it in the background")
				b.needBuild.Store(true)
			} else if b.segments() > compactAbove {
				// An index that `helpdesk reindex` built while no serve ran comes in with a
				// segment per batch.
				li.compact(b.log)
			}
		}
	}
	if b.live == nil {
		placeholder, err := bleve.NewMemOnly(b.mapping)
		if err != nil {
			return nil, fmt.Errorf("knowledgebase: %w", err)
		}
		pub, err := bleve.NewMemOnly(b.mapping)
		if err != nil {
			return nil, fmt.Errorf("knowledgebase: %w", err)
		}
		b.live = &liveIndex{idx: placeholder, pub: pub, early: map[int64]position{}}
		b.needBuild.Store(true)
	}
	b.removeStale()
	return b, nil
}

// The two Bleve indexes of an index directory.
const (
	mainIndex   = "main"
	publicIndex = "public"
)

// openIndex opens the index in directory name and reads its position and mapping version.
func (b *Base) openIndex(name string) (*liveIndex, string, error) {
	idx, err := bleve.OpenUsing(filepath.Join(b.dir, name, mainIndex), indexConfig())
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, "", ErrIndexInUse
	}
	if err != nil {
		return nil, "", fmt.Errorf("open index: %w", err)
	}
	pub, err := bleve.OpenUsing(filepath.Join(b.dir, name, publicIndex), indexConfig())
	if err != nil {
		idx.Close()
		return nil, "", fmt.Errorf("open public index: %w", err)
	}
	fail := func(err error) (*liveIndex, string, error) {
		idx.Close()
		pub.Close()
		return nil, "", err
	}
	version, err := idx.GetInternal([]byte(internalVersion))
	if err != nil {
		return fail(fmt.Errorf("read mapping version: %w", err))
	}
	rawPos, err := idx.GetInternal([]byte(internalPosition))
	if err != nil {
		return fail(fmt.Errorf("read feed position: %w", err))
	}
	pos, err := parsePosition(string(rawPos))
	if err != nil {
		return fail(err)
	}
	li := &liveIndex{idx: idx, pub: pub, name: name, pos: pos, early: map[int64]position{}}
	li.shown.Store(pos.String())
	return li, string(version), nil
}

// Close closes the index. Run must have returned.
func (b *Base) Close() error {
	b.work.Lock()
	defer b.work.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.live == nil {
		return nil
	}
	err := b.live.close()
	b.live = nil
	return err
}

// Run keeps the index current until ctx ends: it follows the feed, builds a new index when one
// is needed (in the background, while the old one keeps answering), takes in an index that
// `helpdesk reindex` built, and prunes old feed rows.
func (b *Base) Run(ctx context.Context) {
	ticker := time.NewTicker(b.poll)
	defer ticker.Stop()
	var lastPrune, retryAt time.Time
	for {
		if b.needBuild.Load() && time.Now().After(retryAt) && b.building.CompareAndSwap(false, true) {
			b.needBuild.Store(false)
			go func() {
				name, _, err := b.build(ctx)
				b.builds <- buildResult{name, err}
			}()
		}
		select {
		case <-ctx.Done():
			if b.building.Load() {
				<-b.builds // the build stops with ctx
			}
			return
		case res := <-b.builds:
			if res.err == nil {
				if err := b.takeIn(ctx, res.name); err != nil {
					res.err = fmt.Errorf("take in %s: %w", res.name, err)
					os.RemoveAll(filepath.Join(b.dir, res.name))
				}
			}
			if res.err != nil && ctx.Err() == nil {
				b.log.Error("search index build failed; retrying in a minute", "error", res.err)
				b.needBuild.Store(true)
				retryAt = time.Now().Add(time.Minute)
			}
			b.building.Store(false)
		case <-ticker.C:
		}
		if err := b.checkCurrent(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("search index from reindex could not be taken in", "error", err)
		}
		if err := b.step(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("search index: following the change feed", "error", err)
		}
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			if n, err := pruneFeed(ctx, b.db); err != nil && ctx.Err() == nil {
				b.log.Error("search index: pruning the change feed", "error", err)
			} else if n > 0 {
				b.log.Info("search index: pruned old change feed rows", "rows", n)
			}
		}
	}
}

// step follows the feed until it has read every row that was visible when it started.
func (b *Base) step(ctx context.Context) error {
	b.work.Lock()
	defer b.work.Unlock()
	return b.catchUp(ctx, b.live)
}

func (b *Base) catchUp(ctx context.Context, li *liveIndex) error {
	if li == nil || li.name == "" {
		return nil // the stand-in follows nothing; a build replaces it
	}
	for {
		more, rebuild, err := b.follow(ctx, li)
		if err != nil {
			return err
		}
		if rebuild {
			b.log.Info("search index rebuild requested")
			b.needBuild.Store(true)
		}
		if !more {
			return nil
		}
	}
}

// Sync brings the index up to date with everything committed before it was called: it builds
// the index first if one is needed. Tests and commands use it; serve relies on Run.
func (b *Base) Sync(ctx context.Context) error {
	// A build Run started is taken in by Run; wait for it rather than build twice.
	for b.building.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if b.needBuild.Load() {
		b.needBuild.Store(false)
		name, _, err := b.build(ctx)
		if err != nil {
			b.needBuild.Store(true)
			return err
		}
		if err := b.takeIn(ctx, name); err != nil {
			return err
		}
	}
	if err := b.checkCurrent(ctx); err != nil {
		return err
	}
	return b.step(ctx)
}

// checkCurrent takes in the index that CURRENT names when it is not the live one: one that
// `helpdesk reindex` built while this process was running.
func (b *Base) checkCurrent(ctx context.Context) error {
	name, err := readCurrent(b.dir)
	if err != nil || name == "" {
		return err
	}
	b.mu.RLock()
	live := b.live.name
	b.mu.RUnlock()
	if name == live {
		return nil
	}
	return b.takeIn(ctx, name)
}

// takeIn opens the built index name, brings it up to date from the feed, and swaps it in for
// the live one, which it then deletes. Searches go on against the old index until the swap.
func (b *Base) takeIn(ctx context.Context, name string) error {
	b.work.Lock()
	defer b.work.Unlock()
	if b.live != nil && b.live.name == name {
		return nil
	}
	li, version, err := b.openIndex(name)
	if err != nil {
		return err
	}
	if version != mappingVersion {
		li.close()
		b.needBuild.Store(true)
		return fmt.Errorf("index %s has mapping %q, not %q", name, version, mappingVersion)
	}
	if err := b.catchUp(ctx, li); err != nil {
		li.close()
		return err
	}
	if err := writeCurrent(b.dir, name); err != nil {
		li.close()
		return err
	}
	b.mu.Lock()
	old := b.live
	b.live = li
	b.mu.Unlock()
	li.compact(b.log)
	b.stats.built.Add(1)
	if old != nil {
		if err := old.close(); err != nil {
			b.log.Warn("closing the old search index", "error", err)
		}
		if old.name != "" {
			os.RemoveAll(filepath.Join(b.dir, old.name))
		}
	}
	n, _ := li.idx.DocCount()
	b.log.Info("search index swapped in", "index", name, "documents", n)
	return nil
}

// removeStale deletes index directories nothing points at any more, and builds that were given
// up (a build in progress is never older than a day).
func (b *Base) removeStale() {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() {
			continue
		}
		stale := strings.HasPrefix(e.Name(), indexPrefix) && e.Name() != b.live.name ||
			strings.HasPrefix(e.Name(), buildPrefix) && time.Since(info.ModTime()) > 24*time.Hour
		if stale {
			os.RemoveAll(filepath.Join(b.dir, e.Name()))
		}
	}
}

func readCurrent(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, currentFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("knowledgebase: %w", err)
	}
	name := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(name, indexPrefix) || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("knowledgebase: %s names %q, not an index", filepath.Join(dir, currentFile), name)
	}
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		return "", nil // a CURRENT left pointing at nothing: build anew
	}
	return name, nil
}

// writeCurrent points CURRENT at name atomically: readers see the old name or the new one.
func writeCurrent(dir, name string) error {
	tmp := filepath.Join(dir, currentFile+".tmp")
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o644); err != nil {
		return fmt.Errorf("knowledgebase: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, currentFile)); err != nil {
		return fmt.Errorf("knowledgebase: %w", err)
	}
	return nil
}

// Status describes this node's index.
type Status struct {
	Index     string // directory name; empty before the first build
	Documents uint64
	Position  string // in the change feed
	Building  bool
	Applied   int64 // documents updated from the feed since start
	Builds    int64 // full builds taken in since start
	Segments  int   // of the live index; a search costs more the more there are
}

// Status reports on this node's index.
func (b *Base) Status() Status {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := Status{Building: b.building.Load() || b.needBuild.Load(), Applied: b.stats.applied.Load(), Builds: b.stats.built.Load()}
	if b.live != nil {
		s.Index = b.live.name
		s.Position, _ = b.live.shown.Load().(string)
		s.Documents, _ = b.live.idx.DocCount()
		s.Segments = b.segments()
	}
	return s
}

// compactAbove is the segment count above which an index opened at start is merged into one.
const compactAbove = 4

// segments counts the live index's segments. The caller holds mu or owns b.
func (b *Base) segments() int {
	st, ok := b.live.idx.StatsMap()["index"].(map[string]any)
	if !ok {
		return 0
	}
	mem, _ := st["num_root_memorysegments"].(uint64)
	files, _ := st["num_root_filesegments"].(uint64)
	return int(mem + files)
}

// indexConfig is how every index of ours is opened or created: a bounded wait for the lock, so
// that a second process on the same directory fails with a clear message instead of hanging. A
// new map each time: Bleve writes the index's path into the one it is given.
func indexConfig() map[string]any { return map[string]any{"bolt_timeout": "2s"} }

// newIndexAt creates the empty pair of indexes of an index directory.
func (b *Base) newIndexAt(dir string) (idx, pub bleve.Index, err error) {
	if idx, err = bleve.NewUsing(filepath.Join(dir, mainIndex), b.mapping, scorch.Name, scorch.Name, indexConfig()); err != nil {
		return nil, nil, err
	}
	if pub, err = bleve.NewUsing(filepath.Join(dir, publicIndex), b.mapping, scorch.Name, scorch.Name, indexConfig()); err != nil {
		idx.Close()
		return nil, nil, err
	}
	return idx, pub, nil
}
