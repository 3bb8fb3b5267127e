package sla

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// ClockView is a clock as a person reads it: where it stands now and the time left.
type ClockView struct {
	Kind          Kind
	Cycle         int
	State         State
	Paused        bool
	Business      bool
	TargetMinutes int
	StartedAt     time.Time
	DueAt         *time.Time
	StoppedAt     *time.Time
	BreachedAt    *time.Time
	WarnedAt      *time.Time
	// Elapsed is the time counted against the target up to now (or the stop).
	Elapsed time.Duration
	// Remaining is the time left to the target now, negative once past it; nil once stopped.
	Remaining  *time.Duration
	PolicyID   *int64
	PolicyName string
}

type clockRecord struct {
	TicketID        int64
	Kind            Kind
	Cycle           int
	PolicyID        *int64
	CalendarID      *int64
	Business        bool
	TargetSeconds   int64
	State           State
	StartedAt       time.Time
	RunningSince    *time.Time
	BusinessSeconds float64
	CalendarSeconds float64
	DueAt           *time.Time
	BreachedAt      *time.Time
	StoppedAt       *time.Time
	WarnedAt        *time.Time
}

const clockRecordColumns = `c.ticket_id, c.kind, c.cycle, c.policy_id, c.calendar_id, c.business, c.target_seconds, c.state,
	c.started_at, c.running_since, c.business_seconds, c.calendar_seconds, c.due_at, c.breached_at, c.stopped_at, c.warned_at`

func (r clockRecord) view(st *settings, now time.Time) ClockView {
	v := ClockView{
		Kind: r.Kind, Cycle: r.Cycle, State: r.State, Business: r.Business, TargetMinutes: int(r.TargetSeconds / 60),
		StartedAt: r.StartedAt, DueAt: r.DueAt, StoppedAt: r.StoppedAt, BreachedAt: r.BreachedAt, WarnedAt: r.WarnedAt,
		PolicyID: r.PolicyID,
	}
	if r.PolicyID != nil {
		for _, p := range st.policies {
			if p.ID == *r.PolicyID {
				v.PolicyName = p.Name
			}
		}
	}
	c := Clock{
		Business: r.Business, Target: time.Duration(r.TargetSeconds) * time.Second, RunningSince: r.RunningSince,
		BusinessElapsed: secs(r.BusinessSeconds), CalendarElapsed: secs(r.CalendarSeconds),
	}
	var cal *Calendar
	if r.CalendarID != nil {
		cal = st.calendars[*r.CalendarID]
	}
	if r.StoppedAt == nil {
		left := c.Remaining(cal, now)
		v.Remaining = &left
		v.Elapsed = c.Target - left
		v.Paused = r.RunningSince == nil
		switch {
		case r.BreachedAt != nil || left < 0:
			v.State = Breached
			if v.BreachedAt == nil && r.DueAt != nil {
				v.BreachedAt = r.DueAt
			}
		case v.Paused:
			v.State = Paused
		default:
			v.State = Running
		}
	} else {
		v.Elapsed = c.Elapsed()
	}
	return v
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// TicketClocks returns a ticket's clocks as of now: the latest cycle of each kind, in the order
// first response, next response, resolution. A ticket without clocks gives an empty list.
func (s *Service) TicketClocks(ctx context.Context, ticketID int64) ([]ClockView, error) {
	var rows []clockRecord
	err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT ON (c.kind) `+clockRecordColumns+`
		FROM sla_clocks c WHERE c.ticket_id = ? ORDER BY c.kind, c.cycle DESC`, ticketID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("sla: ticket clocks: %w", err)
	}
	st, err := s.settings(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	now := s.now()
	out := make([]ClockView, len(rows))
	for i, r := range rows {
		out[i] = r.view(st, now)
	}
	slices.SortFunc(out, func(a, b ClockView) int { return slices.Index(Kinds, a.Kind) - slices.Index(Kinds, b.Kind) })
	return out, nil
}

// AtRiskFilter selects running clocks by how soon they fall due.
type AtRiskFilter struct {
	Within     time.Duration // due within this from now; overdue clocks always count
	TeamID     *int64        // pointer to 0: tickets without a team
	AssigneeID *int64        // pointer to 0: unassigned tickets
	Limit      int           // default 50, at most 500
}

// AtRiskItem is a ticket whose clock is about to breach, or has.
type AtRiskItem struct {
	TicketID   int64
	Subject    string
	Status     tickets.Status
	Priority   tickets.Level
	AssigneeID *int64
	TeamID     *int64
	Clock      ClockView
}

// atRiskRow is a clock and its ticket in one flat row: GORM does not fill unexported embedded
// structs.
type atRiskRow struct {
	TicketID        int64
	Kind            Kind
	Cycle           int
	PolicyID        *int64
	CalendarID      *int64
	Business        bool
	TargetSeconds   int64
	State           State
	StartedAt       time.Time
	RunningSince    *time.Time
	BusinessSeconds float64
	CalendarSeconds float64
	DueAt           *time.Time
	BreachedAt      *time.Time
	StoppedAt       *time.Time
	WarnedAt        *time.Time
	Subject         string
	TicketStatus    tickets.Status
	Priority        tickets.Level
	AssigneeID      *int64
	TeamID          *int64
}

func (r atRiskRow) clock() clockRecord {
	return clockRecord{
		TicketID: r.TicketID, Kind: r.Kind, Cycle: r.Cycle, PolicyID: r.PolicyID, CalendarID: r.CalendarID,
		Business: r.Business, TargetSeconds: r.TargetSeconds, State: r.State, StartedAt: r.StartedAt,
		RunningSince: r.RunningSince, BusinessSeconds: r.BusinessSeconds, CalendarSeconds: r.CalendarSeconds,
		DueAt: r.DueAt, BreachedAt: r.BreachedAt, StoppedAt: r.StoppedAt, WarnedAt: r.WarnedAt,
	}
}

// AtRisk lists running clocks that are overdue or fall due within f.Within, soonest (most
// overdue) first: what a supervisor watches.
func (s *Service) AtRisk(ctx context.Context, f AtRiskFilter) ([]AtRiskItem, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	now := s.now()
	q := s.db.WithContext(ctx).Table("sla_clocks c").
		Select(clockRecordColumns+`, t.subject, t.status AS ticket_status, t.priority, t.assignee_id, t.team_id`).
		Joins("JOIN tickets t ON t.id = c.ticket_id").
		Where("c.stopped_at IS NULL AND c.due_at IS NOT NULL AND c.due_at <= ?", now.Add(f.Within))
	if f.TeamID != nil {
		if *f.TeamID == 0 {
			q = q.Where("t.team_id IS NULL")
		} else {
			q = q.Where("t.team_id = ?", *f.TeamID)
		}
	}
	if f.AssigneeID != nil {
		if *f.AssigneeID == 0 {
			q = q.Where("t.assignee_id IS NULL")
		} else {
			q = q.Where("t.assignee_id = ?", *f.AssigneeID)
		}
	}
	var rows []atRiskRow
	if err := q.Order("c.due_at, c.id").Limit(f.Limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sla: at risk: %w", err)
	}
	st, err := s.settings(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	out := make([]AtRiskItem, len(rows))
	for i, r := range rows {
		out[i] = AtRiskItem{
			TicketID: r.TicketID, Subject: r.Subject, Status: r.TicketStatus, Priority: r.Priority,
			AssigneeID: r.AssigneeID, TeamID: r.TeamID, Clock: r.clock().view(st, now),
		}
	}
	return out, nil
}

// Notification is a notice to a member of staff.
type Notification struct {
	ID        int64
	UserID    int64
	TicketID  *int64
	Type      string
	Title     string
	Body      string
	Data      json.RawMessage
	CreatedAt time.Time
	DeliverAt time.Time
	ReadAt    *time.Time
}

// Notifications lists a user's notices that have been delivered, newest first; unread only when
// asked. beforeID pages (0 for the first page).
func (s *Service) Notifications(ctx context.Context, userID int64, unreadOnly bool, limit int, beforeID int64) ([]Notification, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	q := s.db.WithContext(ctx).Table("notifications").
		Select("id, user_id, ticket_id, type, title, body, data::text AS data, created_at, deliver_at, read_at").
		Where("user_id = ? AND deliver_at <= ?", userID, s.now())
	if unreadOnly {
		q = q.Where("read_at IS NULL")
	}
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	var rows []struct {
		Notification
		Data string
	}
	if err := q.Order("id DESC").Limit(limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sla: notifications: %w", err)
	}
	out := make([]Notification, len(rows))
	for i, r := range rows {
		out[i] = r.Notification
		out[i].Data = json.RawMessage(r.Data)
	}
	return out, nil
}

// MarkRead marks one of the user's notices read. Someone else's notice is not found.
func (s *Service) MarkRead(ctx context.Context, userID, id int64) error {
	var found []int64
	err := s.db.WithContext(ctx).Raw(`UPDATE notifications SET read_at = coalesce(read_at, now())
		WHERE id = ? AND user_id = ? AND deliver_at <= ? RETURNING id`, id, userID, s.now()).Scan(&found).Error
	if err != nil {
		return fmt.Errorf("sla: mark read: %w", err)
	}
	if len(found) == 0 {
		return tickets.ErrNotFound
	}
	return nil
}

// MarkAllRead marks every delivered notice of the user read and says how many were unread.
func (s *Service) MarkAllRead(ctx context.Context, userID int64) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE notifications SET read_at = now()
		WHERE user_id = ? AND read_at IS NULL AND deliver_at <= ?`, userID, s.now())
	if res.Error != nil {
		return 0, fmt.Errorf("sla: mark all read: %w", res.Error)
	}
	return res.RowsAffected, nil
}
