package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A customer types their problem in Spanish on the support form and is offered the Spanish login
// article as they type; they open it (which is recorded against their visit), then send the form
// all the same. Then the help center pages, as a customer sees them.
func TestBrowserSupportSuggestions(t *testing.T) {
	kbSetup(t)
	ctx := browser(t)
	base := serveApp(t, app)
	var err error

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/support"),
		chromedp.WaitVisible(chromedp.ID("subject")),
		chromedp.SendKeys(chromedp.ID("name"), "Lucía García"),
		chromedp.SendKeys(chromedp.ID("subject"), "No puedo iniciar sesión"),
		chromedp.WaitVisible(chromedp.CSS("#kb-suggestions a")),
	)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("kb-suggestions")))
	if err != nil {
		t.Fatal(err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#kb-suggestions li a")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "kb-support-suggestions")
	if first != kbCorpus.loginES.Title || strings.Contains(shown, kbCorpus.internal.Title) || strings.Contains(shown, kbCorpus.draft.Title) {
		t.Errorf("suggestions: first %q, all:\n%s", first, shown)
	}
	marks, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#kb-suggestions mark").length`))
	if err != nil || marks == 0 {
		t.Errorf("no highlighted words in the suggestions (%v)", err)
	}
	session, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name="kb_session"]').value`))
	if err != nil || len(session) != 32 {
		t.Fatalf("visit id %q: %v", session, err)
	}

	// Opening the suggestion (in a new tab) is recorded for this visit.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#kb-suggestions li a"))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, `SELECT count(*) FROM kb_suggestion_opens WHERE session_id = ? AND article_id = ?`, session, kbCorpus.loginES.ID) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the opened suggestion was not recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The customer sends the form anyway: the visit is no deflection.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), email("browserkb")),
		chromedp.SendKeys(chromedp.ID("description"), "El artículo no me ayudó: sigo sin poder entrar."),
		chromedp.Click(chromedp.CSS(`form[action="/support"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".ref")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, `SELECT count(*) FROM kb_form_submissions WHERE session_id = ?`, session); n != 1 {
		t.Errorf("the submission of the visit was recorded %d times", n)
	}

	// The help center.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/kb"), chromedp.WaitVisible(chromedp.ID("kb-q")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "kb-index")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("kb-q"), "contrasena incorrecta"),
		chromedp.Click(chromedp.CSS(".kb-search button")),
		chromedp.WaitVisible(chromedp.CSS(".kb-results")),
	)
	if err != nil {
		t.Fatal(err)
	}
	results, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".kb-results")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "kb-search")
	if !strings.Contains(results, kbCorpus.loginES.Title) {
		t.Errorf("search without accents:\n%s", results)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/kb/articles/%d", base, kbCorpus.loginES.ID)),
		chromedp.WaitVisible(chromedp.CSS(".kb-article h1")),
	)
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".kb-article h1")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "kb-article")
	if title != kbCorpus.loginES.Title {
		t.Errorf("article page title %q", title)
	}
}
