package web

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The agents' queue: views of the open tickets (mine, my teams', unassigned, breaching, all),
// filters, keyset pages in SLA order, bulk changes through the desk, and a rows region that
// htmx reloads every 15 seconds.

// queueViews are the views, in the order the page offers them. "all" is for supervisors and
// admins only.
var queueViews = []string{"mine", "team", "unassigned", "breaching", "all"}

// breachingWithin is how soon a clock must fall due for its ticket to count as breaching.
const breachingWithin = time.Hour

// queueParams are the query parameters that define a queue; the rows region and the bulk form
// carry them so that they come back to the same queue.
var queueParams = []string{"view", "status", "priority", "tier", "team", "channel", "mailbox"}

type queueView struct {
	View   string
	Views  []string
	Form   map[string]string // the query as given, for the filter form
	Errors map[string]string // filter fields whose values were refused
	// Query is the queue's query string without the cursor, encoded by url.Values, so that
	// links keep it as it is.
	Query      template.URL
	Cursor     string
	Rows       []queueRowView
	NextURL    string
	Since      int64 // the newest ticket id when the page was loaded
	NewCount   int64
	Teams      []tickets.Team
	Agents     []tickets.User
	Mailboxes  []mailboxOption
	Statuses   []tickets.Status // the filter's: open ones and solved
	BulkTo     []tickets.Status // what a bulk change can set
	Priorities []tickets.Level
	Tiers      []tickets.Tier
	Channels   []tickets.Channel
	Flash      *bulkFlash
}

type mailboxOption struct {
	ID   int64
	Name string
}

type queueRowView struct {
	tickets.QueueRow
	DueText  string // time left or overdue; "" without a running clock
	DueClass string // "breached", "at-risk" or ""
}

func (s *server) deskQueue(c *fiber.Ctx) error {
	v, f, err := s.queueRequest(c)
	if err != nil {
		return s.queueError(c, err)
	}
	if v.Since, err = s.Desk.QueueLastID(c.UserContext()); err != nil {
		return err
	}
	if err := s.loadQueueRows(c, v, f); err != nil {
		return err
	}
	ctx := c.UserContext()
	if v.Agents, err = s.Staff.Users(ctx); err != nil {
		return err
	}
	v.Agents = slices.DeleteFunc(v.Agents, func(u tickets.User) bool { return u.DisabledAt != nil })
	if s.Mail != nil && s.Mail.Mailboxes != nil {
		boxes, err := s.Mail.Mailboxes.List(ctx)
		if err != nil {
			return err
		}
		for _, b := range boxes {
			v.Mailboxes = append(v.Mailboxes, mailboxOption{b.ID, b.Name})
		}
	}
	v.Flash = s.takeFlash(c)
	status := fiber.StatusOK
	if len(v.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	}
	return s.render(c, status, "desk_queue.html", v)
}

// deskQueueRows is the rows region alone, for htmx to reload.
func (s *server) deskQueueRows(c *fiber.Ctx) error {
	v, f, err := s.queueRequest(c)
	if err != nil {
		return s.queueError(c, err)
	}
	if v.Since, err = strconv.ParseInt(c.Query("since"), 10, 64); err != nil || v.Since < 0 {
		return badRequest("since", "must be a ticket id")
	}
	if err := s.loadQueueRows(c, v, f); err != nil {
		return err
	}
	if v.NewCount, err = s.Desk.QueueNewSince(c.UserContext(), f, v.Since); err != nil {
		return err
	}
	return s.renderFragment(c, "desk_queue.html", "desk_queue_rows", v)
}

func (s *server) loadQueueRows(c *fiber.Ctx, v *queueView, f tickets.QueueFilter) error {
	page, err := s.Desk.Queue(c.UserContext(), f)
	var invalid *tickets.ValidationError
	if errors.As(err, &invalid) {
		// A cursor from an old link: start from the first page.
		f.Cursor, v.Cursor = "", ""
		page, err = s.Desk.Queue(c.UserContext(), f)
	}
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	now := time.Now()
	for _, r := range page.Items {
		row := queueRowView{QueueRow: r}
		row.DueText, row.DueClass = dueLabel(w, r.SLADueAt, now)
		v.Rows = append(v.Rows, row)
	}
	if page.Next != "" {
		v.NextURL = "/desk/queue?" + string(v.Query) + "&cursor=" + url.QueryEscape(page.Next)
	}
	return nil
}

// queueRequest reads the queue's query: the view and its filters. A filter value that is not
// one of the offered ones is left out and reported next to its field.
func (s *server) queueRequest(c *fiber.Ctx) (*queueView, tickets.QueueFilter, error) {
	user := currentUser(c)
	ctx := c.UserContext()
	v := &queueView{
		Views: queueViews, Form: map[string]string{}, Errors: map[string]string{},
		Statuses:   append(slices.Clip(tickets.OpenStatuses), tickets.StatusSolved),
		BulkTo:     []tickets.Status{tickets.StatusOpen, tickets.StatusPending, tickets.StatusOnHold, tickets.StatusSolved, tickets.StatusClosed},
		Priorities: []tickets.Level{tickets.Urgent, tickets.High, tickets.Normal, tickets.Low},
		Tiers:      tickets.Tiers, Channels: []tickets.Channel{tickets.ChannelEmail, tickets.ChannelWeb, tickets.ChannelAPI, tickets.ChannelPhone},
	}
	q := url.Values{}
	for _, p := range queueParams {
		if val := strings.TrimSpace(c.Query(p)); val != "" {
			v.Form[p] = val
			q.Set(p, val)
		}
	}
	var f tickets.QueueFilter
	f.Cursor, v.Cursor = c.Query("cursor"), c.Query("cursor")
	w := s.wordsFor(c)

	v.View = v.Form["view"]
	if v.View == "" {
		v.View = "mine"
		q.Set("view", "mine")
	}
	if !slices.Contains(queueViews, v.View) {
		return nil, f, badRequest("view", "must be one of mine, team, unassigned, breaching, all")
	}
	if v.View == "all" && !user.Role.Includes(tickets.RoleSupervisor) {
		return nil, f, errAllForbidden
	}
	teams, err := s.Staff.Teams(ctx)
	if err != nil {
		return nil, f, err
	}
	v.Teams = teams
	switch v.View {
	case "mine":
		f.AssigneeID = &user.ID
	case "team":
		f.TeamIDs = []int64{}
		for _, t := range teams {
			if slices.Contains(t.MemberIDs, user.ID) {
				f.TeamIDs = append(f.TeamIDs, t.ID)
			}
		}
	case "unassigned":
		f.AssigneeID = new(int64)
	case "breaching":
		due := time.Now().Add(breachingWithin)
		f.DueBefore = &due
	}

	if val := v.Form["status"]; val != "" {
		if st, err := tickets.ParseStatus(val); err != nil || !slices.Contains(v.Statuses, st) {
			v.Errors["status"] = w.T("queue_bad_filter")
		} else {
			f.Statuses = []tickets.Status{st}
		}
	}
	if val := v.Form["priority"]; val != "" {
		if l, err := tickets.ParseLevel(val); err != nil {
			v.Errors["priority"] = w.T("queue_bad_filter")
		} else {
			f.Priority = l
		}
	}
	if val := v.Form["tier"]; val != "" {
		if !slices.Contains(tickets.Tiers, tickets.Tier(val)) {
			v.Errors["tier"] = w.T("queue_bad_filter")
		} else {
			f.Tier = tickets.Tier(val)
		}
	}
	if val := v.Form["channel"]; val != "" {
		if !tickets.Channel(val).Valid() {
			v.Errors["channel"] = w.T("queue_bad_filter")
		} else {
			f.Channel = tickets.Channel(val)
		}
	}
	if val := v.Form["team"]; val != "" {
		id, err := strconv.ParseInt(val, 10, 64)
		if err != nil || !slices.ContainsFunc(teams, func(t tickets.Team) bool { return t.ID == id }) {
			v.Errors["team"] = w.T("queue_bad_filter")
		} else if f.TeamIDs == nil || slices.Contains(f.TeamIDs, id) {
			f.TeamIDs = []int64{id}
		} else {
			f.TeamIDs = []int64{} // a team of others in the view of my teams: nothing
		}
	}
	if val := v.Form["mailbox"]; val != "" {
		if id, err := strconv.ParseInt(val, 10, 64); err != nil || id <= 0 {
			v.Errors["mailbox"] = w.T("queue_bad_filter")
		} else {
			f.MailboxID = id
		}
	}
	for field := range v.Errors {
		q.Del(field)
	}
	v.Query = template.URL(q.Encode())
	return v, f, nil
}

// dueLabel says how long a ticket has until its next SLA clock falls due, or how long it is
// overdue.
func dueLabel(w *words, due *time.Time, now time.Time) (string, string) {
	if due == nil {
		return "", ""
	}
	left := due.Sub(now)
	switch {
	case left <= 0:
		return w.T("queue_overdue", "Time", span(w, -left)), "breached"
	case left <= breachingWithin:
		return w.T("queue_due_in", "Time", span(w, left)), "at-risk"
	}
	return w.T("queue_due_in", "Time", span(w, left)), ""
}

// span words a duration to the minute.
func span(w *words, d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m >= 24*60:
		return w.T("queue_span_days", "D", m/(24*60), "H", m%(24*60)/60)
	case m >= 60:
		return w.T("queue_span_hours", "H", m/60, "M", m%60)
	}
	return w.T("queue_span_minutes", "M", m)
}

// bulkFlash is the outcome of a bulk change, shown once on the page the form returns to.
type bulkFlash struct {
	Changed int          `json:"changed"`
	Failed  []bulkFailed `json:"failed,omitempty"`
	Problem string       `json:"problem,omitempty"` // a catalog id: the form itself was wrong
	Merged  int64        `json:"merged,omitempty"`  // a customer merged into the page's
}

type bulkFailed struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
}

const flashCookie = "helpdesk_flash"

// setFlash keeps a message for the next page in a signed, short-lived cookie.
func (s *server) setFlash(c *fiber.Ctx, f bulkFlash) {
	raw, _ := json.Marshal(f)
	value := base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(s.mac("flash", raw))
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: value, Path: "/desk", HTTPOnly: true, Secure: s.secureCookies(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().Add(time.Minute)})
}

// takeFlash reads and clears the message the last form left.
func (s *server) takeFlash(c *fiber.Ctx) *bulkFlash {
	value := c.Cookies(flashCookie)
	if value == "" {
		return nil
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/desk", HTTPOnly: true, Secure: s.secureCookies(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(0, 0)})
	data, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(data)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac("flash", raw)) {
		return nil
	}
	var f bulkFlash
	if json.Unmarshal(raw, &f) != nil {
		return nil
	}
	return &f
}

// deskQueueBulk assigns and moves the selected tickets one by one through the desk, so that
// events, SLA clocks and routing follow each change, and reports what changed and what could
// not.
func (s *server) deskQueueBulk(c *fiber.Ctx) error {
	user := currentUser(c)
	back := "/desk/queue"
	if ret, err := url.ParseQuery(c.FormValue("return")); err == nil {
		q := url.Values{}
		for _, p := range queueParams {
			if v := ret.Get(p); v != "" {
				q.Set(p, v)
			}
		}
		if len(q) > 0 {
			back += "?" + q.Encode()
		}
	}
	var ids []int64
	for _, raw := range c.Request().PostArgs().PeekMulti("ticket") {
		id, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || id <= 0 {
			return badRequest("ticket", "must be ticket ids")
		}
		ids = append(ids, id)
	}
	var change tickets.TicketChange
	switch a := c.FormValue("assignee"); a {
	case "":
	case "me":
		change.AssigneeID = tickets.OptionalID{Set: true, ID: user.ID}
	case "none":
		change.AssigneeID = tickets.OptionalID{Set: true}
	default:
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return badRequest("assignee", "must be a user id, me or none")
		}
		change.AssigneeID = tickets.OptionalID{Set: true, ID: id}
	}
	if st := c.FormValue("status"); st != "" {
		status, err := tickets.ParseStatus(st)
		if err != nil {
			return badRequest("status", err.Error())
		}
		change.Status = &status
	}
	var flash bulkFlash
	switch {
	case len(ids) == 0:
		flash.Problem = "queue_bulk_none_selected"
	case change.Empty():
		flash.Problem = "queue_bulk_nothing_to_do"
	default:
		w := s.wordsFor(c)
		for _, id := range ids {
			_, err := s.Desk.Update(c.UserContext(), id, tickets.StaffActor(user.ID), change)
			var invalid *tickets.ValidationError
			switch {
			case err == nil:
				flash.Changed++
			case errors.As(err, &invalid):
				flash.Failed = append(flash.Failed, bulkFailed{id, bulkReason(w, invalid, change)})
			case errors.Is(err, tickets.ErrNotFound):
				flash.Failed = append(flash.Failed, bulkFailed{id, w.T("queue_bulk_not_found")})
			default:
				return err
			}
		}
	}
	s.setFlash(c, flash)
	return c.Redirect(back, fiber.StatusSeeOther)
}

// bulkReason words why the desk refused a change of one ticket.
func bulkReason(w *words, invalid *tickets.ValidationError, change tickets.TicketChange) string {
	switch invalid.Fields[0].Field {
	case "status":
		return w.T("queue_bulk_bad_status", "Status", w.Of("status_", *change.Status))
	case "assignee_id":
		return w.T("queue_bulk_bad_assignee")
	}
	return w.T(sentence(invalid.Fields[0].Message))
}

// errAllForbidden is an agent asking for the queue of all tickets.
var errAllForbidden = errors.New("the all view is for supervisors and admins")

// queueError shows the queue's own refusals as pages and passes other errors on.
func (s *server) queueError(c *fiber.Ctx, err error) error {
	if errors.Is(err, errAllForbidden) {
		return s.renderErrorPage(c, fiber.StatusForbidden, s.wordsFor(c).T("queue_all_forbidden"))
	}
	return err
}
