package tickets

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Customers reads and keeps the unified customer records.
type Customers struct {
	db *gorm.DB
}

// NewCustomers returns the customer records kept in db.
func NewCustomers(db *gorm.DB) *Customers { return &Customers{db: db} }

// CustomerRecord is a customer with their identities and their most recent tickets.
type CustomerRecord struct {
	Customer
	TicketCount int64
	Tickets     []Ticket // newest first, at most RecentTickets
}

// RecentTickets is how many of a customer's tickets their record carries.
const RecentTickets = 50

// Get returns a customer's record.
func (c *Customers) Get(ctx context.Context, id int64) (*CustomerRecord, error) {
	db := c.db.WithContext(ctx)
	var rec CustomerRecord
	err := db.Preload("Identities", func(q *gorm.DB) *gorm.DB { return q.Order("id") }).Take(&rec.Customer, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tickets: get customer: %w", err)
	}
	if err := db.Model(&Ticket{}).Where("customer_id = ?", id).Count(&rec.TicketCount).Error; err != nil {
		return nil, fmt.Errorf("tickets: count customer tickets: %w", err)
	}
	if err := db.Where("customer_id = ?", id).Order("id DESC").Limit(RecentTickets).Find(&rec.Tickets).Error; err != nil {
		return nil, fmt.Errorf("tickets: customer tickets: %w", err)
	}
	return &rec, nil
}

// FindByEmail returns the id of the customer owning an email address.
func (c *Customers) FindByEmail(ctx context.Context, email string) (int64, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return 0, invalid("email", err.Error())
	}
	id, err := customerByIdentity(c.db.WithContext(ctx), "email", addr)
	if err != nil {
		return 0, fmt.Errorf("tickets: find customer: %w", err)
	}
	if id == 0 {
		return 0, ErrNotFound
	}
	return id, nil
}
