package sla

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func validationField(t *testing.T, err error) string {
	t.Helper()
	var v *tickets.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("want a validation error, got %v", err)
	}
	return v.Fields[0].Field
}

// Bad settings are refused when they are saved, naming the field, never discovered by a sweep.
func TestSettingsRejectedAtSave(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin := tickets.StaffActor(e.agent(t, tickets.RoleAdmin).ID)
	office := officeHours(t, e)
	normal := policyNamed(t, e, "Normal and low")
	versionBefore := count(t, `SELECT version FROM sla_state`)

	_, err := e.svc.SaveCalendar(ctx, admin, 0, CalendarSpec{Name: "Bad", Timezone: "Mars/Olympus", Hours: weekdays(Interval{From: "09:00", To: "17:00"})})
	if f := validationField(t, err); f != "timezone" {
		t.Errorf("unknown zone: field %s", f)
	}
	_, err = e.svc.SaveCalendar(ctx, admin, 0, CalendarSpec{Name: "Bad", Timezone: "UTC", Hours: map[string][]Interval{"mon": {{From: "10:00", To: "12:00"}, {From: "11:00", To: "13:00"}}}})
	if f := validationField(t, err); f != "hours.mon[1]" {
		t.Errorf("overlap: field %s", f)
	}
	_, err = e.svc.SaveCalendar(ctx, admin, 0, CalendarSpec{Name: "office HOURS", Timezone: "UTC", Hours: weekdays(Interval{From: "09:00", To: "17:00"})})
	var conflict *tickets.ConflictError
	if !errors.As(err, &conflict) || conflict.Field != "name" {
		t.Errorf("duplicate name: %v", err)
	}
	if err := e.svc.DeleteCalendar(ctx, admin, office.ID); !errors.As(err, &conflict) {
		t.Errorf("deleting a calendar in use: %v", err)
	}

	bad := []struct {
		name  string
		edit  func(p *Policy)
		field string
	}{
		{"negative target", func(p *Policy) { p.Targets[FirstResponse].Minutes = -5 }, "targets.first_response.minutes"},
		{"no targets", func(p *Policy) { p.Targets = nil }, "targets"},
		{"unknown calendar", func(p *Policy) { p.CalendarID = 987654 }, "calendar_id"},
		{"unknown tier", func(p *Policy) { p.Tiers = []string{"gold"} }, "tiers[0]"},
		{"bad pause status", func(p *Policy) { p.Targets[Resolution].PauseOn = []tickets.Status{tickets.StatusSolved} }, "targets.resolution.pause_on[0]"},
		{"unknown reassignee", func(p *Policy) { p.OnBreach.ReassignUserID = ptr(int64(987654)) }, "on_breach.reassign_user_id"},
		// Narrowing the catch-all leaves low-priority tickets of ordinary customers without a policy.
		{"a priority left uncovered", func(p *Policy) { p.Priorities = []tickets.Level{tickets.Normal} }, "priorities"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := *policyNamed(t, e, "Normal and low")
			tc.edit(&p)
			_, err := e.svc.SavePolicy(ctx, admin, p.ID, p)
			if f := validationField(t, err); f != tc.field {
				t.Errorf("field %s, want %s: %v", f, tc.field, err)
			}
			if tc.field == "priorities" && !strings.Contains(err.Error(), "low × new") {
				t.Errorf("the error does not say what is uncovered: %v", err)
			}
		})
	}
	if err := e.svc.DeletePolicy(ctx, admin, normal.ID); !errors.As(err, &conflict) || !strings.Contains(conflict.Message, "normal × new") {
		t.Errorf("deleting the catch-all: %v", err)
	}
	if got := policyNamed(t, e, "Normal and low"); got.Targets[FirstResponse].Minutes != 480 || len(got.Priorities) != 0 {
		t.Errorf("a refused change was saved: %+v", got)
	}
	if v := count(t, `SELECT version FROM sla_state`); v != versionBefore {
		t.Errorf("refused changes bumped the settings version from %d to %d", versionBefore, v)
	}
}

// A change of calendar or policy re-evaluates open tickets (in the sweeper, in batches).
func TestSettingsChangeReevaluatesOpenTickets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin := tickets.StaffActor(e.agent(t, tickets.RoleAdmin).ID)
	tk := e.ticket(t, tickets.High, 0)
	solvedTk := e.ticket(t, tickets.High, 0)
	ag := e.agent(t, tickets.RoleAgent)
	if _, err := e.desk.Update(ctx, solvedTk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: ptr(tickets.StatusSolved)}); err != nil {
		t.Fatal(err)
	}
	solvedBefore := clocksOf(t, solvedTk.ID)

	madrid, err := e.svc.SaveCalendar(ctx, admin, 0, CalendarSpec{
		Name: "Madrid " + email("cal"), Timezone: "Europe/Madrid",
		Hours: weekdays(Interval{From: "09:00", To: "14:00"}, Interval{From: "15:00", To: "18:00"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	changePolicy(t, e, admin, "High", func(p *Policy) {
		p.CalendarID = madrid.ID
		p.Targets[FirstResponse] = &Target{Minutes: 120, Business: true}
	})
	if count(t, `SELECT count(*) FROM sla_recompute WHERE ticket_id = ?`, tk.ID) != 1 {
		t.Fatal("the open ticket was not queued")
	}
	res, err := e.svc.Sweep(ctx)
	if err != nil || res.Reevaluated == 0 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	fr := clocksOf(t, tk.ID)["first_response/1"]
	want := madrid.Add(ticketCreatedAt(t, tk.ID), 2*time.Hour)
	if fr.TargetSeconds != 7200 || fr.CalendarID != madrid.ID || !fr.DueAt.Equal(want) {
		t.Errorf("re-evaluated first response: target %d calendar %d due %s, want 7200, %d, %s", fr.TargetSeconds, fr.CalendarID, fr.DueAt, madrid.ID, want)
	}
	if got := clocksOf(t, solvedTk.ID); got["first_response/1"].TargetSeconds != solvedBefore["first_response/1"].TargetSeconds {
		t.Error("a solved ticket's finished clocks were rewritten")
	}
	if count(t, `SELECT count(*) FROM events WHERE type = ? AND actor_user_id = ?`, EventPolicySaved, admin.UserID) == 0 {
		t.Error("the policy change is not in the audit trail")
	}
}

const holidaysICS = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Ayuntamiento//Festivos//ES
BEGIN:VEVENT
UID:1@example.org
DTSTAMP:20250101T000000Z
DTSTART;VALUE=DATE:20250501
SUMMARY:Fiesta del Trabajo
END:VEVENT
BEGIN:VEVENT
UID:2@example.org
DTSTAMP:20250101T000000Z
DTSTART;VALUE=DATE:20250417
DTEND;VALUE=DATE:20250419
SUMMARY:Jueves y Viernes Santo
END:VEVENT
BEGIN:VEVENT
UID:3@example.org
DTSTAMP:20250101T000000Z
DTSTART;VALUE=DATE:20241225
RRULE:FREQ=YEARLY
SUMMARY:Navidad
END:VEVENT
BEGIN:VEVENT
UID:4@example.org
DTSTAMP:20250101T000000Z
DTSTART;VALUE=DATE:20250815
STATUS:CANCELLED
SUMMARY:Asunción (moved)
END:VEVENT
END:VCALENDAR
`

func TestImportHolidaysFromICalendar(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.clock.Set(utc("2025-01-10T00:00:00Z"))
	defer e.clock.Set(time.Time{})
	admin := tickets.StaffActor(e.agent(t, tickets.RoleAdmin).ID)
	cal, err := e.svc.SaveCalendar(ctx, admin, 0, CalendarSpec{Name: "Sevilla " + email("c"), Timezone: "Europe/Madrid",
		Hours: weekdays(Interval{From: "09:00", To: "17:00"}), Holidays: []Holiday{{Date: "2025-01-06", Name: "Reyes"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, added, err := e.svc.ImportHolidays(ctx, admin, cal.ID, holidaysICS, false)
	if err != nil {
		t.Fatal(err)
	}
	dates := map[string]string{}
	for _, h := range got.Spec().Holidays {
		dates[h.Date] = h.Name
	}
	for _, d := range []string{"2025-01-06", "2025-05-01", "2025-04-17", "2025-04-18", "2024-12-25", "2025-12-25", "2034-12-25"} {
		if _, ok := dates[d]; !ok {
			t.Errorf("no holiday on %s: %v", d, dates)
		}
	}
	if _, ok := dates["2025-08-15"]; ok {
		t.Error("a cancelled event became a holiday")
	}
	if _, ok := dates["2025-04-19"]; ok {
		t.Error("DTEND is exclusive, but 19 April became a holiday")
	}
	if dates["2025-04-18"] != "Jueves y Viernes Santo" || added != len(dates)-1 {
		t.Errorf("added %d, names %v", added, dates)
	}
	// The holidays count: Thursday 17 April 09:00 + 8h lands on Monday 21 April.
	if due := got.Add(utc("2025-04-17T07:00:00Z"), 8*time.Hour); !due.Equal(utc("2025-04-21T15:00:00Z")) {
		t.Errorf("due across Easter = %s", due)
	}
	for _, bad := range []string{"", "not a calendar", "BEGIN:VCALENDAR\nEND:VCALENDAR\n"} {
		if _, _, err := e.svc.ImportHolidays(ctx, admin, cal.ID, bad, false); validationField(t, err) != "ics" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// SQL counts business time with the spans the application writes; it agrees with the calendar.
func TestBusinessSpansAgreeWithTheCalendar(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin := tickets.StaffActor(e.agent(t, tickets.RoleAdmin).ID)
	saved, err := e.svc.SaveCalendar(ctx, admin, 0, CalendarSpec{Name: "Night NY " + email("c"), Timezone: "America/New_York",
		Hours:    everyDay(Interval{From: "22:00", To: "06:00", Overnight: true}, Interval{From: "09:00", To: "12:00"}),
		Holidays: []Holiday{{Date: "2025-11-27"}}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		from := utc("2025-01-01T00:00:00Z").Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		to := from.Add(time.Duration(rng.Int64N(int64(40 * 24 * time.Hour))))
		var sqlSeconds float64
		if err := db.Raw(`SELECT sla_business_at(?, ?) - sla_business_at(?, ?)`, saved.ID, to, saved.ID, from).Scan(&sqlSeconds).Error; err != nil {
			t.Fatal(err)
		}
		if want := saved.Elapsed(from, to).Seconds(); abs(sqlSeconds-want) > 1e-3 {
			t.Fatalf("%s to %s: SQL %f s, calendar %f s", from, to, sqlSeconds, want)
		}
		var at float64
		if err := db.Raw(`SELECT sla_business_at(?, ?)`, saved.ID, to).Scan(&at).Error; err != nil {
			t.Fatal(err)
		}
		if want := saved.Cumulative(to).Seconds(); abs(at-want) > 1e-3 {
			t.Fatalf("business time to %s: SQL %f s, calendar %f s", to, at, want)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
