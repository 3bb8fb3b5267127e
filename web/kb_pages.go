package web

import (
	"html/template"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/knowledgebase"
)

// The public help center at /kb: published public articles, by category or by search, readable
// without signing in and without JavaScript.

type kbLink struct {
	Title, URL, Locale, Category string
	Snippet                      template.HTML // escaped text with <mark>s, from the index
}

type kbGroup struct {
	Name     string
	Articles []kbLink
}

type kbIndexView struct {
	Query, Locale, Category string
	Searched                bool
	Total                   uint64
	Results                 []kbLink
	Groups                  []kbGroup
	MoreURL                 string
}

// kbPageSize is how many articles one page of the help center lists.
const kbPageSize = 200

func (s *server) kbIndex(c *fiber.Ctx) error {
	view := kbIndexView{Query: c.Query("q"), Locale: c.Query("locale"), Category: c.Query("category")}
	if view.Locale != "" && !knowledgebase.ValidLocale(view.Locale) {
		return badRequest("locale", "Choose English or Español.")
	}
	page, err := kbIntParam(c, "page", 0, 0, 10000)
	if err != nil {
		return err
	}
	if view.Query != "" {
		res, err := s.Knowledge.Search(c.UserContext(), knowledgebase.Query{
			Text: view.Query, Locale: view.Locale, Category: view.Category, Public: true, Limit: 20,
		})
		if err != nil {
			return err
		}
		view.Searched, view.Total = true, res.Total
		for _, h := range res.Hits {
			view.Results = append(view.Results, kbLink{
				Title: h.Title, URL: kbArticlePath(h.ID), Locale: h.Locale, Category: h.Category,
				Snippet: template.HTML(h.Snippet), // the index escaped it; see knowledgebase.Hit
			})
		}
		return s.render(c, fiber.StatusOK, "kb.html", view)
	}
	articles, err := s.Knowledge.PublicArticles(c.UserContext(), view.Locale, view.Category, page*kbPageSize, kbPageSize+1)
	if err != nil {
		return err
	}
	if len(articles) > kbPageSize {
		articles = articles[:kbPageSize]
		next := url.Values{"page": {strconv.Itoa(page + 1)}}
		if view.Locale != "" {
			next.Set("locale", view.Locale)
		}
		if view.Category != "" {
			next.Set("category", view.Category)
		}
		view.MoreURL = "/kb?" + next.Encode()
	}
	for _, a := range articles {
		name := a.Category
		if name == "" {
			name = "general"
		}
		if n := len(view.Groups); n == 0 || view.Groups[n-1].Name != name {
			view.Groups = append(view.Groups, kbGroup{Name: name})
		}
		g := &view.Groups[len(view.Groups)-1]
		g.Articles = append(g.Articles, kbLink{Title: a.Title, URL: kbArticlePath(a.ID), Locale: a.Locale, Category: a.Category})
	}
	return s.render(c, fiber.StatusOK, "kb.html", view)
}

type kbArticleView struct {
	Title, Locale, Category, Updated string
	Tags                             []string
	BodyHTML                         template.HTML
	Related                          []kbLink
}

func (s *server) kbArticle(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := s.Knowledge.PublicArticle(c.UserContext(), id)
	if err != nil {
		return err
	}
	view := kbArticleView{
		Title: a.Title, Locale: a.Locale, Category: a.Category, Tags: a.Tags,
		Updated:  a.UpdatedAt.UTC().Format("2 January 2006"),
		BodyHTML: template.HTML(a.BodyHTML), // rendered and sanitized when it was saved
	}
	if res, err := s.Knowledge.Search(c.UserContext(), knowledgebase.Query{Text: a.Title, Locale: a.Locale, Public: true, Limit: 4}); err == nil {
		for _, h := range res.Hits {
			if h.ID != a.ID && len(view.Related) < 3 {
				view.Related = append(view.Related, kbLink{Title: h.Title, URL: kbArticlePath(h.ID)})
			}
		}
	}
	return s.render(c, fiber.StatusOK, "kb_article.html", view)
}

// kbOpened records that a visitor of the support form opened a suggested article. The form's
// script sends it as a beacon with the form's CSRF token; the answer is empty.
func (s *server) kbOpened(c *fiber.Ctx) error {
	if !s.csrfValid(c) {
		return &inputError{status: fiber.StatusForbidden, field: csrfField, message: "the form has expired"}
	}
	id, err := strconv.ParseInt(c.FormValue("article"), 10, 64)
	if err != nil || id <= 0 {
		return badRequest("article", "must be an article id")
	}
	if err := s.Knowledge.RecordOpen(c.UserContext(), c.FormValue("session"), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
