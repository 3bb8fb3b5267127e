package web

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// dashListLimit is how many tickets each of the "breaching" and "at risk" lists shows.
const dashListLimit = 25

// dashView is the supervisor dashboard's page data.
type dashView struct {
	Days      int
	Ranges    []int
	Computing bool   // no figures yet, and another node is computing them
	AsOf      string // "HH:MM" UTC of the figures
	AsOfFull  string
	Breaching dashList
	AtRisk    dashList
	Agents    []dashAgent
	Overall   dashAgent
	Daily     []dashDay
	Buckets   []dashBucket
	Tiers     []dashTier
	Chart     dashChart
}

// dashList is one list of tickets and what the shared partial needs to show it.
type dashList struct {
	W         *words
	Breaching bool
	Tickets   []dashTicket
}

type dashTicket struct {
	ID       int64
	Subject  string
	Status   tickets.Status
	Priority string // level_ id suffix
	Clock    sla.Kind
	Due      string // when it fell or falls due, UTC
	Left     string // time past (breaching) or left (at risk)
	Assignee string // "" when unassigned
}

type dashAgent struct {
	Key, Name                   string
	Nobody                      bool
	Assigned, Solved, Replies   int64
	Backlog                     int64
	FRMedian, FRP90, ResMedian  string
	MetShare, ReopenRate        string
	FirstResponses, Resolutions int64
	Clocks, ClocksMet, Reopened int64
}

type dashDay struct {
	Day              string
	Created, Solved  int64
	Clocks, Met      int64
	MetShare         string
	FirstResponseSum int64
}

type dashBucket struct {
	Label string
	Count int64
}

type dashTier struct {
	Tier     string // the tier_ id suffix, or "none"
	Solved   int64
	MetShare string
	FRMedian string
}

// dashChart is what dashboard.js draws, embedded as JSON. Labels are translated here.
type dashChart struct {
	Days          []string   `json:"days"`
	Created       []int64    `json:"created"`
	Solved        []int64    `json:"solved"`
	MetShare      []*float64 `json:"met_share"` // percent, null on days without clocks
	Buckets       []string   `json:"buckets"`
	FirstResponse []int64    `json:"first_response"`
	Tiers         []string   `json:"tiers"`
	TierSolved    []int64    `json:"tier_solved"`
	TierMet       []*float64 `json:"tier_met"`       // percent
	TierFRMedian  []*float64 `json:"tier_fr_median"` // hours of business time
	Labels        dashLabels `json:"labels"`
}

type dashLabels struct {
	Created       string `json:"created"`
	Solved        string `json:"solved"`
	MetShare      string `json:"met_share"`
	FirstResponse string `json:"first_response"`
	TierMet       string `json:"tier_met"`
	TierFRMedian  string `json:"tier_fr_median"`
}

// deskDashboard shows supervisors the tickets breaching and at risk now, live, and the figures
// of the last 7, 30 or 90 days from the rollups the serve processes refresh every minute.
func (s *server) deskDashboard(c *fiber.Ctx) error {
	w := s.wordsFor(c)
	if s.SLA == nil {
		return s.renderErrorPage(c, fiber.StatusNotFound, w.T("error_404"))
	}
	days, ok := dashDays(c.Query("days"))
	if !ok {
		return s.renderErrorPage(c, fiber.StatusBadRequest, w.T("dash_bad_range"))
	}
	ctx := c.UserContext()
	d, computing, err := s.dashboard(c, days)
	if err != nil {
		return err
	}
	breaching, err := s.SLA.AtRisk(ctx, sla.AtRiskFilter{Within: 0, Limit: dashListLimit})
	if err != nil {
		return err
	}
	atRisk, err := s.SLA.DueSoon(ctx, dashListLimit)
	if err != nil {
		return err
	}
	users, err := s.Staff.Users(ctx)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(users))
	for _, u := range users {
		names[u.ID] = u.Name
	}
	v := dashView{Days: days, Ranges: sla.RollupRanges, Computing: computing}
	v.Breaching = dashList{W: w, Breaching: true, Tickets: dashTickets(breaching, names)}
	v.AtRisk = dashList{W: w, Tickets: dashTickets(atRisk, names)}
	if d != nil {
		fillDashboard(&v, d, w)
	}
	return s.render(c, fiber.StatusOK, "desk_dashboard.html", v)
}

// deskDashboardCSV exports the per-agent table of a range, in the columns of the metrics API.
func (s *server) deskDashboardCSV(c *fiber.Ctx) error {
	w := s.wordsFor(c)
	if s.SLA == nil {
		return s.renderErrorPage(c, fiber.StatusNotFound, w.T("error_404"))
	}
	days, ok := dashDays(c.Query("days"))
	if !ok {
		return s.renderErrorPage(c, fiber.StatusBadRequest, w.T("dash_bad_range"))
	}
	d, computing, err := s.dashboard(c, days)
	if err != nil {
		return err
	}
	if computing {
		return s.renderErrorPage(c, fiber.StatusServiceUnavailable, w.T("dash_computing"))
	}
	m := sla.Metrics{From: d.From, To: d.To, Group: sla.GroupAgent, Rows: d.Agents, Overall: d.Overall}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="agents-%dd-%s.csv"`, days, d.To.UTC().Format("20060102-1504")))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return m.WriteCSV(c.Response().BodyWriter())
}

// dashDays reads the range parameter: 30 days when absent.
func dashDays(q string) (int, bool) {
	if q == "" {
		return 30, true
	}
	n, err := strconv.Atoi(q)
	return n, err == nil && slices.Contains(sla.RollupRanges, n)
}

// dashboard reads the stored figures. On a fresh installation, whose first refresh has not run,
// the first view computes them (a small installation has few tickets, so this is quick); while
// another node is computing them, computing is set and d is nil.
func (s *server) dashboard(c *fiber.Ctx, days int) (d *sla.Dashboard, computing bool, err error) {
	ctx := c.UserContext()
	d, err = s.SLA.Dashboard(ctx, days)
	if !errors.Is(err, sla.ErrNoRollup) {
		return d, false, err
	}
	res, err := s.SLA.RefreshRollups(ctx, 0)
	if err != nil {
		return nil, false, err
	}
	if res.Skipped {
		return nil, true, nil
	}
	d, err = s.SLA.Dashboard(ctx, days)
	return d, false, err
}

func dashTickets(items []sla.AtRiskItem, names map[int64]string) []dashTicket {
	out := make([]dashTicket, len(items))
	for i, it := range items {
		t := dashTicket{ID: it.TicketID, Subject: it.Subject, Status: it.Status, Priority: it.Priority.String(), Clock: it.Clock.Kind}
		if it.AssigneeID != nil {
			t.Assignee = names[*it.AssigneeID]
		}
		if it.Clock.DueAt != nil {
			t.Due = it.Clock.DueAt.UTC().Format("2006-01-02 15:04")
		}
		if it.Clock.Remaining != nil {
			t.Left = humanDuration(math.Abs(it.Clock.Remaining.Seconds()))
		}
		out[i] = t
	}
	return out
}

func fillDashboard(v *dashView, d *sla.Dashboard, w *words) {
	v.AsOf = d.ComputedAt.UTC().Format("15:04")
	v.AsOfFull = d.ComputedAt.UTC().Format(time.RFC3339)
	for _, r := range d.Agents {
		v.Agents = append(v.Agents, dashAgentRow(r))
	}
	// Work without an agent goes last, after the people.
	slices.SortStableFunc(v.Agents, func(a, b dashAgent) int {
		switch {
		case a.Nobody == b.Nobody:
			return 0
		case a.Nobody:
			return 1
		}
		return -1
	})
	v.Overall = dashAgentRow(d.Overall)
	ch := &v.Chart
	for _, day := range d.Daily {
		label := day.Day.UTC().Format("2006-01-02")
		var frs int64
		for _, n := range day.FirstResponse {
			frs += n
		}
		v.Daily = append(v.Daily, dashDay{Day: label, Created: day.Created, Solved: day.Solved, Clocks: day.Clocks,
			Met: day.ClocksMet, MetShare: percent(day.MetShare()), FirstResponseSum: frs})
		ch.Days = append(ch.Days, label)
		ch.Created = append(ch.Created, day.Created)
		ch.Solved = append(ch.Solved, day.Solved)
		ch.MetShare = append(ch.MetShare, percentValue(day.MetShare()))
	}
	for i, n := range d.FirstResponseSum {
		label := bucketLabel(w, i)
		v.Buckets = append(v.Buckets, dashBucket{Label: label, Count: n})
		ch.Buckets = append(ch.Buckets, label)
		ch.FirstResponse = append(ch.FirstResponse, n)
	}
	for _, r := range d.Tiers {
		t := dashTier{Tier: r.Key, Solved: r.Solved, MetShare: percent(r.MetShare), FRMedian: durationPtr(r.FirstResponse.MedianBusiness)}
		v.Tiers = append(v.Tiers, t)
		tier := w.T("dash_tier_none")
		if r.Key != "none" {
			tier = w.Of("tier_", r.Key)
		}
		ch.Tiers = append(ch.Tiers, tier)
		ch.TierSolved = append(ch.TierSolved, r.Solved)
		ch.TierMet = append(ch.TierMet, percentValue(r.MetShare))
		var hours *float64
		if m := r.FirstResponse.MedianBusiness; m != nil {
			h := math.Round(*m/36) / 100
			hours = &h
		}
		ch.TierFRMedian = append(ch.TierFRMedian, hours)
	}
	ch.Labels = dashLabels{
		Created: w.T("dash_created"), Solved: w.T("dash_solved"), MetShare: w.T("dash_met_share_pct"),
		FirstResponse: w.T("dash_first_responses"), TierMet: w.T("dash_met_share_pct"), TierFRMedian: w.T("dash_fr_median_hours"),
	}
}

func dashAgentRow(r sla.MetricsRow) dashAgent {
	a := dashAgent{
		Key: r.Key, Name: r.Name, Nobody: r.Key == "none",
		Assigned: r.Assigned, Solved: r.Solved, Replies: r.Replies, Backlog: r.Backlog,
		FRMedian: durationPtr(r.FirstResponse.MedianBusiness), FRP90: durationPtr(r.FirstResponse.P90Business),
		ResMedian: durationPtr(r.Resolution.MedianBusiness), MetShare: percent(r.MetShare),
		FirstResponses: r.FirstResponse.Count, Resolutions: r.Resolution.Count,
		Clocks: r.Clocks, ClocksMet: r.ClocksMet, Reopened: r.Reopened,
	}
	// Reopen rate: the share of the range's solves that were reopened.
	a.ReopenRate = percent(reopenRate(r))
	return a
}

func reopenRate(r sla.MetricsRow) *float64 {
	if r.Solved == 0 {
		return nil
	}
	f := float64(r.Reopened) / float64(r.Solved)
	return &f
}

// bucketLabel names histogram bucket i of sla.FirstResponseBuckets.
func bucketLabel(w *words, i int) string {
	b := sla.FirstResponseBuckets
	switch {
	case i == 0:
		return w.T("dash_bucket_under", "Upper", boundLabel(b[0]))
	case i >= len(b):
		return w.T("dash_bucket_over", "Lower", boundLabel(b[len(b)-1]))
	}
	return w.T("dash_bucket_between", "Lower", boundLabel(b[i-1]), "Upper", boundLabel(b[i]))
}

// boundLabel writes a bucket bound as "15m" or "4h".
func boundLabel(seconds int64) string {
	if seconds%3600 == 0 {
		return fmt.Sprintf("%dh", seconds/3600)
	}
	return fmt.Sprintf("%dm", seconds/60)
}

func durationPtr(seconds *float64) string {
	if seconds == nil {
		return "–"
	}
	return humanDuration(*seconds)
}

// humanDuration writes seconds as "45s", "12m", "3h 05m" or "2d 4h": short and the same in
// English and Spanish.
func humanDuration(seconds float64) string {
	s := int64(math.Round(seconds))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm", s/60)
	case s < 86400:
		return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

func percent(f *float64) string {
	if f == nil {
		return "–"
	}
	return strconv.FormatFloat(math.Round(*f*1000)/10, 'f', -1, 64) + "%"
}

func percentValue(f *float64) *float64 {
	if f == nil {
		return nil
	}
	p := math.Round(*f*1000) / 10
	return &p
}
