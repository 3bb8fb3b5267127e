package sla

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// holidayHorizon is how far ahead recurring holidays are expanded: a rule such as "every 25
// December" has no end, and a calendar stores dates.
const holidayHorizon = 10

// ParseHolidays reads the events of an iCalendar file (a country's public holidays, as calendar
// services publish them) as holidays: every date an event covers, in the calendar's time zone,
// named by its summary. Recurring events are expanded up to ten years after now. Errors are
// validation errors on the field "ics".
func ParseHolidays(r io.Reader, loc *time.Location, now time.Time) ([]Holiday, error) {
	bad := func(format string, args ...any) error {
		return &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "ics", Message: fmt.Sprintf(format, args...)}}}
	}
	cal, err := ical.NewDecoder(r).Decode()
	if errors.Is(err, io.EOF) {
		return nil, bad("is empty: send the text of an iCalendar (.ics) file")
	}
	if err != nil {
		return nil, bad("is not an iCalendar file: %v", err)
	}
	horizon := now.AddDate(holidayHorizon, 0, 0)
	var out []Holiday
	seen := map[string]bool{}
	add := func(day time.Time, name string) error {
		d := day.In(loc).Format(time.DateOnly)
		if seen[d] {
			return nil
		}
		seen[d] = true
		out = append(out, Holiday{Date: d, Name: name})
		if len(out) > maxHolidays {
			return bad("holds more than %d dates", maxHolidays)
		}
		return nil
	}
	for i, ev := range cal.Events() {
		if st, err := ev.Status(); err == nil && st == ical.EventCancelled {
			continue
		}
		name, _ := ev.Props.Text(ical.PropSummary)
		name = strings.TrimSpace(name)
		if len([]rune(name)) > 200 {
			name = string([]rune(name)[:200])
		}
		start, err := ev.DateTimeStart(loc)
		if err != nil {
			return nil, bad("event %d (%s): DTSTART: %v", i+1, name, err)
		}
		end, err := ev.DateTimeEnd(loc)
		if err != nil {
			return nil, bad("event %d (%s): DTEND: %v", i+1, name, err)
		}
		// An event covers the dates from its start up to its (exclusive) end; at least its first.
		days := 1
		if end.After(start) {
			days = int((end.Sub(start) + 24*time.Hour - time.Nanosecond) / (24 * time.Hour))
		}
		if days > 366 {
			return nil, bad("event %d (%s) lasts more than a year", i+1, name)
		}
		starts := []time.Time{start}
		set, err := ev.RecurrenceSet(loc)
		if err != nil {
			return nil, bad("event %d (%s): RRULE: %v", i+1, name, err)
		}
		if set != nil {
			starts = set.Between(start.Add(-time.Second), horizon, true)
		}
		for _, s := range starts {
			y, m, d := s.In(loc).Date()
			for k := range days {
				if err := add(time.Date(y, m, d+k, 12, 0, 0, 0, loc), name); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, bad("has no events (VEVENT) to take dates from")
	}
	return out, nil
}
