package tickets

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Routing sends a ticket to a team, and then to the agent of that team best placed to take it:
// one who is available, has room under their maximum of active tickets, speaks the ticket's
// language and knows its category, and for a VIP customer is allowed to serve VIPs. Among those,
// the least loaded agent gets it, and among equally loaded ones whoever waited longest since their
// last ticket (round robin). A ticket nobody can take waits in the team's queue and is given to
// the first eligible agent who frees up.

// activeStatuses are the statuses in which a ticket counts against its assignee's capacity.
const activeStatuses = `('new', 'open', 'pending', 'on-hold')`

// route is where routing sent a new ticket, and why.
type route struct {
	TeamID     *int64
	TeamReason string
	AgentID    *int64
	Capacity   int    // the agent's maximum of active tickets, checked again on insert
	Reason     string // why this agent, or why nobody
}

// ticketNeeds is what an agent must offer to take a ticket.
type ticketNeeds struct {
	category, language string
	vip                bool
}

// routeNew decides the team and agent of a ticket about to be created.
func routeNew(tx *gorm.DB, teamID *int64, needs ticketNeeds) (route, error) {
	r := route{TeamID: teamID}
	if teamID != nil {
		r.TeamReason = "chosen by the channel"
		if needs.category != "" {
			if err := knownCategory(tx, needs.category); err != nil {
				return r, err
			}
		}
	} else if needs.category != "" {
		var team struct {
			ID   int64
			Name string
		}
		err := tx.Raw(`SELECT id, name FROM teams WHERE ? = ANY(categories) ORDER BY id LIMIT 1`, needs.category).Scan(&team).Error
		if err != nil {
			return r, fmt.Errorf("route: team for %q: %w", needs.category, err)
		}
		if team.ID == 0 {
			// A category is known by the team that takes it: no team, no such category.
			return r, knownCategory(tx, needs.category)
		}
		r.TeamID = &team.ID
		r.TeamReason = fmt.Sprintf("%s handles the category %q", team.Name, needs.category)
	}
	if r.TeamID == nil {
		r.Reason = "no team: the ticket waits in the unassigned queue"
		return r, nil
	}
	agent, err := pickAgent(tx, *r.TeamID, needs)
	if err != nil {
		return r, err
	}
	if agent == nil {
		r.Reason = "nobody in the team can take it now: it waits in the team's queue"
		return r, nil
	}
	r.AgentID, r.Capacity = &agent.ID, agent.Capacity
	r.Reason = agent.reason(needs)
	return r, nil
}

// candidate is an agent who can take a ticket.
type candidate struct {
	ID       int64
	Name     string
	TeamName string
	Load     int
	Capacity int
}

func (c *candidate) reason(needs ticketNeeds) string {
	var why []string
	why = append(why, fmt.Sprintf("least loaded available agent in %s (%d of %d active tickets)", c.TeamName, c.Load, c.Capacity))
	if needs.language != "" {
		why = append(why, "speaks "+needs.language)
	}
	if needs.category != "" {
		why = append(why, "handles "+needs.category)
	}
	if needs.vip {
		why = append(why, "may serve VIP customers")
	}
	return strings.Join(why, "; ")
}

// pickAgent chooses the agent of team who should take a ticket with these needs, or nil.
//
// The chosen agent's row stays locked until the transaction ends. Agents locked by a concurrent
// assignment are skipped at first, so tickets arriving together spread over the team; when every
// eligible agent is locked, the ticket waits for one rather than queueing while there is room.
// The load counted here comes from this statement's snapshot, which may predate an assignment
// committed just before the lock was granted: the caller checks the capacity again in its next
// statement (see Intake), when that assignment is visible.
func pickAgent(tx *gorm.DB, teamID int64, needs ticketNeeds) (*candidate, error) {
	for _, lock := range []string{"FOR UPDATE OF u SKIP LOCKED", "FOR UPDATE OF u"} {
		var c candidate
		err := tx.Raw(`
			SELECT u.id, u.name, tm_team.name AS team_name, active.n AS load, u.max_active_tickets AS capacity
			FROM team_members tm
			JOIN users u ON u.id = tm.user_id
			JOIN teams tm_team ON tm_team.id = tm.team_id
			CROSS JOIN LATERAL (
				SELECT count(*) AS n FROM tickets t
				WHERE t.assignee_id = u.id AND t.status IN `+activeStatuses+`
			) active
			WHERE tm.team_id = ? AND u.disabled_at IS NULL AND u.available
				AND active.n < u.max_active_tickets
				AND (NOT ? OR u.handles_vip)
				AND (? = '' OR cardinality(u.languages) = 0 OR ? = ANY(u.languages))
				AND (? = '' OR cardinality(u.categories) = 0 OR ? = ANY(u.categories))
			ORDER BY active.n, u.last_assigned_at NULLS FIRST, u.id
			LIMIT 1
			`+lock,
			teamID, needs.vip, needs.language, needs.language, needs.category, needs.category).Scan(&c).Error
		if err != nil {
			return nil, fmt.Errorf("route: pick agent: %w", err)
		}
		if c.ID != 0 {
			return &c, nil
		}
	}
	return nil, nil
}

// agentLoad counts an agent's active tickets as of now.
func agentLoad(tx *gorm.DB, agentID int64) (int, error) {
	var n int
	err := tx.Raw(`SELECT count(*) FROM tickets WHERE assignee_id = ? AND status IN `+activeStatuses, agentID).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("route: count load: %w", err)
	}
	return n, nil
}

type int64s []int64

func (s int64s) Value() (driver.Value, error) { return []int64(s), nil }

// pickUpQueued gives an agent who may have room the oldest, most urgent tickets waiting in their
// teams' queues that they can take, until they are full or the queues hold nothing for them.
func pickUpQueued(w *work, agentID int64) error {
	// Holding the agent's row keeps a concurrent intake from filling the same room.
	var agent struct {
		ID       int64
		Capacity int
	}
	err := w.tx.Raw(`SELECT id, max_active_tickets AS capacity FROM users
		WHERE id = ? AND disabled_at IS NULL AND available FOR UPDATE`, agentID).Scan(&agent).Error
	if err != nil {
		return fmt.Errorf("route: pick up queued: %w", err)
	}
	if agent.ID == 0 {
		return nil
	}
	load, err := agentLoad(w.tx, agentID)
	if err != nil {
		return err
	}
	for ; load < agent.Capacity; load++ {
		var t struct {
			ID, CustomerID int64
			TeamName       string
		}
		err := w.tx.Raw(`
			SELECT t.id, t.customer_id, tm.name AS team_name
			FROM users u
			JOIN team_members m ON m.user_id = u.id
			JOIN teams tm ON tm.id = m.team_id
			JOIN tickets t ON t.team_id = m.team_id AND t.assignee_id IS NULL AND t.status IN `+activeStatuses+`
			LEFT JOIN customer_scores cs ON cs.customer_id = t.customer_id
			WHERE u.id = ?
				AND (coalesce(cs.tier, 'new') <> 'vip' OR u.handles_vip)
				AND (t.language = '' OR cardinality(u.languages) = 0 OR t.language = ANY(u.languages))
				AND (t.category = '' OR cardinality(u.categories) = 0 OR t.category = ANY(u.categories))
			ORDER BY t.priority DESC, t.created_at, t.id
			LIMIT 1
			FOR UPDATE OF t SKIP LOCKED`, agentID).Scan(&t).Error
		if err != nil {
			return fmt.Errorf("route: pick up queued: %w", err)
		}
		if t.ID == 0 {
			return nil
		}
		if err := w.tx.Exec(`UPDATE tickets SET assignee_id = ?, updated_at = now() WHERE id = ?`, agentID, t.ID).Error; err != nil {
			return fmt.Errorf("route: assign queued: %w", err)
		}
		if err := w.tx.Exec(`UPDATE users SET last_assigned_at = now() WHERE id = ?`, agentID).Error; err != nil {
			return fmt.Errorf("route: assign queued: %w", err)
		}
		if err := w.record(event{SystemActor, t.ID, t.CustomerID, EventAssigneeChanged, map[string]any{
			"from": nil, "to": agentID, "reason": fmt.Sprintf("picked up from the %s queue when the agent had room", t.TeamName),
		}}); err != nil {
			return err
		}
	}
	return nil
}

// freedAgents are the agents whose load the changes lowered or who may take work again.
func freedAgents(tx *gorm.DB, changes []Change) ([]int64, error) {
	var tickets []int64
	var agents []int64
	for _, c := range changes {
		switch c.Type {
		case EventStatusChanged:
			// Only solving frees an agent: closing follows solving, and the other statuses
			// still need the agent.
			if to, _ := c.Data["to"].(Status); to == StatusSolved {
				tickets = append(tickets, c.TicketID)
			}
		case EventAssigneeChanged:
			if from, ok := c.Data["from"].(*int64); ok && from != nil {
				agents = append(agents, *from)
			}
		}
	}
	if len(tickets) > 0 {
		var more []int64
		if err := tx.Raw(`SELECT DISTINCT assignee_id FROM tickets WHERE id IN ? AND assignee_id IS NOT NULL`, tickets).Scan(&more).Error; err != nil {
			return nil, fmt.Errorf("route: freed agents: %w", err)
		}
		agents = append(agents, more...)
	}
	return agents, nil
}

// AssignQueued gives an agent the waiting tickets they can take now, as after they come back
// from being away or get more capacity, and returns how many they took.
func (d *Desk) AssignQueued(ctx context.Context, agentID int64) (int, error) {
	var n int
	err := d.inTx(ctx, func(w *work) error {
		before := len(w.changes)
		if err := pickUpQueued(w, agentID); err != nil {
			return err
		}
		n = len(w.changes) - before
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("tickets: assign queued: %w", err)
	}
	return n, nil
}

// AssignAllQueued is the sweep behind the immediate pick-ups: every available agent with room
// takes what waits for them in their teams' queues. Agents are taken one per transaction, with
// SKIP LOCKED on the tickets, so several nodes may sweep at once.
func (d *Desk) AssignAllQueued(ctx context.Context) (int, error) {
	var agents []int64
	err := d.db.WithContext(ctx).Raw(`
		SELECT DISTINCT u.id FROM users u
		JOIN team_members m ON m.user_id = u.id
		WHERE u.disabled_at IS NULL AND u.available
			AND EXISTS (SELECT 1 FROM tickets t WHERE t.team_id = m.team_id AND t.assignee_id IS NULL AND t.status IN ` + activeStatuses + `)
		ORDER BY u.id`).Scan(&agents).Error
	if err != nil {
		return 0, fmt.Errorf("tickets: assign queued: %w", err)
	}
	total := 0
	for _, a := range agents {
		n, err := d.AssignQueued(ctx, a)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
