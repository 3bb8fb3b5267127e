package tickets

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// OpenStatuses are the statuses of tickets someone still has to work on: what a queue shows
// unless asked for others.
var OpenStatuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold}

// QueueFilter selects the tickets of a queue. Zero fields select everything open.
type QueueFilter struct {
	Statuses   []Status   // empty: OpenStatuses; solved has an index of its own, closed none
	AssigneeID *int64     // pointer to 0 selects unassigned tickets
	TeamIDs    []int64    // tickets of any of these teams; nil: any team; empty, not nil: none
	Priority   Level      // 0: any
	Tier       Tier       // the customer's tier; "": any
	Channel    Channel    // "": any
	MailboxID  int64      // tickets that came in (or were answered) through this mailbox; 0: any
	DueBefore  *time.Time // only tickets with a running SLA clock due before this time
	Limit      int        // default 25, at most 100
	Cursor     string     // from the previous page's Next
}

// QueueRow is a ticket as a queue lists it, with the names of who it concerns.
type QueueRow struct {
	ID           int64
	Subject      string
	Status       Status
	Priority     Level
	Channel      Channel
	CustomerID   int64
	CustomerName string
	Tier         Tier
	AssigneeID   *int64
	AssigneeName string
	TeamID       *int64
	TeamName     string
	// SLADueAt is when the ticket's earliest running SLA clock falls due; nil when none runs.
	SLADueAt  *time.Time `gorm:"column:sla_due_at"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// QueuePage is one page of a queue. Next is empty on the last page.
type QueuePage struct {
	Items []QueueRow
	Next  string
}

// queueKey is where a queue page starts: after this ticket in the queue's order.
type queueKey struct {
	due     *time.Time
	negPrio int
	id      int64
}

// Queue returns one page of tickets in the order agents work them: the earliest running SLA
// clock first (tickets without one last), then the highest priority, then the oldest. It pages
// by keyset like List, which keeps its newest-first order for the API; the order here comes
// from tickets.sla_due_at, which a trigger keeps equal to the earliest due time of the
// ticket's running clocks.
func (d *Desk) Queue(ctx context.Context, f QueueFilter) (*QueuePage, error) {
	if f.Limit <= 0 {
		f.Limit = 25
	}
	f.Limit = min(f.Limit, 100)
	var after *queueKey
	if f.Cursor != "" {
		k, err := decodeQueueCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		after = &k
	}
	if err := checkStatuses(f.Statuses); err != nil {
		return nil, err
	}
	if f.TeamIDs != nil && len(f.TeamIDs) == 0 {
		return &QueuePage{}, nil
	}
	db := d.db.WithContext(ctx)
	var rows []QueueRow
	// Two ordered index range scans: the tickets with a due time, then those without. One
	// query with OR between the two would lose the index order.
	if after == nil || after.due != nil {
		part, err := queuePart(db, f, after, true, f.Limit+1)
		if err != nil {
			return nil, err
		}
		rows = part
	}
	if len(rows) <= f.Limit {
		var from *queueKey
		if after != nil && after.due == nil {
			from = after
		}
		part, err := queuePart(db, f, from, false, f.Limit+1-len(rows))
		if err != nil {
			return nil, err
		}
		rows = append(rows, part...)
	}
	page := &QueuePage{Items: rows}
	if len(rows) > f.Limit {
		page.Items = rows[:f.Limit]
		last := page.Items[f.Limit-1]
		page.Next = encodeQueueCursor(queueKey{due: last.SLADueAt, negPrio: -int(last.Priority), id: last.ID})
	}
	if err := fillQueueNames(db, page.Items); err != nil {
		return nil, err
	}
	return page, nil
}

func checkStatuses(statuses []Status) error {
	for _, st := range statuses {
		if !st.Valid() {
			return invalid("status", "must be one of new, open, pending, on-hold, solved, closed")
		}
	}
	return nil
}

// queueWhere adds the filter's conditions to a query on tickets t.
func queueWhere(q *gorm.DB, f QueueFilter) *gorm.DB {
	// The statuses go in as literals, not parameters, so that the planner can match the
	// queue indexes' predicates (migrations/00007_queue.sql) even in a cached generic plan.
	// They are checked against the known statuses first.
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = OpenStatuses
	}
	list := make([]string, len(statuses))
	for i, st := range statuses {
		list[i] = "'" + string(st) + "'"
	}
	q = q.Where("t.status IN (" + strings.Join(list, ", ") + ")")
	if f.AssigneeID != nil {
		q = whereOptionalID(q, "t.assignee_id", *f.AssigneeID)
	}
	if f.TeamIDs != nil {
		q = q.Where("t.team_id IN ?", f.TeamIDs)
	}
	if f.Priority != 0 {
		q = q.Where("t.priority = ?", f.Priority)
	}
	if f.Channel != "" {
		q = q.Where("t.channel = ?", f.Channel)
	}
	if f.Tier != "" {
		q = q.Where("coalesce((SELECT s.tier FROM customer_scores s WHERE s.customer_id = t.customer_id), 'new') = ?", f.Tier)
	}
	if f.MailboxID != 0 {
		q = q.Where("EXISTS (SELECT 1 FROM email_messages e WHERE e.ticket_id = t.id AND e.mailbox_id = ?)", f.MailboxID)
	}
	if f.DueBefore != nil {
		q = q.Where("t.sla_due_at < ?", *f.DueBefore)
	}
	return q
}

// queuePart reads up to limit tickets of the queue with a due time (due) or without one,
// after the key.
func queuePart(db *gorm.DB, f QueueFilter, after *queueKey, due bool, limit int) ([]QueueRow, error) {
	if !due && f.DueBefore != nil {
		return nil, nil
	}
	q := queueWhere(db.Table("tickets t"), f).
		Select("t.id, t.subject, t.status, t.priority, t.channel, t.customer_id, t.assignee_id, t.team_id, t.sla_due_at, t.created_at, t.updated_at")
	if due {
		q = q.Where("t.sla_due_at IS NOT NULL")
		if after != nil {
			q = q.Where("(t.sla_due_at, -t.priority, t.id) > (?, ?, ?)", *after.due, after.negPrio, after.id)
		}
	} else {
		q = q.Where("t.sla_due_at IS NULL")
		if after != nil {
			q = q.Where("(-t.priority, t.id) > (?, ?)", after.negPrio, after.id)
		}
	}
	var rows []QueueRow
	if err := q.Order("t.sla_due_at, -t.priority, t.id").Limit(limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("tickets: queue: %w", err)
	}
	return rows, nil
}

// fillQueueNames adds the customers', assignees' and teams' names and the tiers to a page, in
// one query for the whole page.
func fillQueueNames(db *gorm.DB, rows []QueueRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var names []struct {
		ID                               int64
		CustomerName, AssigneeName, Team string
		Tier                             Tier
	}
	err := db.Raw(`SELECT t.id, c.name AS customer_name, coalesce(s.tier, 'new') AS tier,
			coalesce(u.name, '') AS assignee_name, coalesce(tm.name, '') AS team
		FROM tickets t
		JOIN customers c ON c.id = t.customer_id
		LEFT JOIN customer_scores s ON s.customer_id = t.customer_id
		LEFT JOIN users u ON u.id = t.assignee_id
		LEFT JOIN teams tm ON tm.id = t.team_id
		WHERE t.id IN ?`, ids).Scan(&names).Error
	if err != nil {
		return fmt.Errorf("tickets: queue names: %w", err)
	}
	byID := make(map[int64]int, len(rows))
	for i, r := range rows {
		byID[r.ID] = i
	}
	for _, n := range names {
		r := &rows[byID[n.ID]]
		r.CustomerName, r.Tier, r.AssigneeName, r.TeamName = n.CustomerName, n.Tier, n.AssigneeName, n.Team
	}
	return nil
}

// QueueNewSince counts the tickets of a queue created after ticket afterID: the "new tickets"
// notice of a queue left open. It reads the id range above afterID only.
func (d *Desk) QueueNewSince(ctx context.Context, f QueueFilter, afterID int64) (int64, error) {
	if err := checkStatuses(f.Statuses); err != nil {
		return 0, err
	}
	if f.TeamIDs != nil && len(f.TeamIDs) == 0 {
		return 0, nil
	}
	var n int64
	q := queueWhere(d.db.WithContext(ctx).Table("tickets t"), f).Where("t.id > ?", afterID)
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("tickets: queue news: %w", err)
	}
	return n, nil
}

// QueueLastID is the newest ticket id, where a queue page starts counting new tickets.
func (d *Desk) QueueLastID(ctx context.Context) (int64, error) {
	var id int64
	if err := d.db.WithContext(ctx).Raw(`SELECT coalesce(max(id), 0) FROM tickets`).Scan(&id).Error; err != nil {
		return 0, fmt.Errorf("tickets: last id: %w", err)
	}
	return id, nil
}

// Queue cursors are opaque: "q:<due in Unix microseconds or ->:<-priority>:<id>".
func encodeQueueCursor(k queueKey) string {
	due := "-"
	if k.due != nil {
		due = strconv.FormatInt(k.due.UnixMicro(), 10)
	}
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "q:%s:%d:%d", due, k.negPrio, k.id))
}

func decodeQueueCursor(s string) (queueKey, error) {
	bad := invalid("cursor", "is not a cursor from a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return queueKey{}, bad
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 4 || parts[0] != "q" {
		return queueKey{}, bad
	}
	var k queueKey
	if parts[1] != "-" {
		us, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return queueKey{}, bad
		}
		t := time.UnixMicro(us).UTC()
		k.due = &t
	}
	if k.negPrio, err = strconv.Atoi(parts[2]); err != nil || k.negPrio < -int(Urgent) || k.negPrio > -int(Low) {
		return queueKey{}, bad
	}
	if k.id, err = strconv.ParseInt(parts[3], 10, 64); err != nil || k.id <= 0 {
		return queueKey{}, bad
	}
	return k, nil
}

// CustomerHit is a customer found by name, with an address to tell namesakes apart.
type CustomerHit struct {
	ID           int64
	Name         string
	Organization string
	Email        string
	Tier         Tier
}

// SearchCustomersByName lists the active (not merged) customers whose name starts with prefix,
// ignoring case, in name order. The prefix is matched literally: % and _ are not wildcards.
func (c *Customers) SearchCustomersByName(ctx context.Context, prefix string, limit int) ([]CustomerHit, error) {
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	if prefix == "" {
		return nil, invalid("q", "is required")
	}
	if limit <= 0 || limit > 100 {
		limit = 25
	}
	pattern := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
	var hits []CustomerHit
	// customers_name_prefix_idx (migrations/00007_queue.sql) serves the prefix match and the order.
	err := c.db.WithContext(ctx).Raw(`SELECT c.id, c.name, c.organization, coalesce(s.tier, 'new') AS tier,
			coalesce((SELECT i.value FROM customer_identities i WHERE i.customer_id = c.id AND i.kind = 'email' ORDER BY i.id LIMIT 1), '') AS email
		FROM customers c LEFT JOIN customer_scores s ON s.customer_id = c.id
		WHERE c.merged_into_id IS NULL AND lower(c.name) COLLATE "C" LIKE ?
		ORDER BY lower(c.name) COLLATE "C", c.id LIMIT ?`, pattern, limit).Scan(&hits).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: search customers: %w", err)
	}
	return hits, nil
}
