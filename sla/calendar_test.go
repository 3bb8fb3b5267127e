package sla

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func mustCompile(t testing.TB, spec CalendarSpec) *Calendar {
	t.Helper()
	c, err := Compile(spec)
	if err != nil {
		t.Fatalf("compile %s: %v", spec.Name, err)
	}
	return c
}

func weekdays(ivs ...Interval) map[string][]Interval {
	return map[string][]Interval{"mon": ivs, "tue": ivs, "wed": ivs, "thu": ivs, "fri": ivs}
}

func everyDay(ivs ...Interval) map[string][]Interval {
	h := weekdays(ivs...)
	h["sat"], h["sun"] = ivs, ivs
	return h
}

// madridOffice works 09:00–14:00 and 15:00–18:00 on weekdays, 8 hours a day.
func madridOffice(t testing.TB) *Calendar {
	return mustCompile(t, CalendarSpec{
		Name: "Madrid office", Timezone: "Europe/Madrid",
		Hours:    weekdays(Interval{From: "09:00", To: "14:00"}, Interval{From: "15:00", To: "18:00"}),
		Holidays: []Holiday{{Date: "2025-12-25", Name: "Navidad"}, {Date: "2026-01-01"}, {Date: "2026-01-06", Name: "Reyes"}},
	})
}

// nightDesk works overnight, 22:00–06:00, starting every evening.
func nightDesk(t testing.TB, zone string) *Calendar {
	return mustCompile(t, CalendarSpec{Name: "Night desk", Timezone: zone, Hours: everyDay(Interval{From: "22:00", To: "06:00", Overnight: true})})
}

func newYorkOffice(t testing.TB) *Calendar {
	return mustCompile(t, CalendarSpec{
		Name: "New York office", Timezone: "America/New_York",
		Hours:    weekdays(Interval{From: "09:00", To: "17:00"}),
		Holidays: []Holiday{{Date: "2025-11-27", Name: "Thanksgiving"}},
	})
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Due times computed by hand. Times are written in UTC; the comment gives the local reading.
func TestAddHandComputed(t *testing.T) {
	madrid, ny := madridOffice(t), newYorkOffice(t)
	nightMadrid, nightNY := nightDesk(t, "Europe/Madrid"), nightDesk(t, "America/New_York")
	always := mustCompile(t, CalendarSpec{Name: "24/7", Timezone: "Europe/Madrid", Hours: everyDay(Interval{From: "00:00", To: "24:00"})})
	cases := []struct {
		name   string
		cal    *Calendar
		start  string
		target time.Duration
		due    string
	}{
		// Madrid is UTC+1 in winter, UTC+2 in summer.
		{"within the morning", madrid, "2025-03-03T09:00:00Z" /* Mon 10:00 */, 2 * time.Hour, "2025-03-03T11:00:00Z" /* 12:00 */},
		{"across lunch", madrid, "2025-03-03T12:00:00Z" /* Mon 13:00 */, 2 * time.Hour, "2025-03-03T15:00:00Z" /* 16:00 */},
		{"ends exactly at closing", madrid, "2025-03-03T16:00:00Z" /* Mon 17:00 */, time.Hour, "2025-03-03T17:00:00Z" /* 18:00 */},
		{"over the weekend", madrid, "2025-03-07T16:00:00Z" /* Fri 17:00 */, 2 * time.Hour, "2025-03-10T09:00:00Z" /* Mon 10:00 */},
		{"starting on Saturday", madrid, "2025-03-08T11:00:00Z" /* Sat 12:00 */, 30 * time.Minute, "2025-03-10T08:30:00Z" /* Mon 09:30 */},
		{"starting at lunch", madrid, "2025-03-03T13:30:00Z" /* Mon 14:30 */, 10 * time.Minute, "2025-03-03T14:10:00Z" /* 15:10 */},
		{"seconds are kept", madrid, "2025-03-03T09:00:17Z" /* Mon 10:00:17 */, time.Minute, "2025-03-03T09:01:17Z"},
		{"over Christmas", madrid, "2025-12-24T16:00:00Z" /* Wed 17:00 */, 2 * time.Hour, "2025-12-26T09:00:00Z" /* Fri 26 10:00 */},
		// Mon 22 to Wed 24 is 24h, Thu 25 is a holiday, Fri 26 makes 32h, Mon 29 ends at 18:00.
		{"five days over a weekend and a holiday", madrid, "2025-12-22T08:00:00Z" /* Mon 09:00 */, 40 * time.Hour, "2025-12-29T17:00:00Z" /* Mon 18:00 */},
		// Ten weeks from a Monday lose Christmas and New Year (384h by Fri 2 Jan); Mon 5 Jan makes
		// 392h, Reyes (Tue 6 Jan) is a holiday, Wed 7 Jan ends it.
		{"ten weeks", madrid, "2025-10-27T08:00:00Z" /* Mon 27 Oct 09:00 CET */, 400 * time.Hour, "2026-01-07T17:00:00Z" /* Wed 7 Jan 18:00 */},
		// Summer time began in March and ended on 26 October: a week skip must not cross it blindly.
		{"weeks across the end of summer time", madrid, "2025-10-06T07:00:00Z" /* Mon 6 Oct 09:00 CEST */, 120 * time.Hour, "2025-10-24T16:00:00Z" /* Fri 24 Oct 18:00 CEST */},
		{"weeks into winter", madrid, "2025-10-13T07:00:00Z" /* Mon 13 Oct 09:00 CEST */, 120 * time.Hour, "2025-10-31T17:00:00Z" /* Fri 31 Oct 18:00 CET */},

		// Spring forward in Madrid: Sun 30 March 2025, 02:00 CET becomes 03:00 CEST.
		// Sat 22:00–24:00 CET is 2h; Sun 00:00 CET (23:00Z) to 06:00 CEST (04:00Z) is 5h; then Sun 22:00 CEST.
		{"night shift, spring forward", nightMadrid, "2025-03-29T21:00:00Z" /* Sat 22:00 CET */, 8 * time.Hour, "2025-03-30T21:00:00Z" /* Sun 23:00 CEST */},
		{"night shift ends at the jump", nightMadrid, "2025-03-29T21:00:00Z", 7 * time.Hour, "2025-03-30T04:00:00Z" /* Sun 06:00 CEST */},
		{"24/7 across spring forward", always, "2025-03-29T11:00:00Z" /* Sat 12:00 CET */, 24 * time.Hour, "2025-03-30T11:00:00Z" /* Sun 13:00 CEST */},
		// Fall back in Madrid: Sun 26 October 2025, 03:00 CEST becomes 02:00 CET. The night is 9h long.
		{"night shift, fall back", nightMadrid, "2025-10-25T20:00:00Z" /* Sat 22:00 CEST */, 8 * time.Hour, "2025-10-26T04:00:00Z" /* Sun 05:00 CET */},
		{"night shift, the long night", nightMadrid, "2025-10-25T20:00:00Z", 9 * time.Hour, "2025-10-26T05:00:00Z" /* Sun 06:00 CET */},
		{"24/7 across fall back", always, "2025-10-25T10:00:00Z" /* Sat 12:00 CEST */, 24 * time.Hour, "2025-10-26T10:00:00Z" /* Sun 11:00 CET */},

		// New York: EST is UTC-5, EDT UTC-4. Spring forward Sun 9 March 2025, fall back Sun 2 November.
		{"NY over the spring weekend", ny, "2025-03-07T21:00:00Z" /* Fri 16:00 EST */, 2 * time.Hour, "2025-03-10T14:00:00Z" /* Mon 10:00 EDT */},
		{"NY over the fall weekend", ny, "2025-10-31T20:30:00Z" /* Fri 16:30 EDT */, time.Hour, "2025-11-03T14:30:00Z" /* Mon 09:30 EST */},
		{"NY Thanksgiving", ny, "2025-11-26T21:00:00Z" /* Wed 16:00 EST */, 2 * time.Hour, "2025-11-28T15:00:00Z" /* Fri 10:00 EST */},
		// Sat 22:00 EDT (02:00Z) to Sun 06:00 EST (11:00Z) is 9h.
		{"NY night shift, fall back", nightNY, "2025-11-02T02:00:00Z", 8*time.Hour + 30*time.Minute, "2025-11-02T10:30:00Z" /* Sun 05:30 EST */},
		// Sat 22:00 EST (03:00Z) to Sun 06:00 EDT (10:00Z) is 7h.
		{"NY night shift, spring forward", nightNY, "2025-03-09T03:00:00Z", 7 * time.Hour, "2025-03-09T10:00:00Z"},
		{"NY night shift, after the short night", nightNY, "2025-03-09T03:00:00Z", 7*time.Hour + time.Minute, "2025-03-10T02:01:00Z" /* Sun 22:01 EDT */},

		// Past the end of the zone table Go derives clock changes from the zone's rule; its
		// periods end a day early in leap years, which must not stall the arithmetic.
		{"NY at the end of 2040", ny, "2040-12-28T21:00:00Z" /* Fri 16:00 EST */, 10 * time.Hour, "2041-01-01T15:00:00Z" /* Tue 10:00 EST */},
		{"zero target", madrid, "2025-03-08T11:00:00Z", 0, "2025-03-08T11:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start, want := utc(tc.start), utc(tc.due)
			got := tc.cal.Add(start, tc.target)
			if !got.Equal(want) {
				t.Errorf("Add(%s, %s) = %s (%s local), want %s", start, tc.target, got.UTC().Format(time.RFC3339), got.In(tc.cal.Location()).Format("Mon 15:04 MST"), want.Format(time.RFC3339))
			}
			if el := tc.cal.Elapsed(start, want); el != tc.target {
				t.Errorf("Elapsed(%s, %s) = %s, want %s", start, want, el, tc.target)
			}
		})
	}
}

// Business time that starts inside a spring-forward gap starts when the clocks jump; an interval
// inside the repeated hour of a fall back is counted once, at its first occurrence.
func TestIntervalsAtClockChanges(t *testing.T) {
	gap := mustCompile(t, CalendarSpec{Name: "gap", Timezone: "America/New_York", Hours: map[string][]Interval{"sun": {{From: "02:30", To: "04:00"}}}})
	// 02:30 EST does not exist on 9 March 2025: the interval runs 03:00–04:00 EDT, one hour.
	if got := gap.Elapsed(utc("2025-03-09T00:00:00Z"), utc("2025-03-10T00:00:00Z")); got != time.Hour {
		t.Errorf("gap interval = %s, want 1h", got)
	}
	if got := gap.Next(utc("2025-03-09T05:00:00Z")); !got.Equal(utc("2025-03-09T07:00:00Z")) {
		t.Errorf("Next = %s, want 07:00Z (03:00 EDT)", got)
	}
	repeated := mustCompile(t, CalendarSpec{Name: "repeat", Timezone: "America/New_York", Hours: map[string][]Interval{"sun": {{From: "00:00", To: "03:00"}}}})
	// On 2 November 2025 00:00 EDT to 03:00 EST is four hours.
	if got := repeated.Elapsed(utc("2025-11-02T00:00:00Z"), utc("2025-11-03T00:00:00Z")); got != 4*time.Hour {
		t.Errorf("fall-back interval = %s, want 4h", got)
	}
	// An ordinary Sunday is three hours.
	if got := repeated.Elapsed(utc("2025-11-09T00:00:00Z"), utc("2025-11-10T00:00:00Z")); got != 3*time.Hour {
		t.Errorf("ordinary Sunday = %s, want 3h", got)
	}
}

func TestElapsedAndNext(t *testing.T) {
	madrid := madridOffice(t)
	cases := []struct {
		from, to string
		want     time.Duration
	}{
		{"2025-03-03T07:00:00Z", "2025-03-03T07:30:00Z", 0},               // Mon 08:00–08:30 CET, before opening
		{"2025-03-03T07:00:00Z", "2025-03-04T07:00:00Z", 8 * time.Hour},   // a whole Monday
		{"2025-03-07T16:00:00Z", "2025-03-10T09:00:00Z", 2 * time.Hour},   // Fri 17:00 to Mon 10:00
		{"2025-03-03T00:00:00Z", "2025-03-31T00:00:00Z", 160 * time.Hour}, // four weeks, across spring forward on a Sunday
		{"2025-12-22T00:00:00Z", "2026-01-12T00:00:00Z", 96 * time.Hour},  // three weeks with three holidays
		{"2025-03-04T10:00:00Z", "2025-03-03T10:00:00Z", 0},               // backwards
	}
	for _, tc := range cases {
		if got := madrid.Elapsed(utc(tc.from), utc(tc.to)); got != tc.want {
			t.Errorf("Elapsed(%s, %s) = %s, want %s", tc.from, tc.to, got, tc.want)
		}
	}
	// Ten years: Mon 2020-01-06 to Tue 2030-01-08 is 522 weeks and a Monday, minus three holidays.
	if got, want := madrid.Elapsed(utc("2020-01-05T23:00:00Z"), utc("2030-01-07T23:00:00Z")), (522*40+8-3*8)*time.Hour; got != want {
		t.Errorf("ten years = %s, want %s", got, want)
	}
	for _, tc := range []struct{ at, want string }{
		{"2025-03-03T09:00:00Z", "2025-03-03T09:00:00Z"}, // open: itself
		{"2025-03-03T13:10:00Z", "2025-03-03T14:00:00Z"}, // lunch: 15:00
		{"2025-03-07T17:00:00Z", "2025-03-10T08:00:00Z"}, // Friday 18:00: Monday 09:00
		{"2025-12-24T17:30:00Z", "2025-12-26T08:00:00Z"}, // Christmas Eve evening: the 26th
	} {
		if got := madrid.Next(utc(tc.at)); !got.Equal(utc(tc.want)) {
			t.Errorf("Next(%s) = %s, want %s", tc.at, got.UTC().Format(time.RFC3339), tc.want)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	cases := []struct {
		name  string
		spec  CalendarSpec
		field string
	}{
		{"no name", CalendarSpec{Timezone: "UTC", Hours: weekdays(Interval{From: "09:00", To: "17:00"})}, "name"},
		{"unknown zone", CalendarSpec{Name: "x", Timezone: "Europe/Atlantis", Hours: weekdays(Interval{From: "09:00", To: "17:00"})}, "timezone"},
		{"local zone", CalendarSpec{Name: "x", Timezone: "Local", Hours: weekdays(Interval{From: "09:00", To: "17:00"})}, "timezone"},
		{"no hours", CalendarSpec{Name: "x", Timezone: "UTC"}, "hours"},
		{"inverted", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{"mon": {{From: "17:00", To: "09:00"}}}}, "hours.mon[0].to"},
		{"empty", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{"mon": {{From: "09:00", To: "09:00"}}}}, "hours.mon[0].to"},
		{"overlap", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{"tue": {{From: "09:00", To: "13:00"}, {From: "12:00", To: "17:00"}}}}, "hours.tue[1]"},
		{"overnight overlaps next morning", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{
			"sun": {{From: "22:00", To: "06:00", Overnight: true}}, "mon": {{From: "05:00", To: "12:00"}}}}, "hours.mon[0]"},
		{"overnight not inverted", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{"mon": {{From: "08:00", To: "12:00", Overnight: true}}}}, "hours.mon[0].to"},
		{"bad time", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{"mon": {{From: "9am", To: "17:00"}}}}, "hours.mon[0].from"},
		{"24:00 as a start", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{"mon": {{From: "24:00", To: "24:00"}}}}, "hours.mon[0].from"},
		{"bad weekday", CalendarSpec{Name: "x", Timezone: "UTC", Hours: map[string][]Interval{"monday": {{From: "09:00", To: "17:00"}}}}, "hours.monday"},
		{"bad holiday", CalendarSpec{Name: "x", Timezone: "UTC", Hours: weekdays(Interval{From: "09:00", To: "17:00"}), Holidays: []Holiday{{Date: "25/12/2025"}}}, "holidays[0].date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.spec)
			var v *tickets.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if v.Message(tc.field) == "" {
				t.Errorf("no complaint about %s: %v", tc.field, err)
			}
		})
	}
	// Adjacent intervals, an overnight shift running into the next day's shift, and 24:00 are fine.
	_, err := Compile(CalendarSpec{Name: "ok", Timezone: "Europe/Madrid", Hours: map[string][]Interval{
		"mon": {{From: "06:00", To: "14:00"}, {From: "14:00", To: "22:00"}, {From: "22:00", To: "06:00", Overnight: true}},
		"tue": {{From: "06:00", To: "24:00"}},
	}})
	if err != nil {
		t.Errorf("valid calendar refused: %v", err)
	}
}

// naiveAdd walks minute by minute, asking of each minute whether the clocks on the wall show
// business time: what peers do, and the reference the closed form must agree with.
func naiveAdd(c *Calendar, start time.Time, d time.Duration) time.Time {
	t, left := start, d
	for left > 0 {
		next := t.Truncate(time.Minute).Add(time.Minute)
		if naiveOpen(c, t) {
			step := min(next.Sub(t), left)
			left -= step
			if left == 0 {
				return t.Add(step)
			}
		}
		t = next
	}
	return t
}

func naiveOpen(c *Calendar, t time.Time) bool {
	local := t.In(c.loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	if c.isHoliday(day) {
		return false
	}
	sinceMidnight := int64(local.Hour())*int64(time.Hour) + int64(local.Minute())*nsMinute + int64(local.Second())*int64(time.Second)
	for _, p := range c.days[local.Weekday()] {
		if sinceMidnight >= p.from && sinceMidnight < p.to {
			return true
		}
	}
	return false
}

// randomCalendar builds a valid calendar of whole and half hours that avoid 01:00–03:00, where
// clock changes happen and a wall reading can mean two instants.
func randomCalendar(rng *rand.Rand, zone string) *Calendar {
	hours := map[string][]Interval{}
	for _, day := range Weekdays {
		if rng.IntN(5) == 0 {
			continue
		}
		at := 3*60 + 30*rng.IntN(8)
		for at < 24*60 && rng.IntN(4) > 0 {
			end := min(at+30*(1+rng.IntN(12)), 24*60)
			hours[day] = append(hours[day], Interval{From: clock(at), To: clock(end)})
			at = end + 30*rng.IntN(4)
		}
	}
	if len(hours) == 0 {
		hours["wed"] = []Interval{{From: "10:00", To: "11:30"}}
	}
	var holidays []Holiday
	for range rng.IntN(10) {
		holidays = append(holidays, Holiday{Date: time.Date(2025, 1, 1+rng.IntN(730), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)})
	}
	c, err := Compile(CalendarSpec{Name: "random", Timezone: zone, Hours: hours, Holidays: holidays})
	if err != nil {
		panic(err)
	}
	return c
}

func clock(min int) string {
	if min == 24*60 {
		return "24:00"
	}
	return time.Date(2000, 1, 1, min/60, min%60, 0, 0, time.UTC).Format("15:04")
}

// Property: a due time falls inside business hours (or at the end of an interval), the business
// time from start to due is the target, and the minute-by-minute walk agrees.
func TestAddProperties(t *testing.T) {
	zones := []string{"Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "UTC"}
	rng := rand.New(rand.NewPCG(5, 5))
	for n := range 400 {
		zone := zones[n%len(zones)]
		cal := randomCalendar(rng, zone)
		// Mostly the near years, and a quarter in years past the zone tables (2038 on).
		span := 540 * 24 * time.Hour
		if n%4 == 1 {
			span = 20 * 365 * 24 * time.Hour
		}
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Minute)
		target := time.Duration(1+rng.IntN(6000)) * time.Minute
		due := cal.Add(start, target)
		if el := cal.Elapsed(start, due); el != target {
			t.Fatalf("%s %v: Elapsed(start, Add(start, %s)) = %s", zone, cal.spec.Hours, target, el)
		}
		if !cal.InBusinessHours(due.Add(-time.Nanosecond)) {
			t.Fatalf("%s: due %s falls outside business hours (%v)", zone, due.In(cal.loc), cal.spec.Hours)
		}
		if n%4 <= 1 {
			if naive := naiveAdd(cal, start, target); !naive.Equal(due) {
				t.Fatalf("%s %v from %s + %s: closed form %s, minute walk %s", zone, cal.spec.Hours, start.In(cal.loc), target, due.In(cal.loc), naive.In(cal.loc))
			}
		}
	}
}
