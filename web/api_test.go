package web_test

import (
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

type ticketOut struct {
	ID         int64  `json:"id"`
	Ref        string `json:"ref"`
	Subject    string `json:"subject"`
	Status     string `json:"status"`
	Urgency    string `json:"urgency"`
	Priority   string `json:"priority"`
	Channel    string `json:"channel"`
	CustomerID int64  `json:"customer_id"`
	AssigneeID *int64 `json:"assignee_id"`
	TeamID     *int64 `json:"team_id"`
	Category   string `json:"category"`
	Language   string `json:"language"`
	Messages   []struct {
		ID          int64  `json:"id"`
		Kind        string `json:"kind"`
		Body        string `json:"body"`
		BodyHTML    string `json:"body_html"`
		Attachments []struct {
			ID       int64  `json:"id"`
			Filename string `json:"filename"`
			URL      string `json:"url"`
		} `json:"attachments"`
	} `json:"messages"`
	Events []struct {
		Type  string `json:"type"`
		Actor struct {
			Kind   string `json:"kind"`
			UserID *int64 `json:"user_id"`
		} `json:"actor"`
	} `json:"events"`
}

func newTicketBody(customerEmail string) map[string]any {
	return map[string]any{
		"customer": map[string]any{"email": customerEmail, "name": "Lucía García"},
		"subject":  "Cannot log in",
		"body":     "The login page says my password is wrong.",
		"urgency":  "high",
	}
}

func createTicket(t *testing.T, customerEmail string) ticketOut {
	t.Helper()
	res := call(t, "POST", "/api/v1/tickets", agentToken, newTicketBody(customerEmail))
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var tk ticketOut
	res.json(t, &tk)
	return tk
}

func TestAPIAuthentication(t *testing.T) {
	res := call(t, "GET", "/api/v1/tickets", "", nil)
	if res.status != 401 || res.header.Get("WWW-Authenticate") == "" || res.errorField(t) != "Authorization" {
		t.Errorf("no token: %d %v %s", res.status, res.header, res.body)
	}
	for _, bad := range []string{"hd_nottherealtoken", "garbage", agentToken + "x"} {
		if res := call(t, "GET", "/api/v1/me", bad, nil); res.status != 401 {
			t.Errorf("token %q: %d", bad, res.status)
		}
	}
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("a:b")))
	if res := send(t, app, req); res.status != 401 {
		t.Errorf("basic auth: %d", res.status)
	}
	res = call(t, "GET", "/api/v1/me", agentToken, nil)
	var me struct{ Role, Email string }
	res.json(t, &me)
	if res.status != 200 || me.Role != "agent" {
		t.Errorf("me: %d %s", res.status, res.body)
	}
}

// Each admin-only route refuses agents and supervisors with 403, and writes nothing.
func TestAPIAdminRoutesRefuseOtherRoles(t *testing.T) {
	routes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/users", map[string]any{"email": email("x"), "name": "X", "role": "admin"}},
		{"POST", "/api/v1/teams", map[string]any{"name": "Sneaky"}},
		{"PUT", "/api/v1/teams/1/members/1", nil},
		{"DELETE", "/api/v1/teams/1/members/1", nil},
	}
	users := count(t, `SELECT count(*) FROM users`)
	for _, r := range routes {
		for _, token := range []string{agentToken, supervisorToken} {
			if res := call(t, r.method, r.path, token, r.body); res.status != 403 {
				t.Errorf("%s %s: %d, want 403", r.method, r.path, res.status)
			}
		}
	}
	if count(t, `SELECT count(*) FROM users`) != users {
		t.Error("a refused request created a user")
	}
}

func TestAPICreateAndReadTicket(t *testing.T) {
	addr := email("api")
	res := call(t, "POST", "/api/v1/tickets", agentToken, newTicketBody(addr))
	if res.status != 201 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var tk ticketOut
	res.json(t, &tk)
	if tk.ID == 0 || tk.Ref != "#"+strconv.FormatInt(tk.ID, 10) || tk.Status != "new" || tk.Priority != "high" || tk.Channel != "api" || tk.CustomerID == 0 {
		t.Errorf("ticket = %+v", tk)
	}
	if loc := res.header.Get("Location"); loc != fmt.Sprintf("/api/v1/tickets/%d", tk.ID) {
		t.Errorf("Location = %q", loc)
	}

	res = call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, nil)
	var got ticketOut
	res.json(t, &got)
	if res.status != 200 || len(got.Messages) != 1 || got.Messages[0].Kind != "inbound" || got.Messages[0].Body != "The login page says my password is wrong." {
		t.Fatalf("get: %d %s", res.status, res.body)
	}
	if len(got.Events) != 1 || got.Events[0].Type != "ticket.created" || got.Events[0].Actor.Kind != "user" || *got.Events[0].Actor.UserID != agentUser.ID {
		t.Errorf("events = %+v, want ticket.created by the agent", got.Events)
	}

	res = call(t, "GET", fmt.Sprintf("/api/v1/customers/%d", tk.CustomerID), agentToken, nil)
	var cust struct {
		Name       string
		Identities []struct{ Kind, Value string }
		Tickets    []ticketOut
	}
	res.json(t, &cust)
	if res.status != 200 || cust.Name != "Lucía García" || len(cust.Identities) != 1 || cust.Identities[0].Value != addr || len(cust.Tickets) != 1 || cust.Tickets[0].ID != tk.ID {
		t.Errorf("customer: %d %s", res.status, res.body)
	}
	res = call(t, "GET", "/api/v1/customers?email="+strings.ToUpper(addr), agentToken, nil)
	if res.status != 200 || !strings.Contains(string(res.body), addr) {
		t.Errorf("find by email: %d %s", res.status, res.body)
	}

	for _, path := range []string{"/api/v1/tickets/99999999", "/api/v1/tickets/abc", "/api/v1/tickets/-1", "/api/v1/customers/99999999", "/api/v1/customers?email=" + email("nobody"), "/api/v1/attachments/99999999"} {
		if res := call(t, "GET", path, agentToken, nil); res.status != 404 {
			t.Errorf("%s: %d", path, res.status)
		}
	}
	if res := call(t, "GET", "/api/v1/customers?email=not-an-email", agentToken, nil); res.status != 422 || res.errorField(t) != "email" {
		t.Errorf("bad email lookup: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/customers", agentToken, nil); res.status != 400 || res.errorField(t) != "email" {
		t.Errorf("lookup without email: %d %s", res.status, res.body)
	}
}

// Every kind of bad body gets a 4xx naming the field, and nothing is written.
func TestAPICreateTicketRejectsBadInput(t *testing.T) {
	before := count(t, `SELECT count(*) FROM tickets`)
	customers := count(t, `SELECT count(*) FROM customers`)
	good := `{"customer":{"email":"ok@example.com"},"subject":"s","body":"b"}`
	cases := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"empty", "", 400, "body"},
		{"malformed", `{"customer":`, 400, "body"},
		{"not an object", `[1,2]`, 400, "body"},
		{"syntax error", `{"subject": "s",}`, 400, "body"},
		{"trailing data", good + `{}`, 400, "body"},
		{"unknown field", `{"customer":{"email":"a@example.com"},"subject":"s","body":"b","priority":"urgent"}`, 400, "priority"},
		{"unknown nested field", `{"customer":{"email":"a@example.com","vip":true},"subject":"s","body":"b"}`, 400, "vip"},
		{"subject not a string", `{"customer":{"email":"a@example.com"},"subject":42,"body":"b"}`, 400, "subject"},
		{"customer not an object", `{"customer":"a@example.com","subject":"s","body":"b"}`, 400, "customer"},
		{"email not a string", `{"customer":{"email":["a@example.com"]},"subject":"s","body":"b"}`, 400, "customer.email"},
		{"team id a string", `{"customer":{"email":"a@example.com"},"subject":"s","body":"b","team_id":"billing"}`, 400, "team_id"},
		{"missing customer", `{"subject":"s","body":"b"}`, 422, "customer.email"},
		{"bad email", `{"customer":{"email":"nope"},"subject":"s","body":"b"}`, 422, "customer.email"},
		{"missing subject", `{"customer":{"email":"a@example.com"},"body":"b"}`, 422, "subject"},
		{"missing body", `{"customer":{"email":"a@example.com"},"subject":"s"}`, 422, "body"},
		{"bad urgency", `{"customer":{"email":"a@example.com"},"subject":"s","body":"b","urgency":"asap"}`, 422, "urgency"},
		{"bad channel", `{"customer":{"email":"a@example.com"},"subject":"s","body":"b","channel":"email"}`, 422, "channel"},
		{"unknown team", `{"customer":{"email":"a@example.com"},"subject":"s","body":"b","team_id":123456789}`, 422, "team_id"},
		{"bad base64", `{"customer":{"email":"a@example.com"},"subject":"s","body":"b","attachments":[{"filename":"a.txt","data":"***"}]}`, 422, "attachments[0].data"},
		{"attachment without name", `{"customer":{"email":"a@example.com"},"subject":"s","body":"b","attachments":[{"data":"aGk="}]}`, 422, "attachments[0].filename"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any = tc.body
			if tc.body == "" {
				body = []byte{}
			}
			res := call(t, "POST", "/api/v1/tickets", agentToken, body)
			if res.status != tc.status {
				t.Errorf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if f := res.errorField(t); f != tc.field {
				t.Errorf("field %q, want %q: %s", f, tc.field, res.body)
			}
		})
	}

	// Wrong content type and an oversized body.
	req := httptest.NewRequest("POST", "/api/v1/tickets", strings.NewReader(good))
	req.Header.Set("Authorization", "Bearer "+agentToken)
	req.Header.Set("Content-Type", "text/plain")
	if res := send(t, app, req); res.status != 415 {
		t.Errorf("text/plain: %d %s", res.status, res.body)
	}
	huge := `{"customer":{"email":"a@example.com"},"subject":"s","body":"` + strings.Repeat("x", 9<<20) + `"}`
	if res := call(t, "POST", "/api/v1/tickets", agentToken, huge); res.status != 413 || res.errorField(t) != "body" {
		t.Errorf("9 MB body: %d %.200s", res.status, res.body)
	}

	if n := count(t, `SELECT count(*) FROM tickets`); n != before {
		t.Errorf("bad requests wrote %d tickets", n-before)
	}
	if n := count(t, `SELECT count(*) FROM customers`); n != customers {
		t.Errorf("bad requests wrote %d customers", n-customers)
	}
}

func TestAPIRepliesNotesAndAttachments(t *testing.T) {
	tk := createTicket(t, email("reply"))
	path := fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID)
	file := []byte("%PDF-1.4 fake invoice")
	res := call(t, "POST", path, agentToken, map[string]any{
		"kind": "reply", "body": "Here is your invoice.", "status": "pending",
		"attachments": []map[string]any{{"filename": "factura año.pdf", "content_type": "application/pdf", "data": base64.StdEncoding.EncodeToString(file)}},
	})
	if res.status != 201 {
		t.Fatalf("reply: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", path, agentToken, map[string]any{"kind": "note", "body": "Customer is on the old plan.", "body_html": "<p>Customer is on the <b>old</b> plan.<script>x()</script></p>"}); res.status != 201 {
		t.Fatalf("note: %d %s", res.status, res.body)
	}
	var got ticketOut
	call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, nil).json(t, &got)
	if got.Status != "pending" || len(got.Messages) != 3 || got.Messages[1].Kind != "reply" || got.Messages[2].Kind != "note" {
		t.Fatalf("ticket after reply+note: %+v", got)
	}
	if strings.Contains(got.Messages[2].BodyHTML, "script") || !strings.Contains(got.Messages[2].BodyHTML, "<b>old</b>") {
		t.Errorf("note html = %q", got.Messages[2].BodyHTML)
	}
	att := got.Messages[1].Attachments
	if len(att) != 1 || att[0].Filename != "factura año.pdf" {
		t.Fatalf("attachments = %+v", att)
	}
	res = call(t, "GET", att[0].URL, agentToken, nil)
	if res.status != 200 || string(res.body) != string(file) {
		t.Errorf("download: %d %q", res.status, res.body)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "factura") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if res := call(t, "GET", att[0].URL, "", nil); res.status != 401 {
		t.Errorf("download without token: %d", res.status)
	}

	for _, tc := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"body": "x"}, 422, "kind"},
		{map[string]any{"kind": "inbound", "body": "x"}, 422, "kind"},
		{map[string]any{"kind": "reply"}, 422, "body"},
		{map[string]any{"kind": "reply", "body": "x", "status": "archived"}, 422, "status"},
		{map[string]any{"kind": "reply", "body": "x", "status": "new"}, 422, "status"},
		{map[string]any{"kind": "reply", "body": "x", "cc": "boss@example.com"}, 400, "cc"},
	} {
		res := call(t, "POST", path, agentToken, tc.body)
		if res.status != tc.status || res.errorField(t) != tc.field {
			t.Errorf("%v: %d %s, want %d on %s", tc.body, res.status, res.body, tc.status, tc.field)
		}
	}
	if res := call(t, "POST", "/api/v1/tickets/99999999/messages", agentToken, map[string]any{"kind": "note", "body": "x"}); res.status != 404 {
		t.Errorf("unknown ticket: %d", res.status)
	}
	if n := count(t, `SELECT count(*) FROM messages WHERE ticket_id = ?`, tk.ID); n != 3 {
		t.Errorf("messages = %d after refused ones, want 3", n)
	}
}

func TestAPIUpdateTicket(t *testing.T) {
	tk := createTicket(t, email("patch"))
	path := fmt.Sprintf("/api/v1/tickets/%d", tk.ID)
	var team struct{ ID int64 }
	res := call(t, "POST", "/api/v1/teams", adminToken, map[string]any{"name": "Billing " + email("t")})
	res.json(t, &team)
	if res := call(t, "PUT", fmt.Sprintf("/api/v1/teams/%d/members/%d", team.ID, agentUser.ID), adminToken, nil); res.status != 204 {
		t.Fatalf("add member: %d %s", res.status, res.body)
	}

	res = call(t, "PATCH", path, agentToken, map[string]any{"status": "open", "priority": "urgent", "team_id": team.ID, "assignee_id": agentUser.ID})
	var got ticketOut
	res.json(t, &got)
	if res.status != 200 || got.Status != "open" || got.Priority != "urgent" || got.Urgency != "high" || *got.TeamID != team.ID || *got.AssigneeID != agentUser.ID {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	res = call(t, "PATCH", path, agentToken, map[string]any{"assignee_id": nil})
	res.json(t, &got)
	if res.status != 200 || got.AssigneeID != nil || got.TeamID == nil {
		t.Errorf("unassign: %d %s", res.status, res.body)
	}

	for _, tc := range []struct {
		body   string
		status int
		field  string
	}{
		{`{}`, 422, "body"},
		{`{"status":"new"}`, 422, "status"},
		{`{"status":"done"}`, 422, "status"},
		{`{"priority":""}`, 422, "priority"},
		{`{"priority":"critical"}`, 422, "priority"},
		{`{"assignee_id":"me"}`, 400, "assignee_id"},
		{`{"assignee_id":0}`, 400, "assignee_id"},
		{`{"team_id":987654321}`, 422, "team_id"},
		{`{"subject":""}`, 422, "subject"},
		{`{"status":"open","owner":1}`, 400, "owner"},
		{`{"status":3}`, 400, "status"},
	} {
		res := call(t, "PATCH", path, agentToken, tc.body)
		if res.status != tc.status || res.errorField(t) != tc.field {
			t.Errorf("%s: %d %s, want %d on %s", tc.body, res.status, res.body, tc.status, tc.field)
		}
	}
	// Solve, then close: the lifecycle through the API.
	for _, s := range []string{"solved", "closed"} {
		if res := call(t, "PATCH", path, agentToken, map[string]any{"status": s}); res.status != 200 {
			t.Fatalf("-> %s: %d %s", s, res.status, res.body)
		}
	}
	if res := call(t, "POST", path+"/messages", agentToken, map[string]any{"kind": "reply", "body": "late"}); res.status != 409 || res.errorField(t) != "ticket" {
		t.Errorf("reply to closed: %d %s", res.status, res.body)
	}
	if res := call(t, "PATCH", "/api/v1/tickets/99999999", agentToken, map[string]any{"status": "open"}); res.status != 404 {
		t.Errorf("unknown ticket: %d", res.status)
	}
	var detail ticketOut
	call(t, "GET", path, agentToken, nil).json(t, &detail)
	var types []string
	for _, e := range detail.Events {
		types = append(types, e.Type)
	}
	for _, want := range []string{"ticket.team_changed", "ticket.assignee_changed", "ticket.priority_changed", "ticket.status_changed"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s in %v", want, types)
		}
	}
}

func TestAPIListTickets(t *testing.T) {
	addr := email("lister")
	var newest ticketOut
	for range 6 {
		newest = createTicket(t, addr)
	}
	customerID := newest.CustomerID

	// Walk the customer's new tickets two at a time.
	var seen []int64
	next := ""
	for page := 0; page < 10; page++ {
		path := fmt.Sprintf("/api/v1/tickets?customer=%d&status=new,open&limit=2", customerID)
		if next != "" {
			path += "&cursor=" + next
		}
		res := call(t, "GET", path, agentToken, nil)
		var p struct {
			Items []ticketOut
			Next  string
		}
		res.json(t, &p)
		if res.status != 200 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		for _, tk := range p.Items {
			seen = append(seen, tk.ID)
		}
		if next = p.Next; next == "" {
			break
		}
	}
	if len(seen) != 6 || !slices.IsSortedFunc(seen, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("walked %v, want 6 tickets newest first", seen)
	}
	if seen[0] != newest.ID {
		t.Errorf("walk %v does not start at the newest, %d", seen, newest.ID)
	}

	for _, tc := range []struct {
		query string
		field string
	}{
		{"status=done", "status"},
		{"assignee=nobody", "assignee"},
		{"team=-3", "team"},
		{"customer=x", "customer"},
		{"priority=1", "priority"},
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"stauts=open", "stauts"},
	} {
		res := call(t, "GET", "/api/v1/tickets?"+tc.query, agentToken, nil)
		if res.status != 400 || res.errorField(t) != tc.field {
			t.Errorf("%s: %d %s", tc.query, res.status, res.body)
		}
	}
	if res := call(t, "GET", "/api/v1/tickets?cursor=bm9wZQ", agentToken, nil); res.status != 422 || res.errorField(t) != "cursor" {
		t.Errorf("bad cursor: %d %s", res.status, res.body)
	}
	res := call(t, "GET", "/api/v1/tickets?assignee=none&team=none&priority=high&limit=1", agentToken, nil)
	if res.status != 200 {
		t.Errorf("combined filters: %d %s", res.status, res.body)
	}
}

func TestAPIUsersTeamsAndTokens(t *testing.T) {
	addr := email("newagent")
	res := call(t, "POST", "/api/v1/users", adminToken, map[string]any{"email": addr, "name": "Nuria", "role": "agent", "password": "a long enough password"})
	var u struct {
		ID    int64
		Email string
	}
	res.json(t, &u)
	if res.status != 201 || u.Email != addr {
		t.Fatalf("create user: %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), "password") {
		t.Errorf("user JSON mentions the password: %s", res.body)
	}
	if res := call(t, "POST", "/api/v1/users", adminToken, map[string]any{"email": addr, "name": "Nuria", "role": "agent"}); res.status != 409 || res.errorField(t) != "email" {
		t.Errorf("duplicate: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", "/api/v1/users", adminToken, map[string]any{"email": email("p"), "name": "P", "role": "agent", "password": "short"}); res.status != 422 || res.errorField(t) != "password" {
		t.Errorf("short password: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/users", agentToken, nil); res.status != 200 || !strings.Contains(string(res.body), addr) {
		t.Errorf("list users: %d", res.status)
	}

	// Tokens: an agent makes one, it works, they revoke it, it stops working.
	res = call(t, "POST", "/api/v1/tokens", agentToken, map[string]any{"name": "laptop"})
	var tok struct {
		ID    int64
		Token string
	}
	res.json(t, &tok)
	if res.status != 201 || !strings.HasPrefix(tok.Token, "hd_") || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create token: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/me", tok.Token, nil); res.status != 200 {
		t.Errorf("new token: %d", res.status)
	}
	// Another agent cannot revoke it, and learns nothing about it.
	otherAgent := call(t, "POST", "/api/v1/users", adminToken, map[string]any{"email": email("other"), "name": "O", "role": "agent"})
	var other struct{ ID int64 }
	otherAgent.json(t, &other)
	otherToken := newTokenFor(t, other.ID)
	if res := call(t, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), otherToken, nil); res.status != 404 {
		t.Errorf("other agent revoking: %d", res.status)
	}
	if res := call(t, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), tok.Token, nil); res.status != 204 {
		t.Errorf("revoke own: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/me", tok.Token, nil); res.status != 401 {
		t.Errorf("revoked token: %d", res.status)
	}

	// Teams.
	name := "Shipping " + email("s")
	res = call(t, "POST", "/api/v1/teams", adminToken, map[string]any{"name": name})
	var team struct {
		ID        int64
		MemberIDs []int64 `json:"member_ids"`
	}
	res.json(t, &team)
	if res.status != 201 || len(team.MemberIDs) != 0 {
		t.Fatalf("create team: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", "/api/v1/teams", adminToken, map[string]any{"name": strings.ToUpper(name)}); res.status != 409 {
		t.Errorf("duplicate team: %d", res.status)
	}
	if res := call(t, "POST", "/api/v1/teams", adminToken, map[string]any{"name": ""}); res.status != 422 || res.errorField(t) != "name" {
		t.Errorf("empty name: %d %s", res.status, res.body)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"PUT", fmt.Sprintf("/api/v1/teams/%d/members/%d", team.ID, u.ID), 204},
		{"PUT", fmt.Sprintf("/api/v1/teams/%d/members/%d", team.ID, u.ID), 204},
		{"PUT", fmt.Sprintf("/api/v1/teams/%d/members/99999999", team.ID), 422},
		{"PUT", fmt.Sprintf("/api/v1/teams/99999999/members/%d", u.ID), 404},
		{"DELETE", fmt.Sprintf("/api/v1/teams/%d/members/%d", team.ID, u.ID), 204},
	} {
		if res := call(t, tc.method, tc.path, adminToken, nil); res.status != tc.status {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, res.status, res.body)
		}
	}
	if res := call(t, "GET", "/api/v1/teams", agentToken, nil); res.status != 200 || !strings.Contains(string(res.body), name) {
		t.Errorf("list teams: %d", res.status)
	}
}

func newTokenFor(t *testing.T, userID int64) string {
	t.Helper()
	secret, _, err := tickets.NewStaff(db).CreateToken(t.Context(), tickets.SystemActor, userID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// Every endpoint that takes a JSON body refuses the same kinds of bad body the same way: a 4xx
// naming the field, and nothing written.
func TestAPIEveryBodyEndpointRefusesBadBodies(t *testing.T) {
	tk := createTicket(t, email("bodies"))
	endpoints := []struct {
		method, path, token string
		wrongType           string // a body with a field of the wrong type
		typeField           string
		valid               string // a good body, for the unknown-id check
	}{
		{"POST", "/api/v1/tickets", agentToken, `{"subject":["s"]}`, "subject", ""},
		{"PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, `{"status":true}`, "status", `{"status":"open"}`},
		{"POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), agentToken, `{"kind":"note","body":{"text":"x"}}`, "body", `{"kind":"note","body":"x"}`},
		{"POST", "/api/v1/users", adminToken, `{"email":"a@example.com","name":"A","role":1}`, "role", ""},
		{"POST", "/api/v1/teams", adminToken, `{"name":7}`, "name", ""},
		{"POST", "/api/v1/tokens", agentToken, `{"name":false}`, "name", ""},
	}
	counts := func() string {
		var tables []int64
		for _, table := range []string{"tickets", "messages", "users", "teams", "api_tokens", "events"} {
			tables = append(tables, count(t, "SELECT count(*) FROM "+table))
		}
		return fmt.Sprint(tables)
	}
	before := counts()
	for _, e := range endpoints {
		for _, bad := range []struct {
			name, body string
			status     int
			field      string
		}{
			{"malformed", `{"name":`, 400, "body"},
			{"not JSON", `name=x`, 400, "body"},
			{"empty", ``, 400, "body"},
			{"array", `[]`, 400, "body"},
			{"unknown field", `{"favourite_colour":"blue"}`, 400, "favourite_colour"},
			{"wrong type", e.wrongType, 400, e.typeField},
			{"oversized", `{"name":"` + strings.Repeat("a", 9<<20) + `"}`, 413, "body"},
		} {
			var body any = bad.body
			if bad.body == "" {
				body = []byte{}
			}
			res := call(t, e.method, e.path, e.token, body)
			if res.status != bad.status || res.errorField(t) != bad.field {
				t.Errorf("%s %s, %s: %d %.200s; want %d naming %q", e.method, e.path, bad.name, res.status, res.body, bad.status, bad.field)
			}
		}
		// And an id that names nothing, where the path has one.
		if e.valid != "" {
			res := call(t, e.method, strings.Replace(e.path, fmt.Sprint(tk.ID), "987654321", 1), e.token, e.valid)
			if res.status != 404 {
				t.Errorf("%s %s on an unknown id: %d", e.method, e.path, res.status)
			}
		}
	}
	if after := counts(); after != before {
		t.Errorf("bad bodies wrote rows: %s -> %s", before, after)
	}
}
