package knowledgebase

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// State is where an article stands in its life.
type State string

// The article states.
const (
	StateDraft     State = "draft"     // being written; staff only
	StatePublished State = "published" // live: searchable, and on the public help center when public
	StateArchived  State = "archived"  // retired; kept for its history, found by no search
)

// Visibility says who may read a published article.
type Visibility string

// The visibilities.
const (
	VisibilityPublic   Visibility = "public"   // customers too
	VisibilityInternal Visibility = "internal" // staff only
)

// Article is one article as last saved.
type Article struct {
	ID             int64
	Title          string
	Body           string // Markdown as written
	BodyHTML       string // rendered and sanitized; safe to put in a page
	Category       string
	Tags           []string
	Locale         string
	State          State
	Visibility     Visibility
	AuthorID       int64
	SourceTicketID *int64 // the solved ticket it was promoted from
	Revision       int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PublishedAt    *time.Time
}

// Public reports whether customers may read the article.
func (a *Article) Public() bool {
	return a.State == StatePublished && a.Visibility == VisibilityPublic
}

// Revision is one saved version of an article.
type Revision struct {
	ArticleID  int64
	Revision   int
	Title      string
	Body       string
	Category   string
	Tags       []string
	Locale     string
	State      State
	Visibility Visibility
	EditorID   int64
	CreatedAt  time.Time
}

// Editor is the member of staff who changes an article; the role decides what they may do.
type Editor struct {
	ID   int64
	Role tickets.Role
}

// ForbiddenError means the editor's role does not allow the change.
type ForbiddenError struct {
	Field   string
	Message string
}

func (e *ForbiddenError) Error() string { return e.Field + ": " + e.Message }

// mayPublish is the rule of who puts words in front of customers: any member of staff may write
// drafts (and promote a solved ticket to one); supervisors and admins publish, archive, edit
// live articles and delete.
func mayPublish(r tickets.Role) bool { return r.Includes(tickets.RoleSupervisor) }

// NewArticle is an article to create. Empty Locale, State and Visibility take en, draft and
// public.
type NewArticle struct {
	Title      string
	Body       string
	Category   string
	Tags       []string
	Locale     string
	State      string
	Visibility string
	// SourceTicketID links an article promoted from a solved ticket.
	SourceTicketID *int64
}

// ArticleChange is a partial update: nil fields stay as they are. Revision, when set, must be
// the article's current revision, so that two editors cannot silently overwrite each other.
type ArticleChange struct {
	Title      *string
	Body       *string
	Category   *string
	Tags       *[]string
	Locale     *string
	State      *string
	Visibility *string
	Revision   *int
}

// Limits on what an article holds.
const (
	maxTitle    = 200
	maxBody     = 100 << 10
	maxCategory = 64
	maxTags     = 20
	maxTag      = 40
)

// fields is an article's editable content, validated.
type fields struct {
	title, body, category, locale string
	tags                          []string
	state                         State
	visibility                    Visibility
	bodyHTML, bodyText            string
}

func (f *fields) validate(v *tickets.ValidationError) {
	f.title = cleanLine(f.title)
	switch {
	case f.title == "":
		v.Add("title", "is required")
	case utf8.RuneCountInString(f.title) > maxTitle:
		v.Add("title", fmt.Sprintf("must be at most %d characters", maxTitle))
	}
	f.body = strings.TrimSpace(cleanText(f.body))
	switch {
	case f.body == "":
		v.Add("body", "is required")
	case len(f.body) > maxBody:
		v.Add("body", fmt.Sprintf("must be at most %d KB", maxBody>>10))
	}
	f.category = strings.ToLower(cleanLine(f.category))
	if utf8.RuneCountInString(f.category) > maxCategory {
		v.Add("category", fmt.Sprintf("must be at most %d characters", maxCategory))
	}
	var err error
	if f.tags, err = cleanTags(f.tags); err != nil {
		v.Add("tags", err.Error())
	}
	if !ValidLocale(f.locale) {
		v.Add("locale", "must be en or es")
	}
	if f.state != StateDraft && f.state != StatePublished && f.state != StateArchived {
		v.Add("state", "must be draft, published or archived")
	}
	if f.visibility != VisibilityPublic && f.visibility != VisibilityInternal {
		v.Add("visibility", "must be public or internal")
	}
}

func cleanTags(in []string) ([]string, error) {
	if len(in) > maxTags {
		return nil, fmt.Errorf("at most %d tags", maxTags)
	}
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(cleanLine(t))
		switch {
		case t == "":
			return nil, errors.New("must not hold empty tags")
		case utf8.RuneCountInString(t) > maxTag:
			return nil, fmt.Errorf("each must be at most %d characters", maxTag)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// render fills in the HTML and text of the body.
func (f *fields) render() error {
	var err error
	if f.bodyHTML, err = renderMarkdown(f.body); err != nil {
		return err
	}
	f.bodyText = plainText(f.bodyHTML)
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CreateArticle saves a new article with its first revision, and tells the search feed, in one
// statement.
func (b *Base) CreateArticle(ctx context.Context, ed Editor, in NewArticle) (*Article, error) {
	f := fields{
		title: in.Title, body: in.Body, category: in.Category, tags: in.Tags,
		locale: orDefault(in.Locale, "en"), state: State(orDefault(in.State, string(StateDraft))),
		visibility: Visibility(orDefault(in.Visibility, string(VisibilityPublic))),
	}
	var v tickets.ValidationError
	f.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if f.state != StateDraft && !mayPublish(ed.Role) {
		return nil, &ForbiddenError{Field: "state", Message: "only supervisors and admins publish or archive; save it as a draft"}
	}
	if err := f.render(); err != nil {
		return nil, fmt.Errorf("knowledgebase: create article: %w", err)
	}
	var row articleRow
	err := b.db.WithContext(ctx).Raw(`
		WITH a AS (
			INSERT INTO kb_articles (title, body, body_html, body_text, category, tags, locale, state, visibility,
				author_id, source_ticket_id, published_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? = 'published' THEN now() END)
			RETURNING *
		), r AS (
			INSERT INTO kb_article_revisions (article_id, revision, title, body, category, tags, locale, state, visibility, editor_id)
			SELECT id, revision, title, body, category, tags, locale, state, visibility, author_id FROM a
		), feed AS (
			INSERT INTO kb_feed (kind, doc_id) SELECT 'article', id FROM a
		)
		SELECT * FROM a`,
		f.title, f.body, f.bodyHTML, f.bodyText, f.category, textArray(f.tags), f.locale, f.state, f.visibility,
		ed.ID, in.SourceTicketID, f.state).Scan(&row).Error
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: create article: %w", err)
	}
	return row.article(), nil
}

// UpdateArticle applies a change and saves it as a new revision. A change that changes nothing
// saves nothing.
func (b *Base) UpdateArticle(ctx context.Context, ed Editor, id int64, c ArticleChange) (*Article, error) {
	var out *Article
	err := b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cur, err := lockArticle(tx, id)
		if err != nil {
			return err
		}
		if c.Revision != nil && *c.Revision != cur.Revision {
			return &tickets.ConflictError{Field: "revision", Message: fmt.Sprintf("the article has changed since revision %d (it is at %d); reload it and apply your change again", *c.Revision, cur.Revision)}
		}
		f := fields{
			title: cur.Title, body: cur.Body, category: cur.Category, tags: cur.Tags, locale: cur.Locale,
			state: cur.State, visibility: cur.Visibility,
		}
		set(&f.title, c.Title)
		set(&f.body, c.Body)
		set(&f.category, c.Category)
		set(&f.locale, c.Locale)
		if c.Tags != nil {
			f.tags = *c.Tags
		}
		if c.State != nil {
			f.state = State(*c.State)
		}
		if c.Visibility != nil {
			f.visibility = Visibility(*c.Visibility)
		}
		var v tickets.ValidationError
		f.validate(&v)
		if err := v.Err(); err != nil {
			return err
		}
		if !mayPublish(ed.Role) {
			if cur.State != StateDraft {
				return &ForbiddenError{Field: "state", Message: fmt.Sprintf("the article is %s; only supervisors and admins change it", cur.State)}
			}
			if f.state != StateDraft {
				return &ForbiddenError{Field: "state", Message: "only supervisors and admins publish or archive"}
			}
		}
		if f.title == cur.Title && f.body == cur.Body && f.category == cur.Category && slices.Equal(f.tags, cur.Tags) &&
			f.locale == cur.Locale && f.state == cur.State && f.visibility == cur.Visibility {
			out = cur
			return nil
		}
		if err := f.render(); err != nil {
			return err
		}
		var row articleRow
		err = tx.Raw(`
			WITH a AS (
				UPDATE kb_articles SET title = ?, body = ?, body_html = ?, body_text = ?, category = ?, tags = ?,
					locale = ?, state = ?, visibility = ?, revision = revision + 1, updated_at = now(),
					published_at = CASE WHEN ? = 'published' THEN coalesce(published_at, now()) ELSE published_at END
				WHERE id = ? RETURNING *
			), r AS (
				INSERT INTO kb_article_revisions (article_id, revision, title, body, category, tags, locale, state, visibility, editor_id)
				SELECT id, revision, title, body, category, tags, locale, state, visibility, ? FROM a
			), feed AS (
				INSERT INTO kb_feed (kind, doc_id) SELECT 'article', id FROM a
			)
			SELECT * FROM a`,
			f.title, f.body, f.bodyHTML, f.bodyText, f.category, textArray(f.tags), f.locale, f.state, f.visibility,
			f.state, id, ed.ID).Scan(&row).Error
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		out = row.article()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: update article: %w", err)
	}
	return out, nil
}

func set(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

// DeleteArticle removes an article and its revisions. Archiving keeps them; deleting is for
// what should never have been written.
func (b *Base) DeleteArticle(ctx context.Context, ed Editor, id int64) error {
	if !mayPublish(ed.Role) {
		return &ForbiddenError{Field: "id", Message: "only supervisors and admins delete articles; archive it instead"}
	}
	err := b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := lockArticle(tx, id); err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM kb_articles WHERE id = ?`, id).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO kb_feed (kind, doc_id) VALUES ('article', ?)`, id).Error
	})
	if err != nil {
		return fmt.Errorf("knowledgebase: delete article: %w", err)
	}
	return nil
}

func lockArticle(tx *gorm.DB, id int64) (*Article, error) {
	var row articleRow
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Table("kb_articles").Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, tickets.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load article: %w", err)
	}
	return row.article(), nil
}

// Article returns an article in any state, for staff.
func (b *Base) Article(ctx context.Context, id int64) (*Article, error) {
	var row articleRow
	err := b.db.WithContext(ctx).Table("kb_articles").Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, tickets.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: get article: %w", err)
	}
	return row.article(), nil
}

// PublicArticle returns an article that customers may read; any other is not found.
func (b *Base) PublicArticle(ctx context.Context, id int64) (*Article, error) {
	a, err := b.Article(ctx, id)
	if err != nil {
		return nil, err
	}
	if !a.Public() {
		return nil, tickets.ErrNotFound
	}
	return a, nil
}

// ArticleFilter selects articles for staff. Zero fields select everything.
type ArticleFilter struct {
	State      State
	Visibility Visibility
	Locale     string
	Category   string
	Limit      int    // default 25, at most 100
	Cursor     string // from the previous page's Next
}

// ArticlePage is one page of articles, newest first. Next is empty on the last page.
type ArticlePage struct {
	Items []Article
	Next  string
}

// Articles lists articles for staff, newest first, by keyset on the id.
func (b *Base) Articles(ctx context.Context, f ArticleFilter) (*ArticlePage, error) {
	if f.Limit <= 0 {
		f.Limit = 25
	}
	f.Limit = min(f.Limit, 100)
	q := b.db.WithContext(ctx).Table("kb_articles")
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.Visibility != "" {
		q = q.Where("visibility = ?", f.Visibility)
	}
	if f.Locale != "" {
		q = q.Where("locale = ?", f.Locale)
	}
	if f.Category != "" {
		q = q.Where("category = ?", strings.ToLower(f.Category))
	}
	if f.Cursor != "" {
		before, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		q = q.Where("id < ?", before)
	}
	var rows []articleRow
	if err := q.Order("id DESC").Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("knowledgebase: list articles: %w", err)
	}
	page := &ArticlePage{Items: make([]Article, 0, len(rows))}
	for i := range rows {
		if i == f.Limit {
			page.Next = encodeCursor(rows[i-1].ID)
			break
		}
		page.Items = append(page.Items, *rows[i].article())
	}
	return page, nil
}

// PublicArticles lists the published public articles of a locale (all locales when empty) and
// category (all when empty), by category and title, at most limit of them after skipping offset.
func (b *Base) PublicArticles(ctx context.Context, locale, category string, offset, limit int) ([]Article, error) {
	q := b.db.WithContext(ctx).Table("kb_articles").Where("state = 'published' AND visibility = 'public'")
	if locale != "" {
		q = q.Where("locale = ?", locale)
	}
	if category != "" {
		q = q.Where("category = ?", strings.ToLower(category))
	}
	var rows []articleRow
	err := q.Select("id, title, category, tags, locale, state, visibility, author_id, revision, created_at, updated_at, published_at, left(body_text, 300) AS body_text").
		Order("locale, category, lower(title), id").Offset(offset).Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: public articles: %w", err)
	}
	out := make([]Article, len(rows))
	for i := range rows {
		out[i] = *rows[i].article()
		out[i].Body = rows[i].BodyText // the start of the text, for a listing
	}
	return out, nil
}

// Revisions returns every saved version of an article, newest first.
func (b *Base) Revisions(ctx context.Context, id int64) ([]Revision, error) {
	if _, err := b.Article(ctx, id); err != nil {
		return nil, err
	}
	var rows []struct {
		ArticleID, EditorID   int64
		Revision              int
		Title, Body, Category string
		Tags                  textArray
		Locale                string
		State                 State
		Visibility            Visibility
		CreatedAt             time.Time
	}
	err := b.db.WithContext(ctx).Raw(`SELECT * FROM kb_article_revisions WHERE article_id = ? ORDER BY revision DESC`, id).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: revisions: %w", err)
	}
	out := make([]Revision, len(rows))
	for i, r := range rows {
		tags := []string(r.Tags)
		if tags == nil {
			tags = []string{}
		}
		out[i] = Revision{
			ArticleID: r.ArticleID, Revision: r.Revision, Title: r.Title, Body: r.Body, Category: r.Category,
			Tags: tags, Locale: r.Locale, State: r.State, Visibility: r.Visibility, EditorID: r.EditorID, CreatedAt: r.CreatedAt,
		}
	}
	return out, nil
}

// articleRow is a kb_articles row as the database returns it.
type articleRow struct {
	ID             int64
	Title          string
	Body           string
	BodyHTML       string `gorm:"column:body_html"`
	BodyText       string
	Category       string
	Tags           textArray
	Locale         string
	State          State
	Visibility     Visibility
	AuthorID       int64
	SourceTicketID *int64
	Revision       int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PublishedAt    *time.Time
}

func (r *articleRow) article() *Article {
	tags := []string(r.Tags)
	if tags == nil {
		tags = []string{}
	}
	return &Article{
		ID: r.ID, Title: r.Title, Body: r.Body, BodyHTML: r.BodyHTML, Category: r.Category, Tags: tags,
		Locale: r.Locale, State: r.State, Visibility: r.Visibility, AuthorID: r.AuthorID,
		SourceTicketID: r.SourceTicketID, Revision: r.Revision, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		PublishedAt: r.PublishedAt,
	}
}

// cleanText makes text safe to store: valid UTF-8, no NULs or control characters other than
// newlines and tabs, and LF line ends.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r == '\r' || unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// cleanLine is cleanText for one-line fields: whitespace runs become one space.
func cleanLine(s string) string { return strings.Join(strings.Fields(cleanText(s)), " ") }

// encodeCursor returns the opaque cursor of the page after id.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("id:" + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (int64, error) {
	bad := &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "cursor", Message: "is not a cursor from a previous page"}}}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, bad
	}
	n, ok := strings.CutPrefix(string(raw), "id:")
	if !ok {
		return 0, bad
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 {
		return 0, bad
	}
	return id, nil
}
