package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type articleOut struct {
	ID             int64    `json:"id"`
	Title          string   `json:"title"`
	Body           string   `json:"body"`
	BodyHTML       string   `json:"body_html"`
	Category       string   `json:"category"`
	Tags           []string `json:"tags"`
	Locale         string   `json:"locale"`
	State          string   `json:"state"`
	Visibility     string   `json:"visibility"`
	SourceTicketID *int64   `json:"source_ticket_id"`
	Revision       int      `json:"revision"`
	PublicURL      string   `json:"public_url"`
}

type hitOut struct {
	Kind, Title, Snippet, URL, Locale string
	ID                                int64
}

func kbSync(t *testing.T) {
	t.Helper()
	if err := kb.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// kbPublish writes and publishes an article over the API, as a supervisor.
func kbPublish(t *testing.T, title, body, locale, visibility string) articleOut {
	t.Helper()
	res := call(t, "POST", "/api/v1/articles", supervisorToken, map[string]any{
		"title": title, "body": body, "locale": locale, "visibility": visibility, "state": "published", "category": "web-tests",
	})
	if res.status != 201 {
		t.Fatalf("publish %q: %d %s", title, res.status, res.body)
	}
	var a articleOut
	res.json(t, &a)
	return a
}

func hitsOf(t *testing.T, res response) []hitOut {
	t.Helper()
	if res.status != 200 {
		t.Fatalf("search: %d %s", res.status, res.body)
	}
	var out struct{ Items []hitOut }
	res.json(t, &out)
	return out.Items
}

func hitIDs(hits []hitOut, kind string) []int64 {
	var ids []int64
	for _, h := range hits {
		if h.Kind == kind {
			ids = append(ids, h.ID)
		}
	}
	return ids
}

func TestKBArticlesAPI(t *testing.T) {
	res := call(t, "POST", "/api/v1/articles", agentToken, map[string]any{
		"title": "Pair the sextant scanner", "body": "Hold **pair** for 3 s.<script>alert(1)</script> [x](javascript:alert(1))",
		"tags": []string{"Scanner", "pairing"}, "category": "Hardware",
	})
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var a articleOut
	res.json(t, &a)
	if a.State != "draft" || a.Visibility != "public" || a.Locale != "en" || a.Revision != 1 || a.PublicURL != "" ||
		a.Category != "hardware" || !slices.Equal(a.Tags, []string{"scanner", "pairing"}) ||
		strings.Contains(a.BodyHTML, "script") || strings.Contains(a.BodyHTML, "javascript") || !strings.Contains(a.BodyHTML, "<strong>pair</strong>") {
		t.Errorf("created %+v", a)
	}
	if loc := res.header.Get("Location"); loc != fmt.Sprintf("/api/v1/articles/%d", a.ID) {
		t.Errorf("Location %q", loc)
	}
	path := fmt.Sprintf("/api/v1/articles/%d", a.ID)

	// Agents may not publish; supervisors may.
	if res := call(t, "PATCH", path, agentToken, map[string]any{"state": "published"}); res.status != 403 || res.errorField(t) != "state" {
		t.Errorf("agent publishing: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", "/api/v1/articles", agentToken, map[string]any{"title": "t", "body": "b", "state": "published"}); res.status != 403 {
		t.Errorf("agent creating a published article: %d %s", res.status, res.body)
	}
	res = call(t, "PATCH", path, supervisorToken, map[string]any{"state": "published", "revision": 1})
	res.json(t, &a)
	if res.status != 200 || a.State != "published" || a.Revision != 2 || a.PublicURL != fmt.Sprintf("/kb/articles/%d", a.ID) {
		t.Fatalf("publish: %d %s", res.status, res.body)
	}
	if res := call(t, "PATCH", path, supervisorToken, map[string]any{"title": "Stale", "revision": 1}); res.status != 409 || res.errorField(t) != "revision" {
		t.Errorf("stale revision: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", path, agentToken, nil); res.status != 200 {
		t.Errorf("get: %d", res.status)
	}
	res = call(t, "GET", path+"/revisions", agentToken, nil)
	var revs struct {
		Items []struct {
			Revision int
			State    string
		}
	}
	res.json(t, &revs)
	if res.status != 200 || len(revs.Items) != 2 || revs.Items[0].Revision != 2 || revs.Items[0].State != "published" {
		t.Errorf("revisions: %d %s", res.status, res.body)
	}

	res = call(t, "GET", "/api/v1/articles?state=published&category=hardware&locale=en&limit=100", agentToken, nil)
	var page struct {
		Items []articleOut
		Next  string
	}
	res.json(t, &page)
	if res.status != 200 || !slices.ContainsFunc(page.Items, func(x articleOut) bool { return x.ID == a.ID }) {
		t.Errorf("list: %d %s", res.status, res.body)
	}

	// Only supervisors delete.
	if res := call(t, "DELETE", path, agentToken, nil); res.status != 403 {
		t.Errorf("agent delete: %d", res.status)
	}
	if res := call(t, "DELETE", path, supervisorToken, nil); res.status != 204 {
		t.Errorf("delete: %d %s", res.status, res.body)
	}
	for _, p := range []string{path, path + "/revisions", "/api/v1/articles/abc", "/api/v1/articles/0"} {
		if res := call(t, "GET", p, agentToken, nil); res.status != 404 {
			t.Errorf("GET %s: %d", p, res.status)
		}
	}
	if res := call(t, "GET", "/api/v1/articles", "", nil); res.status != 401 {
		t.Errorf("no token: %d", res.status)
	}
}

// Every kind of bad input is a 4xx naming the field.
func TestKBArticlesAPIBadInput(t *testing.T) {
	a := kbPublish(t, "Bad input target", "Body.", "en", "public")
	path := fmt.Sprintf("/api/v1/articles/%d", a.ID)
	cases := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/api/v1/articles", ``, 400, "body"},
		{"POST", "/api/v1/articles", `{"title":`, 400, "body"},
		{"POST", "/api/v1/articles", `{"title":"t","body":"b","author":"me"}`, 400, "author"},
		{"POST", "/api/v1/articles", `{"title":"t","body":"b","tags":"one"}`, 400, "tags"},
		{"POST", "/api/v1/articles", `{"title":7,"body":"b"}`, 400, "title"},
		{"POST", "/api/v1/articles", `{"body":"b"}`, 422, "title"},
		{"POST", "/api/v1/articles", `{"title":"t","body":"b","locale":"fr"}`, 422, "locale"},
		{"POST", "/api/v1/articles", `{"title":"t","body":"b","visibility":"secret"}`, 422, "visibility"},
		{"POST", "/api/v1/articles", `{"title":"t","body":"` + strings.Repeat("b", 101<<10) + `"}`, 422, "body"},
		{"PATCH", path, `{}`, 422, "body"},
		{"PATCH", path, `{"state":"live"}`, 422, "state"},
		{"PATCH", path, `{"revision":"two","title":"x"}`, 400, "revision"},
		{"PATCH", "/api/v1/articles/99999999", `{"title":"x"}`, 404, ""},
		{"GET", "/api/v1/articles?state=live", ``, 400, "state"},
		{"GET", "/api/v1/articles?visibility=secret", ``, 400, "visibility"},
		{"GET", "/api/v1/articles?locale=fr", ``, 400, "locale"},
		{"GET", "/api/v1/articles?limit=0", ``, 400, "limit"},
		{"GET", "/api/v1/articles?stat=draft", ``, 400, "stat"},
		{"GET", "/api/v1/articles?cursor=garbage", ``, 422, "cursor"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path+" "+truncated(tc.body), func(t *testing.T) {
			var body any
			if tc.method != "GET" {
				body = tc.body
			}
			res := call(t, tc.method, tc.path, supervisorToken, body)
			if res.status != tc.status {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if tc.field != "" && res.errorField(t) != tc.field {
				t.Errorf("field %q: %s", res.errorField(t), res.body)
			}
		})
	}
	// Without a JSON content type.
	req := httptest.NewRequest("POST", "/api/v1/articles", strings.NewReader(`{"title":"t","body":"b"}`))
	req.Header.Set("Authorization", "Bearer "+supervisorToken)
	if res := send(t, app, req); res.status != 415 {
		t.Errorf("no content type: %d", res.status)
	}
}

func truncated(s string) string {
	if len(s) > 30 {
		return s[:30]
	}
	return s
}

// The knowledge-base corpus of the web tests, created once.
var kbCorpus struct {
	done                       bool
	loginES, loginEN, internal articleOut
	draft                      articleOut
	solvedTicket, openTicket   int64
}

func kbSetup(t *testing.T) {
	t.Helper()
	if kbCorpus.done {
		return
	}
	kbCorpus.loginES = kbPublish(t, "No puedo iniciar sesión en mi cuenta",
		"Si la página de inicio de sesión dice que tu contraseña no es correcta, usa *He olvidado mi contraseña*. Tras cinco intentos fallidos la cuenta se bloquea 15 minutos.", "es", "public")
	kbCorpus.loginEN = kbPublish(t, "Cannot sign in to your account",
		"If the sign-in page says your password is wrong, use *Forgot password*. After five failed attempts the account locks for 15 minutes.", "en", "public")
	kbCorpus.internal = kbPublish(t, "Unlock an account by hand",
		"Staff only: unlock the account in the admin console when the customer cannot iniciar sesión: desbloquear.", "es", "internal")
	res := call(t, "POST", "/api/v1/articles", agentToken, map[string]any{"title": "Iniciar sesión: borrador", "body": "Borrador sobre iniciar sesión.", "locale": "es"})
	res.json(t, &kbCorpus.draft)

	newTicket := func(subject, body string) int64 {
		res := call(t, "POST", "/api/v1/tickets", agentToken, map[string]any{
			"customer": map[string]any{"email": email("kb")}, "subject": subject, "body": body,
		})
		var tk ticketOut
		res.json(t, &tk)
		if res.status != 201 {
			t.Fatalf("ticket: %d %s", res.status, res.body)
		}
		return tk.ID
	}
	kbCorpus.solvedTicket = newTicket("No puedo iniciar sesión desde el móvil", "Desde el móvil me dice que la contraseña no es correcta.")
	if res := call(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", kbCorpus.solvedTicket), agentToken, map[string]any{
		"kind": "reply", "body": "Tu cuenta estaba bloqueada tras varios intentos; ya puedes iniciar sesión.", "status": "solved",
	}); res.status != 201 {
		t.Fatalf("solve: %d %s", res.status, res.body)
	}
	kbCorpus.openTicket = newTicket("No puedo iniciar sesión", "Me dice que la contraseña es incorrecta y no me deja entrar en la cuenta.")
	kbSync(t)
	kbCorpus.done = true
}

func TestKBSearchAPI(t *testing.T) {
	kbSetup(t)
	res := call(t, "GET", "/api/v1/search?facets=true&limit=50&q="+url.QueryEscape("iniciar sesión"), agentToken, nil)
	var out struct {
		Total  int
		Items  []hitOut
		Facets map[string][]struct {
			Value string
			Count int
		}
	}
	res.json(t, &out)
	if res.status != 200 || out.Total == 0 || len(out.Facets["kind"]) == 0 {
		t.Fatalf("search: %d %s", res.status, res.body)
	}
	articles, problems := hitIDs(out.Items, "article"), hitIDs(out.Items, "problem")
	if !slices.Contains(articles, kbCorpus.loginES.ID) || !slices.Contains(articles, kbCorpus.internal.ID) || !slices.Contains(problems, kbCorpus.solvedTicket) ||
		!slices.Contains(hitIDs(out.Items, "ticket"), kbCorpus.openTicket) || slices.Contains(articles, kbCorpus.draft.ID) {
		t.Errorf("staff search: %s", res.body)
	}
	for _, h := range out.Items {
		if (h.Kind == "article" && h.URL != fmt.Sprintf("/api/v1/articles/%d", h.ID)) || (h.Kind != "article" && h.URL != fmt.Sprintf("/api/v1/tickets/%d", h.ID)) {
			t.Errorf("hit url: %+v", h)
		}
	}
	hits := hitsOf(t, call(t, "GET", "/api/v1/search?kind=problem&q="+url.QueryEscape("iniciar sesión"), agentToken, nil))
	if len(hits) == 0 || len(hitIDs(hits, "problem")) != len(hits) {
		t.Errorf("kind=problem: %+v", hits)
	}
	hits = hitsOf(t, call(t, "GET", "/api/v1/search?locale=en&kind=article,problem&category=web-tests&q=account", agentToken, nil))
	if len(hits) == 0 || slices.ContainsFunc(hits, func(h hitOut) bool { return h.Locale != "en" }) {
		t.Errorf("locale=en: %+v", hits)
	}

	bad := []struct {
		query  string
		status int
		field  string
	}{
		{"q=" + strings.Repeat("x", 10<<10), 422, "q"},
		{"q=printer&locale=fr", 422, "locale"},
		{"q=printer&kind=faq", 422, "kind"},
		{"q=printer&limit=abc", 400, "limit"},
		{"q=printer&limit=51", 400, "limit"},
		{"q=printer&offset=-1", 400, "offset"},
		{"q=printer&sort=date", 400, "sort"},
		{"q=printer&facets=yes", 400, "facets"},
	}
	for _, tc := range bad {
		res := call(t, "GET", "/api/v1/search?"+tc.query, agentToken, nil)
		if res.status != tc.status || res.errorField(t) != tc.field {
			t.Errorf("%.40s: %d %s", tc.query, res.status, res.body)
		}
	}
	for _, q := range []string{"", "q=", "q=%00%07%1b", "q=" + url.QueryEscape(`+-&&||!(){}[]^"~*?:\/`), "q=" + url.QueryEscape(`"unclosed`), "q=zzqx&category=nope"} {
		if res := call(t, "GET", "/api/v1/search?"+q, agentToken, nil); res.status != 200 {
			t.Errorf("%s: %d %s", q, res.status, res.body)
		}
	}
	if res := call(t, "GET", "/api/v1/search?q=x", "", nil); res.status != 401 {
		t.Errorf("search without a token: %d", res.status)
	}
}

// The done-when of the knowledge base: a customer typing "no puedo iniciar sesión" is offered the
// Spanish login article, and never an internal article, a draft or a ticket.
func TestKBSuggestAPI(t *testing.T) {
	kbSetup(t)
	hits := hitsOf(t, call(t, "GET", "/api/v1/kb/suggest?q="+url.QueryEscape("no puedo iniciar sesión"), "", nil))
	if len(hits) == 0 || hits[0].ID != kbCorpus.loginES.ID || hits[0].URL != fmt.Sprintf("/kb/articles/%d", kbCorpus.loginES.ID) ||
		!strings.Contains(hits[0].Snippet, "<mark>") {
		t.Fatalf("suggest: %+v", hits)
	}
	// As typed, letter by letter, the article shows up before the sentence is done.
	hits = hitsOf(t, call(t, "GET", "/api/v1/kb/suggest?q="+url.QueryEscape("no puedo inicia"), "", nil))
	if len(hits) == 0 || hits[0].ID != kbCorpus.loginES.ID {
		t.Errorf("while typing: %+v", hits)
	}
	for _, q := range []string{"iniciar sesión bloqueado desbloquear admin console", "borrador iniciar sesión", "móvil bloqueada"} {
		for _, h := range hitsOf(t, call(t, "GET", "/api/v1/kb/suggest?limit=10&q="+url.QueryEscape(q), "", nil)) {
			if h.Kind != "article" || h.ID == kbCorpus.internal.ID || h.ID == kbCorpus.draft.ID {
				t.Errorf("a customer was shown %+v for %q", h, q)
			}
		}
	}
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"q=" + strings.Repeat("a", 10<<10), 422},
		{"q=x&limit=50", 400},
		{"q=x&locale=de", 422},
		{"q=x&kind=ticket", 400},
	} {
		if res := call(t, "GET", "/api/v1/kb/suggest?"+tc.query, "", nil); res.status != tc.status {
			t.Errorf("%.40s: %d %s", tc.query, res.status, res.body)
		}
	}
	if hits := hitsOf(t, call(t, "GET", "/api/v1/kb/suggest?q=", "", nil)); len(hits) != 0 {
		t.Errorf("empty query: %+v", hits)
	}
}

// An agent opening a ticket sees the matching articles and the similar solved tickets.
func TestKBTicketSuggestions(t *testing.T) {
	kbSetup(t)
	res := call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d/suggestions", kbCorpus.openTicket), agentToken, nil)
	var out struct{ Articles, Problems []hitOut }
	res.json(t, &out)
	if res.status != 200 || len(out.Articles) == 0 || out.Articles[0].ID != kbCorpus.loginES.ID ||
		len(out.Problems) == 0 || out.Problems[0].ID != kbCorpus.solvedTicket {
		t.Errorf("suggestions: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/tickets/99999999/suggestions", agentToken, nil); res.status != 404 {
		t.Errorf("missing ticket: %d", res.status)
	}
	if res := call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d/suggestions?limit=0", kbCorpus.openTicket), agentToken, nil); res.status != 400 {
		t.Errorf("limit 0: %d", res.status)
	}
}

func TestKBProblemsAPI(t *testing.T) {
	kbSetup(t)
	if res := call(t, "GET", fmt.Sprintf("/api/v1/problems/%d", kbCorpus.openTicket), agentToken, nil); res.status != 404 {
		t.Errorf("an open ticket as a problem: %d", res.status)
	}
	res := call(t, "GET", fmt.Sprintf("/api/v1/problems/%d", kbCorpus.solvedTicket), agentToken, nil)
	var p struct {
		TicketID             int64 `json:"ticket_id"`
		Question, Resolution string
	}
	res.json(t, &p)
	if res.status != 200 || p.TicketID != kbCorpus.solvedTicket || !strings.Contains(p.Resolution, "ya puedes iniciar sesión") {
		t.Errorf("problem: %d %s", res.status, res.body)
	}
	for _, body := range []any{nil, map[string]any{"category": "cuentas", "tags": []string{"login"}}} {
		res = call(t, "POST", fmt.Sprintf("/api/v1/problems/%d/article", kbCorpus.solvedTicket), agentToken, body)
		var a articleOut
		res.json(t, &a)
		if res.status != 201 || a.State != "draft" || a.SourceTicketID == nil || *a.SourceTicketID != kbCorpus.solvedTicket ||
			!strings.Contains(a.Body, "ya puedes iniciar sesión") || a.Locale != "es" {
			t.Errorf("promote with %v: %d %s", body, res.status, res.body)
		}
	}
	if res := call(t, "POST", fmt.Sprintf("/api/v1/problems/%d/article", kbCorpus.openTicket), agentToken, nil); res.status != 409 {
		t.Errorf("promote an open ticket: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", fmt.Sprintf("/api/v1/problems/%d/article", kbCorpus.solvedTicket), agentToken, `{"state":"published"}`); res.status != 422 {
		t.Errorf("promote straight to published: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", fmt.Sprintf("/api/v1/problems/%d/article", kbCorpus.solvedTicket), agentToken, `{"color":"red"}`); res.status != 400 {
		t.Errorf("unknown field: %d %s", res.status, res.body)
	}
}

// The public help center: published public articles only, readable and searchable without
// JavaScript.
func TestKBPages(t *testing.T) {
	kbSetup(t)
	get := func(path string) response {
		t.Helper()
		return send(t, app, httptest.NewRequest("GET", path, nil))
	}
	res := get("/kb")
	page := string(res.body)
	if res.status != 200 || !strings.Contains(page, "No puedo iniciar sesión en mi cuenta") || strings.Contains(page, "Unlock an account by hand") ||
		strings.Contains(page, "borrador") {
		t.Errorf("/kb: %d\n%s", res.status, page)
	}
	res = get("/kb?q=" + url.QueryEscape("iniciar sesion"))
	page = string(res.body)
	if res.status != 200 || !strings.Contains(page, fmt.Sprintf(`href="/kb/articles/%d"`, kbCorpus.loginES.ID)) || !strings.Contains(page, "<mark>") ||
		strings.Contains(page, fmt.Sprintf(`/kb/articles/%d"`, kbCorpus.internal.ID)) {
		t.Errorf("/kb?q=: %d\n%s", res.status, page)
	}
	res = get(fmt.Sprintf("/kb/articles/%d", kbCorpus.loginES.ID))
	page = string(res.body)
	if res.status != 200 || !strings.Contains(page, `lang="es"`) || !strings.Contains(page, "<em>He olvidado mi contraseña</em>") {
		t.Errorf("article page: %d\n%s", res.status, page)
	}
	for _, path := range []string{
		fmt.Sprintf("/kb/articles/%d", kbCorpus.internal.ID), fmt.Sprintf("/kb/articles/%d", kbCorpus.draft.ID),
		"/kb/articles/99999999", "/kb/articles/x",
	} {
		if res := get(path); res.status != 404 {
			t.Errorf("%s: %d", path, res.status)
		}
	}
	for _, path := range []string{"/kb?locale=fr", "/kb?page=-1", "/kb?q=" + strings.Repeat("x", 10<<10)} {
		if res := get(path); res.status < 400 || res.status >= 500 {
			t.Errorf("%.40s: %d", path, res.status)
		}
	}
	// The support form points to the help center without JavaScript and loads the script.
	res = get("/support")
	page = string(res.body)
	if !strings.Contains(page, `href="/kb"`) || !strings.Contains(page, `<script src="/static/suggest.js" defer></script>`) ||
		!strings.Contains(page, `id="kb-suggestions"`) {
		t.Errorf("support form:\n%s", page)
	}
	if res := get("/static/suggest.js"); res.status != 200 || !strings.Contains(res.header.Get("Content-Type"), "javascript") {
		t.Errorf("suggest.js: %d %s", res.status, res.header.Get("Content-Type"))
	}
}

// A visit that opened a suggestion and sent the form anyway is no deflection; one that did not,
// is. Supervisors read the rate.
func TestKBDeflection(t *testing.T) {
	kbSetup(t)
	sent, left := fmt.Sprintf("websession%022d", unique.Add(1)), fmt.Sprintf("websession%022d", unique.Add(1))

	v := newVisitor(t, app)
	token := v.open()
	beacon := func(v *visitor, fields url.Values) int {
		req := httptest.NewRequest("POST", "/kb/opened", strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return v.do(req).status
	}
	article := fmt.Sprint(kbCorpus.loginES.ID)
	if st := beacon(v, url.Values{"session": {sent}, "article": {article}, "_csrf": {token}}); st != 204 {
		t.Fatalf("beacon: %d", st)
	}
	for name, tc := range map[string]struct {
		fields url.Values
		status int
	}{
		"no token":         {url.Values{"session": {sent}, "article": {article}}, 403},
		"bad session":      {url.Values{"session": {"x"}, "article": {article}, "_csrf": {token}}, 422},
		"internal article": {url.Values{"session": {sent}, "article": {fmt.Sprint(kbCorpus.internal.ID)}, "_csrf": {token}}, 404},
		"no article":       {url.Values{"session": {sent}, "_csrf": {token}}, 400},
	} {
		if st := beacon(v, tc.fields); st != tc.status {
			t.Errorf("%s: %d, want %d", name, st, tc.status)
		}
	}
	// The visit sends the form with its session.
	res := v.submit(map[string]string{
		"_csrf": token, "email": email("deflect"), "subject": "Still cannot log in", "description": "The article did not help.",
		"urgency": "normal", "kb_session": sent,
	})
	if res.status != 303 {
		t.Fatalf("submit: %d %s", res.status, res.body)
	}
	if n := count(t, `SELECT count(*) FROM kb_form_submissions WHERE session_id = ?`, sent); n != 1 {
		t.Errorf("submission recorded %d times", n)
	}
	// Another visit reads the article and leaves.
	w := newVisitor(t, app)
	if st := beacon(w, url.Values{"session": {left}, "article": {article}, "_csrf": {w.open()}}); st != 204 {
		t.Fatalf("second beacon: %d", st)
	}
	db.Exec(`UPDATE kb_suggestion_opens SET opened_at = now() - interval '2 hours' WHERE session_id IN (?, ?)`, sent, left)

	res = call(t, "GET", "/api/v1/kb/deflection?days=1", supervisorToken, nil)
	var r struct {
		Sessions, Submitted, Deflected int64
		Rate                           float64
	}
	res.json(t, &r)
	if res.status != 200 || r.Sessions < 2 || r.Submitted < 1 || r.Deflected < 1 || r.Rate <= 0 || r.Rate >= 1 {
		t.Errorf("report: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/kb/deflection", agentToken, nil); res.status != 403 {
		t.Errorf("agent reading the report: %d", res.status)
	}
	if res := call(t, "GET", "/api/v1/kb/deflection?days=0", supervisorToken, nil); res.status != 400 {
		t.Errorf("days=0: %d", res.status)
	}
}
