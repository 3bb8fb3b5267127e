package web

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// Calendars and policies: admins change them, supervisors read them. Every change is checked
// whole when it is saved (time zones, overlapping hours, targets, that every priority and tier
// is covered), so that a sweep never meets a bad setting.

type intervalJSON struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Overnight bool   `json:"overnight"`
}

type holidayJSON struct {
	Date string `json:"date"`
	Name string `json:"name"`
}

// hoursJSON has a field per weekday rather than a map, so that a misspelt day is refused by
// name and a bad value is named by its full path (hours.mon[0].to).
type hoursJSON struct {
	Mon []intervalJSON `json:"mon"`
	Tue []intervalJSON `json:"tue"`
	Wed []intervalJSON `json:"wed"`
	Thu []intervalJSON `json:"thu"`
	Fri []intervalJSON `json:"fri"`
	Sat []intervalJSON `json:"sat"`
	Sun []intervalJSON `json:"sun"`
}

func (h *hoursJSON) days() map[string]*[]intervalJSON {
	return map[string]*[]intervalJSON{"mon": &h.Mon, "tue": &h.Tue, "wed": &h.Wed, "thu": &h.Thu, "fri": &h.Fri, "sat": &h.Sat, "sun": &h.Sun}
}

type calendarRequest struct {
	Name     string        `json:"name"`
	Timezone string        `json:"timezone"`
	Hours    hoursJSON     `json:"hours"`
	Holidays []holidayJSON `json:"holidays"`
}

func (r calendarRequest) spec() sla.CalendarSpec {
	spec := sla.CalendarSpec{Name: r.Name, Timezone: r.Timezone, Hours: map[string][]sla.Interval{}, Holidays: []sla.Holiday{}}
	for day, ivs := range r.Hours.days() {
		for _, iv := range *ivs {
			spec.Hours[day] = append(spec.Hours[day], sla.Interval{From: iv.From, To: iv.To, Overnight: iv.Overnight})
		}
	}
	for _, h := range r.Holidays {
		spec.Holidays = append(spec.Holidays, sla.Holiday{Date: h.Date, Name: h.Name})
	}
	return spec
}

type calendarJSON struct {
	ID                    int64         `json:"id"`
	Name                  string        `json:"name"`
	Timezone              string        `json:"timezone"`
	Hours                 hoursJSON     `json:"hours"`
	Holidays              []holidayJSON `json:"holidays"`
	WeeklyBusinessMinutes int64         `json:"weekly_business_minutes"`
	CreatedAt             time.Time     `json:"created_at"`
	UpdatedAt             time.Time     `json:"updated_at"`
}

func newCalendarJSON(c *sla.StoredCalendar) calendarJSON {
	spec := c.Spec()
	out := calendarJSON{
		ID: c.ID, Name: spec.Name, Timezone: spec.Timezone,
		Holidays: make([]holidayJSON, len(spec.Holidays)), WeeklyBusinessMinutes: c.WeeklyBusinessMinutes(),
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
	for day, ivs := range out.Hours.days() {
		*ivs = []intervalJSON{}
		for _, iv := range spec.Hours[day] {
			*ivs = append(*ivs, intervalJSON{From: iv.From, To: iv.To, Overnight: iv.Overnight})
		}
	}
	for i, h := range spec.Holidays {
		out.Holidays[i] = holidayJSON{Date: h.Date, Name: h.Name}
	}
	return out
}

func (s *server) apiListCalendars(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	cals, err := s.SLA.Calendars(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]calendarJSON, len(cals))
	for i := range cals {
		out[i] = newCalendarJSON(&cals[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

func (s *server) apiGetCalendar(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	cal, err := s.SLA.Calendar(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newCalendarJSON(cal))
}

func (s *server) apiCreateCalendar(c *fiber.Ctx) error { return s.saveCalendar(c, 0) }

func (s *server) apiUpdateCalendar(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	return s.saveCalendar(c, id)
}

func (s *server) saveCalendar(c *fiber.Ctx, id int64) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	var req calendarRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cal, err := s.SLA.SaveCalendar(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, req.spec())
	if err != nil {
		return err
	}
	if id == 0 {
		c.Location("/api/v1/sla/calendars/" + strconv.FormatInt(cal.ID, 10))
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(newCalendarJSON(cal))
}

func (s *server) apiDeleteCalendar(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	if err := s.SLA.DeleteCalendar(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type holidayImportRequest struct {
	ICS     string `json:"ics"`
	Replace bool   `json:"replace"`
}

// apiImportHolidays takes the text of an iCalendar file and adds its dates as holidays.
func (s *server) apiImportHolidays(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	var req holidayImportRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cal, added, err := s.SLA.ImportHolidays(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, req.ICS, req.Replace)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"calendar": newCalendarJSON(cal), "added": added})
}

type targetJSON struct {
	Minutes  int       `json:"minutes"`
	Business *bool     `json:"business"`
	PauseOn  *[]string `json:"pause_on"`
}

type escalationJSON struct {
	Notify         bool   `json:"notify"`
	RaisePriority  bool   `json:"raise_priority"`
	ReassignTeamID *int64 `json:"reassign_team_id"`
	ReassignUserID *int64 `json:"reassign_user_id"`
}

// targetsJSON has a field per clock, for the same reason as hoursJSON.
type targetsJSON struct {
	FirstResponse *targetJSON `json:"first_response"`
	NextResponse  *targetJSON `json:"next_response"`
	Resolution    *targetJSON `json:"resolution"`
}

type policyRequest struct {
	Name                  string          `json:"name"`
	Position              int             `json:"position"`
	Priorities            []string        `json:"priorities"`
	Tiers                 []string        `json:"tiers"`
	CalendarID            int64           `json:"calendar_id"`
	Targets               targetsJSON     `json:"targets"`
	WarnPercent           *int            `json:"warn_percent"`
	OnWarning             *escalationJSON `json:"on_warning"`
	OnBreach              *escalationJSON `json:"on_breach"`
	NotifyInBusinessHours *bool           `json:"notify_in_business_hours"`
}

// policy turns the request into a policy, with the defaults a client may leave out: business
// minutes, the default pause statuses, a warning at 75%, notices held for business hours, and
// notify on warning and on breach.
func (r policyRequest) policy(v *tickets.ValidationError) sla.Policy {
	p := sla.Policy{
		Name: r.Name, Position: r.Position, Tiers: r.Tiers, CalendarID: r.CalendarID, Targets: map[sla.Kind]*sla.Target{},
		WarnPercent: 75, NotifyInBusinessHours: true, OnWarning: sla.Escalation{Notify: true}, OnBreach: sla.Escalation{Notify: true},
	}
	if p.Tiers == nil {
		p.Tiers = []string{}
	}
	for i, name := range r.Priorities {
		l, err := tickets.ParseLevel(name)
		if err != nil {
			v.Add(fmt.Sprintf("priorities[%d]", i), "must be one of low, normal, high, urgent")
			continue
		}
		p.Priorities = append(p.Priorities, l)
	}
	for kind, t := range map[sla.Kind]*targetJSON{sla.FirstResponse: r.Targets.FirstResponse, sla.NextResponse: r.Targets.NextResponse, sla.Resolution: r.Targets.Resolution} {
		if t == nil {
			continue
		}
		target := &sla.Target{Minutes: t.Minutes, Business: true}
		if t.Business != nil {
			target.Business = *t.Business
		}
		if t.PauseOn != nil {
			target.PauseOn = []tickets.Status{}
			for _, st := range *t.PauseOn {
				target.PauseOn = append(target.PauseOn, tickets.Status(st))
			}
		}
		p.Targets[kind] = target
	}
	if r.WarnPercent != nil {
		p.WarnPercent = *r.WarnPercent
	}
	if r.NotifyInBusinessHours != nil {
		p.NotifyInBusinessHours = *r.NotifyInBusinessHours
	}
	switch {
	case r.OnWarning != nil:
		p.OnWarning = sla.Escalation(*r.OnWarning)
	case p.WarnPercent == 0:
		p.OnWarning = sla.Escalation{} // no warning, so nothing to do on one
	}
	if r.OnBreach != nil {
		p.OnBreach = sla.Escalation(*r.OnBreach)
	}
	return p
}

type policyTargetJSON struct {
	Minutes  int      `json:"minutes"`
	Business bool     `json:"business"`
	PauseOn  []string `json:"pause_on"`
}

type policyJSON struct {
	ID                    int64                       `json:"id"`
	Name                  string                      `json:"name"`
	Position              int                         `json:"position"`
	Priorities            []string                    `json:"priorities"`
	Tiers                 []string                    `json:"tiers"`
	CalendarID            int64                       `json:"calendar_id"`
	Targets               map[string]policyTargetJSON `json:"targets"`
	WarnPercent           int                         `json:"warn_percent"`
	OnWarning             escalationJSON              `json:"on_warning"`
	OnBreach              escalationJSON              `json:"on_breach"`
	NotifyInBusinessHours bool                        `json:"notify_in_business_hours"`
	CreatedAt             time.Time                   `json:"created_at"`
	UpdatedAt             time.Time                   `json:"updated_at"`
}

func newPolicyJSON(p *sla.Policy) policyJSON {
	out := policyJSON{
		ID: p.ID, Name: p.Name, Position: p.Position, Priorities: []string{}, Tiers: p.Tiers, CalendarID: p.CalendarID,
		Targets: map[string]policyTargetJSON{}, WarnPercent: p.WarnPercent, OnWarning: escalationJSON(p.OnWarning),
		OnBreach: escalationJSON(p.OnBreach), NotifyInBusinessHours: p.NotifyInBusinessHours,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
	if out.Tiers == nil {
		out.Tiers = []string{}
	}
	for _, l := range p.Priorities {
		out.Priorities = append(out.Priorities, l.String())
	}
	for kind, t := range p.Targets {
		pause := make([]string, len(t.PauseOn))
		for i, s := range t.PauseOn {
			pause[i] = string(s)
		}
		out.Targets[string(kind)] = policyTargetJSON{Minutes: t.Minutes, Business: t.Business, PauseOn: pause}
	}
	return out
}

func (s *server) apiListPolicies(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	ps, err := s.SLA.Policies(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]policyJSON, len(ps))
	for i := range ps {
		out[i] = newPolicyJSON(&ps[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

func (s *server) apiGetPolicy(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	p, err := s.SLA.Policy(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newPolicyJSON(p))
}

func (s *server) apiCreatePolicy(c *fiber.Ctx) error { return s.savePolicy(c, 0) }

func (s *server) apiUpdatePolicy(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	return s.savePolicy(c, id)
}

func (s *server) savePolicy(c *fiber.Ctx, id int64) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	var req policyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var v tickets.ValidationError
	p := req.policy(&v)
	if err := v.Err(); err != nil {
		return err
	}
	saved, err := s.SLA.SavePolicy(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, p)
	if err != nil {
		return err
	}
	if id == 0 {
		c.Location("/api/v1/sla/policies/" + strconv.FormatInt(saved.ID, 10))
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(newPolicyJSON(saved))
}

func (s *server) apiDeletePolicy(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	if err := s.SLA.DeletePolicy(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// slaPathID reads the :id of an SLA route.
func (s *server) slaPathID(c *fiber.Ctx) (int64, error) {
	if err := s.needSLA(); err != nil {
		return 0, err
	}
	return pathID(c, "id")
}
