package tickets

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// InTx returns a desk whose units of work run inside tx, each in a savepoint of its own, with
// this desk's limits and hooks. A channel that takes in many items at once (a mailbox's batch of
// messages) commits them together with its own records, and one item's failure undoes only that
// item.
func (d *Desk) InTx(tx *gorm.DB) *Desk {
	return &Desk{db: tx, limits: d.limits, hooks: d.hooks, initialDue: d.initialDue, companions: d.companions}
}

// FindOrCreateByEmail returns the customer owning an email address, creating them when nobody
// does yet: someone copied on an email who writes to us for the first time.
func (c *Customers) FindOrCreateByEmail(ctx context.Context, email, name string) (int64, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return 0, invalid("email", err.Error())
	}
	var id int64
	err = c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cust, err := resolveCustomer(tx, CustomerContact{Email: addr, Name: cleanLine(name)})
		if err != nil {
			return err
		}
		id = cust.id
		if cust.created {
			return recordEvent(tx, CustomerActor(id), 0, id, EventCustomerCreated, map[string]any{"channel": ChannelEmail})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("tickets: find or create customer: %w", err)
	}
	return id, nil
}
