package web_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// adminSignInOn signs a member of staff in to app a through its login form.
func adminSignInOn(t *testing.T, a *fiber.App, role tickets.Role) *visitor {
	t.Helper()
	v := newVisitor(t, a)
	v.get("/login")
	res := v.post("/login", url.Values{"email": {string(role) + "@example.com"}, "password": {testPassword}, "next": {"/desk"}})
	if res.status != 303 || v.cookies["helpdesk_session"] == "" {
		t.Fatalf("sign in as %s: %d %s", role, res.status, res.body)
	}
	return v
}

// mustContain fails when body lacks any of wants.
func mustContain(t *testing.T, what string, res response, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(string(res.body), w) {
			t.Errorf("%s: the page lacks %q (status %d)", what, w, res.status)
		}
	}
}

// errorAfter checks that the error of input id sits right after it, and returns its text.
func errorAfter(t *testing.T, body, id string) string {
	t.Helper()
	input := strings.Index(body, `id="`+id+`"`)
	m := regexp.MustCompile(`<p class="error" id="` + regexp.QuoteMeta(id) + `-error">([^<]*)</p>`).FindStringSubmatchIndex(body)
	if input < 0 || m == nil || m[0] < input {
		t.Errorf("no error next to %s", id)
		return ""
	}
	if next := strings.Index(body[input+1:], `<input id=`); next >= 0 && input+1+next < m[0] && !strings.Contains(id, "pm-") {
		t.Errorf("the error of %s is not right after it", id)
	}
	return body[m[2]:m[3]]
}

var adminGETs = []string{"/admin", "/admin/users", "/admin/teams", "/admin/mailboxes", "/admin/quarantine", "/admin/sla",
	"/admin/sla/calendars/new", "/admin/sla/policies/new", "/admin/value", "/admin/tokens"}

// Agents and supervisors get 403 on every admin page and form; admins get the page.
func TestAdminPagesAreForAdmins(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	for _, p := range adminGETs {
		res := admin.get(p)
		if res.status != 200 || !strings.Contains(string(res.body), `class="admin-nav"`) && p != "/admin" {
			t.Errorf("admin GET %s: %d", p, res.status)
		}
	}
	for _, role := range []tickets.Role{tickets.RoleAgent, tickets.RoleSupervisor} {
		v := signIn(t, role)
		for _, p := range adminGETs {
			if res := v.get(p); res.status != 403 {
				t.Errorf("%s GET %s: %d", role, p, res.status)
			}
		}
		v.get("/desk")
		before := count(t, `SELECT count(*) FROM users`)
		for _, p := range []string{"/admin/users", "/admin/teams", "/admin/value", "/admin/tokens", "/admin/sla/calendars", "/admin/mailboxes/test"} {
			if res := v.post(p, url.Values{"name": {"x"}, "email": {email("forbidden")}, "role": {"admin"}, "password": {"a long enough password"}}); res.status != 403 {
				t.Errorf("%s POST %s: %d", role, p, res.status)
			}
		}
		if count(t, `SELECT count(*) FROM users`) != before {
			t.Errorf("a %s added a user", role)
		}
	}
	// The admin's forms need the session's token.
	before := count(t, `SELECT count(*) FROM teams`)
	if res := admin.post("/admin/teams", url.Values{"name": {"Forged"}, "_csrf": {"forged"}}); res.status != 403 {
		t.Errorf("a forged token: %d", res.status)
	}
	if count(t, `SELECT count(*) FROM teams`) != before {
		t.Error("a forged form added a team")
	}
}

func TestAdminIndexLinksEverySection(t *testing.T) {
	res := signIn(t, tickets.RoleAdmin).get("/admin")
	for _, p := range adminGETs[1:6] {
		mustContain(t, "index", res, fmt.Sprintf(`href="%s"`, p))
	}
	mustContain(t, "index", res, `href="/admin/value"`, `href="/admin/tokens"`)
}

var adminUntranslated = regexp.MustCompile(`\badmin_[a-z_]+\b`)

// Every admin page reads in English and in Spanish, with no message id left showing.
func TestAdminPagesInBothLanguages(t *testing.T) {
	a := adminFullApp(t)
	v := adminSignInOn(t, a, tickets.RoleAdmin)
	for _, lang := range []struct{ accept, word string }{{"en", "Users"}, {"es-ES,es;q=0.9", "Usuarios"}} {
		for _, p := range adminGETs {
			res := v.do(newRequest("GET", p, lang.accept))
			if res.status != 200 {
				t.Errorf("%s %s: %d", lang.accept, p, res.status)
				continue
			}
			if m := adminUntranslated.FindString(string(res.body)); m != "" {
				t.Errorf("%s %s shows the id %s", lang.accept, p, m)
			}
			if !strings.Contains(string(res.body), lang.word) {
				t.Errorf("%s %s is not in its language", lang.accept, p)
			}
		}
	}
}
