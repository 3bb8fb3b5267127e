package tickets

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// TicketDetail is a ticket with its whole conversation and history.
type TicketDetail struct {
	Ticket
	Messages []Message
	Events   []Event
}

// Get returns a ticket with its messages (and their attachments) and events, oldest first.
func (d *Desk) Get(ctx context.Context, id int64) (*TicketDetail, error) {
	db := d.db.WithContext(ctx)
	var detail TicketDetail
	err := db.Take(&detail.Ticket, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tickets: get: %w", err)
	}
	// Preload fetches all attachments of the page in one query, not one per message.
	if err := db.Preload("Attachments", func(q *gorm.DB) *gorm.DB { return q.Order("id") }).
		Where("ticket_id = ?", id).Order("id").Find(&detail.Messages).Error; err != nil {
		return nil, fmt.Errorf("tickets: get messages: %w", err)
	}
	if err := db.Where("ticket_id = ?", id).Order("id").Find(&detail.Events).Error; err != nil {
		return nil, fmt.Errorf("tickets: get events: %w", err)
	}
	return &detail, nil
}

// ListFilter selects tickets. Zero fields select everything.
type ListFilter struct {
	Statuses   []Status
	AssigneeID *int64 // pointer to 0 selects unassigned tickets
	TeamID     *int64 // pointer to 0 selects tickets without a team
	CustomerID int64
	Priority   Level
	Limit      int    // default 25, at most 100
	Cursor     string // from the previous page's Next
}

// TicketPage is one page of a listing, newest first. Next is empty on the last page.
type TicketPage struct {
	Items []Ticket
	Next  string
}

// List returns one page of tickets, newest first. Paging is by keyset on the id, so page 1000
// costs what page 1 costs and rows arriving meanwhile do not shift the pages.
func (d *Desk) List(ctx context.Context, f ListFilter) (*TicketPage, error) {
	if f.Limit <= 0 {
		f.Limit = 25
	}
	if f.Limit > 100 {
		f.Limit = 100
	}
	q := d.db.WithContext(ctx).Model(&Ticket{})
	if len(f.Statuses) > 0 {
		q = q.Where("status IN ?", f.Statuses)
	}
	if f.AssigneeID != nil {
		q = whereOptionalID(q, "assignee_id", *f.AssigneeID)
	}
	if f.TeamID != nil {
		q = whereOptionalID(q, "team_id", *f.TeamID)
	}
	if f.CustomerID != 0 {
		q = q.Where("customer_id = ?", f.CustomerID)
	}
	if f.Priority != 0 {
		q = q.Where("priority = ?", f.Priority)
	}
	if f.Cursor != "" {
		before, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		q = q.Where("id < ?", before)
	}
	var items []Ticket
	if err := q.Order("id DESC").Limit(f.Limit + 1).Find(&items).Error; err != nil {
		return nil, fmt.Errorf("tickets: list: %w", err)
	}
	page := &TicketPage{Items: items}
	if len(items) > f.Limit {
		page.Items = items[:f.Limit]
		page.Next = EncodeCursor(page.Items[f.Limit-1].ID)
	}
	return page, nil
}

func whereOptionalID(q *gorm.DB, column string, id int64) *gorm.DB {
	if id == 0 {
		return q.Where(column + " IS NULL")
	}
	return q.Where(column+" = ?", id)
}

// EncodeCursor returns the cursor of the page that starts after ticket beforeID. Cursors are
// opaque to clients, so the ordering behind them can change without breaking them.
func EncodeCursor(beforeID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("id:" + strconv.FormatInt(beforeID, 10)))
}

func decodeCursor(s string) (int64, error) {
	bad := invalid("cursor", "is not a cursor from a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, bad
	}
	n, ok := strings.CutPrefix(string(raw), "id:")
	if !ok {
		return 0, bad
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 {
		return 0, bad
	}
	return id, nil
}

// AttachmentContent returns an attachment's description and its bytes.
func (d *Desk) AttachmentContent(ctx context.Context, id int64) (*Attachment, []byte, error) {
	db := d.db.WithContext(ctx)
	var a Attachment
	err := db.Take(&a, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tickets: attachment: %w", err)
	}
	var data []byte
	if err := db.Raw(`SELECT data FROM blobs WHERE sha256 = ?`, a.BlobSHA256).Row().Scan(&data); err != nil {
		return nil, nil, fmt.Errorf("tickets: attachment content: %w", err)
	}
	return &a, data, nil
}
