package knowledgebase

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Deflection is a ticket the knowledge base saved: a visitor of the support form opened an
// article it suggested and then did not send the form. The form's script makes a random session
// id per visit, reports each suggestion opened with it, and the form carries the same id.

var sessionPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// ValidSession reports whether s has the shape of a form session id.
func ValidSession(s string) bool { return sessionPattern.MatchString(s) }

// maxOpensPerSession bounds what one visit can record, so a script cannot fill the table.
const maxOpensPerSession = 20

// RecordOpen records that the visit session opened the suggested article. Opening it again
// records nothing new; only published public articles can be suggested, so any other is not
// found.
func (b *Base) RecordOpen(ctx context.Context, session string, articleID int64) error {
	if !ValidSession(session) {
		return &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "session", Message: "must be 16 to 64 letters, digits, - or _"}}}
	}
	var found int64
	err := b.db.WithContext(ctx).Raw(`
		WITH a AS (
			SELECT id FROM kb_articles WHERE id = ? AND state = 'published' AND visibility = 'public'
		), ins AS (
			INSERT INTO kb_suggestion_opens (session_id, article_id)
			SELECT ?, id FROM a
			WHERE (SELECT count(*) FROM kb_suggestion_opens WHERE session_id = ?) < ?
			ON CONFLICT DO NOTHING
		)
		SELECT count(*) FROM a`, articleID, session, session, maxOpensPerSession).Scan(&found).Error
	if err != nil {
		return fmt.Errorf("knowledgebase: record open: %w", err)
	}
	if found == 0 {
		return tickets.ErrNotFound
	}
	return nil
}

// RecordSubmission records that the visit session sent the form and it became ticketID. Visits
// that opened no suggestion are not recorded: they say nothing about deflection.
func (b *Base) RecordSubmission(ctx context.Context, session string, ticketID int64) error {
	if !ValidSession(session) {
		return nil // the form works without the script, and a forged id is no one's business
	}
	err := b.db.WithContext(ctx).Exec(`
		INSERT INTO kb_form_submissions (session_id, ticket_id)
		SELECT ?, ? WHERE EXISTS (SELECT 1 FROM kb_suggestion_opens WHERE session_id = ?)
		ON CONFLICT DO NOTHING`, session, ticketID, session).Error
	if err != nil {
		return fmt.Errorf("knowledgebase: record submission: %w", err)
	}
	return nil
}

// SettleAfter is how long after opening a suggestion a visit that has not sent the form counts
// as deflected. Younger visits are pending: the visitor may still be reading.
const SettleAfter = time.Hour

// DeflectionReport says how often suggestions saved a ticket, over visits whose first opened
// suggestion falls in [Since, Until).
type DeflectionReport struct {
	Since, Until time.Time
	Sessions     int64   // settled visits that opened a suggestion
	Submitted    int64   // of them, sent the form all the same
	Deflected    int64   // of them, did not: the deflections
	Pending      int64   // visits too recent to tell, not in Sessions
	Rate         float64 // Deflected / Sessions; 0 without sessions
	Articles     []ArticleDeflection
}

// ArticleDeflection is how one article did in the suggestions.
type ArticleDeflection struct {
	ArticleID int64
	Title     string // empty when the article has been deleted since
	Opened    int64  // visits that opened it
	Deflected int64  // of them, settled without a submission
}

// DeflectionReport reports deflection over [since, until), with the ten articles that deflected
// most.
func (b *Base) DeflectionReport(ctx context.Context, since, until time.Time) (*DeflectionReport, error) {
	r := &DeflectionReport{Since: since.UTC(), Until: until.UTC(), Articles: []ArticleDeflection{}}
	db := b.db.WithContext(ctx)
	err := db.Raw(`
		WITH s AS (
			SELECT o.session_id, min(o.opened_at) AS first_opened, bool_or(f.session_id IS NOT NULL) AS submitted
			FROM kb_suggestion_opens o LEFT JOIN kb_form_submissions f USING (session_id)
			WHERE o.opened_at >= ? AND o.opened_at < ?
			GROUP BY o.session_id
		)
		SELECT count(*) FILTER (WHERE submitted OR first_opened < now() - make_interval(secs => ?)) AS sessions,
			count(*) FILTER (WHERE submitted) AS submitted,
			count(*) FILTER (WHERE NOT submitted AND first_opened < now() - make_interval(secs => ?)) AS deflected,
			count(*) FILTER (WHERE NOT submitted AND first_opened >= now() - make_interval(secs => ?)) AS pending
		FROM s`, since, until, SettleAfter.Seconds(), SettleAfter.Seconds(), SettleAfter.Seconds()).
		Row().Scan(&r.Sessions, &r.Submitted, &r.Deflected, &r.Pending)
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: deflection report: %w", err)
	}
	if r.Sessions > 0 {
		r.Rate = float64(r.Deflected) / float64(r.Sessions)
	}
	var rows []struct {
		ArticleID         int64
		Title             string
		Opened, Deflected int64
	}
	err = db.Raw(`
		SELECT o.article_id, coalesce(a.title, '') AS title, count(*) AS opened,
			count(*) FILTER (WHERE f.session_id IS NULL AND o.opened_at < now() - make_interval(secs => ?)) AS deflected
		FROM kb_suggestion_opens o
		LEFT JOIN kb_form_submissions f USING (session_id)
		LEFT JOIN kb_articles a ON a.id = o.article_id
		WHERE o.opened_at >= ? AND o.opened_at < ?
		GROUP BY o.article_id, a.title
		ORDER BY deflected DESC, opened DESC, o.article_id
		LIMIT 10`, SettleAfter.Seconds(), since, until).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: deflection by article: %w", err)
	}
	for _, row := range rows {
		r.Articles = append(r.Articles, ArticleDeflection(row))
	}
	return r, nil
}
