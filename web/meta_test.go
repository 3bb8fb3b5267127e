package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

// openapi.json and the route table describe the same API: nothing served is undocumented and
// nothing documented is missing.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	var served []string
	for _, r := range app.GetRoutes(true) {
		if r.Method == "HEAD" || !(strings.HasPrefix(r.Path, "/api/") || r.Path == "/healthz" || r.Path == "/readyz") {
			continue
		}
		served = append(served, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented:\n  %s\nserved:\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
	res := call(t, "GET", "/api/v1/openapi.json", "", nil)
	if res.status != 200 || !bytes.Equal(res.body, raw) {
		t.Errorf("served document differs: %d", res.status)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	if res := call(t, "GET", "/healthz", "", nil); res.status != 200 {
		t.Errorf("healthz: %d", res.status)
	}
	if res := call(t, "GET", "/readyz", "", nil); res.status != 200 || !strings.Contains(string(res.body), "ready") {
		t.Errorf("readyz: %d %s", res.status, res.body)
	}
}

// With its database gone, a node says it is not ready, and API errors become a plain
// "internal error" with a request id, never the driver's message.
func TestBrokenDatabase(t *testing.T) {
	broken, err := database.Open(context.Background(), testDSN, database.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	database.Close(broken)
	var logs bytes.Buffer
	a, err := web.New(web.Deps{
		Config: testConfig(nil), DB: broken, Desk: tickets.NewDesk(broken, tickets.Limits{}),
		Customers: tickets.NewCustomers(broken), Staff: tickets.NewStaff(broken), HTTPState: httpState,
		SigningKey: []byte("k"), Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := send(t, a, httptest.NewRequest("GET", "/readyz", nil)); res.status != 503 {
		t.Errorf("readyz: %d %s", res.status, res.body)
	}
	if res := send(t, a, httptest.NewRequest("GET", "/healthz", nil)); res.status != 200 {
		t.Errorf("healthz must not depend on the database: %d", res.status)
	}
	req := httptest.NewRequest("GET", "/api/v1/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+agentToken)
	res := send(t, a, req)
	if res.status != 500 || res.errorField(t) != "" || !strings.Contains(string(res.body), `"error":"internal error"`) || strings.Contains(string(res.body), "closed") {
		t.Errorf("500 body: %s", res.body)
	}
	if !strings.Contains(logs.String(), "request failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

// Request logs carry method, path and status, but no query strings, tokens or bodies.
func TestRequestLogsHoldNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	cfg := testConfig(nil)
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/tickets?cursor=SECRETCURSOR", strings.NewReader(`{"customer":{"email":"private@example.com"},"subject":"s","body":"PRIVATEBODY"}`))
	req.Header.Set("Authorization", "Bearer "+agentToken)
	req.Header.Set("Content-Type", "application/json")
	if res := send(t, a, req); res.status != 201 {
		t.Fatalf("%d %s\n%s", res.status, res.body, logs.String())
	}
	out := logs.String()
	if !strings.Contains(out, "path=/api/v1/tickets") || !strings.Contains(out, "status=201") {
		t.Errorf("log lacks the request: %s", out)
	}
	for _, secret := range []string{"SECRETCURSOR", agentToken, "private@example.com", "PRIVATEBODY"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q: %s", secret, out)
		}
	}
}
