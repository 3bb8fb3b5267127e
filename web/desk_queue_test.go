package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// deskStaff is a member of staff of one test, so that "mine" and "my teams" hold only what the
// test put there.
type deskStaff struct {
	user *tickets.User
	v    *visitor
}

// newDeskStaff creates a user with a session (no password: signing in is tested elsewhere and
// bcrypt is slow) and returns their browser.
func newDeskStaff(t *testing.T, role tickets.Role) deskStaff {
	t.Helper()
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	n := unique.Add(1)
	u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: email("desk"), Name: fmt.Sprintf("Desk %s %d", role, n), Role: role})
	if err != nil {
		t.Fatal(err)
	}
	// Routing must not hand this user other tests' tickets.
	if err := db.Exec(`UPDATE users SET available = false WHERE id = ?`, u.ID).Error; err != nil {
		t.Fatal(err)
	}
	secret, err := staff.StartSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, app)
	v.cookies["helpdesk_session"] = secret
	return deskStaff{user: u, v: v}
}

// newTeam makes a team with the given members.
func newTeam(t *testing.T, members ...int64) int64 {
	t.Helper()
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	team, err := staff.CreateTeam(ctx, tickets.SystemActor, fmt.Sprintf("Queue team %d", unique.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if err := staff.SetMember(ctx, tickets.SystemActor, team.ID, m, true); err != nil {
			t.Fatal(err)
		}
	}
	return team.ID
}

type ticketSpec struct {
	subject  string
	customer string // name
	urgency  tickets.Level
	assignee int64
	team     int64
	status   tickets.Status // reached through the allowed transitions
}

// newQueueTicket takes a ticket in through the desk and moves it where the spec says.
func newQueueTicket(t *testing.T, s ticketSpec) *tickets.Ticket {
	t.Helper()
	ctx := context.Background()
	desk := testDesk()
	if s.customer == "" {
		s.customer = "Queue Customer"
	}
	tk, err := desk.Intake(ctx, tickets.NewTicket{
		Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("qc"), Name: s.customer},
		Subject: s.subject, Body: "Something is wrong.", Urgency: s.urgency,
	})
	if err != nil {
		t.Fatal(err)
	}
	var ch tickets.TicketChange
	if s.team != 0 {
		ch.TeamID = tickets.OptionalID{Set: true, ID: s.team}
	}
	if s.assignee != 0 {
		ch.AssigneeID = tickets.OptionalID{Set: true, ID: s.assignee}
	}
	if !ch.Empty() {
		if tk, err = desk.Update(ctx, tk.ID, tickets.SystemActor, ch); err != nil {
			t.Fatal(err)
		}
	}
	path := map[tickets.Status][]tickets.Status{
		tickets.StatusOpen: {tickets.StatusOpen}, tickets.StatusPending: {tickets.StatusPending},
		tickets.StatusSolved: {tickets.StatusSolved}, tickets.StatusClosed: {tickets.StatusSolved, tickets.StatusClosed},
	}
	for _, st := range path[s.status] {
		if tk, err = desk.Update(ctx, tk.ID, tickets.SystemActor, tickets.TicketChange{Status: &st}); err != nil {
			t.Fatal(err)
		}
	}
	return tk
}

// addClock gives a ticket an SLA clock due at due (stopped when met is true), as the SLA module
// would write it.
func addClock(t *testing.T, ticketID int64, kind string, due time.Time, met bool) {
	t.Helper()
	var stopped any
	state := "running"
	if met {
		stopped, state = due.Add(-time.Minute), "met"
	}
	err := db.Exec(`INSERT INTO sla_clocks (ticket_id, kind, business, target_seconds, state, started_at, due_at, stopped_at)
		VALUES (?, ?, false, 3600, ?, now(), ?, ?)`, ticketID, kind, state, due, stopped).Error
	if err != nil {
		t.Fatal(err)
	}
}

var nextPage = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

// allPages reads a view of the queue page by page, following the next-page links, and returns
// every page's body.
func allPages(t *testing.T, v *visitor, path string) []byte {
	t.Helper()
	var all []byte
	for range 100 {
		res := v.get(path)
		if res.status != 200 {
			t.Fatalf("GET %s: %d", path, res.status)
		}
		all = append(all, res.body...)
		m := nextPage.FindSubmatch(res.body)
		if m == nil {
			return all
		}
		path = html.UnescapeString(string(m[1]))
	}
	t.Fatalf("%s: more than 100 pages", path)
	return nil
}

func ticketLink(id int64) string { return fmt.Sprintf(`href="/desk/tickets/%d"`, id) }

// shows checks which tickets a page lists.
func shows(t *testing.T, what string, body []byte, want, notWant []*tickets.Ticket) {
	t.Helper()
	for _, tk := range want {
		if !strings.Contains(string(body), ticketLink(tk.ID)) {
			t.Errorf("%s: ticket %d (%s) is missing", what, tk.ID, tk.Subject)
		}
	}
	for _, tk := range notWant {
		if strings.Contains(string(body), ticketLink(tk.ID)) {
			t.Errorf("%s: ticket %d (%s) should not be listed", what, tk.ID, tk.Subject)
		}
	}
}

func TestDeskQueueViews(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	b := newDeskStaff(t, tickets.RoleAgent)
	team := newTeam(t, a.user.ID, b.user.ID)
	otherTeam := newTeam(t, b.user.ID)
	mine := newQueueTicket(t, ticketSpec{subject: "mine", assignee: a.user.ID})
	teamOpen := newQueueTicket(t, ticketSpec{subject: "team, nobody's", team: team})
	teamB := newQueueTicket(t, ticketSpec{subject: "team, b's", team: team, assignee: b.user.ID})
	othersTeam := newQueueTicket(t, ticketSpec{subject: "other team", team: otherTeam})
	bs := newQueueTicket(t, ticketSpec{subject: "b's", assignee: b.user.ID})
	loose := newQueueTicket(t, ticketSpec{subject: "nobody's"})
	mineSolved := newQueueTicket(t, ticketSpec{subject: "mine, solved", assignee: a.user.ID, status: tickets.StatusSolved})
	addClock(t, bs.ID, "first_response", time.Now().Add(30*time.Minute), false)
	addClock(t, loose.ID, "first_response", time.Now().Add(-5*time.Minute), false)
	addClock(t, teamB.ID, "first_response", time.Now().Add(3*time.Hour), false)
	addClock(t, othersTeam.ID, "first_response", time.Now().Add(-time.Hour), true) // met: not breaching

	res := a.v.get("/desk/queue")
	if res.status != 200 {
		t.Fatalf("GET /desk/queue: %d %s", res.status, res.body)
	}
	shows(t, "default view (mine)", res.body, []*tickets.Ticket{mine}, []*tickets.Ticket{teamOpen, teamB, bs, loose, mineSolved})
	if !strings.Contains(string(res.body), `href="/desk/queue?view=mine" aria-current="page"`) {
		t.Error("the default view is not marked as mine")
	}
	res = a.v.get("/desk/queue?view=mine&status=solved")
	shows(t, "mine, solved", res.body, []*tickets.Ticket{mineSolved}, []*tickets.Ticket{mine})

	res = a.v.get("/desk/queue?view=team")
	shows(t, "my teams", res.body, []*tickets.Ticket{teamOpen, teamB}, []*tickets.Ticket{mine, othersTeam, bs, loose})
	res = b.v.get("/desk/queue?view=team&team=" + strconv.FormatInt(otherTeam, 10))
	shows(t, "b's teams, one team", res.body, []*tickets.Ticket{othersTeam}, []*tickets.Ticket{teamOpen, teamB})
	// A team the agent is not in gives nothing in the view of their teams.
	res = a.v.get("/desk/queue?view=team&team=" + strconv.FormatInt(otherTeam, 10))
	shows(t, "a, b's team", res.body, nil, []*tickets.Ticket{othersTeam, teamOpen})

	res = a.v.get("/desk/queue?view=unassigned&team=" + strconv.FormatInt(team, 10))
	shows(t, "unassigned in the team", res.body, []*tickets.Ticket{teamOpen}, []*tickets.Ticket{teamB, mine})
	// Other tests' tickets share these views: read them to the last page.
	shows(t, "unassigned", allPages(t, a.v, "/desk/queue?view=unassigned"), []*tickets.Ticket{teamOpen, loose}, []*tickets.Ticket{mine, teamB, bs})
	shows(t, "breaching", allPages(t, a.v, "/desk/queue?view=breaching"), []*tickets.Ticket{bs, loose}, []*tickets.Ticket{teamB, othersTeam, mine})

	// All is for supervisors and admins.
	if res := a.v.get("/desk/queue?view=all"); res.status != 403 {
		t.Errorf("an agent asked for all: %d", res.status)
	}
	if strings.Contains(string(a.v.get("/desk/queue").body), `view=all"`) {
		t.Error("an agent is offered the view of all tickets")
	}
	sup := newDeskStaff(t, tickets.RoleSupervisor)
	res = sup.v.get("/desk/queue?view=all&team=" + strconv.FormatInt(team, 10))
	if res.status != 200 {
		t.Fatalf("a supervisor asked for all: %d", res.status)
	}
	shows(t, "all, one team", res.body, []*tickets.Ticket{teamOpen, teamB}, []*tickets.Ticket{mine, othersTeam})

	if res := a.v.get("/desk/queue?view=everything"); res.status != 400 {
		t.Errorf("an unknown view: %d", res.status)
	}
}

func TestDeskQueueFilters(t *testing.T) {
	ctx := context.Background()
	a := newDeskStaff(t, tickets.RoleAgent)
	vip := newQueueTicket(t, ticketSpec{subject: "vip customer", assignee: a.user.ID, urgency: tickets.High})
	plain := newQueueTicket(t, ticketSpec{subject: "new customer", assignee: a.user.ID})
	pending := newQueueTicket(t, ticketSpec{subject: "waiting", assignee: a.user.ID, status: tickets.StatusPending})
	if _, err := testDesk().Recompute(ctx, []int64{vip.CustomerID}); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`UPDATE customer_scores SET tier = 'vip' WHERE customer_id = ?`, vip.CustomerID).Error; err != nil {
		t.Fatal(err)
	}
	res := a.v.get("/desk/queue?view=mine&tier=vip")
	shows(t, "tier vip", res.body, []*tickets.Ticket{vip}, []*tickets.Ticket{plain, pending})
	if !strings.Contains(string(res.body), `class="tier tier-vip"`) {
		t.Error("the VIP badge is missing")
	}
	res = a.v.get("/desk/queue?view=mine&tier=new")
	shows(t, "tier new", res.body, []*tickets.Ticket{plain, pending}, []*tickets.Ticket{vip})
	res = a.v.get("/desk/queue?view=mine&status=pending")
	shows(t, "status pending", res.body, []*tickets.Ticket{pending}, []*tickets.Ticket{vip, plain})
	res = a.v.get("/desk/queue?view=mine&priority=high")
	shows(t, "priority high", res.body, []*tickets.Ticket{vip}, []*tickets.Ticket{plain})
	// Closed tickets are not a queue (the customer page and search find them).
	if res := a.v.get("/desk/queue?view=mine&status=closed"); res.status != 422 || !strings.Contains(string(res.body), `id="f-status-error"`) {
		t.Errorf("status closed: %d", res.status)
	}
	res = a.v.get("/desk/queue?view=mine&channel=email")
	shows(t, "channel email", res.body, nil, []*tickets.Ticket{vip, plain, pending})

	// A value the form does not offer: the field says so and keeps the rest of the queue.
	res = a.v.get("/desk/queue?view=mine&tier=platinum&status=pending")
	if res.status != 422 || !strings.Contains(string(res.body), `id="f-tier-error"`) {
		t.Errorf("a bad tier: %d", res.status)
	}
	shows(t, "bad tier, status pending", res.body, []*tickets.Ticket{pending}, []*tickets.Ticket{vip})
}

var rowOrder = regexp.MustCompile(`<tr data-ticket="(\d+)">`)

func listedIDs(body []byte) []int64 {
	var ids []int64
	for _, m := range rowOrder.FindAllSubmatch(body, -1) {
		id, _ := strconv.ParseInt(string(m[1]), 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// The queue is in SLA order: the earliest running clock first, tickets without one last, then
// urgent before low, then the oldest first; pages follow by keyset without overlap.
func TestDeskQueueOrderAndPages(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	now := time.Now()
	spec := func(s string, u tickets.Level) ticketSpec {
		return ticketSpec{subject: s, assignee: a.user.ID, urgency: u}
	}
	later := newQueueTicket(t, spec("due in 2h, normal", tickets.Normal))
	overdue := newQueueTicket(t, spec("overdue, low", tickets.Low))
	noClockUrgent := newQueueTicket(t, spec("no clock, urgent", tickets.Urgent))
	noClockLow := newQueueTicket(t, spec("no clock, low", tickets.Low))
	laterUrgent := newQueueTicket(t, spec("due in 2h, urgent", tickets.Urgent))
	twoClocks := newQueueTicket(t, spec("met early, due in 5h", tickets.Normal))
	noClockLow2 := newQueueTicket(t, spec("no clock, low, newer", tickets.Low))
	due2h := now.Add(2 * time.Hour).Truncate(time.Second)
	addClock(t, later.ID, "first_response", due2h, false)
	addClock(t, later.ID, "resolution", now.Add(48*time.Hour), false)
	addClock(t, overdue.ID, "first_response", now.Add(-10*time.Minute), false)
	addClock(t, laterUrgent.ID, "first_response", due2h, false)
	addClock(t, twoClocks.ID, "first_response", now.Add(-time.Hour), true)
	addClock(t, twoClocks.ID, "resolution", now.Add(5*time.Hour), false)
	want := []int64{overdue.ID, laterUrgent.ID, later.ID, twoClocks.ID, noClockUrgent.ID, noClockLow.ID, noClockLow2.ID}

	res := a.v.get("/desk/queue?view=mine")
	if got := listedIDs(res.body); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	body := string(res.body)
	if !regexp.MustCompile(`class="due breached"[^>]*>10 min overdue`).MatchString(body) {
		t.Error("the overdue ticket is not shown as breached")
	}
	if !regexp.MustCompile(`class="due "[^>]*>in 2 h 0 min`).MatchString(body) {
		t.Error("the ticket due in two hours is not shown with its time left")
	}

	// A stopped clock no longer counts: the ticket goes to the end of those with clocks.
	if err := db.Exec(`UPDATE sla_clocks SET stopped_at = now(), state = 'met' WHERE ticket_id = ? AND kind = 'first_response'`, later.ID).Error; err != nil {
		t.Fatal(err)
	}
	want2 := []int64{overdue.ID, laterUrgent.ID, twoClocks.ID, later.ID, noClockUrgent.ID, noClockLow.ID, noClockLow2.ID}
	if got := listedIDs(a.v.get("/desk/queue?view=mine").body); fmt.Sprint(got) != fmt.Sprint(want2) {
		t.Fatalf("after a clock stopped: order %v, want %v", got, want2)
	}

	// Pages of two through the domain call, across the boundary between due and no due time.
	ctx := context.Background()
	f := tickets.QueueFilter{AssigneeID: &a.user.ID, Limit: 2}
	var paged []int64
	for i := 0; ; i++ {
		page, err := testDesk().Queue(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			paged = append(paged, r.ID)
		}
		if page.Next == "" || i > 10 {
			break
		}
		f.Cursor = page.Next
	}
	if fmt.Sprint(paged) != fmt.Sprint(want2) {
		t.Errorf("paged %v, want %v", paged, want2)
	}
	if _, err := testDesk().Queue(ctx, tickets.QueueFilter{Cursor: "bm9wZQ"}); err == nil {
		t.Error("a made-up cursor was accepted")
	}
}

// The page's next link carries a cursor and the queue's filters; the next page continues
// where the first stopped.
func TestDeskQueueNextPageLink(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	var made []int64
	for i := range 27 {
		made = append(made, newQueueTicket(t, ticketSpec{subject: fmt.Sprintf("page ticket %d", i), assignee: a.user.ID}).ID)
	}
	first := a.v.get("/desk/queue?view=mine&status=new")
	ids1 := listedIDs(first.body)
	m := regexp.MustCompile(`href="(/desk/queue\?[^"]*cursor=[^"]+)" rel="next"`).FindSubmatch(first.body)
	if len(ids1) != 25 || m == nil {
		t.Fatalf("first page: %d rows, next link %q", len(ids1), m)
	}
	next := html.UnescapeString(string(m[1]))
	if !strings.Contains(next, "status=new") || !strings.Contains(next, "view=mine") {
		t.Errorf("the next link loses the filters: %s", next)
	}
	ids2 := listedIDs(a.v.get(next).body)
	if got := append(ids1, ids2...); fmt.Sprint(got) != fmt.Sprint(made) {
		t.Errorf("two pages gave %v, want %v", got, made)
	}
	// A stale or forged cursor starts again from the first page rather than failing.
	if res := a.v.get("/desk/queue?view=mine&cursor=garbage"); res.status != 200 || len(listedIDs(res.body)) != 25 {
		t.Errorf("bad cursor: %d", res.status)
	}
}

func TestDeskQueueRowsFragment(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	tk := newQueueTicket(t, ticketSpec{subject: "fragment", assignee: a.user.ID})
	page := a.v.get("/desk/queue?view=mine")
	m := regexp.MustCompile(`hx-get="(/desk/queue/rows\?[^"]+)" hx-trigger="every 15s"`).FindSubmatch(page.body)
	if m == nil {
		t.Fatalf("the rows region does not poll:\n%s", page.body)
	}
	poll := html.UnescapeString(string(m[1]))
	res := a.v.get(poll)
	if res.status != 200 || strings.Contains(string(res.body), "<html") || !strings.Contains(string(res.body), `id="queue-rows"`) {
		t.Fatalf("fragment: %d\n%s", res.status, res.body)
	}
	shows(t, "fragment", res.body, []*tickets.Ticket{tk}, nil)
	if strings.Contains(string(res.body), "new tickets since") {
		t.Error("a notice of new tickets with none new")
	}
	newer := newQueueTicket(t, ticketSpec{subject: "arrived later", assignee: a.user.ID})
	newQueueTicket(t, ticketSpec{subject: "someone else's"})
	res = a.v.get(poll)
	shows(t, "fragment after a new ticket", res.body, []*tickets.Ticket{tk, newer}, nil)
	if !strings.Contains(string(res.body), "1 new ticket since you opened this page") {
		t.Errorf("no notice of the new ticket:\n%s", res.body)
	}
	if res := a.v.get("/desk/queue/rows?view=mine"); res.status != 400 {
		t.Errorf("rows without since: %d", res.status)
	}
	if res := newVisitor(t, app).get(poll); res.status != 303 {
		t.Errorf("rows without a session: %d", res.status)
	}
}

func TestDeskQueueBulk(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	one := newQueueTicket(t, ticketSpec{subject: "bulk one"})
	two := newQueueTicket(t, ticketSpec{subject: "bulk two"})
	closed := newQueueTicket(t, ticketSpec{subject: "bulk closed", status: tickets.StatusClosed})
	a.v.get("/desk/queue?view=unassigned")
	form := url.Values{"ticket": {strconv.FormatInt(one.ID, 10), strconv.FormatInt(two.ID, 10), strconv.FormatInt(closed.ID, 10)},
		"assignee": {"me"}, "status": {"open"}, "return": {"view=mine&tier=new"}}

	// Without the form's token nothing happens.
	forged := cloneValues(form)
	forged.Set("_csrf", "forged")
	if res := a.v.post("/desk/queue/bulk", forged); res.status != 403 {
		t.Fatalf("bulk with a forged token: %d", res.status)
	}

	res := a.v.post("/desk/queue/bulk", form)
	if res.status != 303 || res.header.Get("Location") != "/desk/queue?tier=new&view=mine" {
		t.Fatalf("bulk: %d to %q %s", res.status, res.header.Get("Location"), res.body)
	}
	for _, tk := range []*tickets.Ticket{one, two} {
		if n := count(t, `SELECT count(*) FROM tickets WHERE id = ? AND assignee_id = ? AND status = 'open'`, tk.ID, a.user.ID); n != 1 {
			t.Errorf("ticket %d was not assigned and opened", tk.ID)
		}
		if n := count(t, `SELECT count(*) FROM events WHERE ticket_id = ? AND type IN ('ticket.status_changed', 'ticket.assignee_changed') AND actor_user_id = ?`, tk.ID, a.user.ID); n != 2 {
			t.Errorf("ticket %d: %d events by the agent, want 2", tk.ID, n)
		}
	}
	if n := count(t, `SELECT count(*) FROM tickets WHERE id = ? AND assignee_id IS NULL AND status = 'closed'`, closed.ID); n != 1 {
		t.Error("the closed ticket changed: a failed change must leave it whole")
	}
	page := a.v.get(res.header.Get("Location"))
	body := string(page.body)
	if !strings.Contains(body, "2 tickets changed.") || !strings.Contains(body, "1 ticket could not be changed") ||
		!strings.Contains(body, fmt.Sprintf(`%s</a>: it cannot move to Open`, tickets.Ref(closed.ID))) {
		t.Errorf("the flash does not report the outcome:\n%s", body)
	}
	shows(t, "after bulk", page.body, []*tickets.Ticket{one, two}, nil)
	// The message shows once.
	if strings.Contains(string(a.v.get("/desk/queue?view=mine").body), "tickets changed.") {
		t.Error("the flash shows again")
	}

	// Nothing selected: the page says so.
	a.v.post("/desk/queue/bulk", url.Values{"status": {"pending"}})
	if !strings.Contains(string(a.v.get("/desk/queue").body), "Select at least one ticket") {
		t.Error("no message for a bulk change without tickets")
	}
}

// Subjects and names are text, never markup.
func TestDeskQueueEscapesText(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	tk := newQueueTicket(t, ticketSpec{subject: "<script>alert(1)</script>", customer: "<script>alert(2)</script>", assignee: a.user.ID})
	for _, path := range []string{"/desk/queue?view=mine", fmt.Sprintf("/desk/customers/%d", tk.CustomerID)} {
		body := string(a.v.get(path).body)
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s: script tags came through", path)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(") {
			t.Errorf("%s: the escaped text is missing", path)
		}
	}
}

// The queue speaks the browser's language.
func TestDeskQueueInSpanish(t *testing.T) {
	a := newDeskStaff(t, tickets.RoleAgent)
	newQueueTicket(t, ticketSpec{subject: "hola", assignee: a.user.ID})
	req := httptest.NewRequest("GET", "/desk/queue", nil)
	req.Header.Set("Accept-Language", "es-ES,es;q=0.9")
	body := string(a.v.do(req).body)
	for _, want := range []string{"<h1>Cola</h1>", "Sin reloj en marcha", "Cambiar los tickets seleccionados", "Nuevo"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Spanish queue lacks %q", want)
		}
	}
}
