package tickets

import (
	"crypto/sha256"
	"html"
	"mime"
	"net/mail"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/text/language"
)

// htmlPolicy allows what customers and agents write in mail (formatting, links, images, tables)
// and nothing that runs: no scripts, no event handlers, no javascript: links, no styles.
var htmlPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	// Inline images in mail point at their attachment by Content-ID.
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	return p
}()

var stripAll = bluemonday.StrictPolicy()

// SanitizeHTML returns markup that is safe to put in a page as is.
func SanitizeHTML(s string) string { return htmlPolicy.Sanitize(s) }

var blankLines = regexp.MustCompile(`\n{3,}`)

// htmlToText gives the readable text of markup, for messages that came only as HTML.
func htmlToText(s string) string {
	// Keep paragraph and line breaks before the tags that carry them are stripped.
	r := strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n\n", "</div>", "\n", "</li>", "\n", "</tr>", "\n")
	text := html.UnescapeString(stripAll.Sanitize(r.Replace(s)))
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// cleanText makes user text safe to store: valid UTF-8, no NULs (PostgreSQL refuses them), no
// control characters other than newlines and tabs, and CRLF turned into LF.
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

// cleanLine is cleanText for one-line fields: whitespace runs, newlines included, become one space.
func cleanLine(s string) string {
	return strings.Join(strings.Fields(cleanText(s)), " ")
}

// NormalizeEmail validates an email address and returns the form identities are stored in. The
// whole address is lowercased: mail systems treat the local part case-insensitively in practice,
// and two customer records for one person is the worse failure.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errEmailRequired
	}
	if len(s) > 254 {
		return "", errEmailInvalid
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || !strings.Contains(addr.Address[strings.LastIndexByte(addr.Address, '@')+1:], ".") {
		return "", errEmailInvalid
	}
	return strings.ToLower(addr.Address), nil
}

type constError string

func (e constError) Error() string { return string(e) }

const (
	errEmailRequired constError = "is required"
	errEmailInvalid  constError = "must be an email address such as ana@example.com"
)

var phoneJunk = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "")

// NormalizePhone validates a phone number and returns it as + and digits.
func NormalizePhone(s string) (string, error) {
	p := phoneJunk.Replace(strings.TrimSpace(s))
	digits := strings.TrimPrefix(p, "+")
	if len(digits) < 6 || len(digits) > 15 || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return "", constError("must be a phone number such as +34 600 123 456")
	}
	if strings.HasPrefix(p, "+") {
		return p, nil
	}
	return digits, nil
}

// NewAttachment is a file arriving with a message.
type NewAttachment struct {
	Filename    string
	ContentType string
	Data        []byte
	ContentID   string // for inline images referenced as cid: in HTML
	Inline      bool
}

// cleanFilename keeps the last path element, readable, and short enough for any file system.
func cleanFilename(name string) string {
	name = cleanLine(strings.ReplaceAll(name, "\\", "/"))
	name = path.Base(name)
	if name == "." || name == "/" || name == "" {
		name = "attachment"
	}
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// cleanContentType keeps a valid media type, else the generic binary one.
func cleanContentType(ct string) string {
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "application/octet-stream"
	}
	return mime.FormatMediaType(mediaType, params)
}

func digest(data []byte) []byte {
	sum := sha256.Sum256(data)
	return sum[:]
}

// normalizeLanguage reads a language tag and keeps its base language ("es-MX" → "es"), which is
// what agents' skills list.
func normalizeLanguage(s string) (string, error) {
	tag, err := language.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", constError("must be a language code such as en or es")
	}
	base, confidence := tag.Base()
	if confidence == language.No {
		return "", constError("must be a language code such as en or es")
	}
	return base.String(), nil
}
