package knowledgebase_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/tickets"
)

func strp(s string) *string { return &s }

// Agents write drafts; supervisors publish, edit live articles and delete; every save is a
// revision, and a stale revision number is refused rather than overwritten.
func TestArticleLifecycleAndRoles(t *testing.T) {
	ctx := context.Background()
	kb, _ := openBase(t)
	a := createArticle(t, kb, agent, knowledgebase.NewArticle{
		Title: "  Widget   setup ", Body: "Plug the **widget** in.", Category: " Hardware ", Tags: []string{"Widget", "setup", "widget"},
	})
	if a.State != knowledgebase.StateDraft || a.Visibility != knowledgebase.VisibilityPublic || a.Locale != "en" || a.Revision != 1 ||
		a.Title != "Widget setup" || a.Category != "hardware" || strings.Join(a.Tags, ",") != "widget,setup" || a.PublishedAt != nil {
		t.Fatalf("created %+v", a)
	}
	if a.BodyHTML != "<p>Plug the <strong>widget</strong> in.</p>\n" {
		t.Errorf("body_html = %q", a.BodyHTML)
	}

	// An agent may not publish, at creation or later.
	_, err := kb.CreateArticle(ctx, agent, knowledgebase.NewArticle{Title: "t", Body: "b", State: "published"})
	var forbidden *knowledgebase.ForbiddenError
	if !errors.As(err, &forbidden) || forbidden.Field != "state" {
		t.Errorf("agent publishing at creation: %v", err)
	}
	if _, err := kb.UpdateArticle(ctx, agent, a.ID, knowledgebase.ArticleChange{State: strp("published")}); !errors.As(err, &forbidden) {
		t.Errorf("agent publishing a draft: %v", err)
	}

	// An agent edits the draft; the revision moves.
	a2, err := kb.UpdateArticle(ctx, agent, a.ID, knowledgebase.ArticleChange{Body: strp("Plug the widget in, then press *Start*."), Revision: new(1)})
	if err != nil || a2.Revision != 2 || a2.Title != "Widget setup" {
		t.Fatalf("update: %+v %v", a2, err)
	}
	// Saving what is already there saves nothing.
	if same, err := kb.UpdateArticle(ctx, agent, a.ID, knowledgebase.ArticleChange{Title: strp("Widget setup")}); err != nil || same.Revision != 2 {
		t.Errorf("no-op update: %+v %v", same, err)
	}
	// An editor working from revision 1 would overwrite revision 2.
	_, err = kb.UpdateArticle(ctx, agent, a.ID, knowledgebase.ArticleChange{Title: strp("Old"), Revision: new(1)})
	var conflict *tickets.ConflictError
	if !errors.As(err, &conflict) || conflict.Field != "revision" {
		t.Errorf("stale revision: %v", err)
	}

	pub, err := kb.UpdateArticle(ctx, supervisor, a.ID, knowledgebase.ArticleChange{State: strp("published")})
	if err != nil || pub.State != knowledgebase.StatePublished || pub.PublishedAt == nil || pub.Revision != 3 {
		t.Fatalf("publish: %+v %v", pub, err)
	}
	if _, err := kb.UpdateArticle(ctx, agent, a.ID, knowledgebase.ArticleChange{Title: strp("Sneaky edit")}); !errors.As(err, &forbidden) {
		t.Errorf("agent editing a published article: %v", err)
	}

	revs, err := kb.Revisions(ctx, a.ID)
	if err != nil || len(revs) != 3 || revs[0].Revision != 3 || revs[0].State != "published" || revs[2].Body != "Plug the **widget** in." ||
		revs[2].EditorID != agent.ID || revs[0].EditorID != supervisor.ID {
		t.Fatalf("revisions: %+v %v", revs, err)
	}

	if err := kb.DeleteArticle(ctx, agent, a.ID); !errors.As(err, &forbidden) {
		t.Errorf("agent deleting: %v", err)
	}
	if err := kb.DeleteArticle(ctx, supervisor, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := kb.Article(ctx, a.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("deleted article: %v", err)
	}
	if _, err := kb.Revisions(ctx, a.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("revisions of a deleted article: %v", err)
	}
	for _, op := range []func() error{
		func() error {
			_, err := kb.UpdateArticle(ctx, supervisor, a.ID, knowledgebase.ArticleChange{Title: strp("x")})
			return err
		},
		func() error { return kb.DeleteArticle(ctx, supervisor, a.ID) },
	} {
		if err := op(); !errors.Is(err, tickets.ErrNotFound) {
			t.Errorf("change to a deleted article: %v", err)
		}
	}
}

func TestArticleValidation(t *testing.T) {
	kb, _ := openBase(t)
	long := strings.Repeat("x", 201)
	cases := []struct {
		name  string
		in    knowledgebase.NewArticle
		field string
	}{
		{"no title", knowledgebase.NewArticle{Body: "b"}, "title"},
		{"blank title", knowledgebase.NewArticle{Title: " \t\x00 ", Body: "b"}, "title"},
		{"long title", knowledgebase.NewArticle{Title: long, Body: "b"}, "title"},
		{"no body", knowledgebase.NewArticle{Title: "t", Body: "  \n "}, "body"},
		{"huge body", knowledgebase.NewArticle{Title: "t", Body: strings.Repeat("b", 101<<10)}, "body"},
		{"unknown locale", knowledgebase.NewArticle{Title: "t", Body: "b", Locale: "fr"}, "locale"},
		{"unknown state", knowledgebase.NewArticle{Title: "t", Body: "b", State: "live"}, "state"},
		{"unknown visibility", knowledgebase.NewArticle{Title: "t", Body: "b", Visibility: "secret"}, "visibility"},
		{"long category", knowledgebase.NewArticle{Title: "t", Body: "b", Category: strings.Repeat("c", 65)}, "category"},
		{"empty tag", knowledgebase.NewArticle{Title: "t", Body: "b", Tags: []string{"ok", " "}}, "tags"},
		{"too many tags", knowledgebase.NewArticle{Title: "t", Body: "b", Tags: strings.Fields(strings.Repeat("a b c d e f g h i j k l m n o p q r s t u ", 1))}, "tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kb.CreateArticle(context.Background(), supervisor, tc.in)
			var v *tickets.ValidationError
			if !errors.As(err, &v) || v.Fields[0].Field != tc.field {
				t.Errorf("err = %v, want a validation error on %s", err, tc.field)
			}
		})
	}
}

// Markdown is rendered and sanitized: nothing in an article body runs in a reader's browser.
func TestArticleBodiesAreSanitized(t *testing.T) {
	kb, _ := openBase(t)
	cases := []struct {
		name, body string
		keep       string // what must survive
	}{
		{"script tag", "Hello <script>alert(1)</script> world", "Hello"},
		{"script block", "<script>\nalert(document.cookie)\n</script>\n\nText after.", "Text after."},
		{"javascript link", "[click me](javascript:alert(1))", "click me"},
		{"javascript link mixed case", "[click](JaVaScRiPt:alert(1))", "click"},
		{"html javascript link", `<a href="javascript:alert(1)">x</a> and [ok](https://example.com/help)`, `href="https://example.com/help"`},
		{"event handler", `<img src="x" onerror="alert(1)"> picture`, "picture"},
		{"autolink javascript", "<javascript:alert(1)>", ""},
		{"iframe", "<iframe src=\"https://evil.example\"></iframe>\n\nframed", "framed"},
		{"style", `<p style="background:url(javascript:alert(1))">styled</p>`, ""},
		{"data uri", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := createArticle(t, kb, agent, knowledgebase.NewArticle{Title: "Sanitize " + tc.name, Body: tc.body})
			low := strings.ToLower(a.BodyHTML)
			for _, bad := range []string{"<script", `href="javascript`, `href="data`, "onerror", "<iframe", "style=", "alert(document"} {
				if strings.Contains(low, bad) {
					t.Errorf("body_html keeps %q: %s", bad, a.BodyHTML)
				}
			}
			if !strings.Contains(a.BodyHTML, tc.keep) {
				t.Errorf("body_html lost %q: %s", tc.keep, a.BodyHTML)
			}
			if a.Body != strings.TrimSpace(tc.body) {
				t.Errorf("the Markdown source changed: %q", a.Body)
			}
		})
	}
}

func TestListArticles(t *testing.T) {
	ctx := context.Background()
	kb, _ := openBase(t)
	cat := "listing-" + strings.ReplaceAll(email("c"), "@", "-")
	var ids []int64
	for i := range 5 {
		state := "draft"
		if i%2 == 0 {
			state = "published"
		}
		a := createArticle(t, kb, supervisor, knowledgebase.NewArticle{Title: "Gadget " + string(rune('A'+i)), Body: "b", Category: cat, State: state, Locale: []string{"en", "es"}[i%2]})
		ids = append(ids, a.ID)
	}
	page, err := kb.Articles(ctx, knowledgebase.ArticleFilter{Category: cat, Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Items[0].ID != ids[4] || page.Next == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = kb.Articles(ctx, knowledgebase.ArticleFilter{Category: cat, Limit: 2, Cursor: page.Next})
	if err != nil || len(page.Items) != 2 || page.Items[0].ID != ids[2] {
		t.Fatalf("second page: %+v %v", page, err)
	}
	page, err = kb.Articles(ctx, knowledgebase.ArticleFilter{Category: cat, State: knowledgebase.StatePublished, Locale: "en"})
	if err != nil || len(page.Items) != 3 || page.Next != "" {
		t.Fatalf("published en: %+v %v", page, err)
	}
	if _, err := kb.Articles(ctx, knowledgebase.ArticleFilter{Cursor: "garbage"}); err == nil {
		t.Error("a bad cursor was accepted")
	}
	public, err := kb.PublicArticles(ctx, "en", cat, 0, 10)
	if err != nil || len(public) != 3 || public[0].Title != "Gadget A" {
		t.Fatalf("public: %+v %v", public, err)
	}
	if _, err := kb.PublicArticle(ctx, ids[1]); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("a draft is public: %v", err)
	}
}
