package knowledgebase_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// corpus is a small help center in English and Spanish, published once for the relevance tests.
type corpus struct {
	kb                                   *knowledgebase.Base
	loginEN, resetEN, printerEN          *knowledgebase.Article
	loginES, printerES                   *knowledgebase.Article
	phraseExact, phraseApart             *knowledgebase.Article
	internal, draft, archived, escapedEN *knowledgebase.Article
	problem                              *tickets.Ticket
}

var (
	corpusOnce sync.Once
	shared     *corpus
)

// newCorpus returns the corpus, publishing it the first time. Tests share it, so that one
// test's articles do not compete with another's copies of them.
func newCorpus(t *testing.T) *corpus {
	t.Helper()
	corpusOnce.Do(func() { shared = makeCorpus(t) })
	if shared == nil {
		t.Fatal("the corpus could not be made")
	}
	return shared
}

func makeCorpus(t *testing.T) *corpus {
	dir, err := os.MkdirTemp("", "kb-corpus-")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := knowledgebase.Open(context.Background(), db, knowledgebase.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cleanups = append(cleanups, func() { kb.Close(); os.RemoveAll(dir) })
	c := &corpus{kb: kb}
	c.loginEN = publish(t, kb, "Cannot log in to your account",
		"If the login page says that your email or password is wrong, check that Caps Lock is off. After five failed attempts the account is locked for 15 minutes.",
		"en", "public", "accounts")
	c.resetEN = publish(t, kb, "Forgotten password",
		"Open the sign-in page and choose *Forgot password*. We send you a link by email; it works for one hour.",
		"en", "public", "accounts")
	c.printerEN = publish(t, kb, "The printer does not print",
		"If your printer shows an error light, check the paper tray and the ink cartridges, then switch the printer off and on.",
		"en", "public", "hardware")
	c.loginES = publish(t, kb, "No puedo iniciar sesión",
		"Si la página de inicio de sesión dice que tu correo o tu contraseña no son correctos, comprueba el bloqueo de mayúsculas. Tras cinco intentos fallidos la cuenta se bloquea durante 15 minutos.",
		"es", "public", "cuentas")
	c.printerES = publish(t, kb, "La impresora no imprime",
		"Si la impresora muestra una luz de error, revisa la bandeja de papel y los cartuchos de tinta, y después apágala y vuelve a encenderla.",
		"es", "public", "hardware")
	c.phraseExact = publish(t, kb, "Emails we send",
		"We send a password reset email when you ask for one, and a receipt for every order.",
		"en", "public", "emails")
	c.phraseApart = publish(t, kb, "Security questions",
		"Reset the security questions first; your password stays. The password is kept, the questions reset.",
		"en", "public", "emails")
	c.escapedEN = publish(t, kb, "Keyboard shortcuts for the cash drawer",
		"Press `<Ctrl>` and `&` together to open the cash drawer.",
		"en", "public", "hardware")
	c.internal = publish(t, kb, "Unlock a customer's account in the admin console",
		"Staff only: find the locked account in the admin console and press Unlock. Never tell the customer the lockout rules.",
		"en", "internal", "accounts")
	c.draft = createArticle(t, kb, agent, knowledgebase.NewArticle{Title: "Lockout rules draft", Body: "The lockout rules of the admin console, still being written."})
	c.archived = publish(t, kb, "Old lockout rules", "The admin console lockout rules of last year.", "en", "public", "accounts")
	if _, err := kb.UpdateArticle(context.Background(), supervisor, c.archived.ID, knowledgebase.ArticleChange{State: strp("archived")}); err != nil {
		t.Fatal(err)
	}
	c.problem = newTicket(t, "Admin console lockout", "The admin console locked me out after I typed my password wrong.")
	solve(t, c.problem.ID, "I unlocked your account in the admin console; the lockout lasts 15 minutes.")
	syncIndex(t, kb)
	return c
}

func (c *corpus) suggest(t *testing.T, text string) []int64 {
	t.Helper()
	res, err := c.kb.Suggest(context.Background(), text, "", 10)
	if err != nil {
		t.Fatalf("suggest %q: %v", text, err)
	}
	return hitIDs(res, knowledgebase.KindArticle)
}

func TestRelevance(t *testing.T) {
	c := newCorpus(t)
	cases := []struct {
		name   string
		query  string
		typing bool
		first  *knowledgebase.Article
	}{
		// The issue's own example: a customer typing in Spanish, accents and all.
		{"spanish sentence", "no puedo iniciar sesión", true, c.loginES},
		{"accents left out", "no puedo iniciar sesion", false, c.loginES},
		{"plural finds singular (es)", "impresoras", false, c.printerES},
		{"plural finds singular (en)", "printers", false, c.printerEN},
		{"typo (en)", "primter", false, c.printerEN},
		{"two typos in a long word (en)", "cartriges", false, c.printerEN},
		{"typo (es)", "impresra", false, c.printerES},
		{"typo without the ñ (es)", "contrasena bloqueada", false, c.loginES},
		{"prefix while typing (es)", "la impreso", true, c.printerES},
		{"prefix while typing (en)", "my printe", true, c.printerEN},
		{"stemmed verb (en)", "printing error", false, c.printerEN},
		{"uppercase", "FORGOT PASSWORD", false, c.resetEN},
		{"phrase ranks its exact match first", "password reset", false, c.phraseExact},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := search(t, c.kb, knowledgebase.Query{Text: tc.query, Public: true, Typing: tc.typing})
			ids := hitIDs(res, knowledgebase.KindArticle)
			if len(ids) == 0 || ids[0] != tc.first.ID {
				t.Errorf("%q: hits %v, want %d (%q) first", tc.query, titles(res), tc.first.ID, tc.first.Title)
			}
		})
	}

	// A quoted phrase must appear as such.
	res := search(t, c.kb, knowledgebase.Query{Text: `"password reset"`, Public: true})
	ids := hitIDs(res, knowledgebase.KindArticle)
	if !slices.Contains(ids, c.phraseExact.ID) || slices.Contains(ids, c.phraseApart.ID) {
		t.Errorf(`"password reset": %v`, titles(res))
	}

	// The Spanish query prefers the Spanish article to the English one on the same problem.
	ids = c.suggest(t, "no puedo iniciar sesión")
	if i, j := slices.Index(ids, c.loginES.ID), slices.Index(ids, c.loginEN.ID); i != 0 || (j >= 0 && j < i) {
		t.Errorf("Spanish login query ranks %v", ids)
	}
}

func titles(res *knowledgebase.Results) []string {
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Kind+":"+h.Title)
	}
	return out
}

func TestSnippetsFacetsAndFilters(t *testing.T) {
	c := newCorpus(t)
	res := search(t, c.kb, knowledgebase.Query{Text: "paper tray", Public: true})
	if len(res.Hits) == 0 || !strings.Contains(res.Hits[0].Snippet, "<mark>paper</mark>") || !strings.Contains(res.Hits[0].Snippet, "<mark>tray</mark>") {
		t.Errorf("snippet: %+v", res.Hits)
	}
	// Text from the article is escaped in the snippet; only the marks are markup.
	res = search(t, c.kb, knowledgebase.Query{Text: "cash drawer", Public: true})
	if len(res.Hits) == 0 || res.Hits[0].ID != c.escapedEN.ID {
		t.Fatalf("cash drawer: %v", titles(res))
	}
	if s := res.Hits[0].Snippet; !strings.Contains(s, "&lt;Ctrl&gt;") || !strings.Contains(s, "&amp;") || strings.Contains(s, "<Ctrl>") {
		t.Errorf("snippet not escaped: %s", s)
	}

	// Staff see facets by kind, locale and category.
	res = search(t, c.kb, knowledgebase.Query{Text: "lockout account password", Facets: true})
	facet := func(name, term string) int {
		for _, f := range res.Facets[name] {
			if f.Term == term {
				return f.Count
			}
		}
		return 0
	}
	if facet("kind", "article") == 0 || facet("kind", "problem") == 0 || facet("locale", "en") == 0 || facet("category", "accounts") == 0 {
		t.Errorf("facets: %+v", res.Facets)
	}

	// Filters by category, locale and kind.
	res = search(t, c.kb, knowledgebase.Query{Text: "printer impresora error", Category: "Hardware"})
	for _, h := range res.Hits {
		if h.Category != "hardware" {
			t.Errorf("category filter let through %+v", h)
		}
	}
	if len(res.Hits) < 2 {
		t.Errorf("category hardware: %v", titles(res))
	}
	res = search(t, c.kb, knowledgebase.Query{Text: "impresora printer", Locale: "es"})
	if ids := hitIDs(res, knowledgebase.KindArticle); len(ids) != 1 || ids[0] != c.printerES.ID {
		t.Errorf("locale es: %v", titles(res))
	}
	res = search(t, c.kb, knowledgebase.Query{Text: "admin console lockout", Kinds: []string{knowledgebase.KindProblem}})
	if ids := hitIDs(res, knowledgebase.KindProblem); len(res.Hits) == 0 || len(ids) != len(res.Hits) || !slices.Contains(ids, c.problem.ID) {
		t.Errorf("problems only: %v", titles(res))
	}
	res = search(t, c.kb, knowledgebase.Query{Text: "admin console lockout", ExcludeTicket: c.problem.ID})
	if slices.Contains(hitIDs(res, knowledgebase.KindProblem), c.problem.ID) {
		t.Error("an excluded ticket was found")
	}
}

// Customers never see internal articles, drafts, archived articles or tickets, whatever they ask.
func TestCustomersSeeOnlyPublishedPublicArticles(t *testing.T) {
	c := newCorpus(t)
	queries := []string{"admin console lockout rules unlock", "lockout", "admin console", "locked me out"}
	hidden := map[int64]string{c.internal.ID: "internal", c.draft.ID: "draft", c.archived.ID: "archived"}
	for _, q := range queries {
		for _, typing := range []bool{false, true} {
			for _, kinds := range [][]string{nil, {knowledgebase.KindTicket}, {knowledgebase.KindProblem, knowledgebase.KindArticle}} {
				res := search(t, c.kb, knowledgebase.Query{Text: q, Public: true, Typing: typing, Kinds: kinds, Facets: true})
				for _, h := range res.Hits {
					if h.Kind != knowledgebase.KindArticle || hidden[h.ID] != "" {
						t.Errorf("customer query %q (kinds %v) found %s %d %q", q, kinds, h.Kind, h.ID, h.Title)
					}
				}
			}
		}
	}
	// Staff see the internal article and the solved ticket; drafts and archived articles are not
	// searched at all.
	res := search(t, c.kb, knowledgebase.Query{Text: "admin console lockout"})
	if !slices.Contains(hitIDs(res, knowledgebase.KindArticle), c.internal.ID) || !slices.Contains(hitIDs(res, knowledgebase.KindProblem), c.problem.ID) {
		t.Errorf("staff search: %v", titles(res))
	}
	for _, id := range []int64{c.draft.ID, c.archived.ID} {
		if slices.Contains(hitIDs(res, knowledgebase.KindArticle), id) {
			t.Errorf("staff search found unpublished article %d", id)
		}
	}
}

// Whatever the text, a search answers with results or a validation error naming the field.
func TestSearchBadInput(t *testing.T) {
	c := newCorpus(t)
	ok := []struct {
		name, text string
		anyHit     bool
	}{
		{"empty", "", false},
		{"blank", " \t\n ", false},
		{"stop words only", "the of and", false},
		{"query syntax", `+-&&||!(){}[]^~*?:\/ AND OR NOT`, false},
		{"unbalanced quote", `"printer`, true},
		{"empty quotes", `"" printer`, true},
		{"control characters", "\x00pri\x07nter\x1b", true},
		{"invalid utf-8", "printer \xff\xfe", true},
		{"emoji and symbols", "🖨️ printer ✓", true},
		{"one letter", "p", false},
		{"numbers", "15", true},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			for _, typing := range []bool{false, true} {
				res := search(t, c.kb, knowledgebase.Query{Text: tc.text, Public: true, Typing: typing})
				if tc.anyHit && len(res.Hits) == 0 {
					t.Errorf("%q found nothing", tc.text)
				}
				if !tc.anyHit && len(res.Hits) > 0 {
					t.Errorf("%q found %v", tc.text, titles(res))
				}
			}
		})
	}
	if res := search(t, c.kb, knowledgebase.Query{Text: "printer", Category: "no-such-category"}); len(res.Hits) != 0 {
		t.Errorf("unknown category: %v", titles(res))
	}
	bad := []struct {
		name  string
		q     knowledgebase.Query
		field string
	}{
		{"10 KB", knowledgebase.Query{Text: strings.Repeat("printer ", 1280)}, "q"},
		{"just too long", knowledgebase.Query{Text: strings.Repeat("a", knowledgebase.MaxQueryLength+1)}, "q"},
		{"unknown locale", knowledgebase.Query{Text: "printer", Locale: "fr"}, "locale"},
		{"unknown kind", knowledgebase.Query{Text: "printer", Kinds: []string{"faq"}}, "kind"},
	}
	for _, tc := range bad {
		_, err := c.kb.Search(context.Background(), tc.q)
		var v *tickets.ValidationError
		if !errors.As(err, &v) || v.Fields[0].Field != tc.field {
			t.Errorf("%s: %v, want a validation error on %s", tc.name, err, tc.field)
		}
	}
	// A query of the longest length allowed still answers.
	if _, err := c.kb.Search(context.Background(), knowledgebase.Query{Text: strings.Repeat("printer ", knowledgebase.MaxQueryLength/8)}); err != nil {
		t.Errorf("longest query: %v", err)
	}
}
