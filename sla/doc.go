// Package sla keeps the help desk's response promises: business-hours calendars, policies that
// set targets by priority and customer tier, the clocks of every ticket, the sweeper that warns
// before a breach and escalates at it, and the handling metrics of every agent, team and tier.
//
// # Calendars
//
// A calendar is an IANA time zone, weekly business hours (several intervals a day; an interval
// may run overnight into the next day) and holidays (dates, entered or imported from an
// iCalendar file). Hours are wall-clock times in the zone; business time is real elapsed time
// inside them, so an overnight shift across a spring-forward change is an hour shorter. An
// interval that starts in the skipped hour starts when the clocks jump; one that ends in a
// repeated hour ends at its first occurrence. A holiday removes every business minute of its
// date, midnight to midnight, including the second half of an overnight shift.
//
// Due times are computed in closed form over intervals: [Calendar.Add] walks interval by
// interval and skips whole weeks at once where no holiday or clock change falls, never minute
// by minute. A due time lies inside business hours or at the end of an interval, and the business
// time from start to due is exactly the target.
//
// # Policies
//
// Policies are tried in position order; the first whose priorities and tiers (empty: all) match
// a ticket's priority and its customer's tier applies. A policy sets targets, in business or
// calendar minutes, for up to three clocks, the statuses that pause each clock (default: pending
// and on-hold pause next response and resolution; nothing pauses first response), a warning
// threshold (default 75% of the target) and what happens at the warning and at the breach:
// notify, raise priority, reassign. Saving refuses a set of policies that leaves any priority and
// tier unmatched, negative targets, unknown calendars, teams and users; a calendar refuses
// overlapping or inverted intervals and unknown zones.
//
// # Clocks
//
// The definitions, as [Evaluate] applies them:
//
//   - First response runs from the ticket's creation to the first public reply by staff. An
//     agent who files a ticket for a customer and answers it meets it at once.
//   - Next response starts when the customer writes after the ticket has had a reply (the
//     oldest unanswered message) and stops at the next public reply by staff; a ticket can have
//     many cycles of it.
//   - Resolution runs from creation until the ticket is solved; reopening resumes it, without
//     counting the time spent solved.
//   - Solving a ticket stops the response clocks too: nobody waits for an answer.
//   - A clock stands still in the statuses its target pauses on; its elapsed time excludes
//     paused time.
//   - A clock breaches when its elapsed time passes its target; the breach sticks even if the
//     clock is met later.
//
// Clocks are persisted per ticket (target, due time, elapsed business and calendar time, running
// or paused, met or breached, and when) and rewritten in the transaction of the ticket change
// that moves them, through a hook on the desk: creation, public replies, customer messages,
// status and priority changes, and customer tier changes. Every rewrite replays the ticket's
// event history under the policy its priority and tier select now, so a ticket's clocks depend on
// its history and the current settings only, never on the order settings changed in. Changing a
// calendar or a policy queues the open tickets it can affect for the sweeper to re-evaluate.
//
// # Sweeper
//
// [Service.Sweep], run by every serve process, takes the clocks whose warning or breach has come
// through an index on the next moment each must be looked at, so a pass touches only those rows.
// It records sla.warning and sla.breached events, notifies the ticket's assignee and the
// supervisors of its team (every supervisor when the ticket has no team or its team has none) in
// the app and by email (one email per person per pass, listing all their notices), and runs the
// escalation steps through the desk, so that a raised
// priority or a reassignment is an ordinary, audited change, exactly once. Notices that fall
// outside the calendar's business hours wait for the next business hour when the policy says so.
// A PostgreSQL advisory lock lets one node sweep at a time.
//
// # Metrics
//
// [Service.Metrics] reports a date range [from, to) by agent, team, tier or overall, with SQL
// aggregates (percentile_cont for medians and 90th percentiles), every time in business seconds
// of the ticket's calendar and in calendar seconds:
//
//   - assigned: tickets given to the agent in the range (for a team or tier: its tickets given
//     to anyone);
//   - solved: solves by the agent; reopened: solved tickets reopened, counted against the
//     ticket's assignee;
//   - replies: public replies; answered: tickets with a public reply in the range, and their
//     share of all tickets answered in the range;
//   - first response, next response: times of clocks a reply stopped in the range, counted for
//     the agent who replied; resolution: times of tickets solved in the range, for who solved;
//     elapsed time excludes pauses;
//   - share of clocks met: among the clocks that stopped, or breached while running, in the
//     range;
//   - backlog: tickets open now, by assignee, and their age (business age counted with the
//     calendar's business spans, a table SQL can read);
//   - second contact: time from our first public reply on a ticket to our second, for second
//     replies in the range, counted for their author.
//
// Activity and clocks count for the team and tier the ticket had at the time (a clock: when it
// stopped, or, still running, now); the backlog for the team and tier it has now.
package sla
