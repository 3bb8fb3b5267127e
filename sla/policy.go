package sla

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Kind names a clock.
type Kind string

// The clocks a policy can set. See the package documentation for what starts and stops each.
const (
	FirstResponse Kind = "first_response"
	NextResponse  Kind = "next_response"
	Resolution    Kind = "resolution"
)

// Kinds lists every clock kind in the order the API shows them.
var Kinds = []Kind{FirstResponse, NextResponse, Resolution}

// Tiers are the customer tiers a policy can name (customers.tier).
var Tiers = []string{"new", "occasional", "repeat", "loyal", "vip"}

// Levels are the priorities a policy can name, lowest first.
var Levels = []tickets.Level{tickets.Low, tickets.Normal, tickets.High, tickets.Urgent}

// Target is what a policy promises for one clock.
type Target struct {
	Minutes int `json:"minutes"`
	// Business counts minutes of the policy's calendar's business hours; otherwise every minute
	// of the day counts.
	Business bool `json:"business"`
	// PauseOn lists the statuses in which this clock stands still. Nil takes the default:
	// pending and on-hold pause next response and resolution, nothing pauses first response.
	PauseOn []tickets.Status `json:"pause_on"`
}

// Duration is the target as a duration.
func (t *Target) Duration() time.Duration { return time.Duration(t.Minutes) * time.Minute }

func (t *Target) pausedIn(s tickets.Status) bool { return slices.Contains(t.PauseOn, s) }

// Escalation is what happens when a clock reaches its warning threshold or its target.
type Escalation struct {
	// Notify tells the ticket's assignee and its team's supervisors (every supervisor when the
	// ticket has no team), in the app and by email.
	Notify bool `json:"notify"`
	// RaisePriority moves the ticket one priority up (urgent stays urgent).
	RaisePriority bool `json:"raise_priority"`
	// ReassignTeamID and ReassignUserID give the ticket to a team, a user, or a user in a team.
	ReassignTeamID *int64 `json:"reassign_team_id,omitempty"`
	ReassignUserID *int64 `json:"reassign_user_id,omitempty"`
}

// acts reports whether the escalation does anything through the desk.
func (e Escalation) acts() bool {
	return e.RaisePriority || e.ReassignTeamID != nil || e.ReassignUserID != nil
}

// Policy sets the targets of the tickets it matches. Policies are tried in Position order (then
// by id); the first whose priorities and tiers both match a ticket applies.
type Policy struct {
	ID       int64
	Name     string
	Position int
	// Priorities and Tiers restrict what the policy matches; empty matches every one.
	Priorities []tickets.Level
	Tiers      []string
	CalendarID int64
	Targets    map[Kind]*Target
	// WarnPercent is the share of a target after which a warning goes out; 0 sends none.
	WarnPercent int
	OnWarning   Escalation
	OnBreach    Escalation
	// NotifyInBusinessHours holds notices that fall outside the calendar's business hours until
	// the next business hour.
	NotifyInBusinessHours bool
	CreatedAt, UpdatedAt  time.Time
}

// Matches reports whether the policy applies to a ticket of priority p whose customer is in tier.
func (p *Policy) Matches(prio tickets.Level, tier string) bool {
	return (len(p.Priorities) == 0 || slices.Contains(p.Priorities, prio)) &&
		(len(p.Tiers) == 0 || slices.Contains(p.Tiers, tier))
}

// defaultPauses are the statuses that pause each clock unless a policy says otherwise.
var defaultPauses = map[Kind][]tickets.Status{
	FirstResponse: {},
	NextResponse:  {tickets.StatusPending, tickets.StatusOnHold},
	Resolution:    {tickets.StatusPending, tickets.StatusOnHold},
}

// maxTargetMinutes is a year: longer promises are typos.
const maxTargetMinutes = 366 * 24 * 60

// Clean validates a policy on its own (the store checks references and coverage) and fills in
// defaults. Fields are named by their JSON paths.
func (p *Policy) Clean() error {
	var v tickets.ValidationError
	p.Name = strings.TrimSpace(p.Name)
	switch {
	case p.Name == "":
		v.Add("name", "is required")
	case utf8.RuneCountInString(p.Name) > 100:
		v.Add("name", "must be at most 100 characters")
	}
	if p.Position < 0 || p.Position > 1_000_000 {
		v.Add("position", "must be from 0 to 1000000")
	}
	for i, l := range p.Priorities {
		if !l.Valid() {
			v.Add(fmt.Sprintf("priorities[%d]", i), "must be one of low, normal, high, urgent")
		}
	}
	slices.Sort(p.Priorities)
	p.Priorities = slices.Compact(p.Priorities)
	for i, t := range p.Tiers {
		if !slices.Contains(Tiers, t) {
			v.Add(fmt.Sprintf("tiers[%d]", i), "must be one of "+strings.Join(Tiers, ", "))
		}
	}
	slices.SortFunc(p.Tiers, func(a, b string) int { return slices.Index(Tiers, a) - slices.Index(Tiers, b) })
	p.Tiers = slices.Compact(p.Tiers)
	if p.CalendarID <= 0 {
		v.Add("calendar_id", "is required")
	}
	if len(p.Targets) == 0 {
		v.Add("targets", "needs at least one of first_response, next_response, resolution")
	}
	for kind, t := range p.Targets {
		field := "targets." + string(kind)
		if !slices.Contains(Kinds, kind) {
			v.Add(field, "is not a clock: use first_response, next_response or resolution")
			continue
		}
		if t == nil {
			delete(p.Targets, kind)
			continue
		}
		switch {
		case t.Minutes <= 0:
			v.Add(field+".minutes", "must be a positive number of minutes")
		case t.Minutes > maxTargetMinutes:
			v.Add(field+".minutes", fmt.Sprintf("must be at most %d (a year)", maxTargetMinutes))
		}
		if t.PauseOn == nil {
			t.PauseOn = slices.Clone(defaultPauses[kind])
		}
		for i, s := range t.PauseOn {
			if !s.Valid() || s == tickets.StatusNew || s == tickets.StatusSolved || s == tickets.StatusClosed {
				v.Add(fmt.Sprintf("%s.pause_on[%d]", field, i), "must be open, pending or on-hold")
			}
		}
		slices.Sort(t.PauseOn)
		t.PauseOn = slices.Compact(t.PauseOn)
	}
	if p.WarnPercent < 0 || p.WarnPercent > 99 {
		v.Add("warn_percent", "must be from 0 (no warning) to 99")
	}
	for _, e := range []struct {
		field string
		esc   *Escalation
	}{{"on_warning", &p.OnWarning}, {"on_breach", &p.OnBreach}} {
		if e.esc.ReassignTeamID != nil && *e.esc.ReassignTeamID <= 0 {
			v.Add(e.field+".reassign_team_id", "must be a team id")
		}
		if e.esc.ReassignUserID != nil && *e.esc.ReassignUserID <= 0 {
			v.Add(e.field+".reassign_user_id", "must be a user id")
		}
	}
	if p.WarnPercent == 0 && (p.OnWarning.Notify || p.OnWarning.acts()) {
		v.Add("on_warning", "needs warn_percent above 0")
	}
	return v.Err()
}

// Select returns the first policy, in order, that matches; nil when none does.
func Select(policies []Policy, prio tickets.Level, tier string) *Policy {
	for i := range policies {
		if policies[i].Matches(prio, tier) {
			return &policies[i]
		}
	}
	return nil
}

// SortPolicies puts policies in the order they are tried.
func SortPolicies(ps []Policy) {
	slices.SortStableFunc(ps, func(a, b Policy) int {
		if a.Position != b.Position {
			return a.Position - b.Position
		}
		return int(a.ID - b.ID)
	})
}

// Uncovered lists every priority and tier that no policy matches, as "low × vip".
func Uncovered(policies []Policy) []string {
	var gaps []string
	for _, l := range Levels {
		for _, tier := range Tiers {
			if Select(policies, l, tier) == nil {
				gaps = append(gaps, l.String()+" × "+tier)
			}
		}
	}
	return gaps
}
