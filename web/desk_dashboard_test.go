package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// refreshRollups runs the rollup job once, as serve does every minute.
func refreshRollups(t *testing.T) {
	t.Helper()
	svc := sla.New(db, tickets.NewDesk(db, tickets.Limits{}), sla.Options{Logger: slog.New(slog.DiscardHandler), Now: slaClock.Now})
	if res, err := svc.RefreshRollups(context.Background(), 0); err != nil || res.Skipped {
		t.Fatalf("refresh rollups: %+v %v", res, err)
	}
}

var dashData = regexp.MustCompile(`(?s)<script type="application/json" id="dash-data">(.*?)</script>`)

// dashAgent makes an agent with a name that would run as script if it were not escaped, gives
// them a ticket and has them answer it.
func dashAgent(t *testing.T, name string) (*tickets.User, ticketOut) {
	t.Helper()
	staff := tickets.NewStaff(db)
	u, err := staff.CreateUser(context.Background(), tickets.SystemActor, tickets.NewUser{Email: email("dash"), Name: name, Role: tickets.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := staff.CreateToken(context.Background(), tickets.SystemActor, u.ID, "dash")
	if err != nil {
		t.Fatal(err)
	}
	tk := createTicket(t, email("dash-customer"))
	if r := call(t, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", tk.ID), supervisorToken, map[string]any{"assignee_id": u.ID}); r.status != 200 {
		t.Fatalf("assign: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), token, map[string]any{"kind": "reply", "body": "Looking into it"}); r.status != 201 {
		t.Fatalf("reply: %d %s", r.status, r.body)
	}
	return u, tk
}

func TestDashboardShowsAgentsChartsAndBreaches(t *testing.T) {
	evil := `<script>alert("dash")</script> Eve`
	eve, answered := dashAgent(t, evil)

	// A ticket of Eve's whose first response is long overdue: the earliest due of all, so it
	// heads the "breaching" list.
	late := createTicket(t, email("dash-late"))
	if r := call(t, "PATCH", fmt.Sprintf("/api/v1/tickets/%d", late.ID), supervisorToken, map[string]any{"assignee_id": eve.ID}); r.status != 200 {
		t.Fatalf("assign: %d %s", r.status, r.body)
	}
	err := db.Exec(`UPDATE sla_clocks SET started_at = '2000-01-03T09:00:00Z', running_since = '2000-01-03T09:00:00Z',
			due_at = '2000-01-03T10:00:00Z', breached_at = '2000-01-03T10:00:00Z'
		WHERE ticket_id = ? AND kind = 'first_response'`, late.ID).Error
	if err != nil {
		t.Fatal(err)
	}
	// And one whose first response is past its warning and due in twenty minutes: at risk.
	soon := createTicket(t, email("dash-soon"))
	err = db.Exec(`UPDATE sla_clocks SET warn_at = now() - interval '10 minutes', due_at = now() + interval '20 minutes'
		WHERE ticket_id = ? AND kind = 'first_response'`, soon.ID).Error
	if err != nil {
		t.Fatal(err)
	}
	refreshRollups(t)

	v := signIn(t, tickets.RoleSupervisor)
	res := v.get("/desk/dashboard")
	body := string(res.body)
	if res.status != 200 {
		t.Fatalf("dashboard: %d %s", res.status, body)
	}
	// The name is shown, escaped, in the agent table and the breaching list; never as markup.
	if strings.Contains(body, `<script>alert(`) || strings.Count(body, `&lt;script&gt;alert(&#34;dash&#34;)&lt;/script&gt; Eve`) < 2 {
		t.Errorf("the agent's name is not escaped in both places:\n%s", body)
	}
	breaching := section(t, body, "dash-breaching")
	if !strings.Contains(breaching, fmt.Sprintf(`href="/desk/tickets/%d"`, late.ID)) {
		t.Errorf("the overdue ticket is not in Breaching now:\n%s", breaching)
	}
	if strings.Contains(breaching, fmt.Sprintf(`href="/desk/tickets/%d"`, answered.ID)) {
		t.Error("an answered ticket is listed as breaching")
	}
	if risk := section(t, body, "dash-at-risk"); !strings.Contains(risk, fmt.Sprintf(`href="/desk/tickets/%d"`, soon.ID)) || strings.Contains(breaching, fmt.Sprintf(`href="/desk/tickets/%d"`, soon.ID)) {
		t.Errorf("the ticket due soon is not (only) at risk:\n%s", risk)
	}
	agents := section(t, body, "dash-agents")
	if !strings.Contains(agents, " Eve</th>") || !strings.Contains(agents, "<td class=\"num\">1</td>") {
		t.Errorf("agent rows missing:\n%s", agents)
	}
	if !strings.Contains(body, "Figures as of ") || !strings.Contains(body, `aria-current="page">Last 30 days`) {
		t.Error("no figures time or range")
	}

	m := dashData.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no chart data")
	}
	var chart struct {
		Days          []string
		Created       []int64
		FirstResponse []int64 `json:"first_response"`
		Buckets       []string
		Tiers         []string
	}
	if err := json.Unmarshal([]byte(m[1]), &chart); err != nil {
		t.Fatalf("chart data %q: %v", m[1], err)
	}
	var created, responses int64
	for _, n := range chart.Created {
		created += n
	}
	for _, n := range chart.FirstResponse {
		responses += n
	}
	if len(chart.Days) != 30 || len(chart.Created) != 30 || created < 2 || responses < 1 || len(chart.Buckets) != len(sla.FirstResponseBuckets)+1 || len(chart.Tiers) == 0 {
		t.Errorf("chart data: %+v", chart)
	}
	// Every chart has its numbers in a table.
	if n := strings.Count(body, "<details>"); n != 4 {
		t.Errorf("%d tables of numbers, want 4", n)
	}

	res = v.get("/desk/dashboard?days=7")
	if res.status != 200 || !strings.Contains(string(res.body), `aria-current="page">Last 7 days`) {
		t.Errorf("7 days: %d", res.status)
	}
	if m := dashData.FindSubmatch(res.body); m == nil || !strings.Contains(string(m[1]), `"days":[`) || strings.Count(string(m[1]), `"20`) < 7 {
		t.Errorf("7-day chart data: %s", m)
	}
	for _, bad := range []string{"14", "abc", "-7"} {
		if r := v.get("/desk/dashboard?days=" + bad); r.status != 400 || !strings.Contains(string(r.body), "7, 30 or 90") {
			t.Errorf("days=%s: %d", bad, r.status)
		}
	}
}

// section is the HTML of the <section> a heading id labels.
func section(t *testing.T, body, id string) string {
	t.Helper()
	start := strings.Index(body, `aria-labelledby="`+id+`"`)
	if start < 0 {
		t.Fatalf("no section %s", id)
	}
	end := strings.Index(body[start:], "</section>")
	return body[start : start+end]
}

func TestDashboardIsForSupervisors(t *testing.T) {
	for _, path := range []string{"/desk/dashboard", "/desk/dashboard.csv"} {
		if r := signIn(t, tickets.RoleAgent).get(path); r.status != 403 {
			t.Errorf("agent %s: %d", path, r.status)
		}
		if r := newVisitor(t, app).get(path); r.status != 303 && r.status != 401 {
			t.Errorf("signed out %s: %d", path, r.status)
		}
		if r := signIn(t, tickets.RoleAdmin).get(path); r.status != 200 {
			t.Errorf("admin %s: %d", path, r.status)
		}
	}
}

// On a fresh installation the first view computes the figures rather than showing nothing.
func TestDashboardComputesOnFirstView(t *testing.T) {
	if err := db.Exec(`DELETE FROM dash_rollups`).Error; err != nil {
		t.Fatal(err)
	}
	res := signIn(t, tickets.RoleSupervisor).get("/desk/dashboard?days=90")
	if res.status != 200 || !strings.Contains(string(res.body), "Figures as of ") || !dashData.Match(res.body) {
		t.Fatalf("first view: %d %s", res.status, res.body)
	}
	if n := count(t, `SELECT count(*) FROM dash_rollups`); n != 3 {
		t.Errorf("%d ranges stored after the first view", n)
	}
}

func TestDashboardCSV(t *testing.T) {
	eve, _ := dashAgent(t, "Eve, \"CSV\" tester")
	refreshRollups(t)
	res := signIn(t, tickets.RoleSupervisor).get("/desk/dashboard.csv?days=7")
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") || !strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", res.status, res.header)
	}
	recs, err := csv.NewReader(strings.NewReader(string(res.body))).ReadAll()
	if err != nil || len(recs) < 3 || recs[0][0] != "group" || recs[len(recs)-1][1] != "all" {
		t.Fatalf("csv body: %v %v", recs, err)
	}
	found := false
	for _, r := range recs {
		found = found || (r[1] == fmt.Sprint(eve.ID) && r[2] == eve.Name && r[6] == "1")
	}
	if !found {
		t.Errorf("no row with Eve's one reply: %v", recs)
	}
}

// While another node computes the first figures, the page says so instead of waiting.
func TestDashboardWhileAnotherNodeComputes(t *testing.T) {
	ctx := context.Background()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const rollupLock = 0x534c41524f4c4c55 // sla's lock of the refresh
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(rollupLock)); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(rollupLock))
	if err := db.Exec(`DELETE FROM dash_rollups`).Error; err != nil {
		t.Fatal(err)
	}
	res := signIn(t, tickets.RoleSupervisor).get("/desk/dashboard")
	body := string(res.body)
	if res.status != 200 || !strings.Contains(body, "being computed") || dashData.MatchString(body) || !strings.Contains(body, `id="dash-breaching"`) {
		t.Errorf("while computing: %d %s", res.status, body)
	}
}

func TestDashboardInSpanish(t *testing.T) {
	refreshRollups(t)
	v := signIn(t, tickets.RoleSupervisor)
	req := newRequest("GET", "/desk/dashboard", "es-ES,es;q=0.9")
	res := v.do(req)
	body := string(res.body)
	if res.status != 200 || !strings.Contains(body, "Incumpliendo ahora") || !strings.Contains(body, "Últimos 30 días") || strings.Contains(body, ">dash_") {
		t.Errorf("Spanish dashboard: %d %s", res.status, body)
	}
}
