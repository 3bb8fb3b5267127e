package knowledgebase

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// markdown renders article bodies. Raw HTML in the source is left out and links with unsafe
// schemes are dropped by goldmark itself; the result is sanitized again all the same, because
// what an article page shows must not depend on one library's defaults.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// renderMarkdown returns the sanitized HTML of a Markdown body.
func renderMarkdown(src string) (string, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return tickets.SanitizeHTML(buf.String()), nil
}

var (
	stripTags  = bluemonday.StrictPolicy()
	blockEnds  = strings.NewReplacer("</p>", "</p>\n\n", "<br>", "\n", "</li>", "</li>\n", "</h1>", "</h1>\n\n", "</h2>", "</h2>\n\n", "</h3>", "</h3>\n\n", "</tr>", "</tr>\n", "</pre>", "</pre>\n\n")
	blankLines = regexp.MustCompile(`\n{3,}`)
)

// plainText is the readable text of sanitized HTML, for the index and for snippets.
func plainText(safeHTML string) string {
	text := html.UnescapeString(stripTags.Sanitize(blockEnds.Replace(safeHTML)))
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
