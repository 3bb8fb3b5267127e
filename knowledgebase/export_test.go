package knowledgebase

import (
	"context"

	"github.com/blevesearch/bleve/v2"
	"gorm.io/gorm"
)

// SetMappingVersion changes the mapping version this binary expects, as a new release with a
// changed mapping would, and returns a function that restores it.
func SetMappingVersion(v string) (restore func()) {
	old := mappingVersion
	mappingVersion = v
	return func() { mappingVersion = old }
}

// PruneFeed is pruneFeed, which Run calls hourly.
var PruneFeed = pruneFeed

// BenchDocs loads every document a full build indexes, as index ids and fields and whether
// customers may read it, for a benchmark to index with Bleve alone.
func BenchDocs(ctx context.Context, db *gorm.DB) (ids []string, fields []map[string]any, public []bool, err error) {
	pages := make(chan []doc, 2)
	errc := make(chan error, 1)
	go func() {
		defer close(pages)
		errc <- streamDocs(ctx, db, pages)
	}()
	for docs := range pages {
		for i := range docs {
			ids = append(ids, docID(docs[i].kind, docs[i].id))
			fields = append(fields, docs[i].fields())
			public = append(public, docs[i].public())
		}
	}
	return ids, fields, public, <-errc
}

// NewBenchIndexes creates the empty pair of indexes at dir as builds do: the same mapping and
// settings.
func NewBenchIndexes(dir string) (idx, pub bleve.Index, err error) {
	m, err := newMapping()
	if err != nil {
		return nil, nil, err
	}
	b := &Base{mapping: m}
	return b.newIndexAt(dir)
}

// BuildPage is how many documents a build puts in one batch.
const BuildPage = buildPage
