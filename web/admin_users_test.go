package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestAdminAddUserWithPassword(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	admin.get("/admin/users")
	addr := email("newagent")
	const password = "a password nobody sees again"
	res := admin.post("/admin/users", url.Values{"name": {"Nora Nueva"}, "email": {addr}, "role": {"agent"}, "password": {password}})
	if res.status != 303 || res.header.Get("Location") != "/admin/users?ok=user_added" {
		t.Fatalf("add: %d %q %s", res.status, res.header.Get("Location"), res.body)
	}
	page := admin.get(res.header.Get("Location"))
	mustContain(t, "users", page, "The user was added.", "Nora Nueva", addr)
	if strings.Contains(string(page.body), password) {
		t.Error("the password is in the page")
	}
	u, err := tickets.NewStaff(db).CheckPassword(context.Background(), addr, password)
	if err != nil || u.Role != tickets.RoleAgent || u.Name != "Nora Nueva" {
		t.Fatalf("the new user cannot sign in: %v %+v", err, u)
	}
}

func TestAdminAddUserSendsSetPasswordLink(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	admin.get("/admin/users")
	addr := email("linked")
	res := admin.post("/admin/users", url.Values{"name": {"Lina Link"}, "email": {addr}, "role": {"supervisor"}, "send_link": {"on"}})
	if res.status != 303 || res.header.Get("Location") != "/admin/users?ok=user_added_link" {
		t.Fatalf("add: %d %q %s", res.status, res.header.Get("Location"), res.body)
	}
	mail, ok := outbox.last(addr)
	if !ok || !strings.Contains(mail.text, "Lina Link") {
		t.Fatalf("no mail to %s: %+v", addr, mail)
	}
	m := resetLink.FindStringSubmatch(mail.text)
	if m == nil {
		t.Fatalf("no link in %q", mail.text)
	}
	token, _ := url.QueryUnescape(m[1])
	v := newVisitor(t, app)
	v.get("/password/reset?token=" + url.QueryEscape(token))
	if res := v.post("/password/reset", url.Values{"token": {token}, "password": {"my very own password"}, "password2": {"my very own password"}}); res.status != 303 {
		t.Fatalf("the link does not set a password: %d %s", res.status, res.body)
	}
	if u, err := tickets.NewStaff(db).CheckPassword(context.Background(), addr, "my very own password"); err != nil || u.Role != tickets.RoleSupervisor {
		t.Errorf("after the link: %v %+v", err, u)
	}
}

func TestAdminAddUserErrorsNextToFields(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	admin.get("/admin/users")
	before := count(t, `SELECT count(*) FROM users`)
	res := admin.post("/admin/users", url.Values{"name": {"<b>Bold</b>"}, "email": {"not an address"}, "role": {"boss"}, "password": {"short"}})
	if res.status != 422 {
		t.Fatalf("status %d", res.status)
	}
	body := string(res.body)
	if msg := errorAfter(t, body, "new-email"); !strings.Contains(msg, "email") {
		t.Errorf("email error %q", msg)
	}
	errorAfter(t, body, "new-role")
	if msg := errorAfter(t, body, "new-password"); !strings.Contains(msg, "12") {
		t.Errorf("password error %q", msg)
	}
	mustContain(t, "refused form", res, `value="not an address"`, `value="&lt;b&gt;Bold&lt;/b&gt;"`, "Please correct the fields")
	if strings.Contains(body, `value="short"`) || strings.Contains(body, "<b>Bold") {
		t.Error("the password came back, or the name unescaped")
	}
	// Neither a password nor a link: the user could never sign in.
	res = admin.post("/admin/users", url.Values{"name": {"No Way In"}, "email": {email("noway")}, "role": {"agent"}})
	if res.status != 422 || !strings.Contains(errorAfter(t, string(res.body), "new-password"), "link") {
		t.Errorf("no way to sign in: %d", res.status)
	}
	// An address already taken.
	res = admin.post("/admin/users", url.Values{"name": {"Again"}, "email": {"agent@example.com"}, "role": {"agent"}, "password": {"long enough password"}})
	if res.status != 422 || !strings.Contains(errorAfter(t, string(res.body), "new-email"), "already exists") {
		t.Errorf("duplicate: %d", res.status)
	}
	if count(t, `SELECT count(*) FROM users`) != before {
		t.Error("a refused form added a user")
	}
}

func TestAdminEditUser(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: email("edit"), Name: "Eddie Edit", Role: tickets.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	team, err := staff.CreateTeam(ctx, tickets.SystemActor, fmt.Sprintf("Editors %d", unique.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	staff.SetMember(ctx, tickets.SystemActor, team.ID, u.ID, true)
	admin := signIn(t, tickets.RoleAdmin)
	list := admin.get("/admin/users")
	mustContain(t, "list", list, "Eddie Edit", team.Name, fmt.Sprintf(`href="/admin/users/%d"`, u.ID))

	path := fmt.Sprintf("/admin/users/%d", u.ID)
	form := admin.get(path)
	mustContain(t, "edit form", form, `value="Eddie Edit"`, `id="user-active" name="active" type="checkbox" checked`)
	res := admin.post(path, url.Values{"name": {"Eddie Edited"}, "role": {"supervisor"}, "categories": {"billing, shipping"},
		"languages": {"es, en"}, "max_active_tickets": {"7"}, "handles_vip": {"on"}, "active": {"on"}})
	if res.status != 303 || res.header.Get("Location") != "/admin/users?ok=user_saved" {
		t.Fatalf("save: %d %s", res.status, res.body)
	}
	got, _ := staff.User(ctx, u.ID)
	if got.Name != "Eddie Edited" || got.Role != tickets.RoleSupervisor || strings.Join(got.Categories, ",") != "billing,shipping" ||
		strings.Join(got.Languages, ",") != "es,en" || got.MaxActiveTickets != 7 || !got.HandlesVIP || got.DisabledAt != nil {
		t.Errorf("saved: %+v", got)
	}
	mustContain(t, "list after", admin.get("/admin/users?ok=user_saved"), "The user was saved.", "billing, shipping")

	// Unticking "active" deactivates.
	admin.get(path)
	if res := admin.post(path, url.Values{"name": {"Eddie Edited"}, "role": {"supervisor"}, "max_active_tickets": {"7"}}); res.status != 303 {
		t.Fatalf("deactivate: %d %s", res.status, res.body)
	}
	if got, _ := staff.User(ctx, u.ID); got.DisabledAt == nil || got.HandlesVIP {
		t.Errorf("not deactivated: %+v", got)
	}

	// Bad values come back next to their fields, as typed.
	admin.get(path)
	res = admin.post(path, url.Values{"name": {""}, "role": {"agent"}, "languages": {"klingon!!"}, "max_active_tickets": {"lots"}, "active": {"on"}})
	if res.status != 422 {
		t.Fatalf("bad values: %d", res.status)
	}
	errorAfter(t, string(res.body), "user-max")
	mustContain(t, "bad values", res, `value="lots"`, `value="klingon!!"`)
	admin.get(path)
	res = admin.post(path, url.Values{"name": {""}, "role": {"agent"}, "languages": {"klingon!!"}, "max_active_tickets": {"2"}, "active": {"on"}})
	if res.status != 422 {
		t.Fatalf("bad values: %d", res.status)
	}
	errorAfter(t, string(res.body), "user-name")
	errorAfter(t, string(res.body), "user-languages")
	if got, _ := staff.User(ctx, u.ID); got.Name != "Eddie Edited" {
		t.Error("a refused form changed the user")
	}
	if res := admin.get("/admin/users/987654321"); res.status != 404 {
		t.Errorf("unknown user: %d", res.status)
	}
}
