package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestAdminTeams(t *testing.T) {
	ctx := context.Background()
	admin := signIn(t, tickets.RoleAdmin)
	admin.get("/admin/teams")
	name := fmt.Sprintf("Billing %d", unique.Add(1))
	res := admin.post("/admin/teams", url.Values{"name": {name}})
	if res.status != 303 || res.header.Get("Location") != "/admin/teams?ok=team_added" {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var id int64
	db.Raw(`SELECT id FROM teams WHERE name = ?`, name).Scan(&id)
	if id == 0 {
		t.Fatal("no team")
	}
	mustContain(t, "teams", admin.get("/admin/teams?ok=team_added"), "The team was added.", name)

	// A taken name comes back next to the field.
	res = admin.post("/admin/teams", url.Values{"name": {name}})
	if res.status != 422 || !strings.Contains(errorAfter(t, string(res.body), "new-team-name"), "already exists") {
		t.Errorf("duplicate: %d", res.status)
	}

	// Rename and categories.
	renamed := name + " & Refunds"
	res = admin.post(fmt.Sprintf("/admin/teams/%d", id), url.Values{"name": {renamed}, "categories": {"billing, refunds"}})
	if res.status != 303 {
		t.Fatalf("rename: %d %s", res.status, res.body)
	}
	var got struct {
		Name       string
		Categories tickets.Strings
	}
	db.Raw(`SELECT name, categories FROM teams WHERE id = ?`, id).Scan(&got)
	if got.Name != renamed || strings.Join(got.Categories, ",") != "billing,refunds" {
		t.Errorf("saved %+v", got)
	}
	// An empty name: the error is on that team's form, with what was typed.
	res = admin.post(fmt.Sprintf("/admin/teams/%d", id), url.Values{"name": {""}, "categories": {"kept, typed"}})
	if res.status != 422 {
		t.Fatalf("empty name: %d", res.status)
	}
	errorAfter(t, string(res.body), fmt.Sprintf("team-%d-name", id))
	mustContain(t, "empty name", res, `value="kept, typed"`)

	// Members.
	res = admin.post(fmt.Sprintf("/admin/teams/%d/members", id), url.Values{"user_id": {fmt.Sprint(agentUser.ID)}})
	if res.status != 303 || count(t, `SELECT count(*) FROM team_members WHERE team_id = ? AND user_id = ?`, id, agentUser.ID) != 1 {
		t.Fatalf("add member: %d %s", res.status, res.body)
	}
	page := admin.get("/admin/teams?ok=member_added")
	mustContain(t, "members", page, "The member was added", fmt.Sprintf(`action="/admin/teams/%d/members/%d/remove"`, id, agentUser.ID))
	res = admin.post(fmt.Sprintf("/admin/teams/%d/members/%d/remove", id, agentUser.ID), url.Values{})
	if res.status != 303 || count(t, `SELECT count(*) FROM team_members WHERE team_id = ? AND user_id = ?`, id, agentUser.ID) != 0 {
		t.Fatalf("remove member: %d %s", res.status, res.body)
	}
	if res := admin.post(fmt.Sprintf("/admin/teams/%d/members", id), url.Values{"user_id": {"nobody"}}); res.status != 400 {
		t.Errorf("a forged member: %d", res.status)
	}
	_ = ctx
}
