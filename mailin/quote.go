package mailin

import (
	"bytes"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// replyHeaders are the lines mail programs put above the history they quote, in the languages
// our customers write in.
var replyHeaders = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^on\b.{4,200}\bwrote:\s*$`),
	regexp.MustCompile(`(?i)^le\b.{4,200}\ba écrit\s?:\s*$`),
	regexp.MustCompile(`(?i)^am\b.{4,200}\bschrieb.{0,100}:\s*$`),
	regexp.MustCompile(`(?i)^el\b.{4,200}\bescribió:\s*$`),
	regexp.MustCompile(`(?i)^il\b.{4,200}\bha scritto:\s*$`),
	regexp.MustCompile(`(?i)^em\b.{4,200}\bescreveu:\s*$`),
	regexp.MustCompile(`(?i)^op\b.{4,200}\bschreef.{0,100}:\s*$`),
	regexp.MustCompile(`(?i)^-{2,}\s*(original message|mensaje original|message d'origine|ursprüngliche nachricht|messaggio originale)\s*-{2,}\s*$`),
	regexp.MustCompile(`^_{20,}\s*$`),
}

// outlookHeader starts the block Outlook puts above quoted history: "From: … Sent: …".
var outlookHeader = regexp.MustCompile(`(?i)^\*?(from|de|von|da|van):\*?\s`)
var outlookSent = regexp.MustCompile(`(?i)^\*?(sent|date|enviado|envoyé|gesendet|inviato|verzonden|fecha|datum|data):\*?\s`)

// mobileSignatures end a message as a signature does.
var mobileSignatures = regexp.MustCompile(`(?i)^(sent from my \w+|enviado desde mi \w+|envoyé de mon \w+|von meinem \w+ gesendet|get outlook for \w+)`)

// SplitQuoted separates the new text of a reply from the history it quotes and the signature
// under it. When nothing new is left (a forward, a message of only quotes) it keeps the text
// whole, because the quote is then the content.
func SplitQuoted(text string) (fresh, quoted string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	// The last line that is neither blank nor quoted: quotes after it run to the end.
	lastContent := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" && !strings.HasPrefix(t, ">") {
			lastContent = i
			break
		}
	}
	cut := len(lines)
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		trimmed := strings.TrimSpace(line)
		if line == "--" || lines[i] == "-- " || mobileSignatures.MatchString(trimmed) {
			cut = i
			break
		}
		if isReplyHeader(lines, i) {
			cut = i
			break
		}
		// A block of quoted lines that runs to the end is history; quotes with answers between
		// them are an inline reply and stay.
		if strings.HasPrefix(trimmed, ">") && i > lastContent {
			cut = i
			break
		}
	}
	fresh = strings.TrimSpace(strings.Join(lines[:cut], "\n"))
	if fresh == "" {
		return strings.TrimSpace(text), ""
	}
	return fresh, strings.TrimSpace(strings.Join(lines[cut:], "\n"))
}

func isReplyHeader(lines []string, i int) bool {
	line := strings.TrimSpace(lines[i])
	if len(line) > 300 {
		// Reply headers are short; long lines are text, and skipping them keeps a huge body cheap.
		return false
	}
	for _, re := range replyHeaders {
		if re.MatchString(line) {
			return true
		}
	}
	// Gmail wraps long "On … wrote:" lines in two.
	if i+1 < len(lines) && strings.HasPrefix(strings.ToLower(line), "on ") {
		joined := line + " " + strings.TrimSpace(lines[i+1])
		if len(joined) <= 400 && replyHeaders[0].MatchString(joined) {
			return true
		}
	}
	if outlookHeader.MatchString(line) {
		for j := i + 1; j < len(lines) && j <= i+4; j++ {
			if outlookSent.MatchString(strings.TrimSpace(lines[j])) {
				return true
			}
		}
	}
	return false
}

// stripQuotedHTML removes the quoted history that mail programs mark in HTML (Gmail, Apple Mail,
// Thunderbird, Outlook, Yahoo). When nothing would be left it returns the markup unchanged.
func stripQuotedHTML(markup string) string {
	if !strings.Contains(markup, "quote") && !strings.Contains(markup, "cite") && !strings.Contains(markup, "divRplyFwdMsg") && !strings.Contains(markup, "appendonsend") {
		return markup
	}
	doc, err := html.Parse(strings.NewReader(markup))
	if err != nil {
		return markup
	}
	removed := false
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; {
			next := c.NextSibling
			switch {
			case isQuoteNode(c):
				n.RemoveChild(c)
				removed = true
			case isOutlookHistory(c):
				// Outlook puts the history after a marker, as siblings rather than inside it.
				for s := c; s != nil; {
					after := s.NextSibling
					n.RemoveChild(s)
					s = after
				}
				removed = true
				return
			default:
				walk(c)
			}
			c = next
		}
	}
	walk(doc)
	if !removed {
		return markup
	}
	var b bytes.Buffer
	if err := html.Render(&b, doc); err != nil {
		return markup
	}
	if strings.TrimSpace(textOf(doc)) == "" {
		return markup
	}
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func isQuoteNode(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	switch {
	case n.Data == "div" && (hasClass(n, "gmail_quote") || hasClass(n, "moz-cite-prefix") || hasClass(n, "yahoo_quoted")):
		return true
	case n.Data == "blockquote" && strings.EqualFold(attr(n, "type"), "cite"):
		return true
	}
	return false
}

func isOutlookHistory(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	id := attr(n, "id")
	return id == "divRplyFwdMsg" || id == "appendonsend"
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.Data == "img" {
			b.WriteString("[image]")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
