package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

var tokenSecret = regexp.MustCompile(`hd_[A-Za-z0-9_-]{20,}`)

// A token's secret is on the page that made it, once; never on the list, never again.
func TestAdminTokens(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	admin.get("/admin/tokens")
	name := fmt.Sprintf("ci-%d", unique.Add(1))
	res := admin.post("/admin/tokens", url.Values{"user_id": {fmt.Sprint(agentUser.ID)}, "name": {name}})
	if res.status != 201 || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %q %s", res.status, res.header.Get("Cache-Control"), res.body)
	}
	secret := tokenSecret.FindString(string(res.body))
	if secret == "" {
		t.Fatalf("no secret on the page:\n%s", res.body)
	}
	mustContain(t, "created", res, "shown this once", agentUser.Name)
	// The secret works for the API as its owner.
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	me := send(t, app, req)
	if me.status != 200 || !strings.Contains(string(me.body), agentUser.Email) {
		t.Fatalf("the token does not work: %d %s", me.status, me.body)
	}
	list := admin.get("/admin/tokens")
	mustContain(t, "list", list, name, agentUser.Email)
	for _, p := range append(adminGETs, "/admin/tokens?ok=token_revoked") {
		if strings.Contains(string(admin.get(p).body), secret) {
			t.Errorf("the secret is shown again on %s", p)
		}
	}

	var id int64
	db.Raw(`SELECT id FROM api_tokens WHERE name = ?`, name).Scan(&id)
	admin.get("/admin/tokens")
	res = admin.post(fmt.Sprintf("/admin/tokens/%d/revoke", id), url.Values{})
	if res.status != 303 || res.header.Get("Location") != "/admin/tokens?ok=token_revoked" {
		t.Fatalf("revoke: %d %s", res.status, res.body)
	}
	if _, err := tickets.NewStaff(db).Authenticate(context.Background(), secret); err == nil {
		t.Error("a revoked token still works")
	}
	mustContain(t, "revoked", admin.get("/admin/tokens?ok=token_revoked"), "The token was revoked", "Revoked ")

	// No user chosen: the error is next to the select.
	before := count(t, `SELECT count(*) FROM api_tokens`)
	res = admin.post("/admin/tokens", url.Values{"user_id": {""}, "name": {"orphan"}})
	if res.status != 422 {
		t.Fatalf("no user: %d", res.status)
	}
	errorAfter(t, string(res.body), "tok-user")
	mustContain(t, "no user", res, `value="orphan"`)
	if res := admin.post("/admin/tokens", url.Values{"user_id": {"987654321"}, "name": {"ghost"}}); res.status != 422 {
		t.Errorf("unknown user: %d", res.status)
	}
	if count(t, `SELECT count(*) FROM api_tokens`) != before {
		t.Error("a refused form made a token")
	}
}
