package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"path"

	"github.com/gofiber/fiber/v2"
)

var templateFuncs = template.FuncMap{}

// parsePages builds one template set per page, each with the shared layout, so that every page
// can define its own "title" and "content".
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(names))
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
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

// render writes a page. It renders into a buffer first, so that a template error becomes a clean
// 500 rather than half a page.
func (s *server) render(c *fiber.Ctx, status int, page string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("web: no page %s", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
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
