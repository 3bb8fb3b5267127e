package tickets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// runParams are the settings and cut points a scoring used.
type runParams struct {
	Settings ValueSettings `json:"settings"`
	Cutoffs  cutoffs       `json:"cutoffs"`
}

// ensureRun records the parameters of a scoring, once per distinct set, and returns their id.
func ensureRun(tx *gorm.DB, s ValueSettings, c cutoffs) (int64, error) {
	raw, err := json.Marshal(runParams{Settings: s, Cutoffs: c})
	if err != nil {
		return 0, fmt.Errorf("score run: %w", err)
	}
	sum := sha256.Sum256(raw)
	var id int64
	// The no-op update makes RETURNING give the id of an existing row too.
	err = tx.Raw(`INSERT INTO score_runs (params_hash, params) VALUES (?, ?)
		ON CONFLICT (params_hash) DO UPDATE SET params_hash = excluded.params_hash RETURNING id`,
		hex.EncodeToString(sum[:]), string(raw)).Scan(&id).Error
	if err != nil {
		return 0, fmt.Errorf("score run: %w", err)
	}
	return id, nil
}

// loadRun reads a run's parameters. Runs never change once written, so cache (which may be nil)
// keeps them: the few distinct runs are read once instead of once per customer record.
func loadRun(db *gorm.DB, id int64, cache *sync.Map) (runParams, error) {
	if cache != nil {
		if p, ok := cache.Load(id); ok {
			return p.(runParams), nil
		}
	}
	var raw string
	var p runParams
	if err := db.Raw(`SELECT params::text FROM score_runs WHERE id = ?`, id).Scan(&raw).Error; err != nil {
		return p, fmt.Errorf("tickets: score run: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return p, fmt.Errorf("tickets: score run %d: %w", id, err)
	}
	if cache != nil {
		cache.Store(id, p)
	}
	return p, nil
}

// Explanation says how a customer's scores came about: the inputs of each, the rule that
// combined them, and the settings and cut points used.
type Explanation struct {
	Recency   RecencyExplanation   `json:"recency"`
	Frequency FrequencyExplanation `json:"frequency"`
	Monetary  MonetaryExplanation  `json:"monetary"`
	CLV       CLVExplanation       `json:"clv"`
	Loyalty   LoyaltyExplanation   `json:"loyalty"`
	Tier      Reasoned             `json:"tier"`
	Churn     ChurnExplanation     `json:"churn"`
}

// RecencyExplanation explains the recency score.
type RecencyExplanation struct {
	DaysSinceLastPurchase *int      `json:"days_since_last_purchase"`
	Score                 int       `json:"score"`
	CutPoints             []float64 `json:"cut_points"`
	Rule                  string    `json:"rule"`
}

// FrequencyExplanation explains the frequency score.
type FrequencyExplanation struct {
	Purchases12Months int       `json:"purchases_12_months"`
	Score             int       `json:"score"`
	CutPoints         []float64 `json:"cut_points"`
	Rule              string    `json:"rule"`
}

// MonetaryExplanation explains the monetary score.
type MonetaryExplanation struct {
	Amount12Months float64   `json:"amount_12_months"`
	Currency       string    `json:"currency"`
	Score          int       `json:"score"`
	CutPoints      []float64 `json:"cut_points"`
	Rule           string    `json:"rule"`
}

// CLVExplanation explains the lifetime value.
type CLVExplanation struct {
	Value           float64 `json:"value"`
	YearlyMargin    float64 `json:"yearly_margin"`
	MarginRate      float64 `json:"margin_rate"`
	RetentionRate   float64 `json:"retention_rate"`
	DiscountRate    float64 `json:"discount_rate"`
	AcquisitionCost float64 `json:"acquisition_cost"`
	Formula         string  `json:"formula"`
}

// LoyaltyExplanation explains the loyalty score.
type LoyaltyExplanation struct {
	Value         int     `json:"value"`
	TenureDays    int     `json:"tenure_days"`
	TenurePoints  float64 `json:"tenure_points"`
	RFMPoints     float64 `json:"rfm_points"`
	SupportPoints int     `json:"support_points"`
	OpenTickets   int     `json:"open_tickets"`
	Tickets90Days int     `json:"tickets_90_days"`
	Rule          string  `json:"rule"`
}

// Reasoned is a value and why.
type Reasoned struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
	Why
}

// Why names the rule that decided a value and the figures it weighed, so that a page can say the
// reason in its reader's language; Reason says it in English.
type Why struct {
	ReasonCode string            `json:"reason_code"`
	ReasonArgs map[string]string `json:"reason_args,omitempty"`
}

// ChurnExplanation explains the churn risk.
type ChurnExplanation struct {
	Value                 string   `json:"value"`
	DaysSinceLastPurchase *int     `json:"days_since_last_purchase"`
	UsualIntervalDays     *float64 `json:"usual_interval_days"`
	Lateness              *float64 `json:"lateness"`
	OpenTickets           int      `json:"open_tickets"`
	Reason                string   `json:"reason"`
	Why
}

// explain puts a customer's stored figures into words, with the rules of scoreQuery; the tier
// and churn risk it explains are the ones the query chose.
func explain(s *Scores, run runParams) Explanation {
	set, cut := run.Settings, run.Cutoffs
	nonNil := func(c []float64) []float64 {
		if c == nil {
			return []float64{}
		}
		return c
	}
	e := Explanation{
		Recency: RecencyExplanation{DaysSinceLastPurchase: s.RecencyDays, Score: s.RScore, CutPoints: nonNil(cut.Recency),
			Rule: "score 1 plus the cut points the days are at or under"},
		Frequency: FrequencyExplanation{Purchases12Months: s.Frequency, Score: s.FScore, CutPoints: nonNil(cut.Frequency),
			Rule: "score 1 plus the cut points the count is above"},
		Monetary: MonetaryExplanation{Amount12Months: s.Monetary, Currency: set.Currency, Score: s.MScore, CutPoints: nonNil(cut.Monetary),
			Rule: "score 1 plus the cut points the amount is above"},
		CLV: CLVExplanation{Value: s.CLV, YearlyMargin: math.Round(s.Monetary*set.MarginRate*100) / 100, MarginRate: set.MarginRate,
			RetentionRate: set.RetentionRate, DiscountRate: set.DiscountRate, AcquisitionCost: set.AcquisitionCost,
			Formula: "m·r/(1+d−r) − acquisition cost"},
		Loyalty: LoyaltyExplanation{Value: s.Loyalty, TenureDays: s.TenureDays, TenurePoints: s.TenurePoints, RFMPoints: s.RFMPoints,
			SupportPoints: s.SupportPoints, OpenTickets: s.OpenTickets, Tickets90Days: s.RecentTickets,
			Rule: "tenure up to 20 (two years) + RFM up to 60 + support 20 less 5 per open ticket and 2 per ticket in 90 days"},
		Churn: ChurnExplanation{Value: s.ChurnRisk, DaysSinceLastPurchase: s.RecencyDays, UsualIntervalDays: roundPtr(s.UsualIntervalDays, 1),
			Lateness: s.Lateness, OpenTickets: s.OpenTickets},
	}
	e.Tier.Value = string(s.Tier)
	e.Tier.Reason, e.Tier.Why = tierReason(s, set, cut)
	e.Churn.Reason, e.Churn.Why = churnReason(s)
	return e
}

func tierReason(s *Scores, set ValueSettings, cut cutoffs) (string, Why) {
	switch s.Tier {
	case TierVIP:
		threshold := 0.0
		if cut.VIPMinCLV != nil {
			threshold = *cut.VIPMinCLV
		}
		return because("tier_vip_top_share", "CLV {{.CLV}} is in the top {{.Share}}% of customers (at least {{.Threshold}})",
			"CLV", money(s.CLV), "Share", fmt.Sprintf("%.1f", set.VIPShare*100), "Threshold", money(threshold))
	case TierLoyal:
		return because("tier_loyal_loyalty", "loyalty {{.Loyalty}} is at least {{.Min}}", "Loyalty", fmt.Sprint(s.Loyalty), "Min", fmt.Sprint(set.LoyalMinLoyalty))
	case TierRepeat:
		return because("tier_repeat_purchases", "{{.Purchases}} purchases in 12 months, at least {{.Min}}",
			"Purchases", fmt.Sprint(s.Frequency), "Min", fmt.Sprint(set.RepeatMinPurchases))
	case TierNew:
		if s.FirstPurchaseAt == nil {
			return because("tier_new_no_purchases", "no purchases yet")
		}
		days := int(s.ComputedAt.Sub(*s.FirstPurchaseAt) / (24 * time.Hour))
		return because("tier_new_first_purchase", "first purchase {{.Days}} days ago, under {{.Max}}", "Days", fmt.Sprint(days), "Max", fmt.Sprint(set.NewDays))
	}
	return because("tier_occasional", "bought before, but not often enough in 12 months to repeat")
}

func churnReason(s *Scores) (string, Why) {
	late := func(min float64) bool { return s.Lateness != nil && *s.Lateness >= min }
	switch {
	case s.PurchasesTotal > 0 && s.Frequency == 0:
		return because("churn_lapsed", "bought before, but nothing in the last 12 months")
	case late(2):
		return because("churn_late", "{{.Days}} days since the last purchase, {{.Ratio}} times the usual interval",
			"Days", fmt.Sprint(*s.RecencyDays), "Ratio", ratio(*s.Lateness))
	case late(1.5) && s.OpenTickets > 0:
		return because("churn_late_open_ticket", "{{.Ratio}} times the usual interval with an open ticket", "Ratio", ratio(*s.Lateness))
	case late(1.25):
		return because("churn_a_little_late", "{{.Ratio}} times the usual interval", "Ratio", ratio(*s.Lateness))
	case s.OpenTickets >= 2:
		return because("churn_open_tickets", "{{.Open}} open tickets", "Open", fmt.Sprint(s.OpenTickets))
	case s.PurchasesTotal < 2:
		return because("churn_few_purchases", "too few purchases to know the usual interval")
	}
	return because("churn_usual_pace", "buying at the usual pace")
}

// because fills an English reason's {{.Name}} places with the figures given as name, value
// pairs, and keeps the code and figures for pages in other languages.
func because(code, english string, pairs ...string) (string, Why) {
	why := Why{ReasonCode: code}
	for i := 0; i+1 < len(pairs); i += 2 {
		if why.ReasonArgs == nil {
			why.ReasonArgs = map[string]string{}
		}
		why.ReasonArgs[pairs[i]] = pairs[i+1]
		english = strings.ReplaceAll(english, "{{."+pairs[i]+"}}", pairs[i+1])
	}
	return english, why
}

func money(v float64) string { return fmt.Sprintf("%.2f", v) }

func ratio(v float64) string { return fmt.Sprintf("%.2f", v) }

func roundPtr(v *float64, places int) *float64 {
	if v == nil {
		return nil
	}
	p := math.Pow(10, float64(places))
	r := math.Round(*v*p) / p
	return &r
}
