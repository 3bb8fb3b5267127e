package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Pages speak English and Spanish. The words live in message catalogs (locales/*.toml), read by
// go-i18n; a page asks for a message by id, and the user's setting or the browser's languages
// choose the catalog.

//go:embed locales/*.toml
var localeFiles embed.FS

// languages are the catalogs, the first being the fallback.
var languages = []language.Tag{language.English, language.Spanish}

type translator struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
}

func newTranslator() (*translator, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, err := fs.Glob(localeFiles, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := b.LoadMessageFileFS(localeFiles, name); err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", path.Base(name), err)
		}
	}
	return &translator{bundle: b, matcher: language.NewMatcher(languages)}, nil
}

// words is a page's language.
type words struct {
	lang string
	l    *i18n.Localizer
}

// forRequest picks the language: the user's own setting first, then the browser's.
func (t *translator) forRequest(userLocale, acceptLanguage string) *words {
	tags, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	if userLocale != "" {
		tags = append([]language.Tag{language.Make(userLocale)}, tags...)
	}
	_, index, _ := t.matcher.Match(tags...)
	lang := languages[index].String()
	return &words{lang: lang, l: i18n.NewLocalizer(t.bundle, lang)}
}

// Lang is the page's language code, for <html lang>.
func (w *words) Lang() string { return w.lang }

// T returns the message id, filled with args given as name, value pairs. A message missing from
// the catalog shows its id, so the gap is visible rather than blank.
func (w *words) T(id string, args ...any) string {
	var data map[string]any
	if len(args) > 1 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	s, err := w.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: data["Count"]})
	if err != nil && data["Count"] != nil {
		// A message with a Count but no plural forms (a limit, not a number of things) has
		// only "other", which go-i18n will not pick for a count of one.
		s, err = w.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	}
	if err != nil {
		return id
	}
	return s
}

// HTML is T for messages that carry markup of our own (a link in a sentence). Arguments are
// escaped; the catalog is trusted.
func (w *words) HTML(id string, args ...any) template.HTML {
	for i := 1; i < len(args); i += 2 {
		args[i] = template.HTMLEscapeString(fmt.Sprint(args[i]))
	}
	return template.HTML(w.T(id, args...))
}

// Reason says why a score came out as it did in the page's language: the catalog's why_<code>
// filled with the rule's figures, or the domain's English sentence for a rule the catalog lacks.
func (w *words) Reason(why tickets.Why, english string) string {
	if why.ReasonCode == "" {
		return english
	}
	pairs := make([]any, 0, 2*len(why.ReasonArgs))
	for k, v := range why.ReasonArgs {
		pairs = append(pairs, k, v)
	}
	id := "why_" + why.ReasonCode
	if s := w.T(id, pairs...); s != id {
		return s
	}
	return english
}

// Of translates an id built from a value, such as "status_" + "on-hold" → status_on_hold.
func (w *words) Of(prefix string, value any) string {
	return w.T(prefix + strings.ReplaceAll(fmt.Sprint(value), "-", "_"))
}
