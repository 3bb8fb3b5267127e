package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Customers reads and keeps the unified customer records.
type Customers struct {
	db   *gorm.DB
	runs sync.Map // scoring run id → runParams; see loadRun
}

// NewCustomers returns the customer records kept in db.
func NewCustomers(db *gorm.DB) *Customers { return &Customers{db: db} }

// CustomerRecord is a customer with their identities, their value and their history.
type CustomerRecord struct {
	Customer
	TicketCount   int64
	Tickets       []Ticket // newest first, at most RecentTickets
	Scores        *Scores  // nil until the customer was first scored
	PurchaseCount int64
	Purchases     []Purchase // newest first, at most RecentPurchases
}

// Tier is the customer's tier: the scored one, or new before the first scoring.
func (r *CustomerRecord) Tier() Tier {
	if r.Scores == nil {
		return TierNew
	}
	return r.Scores.Tier
}

// RecentPurchases is how many purchases a customer's record carries.
const RecentPurchases = 20

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
	var counts struct{ Tickets, Purchases int64 }
	err = db.Raw(`SELECT (SELECT count(*) FROM tickets WHERE customer_id = @id) AS tickets,
		(SELECT count(*) FROM purchases WHERE customer_id = @id) AS purchases`, map[string]any{"id": id}).Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: count customer history: %w", err)
	}
	rec.TicketCount, rec.PurchaseCount = counts.Tickets, counts.Purchases
	if err := db.Where("customer_id = ?", id).Order("id DESC").Limit(RecentTickets).Find(&rec.Tickets).Error; err != nil {
		return nil, fmt.Errorf("tickets: customer tickets: %w", err)
	}
	switch scores, err := c.ScoresOf(ctx, id); {
	case err == nil:
		rec.Scores = scores
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	err = db.Raw(`SELECT id, customer_id, external_id, amount::text AS amount, currency, purchased_at, created_at
		FROM purchases WHERE customer_id = ? ORDER BY purchased_at DESC, id DESC LIMIT ?`, id, RecentPurchases).Scan(&rec.Purchases).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: customer purchases: %w", err)
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

// CustomerChange is what staff change on a customer record; nil fields stay as they are.
type CustomerChange struct {
	Name         *string
	Kind         *CustomerKind
	Organization *string
	ExternalID   OptionalString
	Notes        *string
	Attributes   map[string]any // replaces the custom attributes when not nil
}

// OptionalString is a text field a change may set, clear or leave alone.
type OptionalString struct {
	Set   bool
	Value string // "" clears
}

// Update changes a customer record and records which fields changed.
func (c *Customers) Update(ctx context.Context, actor Actor, id int64, ch CustomerChange) (*CustomerRecord, error) {
	var v ValidationError
	sets := map[string]any{}
	if ch.Name != nil {
		name := cleanLine(*ch.Name)
		if utf8.RuneCountInString(name) > 200 {
			v.Add("name", "must be at most 200 characters")
		}
		sets["name"] = name
	}
	if ch.Kind != nil {
		if !ch.Kind.Valid() {
			v.Add("kind", "must be one of customer, prospect, partner, employee, supplier")
		}
		sets["kind"] = *ch.Kind
	}
	if ch.Organization != nil {
		org := cleanLine(*ch.Organization)
		if utf8.RuneCountInString(org) > 200 {
			v.Add("organization", "must be at most 200 characters")
		}
		sets["organization"] = org
	}
	if ch.ExternalID.Set {
		ext := cleanLine(ch.ExternalID.Value)
		if utf8.RuneCountInString(ext) > 100 {
			v.Add("external_id", "must be at most 100 characters")
		}
		if ext == "" {
			sets["external_id"] = nil
		} else {
			sets["external_id"] = ext
		}
	}
	if ch.Notes != nil {
		notes := strings.TrimSpace(cleanText(*ch.Notes))
		if len(notes) > 20000 {
			v.Add("notes", "must be at most 20,000 characters")
		}
		sets["notes"] = notes
	}
	if ch.Attributes != nil {
		raw, err := json.Marshal(ch.Attributes)
		if err != nil || len(raw) > 16<<10 {
			v.Add("attributes", "must be a JSON object of at most 16 KB")
		}
		sets["attributes"] = string(raw)
	}
	if len(sets) == 0 {
		v.Add("body", "nothing to change")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := activeCustomer(tx, id); err != nil {
			return err
		}
		if ext, ok := sets["external_id"].(string); ok {
			var owner int64
			if err := tx.Raw(`SELECT id FROM customers WHERE external_id = ? AND id <> ?`, ext, id).Scan(&owner).Error; err != nil {
				return err
			}
			if owner != 0 {
				return &ConflictError{Field: "external_id", Message: fmt.Sprintf("customer %d already has this external id", owner)}
			}
		}
		sets["updated_at"] = gorm.Expr("now()")
		if err := tx.Model(&Customer{}).Where("id = ?", id).Updates(sets).Error; err != nil {
			return fmt.Errorf("update customer: %w", err)
		}
		changed := make([]string, 0, len(sets))
		for k := range sets {
			if k != "updated_at" {
				changed = append(changed, k)
			}
		}
		slices.Sort(changed)
		return recordEvent(tx, actor, 0, id, EventCustomerUpdated, map[string]any{"changed": changed})
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: update customer: %w", err)
	}
	return c.Get(ctx, id)
}

// AddIdentity gives a customer another email address or phone number. One that belongs to
// somebody else is refused: that is a case for merging the two records.
func (c *Customers) AddIdentity(ctx context.Context, actor Actor, id int64, kind, value string) (*Identity, error) {
	var err error
	switch kind {
	case "email":
		value, err = NormalizeEmail(value)
	case "phone":
		value, err = NormalizePhone(value)
	default:
		return nil, invalid("kind", "must be email or phone")
	}
	if err != nil {
		return nil, invalid("value", err.Error())
	}
	var ident Identity
	err = c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := activeCustomer(tx, id); err != nil {
			return err
		}
		var owner int64
		if err := tx.Raw(`SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?`, kind, value).Scan(&owner).Error; err != nil {
			return err
		}
		switch {
		case owner == id:
			return &ConflictError{Field: "value", Message: "the customer already has it"}
		case owner != 0:
			return &ConflictError{Field: "value", Message: fmt.Sprintf("it belongs to customer %d; merge the two records instead", owner)}
		}
		if err := tx.Raw(`INSERT INTO customer_identities (customer_id, kind, value) VALUES (?, ?, ?) RETURNING *`, id, kind, value).Scan(&ident).Error; err != nil {
			return fmt.Errorf("insert identity: %w", err)
		}
		return recordEvent(tx, actor, 0, id, EventIdentityAdded, map[string]any{"kind": kind, "value": value})
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: add identity: %w", err)
	}
	return &ident, nil
}

// Merge folds the record of customer from into customer into: its tickets, identities,
// purchases and messages move, empty fields of into are filled from it, and from is kept,
// pointing at into, so that every old reference still resolves. The event on both records lists
// every row that moved, so the merge can be traced and taken apart by hand.
func (d *Desk) Merge(ctx context.Context, actor Actor, into, from int64) (*TierChanges, error) {
	if into == from {
		return nil, invalid("from", "a customer cannot be merged into itself")
	}
	var moved TierChanges
	err := d.inTx(ctx, func(w *work) error {
		tx := w.tx
		// Lock both rows in id order so two merges of the same pair cannot deadlock.
		var locked []int64
		if err := tx.Raw(`SELECT id FROM customers WHERE id IN (?, ?) ORDER BY id FOR UPDATE`, into, from).Scan(&locked).Error; err != nil {
			return err
		}
		for _, id := range []int64{into, from} {
			if err := activeCustomer(tx, id); err != nil {
				if errors.Is(err, ErrNotFound) && id == from {
					return invalid("from", "no such customer")
				}
				return err
			}
		}
		var ids struct {
			Tickets, Identities, Purchases, Messages string
		}
		err := tx.Raw(`
			WITH t AS (UPDATE tickets SET customer_id = @into WHERE customer_id = @from RETURNING id),
			i AS (UPDATE customer_identities SET customer_id = @into WHERE customer_id = @from RETURNING id),
			p AS (UPDATE purchases SET customer_id = @into WHERE customer_id = @from RETURNING id),
			m AS (UPDATE messages SET author_customer_id = @into WHERE author_customer_id = @from RETURNING id)
			SELECT (SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') FROM t)::text AS tickets,
				(SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') FROM i)::text AS identities,
				(SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') FROM p)::text AS purchases,
				(SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') FROM m)::text AS messages`,
			map[string]any{"into": into, "from": from}).Scan(&ids).Error
		if err != nil {
			return fmt.Errorf("move records: %w", err)
		}
		err = tx.Exec(`
			WITH f AS (SELECT * FROM customers WHERE id = @from)
			UPDATE customers c SET
				name = CASE WHEN c.name = '' THEN f.name ELSE c.name END,
				organization = CASE WHEN c.organization = '' THEN f.organization ELSE c.organization END,
				notes = CASE WHEN f.notes = '' THEN c.notes WHEN c.notes = '' THEN f.notes ELSE c.notes || E'\n\n' || f.notes END,
				attributes = f.attributes || c.attributes,
				first_seen_at = least(c.first_seen_at, f.first_seen_at),
				updated_at = now()
			FROM f WHERE c.id = @into`, map[string]any{"into": into, "from": from}).Error
		if err != nil {
			return fmt.Errorf("fill fields: %w", err)
		}
		// The external id moves too when the survivor has none; it is unique, so it is freed
		// in one statement and taken in the next.
		var ext *string
		err = tx.Raw(`UPDATE customers c SET external_id = NULL, merged_into_id = ?, updated_at = now()
			FROM (SELECT external_id FROM customers WHERE id = ?) old
			WHERE c.id = ? RETURNING old.external_id`, into, from, from).Scan(&ext).Error
		if err != nil {
			return fmt.Errorf("retire merged record: %w", err)
		}
		if ext != nil {
			if err := tx.Exec(`UPDATE customers SET external_id = ? WHERE id = ? AND external_id IS NULL`, *ext, into).Error; err != nil {
				return fmt.Errorf("move external id: %w", err)
			}
		}
		if err := tx.Exec(`DELETE FROM customer_scores WHERE customer_id = ?`, from).Error; err != nil {
			return err
		}
		data := map[string]any{
			"into": into, "from": from,
			"tickets": json.RawMessage(ids.Tickets), "identities": json.RawMessage(ids.Identities),
			"purchases": json.RawMessage(ids.Purchases), "messages": json.RawMessage(ids.Messages),
		}
		if err := w.record(event{actor, 0, into, EventCustomersMerged, data}, event{actor, 0, from, EventCustomersMerged, data}); err != nil {
			return err
		}
		moved, err = recomputeIn(w, []int64{into})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: merge customers: %w", err)
	}
	return &moved, nil
}
