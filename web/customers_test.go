package web_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type customerOut struct {
	ID           int64
	Name         string
	Kind         string
	Tier         string
	Organization string
	Notes        string
	MergedIntoID *int64 `json:"merged_into_id"`
	Identities   []struct{ Kind, Value string }
	Scores       *struct {
		RecencyDays *int `json:"recency_days"`
		Frequency   int
		Monetary    float64
		RFM         string
		CLV         float64
		Loyalty     int
		Tier        string
		ChurnRisk   string `json:"churn_risk"`
		Explanation map[string]any
	}
	TicketCount   int64 `json:"ticket_count"`
	PurchaseCount int64 `json:"purchase_count"`
}

// callCSV posts a CSV body through the app, checked against openapi.json like every call.
func callCSV(t *testing.T, path, token, csv string) response {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(csv))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	res := send(t, app, req)
	checkCSVAgainstSpec(t, path, token, csv, res)
	return res
}

func TestAPICustomerRecordValueAndPurchases(t *testing.T) {
	addr := email("value")
	tk := createTicket(t, addr)
	base := fmt.Sprintf("/api/v1/customers/%d", tk.CustomerID)

	res := call(t, "PATCH", base, agentToken, map[string]any{"name": "Rocío Jiménez", "kind": "partner", "organization": "Acme", "notes": "Calls on Fridays", "attributes": map[string]any{"plan": "gold"}})
	if res.status != 200 {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	if res := call(t, "PATCH", base, agentToken, map[string]any{"kind": "friend"}); res.status != 422 || res.errorField(t) != "kind" {
		t.Errorf("bad kind: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", base+"/identities", agentToken, map[string]any{"kind": "phone", "value": "+34 622 000 111"}); res.status != 201 {
		t.Errorf("add phone: %d %s", res.status, res.body)
	}

	when := time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)
	purchase := map[string]any{"external_id": "web-" + addr, "amount": "250.00", "currency": "EUR", "purchased_at": when}
	if res := call(t, "POST", base+"/purchases", agentToken, purchase); res.status != 403 {
		t.Errorf("agent adding a purchase: %d", res.status)
	}
	if res := call(t, "POST", base+"/purchases", supervisorToken, purchase); res.status != 201 {
		t.Fatalf("add purchase: %d %s", res.status, res.body)
	}
	if res := call(t, "POST", base+"/purchases", supervisorToken, purchase); res.status != 409 || res.errorField(t) != "external_id" {
		t.Errorf("duplicate purchase: %d %s", res.status, res.body)
	}
	for _, bad := range []map[string]any{
		{"external_id": "x1", "amount": 250, "currency": "EUR", "purchased_at": when},
		{"external_id": "x2", "amount": "-1", "currency": "EUR", "purchased_at": when},
		{"external_id": "x3", "amount": "1", "currency": "ABC", "purchased_at": when},
		{"external_id": "x4", "amount": "1", "currency": "EUR", "purchased_at": "2999-01-01T00:00:00Z"},
	} {
		if res := call(t, "POST", base+"/purchases", supervisorToken, bad); res.status/100 != 4 {
			t.Errorf("%v: %d", bad, res.status)
		}
	}

	var c customerOut
	res = call(t, "GET", base, agentToken, nil)
	res.json(t, &c)
	if res.status != 200 || c.Name != "Rocío Jiménez" || c.Kind != "partner" || len(c.Identities) != 2 || c.PurchaseCount != 1 {
		t.Fatalf("record: %d %s", res.status, res.body)
	}
	if c.Scores == nil || c.Scores.Frequency != 1 || c.Scores.Monetary != 250 || *c.Scores.RecencyDays != 3 || len(c.Scores.RFM) != 3 {
		t.Fatalf("scores: %s", res.body)
	}
	for _, part := range []string{"recency", "frequency", "monetary", "clv", "loyalty", "tier", "churn"} {
		if _, ok := c.Scores.Explanation[part]; !ok {
			t.Errorf("the explanation lacks %s", part)
		}
	}
	res = call(t, "GET", base+"/purchases", agentToken, nil)
	if res.status != 200 || !strings.Contains(string(res.body), `"amount":"250.00"`) {
		t.Errorf("purchases: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/customers/99999999/purchases", agentToken, nil); res.status != 404 {
		t.Errorf("unknown customer's purchases: %d", res.status)
	}
}

func TestAPIPurchaseImport(t *testing.T) {
	addr := email("import")
	createTicket(t, addr)
	when := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	n := unique.Add(1)
	file := fmt.Sprintf("customer_email,external_id,amount,currency,purchased_at\n%s,I%d-1,10.00,EUR,%s\n%s,I%d-2,oops,EUR,%s\nnobody@example.com,I%d-3,1,EUR,%s\n", addr, n, when, addr, n, when, n, when)

	res := callCSV(t, "/api/v1/purchases/import", supervisorToken, file)
	var out struct {
		Imported, Duplicates int
		Errors               []struct {
			Line  int
			Field string
		}
	}
	res.json(t, &out)
	if res.status != 422 || out.Imported != 0 || len(out.Errors) != 2 || out.Errors[0].Line != 3 || out.Errors[1].Line != 4 {
		t.Fatalf("bad file: %d %s", res.status, res.body)
	}
	res = callCSV(t, "/api/v1/purchases/import?skip_invalid=true", supervisorToken, file)
	res.json(t, &out)
	if res.status != 200 || out.Imported != 1 || len(out.Errors) != 2 {
		t.Fatalf("skipping: %d %s", res.status, res.body)
	}
	res = callCSV(t, "/api/v1/purchases/import?skip_invalid=true", supervisorToken, file)
	res.json(t, &out)
	if res.status != 200 || out.Imported != 0 || out.Duplicates != 1 {
		t.Errorf("re-import: %d %s", res.status, res.body)
	}
	if res := callCSV(t, "/api/v1/purchases/import", agentToken, file); res.status != 403 {
		t.Errorf("agent importing: %d", res.status)
	}
	if res := callCSV(t, "/api/v1/purchases/import?skip_invalid=maybe", supervisorToken, file); res.status != 400 {
		t.Errorf("bad flag: %d", res.status)
	}
	if res := call(t, "POST", "/api/v1/purchases/import", supervisorToken, map[string]any{"rows": 1}); res.status != 415 {
		t.Errorf("JSON body: %d", res.status)
	}
	res = callCSV(t, "/api/v1/purchases/import", supervisorToken, "email,order\n")
	if res.status != 422 || !strings.Contains(string(res.body), "unknown column") {
		t.Errorf("bad header: %d %s", res.status, res.body)
	}
}

func TestAPIMergeCustomers(t *testing.T) {
	a := createTicket(t, email("merge-a"))
	b := createTicket(t, email("merge-b"))
	path := fmt.Sprintf("/api/v1/customers/%d/merge", a.CustomerID)
	if res := call(t, "POST", path, agentToken, map[string]any{"from": b.CustomerID}); res.status != 403 {
		t.Errorf("agent merging: %d", res.status)
	}
	res := call(t, "POST", path, supervisorToken, map[string]any{"from": b.CustomerID})
	var c customerOut
	res.json(t, &c)
	if res.status != 200 || c.TicketCount != 2 || len(c.Identities) != 2 {
		t.Fatalf("merge: %d %s", res.status, res.body)
	}
	res = call(t, "GET", fmt.Sprintf("/api/v1/customers/%d", b.CustomerID), agentToken, nil)
	res.json(t, &c)
	if c.MergedIntoID == nil || *c.MergedIntoID != a.CustomerID {
		t.Errorf("merged record: %s", res.body)
	}
	for _, tc := range []struct {
		body   any
		status int
	}{
		{map[string]any{"from": b.CustomerID}, 409},
		{map[string]any{"from": a.CustomerID}, 422},
		{map[string]any{}, 422},
		{map[string]any{"from": "b"}, 400},
	} {
		if res := call(t, "POST", path, supervisorToken, tc.body); res.status != tc.status {
			t.Errorf("%v: %d, want %d", tc.body, res.status, tc.status)
		}
	}
}

// A VIP customer's ticket lands with a raised priority on an agent who may serve VIPs, and the API
// explains both.
func TestAPIVIPTicketEndToEnd(t *testing.T) {
	cat := fmt.Sprintf("vip-care-%d", unique.Add(1))
	var team struct{ ID int64 }
	call(t, "POST", "/api/v1/teams", adminToken, map[string]any{"name": "VIP care " + cat}).json(t, &team)
	if res := call(t, "PATCH", fmt.Sprintf("/api/v1/teams/%d", team.ID), adminToken, map[string]any{"categories": []string{cat}}); res.status != 200 {
		t.Fatalf("team categories: %d %s", res.status, res.body)
	}
	var plain, vipAgent struct{ ID int64 }
	call(t, "POST", "/api/v1/users", adminToken, map[string]any{"email": email("plain"), "name": "Plain Agent", "role": "agent"}).json(t, &plain)
	call(t, "POST", "/api/v1/users", adminToken, map[string]any{"email": email("vipagent"), "name": "VIP Agent", "role": "agent"}).json(t, &vipAgent)
	for _, u := range []int64{plain.ID, vipAgent.ID} {
		call(t, "PUT", fmt.Sprintf("/api/v1/teams/%d/members/%d", team.ID, u), adminToken, nil)
	}
	res := call(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", vipAgent.ID), adminToken, map[string]any{"handles_vip": true, "languages": []string{"es", "en"}, "max_active_tickets": 10})
	if res.status != 200 || !strings.Contains(string(res.body), `"handles_vip":true`) {
		t.Fatalf("routing settings: %d %s", res.status, res.body)
	}

	// Make a customer VIP the way it happens in production: a large purchase, then a rescoring.
	addr := email("bigspender")
	first := createTicket(t, addr)
	call(t, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", first.ID), agentToken, map[string]any{"status": "solved"})
	when := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	if res := call(t, "POST", fmt.Sprintf("/api/v1/customers/%d/purchases", first.CustomerID), supervisorToken,
		map[string]any{"external_id": "big-" + addr, "amount": "999999.00", "currency": "EUR", "purchased_at": when}); res.status != 201 {
		t.Fatalf("purchase: %d %s", res.status, res.body)
	}
	if _, err := testDesk().RecomputeAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	var c customerOut
	call(t, "GET", fmt.Sprintf("/api/v1/customers/%d", first.CustomerID), agentToken, nil).json(t, &c)
	if c.Tier != "vip" || c.Scores == nil || c.Scores.Tier != "vip" {
		t.Fatalf("customer after rescoring: tier %s scores %+v", c.Tier, c.Scores)
	}
	explained := fmt.Sprint(c.Scores.Explanation["tier"])
	if !strings.Contains(explained, "top") {
		t.Errorf("tier explanation: %s", explained)
	}

	res = call(t, "POST", "/api/v1/tickets", agentToken, map[string]any{
		"customer": map[string]any{"email": addr}, "subject": "Pedido no llegado", "body": "Mi pedido no ha llegado.",
		"urgency": "normal", "category": cat, "language": "es",
	})
	var tk ticketOut
	res.json(t, &tk)
	if res.status != 201 || tk.Priority != "high" || tk.Urgency != "normal" || tk.AssigneeID == nil || *tk.AssigneeID != vipAgent.ID || tk.Category != cat || tk.Language != "es" {
		t.Fatalf("VIP ticket: %d %s", res.status, res.body)
	}
	res = call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), agentToken, nil)
	body := string(res.body)
	for _, why := range []string{"vip customer: normal urgency raised to high", "may serve VIP customers", "speaks es"} {
		if !strings.Contains(body, why) {
			t.Errorf("the ticket's events do not explain %q", why)
		}
	}
}

func TestAPIUserAndTeamRoutingSettings(t *testing.T) {
	me := fmt.Sprintf("/api/v1/users/%d", agentUser.ID)
	if res := call(t, "PATCH", me, agentToken, map[string]any{"available": false}); res.status != 200 || !strings.Contains(string(res.body), `"available":false`) {
		t.Errorf("agent going away: %d %s", res.status, res.body)
	}
	call(t, "PATCH", me, agentToken, map[string]any{"available": true})
	if res := call(t, "PATCH", me, agentToken, map[string]any{"handles_vip": true}); res.status != 403 {
		t.Errorf("agent granting themselves VIP: %d", res.status)
	}
	var other struct{ ID int64 }
	call(t, "POST", "/api/v1/users", adminToken, map[string]any{"email": email("o"), "name": "O", "role": "agent"}).json(t, &other)
	if res := call(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", other.ID), agentToken, map[string]any{"available": false}); res.status != 403 {
		t.Errorf("agent changing another: %d", res.status)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"languages": []string{"xx-!!"}}, "languages[0]"},
		{map[string]any{"max_active_tickets": -1}, "max_active_tickets"},
		{map[string]any{"role": "boss"}, "role"},
		{map[string]any{}, "body"},
	} {
		if res := call(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", other.ID), adminToken, tc.body); res.status != 422 || res.errorField(t) != tc.field {
			t.Errorf("%v: %d %s", tc.body, res.status, res.body)
		}
	}
	if res := call(t, "PATCH", "/api/v1/users/99999999", adminToken, map[string]any{"available": true}); res.status != 404 {
		t.Errorf("unknown user: %d", res.status)
	}
	if res := call(t, "PATCH", "/api/v1/teams/99999999", adminToken, map[string]any{"name": "x"}); res.status != 404 {
		t.Errorf("unknown team: %d", res.status)
	}
}

func TestAPIValueSettingsAndAnalytics(t *testing.T) {
	res := call(t, "GET", "/api/v1/settings/customer-value", supervisorToken, nil)
	if res.status != 200 || !strings.Contains(string(res.body), `"retention_rate":0.75`) {
		t.Fatalf("settings: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/settings/customer-value", agentToken, nil); res.status != 403 {
		t.Errorf("agent reading settings: %d", res.status)
	}
	changed := bytes.Replace(res.body, []byte(`"acquisition_cost":0`), []byte(`"acquisition_cost":25`), 1)
	if res := call(t, "PUT", "/api/v1/settings/customer-value", supervisorToken, changed); res.status != 403 {
		t.Errorf("supervisor changing settings: %d", res.status)
	}
	if res := call(t, "PUT", "/api/v1/settings/customer-value", adminToken, changed); res.status != 200 || !strings.Contains(string(res.body), `"acquisition_cost":25`) {
		t.Errorf("admin changing settings: %d %s", res.status, res.body)
	}
	bad := bytes.Replace(changed, []byte(`"retention_rate":0.75`), []byte(`"retention_rate":1.5`), 1)
	if res := call(t, "PUT", "/api/v1/settings/customer-value", adminToken, bad); res.status != 422 || res.errorField(t) != "retention_rate" {
		t.Errorf("bad settings: %d %s", res.status, res.body)
	}
	restored := bytes.Replace(changed, []byte(`"acquisition_cost":25`), []byte(`"acquisition_cost":0`), 1)
	call(t, "PUT", "/api/v1/settings/customer-value", adminToken, restored)

	res = call(t, "GET", "/api/v1/analytics/customers?from=2026-01-01&to=2026-12-31", supervisorToken, nil)
	if res.status != 200 || !strings.Contains(string(res.body), `"customer_equity"`) || !strings.Contains(string(res.body), `"vip"`) {
		t.Errorf("analytics: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/analytics/customers?from=yesterday", supervisorToken, nil); res.status != 400 || res.errorField(t) != "from" {
		t.Errorf("bad date: %d %s", res.status, res.body)
	}
	if res := call(t, "GET", "/api/v1/analytics/customers?from=2026-02-01&to=2026-01-01", supervisorToken, nil); res.status != 422 {
		t.Errorf("inverted period: %d", res.status)
	}
}
