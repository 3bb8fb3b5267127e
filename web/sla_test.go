package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// slaClock is the SLA service's clock in these tests: real time unless a test moves it.
var slaClock = &movableClock{}

type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *movableClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type clockOut struct {
	Kind      string     `json:"kind"`
	State     string     `json:"state"`
	Paused    bool       `json:"paused"`
	DueAt     *time.Time `json:"due_at"`
	Remaining *int64     `json:"remaining_seconds"`
	Target    int        `json:"target_minutes"`
	Business  bool       `json:"business"`
	StoppedAt *time.Time `json:"stopped_at"`
	Policy    string     `json:"policy"`
}

func ticketClocks(t *testing.T, id int64) map[string]clockOut {
	t.Helper()
	res := call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", id), agentToken, nil)
	var out struct {
		SLA []clockOut `json:"sla"`
	}
	res.json(t, &out)
	if res.status != 200 {
		t.Fatalf("get ticket: %d %s", res.status, res.body)
	}
	m := map[string]clockOut{}
	for _, c := range out.SLA {
		m[c.Kind] = c
	}
	return m
}

// Every ticket shows its clocks; a reply meets the first response. Here, as when an agent takes
// a call: the agent files the ticket and answers it at once.
func TestAPITicketShowsItsClocks(t *testing.T) {
	tk := createTicket(t, email("sla")) // urgency high: the "High" policy, 4 business hours
	c := ticketClocks(t, tk.ID)
	fr, res := c["first_response"], c["resolution"]
	if len(c) != 2 || fr.State != "running" || fr.DueAt == nil || fr.Remaining == nil || fr.Target != 240 || !fr.Business || fr.Policy != "High" {
		t.Fatalf("clocks of a new ticket: %+v", c)
	}
	if *fr.Remaining <= 0 || *fr.Remaining > 240*60 || res.Target != 1440 {
		t.Errorf("remaining %d s of 240 min; resolution target %d", *fr.Remaining, res.Target)
	}
	if r := call(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), agentToken, map[string]any{"kind": "reply", "body": "Done, as we said on the phone."}); r.status != 201 {
		t.Fatalf("reply: %d %s", r.status, r.body)
	}
	c = ticketClocks(t, tk.ID)
	if fr := c["first_response"]; fr.State != "met" || fr.StoppedAt == nil || fr.Remaining != nil || fr.DueAt != nil {
		t.Errorf("first response after the reply: %+v", fr)
	}
	if _, ok := c["next_response"]; ok {
		t.Error("a next response runs though the customer has not written")
	}
	// Pending pauses the resolution clock.
	if r := call(t, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, map[string]any{"status": "pending"}); r.status != 200 {
		t.Fatalf("pending: %d %s", r.status, r.body)
	}
	if res := ticketClocks(t, tk.ID)["resolution"]; res.State != "paused" || !res.Paused || res.DueAt != nil || res.Remaining == nil {
		t.Errorf("resolution while pending: %+v", res)
	}
}

func TestAPISLASettings(t *testing.T) {
	name := "Madrid " + email("cal")
	calendar := map[string]any{
		"name": name, "timezone": "Europe/Madrid",
		"hours": map[string]any{
			"mon": []any{map[string]any{"from": "09:00", "to": "14:00"}, map[string]any{"from": "15:00", "to": "18:00"}},
			"fri": []any{map[string]any{"from": "22:00", "to": "06:00", "overnight": true}},
		},
		"holidays": []any{map[string]any{"date": "2025-12-25", "name": "Navidad"}},
	}
	for _, token := range []string{agentToken, supervisorToken} {
		if r := call(t, "POST", "/api/v1/sla/calendars", token, calendar); r.status != 403 {
			t.Errorf("calendar by a non-admin: %d", r.status)
		}
	}
	if r := call(t, "GET", "/api/v1/sla/calendars", agentToken, nil); r.status != 403 {
		t.Errorf("an agent reads calendars: %d", r.status)
	}
	res := call(t, "POST", "/api/v1/sla/calendars", adminToken, calendar)
	var cal struct {
		ID                    int64 `json:"id"`
		WeeklyBusinessMinutes int64 `json:"weekly_business_minutes"`
		Hours                 map[string][]map[string]any
	}
	res.json(t, &cal)
	if res.status != 201 || cal.WeeklyBusinessMinutes != 8*60+8*60 || len(cal.Hours["sat"]) != 0 {
		t.Fatalf("create calendar: %d %s", res.status, res.body)
	}
	calPath := fmt.Sprintf("/api/v1/sla/calendars/%d", cal.ID)
	if r := call(t, "GET", calPath, supervisorToken, nil); r.status != 200 || !strings.Contains(string(r.body), "Navidad") {
		t.Errorf("supervisor reads the calendar: %d %s", r.status, r.body)
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"unknown zone", map[string]any{"name": "x", "timezone": "Europe/Nowhere", "hours": map[string]any{"mon": []any{map[string]any{"from": "09:00", "to": "17:00"}}}}, 422, "timezone"},
		{"inverted", map[string]any{"name": "x", "timezone": "UTC", "hours": map[string]any{"mon": []any{map[string]any{"from": "17:00", "to": "09:00"}}}}, 422, "hours.mon[0].to"},
		{"overlap", map[string]any{"name": "x", "timezone": "UTC", "hours": map[string]any{"tue": []any{map[string]any{"from": "09:00", "to": "13:00"}, map[string]any{"from": "12:30", "to": "17:00"}}}}, 422, "hours.tue[1]"},
		{"bad day", map[string]any{"name": "x", "timezone": "UTC", "hours": map[string]any{"funday": []any{}}}, 400, "funday"},
		{"unknown field", map[string]any{"name": "x", "timezone": "UTC", "hours": map[string]any{}, "owner": 1}, 400, "owner"},
		{"hours not a list", `{"name":"x","timezone":"UTC","hours":{"mon":"9-5"}}`, 400, "hours.mon"},
		{"duplicate name", map[string]any{"name": strings.ToUpper(name), "timezone": "UTC", "hours": map[string]any{"mon": []any{map[string]any{"from": "09:00", "to": "17:00"}}}}, 409, "name"},
	} {
		r := call(t, "POST", "/api/v1/sla/calendars", adminToken, tc.body)
		if r.status != tc.status || r.errorField(t) != tc.field {
			t.Errorf("%s: %d %s, want %d on %s", tc.name, r.status, r.body, tc.status, tc.field)
		}
	}

	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;VALUE=DATE:20250501\r\nSUMMARY:Fiesta del Trabajo\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	res = call(t, "POST", calPath+"/holidays/import", adminToken, map[string]any{"ics": ics})
	var imported struct{ Added int }
	res.json(t, &imported)
	if res.status != 200 || imported.Added != 1 || !strings.Contains(string(res.body), "Fiesta del Trabajo") {
		t.Errorf("import: %d %s", res.status, res.body)
	}
	if r := call(t, "POST", calPath+"/holidays/import", adminToken, map[string]any{"ics": "garbage"}); r.status != 422 || r.errorField(t) != "ics" {
		t.Errorf("bad ics: %d %s", r.status, r.body)
	}

	policy := map[string]any{
		"name": "Night VIP " + email("p"), "position": 5, "priorities": []string{"urgent"}, "tiers": []string{"vip"}, "calendar_id": cal.ID,
		"targets": map[string]any{
			"first_response": map[string]any{"minutes": 30},
			"resolution":     map[string]any{"minutes": 240, "business": false, "pause_on": []string{"on-hold"}},
		},
		"on_breach": map[string]any{"notify": true, "raise_priority": true},
	}
	res = call(t, "POST", "/api/v1/sla/policies", adminToken, policy)
	var p struct {
		ID      int64 `json:"id"`
		Targets map[string]struct {
			Minutes  int      `json:"minutes"`
			Business bool     `json:"business"`
			PauseOn  []string `json:"pause_on"`
		}
		WarnPercent int `json:"warn_percent"`
	}
	res.json(t, &p)
	if res.status != 201 || p.WarnPercent != 75 || !p.Targets["first_response"].Business || len(p.Targets["first_response"].PauseOn) != 0 ||
		p.Targets["resolution"].Business || strings.Join(p.Targets["resolution"].PauseOn, ",") != "on-hold" {
		t.Fatalf("create policy: %d %s", res.status, res.body)
	}
	polPath := fmt.Sprintf("/api/v1/sla/policies/%d", p.ID)
	if r := call(t, "DELETE", calPath, adminToken, nil); r.status != 409 {
		t.Errorf("deleting a calendar in use: %d %s", r.status, r.body)
	}

	var catchAll int64
	var list struct {
		Items []struct {
			ID         int64    `json:"id"`
			Name       string   `json:"name"`
			Priorities []string `json:"priorities"`
			Tiers      []string `json:"tiers"`
		}
	}
	call(t, "GET", "/api/v1/sla/policies", supervisorToken, nil).json(t, &list)
	for _, it := range list.Items {
		if len(it.Priorities) == 0 && len(it.Tiers) == 0 {
			catchAll = it.ID
		}
	}
	bad := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range policy {
			m[k] = v
		}
		edit(m)
		return m
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		field  string
	}{
		{"negative target", "PUT", polPath, bad(func(m map[string]any) {
			m["targets"] = map[string]any{"first_response": map[string]any{"minutes": -10}}
		}), 422, "targets.first_response.minutes"},
		{"unknown priority", "PUT", polPath, bad(func(m map[string]any) { m["priorities"] = []string{"asap"} }), 422, "priorities[0]"},
		{"unknown clock", "PUT", polPath, bad(func(m map[string]any) { m["targets"] = map[string]any{"resolve": map[string]any{"minutes": 5}} }), 400, "resolve"},
		{"no clock", "PUT", polPath, bad(func(m map[string]any) { m["targets"] = map[string]any{} }), 422, "targets"},
		{"unknown calendar", "PUT", polPath, bad(func(m map[string]any) { m["calendar_id"] = 987654 }), 422, "calendar_id"},
		{"minutes as text", "PUT", polPath, `{"name":"x","calendar_id":1,"targets":{"first_response":{"minutes":"30"}}}`, 400, "targets.first_response.minutes"},
		// Narrowing the catch-all leaves some priority and tier unmatched.
		{"a priority uncovered", "PUT", fmt.Sprintf("/api/v1/sla/policies/%d", catchAll), map[string]any{
			"name": "Normal and low", "position": 40, "priorities": []string{"normal"}, "calendar_id": 1,
			"targets": map[string]any{"first_response": map[string]any{"minutes": 480}}}, 422, "priorities"},
		{"deleting the catch-all", "DELETE", fmt.Sprintf("/api/v1/sla/policies/%d", catchAll), nil, 409, "id"},
		{"no such policy", "PUT", "/api/v1/sla/policies/987654", policy, 404, ""},
	} {
		r := call(t, tc.method, tc.path, adminToken, tc.body)
		if r.status != tc.status || (tc.field != "" && r.errorField(t) != tc.field) {
			t.Errorf("%s: %d %s, want %d on %s", tc.name, r.status, r.body, tc.status, tc.field)
		}
	}
	if r := call(t, "PUT", polPath, supervisorToken, policy); r.status != 403 {
		t.Errorf("a supervisor changes a policy: %d", r.status)
	}
	if r := call(t, "DELETE", polPath, adminToken, nil); r.status != 204 {
		t.Errorf("delete policy: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", calPath, adminToken, nil); r.status != 204 {
		t.Errorf("delete the calendar once unused: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", calPath, supervisorToken, nil); r.status != 404 {
		t.Errorf("deleted calendar: %d", r.status)
	}
}

func TestAPISLAMetrics(t *testing.T) {
	tk := createTicket(t, email("metrics"))
	call(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), agentToken, map[string]any{"kind": "reply", "body": "On it"})
	from := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	to := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)

	res := call(t, "GET", "/api/v1/sla/metrics?group=agent&from="+from+"&to="+to, supervisorToken, nil)
	var m struct {
		Group string
		Rows  []struct {
			Key           string
			Name          string
			Replies       int64
			FirstResponse struct{ Count int64 } `json:"first_response"`
		}
		Overall struct{ Replies int64 }
	}
	res.json(t, &m)
	if res.status != 200 || m.Group != "agent" || m.Overall.Replies == 0 {
		t.Fatalf("metrics: %d %s", res.status, res.body)
	}
	found := false
	for _, r := range m.Rows {
		if r.Key == fmt.Sprint(agentUser.ID) {
			found = r.Replies > 0 && r.FirstResponse.Count > 0 && r.Name == agentUser.Name
		}
	}
	if !found {
		t.Errorf("no figures for the agent who replied: %s", res.body)
	}

	res = call(t, "GET", "/api/v1/sla/metrics?group=tier&format=csv&from="+from+"&to="+to, supervisorToken, nil)
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") || !strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", res.status, res.header)
	}
	recs, err := csv.NewReader(strings.NewReader(string(res.body))).ReadAll()
	if err != nil || len(recs) < 2 || recs[0][0] != "group" || recs[len(recs)-1][1] != "all" {
		t.Errorf("csv body: %v %v", recs, err)
	}
	// Last week by default.
	if r := call(t, "GET", "/api/v1/sla/metrics?group=team", adminToken, nil); r.status != 200 {
		t.Errorf("default range: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", "/api/v1/sla/metrics", agentToken, nil); r.status != 403 {
		t.Errorf("an agent reads metrics: %d", r.status)
	}
	for _, tc := range []struct {
		query  string
		status int
		field  string
	}{
		{"from=yesterday", 400, "from"},
		{"group=country", 422, "group"},
		{"from=2025-03-10&to=2025-03-03", 422, "to"},
		{"from=2020-01-01&to=2025-01-01", 422, "to"},
		{"format=xml", 400, "format"},
		{"grup=agent", 400, "grup"},
	} {
		r := call(t, "GET", "/api/v1/sla/metrics?"+tc.query, supervisorToken, nil)
		if r.status != tc.status || r.errorField(t) != tc.field {
			t.Errorf("%s: %d %s", tc.query, r.status, r.body)
		}
	}
}

// A supervisor sees which tickets are about to breach, and hears of a breach in the app.
func TestAPIAtRiskAndNotifications(t *testing.T) {
	ctx := context.Background()
	defer slaClock.Set(time.Time{})
	svc := sla.New(db, tickets.NewDesk(db, tickets.Limits{}), sla.Options{Logger: slog.New(slog.DiscardHandler), Now: slaClock.Now})
	tk := createTicket(t, email("risk"))
	if r := call(t, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, map[string]any{"priority": "urgent", "assignee_id": agentUser.ID}); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	fr := ticketClocks(t, tk.ID)["first_response"]
	if fr.Policy != "Urgent" || fr.DueAt == nil {
		t.Fatalf("urgent first response: %+v", fr)
	}
	// Shortly after the due time, inside business hours (notices wait for them by default).
	cals, err := svc.Calendars(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var office *sla.StoredCalendar
	for i := range cals {
		if cals[i].Name == "Office hours" {
			office = &cals[i]
		}
	}
	slaClock.Set(office.Next(fr.DueAt.Add(time.Minute)))

	res := call(t, "GET", "/api/v1/sla/at-risk?within=1h&assignee=me", agentToken, nil)
	var risk struct {
		Items []struct {
			Ticket struct{ ID int64 }
			Clock  clockOut
		}
	}
	res.json(t, &risk)
	seen := false
	for _, it := range risk.Items {
		if it.Ticket.ID == tk.ID && it.Clock.Kind == "first_response" {
			seen = it.Clock.State == "breached" && it.Clock.Remaining != nil && *it.Clock.Remaining < 0
		}
	}
	if res.status != 200 || !seen {
		t.Errorf("at risk: %d %s", res.status, res.body)
	}
	for _, q := range []string{"within=soon", "assignee=someone", "limit=0", "team=-1", "sort=due"} {
		if r := call(t, "GET", "/api/v1/sla/at-risk?"+q, agentToken, nil); r.status != 400 {
			t.Errorf("%s: %d", q, r.status)
		}
	}

	if _, err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	res = call(t, "GET", "/api/v1/notifications?unread=true", agentToken, nil)
	var page struct {
		Items []struct {
			ID       int64
			Type     string
			TicketID *int64 `json:"ticket_id"`
			Read     bool
		}
	}
	res.json(t, &page)
	var notice int64
	for _, n := range page.Items {
		if n.TicketID != nil && *n.TicketID == tk.ID && n.Type == "sla.breached" {
			notice = n.ID
		}
	}
	if res.status != 200 || notice == 0 {
		t.Fatalf("the assignee was not told of the breach: %d %s", res.status, res.body)
	}
	path := fmt.Sprintf("/api/v1/notifications/%d/read", notice)
	if r := call(t, "POST", path, supervisorToken, nil); r.status != 404 {
		t.Errorf("someone else's notice: %d", r.status)
	}
	if r := call(t, "POST", path, agentToken, nil); r.status != 204 {
		t.Errorf("mark read: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", "/api/v1/notifications/read", agentToken, nil); r.status != 200 {
		t.Errorf("mark all read: %d %s", r.status, r.body)
	}
	call(t, "GET", "/api/v1/notifications?unread=true", agentToken, nil).json(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("unread after marking all: %+v", page.Items)
	}
	if r := call(t, "GET", "/api/v1/notifications?limit=500", agentToken, nil); r.status != 400 {
		t.Errorf("limit=500: %d", r.status)
	}
	if r := call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, nil); !strings.Contains(string(r.body), `"sla.breached"`) {
		t.Error("the breach is not in the ticket's events")
	}
}
