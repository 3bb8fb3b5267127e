package tickets

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/currency"
	"gorm.io/gorm"
)

// ValueSettings tune how customers are valued and how their value sets priority. An admin changes
// them at run time; they live in the settings table.
type ValueSettings struct {
	// Currency is the one money is counted in; purchases in others are converted at Rates
	// (units of Currency per unit of the other).
	Currency string             `json:"currency"`
	Rates    map[string]float64 `json:"rates"`

	// Lifetime value: CLV = m·r/(1+d−r) − AcquisitionCost, where m is the yearly margin (the
	// last 12 months' purchases times MarginRate), r RetentionRate and d DiscountRate.
	MarginRate      float64 `json:"margin_rate"`
	RetentionRate   float64 `json:"retention_rate"`
	DiscountRate    float64 `json:"discount_rate"`
	AcquisitionCost float64 `json:"acquisition_cost"`

	// Tiers, checked from the top: VIP is the top VIPShare of customers by CLV; loyal needs a
	// loyalty score of LoyalMinLoyalty; repeat needs RepeatMinPurchases in 12 months; new is a
	// customer whose first purchase is under NewDays old (or who has none); occasional the rest.
	VIPShare           float64 `json:"vip_share"`
	LoyalMinLoyalty    int     `json:"loyal_min_loyalty"`
	RepeatMinPurchases int     `json:"repeat_min_purchases"`
	NewDays            int     `json:"new_days"`

	// PriorityMatrix raises a ticket's urgency by its customer's tier: tier → urgency → priority.
	// Urgencies a tier does not list keep their level.
	PriorityMatrix map[Tier]map[string]string `json:"priority_matrix"`
}

// Tier is a customer's standing, from what they bought and how they stayed.
type Tier string

// The tiers, lowest first.
const (
	TierNew        Tier = "new"
	TierOccasional Tier = "occasional"
	TierRepeat     Tier = "repeat"
	TierLoyal      Tier = "loyal"
	TierVIP        Tier = "vip"
)

// Tiers lists every tier, lowest first.
var Tiers = []Tier{TierNew, TierOccasional, TierRepeat, TierLoyal, TierVIP}

// DefaultValueSettings are the settings of a fresh install.
func DefaultValueSettings() ValueSettings {
	return ValueSettings{
		Currency:           "EUR",
		Rates:              map[string]float64{},
		MarginRate:         0.30,
		RetentionRate:      0.75,
		DiscountRate:       0.10,
		AcquisitionCost:    0,
		VIPShare:           0.05,
		LoyalMinLoyalty:    70,
		RepeatMinPurchases: 2,
		NewDays:            90,
		PriorityMatrix: map[Tier]map[string]string{
			TierVIP:   {"low": "normal", "normal": "high", "high": "urgent"},
			TierLoyal: {"high": "urgent"},
		},
	}
}

// Validate checks every setting, naming the first bad one by its JSON name.
func (s ValueSettings) Validate() error {
	var v ValidationError
	if _, err := currency.ParseISO(s.Currency); err != nil || len(s.Currency) != 3 || strings.ToUpper(s.Currency) != s.Currency {
		v.Add("currency", "must be an ISO 4217 code such as EUR")
	}
	for code, rate := range s.Rates {
		if _, err := currency.ParseISO(code); err != nil || strings.ToUpper(code) != code {
			v.Add("rates."+code, "is not an ISO 4217 currency code")
		} else if rate <= 0 {
			v.Add("rates."+code, "must be above 0")
		}
	}
	if s.MarginRate <= 0 || s.MarginRate > 1 {
		v.Add("margin_rate", "must be above 0 and at most 1")
	}
	if s.RetentionRate < 0 || s.RetentionRate >= 1 {
		v.Add("retention_rate", "must be from 0 up to (not including) 1")
	}
	if s.DiscountRate < 0 || s.DiscountRate > 1 {
		v.Add("discount_rate", "must be from 0 to 1")
	}
	if s.AcquisitionCost < 0 {
		v.Add("acquisition_cost", "must not be negative")
	}
	if s.VIPShare <= 0 || s.VIPShare >= 1 {
		v.Add("vip_share", "must be above 0 and below 1")
	}
	if s.LoyalMinLoyalty < 0 || s.LoyalMinLoyalty > 100 {
		v.Add("loyal_min_loyalty", "must be from 0 to 100")
	}
	if s.RepeatMinPurchases < 1 {
		v.Add("repeat_min_purchases", "must be at least 1")
	}
	if s.NewDays < 0 {
		v.Add("new_days", "must not be negative")
	}
	for tier, row := range s.PriorityMatrix {
		if !slices.Contains(Tiers, tier) {
			v.Add("priority_matrix."+string(tier), "is not a tier (new, occasional, repeat, loyal, vip)")
			continue
		}
		for from, to := range row {
			field := "priority_matrix." + string(tier) + "." + from
			fl, err1 := ParseLevel(from)
			tl, err2 := ParseLevel(to)
			switch {
			case err1 != nil:
				v.Add(field, "is not an urgency (low, normal, high, urgent)")
			case err2 != nil:
				v.Add(field, "must map to low, normal, high or urgent")
			case tl < fl:
				v.Add(field, "would lower the priority; the matrix only raises it")
			}
		}
	}
	return v.Err()
}

// Priority is the priority of a ticket of this urgency from a customer of this tier.
func (s ValueSettings) Priority(tier Tier, urgency Level) Level {
	if to, ok := s.PriorityMatrix[tier][urgency.String()]; ok {
		if l, err := ParseLevel(to); err == nil {
			return l
		}
	}
	return urgency
}

// toBase converts an amount in code to the base currency, or says why it cannot.
func (s ValueSettings) toBase(code string) (float64, error) {
	if code == s.Currency {
		return 1, nil
	}
	rate, ok := s.Rates[code]
	if !ok {
		return 0, fmt.Errorf("no exchange rate from %s to %s; add one to the customer value settings", code, s.Currency)
	}
	return rate, nil
}

const valueSettingsName = "customer_value"

// Settings reads the customer value settings, the defaults where none were saved.
func (c *Customers) Settings(ctx context.Context) (ValueSettings, error) {
	return loadValueSettings(c.db.WithContext(ctx))
}

func loadValueSettings(db *gorm.DB) (ValueSettings, error) {
	s := DefaultValueSettings()
	var raw []byte
	err := db.Raw(`SELECT value FROM settings WHERE name = ?`, valueSettingsName).Row().Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("tickets: load value settings: %w", err)
	}
	// Saved settings overlay the defaults, so that a setting added later has a value.
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("tickets: load value settings: %w", err)
	}
	return s, nil
}

// SaveSettings validates and stores the customer value settings. Tiers and priorities follow at
// the next recomputation.
func (c *Customers) SaveSettings(ctx context.Context, actor Actor, s ValueSettings) error {
	if s.Rates == nil {
		s.Rates = map[string]float64{}
	}
	if s.PriorityMatrix == nil {
		s.PriorityMatrix = map[Tier]map[string]string{}
	}
	if err := s.Validate(); err != nil {
		return err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("tickets: save value settings: %w", err)
	}
	return c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO settings (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()`, valueSettingsName, string(raw)).Error; err != nil {
			return fmt.Errorf("tickets: save value settings: %w", err)
		}
		return recordEvent(tx, actor, 0, 0, EventSettingsChanged, map[string]any{"name": valueSettingsName, "value": json.RawMessage(raw)})
	})
}
