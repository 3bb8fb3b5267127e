package web

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// clockJSON is a ticket's SLA clock as the API shows it.
type clockJSON struct {
	Kind          string     `json:"kind"`
	Cycle         int        `json:"cycle"`
	State         string     `json:"state"`
	Paused        bool       `json:"paused"`
	DueAt         *time.Time `json:"due_at"`
	Remaining     *int64     `json:"remaining_seconds"`
	Elapsed       int64      `json:"elapsed_seconds"`
	TargetMinutes int        `json:"target_minutes"`
	Business      bool       `json:"business"`
	StartedAt     time.Time  `json:"started_at"`
	StoppedAt     *time.Time `json:"stopped_at"`
	BreachedAt    *time.Time `json:"breached_at"`
	WarnedAt      *time.Time `json:"warned_at"`
	PolicyID      *int64     `json:"policy_id"`
	Policy        string     `json:"policy"`
}

func newClockJSON(v sla.ClockView) clockJSON {
	out := clockJSON{
		Kind: string(v.Kind), Cycle: v.Cycle, State: string(v.State), Paused: v.Paused, DueAt: utc(v.DueAt),
		Elapsed: int64(v.Elapsed / time.Second), TargetMinutes: v.TargetMinutes, Business: v.Business,
		StartedAt: v.StartedAt.UTC(), StoppedAt: utc(v.StoppedAt), BreachedAt: utc(v.BreachedAt), WarnedAt: utc(v.WarnedAt),
		PolicyID: v.PolicyID, Policy: v.PolicyName,
	}
	if v.Remaining != nil {
		r := int64(*v.Remaining / time.Second)
		out.Remaining = &r
	}
	return out
}

// ticketClocks is the sla field of a ticket: never null, empty without an SLA service.
func (s *server) ticketClocks(c *fiber.Ctx, ticketID int64) ([]clockJSON, error) {
	out := []clockJSON{}
	if s.SLA == nil {
		return out, nil
	}
	views, err := s.SLA.TicketClocks(c.UserContext(), ticketID)
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		out = append(out, newClockJSON(v))
	}
	return out, nil
}

// needSLA answers 404 on SLA routes of a server built without the SLA service.
func (s *server) needSLA() error {
	if s.SLA == nil {
		return tickets.ErrNotFound
	}
	return nil
}

// knownParams refuses query parameters a route does not take: a typo would otherwise be
// silently ignored.
func knownParams(c *fiber.Ctx, known ...string) error {
	var bad error
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if bad != nil {
			return
		}
		for _, name := range known {
			if string(k) == name {
				return
			}
		}
		bad = badRequest(string(k), "is not a known parameter ("+strings.Join(known, ", ")+")")
	})
	return bad
}

type atRiskJSON struct {
	Ticket struct {
		ID         int64  `json:"id"`
		Ref        string `json:"ref"`
		Subject    string `json:"subject"`
		Status     string `json:"status"`
		Priority   string `json:"priority"`
		AssigneeID *int64 `json:"assignee_id"`
		TeamID     *int64 `json:"team_id"`
	} `json:"ticket"`
	Clock clockJSON `json:"clock"`
}

// apiSLAAtRisk lists running clocks that are overdue or fall due soon: what to work on next.
func (s *server) apiSLAAtRisk(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	if err := knownParams(c, "within", "team", "assignee", "limit"); err != nil {
		return err
	}
	f := sla.AtRiskFilter{Within: 4 * time.Hour}
	if v := c.Query("within"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 30*24*time.Hour {
			return badRequest("within", "must be a duration from 0 to 720h, such as 90m or 4h")
		}
		f.Within = d
	}
	var err error
	if f.TeamID, err = optionalIDParam(c, "team", 0); err != nil {
		return err
	}
	if f.AssigneeID, err = optionalIDParam(c, "assignee", currentUser(c).ID); err != nil {
		return err
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return badRequest("limit", "must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	items, err := s.SLA.AtRisk(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]atRiskJSON, len(items))
	for i, it := range items {
		o := &out[i]
		o.Ticket.ID, o.Ticket.Ref, o.Ticket.Subject = it.TicketID, tickets.Ref(it.TicketID), it.Subject
		o.Ticket.Status, o.Ticket.Priority = string(it.Status), it.Priority.String()
		o.Ticket.AssigneeID, o.Ticket.TeamID = it.AssigneeID, it.TeamID
		o.Clock = newClockJSON(it.Clock)
	}
	return c.JSON(fiber.Map{"items": out})
}

// optionalIDParam reads an id filter: an id, "none" (pointer to 0), or "me" when me is not 0.
func optionalIDParam(c *fiber.Ctx, name string, me int64) (*int64, error) {
	switch v := c.Query(name); {
	case v == "":
		return nil, nil
	case v == "none":
		return new(int64), nil
	case v == "me" && me != 0:
		return &me, nil
	default:
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			if me != 0 {
				return nil, badRequest(name, "must be an id, me or none")
			}
			return nil, badRequest(name, "must be an id or none")
		}
		return &id, nil
	}
}

type durationsJSON struct {
	Count          int64    `json:"count"`
	MedianBusiness *float64 `json:"median_business_seconds"`
	P90Business    *float64 `json:"p90_business_seconds"`
	MedianCalendar *float64 `json:"median_calendar_seconds"`
	P90Calendar    *float64 `json:"p90_calendar_seconds"`
}

func newDurationsJSON(d sla.Durations) durationsJSON {
	return durationsJSON{Count: d.Count, MedianBusiness: d.MedianBusiness, P90Business: d.P90Business, MedianCalendar: d.MedianCalendar, P90Calendar: d.P90Calendar}
}

type metricsRowJSON struct {
	Key           string        `json:"key"`
	Name          string        `json:"name"`
	Assigned      int64         `json:"assigned"`
	Solved        int64         `json:"solved"`
	Reopened      int64         `json:"reopened"`
	Replies       int64         `json:"replies"`
	Answered      int64         `json:"answered"`
	AnsweredShare *float64      `json:"answered_share"`
	FirstResponse durationsJSON `json:"first_response"`
	NextResponse  durationsJSON `json:"next_response"`
	Resolution    durationsJSON `json:"resolution"`
	Clocks        int64         `json:"clocks"`
	ClocksMet     int64         `json:"clocks_met"`
	MetShare      *float64      `json:"met_share"`
	Backlog       int64         `json:"backlog"`
	BacklogAge    durationsJSON `json:"backlog_age"`
	SecondContact durationsJSON `json:"second_contact"`
}

func newMetricsRowJSON(r sla.MetricsRow) metricsRowJSON {
	return metricsRowJSON{
		Key: r.Key, Name: r.Name, Assigned: r.Assigned, Solved: r.Solved, Reopened: r.Reopened, Replies: r.Replies,
		Answered: r.Answered, AnsweredShare: r.AnsweredShare, FirstResponse: newDurationsJSON(r.FirstResponse),
		NextResponse: newDurationsJSON(r.NextResponse), Resolution: newDurationsJSON(r.Resolution),
		Clocks: r.Clocks, ClocksMet: r.ClocksMet, MetShare: r.MetShare, Backlog: r.Backlog,
		BacklogAge: newDurationsJSON(r.BacklogAge), SecondContact: newDurationsJSON(r.SecondContact),
	}
}

// apiSLAMetrics reports the handling figures of [from, to) by agent, team, tier or overall, as
// JSON or (format=csv) as a CSV download. Without from and to: the last seven days.
func (s *server) apiSLAMetrics(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	if err := knownParams(c, "from", "to", "group", "format"); err != nil {
		return err
	}
	q := sla.MetricsQuery{Group: c.Query("group", sla.GroupAll)}
	to, err := timeParam(c, "to")
	if err != nil {
		return err
	}
	from, err := timeParam(c, "from")
	if err != nil {
		return err
	}
	if to.IsZero() {
		to = time.Now().UTC()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -7)
	}
	q.From, q.To = from, to
	format := c.Query("format", "json")
	if format != "json" && format != "csv" {
		return badRequest("format", "must be json or csv")
	}
	m, err := s.SLA.Metrics(c.UserContext(), q)
	if err != nil {
		return err
	}
	if format == "csv" {
		var buf bytes.Buffer
		if err := m.WriteCSV(&buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="sla-%s-%s-%s.csv"`,
			m.Group, m.From.UTC().Format("20060102"), m.To.UTC().Format("20060102")))
		return c.Send(buf.Bytes())
	}
	rows := make([]metricsRowJSON, len(m.Rows))
	for i, r := range m.Rows {
		rows[i] = newMetricsRowJSON(r)
	}
	return c.JSON(fiber.Map{
		"from": m.From.UTC(), "to": m.To.UTC(), "group": m.Group, "rows": rows, "overall": newMetricsRowJSON(m.Overall),
	})
}

// timeParam reads an RFC 3339 time or a date (midnight UTC); zero when absent.
func timeParam(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest(name, "must be a date (2025-03-03) or a time (2025-03-03T09:00:00Z)")
}
