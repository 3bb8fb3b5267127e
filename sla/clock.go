package sla

import (
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// StepKind is what happened to a ticket, as far as its clocks care.
type StepKind int

// The steps that move clocks.
const (
	CustomerMessage StepKind = iota + 1 // a message from the customer (inbound)
	AgentReply                          // a public reply from staff; internal notes do not count
	StatusChange                        // the ticket moved to Step.Status
)

// Step is one entry of a ticket's history that can move its clocks.
type Step struct {
	At     time.Time
	Kind   StepKind
	Status tickets.Status // for StatusChange: the new status
	By     int64          // the member of staff who replied or changed the status; 0 otherwise
}

// State is where a clock stands.
type State string

// The clock states. A breach sticks: a clock that passed its target stays breached when it is
// later met or paused.
const (
	Running  State = "running"
	Paused   State = "paused"
	Met      State = "met"
	Breached State = "breached"
)

// What stops a clock.
const (
	StopReply  = "reply"  // a public reply from staff
	StopSolved = "solved" // the ticket was solved
)

// Clock is one clock of a ticket. Next response runs once per unanswered customer message, so a
// ticket has cycles 1, 2, ... of it; the other kinds have one cycle.
type Clock struct {
	Kind        Kind
	Cycle       int
	PolicyID    int64
	CalendarID  int64
	Business    bool
	Target      time.Duration
	WarnPercent int
	StartedAt   time.Time
	// StartedCumulative is the calendar's business time from 2000 to StartedAt, so that SQL can
	// tell a clock's business age from the spans: sla_business_at(calendar, now) minus this.
	StartedCumulative time.Duration
	// RunningSince is the start of the running stretch; nil when paused or stopped. Elapsed
	// times count up to it (or to the pause or stop) and exclude paused time.
	RunningSince    *time.Time
	BusinessElapsed time.Duration
	CalendarElapsed time.Duration
	StoppedAt       *time.Time
	StoppedBy       int64
	// StopReason says what stopped it: StopReply or StopSolved.
	StopReason string
	// DueAt is when a running clock reaches its target; nil otherwise.
	DueAt *time.Time
	// WarnAt is when the clock reaches (or reached) its warning threshold; nil when it has no
	// threshold or cannot reach it while paused.
	WarnAt *time.Time
	// BreachedAt is when the clock passed its target, if it has.
	BreachedAt *time.Time
	State      State
	// On the first-response clock: the second public reply (our second contact with the
	// customer), by whom, and the time since the first one.
	FollowUpAt       *time.Time
	FollowUpBy       int64
	FollowUpBusiness time.Duration
	FollowUpCalendar time.Duration
}

// Elapsed is the time that counts against the target: business or calendar.
func (c *Clock) Elapsed() time.Duration {
	if c.Business {
		return c.BusinessElapsed
	}
	return c.CalendarElapsed
}

// Remaining is the time left to the target at now, negative once past it; for a stopped clock
// it is what was left when it stopped.
func (c *Clock) Remaining(cal *Calendar, now time.Time) time.Duration {
	used := c.Elapsed()
	if c.RunningSince != nil && now.After(*c.RunningSince) {
		if c.Business && cal != nil {
			used += cal.Elapsed(*c.RunningSince, now)
		} else {
			used += now.Sub(*c.RunningSince)
		}
	}
	return c.Target - used
}

// run is a clock being replayed.
type run struct {
	Clock
	cal     *Calendar
	running bool
	stopped bool
	since   time.Time
}

func (r *run) measure() time.Duration { return r.Clock.Elapsed() }

// after returns the instant d of counted time after from.
func (r *run) after(from time.Time, d time.Duration) time.Time {
	if r.Business {
		return r.cal.Add(from, d)
	}
	return from.Add(d)
}

func (r *run) warnThreshold() time.Duration {
	return r.Target * time.Duration(r.WarnPercent) / 100
}

// advance counts the running stretch up to t and notes the thresholds it crosses.
func (r *run) advance(t time.Time) {
	if !r.running || !t.After(r.since) {
		return
	}
	before := r.measure()
	r.BusinessElapsed += r.cal.Elapsed(r.since, t)
	r.CalendarElapsed += t.Sub(r.since)
	after := r.measure()
	if w := r.warnThreshold(); r.WarnAt == nil && r.WarnPercent > 0 && before < w && after >= w {
		at := r.after(r.since, w-before)
		r.WarnAt = &at
	}
	if r.BreachedAt == nil && before <= r.Target && after > r.Target {
		at := r.after(r.since, r.Target-before)
		r.BreachedAt = &at
	}
	r.since = t
}

func (r *run) setPaused(t time.Time, paused bool) {
	if r.stopped {
		return
	}
	r.advance(t)
	if r.running == !paused {
		return
	}
	r.running = !paused
	r.since = t
}

func (r *run) stop(t time.Time, by int64, reason string) {
	if r.stopped {
		return
	}
	r.advance(t)
	r.running, r.stopped = false, true
	r.StoppedAt, r.StoppedBy, r.StopReason = &t, by, reason
}

func (r *run) resume(t time.Time, paused bool) {
	if !r.stopped {
		return
	}
	r.stopped, r.running = false, !paused
	r.StoppedAt, r.StoppedBy, r.StopReason = nil, 0, ""
	r.since = t
}

// finish settles the clock's derived fields as of asOf (the moment of the latest change).
func (r *run) finish(asOf time.Time) Clock {
	c := r.Clock
	switch {
	case r.stopped:
		c.State = Met
	case r.running:
		since := r.since
		c.RunningSince = &since
		c.State = Running
		used := r.measure()
		if c.BreachedAt == nil {
			due := r.after(since, c.Target-used)
			c.DueAt = &due
			if due.Before(asOf) {
				c.BreachedAt = &due
			}
		} else {
			// Already past the target: it was due when it breached.
			due := *c.BreachedAt
			c.DueAt = &due
		}
		if w := r.warnThreshold(); c.WarnAt == nil && c.WarnPercent > 0 && used < w {
			at := r.after(since, w-used)
			c.WarnAt = &at
		}
	default:
		c.State = Paused
	}
	if c.BreachedAt != nil {
		c.State = Breached
	}
	return c
}

// Evaluate replays a ticket's history under a policy and returns its clocks as of asOf, which is
// no earlier than the last step. The result depends only on the history, the policy and the
// calendar, so re-evaluating after any change of settings gives what a ticket would have had,
// had the settings always been so.
//
//   - First response runs from creation to the first public reply by staff.
//   - Next response starts at a customer message once the ticket has had a reply (the oldest
//     message not yet answered) and stops at the next public reply by staff.
//   - Resolution runs from creation until the ticket is solved; reopening resumes it, with the
//     time spent solved not counted.
//   - Solving a ticket also stops the response clocks: nobody is waiting for an answer.
//   - A clock stands still while the ticket's status is in the target's PauseOn.
//   - The first-response clock also notes the second public reply, our second contact.
func Evaluate(created time.Time, steps []Step, p *Policy, cal *Calendar, asOf time.Time) []Clock {
	status := tickets.StatusNew
	var runs []*run
	start := func(kind Kind, cycle int, at time.Time) *run {
		t := p.Targets[kind]
		if t == nil {
			return nil
		}
		r := &run{
			Clock: Clock{
				Kind: kind, Cycle: cycle, PolicyID: p.ID, CalendarID: p.CalendarID, Business: t.Business,
				Target: t.Duration(), WarnPercent: p.WarnPercent, StartedAt: at, StartedCumulative: cal.Cumulative(at),
			},
			cal: cal, since: at,
		}
		r.running = !t.pausedIn(status)
		runs = append(runs, r)
		return r
	}
	first := start(FirstResponse, 1, created)
	resolution := start(Resolution, 1, created)
	var next *run // the next-response cycle waiting for a reply
	cycles := 0
	answered := false
	var firstReply *time.Time
	replies := 0

	for _, s := range steps {
		switch s.Kind {
		case CustomerMessage:
			if answered && next == nil {
				cycles++
				next = start(NextResponse, cycles, s.At)
			}
		case AgentReply:
			replies++
			switch {
			case replies == 1:
				firstReply = &s.At
			case replies == 2 && first != nil:
				at := s.At
				first.FollowUpAt, first.FollowUpBy = &at, s.By
				first.FollowUpBusiness, first.FollowUpCalendar = cal.Elapsed(*firstReply, at), at.Sub(*firstReply)
			}
			answered = true
			if first != nil {
				first.stop(s.At, s.By, StopReply)
			}
			if next != nil {
				next.stop(s.At, s.By, StopReply)
				next = nil
			}
		case StatusChange:
			was := status
			status = s.Status
			for _, r := range runs {
				r.setPaused(s.At, p.Targets[r.Kind].pausedIn(status))
			}
			done := status == tickets.StatusSolved || status == tickets.StatusClosed
			wasDone := was == tickets.StatusSolved || was == tickets.StatusClosed
			switch {
			case done && !wasDone:
				answered = true
				for _, r := range []*run{first, next, resolution} {
					if r != nil {
						r.stop(s.At, s.By, StopSolved)
					}
				}
				next = nil
			case wasDone && !done && resolution != nil:
				resolution.resume(s.At, p.Targets[Resolution].pausedIn(status))
			}
		}
	}
	out := make([]Clock, len(runs))
	for i, r := range runs {
		out[i] = r.finish(asOf)
	}
	return out
}
