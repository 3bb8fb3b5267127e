package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/knowledgebase"
)

// Search for staff, suggestions for customers as they type and for agents next to a ticket, and
// the deflection report.

type hitJSON struct {
	Kind     string  `json:"kind"`
	ID       int64   `json:"id"`
	Title    string  `json:"title"`
	Snippet  string  `json:"snippet"` // HTML: escaped text, matches in <mark>
	Locale   string  `json:"locale"`
	Category string  `json:"category"`
	Status   string  `json:"status,omitempty"`
	Score    float64 `json:"score"`
	URL      string  `json:"url"`
}

// newHits describes hits for staff (public false), whose links go to the API, or customers.
func newHits(hits []knowledgebase.Hit, public bool) []hitJSON {
	out := make([]hitJSON, len(hits))
	for i, h := range hits {
		out[i] = hitJSON{
			Kind: h.Kind, ID: h.ID, Title: h.Title, Snippet: h.Snippet, Locale: h.Locale, Category: h.Category,
			Status: h.Status, Score: h.Score,
		}
		switch {
		case public:
			out[i].URL = kbArticlePath(h.ID)
		case h.Kind == knowledgebase.KindArticle:
			out[i].URL = "/api/v1/articles/" + strconv.FormatInt(h.ID, 10)
		default:
			out[i].URL = "/api/v1/tickets/" + strconv.FormatInt(h.ID, 10)
		}
	}
	return out
}

type facetJSON struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

func (s *server) apiSearch(c *fiber.Ctx) error {
	if err := kbCheckParams(c, "q", "kind", "locale", "category", "limit", "offset", "facets"); err != nil {
		return err
	}
	q := knowledgebase.Query{Text: c.Query("q"), Locale: c.Query("locale"), Category: c.Query("category")}
	// Facets cost as much as the search itself, so they come when asked for: with the first
	// page that shows them, not with every further one.
	switch c.Query("facets") {
	case "", "false":
	case "true":
		q.Facets = true
	default:
		return badRequest("facets", "must be true or false")
	}
	if v := c.Query("kind"); v != "" {
		for _, k := range strings.Split(v, ",") {
			q.Kinds = append(q.Kinds, strings.TrimSpace(k))
		}
	}
	var err error
	if q.Limit, err = kbIntParam(c, "limit", 10, 1, 50); err != nil {
		return err
	}
	if q.Offset, err = kbIntParam(c, "offset", 0, 0, 1000); err != nil {
		return err
	}
	res, err := s.Knowledge.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	facets := map[string][]facetJSON{}
	for name, counts := range res.Facets {
		facets[name] = make([]facetJSON, len(counts))
		for i, f := range counts {
			facets[name][i] = facetJSON{Value: f.Term, Count: f.Count}
		}
	}
	return c.JSON(fiber.Map{"total": res.Total, "items": newHits(res.Hits, false), "facets": facets})
}

// apiSuggest answers the support form's script as a customer types: published public articles
// only, whatever is asked.
func (s *server) apiSuggest(c *fiber.Ctx) error {
	if err := kbCheckParams(c, "q", "locale", "limit"); err != nil {
		return err
	}
	limit, err := kbIntParam(c, "limit", 5, 1, 10)
	if err != nil {
		return err
	}
	res, err := s.Knowledge.Suggest(c.UserContext(), c.Query("q"), c.Query("locale"), limit)
	if err != nil {
		return err
	}
	// Suggestions change as articles do; a minute of caching spares the index a burst of typists.
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.JSON(fiber.Map{"items": newHits(res.Hits, true)})
}

func (s *server) apiTicketSuggestions(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := kbCheckParams(c, "limit"); err != nil {
		return err
	}
	limit, err := kbIntParam(c, "limit", 5, 1, 20)
	if err != nil {
		return err
	}
	sug, err := s.Knowledge.SuggestForTicket(c.UserContext(), id, limit)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"articles": newHits(sug.Articles, false), "problems": newHits(sug.Problems, false)})
}

type deflectionJSON struct {
	Since     time.Time               `json:"since"`
	Until     time.Time               `json:"until"`
	Sessions  int64                   `json:"sessions"`
	Submitted int64                   `json:"submitted"`
	Deflected int64                   `json:"deflected"`
	Pending   int64                   `json:"pending"`
	Rate      float64                 `json:"rate"`
	Articles  []articleDeflectionJSON `json:"articles"`
}

type articleDeflectionJSON struct {
	ArticleID int64  `json:"article_id"`
	Title     string `json:"title"`
	Opened    int64  `json:"opened"`
	Deflected int64  `json:"deflected"`
}

func (s *server) apiDeflection(c *fiber.Ctx) error {
	if err := kbCheckParams(c, "days"); err != nil {
		return err
	}
	days, err := kbIntParam(c, "days", 30, 1, 366)
	if err != nil {
		return err
	}
	until := time.Now()
	r, err := s.Knowledge.DeflectionReport(c.UserContext(), until.AddDate(0, 0, -days), until)
	if err != nil {
		return err
	}
	out := deflectionJSON{
		Since: r.Since, Until: r.Until, Sessions: r.Sessions, Submitted: r.Submitted, Deflected: r.Deflected,
		Pending: r.Pending, Rate: r.Rate, Articles: make([]articleDeflectionJSON, len(r.Articles)),
	}
	for i, a := range r.Articles {
		out.Articles[i] = articleDeflectionJSON(a)
	}
	return c.JSON(out)
}
