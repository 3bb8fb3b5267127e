package sla

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	// Time zones are looked up by IANA name; the embedded database makes that work on machines
	// without /usr/share/zoneinfo (minimal containers, Windows).
	_ "time/tzdata"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// CalendarSpec is a business-hours calendar as people write it: a time zone, the weekly hours
// and the holidays. Compile checks it and turns it into a Calendar.
type CalendarSpec struct {
	Name     string                `json:"name"`
	Timezone string                `json:"timezone"`
	Hours    map[string][]Interval `json:"hours"`
	Holidays []Holiday             `json:"holidays"`
}

// Interval is a stretch of business time on one weekday, in the calendar's wall-clock time.
// To is after From, or, for a shift that ends the next day, Overnight is set and To is before
// From ("22:00" to "06:00"). "24:00" is the end of the day.
type Interval struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Overnight bool   `json:"overnight,omitempty"`
}

// Holiday is a date with no business time at all, from local midnight to midnight.
type Holiday struct {
	Date string `json:"date"` // YYYY-MM-DD
	Name string `json:"name,omitempty"`
}

// Weekdays are the keys of CalendarSpec.Hours, Monday first.
var Weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

var weekdayOf = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
}

// Times are kept as int64 nanoseconds: instants since the Unix epoch, and "wall" readings of
// the calendar's clocks counted as if they were UTC, so that local day d starts at wall d*day.
const (
	nsMinute = int64(time.Minute)
	nsDay    = int64(24 * time.Hour)
	nsWeek   = 7 * nsDay
	// No zone is more than 14 hours off UTC; a wall reading happens within this of its instant.
	maxOffset = int64(15 * time.Hour)
)

// piece is business time within one local day: [from, to) nanoseconds after local midnight.
type piece struct{ from, to int64 }

// Calendar is a compiled business-hours calendar. Its arithmetic works interval by interval and
// skips whole weeks at once where no holiday or clock change falls, so the cost of a due time
// depends on the number of intervals and holidays crossed, never on the length of the target.
type Calendar struct {
	ID   int64
	Name string
	loc  *time.Location
	// days holds each weekday's business time, split at midnight so that an overnight shift's
	// second half belongs to the next day (and a holiday on that day removes it).
	days [7][]piece
	// week is the business time of a week of wall-clock time, without holidays or clock changes.
	week int64
	// holidays are local day numbers, ascending.
	holidays []int64
	spec     CalendarSpec

	// yearly holds the business time from spansFrom to each New Year (UTC) up to spansTo, built
	// on first use: Cumulative then walks at most a year.
	yearlyOnce sync.Once
	yearly     []time.Duration
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Spec returns the calendar as it was written (cleaned).
func (c *Calendar) Spec() CalendarSpec { return c.spec }

// WeeklyBusinessMinutes is the business time of a week without holidays or clock changes.
func (c *Calendar) WeeklyBusinessMinutes() int64 { return c.week / nsMinute }

// Compile validates a spec and returns the calendar. Every problem is reported, each naming its
// field by its JSON path ("hours.mon[1].to").
func Compile(spec CalendarSpec) (*Calendar, error) {
	var v tickets.ValidationError
	spec.Name = strings.TrimSpace(spec.Name)
	switch {
	case spec.Name == "":
		v.Add("name", "is required")
	case utf8.RuneCountInString(spec.Name) > 100:
		v.Add("name", "must be at most 100 characters")
	}
	c := &Calendar{Name: spec.Name}
	spec.Timezone = strings.TrimSpace(spec.Timezone)
	switch loc, err := loadZone(spec.Timezone); {
	case spec.Timezone == "":
		v.Add("timezone", "is required: an IANA time zone such as Europe/Madrid")
	case err != nil:
		v.Add("timezone", fmt.Sprintf("unknown time zone %q: use an IANA name such as Europe/Madrid or America/New_York", spec.Timezone))
	default:
		c.loc = loc
	}
	c.compileHours(&v, spec.Hours)
	spec.Holidays = c.compileHolidays(&v, spec.Holidays)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c.spec = spec
	return c, nil
}

func loadZone(name string) (*time.Location, error) {
	// "Local" would mean whatever machine runs the sweep; a calendar must mean one place.
	if name == "Local" || name == "" {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return time.LoadLocation(name)
}

// placed remembers where a piece came from, to name both sides of an overlap.
type placed struct {
	piece
	field string
}

func (c *Calendar) compileHours(v *tickets.ValidationError, hours map[string][]Interval) {
	var byDay [7][]placed
	for key := range hours {
		if _, ok := weekdayOf[key]; !ok {
			v.Add("hours."+key, "is not a weekday: use mon, tue, wed, thu, fri, sat, sun")
		}
	}
	total := 0
	for _, key := range Weekdays {
		wd := weekdayOf[key]
		for i, in := range hours[key] {
			total++
			field := fmt.Sprintf("hours.%s[%d]", key, i)
			from, okFrom := parseClock(in.From, false)
			to, okTo := parseClock(in.To, true)
			if !okFrom {
				v.Add(field+".from", fmt.Sprintf("%q is not a time of day such as 09:00", in.From))
			}
			if !okTo {
				v.Add(field+".to", fmt.Sprintf("%q is not a time of day such as 17:30 (24:00 ends the day)", in.To))
			}
			if !okFrom || !okTo {
				continue
			}
			switch {
			case in.Overnight && to >= from:
				v.Add(field+".to", "an overnight interval ends the next day, so to must be before from")
			case in.Overnight && to == nsDay:
				v.Add(field+".to", "an overnight interval cannot end at 24:00")
			case !in.Overnight && to <= from:
				v.Add(field+".to", fmt.Sprintf("must be after from (%s); for a shift that ends the next day, set overnight: true", in.From))
			case in.Overnight:
				byDay[wd] = append(byDay[wd], placed{piece{from, nsDay}, field})
				next := (wd + 1) % 7
				if to > 0 {
					byDay[next] = append(byDay[next], placed{piece{0, to}, field})
				}
			default:
				byDay[wd] = append(byDay[wd], placed{piece{from, to}, field})
			}
		}
	}
	if total > 7*24 {
		v.Add("hours", "at most 168 intervals")
		return
	}
	reported := map[string]bool{}
	for wd := range byDay {
		ps := byDay[wd]
		sort.Slice(ps, func(i, j int) bool { return ps[i].from < ps[j].from })
		for i := 1; i < len(ps); i++ {
			if ps[i].from < ps[i-1].to && !reported[ps[i].field] {
				reported[ps[i].field] = true
				other := ps[i-1].field
				if other == ps[i].field {
					other = "itself"
				}
				v.Add(ps[i].field, "overlaps "+other)
			}
		}
		for _, p := range ps {
			c.days[wd] = append(c.days[wd], p.piece)
			c.week += p.to - p.from
		}
	}
	if total > 0 && c.week == 0 {
		v.Add("hours", "has no business time")
	}
	if total == 0 {
		v.Add("hours", "needs at least one interval, such as {\"mon\": [{\"from\": \"09:00\", \"to\": \"17:00\"}]}")
	}
}

// parseClock reads "HH:MM" as nanoseconds after midnight. "24:00" is allowed where an interval
// ends.
func parseClock(s string, end bool) (int64, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, m := atoi2(s[0:2]), atoi2(s[3:5])
	if h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, false
	}
	return int64(h)*int64(time.Hour) + int64(m)*nsMinute, true
}

func atoi2(s string) int {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return -1
	}
	return int(s[0]-'0')*10 + int(s[1]-'0')
}

// maxHolidays bounds a calendar's holidays: a century of a country's public holidays.
const maxHolidays = 2000

func (c *Calendar) compileHolidays(v *tickets.ValidationError, hs []Holiday) []Holiday {
	if len(hs) > maxHolidays {
		v.Add("holidays", fmt.Sprintf("at most %d dates", maxHolidays))
		return hs
	}
	seen := map[int64]bool{}
	out := make([]Holiday, 0, len(hs))
	for i, h := range hs {
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(h.Date))
		if err != nil {
			v.Add(fmt.Sprintf("holidays[%d].date", i), fmt.Sprintf("%q is not a date such as 2025-12-25", h.Date))
			continue
		}
		h.Name = strings.TrimSpace(h.Name)
		if utf8.RuneCountInString(h.Name) > 200 {
			v.Add(fmt.Sprintf("holidays[%d].name", i), "must be at most 200 characters")
		}
		day := d.Unix() / 86400
		if seen[day] {
			continue // the same date twice (from two imports) is one holiday
		}
		seen[day] = true
		c.holidays = append(c.holidays, day)
		out = append(out, Holiday{Date: d.Format(time.DateOnly), Name: h.Name})
	}
	slices.Sort(c.holidays)
	slices.SortFunc(out, func(a, b Holiday) int { return strings.Compare(a.Date, b.Date) })
	return out
}

// zone follows the calendar's UTC offset through time. It remembers the zone period (a stretch
// of one offset between two clock changes) it looked at last, so that converting between wall
// and instant is arithmetic until the next clock change.
type zone struct {
	loc        *time.Location
	start, end int64 // instants of the current period; math.MinInt64/MaxInt64 when unbounded
	offset     int64
	prevOffset int64 // the offset before start
}

// newZone returns a zone positioned at instant i.
func newZone(loc *time.Location, i int64) *zone {
	z := &zone{loc: loc}
	z.load(i)
	return z
}

// load makes the period containing instant i current.
func (z *zone) load(i int64) {
	t := time.Unix(0, i).In(z.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	z.offset = int64(off) * int64(time.Second)
	z.start, z.end = math.MinInt64, math.MaxInt64
	z.prevOffset = z.offset
	if !s.IsZero() {
		z.start = s.UnixNano()
		_, prev := time.Unix(0, z.start-1).In(z.loc).Zone()
		z.prevOffset = int64(prev) * int64(time.Second)
	}
	if !e.IsZero() {
		z.end = e.UnixNano()
	}
	if z.end <= i {
		// Go (1.26) computes periods past the end of the zone's table from its rule year by
		// year, and ends the last one of a year 365 days after New Year, a day early in leap
		// years: on 31 December 2040 the period it reports is already over. The rule changes
		// nothing at New Year, so the period lasts at least until then.
		y := time.Unix(0, i).UTC().Year()
		z.end = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	}
}

// wall returns the wall reading at instant i.
func (z *zone) wall(i int64) int64 {
	if i < z.start || i >= z.end {
		z.load(i)
	}
	return i + z.offset
}

// instant returns the first instant at which the calendar's clocks read w. A reading the clocks
// skip (inside a spring-forward gap) maps to the instant they skip it, so business time that
// starts in the gap starts when the clocks jump; a reading they show twice (fall back) maps to
// the first time. Both keep instant monotonic in w.
func (z *zone) instant(w int64) int64 {
	i := w - z.offset
	// The current period shows w, and the previous one did not already show it.
	if i >= z.start && i < z.end && (z.prevOffset <= z.offset || w >= z.start+z.prevOffset) {
		return i
	}
	z.load(w - maxOffset)
	for {
		i = w - z.offset
		if i < z.start {
			return z.start
		}
		if i < z.end {
			return i
		}
		z.load(z.end)
	}
}

// linearUntil reports the wall reading up to which, from the current period's wall range, wall
// and instant differ by the current offset alone.
func (z *zone) linearUntil() int64 {
	if z.end == math.MaxInt64 {
		return math.MaxInt64
	}
	return z.end + z.offset
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// weekday of local day number d (day 0, 1970-01-01, was a Thursday).
func weekday(d int64) time.Weekday { return time.Weekday((d%7 + 7 + 4) % 7) }

func (c *Calendar) isHoliday(d int64) bool {
	_, found := slices.BinarySearch(c.holidays, d)
	return found
}

// nextHoliday is the first holiday on or after day d, or MaxInt64.
func (c *Calendar) nextHoliday(d int64) int64 {
	i, _ := slices.BinarySearch(c.holidays, d)
	if i == len(c.holidays) {
		return math.MaxInt64
	}
	return c.holidays[i]
}

// skippableWeeks is how many whole weeks from the start of local day d hold no holiday and no
// clock change, so that each holds exactly c.week of business time. z must be at d's midnight.
func (c *Calendar) skippableWeeks(z *zone, d int64) int64 {
	weeks := int64(math.MaxInt64)
	if h := c.nextHoliday(d); h != math.MaxInt64 {
		weeks = (h - d) / 7
	}
	if lin := z.linearUntil(); lin != math.MaxInt64 {
		weeks = min(weeks, (floorDiv(lin, nsDay)-d)/7)
	}
	return max(weeks, 0)
}

// Add returns the instant at which d of business time has passed since start: the due time of a
// business-time target. It lies inside business hours or at the end of an interval. A zero or
// negative d gives start.
func (c *Calendar) Add(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start
	}
	i := start.UnixNano()
	z := newZone(c.loc, i)
	rem := int64(d)
	day := floorDiv(z.wall(i), nsDay)
	first := true
	for {
		midnight := z.instant(day * nsDay)
		if !first && rem > c.week && i <= midnight {
			if k := min((rem-1)/c.week, c.skippableWeeks(z, day)); k > 0 {
				rem -= k * c.week
				day += 7 * k
				continue
			}
		}
		first = false
		if !c.isHoliday(day) {
			for _, p := range c.days[weekday(day)] {
				a, b := z.instant(day*nsDay+p.from), z.instant(day*nsDay+p.to)
				if b <= i {
					continue
				}
				a = max(a, i)
				if b-a >= rem {
					return time.Unix(0, a+rem).In(start.Location())
				}
				rem -= b - a
			}
		}
		day++
	}
}

// Elapsed returns the business time between from and to (zero when to is not after from).
func (c *Calendar) Elapsed(from, to time.Time) time.Duration {
	i, j := from.UnixNano(), to.UnixNano()
	if j <= i {
		return 0
	}
	z := newZone(c.loc, j)
	lastDay := floorDiv(z.wall(j), nsDay)
	day := floorDiv(z.wall(i), nsDay)
	var sum int64
	first := true
	for {
		midnight := z.instant(day * nsDay)
		if midnight >= j {
			return time.Duration(sum)
		}
		if !first && i <= midnight {
			// Whole weeks that end before to's day.
			if k := min(c.skippableWeeks(z, day), (lastDay-day)/7); k > 0 {
				sum += k * c.week
				day += 7 * k
				continue
			}
		}
		first = false
		if !c.isHoliday(day) {
			for _, p := range c.days[weekday(day)] {
				a, b := z.instant(day*nsDay+p.from), z.instant(day*nsDay+p.to)
				a, b = max(a, i), min(b, j)
				if b > a {
					sum += b - a
				}
			}
		}
		day++
	}
}

// Next returns t when t is inside business hours, else the start of the next business
// interval: when a notice held outside business hours goes out.
func (c *Calendar) Next(t time.Time) time.Time {
	i := t.UnixNano()
	z := newZone(c.loc, i)
	day := floorDiv(z.wall(i), nsDay)
	for n := 0; n < 400*7; n++ {
		if !c.isHoliday(day) {
			for _, p := range c.days[weekday(day)] {
				a, b := z.instant(day*nsDay+p.from), z.instant(day*nsDay+p.to)
				if b > i && b > a {
					return time.Unix(0, max(a, i)).In(t.Location())
				}
			}
		}
		day++
	}
	return t // four hundred weeks of holidays: the calendar has no business time left
}

// InBusinessHours reports whether t falls inside a business interval.
func (c *Calendar) InBusinessHours(t time.Time) bool { return c.Next(t).Equal(t) }

// Span is a stretch of business time between two instants.
type Span struct{ From, To time.Time }

// Spans lists the business time between from and to, adjacent intervals merged (an overnight
// shift is one span; a whole week of 24-hour days is one span).
func (c *Calendar) Spans(from, to time.Time) []Span {
	i, j := from.UnixNano(), to.UnixNano()
	var out []Span
	z := newZone(c.loc, i)
	var cur struct{ a, b int64 }
	flush := func() {
		if cur.b > cur.a {
			out = append(out, Span{time.Unix(0, cur.a).UTC(), time.Unix(0, cur.b).UTC()})
		}
	}
	for day := floorDiv(z.wall(i), nsDay); z.instant(day*nsDay) < j; day++ {
		if c.isHoliday(day) {
			continue
		}
		for _, p := range c.days[weekday(day)] {
			a, b := max(z.instant(day*nsDay+p.from), i), min(z.instant(day*nsDay+p.to), j)
			if b <= a {
				continue
			}
			if a == cur.b {
				cur.b = b
				continue
			}
			flush()
			cur.a, cur.b = a, b
		}
	}
	flush()
	return out
}

// spansFrom and spansTo bound the business spans written for SQL (sla_business_spans): times
// outside count business time as if the calendar had none.
var (
	spansFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	spansTo   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Cumulative is the business time from the start of the spans (2000-01-01) to t, the figure SQL's
// sla_business_at(calendar, t) gives: the difference of two is the business time between them.
func (c *Calendar) Cumulative(t time.Time) time.Duration {
	c.yearlyOnce.Do(func() {
		c.yearly = make([]time.Duration, 0, spansTo.Year()-spansFrom.Year()+1)
		var sum time.Duration
		for y := spansFrom.Year(); y <= spansTo.Year(); y++ {
			c.yearly = append(c.yearly, sum)
			sum += c.Elapsed(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC))
		}
	})
	switch {
	case !t.After(spansFrom):
		return 0
	case !t.Before(spansTo):
		t = spansTo
	}
	y := t.UTC().Year()
	return c.yearly[y-spansFrom.Year()] + c.Elapsed(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), t)
}
