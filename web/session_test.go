package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// signIn signs a member of staff in through the login form and returns their browser.
func signIn(t *testing.T, role tickets.Role) *visitor {
	t.Helper()
	v := newVisitor(t, app)
	v.get("/login")
	res := v.post("/login", url.Values{"email": {string(role) + "@example.com"}, "password": {testPassword}, "next": {"/desk"}})
	if res.status != 303 || v.cookies["helpdesk_session"] == "" {
		t.Fatalf("sign in as %s: %d %s", role, res.status, res.body)
	}
	return v
}

func TestSignInAndOut(t *testing.T) {
	v := newVisitor(t, app)
	page := v.get("/login?next=/kb")
	if page.status != 200 || !strings.Contains(string(page.body), `name="next" value="/kb"`) {
		t.Fatalf("login page: %d %s", page.status, page.body)
	}

	wrong := v.post("/login", url.Values{"email": {"agent@example.com"}, "password": {"not the password"}, "next": {"/kb"}})
	if wrong.status != 401 || !strings.Contains(string(wrong.body), "do not match an account") || v.cookies["helpdesk_session"] != "" {
		t.Fatalf("wrong password: %d, session %q\n%s", wrong.status, v.cookies["helpdesk_session"], wrong.body)
	}
	// What the person typed stays in the form; the password does not.
	if !strings.Contains(string(wrong.body), `value="agent@example.com"`) || strings.Contains(string(wrong.body), "not the password") {
		t.Error("the refused form should keep the email and drop the password")
	}
	unknown := v.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
	if unknown.status != 401 || !strings.Contains(string(unknown.body), "do not match an account") {
		t.Errorf("an unknown address must get the same answer as a wrong password: %d", unknown.status)
	}

	ok := v.post("/login", url.Values{"email": {"Agent@Example.com"}, "password": {testPassword}, "next": {"/kb"}})
	if ok.status != 303 || ok.header.Get("Location") != "/kb" {
		t.Fatalf("sign in: %d to %q", ok.status, ok.header.Get("Location"))
	}
	cookie := ok.header.Get("Set-Cookie")
	for _, want := range []string{"helpdesk_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(strings.ToLower(cookie), strings.ToLower(want)) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	user, err := tickets.NewStaff(db).SessionUser(context.Background(), v.cookies["helpdesk_session"])
	if err != nil || user.Email != "agent@example.com" {
		t.Fatalf("the session is not the agent's: %v %v", user, err)
	}

	// Signing out needs the session's form token: another site cannot sign people out.
	secret := v.cookies["helpdesk_session"]
	if res := v.post("/logout", url.Values{"_csrf": {"forged"}}); res.status != 403 {
		t.Errorf("logout with a forged token: %d", res.status)
	}
	v.get("/desk")
	if res := v.post("/logout", url.Values{}); res.status != 303 || v.cookies["helpdesk_session"] != "" {
		t.Fatalf("logout: %d, cookie %q", res.status, v.cookies["helpdesk_session"])
	}
	if _, err := tickets.NewStaff(db).SessionUser(context.Background(), secret); err == nil {
		t.Error("the session still works after signing out")
	}
}

// Staff pages send visitors to sign in and bring them back where they were going.
func TestStaffPagesNeedASession(t *testing.T) {
	v := newVisitor(t, app)
	res := v.get("/desk?x=1")
	if res.status != 303 || res.header.Get("Location") != "/login?next="+url.QueryEscape("/desk?x=1") {
		t.Fatalf("signed out GET /desk: %d to %q", res.status, res.header.Get("Location"))
	}
	v.cookies["helpdesk_session"] = "made-up"
	if res := v.get("/desk"); res.status != 303 {
		t.Errorf("a made-up session: %d", res.status)
	}
}

func TestSignInRedirectStaysOnSite(t *testing.T) {
	for _, next := range []string{"https://evil.example/", "//evil.example/", `/\evil.example`, "javascript:alert(1)"} {
		v := newVisitor(t, app)
		v.get("/login")
		res := v.post("/login", url.Values{"email": {"agent@example.com"}, "password": {testPassword}, "next": {next}})
		if res.status != 303 || res.header.Get("Location") != "/desk" {
			t.Errorf("next=%q sent the user to %q", next, res.header.Get("Location"))
		}
	}
}

func TestSignInNeedsFormToken(t *testing.T) {
	v := newVisitor(t, app)
	res := v.post("/login", url.Values{"email": {"agent@example.com"}, "password": {testPassword}, "_csrf": {""}})
	if res.status != 403 || v.cookies["helpdesk_session"] != "" {
		t.Errorf("a login without the form's token: %d", res.status)
	}
}

func TestSignInRateLimit(t *testing.T) {
	v := newVisitor(t, app)
	v.get("/login")
	var last response
	for range 21 {
		last = v.post("/login", url.Values{"email": {"agent@example.com"}, "password": {"guess"}})
	}
	if last.status != 429 || !strings.Contains(string(last.body), "Too many attempts") {
		t.Fatalf("the 21st attempt in ten minutes: %d", last.status)
	}
	// Even the right password waits: the limit is on guessing, whatever the guess.
	if res := v.post("/login", url.Values{"email": {"agent@example.com"}, "password": {testPassword}}); res.status != 429 {
		t.Errorf("the right password during the lockout: %d", res.status)
	}
	// Another address is not held back.
	other := newVisitor(t, app)
	other.get("/login")
	if res := other.post("/login", url.Values{"email": {"agent@example.com"}, "password": {testPassword}}); res.status != 303 {
		t.Errorf("another network: %d", res.status)
	}
}

var resetLink = regexp.MustCompile(`http\S+/password/reset\?token=(\S+)`)

func TestPasswordResetByEmail(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	addr := email("reset")
	_, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: addr, Name: "Rosa Reset", Role: tickets.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}

	v := newVisitor(t, app)
	v.get("/password/forgot")
	res := v.post("/password/forgot", url.Values{"email": {addr}})
	if res.status != 200 || !strings.Contains(string(res.body), "on its way") {
		t.Fatalf("forgot: %d %s", res.status, res.body)
	}
	mail, ok := outbox.last(addr)
	if !ok || !strings.Contains(mail.text, "Rosa Reset") {
		t.Fatalf("no reset mail to %s: %+v", addr, mail)
	}
	m := resetLink.FindStringSubmatch(mail.text)
	if m == nil {
		t.Fatalf("no link in %q", mail.text)
	}
	token, _ := url.QueryUnescape(m[1])

	// An unknown address gets the same page and no mail.
	stranger := email("stranger")
	if res := v.post("/password/forgot", url.Values{"email": {stranger}}); res.status != 200 || !strings.Contains(string(res.body), "on its way") {
		t.Errorf("unknown address: %d", res.status)
	}
	if _, ok := outbox.last(stranger); ok {
		t.Error("mail sent to an address with no account")
	}

	form := v.get("/password/reset?token=" + url.QueryEscape(token))
	if form.status != 200 {
		t.Fatalf("reset form: %d", form.status)
	}
	mismatch := v.post("/password/reset", url.Values{"token": {token}, "password": {"a brand new password"}, "password2": {"another one entirely"}})
	if mismatch.status != 422 || !strings.Contains(string(mismatch.body), "differ") {
		t.Errorf("mismatched passwords: %d", mismatch.status)
	}
	short := v.post("/password/reset", url.Values{"token": {token}, "password": {"short"}, "password2": {"short"}})
	if short.status != 422 || !strings.Contains(string(short.body), "at least 12 characters") {
		t.Errorf("a short password: %d", short.status)
	}
	done := v.post("/password/reset", url.Values{"token": {token}, "password": {"a brand new password"}, "password2": {"a brand new password"}})
	if done.status != 303 || v.cookies["helpdesk_session"] == "" {
		t.Fatalf("reset: %d %s", done.status, done.body)
	}
	if _, err := staff.CheckPassword(ctx, addr, "a brand new password"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	again := newVisitor(t, app)
	again.get("/password/reset?token=" + url.QueryEscape(token))
	if res := again.post("/password/reset", url.Values{"token": {token}, "password": {"yet another password"}, "password2": {"yet another password"}}); res.status != 422 {
		t.Errorf("a used link worked again: %d", res.status)
	}
}

// The pages speak the browser's language until the visitor picks one.
func TestPagesInSpanish(t *testing.T) {
	v := newVisitor(t, app)
	req := func(path string) string {
		t.Helper()
		r := v.do(newRequest("GET", path, "es-ES,es;q=0.9,en;q=0.5"))
		if r.status != 200 {
			t.Fatalf("GET %s: %d", path, r.status)
		}
		return string(r.body)
	}
	if body := req("/support"); !strings.Contains(body, `<html lang="es">`) || !strings.Contains(body, "Contactar con soporte") {
		t.Errorf("a Spanish browser gets English:\n%s", body)
	}
	if res := v.post("/lang", url.Values{"lang": {"en"}, "next": {"/support"}}); res.status != 303 || res.header.Get("Location") != "/support" {
		t.Fatalf("choose English: %d %q", res.status, res.header.Get("Location"))
	}
	if body := req("/support"); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Contact support") {
		t.Error("the visitor's choice should beat the browser's language")
	}
	if body := req("/login"); !strings.Contains(body, "Sign in") {
		t.Error("the choice should hold on every page")
	}

	// Staff keep their choice in their settings, wherever they sign in.
	s := signIn(t, tickets.RoleSupervisor)
	s.get("/login")
	if res := s.post("/lang", url.Values{"lang": {"es"}, "next": {"/kb"}}); res.status != 303 {
		t.Fatalf("supervisor chooses Spanish: %d %s", res.status, res.body)
	}
	var locale string
	db.Raw(`SELECT locale FROM users WHERE email = 'supervisor@example.com'`).Scan(&locale)
	db.Exec(`UPDATE users SET locale = '' WHERE email = 'supervisor@example.com'`)
	if locale != "es" {
		t.Errorf("the supervisor's locale is %q", locale)
	}
}

func newRequest(method, path, acceptLanguage string) *http.Request {
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Accept-Language", acceptLanguage)
	return req
}

// Every message has a translation: the catalogs of each file name the same ids.
func TestCatalogsMatch(t *testing.T) {
	files, err := filepath.Glob("locales/*.en.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no English catalogs: %v", err)
	}
	for _, en := range files {
		es := strings.TrimSuffix(en, ".en.toml") + ".es.toml"
		enIDs, esIDs := catalogIDs(t, en), catalogIDs(t, es)
		for id := range enIDs {
			if !esIDs[id] {
				t.Errorf("%s lacks %q", es, id)
			}
		}
		for id := range esIDs {
			if !enIDs[id] {
				t.Errorf("%s has %q, which %s lacks", es, id, en)
			}
		}
	}
}

func catalogIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := toml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ids := map[string]bool{}
	for k := range m {
		ids[k] = true
	}
	return ids
}
