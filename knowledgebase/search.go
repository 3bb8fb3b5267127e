package knowledgebase

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	htmlfmt "github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// MaxQueryLength bounds a search's text, in characters: enough for a subject and the start of a
// description, and a bound on the work one request can cause.
const MaxQueryLength = 500

// Query is a search.
type Query struct {
	Text     string
	Kinds    []string // KindArticle, KindProblem, KindTicket; empty: all the searcher may see
	Locale   string   // en or es; empty: every locale
	Category string
	Limit    int // default 10, at most 50
	Offset   int
	Facets   bool
	// Public limits the search to what customers may read: published public articles.
	Public bool
	// ExcludeTicket leaves a ticket out (the one whose similar tickets are wanted).
	ExcludeTicket int64
	// Typing says the last word may be unfinished, so it also matches as a prefix.
	Typing bool
	// Similar says Text is a whole document (a ticket) whose like is wanted: only its rarest
	// words that other documents share count, and none is taken for a typo.
	Similar bool
}

// Hit is one search result.
type Hit struct {
	Kind     string
	ID       int64 // the article's or the ticket's
	Title    string
	Snippet  string // HTML: text escaped, the matched words in <mark>
	Locale   string
	Category string
	Status   string // tickets
	Score    float64
}

// FacetCount is how many results have one value of a facet.
type FacetCount struct {
	Term  string
	Count int
}

// Results are one page of hits, best first, with the total and, when asked, the facets.
type Results struct {
	Total  uint64
	Hits   []Hit
	Facets map[string][]FacetCount // by kind, locale and category
}

// Search runs q against this node's index. Any text is a valid query: words are analyzed per
// language (stemmed, stop words dropped, accents folded); a word the index does not know also
// matches the words one edit from it (two in a long word); results must match most of the words
// (any of them when that finds nothing), and those with the words in the order typed rank first;
// a quoted "phrase" must appear as such. Text that leaves no words finds nothing.
func (b *Base) Search(ctx context.Context, q Query) (*Results, error) {
	q.Text = cleanLine(q.Text)
	if utf8.RuneCountInString(q.Text) > MaxQueryLength {
		return nil, &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "q", Message: fmt.Sprintf("must be at most %d characters", MaxQueryLength)}}}
	}
	if q.Locale != "" && !ValidLocale(q.Locale) {
		return nil, &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "locale", Message: "must be en or es"}}}
	}
	for _, k := range q.Kinds {
		if !slices.Contains(Kinds, k) {
			return nil, &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "kind", Message: "must be article, problem or ticket"}}}
		}
	}
	if q.Limit <= 0 {
		q.Limit = 10
	}
	q.Limit = min(q.Limit, 50)
	q.Offset = max(q.Offset, 0)
	locales := Locales
	if q.Locale != "" {
		locales = []string{q.Locale}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	idx := b.live.idx
	if q.Public {
		idx = b.live.pub
	}
	dict := newDictionary(idx)
	defer dict.close()

	// Phase one ranks every match by its words alone and counts the facets. It asks for no term
	// locations: collecting them for every match, to highlight a few, was most of a search's
	// cost, and so was checking phrases in every document that has their words.
	var first, facets *bleve.SearchResult
	for _, strict := range []bool{true, false} { // most words first; when none match, any
		match, relaxable := b.textQuery(q.Text, locales, q.Typing, q.Similar, dict, strict)
		if match == nil {
			return &Results{Hits: []Hit{}, Facets: emptyFacets(q.Facets)}, nil
		}
		filtered := b.filtered(match, q)
		// Facets walk every match once more, unscored, on the other core: they cost as much as
		// the ranking, and a person waits for the slower of the two, not for both.
		var facetErr error
		var wg sync.WaitGroup
		if q.Facets {
			wg.Go(func() {
				req := bleve.NewSearchRequestOptions(filtered, 0, 0, false)
				req.Score = bleve.ScoreNone
				req.AddFacet(fieldFacets, bleve.NewFacetRequest(fieldFacets, maxFacetTerms))
				facets, facetErr = idx.SearchInContext(ctx, req)
			})
		}
		req := bleve.NewSearchRequestOptions(filtered, q.Offset+rescoreWindow(q.Limit), 0, false)
		var err error
		first, err = idx.SearchInContext(ctx, req)
		wg.Wait()
		if err = cmp.Or(err, facetErr); err != nil {
			return nil, fmt.Errorf("knowledgebase: search: %w", err)
		}
		if first.Total > 0 || !relaxable {
			break
		}
	}
	// Phase two ranks the best of them that have the words in the order typed above the others.
	// Bleve's phrase searchers would look for the phrase across the whole index first; the term
	// positions of these few documents tell as much. Phase three highlights the page.
	res := &bleve.SearchResult{}
	if len(first.Hits) > q.Offset {
		match, _ := b.textQuery(q.Text, locales, q.Typing, q.Similar, dict, false)
		among := func(hits []*search.DocumentMatch) query.Query {
			ids := make([]string, len(hits))
			for i, h := range hits {
				ids[i] = h.ID
			}
			return bleve.NewConjunctionQuery(bleve.NewDocIDQuery(ids), match)
		}
		req := bleve.NewSearchRequestOptions(among(first.Hits), len(first.Hits), 0, false)
		req.IncludeLocations = true
		ranked, err := idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("knowledgebase: search: %w", err)
		}
		phrases := b.phrases(locales, q.Text)
		for _, h := range ranked.Hits {
			h.Score *= phraseBonus(h, phrases)
		}
		slices.SortStableFunc(ranked.Hits, func(x, y *search.DocumentMatch) int { return cmp.Compare(y.Score, x.Score) })
		page := ranked.Hits[min(q.Offset, len(ranked.Hits)):min(q.Offset+q.Limit, len(ranked.Hits))]

		req = bleve.NewSearchRequestOptions(among(page), len(page), 0, false)
		req.Fields = []string{fieldTitle, fieldSummary, fieldKind, fieldLocale, fieldCategory, fieldStatus}
		req.Highlight = bleve.NewHighlightWithStyle(htmlfmt.Name)
		for _, l := range locales {
			req.Highlight.AddField(bodyField(l))
		}
		shown, err := idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("knowledgebase: search: %w", err)
		}
		byID := make(map[string]*search.DocumentMatch, len(shown.Hits))
		for _, h := range shown.Hits {
			byID[h.ID] = h
		}
		for _, h := range page {
			if sh := byID[h.ID]; sh != nil {
				sh.Score = h.Score
				res.Hits = append(res.Hits, sh)
			}
		}
	}
	res.Total, res.Facets = first.Total, nil
	if facets != nil {
		res.Facets = facets.Facets
	}
	out := &Results{Total: res.Total, Hits: make([]Hit, 0, len(res.Hits)), Facets: emptyFacets(q.Facets)}
	for _, h := range res.Hits {
		family, id := parseDocID(h.ID)
		hit := Hit{
			ID: id, Score: h.Score, Kind: str(h.Fields[fieldKind]), Title: str(h.Fields[fieldTitle]),
			Locale: str(h.Fields[fieldLocale]), Category: str(h.Fields[fieldCategory]), Status: str(h.Fields[fieldStatus]),
		}
		if family == "a" {
			hit.Kind = KindArticle
		}
		hit.Snippet = snippet(h.Fragments, hit.Locale, str(h.Fields[fieldSummary]))
		out.Hits = append(out.Hits, hit)
	}
	if q.Facets {
		out.Facets = facetCounts(res.Facets)
	}
	return out, nil
}

// Facets count at most maxCategories categories, the most frequent first. The index keeps one
// facet value per document, "kind|locale|category", and the counts of each part are summed
// here: reading one value per match costs a third of reading three.
const (
	maxCategories = 20
	maxFacetTerms = 1000
)

func facetValue(kind, locale, category string) string { return kind + "|" + locale + "|" + category }

func facetCounts(res search.FacetResults) map[string][]FacetCount {
	sums := map[string]map[string]int{fieldKind: {}, fieldLocale: {}, fieldCategory: {}}
	for _, f := range res {
		if f.Terms == nil {
			continue
		}
		for _, t := range f.Terms.Terms() {
			parts := strings.SplitN(t.Term, "|", 3)
			if len(parts) != 3 {
				continue
			}
			sums[fieldKind][parts[0]] += t.Count
			sums[fieldLocale][parts[1]] += t.Count
			sums[fieldCategory][parts[2]] += t.Count
		}
	}
	out := map[string][]FacetCount{}
	for name, values := range sums {
		counts := make([]FacetCount, 0, len(values))
		for v, n := range values {
			counts = append(counts, FacetCount{Term: v, Count: n})
		}
		slices.SortFunc(counts, func(a, b FacetCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Term, b.Term))
		})
		if name == fieldCategory && len(counts) > maxCategories {
			counts = counts[:maxCategories]
		}
		out[name] = counts
	}
	return out
}

func emptyFacets(want bool) map[string][]FacetCount {
	if !want {
		return nil
	}
	return map[string][]FacetCount{fieldKind: {}, fieldLocale: {}, fieldCategory: {}}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// snippet picks the highlighted fragment of the body, else of the resolution, else the escaped
// start of the text. Bleve's HTML formatter escapes the text around the marks.
func snippet(fragments map[string][]string, locale, summary string) string {
	for _, field := range []string{bodyField(locale)} {
		if f := fragments[field]; len(f) > 0 && strings.Contains(f[0], "<mark>") {
			return strings.TrimSpace(f[0])
		}
	}
	return html.EscapeString(summary)
}

// fieldWeight is a text field and how much a match in it counts.
type fieldWeight struct {
	field func(string) string
	boost float64
}

// Field weights: a word in the title says more than one in the body.
var weights = []fieldWeight{{titleField, 3}, {bodyField, 1}}

// rescoreWindow is how many of the best matches by words are scored again with phrases: a few
// pages' worth, so that a phrase can lift a result onto the page.
func rescoreWindow(limit int) int { return max(3*limit, 20) }

// maxTerms bounds the words one query looks for, per language.
const maxTerms = 32

// textQuery builds what a document must match to be found over the given locales; match is nil
// when the text holds nothing to look for. When strict, a
// document must match most of the query's words (see minWords), else any one of them;
// relaxable says whether the strict query asks for more than one.
func (b *Base) textQuery(text string, locales []string, typing, similar bool, dict *dictionary, strict bool) (match query.Query, relaxable bool) {
	fields := weights
	phrases, free := splitPhrases(text)
	var must []query.Query
	for _, p := range phrases {
		var anyLocale []query.Query
		for _, l := range locales {
			if len(b.terms(l, p)) == 0 {
				continue
			}
			for _, w := range fields {
				mp := bleve.NewMatchPhraseQuery(p)
				mp.SetField(w.field(l))
				mp.Analyzer = analyzerFor(l)
				mp.SetBoost(4 * w.boost)
				anyLocale = append(anyLocale, mp)
			}
		}
		if len(anyLocale) > 0 {
			must = append(must, bleve.NewDisjunctionQuery(anyLocale...))
		}
	}
	all := strings.TrimSpace(strings.Join(append(phrases, free), " "))

	// Each word as each locale analyzes it, and whether any locale's index knows it. A word no
	// locale knows is taken for a typo and also matches the words one edit away (two in a long
	// word); words the index knows match as they are, since expanding them would cost more than
	// the rest of the search and mostly add noise.
	limit := maxTerms
	if similar {
		limit = maxSimilarScan
	}
	words := b.analyze(locales, all, limit)
	if similar {
		words = dict.rarest(words, similarTerms)
	}
	known := map[int]bool{}
	knownIn := map[string]bool{}
	for _, w := range words {
		if dict.knows(w.locale, w.term) {
			known[w.start] = true
			knownIn[w.locale] = true
		}
	}
	// Words known in some locales say what language the query is in: the others are left out.
	// A query of nothing but typos and unfinished words is looked for in every locale.
	if len(knownIn) > 0 {
		locales = slices.DeleteFunc(slices.Clone(locales), func(l string) bool { return !knownIn[l] })
	}
	prefix, prefixAt := "", -1
	if typing {
		prefix, prefixAt = b.lastWordFolded(free)
		if prefixAt >= 0 {
			prefixAt += len(all) - len(free) // free is the tail of all
		}
	}

	// One group of alternatives per word: its terms in every field and locale, the terms near it
	// when it looks mistyped, and for the word being typed, the terms it begins.
	type group struct {
		key     string
		clauses []query.Query
	}
	var groups []*group
	byStart := map[int]*group{}
	keys := map[int]string{}
	for _, w := range words {
		if slices.Contains(locales, w.locale) {
			keys[w.start] += w.locale + ":" + w.term + " "
		}
	}
	seen := map[string]*group{}
	for _, w := range words {
		if !slices.Contains(locales, w.locale) {
			continue
		}
		g := byStart[w.start]
		if g == nil {
			if g = seen[keys[w.start]]; g == nil || w.start == prefixAt {
				g = &group{key: keys[w.start]}
				groups = append(groups, g)
				if w.start != prefixAt {
					seen[g.key] = g
				}
			} else {
				continue // the same word again: it counts once
			}
			byStart[w.start] = g
		}
		var near []string
		if n := utf8.RuneCountInString(w.term); n >= 4 && !known[w.start] {
			near = dict.near(w.locale, w.term, 1+boolInt(n >= 9))
		}
		for _, f := range fields {
			tq := bleve.NewTermQuery(w.term)
			tq.SetField(f.field(w.locale))
			tq.SetBoost(f.boost)
			g.clauses = append(g.clauses, tq)
			for _, t := range near {
				nq := bleve.NewTermQuery(t)
				nq.SetField(f.field(w.locale))
				nq.SetBoost(0.3 * f.boost)
				g.clauses = append(g.clauses, nq)
			}
		}
	}
	if prefix != "" {
		g := byStart[prefixAt]
		if g == nil {
			g = &group{}
			groups = append(groups, g)
		}
		for _, l := range locales {
			for _, f := range fields {
				pq := bleve.NewPrefixQuery(prefix)
				pq.SetField(f.field(l))
				pq.SetBoost(0.5 * f.boost)
				g.clauses = append(g.clauses, pq)
			}
		}
	}
	if len(groups) == 0 && len(must) == 0 {
		return nil, false
	}
	if len(groups) > 0 {
		alternatives := make([]query.Query, len(groups))
		for i, g := range groups {
			alternatives[i] = bleve.NewDisjunctionQuery(g.clauses...)
		}
		dq := bleve.NewDisjunctionQuery(alternatives...)
		if strict && minWords(len(groups)) > 1 {
			dq.SetMin(float64(minWords(len(groups))))
			relaxable = true
		}
		must = append(must, dq)
	}
	match = must[0]
	if len(must) > 1 {
		match = bleve.NewConjunctionQuery(must...)
	}
	return match, relaxable
}

// phraseTerm is a word of the query as the index has it, and its position in the query.
type phraseTerm struct {
	term string
	pos  int
}

// phrases returns, per locale, the query's words in order when there are two or more and not
// too many to be a phrase someone types.
func (b *Base) phrases(locales []string, text string) map[string][]phraseTerm {
	_, free := splitPhrases(text)
	out := map[string][]phraseTerm{}
	for _, l := range locales {
		toks := b.lang[l].Analyze([]byte(free))
		if len(toks) < 2 || len(toks) > 6 {
			continue
		}
		for _, t := range toks {
			out[l] = append(out[l], phraseTerm{string(t.Term), t.Position})
		}
	}
	return out
}

// phraseBonus is how much a hit's score grows because a field has the query's words in the
// order typed (with the gaps stop words leave): most for the title.
func phraseBonus(h *search.DocumentMatch, phrases map[string][]phraseTerm) float64 {
	bonus := 1.0
	for locale, seq := range phrases {
		for _, f := range []struct {
			field string
			bonus float64
		}{{titleField(locale), 2}, {bodyField(locale), 1.6}} {
			if f.bonus > bonus && hasPhrase(h.Locations[f.field], seq) {
				bonus = f.bonus
			}
		}
	}
	return bonus
}

func hasPhrase(terms search.TermLocationMap, seq []phraseTerm) bool {
	if terms == nil {
		return false
	}
	at := map[string]map[uint64]bool{}
	for _, t := range seq {
		if at[t.term] == nil {
			at[t.term] = map[uint64]bool{}
			for _, loc := range terms[t.term] {
				at[t.term][loc.Pos] = true
			}
		}
	}
	for start := range at[seq[0].term] {
		all := true
		for _, t := range seq[1:] {
			if !at[t.term][start+uint64(t.pos-seq[0].pos)] {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// minWords is how many of a query's n words a result must match: all of one or two, most of a
// few, and a fifth of a long text such as a ticket's description. Requiring most words ranks
// better and keeps broad words from matching half the index.
func minWords(n int) int {
	switch {
	case n <= 2:
		return n
	case n <= 6:
		return (3*n + 4) / 5 // 60 %, rounded up
	}
	return max(2, n/5)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// terms returns the distinct index terms of text in locale's analysis.
func (b *Base) terms(locale, text string) []string {
	var out []string
	for _, w := range b.analyze([]string{locale}, text, maxTerms) {
		if !slices.Contains(out, w.term) {
			out = append(out, w.term)
		}
	}
	return out
}

// word is one word of a query as one locale analyzes it; start is where it begins in the text,
// which names the word across locales.
type word struct {
	locale, term string
	start        int
}

// analyze returns the words of text in each locale's analysis, at most limit per locale.
func (b *Base) analyze(locales []string, text string, limit int) []word {
	var out []word
	for _, l := range locales {
		for i, tok := range b.lang[l].Analyze([]byte(text)) {
			if i == limit {
				break
			}
			out = append(out, word{locale: l, term: string(tok.Term), start: tok.Start})
		}
	}
	return out
}

// lastWordFolded returns the word being typed at the end of text, lowercased and folded like the
// index's terms, and where it starts, when it is long enough to be a useful prefix.
func (b *Base) lastWordFolded(text string) (string, int) {
	if text == "" || unicode.IsSpace(rune(text[len(text)-1])) {
		return "", -1
	}
	toks := b.fold.Analyze([]byte(text))
	if len(toks) == 0 {
		return "", -1
	}
	last := toks[len(toks)-1]
	if last.End != len(text) || utf8.RuneCount(last.Term) < 3 {
		return "", -1
	}
	return string(last.Term), last.Start
}

// splitPhrases takes the "quoted phrases" out of text. An unpaired quote is just a character.
func splitPhrases(text string) (phrases []string, rest string) {
	var free strings.Builder
	for {
		open := strings.IndexByte(text, '"')
		if open < 0 {
			break
		}
		end := strings.IndexByte(text[open+1:], '"')
		if end < 0 {
			break
		}
		free.WriteString(text[:open])
		free.WriteByte(' ')
		if p := strings.TrimSpace(text[open+1 : open+1+end]); p != "" {
			phrases = append(phrases, p)
		}
		text = text[open+1+end+1:]
	}
	free.WriteString(strings.ReplaceAll(text, `"`, " "))
	return phrases, strings.TrimLeft(free.String(), " ")
}

// filtered restricts the text query to what q may see and asked for.
func (b *Base) filtered(text query.Query, q Query) query.Query {
	must := []query.Query{text}
	term := func(field, value string) query.Query {
		t := bleve.NewTermQuery(value)
		t.SetField(field)
		t.SetBoost(0)
		return t
	}
	kinds := q.Kinds
	if q.Public {
		// Customers read published public articles and nothing else, whatever they asked for.
		kinds = []string{KindArticle}
		must = append(must, term(fieldVisibility, string(VisibilityPublic)), term(fieldState, string(StatePublished)))
	}
	if len(kinds) > 0 && len(kinds) < len(Kinds) {
		var any []query.Query
		for _, k := range kinds {
			any = append(any, term(fieldKind, k))
		}
		must = append(must, bleve.NewDisjunctionQuery(any...))
	}
	if q.Locale != "" {
		must = append(must, term(fieldLocale, q.Locale))
	}
	if q.Category != "" {
		must = append(must, term(fieldCategory, strings.ToLower(cleanLine(q.Category))))
	}
	bq := bleve.NewBooleanQuery()
	bq.AddMust(must...)
	if q.ExcludeTicket != 0 {
		bq.AddMustNot(bleve.NewDocIDQuery([]string{docID(KindTicket, q.ExcludeTicket)}))
	}
	return bq
}

// Suggest finds the published public articles that match what a customer is typing.
func (b *Base) Suggest(ctx context.Context, text, locale string, limit int) (*Results, error) {
	return b.Search(ctx, Query{Text: text, Locale: locale, Limit: limit, Public: true, Typing: true})
}

// TicketSuggestions are what an agent sees next to a ticket: the articles that may answer it and
// solved tickets like it.
type TicketSuggestions struct {
	Articles []Hit
	Problems []Hit
}

// SuggestForTicket finds articles (public or internal) and common problems like the ticket's
// subject and opening message, in the ticket's language first.
func (b *Base) SuggestForTicket(ctx context.Context, ticketID int64, limit int) (*TicketSuggestions, error) {
	docs, err := loadTicketDocs(ctx, b.db, []int64{ticketID})
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: suggest for ticket: %w", err)
	}
	if len(docs) == 0 {
		return nil, tickets.ErrNotFound
	}
	d := docs[0]
	text := truncate(d.title+" "+d.body, 4*MaxQueryLength/5)
	out := &TicketSuggestions{}
	for _, kind := range []string{KindArticle, KindProblem} {
		q := Query{Text: text, Kinds: []string{kind}, Locale: d.locale, Limit: limit, ExcludeTicket: ticketID, Similar: true}
		res, err := b.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(res.Hits) == 0 {
			q.Locale = ""
			if res, err = b.Search(ctx, q); err != nil {
				return nil, err
			}
		}
		if kind == KindArticle {
			out.Articles = res.Hits
		} else {
			out.Problems = res.Hits
		}
	}
	return out, nil
}

// dictionary answers whether the index holds a term in any text field of a locale, for one
// search.
type dictionary struct {
	idx    bleve.Index
	known  map[string]bool // by locale + "\x00" + term
	reader index.IndexReader
	opened bool
}

// open returns the index snapshot the lookups of this search share, or nil.
func (d *dictionary) open() index.IndexReader {
	if !d.opened {
		d.opened = true
		if adv, err := d.idx.Advanced(); err == nil {
			d.reader, _ = adv.Reader()
		}
	}
	return d.reader
}

func (d *dictionary) close() {
	if d.reader != nil {
		d.reader.Close()
	}
}

func newDictionary(idx bleve.Index) *dictionary {
	return &dictionary{idx: idx, known: map[string]bool{}}
}

// A document's like is looked for by its rarest words among the first maxSimilarScan, at most
// similarTerms of them and, past the first two, only while the documents they are in add up to
// no more than similarPostings: a whole ticket searched word by word cost half a second at
// 100,000 documents, and its common words ("order", "please") found everything while ranking
// nothing. The search walks each word's documents, so that sum is what it costs.
const (
	similarTerms    = 10
	similarPostings = 20000
	maxSimilarScan  = 200
)

// rarest keeps the words (all their locales' terms) whose rarest term is in the fewest
// documents, at most n of them; a term in fewer than two documents links the text to nothing
// else and is left out, as are words the index does not have.
func (d *dictionary) rarest(words []word, n int) []word {
	reader := d.open()
	if reader == nil {
		return words
	}
	freq := map[int]uint64{} // by word start: its rarest term's document count
	seen := map[string]bool{}
	for _, w := range words {
		key := w.locale + "\x00" + w.term
		if seen[key] {
			continue
		}
		seen[key] = true
		tfr, err := reader.TermFieldReader(context.Background(), []byte(w.term), bodyField(w.locale), false, false, false)
		if err != nil {
			continue
		}
		c := tfr.Count()
		tfr.Close()
		if c < 2 {
			continue
		}
		if f, ok := freq[w.start]; !ok || c < f {
			freq[w.start] = c
		}
	}
	starts := slices.Collect(maps.Keys(freq))
	slices.SortFunc(starts, func(a, b int) int { return cmp.Or(cmp.Compare(freq[a], freq[b]), a-b) })
	keep := map[int]bool{}
	var postings uint64
	for i, st := range starts[:min(n, len(starts))] {
		if postings += freq[st]; i >= 2 && postings > similarPostings {
			break
		}
		keep[st] = true
	}
	return slices.DeleteFunc(words, func(w word) bool { return !keep[w.start] })
}

func (d *dictionary) knows(locale, term string) bool {
	key := locale + "\x00" + term
	if k, ok := d.known[key]; ok {
		return k
	}
	d.known[key] = d.lookup(locale, term)
	return d.known[key]
}

// maxNear bounds the index terms one mistyped word expands to, the closest first.
const maxNear = 16

// near returns the terms of the locale's body field within fuzziness edits of term. The body
// holds the words of titles too, mostly, so one dictionary walk serves both fields, where a fuzzy
// query per field would build the same automaton for each.
func (d *dictionary) near(locale, term string, fuzziness int) []string {
	rf, ok := d.open().(index.IndexReaderFuzzy)
	if !ok {
		return nil
	}
	dict, err := rf.FieldDictFuzzy(bodyField(locale), term, fuzziness, "")
	if err != nil {
		return nil
	}
	defer dict.Close()
	type cand struct {
		term  string
		edits int
		count uint64
	}
	var cands []cand
	for e, err := dict.Next(); err == nil && e != nil; e, err = dict.Next() {
		cands = append(cands, cand{e.Term, int(e.EditDistance), e.Count})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.edits != b.edits {
			return a.edits - b.edits
		}
		return cmp.Compare(b.count, a.count)
	})
	out := make([]string, 0, min(len(cands), maxNear))
	for _, c := range cands[:min(len(cands), maxNear)] {
		out = append(out, c.term)
	}
	return out
}

func (d *dictionary) lookup(locale, term string) bool {
	rc, ok := d.open().(index.IndexReaderContains)
	if !ok {
		return false // an index that cannot tell: every word may be a typo
	}
	for _, w := range weights {
		dict, err := rc.FieldDictContains(w.field(locale))
		if err != nil {
			return false
		}
		if found, err := dict.Contains([]byte(term)); err == nil && found {
			return true
		}
	}
	return false
}
