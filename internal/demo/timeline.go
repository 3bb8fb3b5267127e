package demo

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

const (
	microsPerMinute = int64(time.Minute / time.Microsecond)
	microsPerHour   = int64(time.Hour / time.Microsecond)
	microsPerDay    = 24 * microsPerHour
)

// curve maps a quantile in [0, 1) to a moment in a time window, so that moments are as dense as
// a help desk's traffic: busier in recent months, on weekdays and in office hours. Because the
// mapping is monotonic, ticket i of n taken at quantile (i+jitter)/n gets a time after ticket
// i-1's, so ticket ids grow with their creation time as they do on a real desk, while every batch
// of tickets can be generated on its own.
type curve struct {
	start int64     // unix microseconds at the start of hour 0
	cum   []float64 // cum[h] is the traffic of hours before h; len = hours + 1
}

// newCurve builds the traffic curve for the hours from start to end.
func newCurve(start, end time.Time) *curve {
	hours := int(end.Sub(start) / time.Hour)
	if hours < 1 {
		hours = 1
	}
	c := &curve{start: start.UnixMicro(), cum: make([]float64, hours+1)}
	for h := range hours {
		t := start.Add(time.Duration(h) * time.Hour).UTC()
		// The desk grew over the year: the last months carry about twice the first ones' load.
		trend := 0.6 + 0.8*float64(h)/float64(hours)
		c.cum[h+1] = c.cum[h] + trend*weekdayLoad[t.Weekday()]*hourLoad[t.Hour()]
	}
	return c
}

// Relative traffic by weekday and by hour of the day (UTC, for a desk serving Spain and the UK).
var (
	weekdayLoad = [7]float64{time.Sunday: 0.4, time.Monday: 1.25, time.Tuesday: 1.15, time.Wednesday: 1.1,
		time.Thursday: 1.05, time.Friday: 0.95, time.Saturday: 0.45}
	hourLoad = [24]float64{0.12, 0.08, 0.06, 0.05, 0.05, 0.08, 0.2, 0.5, 1.1, 1.35, 1.4, 1.35,
		1.2, 1.05, 1.15, 1.2, 1.1, 0.9, 0.7, 0.55, 0.5, 0.45, 0.35, 0.2}
)

// at returns the moment (unix microseconds) at quantile q of the traffic.
func (c *curve) at(q float64) int64 {
	hours := len(c.cum) - 1
	target := q * c.cum[hours]
	// The first h with cum[h+1] > target is the hour the moment falls in.
	h := sort.Search(hours, func(h int) bool { return c.cum[h+1] > target })
	if h >= hours {
		h = hours - 1
	}
	frac := (target - c.cum[h]) / (c.cum[h+1] - c.cum[h])
	frac = min(max(frac, 0), 1)
	return c.start + int64(h)*microsPerHour + int64(frac*float64(microsPerHour))
}

// delay draws a waiting time with a log-normal spread around median, the shape response times
// have in practice: mostly close to the median, now and then much longer. It is clamped to
// [lo, hi].
func delay(rng *rand.Rand, median, lo, hi int64) int64 {
	d := int64(float64(median) * math.Exp(1.1*rng.NormFloat64()))
	return min(max(d, lo), hi)
}

// activeShare is the chance that a ticket created age microseconds ago is still being worked on
// (new, open, pending or on hold). Young tickets mostly are; a few old ones linger in any backlog.
func activeShare(age int64) float64 {
	switch {
	case age < 4*microsPerHour:
		return 0.9
	case age < microsPerDay:
		return 0.6
	case age < 3*microsPerDay:
		return 0.4
	case age < 14*microsPerDay:
		return 0.15
	case age < 60*microsPerDay:
		return 0.05
	default:
		return 0.008
	}
}
