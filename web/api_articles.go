package web

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// The knowledge base API: articles (any member of staff writes drafts; supervisors and admins
// publish), their revisions, and common problems promoted to articles.

type articleJSON struct {
	ID             int64      `json:"id"`
	Title          string     `json:"title"`
	Body           string     `json:"body"`
	BodyHTML       string     `json:"body_html"`
	Category       string     `json:"category"`
	Tags           []string   `json:"tags"`
	Locale         string     `json:"locale"`
	State          string     `json:"state"`
	Visibility     string     `json:"visibility"`
	AuthorID       int64      `json:"author_id"`
	SourceTicketID *int64     `json:"source_ticket_id"`
	Revision       int        `json:"revision"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	PublishedAt    *time.Time `json:"published_at"`
	// PublicURL is where customers read it; empty unless it is published and public.
	PublicURL string `json:"public_url"`
}

func newArticleJSON(a *knowledgebase.Article) articleJSON {
	out := articleJSON{
		ID: a.ID, Title: a.Title, Body: a.Body, BodyHTML: a.BodyHTML, Category: a.Category, Tags: a.Tags,
		Locale: a.Locale, State: string(a.State), Visibility: string(a.Visibility), AuthorID: a.AuthorID,
		SourceTicketID: a.SourceTicketID, Revision: a.Revision, CreatedAt: a.CreatedAt.UTC(),
		UpdatedAt: a.UpdatedAt.UTC(), PublishedAt: utc(a.PublishedAt),
	}
	if a.Public() {
		out.PublicURL = kbArticlePath(a.ID)
	}
	return out
}

func kbArticlePath(id int64) string { return "/kb/articles/" + strconv.FormatInt(id, 10) }

// kbEditor is the member of staff making a request, as the knowledge base sees them.
func kbEditor(c *fiber.Ctx) knowledgebase.Editor {
	u := currentUser(c)
	return knowledgebase.Editor{ID: u.ID, Role: u.Role}
}

// kbError turns the knowledge base's role refusals into 403s; other errors pass as they are.
func kbError(err error) error {
	var forbidden *knowledgebase.ForbiddenError
	if errors.As(err, &forbidden) {
		return &inputError{status: fiber.StatusForbidden, field: forbidden.Field, message: forbidden.Message}
	}
	return err
}

// kbCheckParams refuses query parameters the endpoint does not know: a typo such as ?loacle=es
// would otherwise silently search everything.
func kbCheckParams(c *fiber.Ctx, known ...string) error {
	var bad error
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if bad == nil && !slices.Contains(known, string(k)) {
			bad = badRequest(string(k), "is not a known parameter ("+strings.Join(known, ", ")+")")
		}
	})
	return bad
}

// kbIntParam reads an optional whole-number parameter within [lo, hi].
func kbIntParam(c *fiber.Ctx, name string, def, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name, "must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

func (s *server) apiListArticles(c *fiber.Ctx) error {
	if err := kbCheckParams(c, "state", "visibility", "locale", "category", "limit", "cursor"); err != nil {
		return err
	}
	f := knowledgebase.ArticleFilter{Locale: c.Query("locale"), Category: c.Query("category"), Cursor: c.Query("cursor")}
	switch st := knowledgebase.State(c.Query("state")); st {
	case "", knowledgebase.StateDraft, knowledgebase.StatePublished, knowledgebase.StateArchived:
		f.State = st
	default:
		return badRequest("state", "must be draft, published or archived")
	}
	switch v := knowledgebase.Visibility(c.Query("visibility")); v {
	case "", knowledgebase.VisibilityPublic, knowledgebase.VisibilityInternal:
		f.Visibility = v
	default:
		return badRequest("visibility", "must be public or internal")
	}
	if f.Locale != "" && !knowledgebase.ValidLocale(f.Locale) {
		return badRequest("locale", "must be en or es")
	}
	var err error
	if f.Limit, err = kbIntParam(c, "limit", 25, 1, 100); err != nil {
		return err
	}
	page, err := s.Knowledge.Articles(c.UserContext(), f)
	if err != nil {
		return err
	}
	items := make([]articleJSON, len(page.Items))
	for i := range page.Items {
		items[i] = newArticleJSON(&page.Items[i])
	}
	return c.JSON(fiber.Map{"items": items, "next": page.Next})
}

type createArticleRequest struct {
	Title      string   `json:"title"`
	Body       string   `json:"body"`
	Category   string   `json:"category"`
	Tags       []string `json:"tags"`
	Locale     string   `json:"locale"`
	State      string   `json:"state"`
	Visibility string   `json:"visibility"`
}

func (r createArticleRequest) newArticle() knowledgebase.NewArticle {
	return knowledgebase.NewArticle{
		Title: r.Title, Body: r.Body, Category: r.Category, Tags: r.Tags, Locale: r.Locale,
		State: r.State, Visibility: r.Visibility,
	}
}

func (s *server) apiCreateArticle(c *fiber.Ctx) error {
	var req createArticleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	a, err := s.Knowledge.CreateArticle(c.UserContext(), kbEditor(c), req.newArticle())
	if err != nil {
		return kbError(err)
	}
	c.Location("/api/v1/articles/" + strconv.FormatInt(a.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(newArticleJSON(a))
}

func (s *server) apiGetArticle(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := s.Knowledge.Article(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newArticleJSON(a))
}

type updateArticleRequest struct {
	Title      *string   `json:"title"`
	Body       *string   `json:"body"`
	Category   *string   `json:"category"`
	Tags       *[]string `json:"tags"`
	Locale     *string   `json:"locale"`
	State      *string   `json:"state"`
	Visibility *string   `json:"visibility"`
	// Revision, when sent, must be the article's current one: the edit was made on it.
	Revision *int `json:"revision"`
}

func (s *server) apiUpdateArticle(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateArticleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	change := knowledgebase.ArticleChange{
		Title: req.Title, Body: req.Body, Category: req.Category, Tags: req.Tags, Locale: req.Locale,
		State: req.State, Visibility: req.Visibility, Revision: req.Revision,
	}
	if change.Title == nil && change.Body == nil && change.Category == nil && change.Tags == nil &&
		change.Locale == nil && change.State == nil && change.Visibility == nil {
		return &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "body", Message: "nothing to change: give title, body, category, tags, locale, state or visibility"}}}
	}
	a, err := s.Knowledge.UpdateArticle(c.UserContext(), kbEditor(c), id, change)
	if err != nil {
		return kbError(err)
	}
	return c.JSON(newArticleJSON(a))
}

func (s *server) apiDeleteArticle(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Knowledge.DeleteArticle(c.UserContext(), kbEditor(c), id); err != nil {
		return kbError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type revisionJSON struct {
	Revision   int       `json:"revision"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	Category   string    `json:"category"`
	Tags       []string  `json:"tags"`
	Locale     string    `json:"locale"`
	State      string    `json:"state"`
	Visibility string    `json:"visibility"`
	EditorID   int64     `json:"editor_id"`
	CreatedAt  time.Time `json:"created_at"`
}

func (s *server) apiArticleRevisions(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	revs, err := s.Knowledge.Revisions(c.UserContext(), id)
	if err != nil {
		return err
	}
	items := make([]revisionJSON, len(revs))
	for i, r := range revs {
		items[i] = revisionJSON{
			Revision: r.Revision, Title: r.Title, Body: r.Body, Category: r.Category, Tags: r.Tags, Locale: r.Locale,
			State: string(r.State), Visibility: string(r.Visibility), EditorID: r.EditorID, CreatedAt: r.CreatedAt.UTC(),
		}
	}
	return c.JSON(fiber.Map{"items": items})
}

type problemJSON struct {
	TicketID   int64      `json:"ticket_id"`
	Ref        string     `json:"ref"`
	Subject    string     `json:"subject"`
	Question   string     `json:"question"`
	Resolution string     `json:"resolution"`
	Locale     string     `json:"locale"`
	Category   string     `json:"category"`
	Status     string     `json:"status"`
	SolvedAt   *time.Time `json:"solved_at"`
	TicketURL  string     `json:"ticket_url"`
}

func (s *server) apiGetProblem(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := s.Knowledge.Problem(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(problemJSON{
		TicketID: p.TicketID, Ref: tickets.Ref(p.TicketID), Subject: p.Subject, Question: p.Question,
		Resolution: p.Resolution, Locale: p.Locale, Category: p.Category, Status: p.Status, SolvedAt: utc(p.SolvedAt),
		TicketURL: "/api/v1/tickets/" + strconv.FormatInt(p.TicketID, 10),
	})
}

// apiPromoteProblem makes a draft article of a solved ticket. The body is optional: fields given
// replace what the ticket suggests.
func (s *server) apiPromoteProblem(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req createArticleRequest
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	a, err := s.Knowledge.Promote(c.UserContext(), kbEditor(c), id, req.newArticle())
	if err != nil {
		return kbError(err)
	}
	c.Location("/api/v1/articles/" + strconv.FormatInt(a.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(newArticleJSON(a))
}
