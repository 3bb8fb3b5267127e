package sla

import (
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// normalPolicy: first response in 4 business hours, next response in 2, resolution in 16 (two
// working days of the Madrid office), warnings at 75%.
func normalPolicy() *Policy {
	p := &Policy{ID: 1, Name: "Normal", CalendarID: 1, WarnPercent: 75, Targets: map[Kind]*Target{
		FirstResponse: {Minutes: 240, Business: true},
		NextResponse:  {Minutes: 120, Business: true},
		Resolution:    {Minutes: 960, Business: true},
	}}
	if err := p.Clean(); err != nil {
		panic(err)
	}
	return p
}

func urgentPolicy() *Policy {
	p := &Policy{ID: 2, Name: "Urgent", CalendarID: 1, WarnPercent: 50, Priorities: []tickets.Level{tickets.Urgent}, Targets: map[Kind]*Target{
		FirstResponse: {Minutes: 120, Business: true},
		Resolution:    {Minutes: 480, Business: true},
	}}
	if err := p.Clean(); err != nil {
		panic(err)
	}
	return p
}

func calendarPolicy() *Policy {
	p := &Policy{ID: 3, Name: "Round the clock", CalendarID: 1, Targets: map[Kind]*Target{
		FirstResponse: {Minutes: 60},
		Resolution:    {Minutes: 24 * 60, PauseOn: []tickets.Status{tickets.StatusOnHold}},
	}}
	if err := p.Clean(); err != nil {
		panic(err)
	}
	return p
}

type wantClock struct {
	kind     Kind
	cycle    int
	state    State
	due      string // "" for no due time
	warn     string
	breached string
	stopped  string
	elapsed  time.Duration // business or calendar, as the target counts, up to the last step
}

func step(kind StepKind, at string, by int64) Step { return Step{At: utc(at), Kind: kind, By: by} }

func status(s tickets.Status, at string, by int64) Step {
	return Step{At: utc(at), Kind: StatusChange, Status: s, By: by}
}

// Every case starts with a ticket created on Monday 3 March 2025 at 10:00 in Madrid (09:00Z).
// The office is open 09:00–14:00 and 15:00–18:00 CET (08–13Z and 14–17Z).
func TestEvaluateHandComputed(t *testing.T) {
	madrid := madridOffice(t)
	const created = "2025-03-03T09:00:00Z"
	const agent = 7
	const saturday = "2025-03-08T11:00:00Z" // 12:00 CET
	cases := []struct {
		name    string
		created string // default: Monday 10:00
		policy  *Policy
		steps   []Step
		asOf    string
		want    []wantClock
	}{
		{
			name: "fresh ticket", policy: normalPolicy(), asOf: created,
			want: []wantClock{
				// 10:00 + 4h = 14:00 CET; 75% is 3h, at 13:00.
				{kind: FirstResponse, state: Running, due: "2025-03-03T13:00:00Z", warn: "2025-03-03T12:00:00Z"},
				// 16h: Mon 10–14, 15–18 (7h), Tue (15h), Wed 09–10. Warning at 12h: Tue 14:00... Tue
				// 09–14 makes 12h at 14:00 CET.
				{kind: Resolution, state: Running, due: "2025-03-05T09:00:00Z", warn: "2025-03-04T13:00:00Z"},
			},
		},
		{
			name: "reply then a customer message starts next response", policy: normalPolicy(), asOf: "2025-03-03T15:05:00Z",
			steps: []Step{
				step(AgentReply, "2025-03-03T10:30:00Z", agent),  // 11:30
				step(CustomerMessage, "2025-03-03T15:00:00Z", 0), // 16:00
				step(CustomerMessage, "2025-03-03T15:05:00Z", 0), // a second message does not restart it
			},
			want: []wantClock{
				{kind: FirstResponse, state: Met, stopped: "2025-03-03T10:30:00Z", elapsed: 90 * time.Minute},
				// Elapsed counts up to the start of the running stretch: creation.
				{kind: Resolution, state: Running, due: "2025-03-05T09:00:00Z", warn: "2025-03-04T13:00:00Z"},
				// 16:00 + 2h = 18:00 CET.
				{kind: NextResponse, cycle: 1, state: Running, due: "2025-03-03T17:00:00Z", warn: "2025-03-03T16:30:00Z"},
			},
		},
		{
			name: "pending pauses resolution, not first response", policy: normalPolicy(), asOf: "2025-03-04T09:00:00Z",
			steps: []Step{
				status(tickets.StatusPending, "2025-03-03T11:00:00Z", agent), // Mon 12:00
				status(tickets.StatusOpen, "2025-03-04T09:00:00Z", agent),    // Tue 10:00
			},
			want: []wantClock{
				// First response ran through the pause and breached at 14:00 CET Monday.
				// Mon 10–12, 12–14, 15–18 and Tue 09–10 make 8h.
				{kind: FirstResponse, state: Breached, due: "2025-03-03T13:00:00Z", warn: "2025-03-03T12:00:00Z", breached: "2025-03-03T13:00:00Z", elapsed: 8 * time.Hour},
				// 2h used before the pause; 14h from Tue 10:00: Tue 7h, Wed 09–14 5h, 15–17 → Wed 17:00.
				// The warning at 12h: Tue 7h, Wed 09–12.
				{kind: Resolution, state: Running, due: "2025-03-05T16:00:00Z", warn: "2025-03-05T11:00:00Z", elapsed: 2 * time.Hour},
			},
		},
		{
			name: "paused clock has no due time", policy: normalPolicy(), asOf: "2025-03-03T11:00:00Z",
			steps: []Step{step(AgentReply, "2025-03-03T11:00:00Z", agent), status(tickets.StatusOnHold, "2025-03-03T11:00:00Z", agent)},
			want: []wantClock{
				{kind: FirstResponse, state: Met, stopped: "2025-03-03T11:00:00Z", elapsed: 2 * time.Hour},
				{kind: Resolution, state: Paused, elapsed: 2 * time.Hour},
			},
		},
		{
			name: "reopen resumes resolution and starts next response", policy: normalPolicy(), asOf: "2025-03-04T09:00:00Z",
			steps: []Step{
				status(tickets.StatusSolved, "2025-03-03T11:00:00Z", agent), // solved Mon 12:00 without a reply
				step(CustomerMessage, "2025-03-04T09:00:00Z", 0),            // Tue 10:00 the customer writes back
				status(tickets.StatusOpen, "2025-03-04T09:00:00Z", 0),
			},
			want: []wantClock{
				{kind: FirstResponse, state: Met, stopped: "2025-03-03T11:00:00Z", elapsed: 2 * time.Hour},
				{kind: Resolution, state: Running, due: "2025-03-05T16:00:00Z", warn: "2025-03-05T11:00:00Z", elapsed: 2 * time.Hour},
				// Tue 10:00 + 2h = 12:00.
				{kind: NextResponse, cycle: 1, state: Running, due: "2025-03-04T11:00:00Z", warn: "2025-03-04T10:30:00Z"},
			},
		},
		{
			name: "solved stops every clock", policy: normalPolicy(), asOf: "2025-03-03T12:00:00Z",
			steps: []Step{
				step(AgentReply, "2025-03-03T10:00:00Z", agent),
				step(CustomerMessage, "2025-03-03T11:00:00Z", 0),
				status(tickets.StatusSolved, "2025-03-03T12:00:00Z", agent+1),
			},
			want: []wantClock{
				{kind: FirstResponse, state: Met, stopped: "2025-03-03T10:00:00Z", elapsed: time.Hour},
				{kind: Resolution, state: Met, stopped: "2025-03-03T12:00:00Z", elapsed: 3 * time.Hour},
				{kind: NextResponse, cycle: 1, state: Met, stopped: "2025-03-03T12:00:00Z", elapsed: time.Hour, warn: ""},
			},
		},
		{
			name: "breached while running", policy: normalPolicy(), asOf: "2025-03-03T14:30:00Z",
			want: []wantClock{
				{kind: FirstResponse, state: Breached, due: "2025-03-03T13:00:00Z", warn: "2025-03-03T12:00:00Z", breached: "2025-03-03T13:00:00Z"},
				{kind: Resolution, state: Running, due: "2025-03-05T09:00:00Z", warn: "2025-03-04T13:00:00Z"},
			},
		},
		{
			name: "a late reply stays a breach", policy: normalPolicy(), asOf: "2025-03-04T09:00:00Z",
			steps: []Step{step(AgentReply, "2025-03-04T09:00:00Z", agent)}, // Tue 10:00: 8h of business time
			want: []wantClock{
				{kind: FirstResponse, state: Breached, stopped: "2025-03-04T09:00:00Z", warn: "2025-03-03T12:00:00Z", breached: "2025-03-03T13:00:00Z", elapsed: 8 * time.Hour},
				{kind: Resolution, state: Running, due: "2025-03-05T09:00:00Z", warn: "2025-03-04T13:00:00Z"},
			},
		},
		{
			// Raised to urgent at 11:00 CET: targets are those of the new policy, counted from
			// creation, so 10:00 + 2h = 12:00 whenever the change came.
			name: "priority change mid-clock", policy: urgentPolicy(), asOf: "2025-03-03T10:00:00Z",
			want: []wantClock{
				{kind: FirstResponse, state: Running, due: "2025-03-03T11:00:00Z", warn: "2025-03-03T10:00:00Z"},
				// 8h: Mon 10–14, 15–18, Tue 09–10; warning at 4h, Mon 14:00.
				{kind: Resolution, state: Running, due: "2025-03-04T09:00:00Z", warn: "2025-03-03T13:00:00Z"},
			},
		},
		{
			name: "priority raised after the new target passed", policy: urgentPolicy(), asOf: "2025-03-03T12:30:00Z",
			want: []wantClock{
				{kind: FirstResponse, state: Breached, due: "2025-03-03T11:00:00Z", warn: "2025-03-03T10:00:00Z", breached: "2025-03-03T11:00:00Z"},
				{kind: Resolution, state: Running, due: "2025-03-04T09:00:00Z", warn: "2025-03-03T13:00:00Z"},
			},
		},
		{
			// Calendar minutes ignore business hours: created Saturday 12:00, due 13:00.
			name: "calendar minutes on a Saturday", created: saturday, policy: calendarPolicy(), asOf: "2025-03-08T11:00:00Z",
			steps: nil,
			want: []wantClock{
				{kind: FirstResponse, state: Running, due: "2025-03-08T12:00:00Z"},
				{kind: Resolution, state: Running, due: "2025-03-09T11:00:00Z"},
			},
		},
		{
			name: "calendar minutes paused on hold", created: saturday, policy: calendarPolicy(), asOf: "2025-03-08T15:00:00Z",
			steps: []Step{
				step(AgentReply, "2025-03-08T11:30:00Z", agent),
				status(tickets.StatusOnHold, "2025-03-08T12:00:00Z", agent),
				status(tickets.StatusOpen, "2025-03-08T15:00:00Z", agent),
			},
			want: []wantClock{
				{kind: FirstResponse, state: Met, stopped: "2025-03-08T11:30:00Z", elapsed: 30 * time.Minute},
				// One hour used, three on hold: due 23h after 16:00 CET.
				{kind: Resolution, state: Running, due: "2025-03-09T14:00:00Z", elapsed: time.Hour},
			},
		},
		{
			// An agent takes a call on Saturday, files the ticket and answers at once: the
			// first response is met, with no business time used.
			name: "agent creates the ticket with a public reply", created: saturday, policy: normalPolicy(), asOf: "2025-03-08T11:00:05Z",
			steps: []Step{step(AgentReply, "2025-03-08T11:00:05Z", agent)},
			want: []wantClock{
				{kind: FirstResponse, state: Met, stopped: "2025-03-08T11:00:05Z"},
				// 16h from Monday 09:00: Monday 8h, Tuesday 8h, due Tue 18:00; warning at 12h, Tue 13:00.
				{kind: Resolution, state: Running, due: "2025-03-11T17:00:00Z", warn: "2025-03-11T12:00:00Z"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			createdAt := utc(created)
			if tc.created != "" {
				createdAt = utc(tc.created)
			}
			got := Evaluate(createdAt, tc.steps, tc.policy, madrid, utc(tc.asOf))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d clocks, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				c := got[i]
				if w.cycle == 0 {
					w.cycle = 1
				}
				if c.Kind != w.kind || c.Cycle != w.cycle || c.State != w.state {
					t.Errorf("clock %d: %s #%d %s, want %s #%d %s", i, c.Kind, c.Cycle, c.State, w.kind, w.cycle, w.state)
				}
				checkTime(t, string(c.Kind)+" due", c.DueAt, w.due)
				checkTime(t, string(c.Kind)+" warn", c.WarnAt, w.warn)
				checkTime(t, string(c.Kind)+" breached", c.BreachedAt, w.breached)
				checkTime(t, string(c.Kind)+" stopped", c.StoppedAt, w.stopped)
				if c.Elapsed() != w.elapsed {
					t.Errorf("%s elapsed %s, want %s", c.Kind, c.Elapsed(), w.elapsed)
				}
			}
		})
	}
}

func checkTime(t *testing.T, what string, got *time.Time, want string) {
	t.Helper()
	switch {
	case want == "" && got != nil:
		t.Errorf("%s = %s, want none", what, got.UTC().Format(time.RFC3339))
	case want != "" && got == nil:
		t.Errorf("%s = none, want %s", what, want)
	case want != "" && !got.Equal(utc(want)):
		t.Errorf("%s = %s, want %s", what, got.UTC().Format(time.RFC3339), want)
	}
}

// A customer message that arrives while next response waits (paused) does not start another
// cycle; the pause does not count. The first-response clock notes the second contact.
func TestNextResponseAcrossAPause(t *testing.T) {
	madrid := madridOffice(t)
	created := utc("2025-03-03T09:00:00Z")
	steps := []Step{
		step(AgentReply, "2025-03-03T10:00:00Z", 7),
		step(CustomerMessage, "2025-03-03T11:00:00Z", 0),
		status(tickets.StatusPending, "2025-03-03T11:30:00Z", 7),
		step(CustomerMessage, "2025-03-04T09:00:00Z", 0),
		status(tickets.StatusOpen, "2025-03-04T09:00:00Z", 0),
		step(AgentReply, "2025-03-04T10:00:00Z", 7),
	}
	final := Evaluate(created, steps, normalPolicy(), madrid, steps[len(steps)-1].At)
	// Next response: the customer wrote at 12:00 Monday, the ticket went pending at 12:30
	// (pausing it after 30 minutes), came back at 10:00 Tuesday and was answered at 11:00.
	var nr []Clock
	for _, c := range final {
		if c.Kind == NextResponse {
			nr = append(nr, c)
		}
	}
	// The second reply, a day after the first, is the second contact: Mon 11:00 to Tue 11:00 CET
	// holds 8 business hours.
	fr := final[0]
	if fr.Kind != FirstResponse || fr.FollowUpAt == nil || !fr.FollowUpAt.Equal(utc("2025-03-04T10:00:00Z")) || fr.FollowUpBy != 7 ||
		fr.FollowUpBusiness != 8*time.Hour || fr.FollowUpCalendar != 24*time.Hour {
		t.Errorf("second contact = %v by %d, %s business, %s calendar", fr.FollowUpAt, fr.FollowUpBy, fr.FollowUpBusiness, fr.FollowUpCalendar)
	}
	if len(nr) != 1 || nr[0].State != Met || nr[0].BusinessElapsed != 90*time.Minute {
		t.Fatalf("next response = %+v, want met after 1h30 of business time", nr)
	}
}
