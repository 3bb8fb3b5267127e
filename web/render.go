package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

var templateFuncs = template.FuncMap{
	// json embeds data for a page's script in a <script type="application/json"> block, which
	// the content security policy allows because it is never run.
	"json": func(v any) (template.JS, error) {
		b, err := json.Marshal(v)
		return template.JS(b), err
	},
	"ref":  tickets.Ref,
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"datePtr": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"contains": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"lower": strings.ToLower,
}

// parsePages builds one template set per page, each with the shared layout and partials, so that
// every page can define its own "title" and "content".
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	if partials, _ := fs.Glob(assets, "templates/_*.html"); len(partials) > 0 {
		if layout, err = layout.ParseFS(assets, "templates/_*.html"); err != nil {
			return nil, err
		}
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(names))
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, name)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// page is what every template sees: the page's own data, and around it the language, the
// signed-in member of staff (nil on public pages) and the token forms must carry.
type page struct {
	W    *words
	User *tickets.User
	CSRF string
	Path string
	Data any
}

// newPage gathers what every page needs from the request.
func (s *server) newPage(c *fiber.Ctx, data any) page {
	p := page{User: currentUser(c), Path: c.Path(), Data: data}
	locale := c.Cookies(langCookie)
	if p.User != nil {
		if p.User.Locale != "" {
			locale = p.User.Locale
		}
		p.CSRF = s.staffCSRF(c)
	} else {
		p.CSRF = s.csrfToken(c)
	}
	p.W = s.words.forRequest(locale, c.Get(fiber.HeaderAcceptLanguage))
	return p
}

// wordsFor is the language of a request, for handlers that write messages themselves.
func (s *server) wordsFor(c *fiber.Ctx) *words {
	locale := c.Cookies(langCookie)
	if u := currentUser(c); u != nil && u.Locale != "" {
		locale = u.Locale
	}
	return s.words.forRequest(locale, c.Get(fiber.HeaderAcceptLanguage))
}

// render writes a page. It renders into a buffer first, so that a template error becomes a clean
// 500 rather than half a page.
func (s *server) render(c *fiber.Ctx, status int, name string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", s.newPage(c, data)); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	// Pages can hold personal data; no shared cache may keep them.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Send(buf.Bytes())
}

// renderFragment writes one named template of a page without the layout, for the parts htmx
// reloads (a queue's rows).
func (s *server) renderFragment(c *fiber.Ctx, name, fragment string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, fragment, s.newPage(c, data)); err != nil {
		return fmt.Errorf("web: render %s/%s: %w", name, fragment, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// renderErrorPage shows an error to a person in a browser.
func (s *server) renderErrorPage(c *fiber.Ctx, status int, message string) error {
	err := s.render(c, status, "error.html", fiber.Map{"Status": status, "Message": message})
	if err != nil {
		// The page itself failed; plain text still tells the visitor something.
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(status).SendString(message)
	}
	return nil
}
