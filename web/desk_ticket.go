package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// The agent's ticket page: the conversation, the reply editor, the ticket's properties, its SLA
// clocks, the customer, suggestions and the history, plus a heartbeat that tells agents when a
// colleague is already answering. Any member of staff may open any ticket, as in the API.

// replyForm is what the reply editor holds; it comes back as typed when something is wrong.
type replyForm struct {
	Body, Kind, Status string
}

// propsForm is the properties form as chosen.
type propsForm struct {
	Status, Priority, Assignee, Team string
}

// ticketPageView is the ticket page's data.
type ticketPageView struct {
	Ticket         tickets.Ticket
	Customer       *tickets.CustomerRecord
	CustomerName   string
	CustomerTier   tickets.Tier
	PriorityRaised bool
	RaisedTier     string // the tier that raised the urgency at intake
	Messages       []messageView
	Events         []eventView
	SLAOn          bool
	Clocks         []clockView
	PastTickets    []tickets.Ticket
	Purchases      []tickets.Purchase
	Articles       []suggestionView
	Problems       []suggestionView
	// SuggestionsLater leaves the suggestions to a request of their own (ticket.js makes it),
	// so that the page does not wait for the search; without JavaScript a link asks for the
	// page with them.
	SuggestionsLater bool
	Viewers          []tickets.Viewer
	Users            []tickets.User // active staff, for the assignee list
	Teams            []tickets.Team
	NextStatuses     []tickets.Status // where the ticket may go from here
	Levels           []tickets.Level
	Reply            replyForm
	Props            propsForm
	Errors           map[string]string // by input name
	Notice           string
	MaxAttachments   int
	AttachMB         int64
}

type messageView struct {
	ID          int64
	Kind        string
	Author      string
	CreatedAt   time.Time
	Text        string
	HTML        template.HTML // sanitized by bluemonday; empty for text messages
	Attachments []tickets.Attachment
	Delivery    string // queued, sent or failed, for replies sent by email
}

type eventView struct {
	At     time.Time
	Who    string
	What   string
	Detail string
}

type clockView struct {
	Kind, State string
	Policy      string
	DueAt       *time.Time
	Left        string
	Class       string // clock-ok, clock-risk, clock-breached, clock-met
	AtRisk      bool
}

type suggestionView struct {
	Title, URL, Status string
	Snippet            template.HTML // escaped text with <mark>s, from the index
}

type presenceView struct {
	Viewers []tickets.Viewer
}

// suggestionsShown is how many articles and how many similar tickets the page offers.
const suggestionsShown = 5

func (s *server) deskTicket(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return s.renderTicket(c, fiber.StatusOK, id, replyForm{Kind: string(tickets.MessageReply)}, nil, nil, "")
}

// renderTicket loads everything the page shows and renders it with the forms as given (nil
// props: the ticket's own values).
func (s *server) renderTicket(c *fiber.Ctx, status int, id int64, reply replyForm, props *propsForm, errs map[string]string, notice string) error {
	ctx := c.UserContext()
	user := currentUser(c)
	w := s.wordsFor(c)
	detail, err := s.Desk.Get(ctx, id)
	if err != nil {
		return err
	}
	cust, err := s.Customers.Get(ctx, detail.CustomerID)
	if err != nil {
		return err
	}
	users, err := s.Staff.Users(ctx)
	if err != nil {
		return err
	}
	teams, err := s.Staff.Teams(ctx)
	if err != nil {
		return err
	}
	// Opening the page counts as being here; the page's script keeps it fresh.
	if err := s.Desk.TouchPresence(ctx, id, user.ID, false); err != nil {
		return err
	}
	viewers, err := s.Desk.Viewers(ctx, id, user.ID)
	if err != nil {
		return err
	}
	if rand.IntN(50) == 0 {
		if err := s.Desk.PrunePresence(ctx); err != nil {
			s.Logger.Warn("ticket page: pruning presence", "error", err, "request_id", requestID(c))
		}
	}
	names := make(map[int64]string, len(users))
	view := ticketPageView{
		Ticket: detail.Ticket, Customer: cust, CustomerName: customerName(cust), CustomerTier: cust.Tier(),
		Viewers: viewers, Teams: teams, Levels: []tickets.Level{tickets.Low, tickets.Normal, tickets.High, tickets.Urgent},
		Reply: reply, Errors: errs, Notice: notice,
		MaxAttachments: s.Config.Form.MaxAttachments, AttachMB: s.Config.Form.MaxAttachmentBytes >> 20,
	}
	for _, u := range users {
		names[u.ID] = u.Name
		if u.DisabledAt == nil {
			view.Users = append(view.Users, u)
		}
	}
	if view.Errors == nil {
		view.Errors = map[string]string{}
	}
	for _, st := range tickets.Statuses {
		if detail.Status.CanBecome(st) {
			view.NextStatuses = append(view.NextStatuses, st)
		}
	}
	if props == nil {
		props = &propsForm{Status: string(detail.Status), Priority: detail.Priority.String(), Assignee: idString(detail.AssigneeID), Team: idString(detail.TeamID)}
	}
	view.Props = *props
	if view.Messages, err = s.messageViews(c, detail.Messages, names, view.CustomerName, detail.CustomerID); err != nil {
		return err
	}
	teamNames := make(map[int64]string, len(teams))
	for _, t := range teams {
		teamNames[t.ID] = t.Name
	}
	view.Events = eventViews(w, detail.Events, names, teamNames, view.CustomerName)
	for _, e := range detail.Events {
		if e.Type != tickets.EventTicketCreated {
			continue
		}
		var data map[string]any
		if json.Unmarshal(e.Data, &data) == nil && data["priority_reason"] != nil {
			view.PriorityRaised, view.RaisedTier = true, fmt.Sprint(data["tier"])
		}
	}
	for _, t := range cust.Tickets {
		if t.ID != id && len(view.PastTickets) < 5 {
			view.PastTickets = append(view.PastTickets, t)
		}
	}
	view.Purchases = cust.Purchases[:min(len(cust.Purchases), 5)]
	if s.SLA != nil {
		view.SLAOn = true
		clocks, err := s.SLA.TicketClocks(ctx, id)
		if err != nil {
			return err
		}
		for _, cl := range clocks {
			view.Clocks = append(view.Clocks, newClockView(w, cl))
		}
	}
	if c.Query("suggestions") == "now" {
		s.addSuggestions(c, &view)
	} else {
		view.SuggestionsLater = s.Knowledge != nil
	}
	return s.render(c, status, "desk_ticket.html", view)
}

func customerName(r *tickets.CustomerRecord) string {
	if r.Name != "" {
		return r.Name
	}
	if len(r.Identities) > 0 {
		return r.Identities[0].Value
	}
	return tickets.Ref(r.ID)
}

func idString(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

// messageViews prepares the conversation. HTML bodies were sanitized when stored; they are
// sanitized again here so that no path into the table can put markup on this page unchecked.
func (s *server) messageViews(c *fiber.Ctx, msgs []tickets.Message, users map[int64]string, customer string, customerID int64) ([]messageView, error) {
	out := make([]messageView, len(msgs))
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
		v := messageView{ID: m.ID, Kind: string(m.Kind), CreatedAt: m.CreatedAt, Text: m.BodyText, Attachments: m.Attachments}
		if m.BodyHTML != "" {
			v.HTML = template.HTML(inlineImages(tickets.SanitizeHTML(m.BodyHTML), m.Attachments))
		}
		switch {
		case m.AuthorUserID != nil:
			v.Author = users[*m.AuthorUserID]
		case m.AuthorCustomerID != nil && *m.AuthorCustomerID == customerID:
			v.Author = customer
		}
		out[i] = v
	}
	if s.Mail == nil || len(ids) == 0 {
		return out, nil
	}
	deliveries, err := mailout.Deliveries(c.UserContext(), s.Mail.DB, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if d, ok := deliveries[out[i].ID]; ok {
			out[i].Delivery = d.Status
		}
	}
	return out, nil
}

var cidSource = regexp.MustCompile(`src="cid:([^"]*)"`)

// inlineImages points a mail's cid: images at the attachments that carry them, so that the
// pictures in a message show where the sender put them. Unknown ids stay as they are.
func inlineImages(safeHTML string, files []tickets.Attachment) string {
	if len(files) == 0 || !strings.Contains(safeHTML, `src="cid:`) {
		return safeHTML
	}
	return cidSource.ReplaceAllStringFunc(safeHTML, func(src string) string {
		cid := strings.Trim(html.UnescapeString(cidSource.FindStringSubmatch(src)[1]), "<>")
		for _, f := range files {
			if f.ContentID != "" && f.ContentID == cid {
				return `src="/desk/attachments/` + strconv.FormatInt(f.ID, 10) + `"`
			}
		}
		return src
	})
}

// eventViews puts the audit trail into words: who, what, and the values that moved.
func eventViews(w *words, events []tickets.Event, users, teams map[int64]string, customer string) []eventView {
	out := make([]eventView, 0, len(events))
	name := func(m map[int64]string, v any) string {
		f, ok := v.(float64)
		if !ok {
			return w.T("ticket_none")
		}
		if n, ok := m[int64(f)]; ok {
			return n
		}
		return "#" + strconv.FormatInt(int64(f), 10)
	}
	for _, e := range events {
		ev := eventView{At: e.CreatedAt}
		switch {
		case e.ActorKind == "user" && e.ActorUserID != nil:
			ev.Who = users[*e.ActorUserID]
		case e.ActorKind == "customer":
			ev.Who = customer
		default:
			ev.Who = w.T("ticket_system")
		}
		key := "ticket_ev_" + eventKey(e.Type)
		if ev.What = w.T(key); ev.What == key {
			ev.What = e.Type
		}
		var data map[string]any
		_ = json.Unmarshal(e.Data, &data)
		from, to := data["from"], data["to"]
		switch e.Type {
		case tickets.EventStatusChanged:
			ev.Detail = w.Of("status_", from) + " → " + w.Of("status_", to)
		case tickets.EventPriorityChanged:
			ev.Detail = w.Of("level_", from) + " → " + w.Of("level_", to)
		case tickets.EventAssigneeChanged:
			ev.Detail = name(users, from) + " → " + name(users, to)
		case tickets.EventTeamChanged:
			ev.Detail = name(teams, from) + " → " + name(teams, to)
		case tickets.EventSubjectChanged:
			ev.Detail = fmt.Sprint(from) + " → " + fmt.Sprint(to)
		case tickets.EventMessageAdded:
			ev.Detail = w.Of("message_", data["kind"])
		case tickets.EventTicketCreated:
			ev.Detail = w.Of("channel_", data["channel"])
		}
		out = append(out, ev)
	}
	return out
}

// eventKey makes a catalog id of an event type: ticket.status_changed → ticket_status_changed.
func eventKey(t string) string {
	b := []byte(t)
	for i, ch := range b {
		if ch == '.' || ch == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

func newClockView(w *words, cl sla.ClockView) clockView {
	v := clockView{Kind: string(cl.Kind), State: string(cl.State), Policy: cl.PolicyName, DueAt: cl.DueAt, Class: "clock-ok"}
	target := time.Duration(cl.TargetMinutes) * time.Minute
	if cl.Remaining != nil {
		left := *cl.Remaining
		if left < 0 {
			v.Left = w.T("ticket_clock_overdue", "Time", shortDuration(-left))
		} else {
			v.Left = w.T("ticket_clock_left", "Time", shortDuration(left))
			v.AtRisk = cl.State != sla.Breached && (cl.WarnedAt != nil || left < target/5)
		}
	}
	switch {
	case cl.State == sla.Breached:
		v.Class = "clock-breached"
	case v.AtRisk:
		v.Class = "clock-risk"
	case cl.State == sla.Met:
		v.Class = "clock-met"
	case cl.State == sla.Paused:
		v.Class = "clock-paused"
	}
	return v
}

// shortDuration writes a span as people read it on a clock: 2d 3h, 4h 05m, 12m.
func shortDuration(d time.Duration) string {
	m := int64(d.Round(time.Minute) / time.Minute)
	switch {
	case m >= 24*60:
		return fmt.Sprintf("%dd %dh", m/(24*60), m%(24*60)/60)
	case m >= 60:
		return fmt.Sprintf("%dh %02dm", m/60, m%60)
	}
	return fmt.Sprintf("%dm", m)
}

// addSuggestions adds articles and similar solved tickets, as the API's suggestions route finds
// them. The index is a derived view: when it fails, the page still shows the ticket.
// deskTicketSuggestions is the suggestions panel of a ticket alone, for the page's script.
func (s *server) deskTicketSuggestions(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.Desk.Get(c.UserContext(), id); err != nil {
		return err
	}
	view := ticketPageView{}
	view.Ticket.ID = id
	s.addSuggestions(c, &view)
	return s.renderFragment(c, "desk_ticket.html", "ticket_suggestions", view)
}

func (s *server) addSuggestions(c *fiber.Ctx, view *ticketPageView) {
	if s.Knowledge == nil {
		return
	}
	sug, err := s.Knowledge.SuggestForTicket(c.UserContext(), view.Ticket.ID, suggestionsShown)
	if err != nil {
		s.Logger.Warn("ticket page: suggestions", "error", err, "request_id", requestID(c))
		return
	}
	for _, h := range sug.Articles {
		view.Articles = append(view.Articles, suggestionView{Title: h.Title, URL: kbArticlePath(h.ID), Snippet: template.HTML(h.Snippet)})
	}
	for _, h := range sug.Problems {
		view.Problems = append(view.Problems, suggestionView{Title: h.Title, URL: "/desk/tickets/" + strconv.FormatInt(h.ID, 10),
			Status: h.Status, Snippet: template.HTML(h.Snippet)})
	}
}

// deskTicketReply adds a public reply or an internal note, with files and optionally a new
// status, then goes back to the ticket.
func (s *server) deskTicketReply(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	user := currentUser(c)
	w := s.wordsFor(c)
	form := replyForm{Body: c.FormValue("body"), Kind: c.FormValue("kind"), Status: c.FormValue("status")}
	errs := map[string]string{}
	var uploads tickets.ValidationError
	files := s.formAttachments(c, w, &uploads)
	if msg := uploads.Message("attachments"); msg != "" {
		errs["attachments"] = msg
	}
	in := tickets.StaffMessage{Kind: tickets.MessageKind(form.Kind), AuthorID: user.ID, Body: form.Body, Attachments: files}
	if in.Kind != tickets.MessageReply && in.Kind != tickets.MessageNote {
		errs["kind"] = w.T("ticket_choose_kind")
	}
	if form.Status != "" {
		st, err := tickets.ParseStatus(form.Status)
		if err != nil {
			errs["status"] = w.T("ticket_choose_status")
		}
		in.Status = &st
	}
	if len(errs) == 0 {
		msg, err := s.Desk.AddStaffMessage(c.UserContext(), id, in)
		if err == nil {
			if err := s.Desk.StoppedReplying(c.UserContext(), id, user.ID); err != nil {
				s.Logger.Warn("ticket reply: clearing presence", "error", err, "request_id", requestID(c))
			}
			return c.Redirect(fmt.Sprintf("/desk/tickets/%d#message-%d", id, msg.ID), fiber.StatusSeeOther)
		}
		if !s.ticketFieldErrors(c, err, errs, map[string]string{"body": "body", "kind": "kind", "status": "status", "ticket": "body"}, form.Status) {
			return err
		}
	}
	if len(files) > 0 && errs["attachments"] == "" {
		errs["attachments"] = w.T("attach_again")
	}
	return s.renderTicket(c, fiber.StatusUnprocessableEntity, id, form, nil, errs, w.T("form_fix_fields"))
}

// ticketFieldErrors puts a domain error next to the inputs it concerns, in the page's language.
// It reports false for errors that are not about the input.
func (s *server) ticketFieldErrors(c *fiber.Ctx, err error, errs map[string]string, inputs map[string]string, wantStatus string) bool {
	w := s.wordsFor(c)
	var (
		invalid  *tickets.ValidationError
		conflict *tickets.ConflictError
	)
	switch {
	case errors.As(err, &conflict) && conflict.Field == "ticket":
		errs[inputs["ticket"]] = w.T("ticket_closed_reply")
		return true
	case errors.As(err, &invalid):
		for _, f := range invalid.Fields {
			input, ok := inputs[f.Field]
			if strings.HasPrefix(f.Field, "attachments") {
				input, ok = "attachments", true
			}
			if !ok || errs[input] != "" {
				continue
			}
			switch {
			case f.Field == "status":
				errs[input] = w.T("ticket_bad_transition", "To", w.Of("status_", wantStatus))
			case domainMessages[f.Message] != "":
				errs[input] = w.T(domainMessages[f.Message])
			default:
				errs[input] = w.T(sentence(f.Message))
			}
		}
		return len(errs) > 0
	}
	return false
}

// domainMessages are the desk's messages about a ticket's properties, by catalog id.
var domainMessages = map[string]string{
	"the assignee is not a member of the ticket's team": "ticket_err_not_member",
	"no such active user":                               "ticket_err_no_user",
	"no such team":                                      "ticket_err_no_team",
}

// deskTicketUpdate changes status, priority, assignee and team from the properties form. Only
// what differs from the ticket as it is now goes to the desk, so that one change does not
// undo another made meanwhile by someone else.
func (s *server) deskTicketUpdate(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	form := propsForm{Status: c.FormValue("status"), Priority: c.FormValue("priority"), Assignee: c.FormValue("assignee"), Team: c.FormValue("team")}
	detail, err := s.Desk.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	t := detail.Ticket
	errs := map[string]string{}
	var change tickets.TicketChange
	if st, err := tickets.ParseStatus(form.Status); err != nil {
		errs["prop_status"] = w.T("ticket_choose_status")
	} else if st != t.Status {
		change.Status = &st
	}
	if l, err := tickets.ParseLevel(form.Priority); err != nil {
		errs["priority"] = w.T("ticket_choose_priority")
	} else if l != t.Priority {
		change.Priority = &l
	}
	for _, f := range []struct {
		input   string
		current *int64
		target  *tickets.OptionalID
	}{{"assignee", t.AssigneeID, &change.AssigneeID}, {"team", t.TeamID, &change.TeamID}} {
		raw := form.Assignee
		if f.input == "team" {
			raw = form.Team
		}
		var n int64
		if raw != "" {
			if n, err = strconv.ParseInt(raw, 10, 64); err != nil || n <= 0 {
				errs[f.input] = w.T("ticket_choose_" + f.input)
				continue
			}
		}
		if idString(f.current) != raw {
			*f.target = tickets.OptionalID{Set: true, ID: n}
		}
	}
	if len(errs) == 0 {
		if change.Empty() {
			return c.Redirect(fmt.Sprintf("/desk/tickets/%d", id), fiber.StatusSeeOther)
		}
		_, err := s.Desk.Update(c.UserContext(), id, tickets.StaffActor(currentUser(c).ID), change)
		if err == nil {
			return c.Redirect(fmt.Sprintf("/desk/tickets/%d", id), fiber.StatusSeeOther)
		}
		inputs := map[string]string{"status": "prop_status", "priority": "priority", "assignee_id": "assignee", "team_id": "team"}
		if !s.ticketFieldErrors(c, err, errs, inputs, form.Status) {
			return err
		}
	}
	return s.renderTicket(c, fiber.StatusUnprocessableEntity, id, replyForm{Kind: string(tickets.MessageReply)}, &form, errs, w.T("form_fix_fields"))
}

// deskTicketHeartbeat records that the agent has the ticket open, and whether they are typing
// a reply. The page's script sends one every 20 seconds and one as typing starts.
func (s *server) deskTicketHeartbeat(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	typing := c.FormValue("typing") == "1"
	if err := s.Desk.TouchPresence(c.UserContext(), id, currentUser(c).ID, typing); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// deskTicketPresence is the fragment that says who else has the ticket open, polled by the page.
func (s *server) deskTicketPresence(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	viewers, err := s.Desk.Viewers(c.UserContext(), id, currentUser(c).ID)
	if err != nil {
		return err
	}
	return s.renderFragment(c, "desk_ticket.html", "ticket_presence", presenceView{Viewers: viewers})
}

// deskAttachment downloads a file of a ticket for staff, as the API does: always as a download,
// never rendered as a page of ours.
func (s *server) deskAttachment(c *fiber.Ctx) error {
	return s.apiGetAttachment(c)
}
