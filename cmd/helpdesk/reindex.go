package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/knowledgebase"
)

// searchDir is where a node keeps its own search index.
func searchDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "search") }

// openKnowledge opens the knowledge base with this node's index.
func openKnowledge(ctx context.Context, cfg *config.Config, db *gorm.DB, logger *slog.Logger) (*knowledgebase.Base, error) {
	return knowledgebase.Open(ctx, db, knowledgebase.Options{Dir: searchDir(cfg), Logger: logger})
}

// runReindex rebuilds this node's search index from PostgreSQL into a new directory beside the
// live one and points the node at it: a serve process on the same data directory swaps it in
// within a second, answering searches from the old index until then. With --all-nodes it asks
// every node, through the database, to rebuild its own in the background instead.
func runReindex(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	allNodes := fs.Bool("all-nodes", false, "ask every running serve process to rebuild its own index, instead of rebuilding this node's here")
	cfg, logger, err := loadConfig(e, fs, args)
	if err != nil {
		return err
	}
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	if *allNodes {
		if err := knowledgebase.RequestRebuild(ctx, odb.DB); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Asked every serve process to rebuild its search index; each swaps its new index in when it is built.")
		return nil
	}
	stats, err := knowledgebase.Reindex(ctx, odb.DB, searchDir(cfg), logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Indexed %d documents in %s into %s. A serve process on this data directory swaps it in within a second; otherwise the next one opens it.\n",
		stats.Documents, stats.Duration.Round(time.Millisecond), filepath.Join(searchDir(cfg), stats.Index))
	return nil
}
