package web

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// The SLA pages write calendars and policies through s.SLA.SaveCalendar and SavePolicy, which
// check them whole; the forms only turn text into their shapes. Weekly hours are typed per
// weekday as "09:00-13:00, 14:00-18:00"; a stretch that ends before it starts runs overnight.

type calendarRow struct {
	sla.StoredCalendar
	Hours    []dayHours
	Holidays int
}

type dayHours struct{ Day, Hours string }

type slaView struct {
	Ready     bool
	Calendars []calendarRow
	Policies  []sla.Policy
	CalName   map[int64]string
	Flash     string
}

func (s *server) adminSLA(c *fiber.Ctx) error {
	view := slaView{Ready: s.SLA != nil, Flash: s.flash(c), CalName: map[int64]string{}}
	if s.SLA == nil {
		return s.render(c, fiber.StatusOK, "admin_sla.html", view)
	}
	cals, err := s.SLA.Calendars(c.UserContext())
	if err != nil {
		return err
	}
	for _, cal := range cals {
		spec := cal.Spec()
		row := calendarRow{StoredCalendar: cal, Holidays: len(spec.Holidays)}
		for _, day := range sla.Weekdays {
			row.Hours = append(row.Hours, dayHours{day, formatHours(spec.Hours[day])})
		}
		view.Calendars = append(view.Calendars, row)
		view.CalName[cal.ID] = spec.Name
	}
	if view.Policies, err = s.SLA.Policies(c.UserContext()); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "admin_sla.html", view)
}

func formatHours(ivs []sla.Interval) string {
	parts := make([]string, len(ivs))
	for i, iv := range ivs {
		parts[i] = iv.From + "-" + iv.To
	}
	return strings.Join(parts, ", ")
}

// parseHours reads "09:00-13:00, 14:00-18:00". The times themselves are checked by sla.
func parseHours(text string) ([]sla.Interval, bool) {
	var out []sla.Interval
	for _, part := range splitList(text) {
		from, to, ok := strings.Cut(strings.ReplaceAll(part, "–", "-"), "-")
		if !ok {
			return nil, false
		}
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		out = append(out, sla.Interval{From: from, To: to, Overnight: to != "24:00" && clockMinutes(to) >= 0 && clockMinutes(to) < clockMinutes(from)})
	}
	return out, true
}

// clockMinutes is "HH:MM" in minutes after midnight, or -1.
func clockMinutes(s string) int {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil {
		return -1
	}
	return hh*60 + mm
}

func dayInput(day string) string { return "hours." + day }

var calendarInputs = []string{"name", "timezone", "hours", "hours.mon", "hours.tue", "hours.wed", "hours.thu", "hours.fri", "hours.sat", "hours.sun", "holidays"}

type calendarView struct {
	ID       int64
	Form     adminForm
	Days     []string
	Import   adminForm
	Imported string
}

func (s *server) calendarPage(c *fiber.Ctx, status int, view calendarView) error {
	view.Days = sla.Weekdays
	if view.Import.Values == nil {
		view.Import = newAdminForm()
	}
	return s.render(c, status, "admin_sla_calendar.html", view)
}

func (s *server) adminNewCalendar(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	form := newAdminForm()
	form.Values["timezone"] = "Europe/Madrid"
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		form.Values[dayInput(d)] = "09:00-17:00"
	}
	return s.calendarPage(c, fiber.StatusOK, calendarView{Form: form})
}

func (s *server) adminCalendar(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	cal, err := s.SLA.Calendar(c.UserContext(), id)
	if err != nil {
		return err
	}
	flash := s.flash(c)
	if c.Query("ok") == "holidays_imported" {
		flash = s.wordsFor(c).T("admin_ok_holidays_imported", "Added", c.QueryInt("added"))
	}
	return s.calendarPage(c, fiber.StatusOK, calendarView{ID: id, Form: calendarForm(cal.Spec()), Imported: flash})
}

func calendarForm(spec sla.CalendarSpec) adminForm {
	form := newAdminForm()
	form.Values["name"], form.Values["timezone"] = spec.Name, spec.Timezone
	for _, d := range sla.Weekdays {
		form.Values[dayInput(d)] = formatHours(spec.Hours[d])
	}
	lines := make([]string, len(spec.Holidays))
	for i, h := range spec.Holidays {
		lines[i] = strings.TrimSpace(h.Date + " " + h.Name)
	}
	form.Values["holidays"] = strings.Join(lines, "\n")
	return form
}

func (s *server) adminCreateCalendar(c *fiber.Ctx) error { return s.adminSaveCalendar(c, 0) }

func (s *server) adminUpdateCalendar(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	return s.adminSaveCalendar(c, id)
}

func (s *server) adminSaveCalendar(c *fiber.Ctx, id int64) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	w := s.wordsFor(c)
	form := newAdminForm()
	form.read(c, calendarInputs...)
	form.Values["holidays"] = c.FormValue("holidays") // one a line, kept as typed
	spec := sla.CalendarSpec{Name: form.Values["name"], Timezone: form.Values["timezone"], Hours: map[string][]sla.Interval{}, Holidays: []sla.Holiday{}}
	for _, d := range sla.Weekdays {
		ivs, ok := parseHours(form.Values[dayInput(d)])
		if !ok {
			form.Errors[dayInput(d)] = w.T("admin_err_hours_format")
		}
		if len(ivs) > 0 {
			spec.Hours[d] = ivs
		}
	}
	for _, line := range strings.Split(form.Values["holidays"], "\n") {
		if line = strings.TrimSpace(line); line != "" {
			date, name, _ := strings.Cut(line, " ")
			spec.Holidays = append(spec.Holidays, sla.Holiday{Date: date, Name: strings.TrimSpace(name)})
		}
	}
	view := calendarView{ID: id, Form: form}
	if form.invalid() {
		view.Form.Notice = w.T("admin_fix_fields")
		return s.calendarPage(c, fiber.StatusUnprocessableEntity, view)
	}
	saved, err := s.SLA.SaveCalendar(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, spec)
	if err != nil {
		if err := view.Form.fail(w, err, calendarInputs...); err != nil {
			return err
		}
		return s.calendarPage(c, fiber.StatusUnprocessableEntity, view)
	}
	if id == 0 {
		return done(c, "/admin/sla/calendars/"+strconv.FormatInt(saved.ID, 10), "calendar_added")
	}
	return done(c, "/admin/sla", "calendar_saved")
}

// adminImportHolidays reads an uploaded iCalendar file and adds its dates as holidays.
func (s *server) adminImportHolidays(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	cal, err := s.SLA.Calendar(c.UserContext(), id)
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	view := calendarView{ID: id, Form: calendarForm(cal.Spec()), Import: newAdminForm()}
	fh, err := c.FormFile("ics")
	if err != nil || fh.Size == 0 {
		view.Import.Errors["ics"] = w.T("admin_err_choose_file")
		return s.calendarPage(c, fiber.StatusUnprocessableEntity, view)
	}
	data, err := readUpload(fh, 1<<20)
	if err != nil || len(data) > 1<<20 {
		view.Import.Errors["ics"] = w.T("admin_err_file_too_large")
		return s.calendarPage(c, fiber.StatusUnprocessableEntity, view)
	}
	replace := c.FormValue("replace") != ""
	_, added, err := s.SLA.ImportHolidays(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, string(data), replace)
	if err != nil {
		if err := view.Import.fail(w, err, "ics"); err != nil {
			return err
		}
		return s.calendarPage(c, fiber.StatusUnprocessableEntity, view)
	}
	return c.Redirect(fmt.Sprintf("/admin/sla/calendars/%d?ok=holidays_imported&added=%d", id, added), fiber.StatusSeeOther)
}

// pauseStatuses are the statuses a clock may stand still in.
var pauseStatuses = []string{"open", "pending", "on-hold"}

// policyInputs are the policy form's inputs, by the domain's field names.
func policyInputs() []string {
	in := []string{"name", "position", "priorities", "tiers", "calendar_id", "targets", "warn_percent", "notify_in_business_hours"}
	for _, k := range sla.Kinds {
		p := "targets." + string(k)
		in = append(in, p, p+".minutes", p+".business", p+".pause_on")
	}
	for _, e := range []string{"on_warning", "on_breach"} {
		in = append(in, e, e+".notify", e+".raise_priority", e+".reassign_team_id", e+".reassign_user_id")
	}
	return in
}

type policyView struct {
	ID        int64
	Form      adminForm
	Calendars []sla.StoredCalendar
	Teams     []tickets.Team
	Users     []tickets.User
	Levels    []string
	Tiers     []string
	Kinds     []sla.Kind
	Pauses    []string
	Escalate  []string
}

func (s *server) policyPage(c *fiber.Ctx, status int, id int64, form adminForm) error {
	ctx := c.UserContext()
	view := policyView{ID: id, Form: form, Levels: urgencyNames, Tiers: sla.Tiers, Kinds: sla.Kinds, Pauses: pauseStatuses,
		Escalate: []string{"on_warning", "on_breach"}}
	var err error
	if view.Calendars, err = s.SLA.Calendars(ctx); err != nil {
		return err
	}
	if view.Teams, err = s.Staff.Teams(ctx); err != nil {
		return err
	}
	if view.Users, err = s.Staff.Users(ctx); err != nil {
		return err
	}
	return s.render(c, status, "admin_sla_policy.html", view)
}

// check marks a checkbox (or one value of a group of them) in the form's values.
func check(f *adminForm, name string, on bool) {
	if on {
		f.Values[name] = "on"
	}
}

func policyForm(p *sla.Policy) adminForm {
	f := newAdminForm()
	f.Values["name"], f.Values["position"] = p.Name, strconv.Itoa(p.Position)
	f.Values["warn_percent"] = strconv.Itoa(p.WarnPercent)
	if p.CalendarID != 0 {
		f.Values["calendar_id"] = strconv.FormatInt(p.CalendarID, 10)
	}
	for _, l := range p.Priorities {
		check(&f, "priorities="+l.String(), true)
	}
	for _, t := range p.Tiers {
		check(&f, "tiers="+t, true)
	}
	for _, k := range sla.Kinds {
		pre := "targets." + string(k)
		t := p.Targets[k]
		if t == nil {
			check(&f, pre+".business", true)
			continue
		}
		f.Values[pre+".minutes"] = strconv.Itoa(t.Minutes)
		check(&f, pre+".business", t.Business)
		for _, st := range t.PauseOn {
			check(&f, pre+".pause_on="+string(st), true)
		}
	}
	for name, e := range map[string]sla.Escalation{"on_warning": p.OnWarning, "on_breach": p.OnBreach} {
		check(&f, name+".notify", e.Notify)
		check(&f, name+".raise_priority", e.RaisePriority)
		if e.ReassignTeamID != nil {
			f.Values[name+".reassign_team_id"] = strconv.FormatInt(*e.ReassignTeamID, 10)
		}
		if e.ReassignUserID != nil {
			f.Values[name+".reassign_user_id"] = strconv.FormatInt(*e.ReassignUserID, 10)
		}
	}
	check(&f, "notify_in_business_hours", p.NotifyInBusinessHours)
	return f
}

func (s *server) adminNewPolicy(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	p := sla.Policy{WarnPercent: 75, NotifyInBusinessHours: true, OnWarning: sla.Escalation{Notify: true}, OnBreach: sla.Escalation{Notify: true},
		Targets: map[sla.Kind]*sla.Target{}}
	form := policyForm(&p)
	// The usual pauses, pre-ticked.
	for _, k := range []sla.Kind{sla.NextResponse, sla.Resolution} {
		check(&form, "targets."+string(k)+".pause_on=pending", true)
		check(&form, "targets."+string(k)+".pause_on=on-hold", true)
	}
	// With one calendar there is nothing to choose.
	if cals, err := s.SLA.Calendars(c.UserContext()); err == nil && len(cals) == 1 {
		form.Values["calendar_id"] = strconv.FormatInt(cals[0].ID, 10)
	}
	return s.policyPage(c, fiber.StatusOK, 0, form)
}

func (s *server) adminPolicy(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	p, err := s.SLA.Policy(c.UserContext(), id)
	if err != nil {
		return err
	}
	return s.policyPage(c, fiber.StatusOK, id, policyForm(p))
}

func (s *server) adminCreatePolicy(c *fiber.Ctx) error { return s.adminSavePolicy(c, 0) }

func (s *server) adminUpdatePolicy(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	return s.adminSavePolicy(c, id)
}

// formMulti is every value of a group of checkboxes.
func formMulti(c *fiber.Ctx, name string) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	if len(out) == 0 {
		if mf, err := c.MultipartForm(); err == nil {
			out = mf.Value[name]
		}
	}
	return out
}

func (s *server) adminSavePolicy(c *fiber.Ctx, id int64) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	w := s.wordsFor(c)
	form := newAdminForm()
	form.read(c, "name", "position", "calendar_id", "warn_percent", "notify_in_business_hours",
		"on_warning.notify", "on_warning.raise_priority", "on_warning.reassign_team_id", "on_warning.reassign_user_id",
		"on_breach.notify", "on_breach.raise_priority", "on_breach.reassign_team_id", "on_breach.reassign_user_id")
	p := sla.Policy{Name: form.Values["name"], Position: formInt(&form, w, "position", 0), WarnPercent: formInt(&form, w, "warn_percent", 0),
		Tiers: []string{}, Targets: map[sla.Kind]*sla.Target{}, NotifyInBusinessHours: form.Values["notify_in_business_hours"] != ""}
	if v := form.Values["calendar_id"]; v != "" {
		p.CalendarID, _ = strconv.ParseInt(v, 10, 64)
	}
	for _, name := range formMulti(c, "priorities") {
		check(&form, "priorities="+name, true)
		l, err := tickets.ParseLevel(name)
		if err != nil {
			form.Errors["priorities"] = w.T("admin_err_choose")
			continue
		}
		p.Priorities = append(p.Priorities, l)
	}
	for _, t := range formMulti(c, "tiers") {
		check(&form, "tiers="+t, true)
		p.Tiers = append(p.Tiers, t)
	}
	for _, k := range sla.Kinds {
		pre := "targets." + string(k)
		form.read(c, pre+".minutes", pre+".business")
		pauses := formMulti(c, pre+".pause_on")
		for _, st := range pauses {
			check(&form, pre+".pause_on="+st, true)
		}
		if form.Values[pre+".minutes"] == "" {
			continue // no promise on this clock
		}
		t := &sla.Target{Minutes: formInt(&form, w, pre+".minutes", 0), Business: form.Values[pre+".business"] != "", PauseOn: []tickets.Status{}}
		for _, st := range pauses {
			if slices.Contains(pauseStatuses, st) {
				t.PauseOn = append(t.PauseOn, tickets.Status(st))
			}
		}
		p.Targets[k] = t
	}
	for _, e := range []struct {
		name string
		esc  *sla.Escalation
	}{{"on_warning", &p.OnWarning}, {"on_breach", &p.OnBreach}} {
		e.esc.Notify = form.Values[e.name+".notify"] != ""
		e.esc.RaisePriority = form.Values[e.name+".raise_priority"] != ""
		if v, err := strconv.ParseInt(form.Values[e.name+".reassign_team_id"], 10, 64); err == nil {
			e.esc.ReassignTeamID = &v
		}
		if v, err := strconv.ParseInt(form.Values[e.name+".reassign_user_id"], 10, 64); err == nil {
			e.esc.ReassignUserID = &v
		}
	}
	if form.invalid() {
		form.Notice = w.T("admin_fix_fields")
		return s.policyPage(c, fiber.StatusUnprocessableEntity, id, form)
	}
	if _, err := s.SLA.SavePolicy(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, p); err != nil {
		if err := form.fail(w, err, policyInputs()...); err != nil {
			return err
		}
		return s.policyPage(c, fiber.StatusUnprocessableEntity, id, form)
	}
	return done(c, "/admin/sla", "policy_saved")
}
