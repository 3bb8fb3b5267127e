package knowledgebase

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/lang/es"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
)

// mappingVersion names the index layout below. Change it with any change to the mapping, the
// analyzers or what a document holds: a node that finds an index of another version rebuilds it
// in the background and swaps it in.
var mappingVersion = "11"

// Locales are the languages articles are written in, each with its own analyzer.
var Locales = []string{"en", "es"}

// ValidLocale reports whether l is one of Locales.
func ValidLocale(l string) bool { return l == "en" || l == "es" }

// Analyzer names. Each language gets stemming and stop words, and accents are folded after the
// stop words are removed, so "sesión", "sesion" and "SESIÓN" index alike and a customer on a
// keyboard without accents finds what they mean.
const (
	analyzerEN   = "helpdesk_en"
	analyzerES   = "helpdesk_es"
	analyzerFold = "helpdesk_fold" // no stemming: for the prefix of the word being typed
	foldFilter   = "helpdesk_fold"
)

// foldAccents folds a token to ASCII where a letter has an ASCII base ("ñ" → "n", "é" → "e").
type foldAccents struct {
	f *asciifolding.AsciiFoldingFilter
}

func (f foldAccents) Filter(input analysis.TokenStream) analysis.TokenStream {
	for _, t := range input {
		t.Term = f.f.Filter(t.Term)
	}
	return input
}

func init() {
	// A token filter, not bleve's char filter of the same job: folding before the stop filters
	// would keep "él" and "qué" out of their stop lists.
	err := registry.RegisterTokenFilter(foldFilter, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return foldAccents{asciifolding.New()}, nil
	})
	if err != nil {
		panic(err)
	}
}

// Field names. Text fields exist once per locale, each analyzed in its language; a document only
// fills those of its own locale.
const (
	fieldKind       = "kind"       // article, problem or ticket
	fieldLocale     = "locale"     // en or es
	fieldCategory   = "category"   // as the article or ticket has it
	fieldTags       = "tags"       // article tags
	fieldState      = "state"      // article state
	fieldVisibility = "visibility" // article visibility; tickets are "internal"
	fieldStatus     = "status"     // ticket status
	fieldTitle      = "title"      // stored for display, not searched
	fieldSummary    = "summary"    // the start of the text, for results without a highlight
	// fieldFacets holds kind, locale and category again as one value (see facetValue): one
	// doc value read per hit instead of three, which is most of what facets cost.
	fieldFacets = "facets"
)

// titleField holds the title; bodyField the text: an article's body, or a ticket's opening
// message followed by its resolution. Two fields, not three: every text field multiplies the
// postings a search walks.
func titleField(locale string) string { return "title_" + locale }
func bodyField(locale string) string  { return "body_" + locale }

// newMapping builds the index mapping: keyword fields for filters and facets, and per-locale
// text fields stored with term vectors for phrases and highlighted snippets.
func newMapping() (mapping.IndexMapping, error) {
	im := mapping.NewIndexMapping()
	if err := im.AddCustomAnalyzer(analyzerEN, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{en.PossessiveName, lowercase.Name, en.StopName, foldFilter, porter.Name},
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(analyzerES, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, es.StopName, foldFilter, es.LightStemmerName},
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(analyzerFold, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, foldFilter},
	}); err != nil {
		return nil, err
	}

	doc := mapping.NewDocumentStaticMapping()
	keyword := func(name string, store, docValues bool) {
		f := mapping.NewKeywordFieldMapping()
		f.Store, f.DocValues, f.IncludeInAll = store, docValues, false
		doc.AddFieldMappingsAt(name, f)
	}
	for _, name := range []string{fieldKind, fieldLocale, fieldCategory, fieldTags, fieldState, fieldVisibility, fieldStatus} {
		keyword(name, true, false)
	}
	keyword(fieldFacets, false, true)
	stored := func(name string) {
		f := mapping.NewTextFieldMapping()
		f.Index, f.Store, f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, true, false, false, false
		doc.AddFieldMappingsAt(name, f)
	}
	stored(fieldTitle)
	stored(fieldSummary)
	for _, locale := range Locales {
		analyzer := analyzerFor(locale)
		for _, name := range []string{titleField(locale), bodyField(locale)} {
			f := mapping.NewTextFieldMapping()
			f.Analyzer = analyzer
			f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = true, true, false, false
			doc.AddFieldMappingsAt(name, f)
		}
	}
	im.DefaultMapping = doc
	im.DefaultAnalyzer = analyzerEN
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	return im, nil
}

func analyzerFor(locale string) string {
	if locale == "es" {
		return analyzerES
	}
	return analyzerEN
}
