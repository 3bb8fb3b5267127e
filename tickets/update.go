package tickets

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"gorm.io/gorm"
)

// OptionalID is a reference that a change may set, clear or leave alone: Set false leaves it,
// Set with ID 0 clears it.
type OptionalID struct {
	Set bool
	ID  int64
}

// TicketChange is what a member of staff changes on a ticket; nil and unset fields stay as they are.
type TicketChange struct {
	Status     *Status
	Priority   *Level
	Subject    *string
	AssigneeID OptionalID
	TeamID     OptionalID
}

// Empty reports whether the change changes nothing.
func (c TicketChange) Empty() bool {
	return c.Status == nil && c.Priority == nil && c.Subject == nil && !c.AssigneeID.Set && !c.TeamID.Set
}

// Update applies a change in one transaction, recording an event for each field that moves.
// An assignee must belong to the ticket's team when it has one; moving a ticket to a team its
// assignee is not in leaves it unassigned in that team's queue.
func (d *Desk) Update(ctx context.Context, ticketID int64, actor Actor, c TicketChange) (*Ticket, error) {
	if c.Empty() {
		return nil, invalid("body", "nothing to change: give status, priority, subject, assignee_id or team_id")
	}
	var v ValidationError
	if c.Status != nil && !c.Status.Valid() {
		v.Add("status", "must be one of new, open, pending, on-hold, solved, closed")
	}
	if c.Priority != nil && !c.Priority.Valid() {
		v.Add("priority", "must be one of low, normal, high, urgent")
	}
	if c.Subject != nil {
		s := cleanLine(*c.Subject)
		c.Subject = &s
		if s == "" {
			v.Add("subject", "is required")
		} else if utf8.RuneCountInString(s) > 250 {
			v.Add("subject", "must be at most 250 characters")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var t *Ticket
	err := d.inTx(ctx, func(w *work) error {
		tx := w.tx
		var err error
		if t, err = lockTicket(tx, ticketID); err != nil {
			return err
		}
		if err := applyTeamAndAssignee(w, actor, t, c); err != nil {
			return err
		}
		if c.Priority != nil && *c.Priority != t.Priority {
			if err := tx.Exec(`UPDATE tickets SET priority = ? WHERE id = ?`, *c.Priority, t.ID).Error; err != nil {
				return fmt.Errorf("update priority: %w", err)
			}
			if err := w.record(event{actor, t.ID, t.CustomerID, EventPriorityChanged, map[string]any{"from": t.Priority.String(), "to": c.Priority.String()}}); err != nil {
				return err
			}
		}
		if c.Subject != nil && *c.Subject != t.Subject {
			if err := tx.Exec(`UPDATE tickets SET subject = ? WHERE id = ?`, *c.Subject, t.ID).Error; err != nil {
				return fmt.Errorf("update subject: %w", err)
			}
			if err := w.record(event{actor, t.ID, t.CustomerID, EventSubjectChanged, map[string]any{"from": t.Subject, "to": *c.Subject}}); err != nil {
				return err
			}
		}
		next := t.Status
		if c.Status != nil {
			next = *c.Status
		}
		if next != t.Status && !t.Status.CanBecome(next) {
			return invalid("status", fmt.Sprintf("a %s ticket cannot become %s", t.Status, next))
		}
		// setStatus also reloads the row and touches updated_at for the other changes.
		return setStatus(w, actor, t, next)
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: update: %w", err)
	}
	return t, nil
}

func applyTeamAndAssignee(w *work, actor Actor, t *Ticket, c TicketChange) error {
	tx := w.tx
	team, assignee := t.TeamID, t.AssigneeID
	if c.TeamID.Set {
		team = optional(c.TeamID)
		if team != nil {
			if err := mustExist(tx, "teams", *team, "team_id", "no such team"); err != nil {
				return err
			}
		}
	}
	if c.AssigneeID.Set {
		assignee = optional(c.AssigneeID)
		if assignee != nil {
			var active int64
			if err := tx.Raw(`SELECT count(*) FROM users WHERE id = ? AND disabled_at IS NULL`, *assignee).Scan(&active).Error; err != nil {
				return fmt.Errorf("check assignee: %w", err)
			}
			if active == 0 {
				return invalid("assignee_id", "no such active user")
			}
		}
	}
	if team != nil && assignee != nil {
		member, err := isMember(tx, *team, *assignee)
		if err != nil {
			return err
		}
		switch {
		case !member && c.AssigneeID.Set:
			return invalid("assignee_id", "the assignee is not a member of the ticket's team")
		case !member:
			assignee = nil
		}
	}
	if !sameID(team, t.TeamID) {
		if err := tx.Exec(`UPDATE tickets SET team_id = ? WHERE id = ?`, team, t.ID).Error; err != nil {
			return fmt.Errorf("update team: %w", err)
		}
		if err := w.record(event{actor, t.ID, t.CustomerID, EventTeamChanged, map[string]any{"from": t.TeamID, "to": team}}); err != nil {
			return err
		}
	}
	if !sameID(assignee, t.AssigneeID) {
		if err := tx.Exec(`UPDATE tickets SET assignee_id = ? WHERE id = ?`, assignee, t.ID).Error; err != nil {
			return fmt.Errorf("update assignee: %w", err)
		}
		data := map[string]any{"from": t.AssigneeID, "to": assignee}
		if !c.AssigneeID.Set {
			data["reason"] = "the assignee is not a member of the new team"
		}
		if err := w.record(event{actor, t.ID, t.CustomerID, EventAssigneeChanged, data}); err != nil {
			return err
		}
	}
	return nil
}

func isMember(tx *gorm.DB, teamID, userID int64) (bool, error) {
	var ids []int64
	if err := tx.Raw(`SELECT user_id FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID).Scan(&ids).Error; err != nil {
		return false, fmt.Errorf("check team membership: %w", err)
	}
	return slices.Contains(ids, userID), nil
}

func optional(o OptionalID) *int64 {
	if o.ID == 0 {
		return nil
	}
	id := o.ID
	return &id
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
