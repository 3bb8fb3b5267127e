package knowledgebase

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// The kinds of document the index holds.
const (
	KindArticle = "article" // a published article
	KindProblem = "problem" // a solved ticket with the reply that solved it: a "common problem"
	KindTicket  = "ticket"  // any other ticket
)

// Kinds lists every kind.
var Kinds = []string{KindArticle, KindProblem, KindTicket}

// doc is one document of the index, built from PostgreSQL rows.
type doc struct {
	kind       string
	id         int64 // the article's or the ticket's
	locale     string
	category   string
	tags       []string
	state      string // articles
	visibility string
	status     string // tickets
	title      string
	body       string
	resolution string // problems
}

// docID is the document's id in the index: kinds that share a table share a prefix, so a ticket
// that becomes a problem replaces its own document.
func docID(kind string, id int64) string {
	if kind == KindArticle {
		return "a:" + strconv.FormatInt(id, 10)
	}
	return "t:" + strconv.FormatInt(id, 10)
}

// parseDocID reads the kind family ("a" or "t") and id of a document id.
func parseDocID(s string) (family string, id int64) {
	family, n, _ := strings.Cut(s, ":")
	id, _ = strconv.ParseInt(n, 10, 64)
	return family, id
}

// public reports whether customers may read the document: a published public article.
func (d *doc) public() bool {
	return d.kind == KindArticle && d.state == string(StatePublished) && d.visibility == string(VisibilityPublic)
}

// summaryLength is how much of a document's text results show when no snippet was highlighted.
const summaryLength = 240

// fields is what the index stores and analyzes for the document.
func (d *doc) fields() map[string]any {
	m := map[string]any{
		fieldKind:            d.kind,
		fieldLocale:          d.locale,
		fieldCategory:        d.category,
		fieldVisibility:      d.visibility,
		fieldFacets:          facetValue(d.kind, d.locale, d.category),
		fieldTitle:           d.title,
		fieldSummary:         truncate(d.body, summaryLength),
		titleField(d.locale): d.title,
		bodyField(d.locale):  strings.TrimSpace(d.body + "\n\n" + d.resolution),
	}
	if len(d.tags) > 0 {
		m[fieldTags] = d.tags
	}
	if d.state != "" {
		m[fieldState] = d.state
	}
	if d.status != "" {
		m[fieldStatus] = d.status
	}
	return m
}

// truncate cuts s to at most n bytes at a word boundary when there is one near.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexFunc(s[:cut], unicode.IsSpace); sp > n*3/4 {
		cut = sp
	}
	return strings.TrimSpace(s[:cut]) + "…"
}

// The index takes the first 20,000 characters of an article and the first 8,000 of a ticket's
// opening message and of its resolution: they say what a ticket is about in their first pages,
// and indexing whole mail threads would grow the index, not its answers.

// articleDocsSQL loads published articles; an article in no row is to be removed from the index.
const articleDocsSQL = `
	SELECT id, title, left(body_text, 20000) AS body, category, tags, locale, state, visibility
	FROM kb_articles WHERE state = 'published' AND `

// ticketDocsSQL loads tickets with their first message from the customer and, when solved, the
// last public reply up to the moment they were solved: the resolution.
const ticketDocsSQL = `
	SELECT t.id, t.subject, t.status, t.category, t.language,
		coalesce(left(q.body_text, 8000), '') AS question,
		coalesce(left(r.body_text, 8000), '') AS resolution
	FROM tickets t
	LEFT JOIN LATERAL (
		SELECT body_text FROM messages m WHERE m.ticket_id = t.id AND m.kind = 'inbound' ORDER BY m.id LIMIT 1
	) q ON true
	LEFT JOIN LATERAL (
		SELECT body_text FROM messages m
		WHERE m.ticket_id = t.id AND m.kind = 'reply' AND t.status IN ('solved', 'closed')
			AND m.created_at <= coalesce(t.solved_at, t.closed_at)
		ORDER BY m.id DESC LIMIT 1
	) r ON true
	WHERE `

type articleDocRow struct {
	ID                        int64
	Title, Body, Category     string
	Tags                      textArray
	Locale, State, Visibility string
}

func (r *articleDocRow) doc() doc {
	return doc{
		kind: KindArticle, id: r.ID, locale: r.Locale, category: r.Category, tags: r.Tags,
		state: r.State, visibility: r.Visibility, title: r.Title, body: r.Body,
	}
}

type ticketDocRow struct {
	ID                                  int64
	Subject, Status, Category, Language string
	Question, Resolution                string
}

func (r *ticketDocRow) doc() doc {
	d := doc{
		kind: KindTicket, id: r.ID, category: r.Category, visibility: string(VisibilityInternal),
		status: r.Status, title: r.Subject, body: r.Question,
	}
	if (r.Status == "solved" || r.Status == "closed") && strings.TrimSpace(r.Resolution) != "" {
		d.kind, d.resolution = KindProblem, r.Resolution
	}
	d.locale = r.Language
	if !ValidLocale(d.locale) {
		d.locale = detectLocale(r.Subject + " " + truncate(r.Question, 1000))
	}
	return d
}

// loadArticleDocs returns the documents of the published articles among ids.
func loadArticleDocs(ctx context.Context, db *gorm.DB, ids []int64) ([]doc, error) {
	var rows []articleDocRow
	if err := db.WithContext(ctx).Raw(articleDocsSQL+`id = ANY(?)`, idArray(ids)).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load articles: %w", err)
	}
	docs := make([]doc, len(rows))
	for i := range rows {
		docs[i] = rows[i].doc()
	}
	return docs, nil
}

// loadTicketDocs returns the documents of the tickets among ids.
func loadTicketDocs(ctx context.Context, db *gorm.DB, ids []int64) ([]doc, error) {
	var rows []ticketDocRow
	if err := db.WithContext(ctx).Raw(ticketDocsSQL+`t.id = ANY(?)`, idArray(ids)).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("load tickets: %w", err)
	}
	docs := make([]doc, len(rows))
	for i := range rows {
		docs[i] = rows[i].doc()
	}
	return docs, nil
}

// pageArticleDocs returns up to limit published articles after id, in id order, for a full build.
func pageArticleDocs(ctx context.Context, db *gorm.DB, after int64, limit int) ([]doc, int64, error) {
	var rows []articleDocRow
	if err := db.WithContext(ctx).Raw(articleDocsSQL+`id > ? ORDER BY id LIMIT ?`, after, limit).Scan(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("load articles: %w", err)
	}
	docs := make([]doc, len(rows))
	for i := range rows {
		docs[i] = rows[i].doc()
		after = rows[i].ID
	}
	return docs, after, nil
}

// pageTicketDocs returns up to limit tickets after id, in id order, for a full build.
func pageTicketDocs(ctx context.Context, db *gorm.DB, after int64, limit int) ([]doc, int64, error) {
	var rows []ticketDocRow
	if err := db.WithContext(ctx).Raw(ticketDocsSQL+`t.id > ? ORDER BY t.id LIMIT ?`, after, limit).Scan(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("load tickets: %w", err)
	}
	docs := make([]doc, len(rows))
	for i := range rows {
		docs[i] = rows[i].doc()
		after = rows[i].ID
	}
	return docs, after, nil
}

// Function words that tell Spanish from English in a ticket that does not say its language. Words
// both languages use ("no", "a") are left out.
var (
	spanishWords = wordSet("el la los las de del que y en un una por para con es mi me se lo al pero como cuando desde esta este ya muy mis su sus hola gracias puedo tengo")
	englishWords = wordSet("the and to of in is it my i you that for on with this have can was are be not but from when since hello thanks please get")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// detectLocale guesses whether text is Spanish or English by its function words; English wins
// ties, being the default locale.
func detectLocale(text string) string {
	var es, en int
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if spanishWords[w] {
			es++
		}
		if englishWords[w] {
			en++
		}
	}
	if es > en {
		return "es"
	}
	return "en"
}
