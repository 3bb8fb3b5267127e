package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

// caller is one kind of visitor the authorization test tries on every route.
type caller struct {
	name   string
	role   tickets.Role // "" for nobody or a customer
	token  bool         // an API token rather than a session
	portal bool         // a customer signed in to the portal by a link from our mail
}

var callers = []caller{
	{name: "nobody"},
	{name: "agent session", role: tickets.RoleAgent},
	{name: "supervisor session", role: tickets.RoleSupervisor},
	{name: "admin session", role: tickets.RoleAdmin},
	{name: "agent token", role: tickets.RoleAgent, token: true},
	{name: "supervisor token", role: tickets.RoleSupervisor, token: true},
	{name: "admin token", role: tickets.RoleAdmin, token: true},
	{name: "customer portal session", portal: true},
}

var routeParam = regexp.MustCompile(`:[a-z_]+`)

// Every route of the table, with every kind of caller: the server, not the page, decides who
// gets in. A session never opens the API and a token never opens a page, so a stolen cookie
// cannot script the API and a leaked token cannot browse as its owner; a customer's portal
// session opens the portal and nothing of the staff's.
func TestEveryRouteChecksWhoCalls(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	userOf := map[tickets.Role]int64{}
	for _, role := range []tickets.Role{tickets.RoleAgent, tickets.RoleSupervisor, tickets.RoleAdmin} {
		var id int64
		db.Raw(`SELECT id FROM users WHERE email = ?`, string(role)+"@example.com").Scan(&id)
		userOf[role] = id
	}
	tokenOf := map[tickets.Role]string{tickets.RoleAgent: agentToken, tickets.RoleSupervisor: supervisorToken, tickets.RoleAdmin: adminToken}

	customerTicket, err := testDesk().Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelWeb,
		Customer: tickets.CustomerContact{Email: email("authz"), Name: "Authz Customer"}, Subject: "Who may see this", Body: "Only me."})
	if err != nil {
		t.Fatal(err)
	}
	portalSession := func() string {
		var link string
		err := db.Transaction(func(tx *gorm.DB) (err error) {
			link, err = tickets.IssuePortalLink(tx, customerTicket.ID, time.Hour)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		session, err := testDesk().OpenPortalLink(ctx, link)
		if err != nil {
			t.Fatal(err)
		}
		return session.Secret
	}

	rules := web.RouteRules()
	if len(rules) < 50 {
		t.Fatalf("only %d routes in the table", len(rules))
	}
	for _, r := range rules {
		// A path that names nothing real: the guard must answer before the handler looks.
		path := routeParam.ReplaceAllString(r.Path, "987654321")
		path = strings.Replace(path, "*", "app.css", 1)
		for _, who := range callers {
			v := newVisitor(t, app)
			switch {
			case who.portal:
				// A session of its own, as for staff: the portal's sign-out ends it.
				v.cookies["helpdesk_portal"] = portalSession()
			case who.role != "" && !who.token:
				// A session of its own for every request: some routes (sign-out) end it.
				secret, err := staff.StartSession(ctx, userOf[who.role])
				if err != nil {
					t.Fatal(err)
				}
				v.cookies["helpdesk_session"] = secret
			}
			// The form token of the kind the route checks, from a page that has one.
			switch {
			case r.Needs == "portal":
				if page := v.get("/portal/tickets"); page.status == 200 {
					all := csrfInput.FindAllSubmatch(page.body, -1)
					v.csrf = string(all[len(all)-1][1]) // the portal's own forms come after the layout's
				}
			case strings.HasPrefix(r.Needs, "session:"):
				v.get("/desk/queue")
			default:
				v.get("/support")
			}
			// Changes carry the form token: the test is about who calls, not about forgery.
			var body *strings.Reader
			if r.Method != "GET" {
				body = strings.NewReader("_csrf=" + url.QueryEscape(v.csrf))
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(r.Method, path, body)
			if r.Method != "GET" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if who.role != "" && who.token {
				req.Header.Set("Authorization", "Bearer "+tokenOf[who.role])
			}
			res := v.do(req)
			allowed, ok := expectAccess(r.Needs, who)
			what := fmt.Sprintf("%s %s as %s", r.Method, r.Path, who.name)
			switch {
			case !ok:
				t.Fatalf("%s: unknown rule %q", what, r.Needs)
			case allowed && r.Method == "POST" && r.Path == "/login" && res.status == 401:
				// The sign-in form's answer to an empty password, not a guard.
			case res.status >= 500:
				t.Errorf("%s: answered %d for an id that names nothing and an empty form", what, res.status)
			case allowed && (res.status == 401 || res.status == 403):
				t.Errorf("%s: refused with %d, but the route is for %s", what, res.status, r.Needs)
			case !allowed && res.status != 401 && res.status != 403 && !(res.status == 303 && strings.HasPrefix(res.header.Get("Location"), signInPage(r.Needs))):
				t.Errorf("%s: answered %d, but the route is for %s", what, res.status, r.Needs)
			case !allowed && (strings.HasPrefix(r.Needs, "session:") && who.role == "" || r.Needs == "portal" && !who.portal && who.role == "") &&
				r.Method == "GET" && res.status != 303:
				t.Errorf("%s: a signed-out visitor should be sent to sign in, got %d", what, res.status)
			}
		}
	}
}

// signInPage is where a visitor without the right session is sent.
func signInPage(needs string) string {
	if needs == "portal" {
		return "/portal"
	}
	return "/login"
}

// expectAccess says whether who may pass a route's guard.
func expectAccess(needs string, who caller) (allowed, known bool) {
	switch {
	case needs == "anyone":
		return true, true
	case needs == "portal":
		return who.portal, true
	case who.portal:
		return false, true
	}
	kind, role, ok := strings.Cut(needs, ":")
	if !ok {
		return false, false
	}
	if who.role == "" || who.token != (kind == "token") {
		return false, true
	}
	return who.role.Includes(tickets.Role(role)), true
}
