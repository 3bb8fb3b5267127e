package web

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

type customerJSON struct {
	ID            int64           `json:"id"`
	Name          string          `json:"name"`
	Kind          string          `json:"kind"`
	Organization  string          `json:"organization"`
	ExternalID    *string         `json:"external_id"`
	Notes         string          `json:"notes"`
	Attributes    json.RawMessage `json:"attributes"`
	FirstSeenAt   time.Time       `json:"first_seen_at"`
	MergedIntoID  *int64          `json:"merged_into_id"`
	Tier          string          `json:"tier"`
	Identities    []identityJSON  `json:"identities"`
	Scores        *scoresJSON     `json:"scores"`
	TicketCount   int64           `json:"ticket_count"`
	Tickets       []ticketJSON    `json:"tickets"`
	PurchaseCount int64           `json:"purchase_count"`
	Purchases     []purchaseJSON  `json:"purchases"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

type identityJSON struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// scoresJSON is a customer's value and loyalty, each with what it is made of.
type scoresJSON struct {
	RecencyDays *int                `json:"recency_days"`
	Frequency   int                 `json:"frequency"`
	Monetary    float64             `json:"monetary"`
	RFM         string              `json:"rfm"`
	CLV         float64             `json:"clv"`
	Loyalty     int                 `json:"loyalty"`
	Tier        string              `json:"tier"`
	ChurnRisk   string              `json:"churn_risk"`
	Explanation tickets.Explanation `json:"explanation"`
	ComputedAt  time.Time           `json:"computed_at"`
}

type purchaseJSON struct {
	ID          int64     `json:"id"`
	CustomerID  int64     `json:"customer_id"`
	ExternalID  string    `json:"external_id"`
	Amount      string    `json:"amount"`
	Currency    string    `json:"currency"`
	PurchasedAt time.Time `json:"purchased_at"`
}

func newPurchaseJSON(p *tickets.Purchase) purchaseJSON {
	return purchaseJSON{ID: p.ID, CustomerID: p.CustomerID, ExternalID: p.ExternalID, Amount: p.Amount, Currency: p.Currency, PurchasedAt: p.PurchasedAt.UTC()}
}

func newCustomerJSON(r *tickets.CustomerRecord) customerJSON {
	attrs := r.Attributes
	if len(attrs) == 0 {
		attrs = json.RawMessage("{}")
	}
	out := customerJSON{
		ID: r.ID, Name: r.Name, Kind: string(r.Kind), Organization: r.Organization, ExternalID: r.ExternalID,
		Notes: r.Notes, Attributes: attrs, FirstSeenAt: r.FirstSeenAt.UTC(), MergedIntoID: r.MergedIntoID,
		Tier: string(r.Tier()), Identities: make([]identityJSON, len(r.Identities)),
		TicketCount: r.TicketCount, Tickets: newTicketList(r.Tickets),
		PurchaseCount: r.PurchaseCount, Purchases: make([]purchaseJSON, len(r.Purchases)),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	for i, id := range r.Identities {
		out.Identities[i] = identityJSON{Kind: id.Kind, Value: id.Value}
	}
	for i := range r.Purchases {
		out.Purchases[i] = newPurchaseJSON(&r.Purchases[i])
	}
	if sc := r.Scores; sc != nil {
		out.Scores = &scoresJSON{
			RecencyDays: sc.RecencyDays, Frequency: sc.Frequency, Monetary: sc.Monetary, RFM: sc.RFM(), CLV: sc.CLV,
			Loyalty: sc.Loyalty, Tier: string(sc.Tier), ChurnRisk: sc.ChurnRisk, Explanation: sc.Explanation, ComputedAt: sc.ComputedAt.UTC(),
		}
	}
	return out
}

func (s *server) apiGetCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	rec, err := s.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newCustomerJSON(rec))
}

// apiFindCustomer looks a customer up by email address and answers with their record.
func (s *server) apiFindCustomer(c *fiber.Ctx) error {
	email := c.Query("email")
	if email == "" {
		return badRequest("email", "is required: GET /api/v1/customers?email=ana@example.com")
	}
	id, err := s.Customers.FindByEmail(c.UserContext(), email)
	if err != nil {
		return err
	}
	rec, err := s.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newCustomerJSON(rec))
}

type updateCustomerRequest struct {
	Name         *string        `json:"name"`
	Kind         *string        `json:"kind"`
	Organization *string        `json:"organization"`
	ExternalID   nullableString `json:"external_id"`
	Notes        *string        `json:"notes"`
	Attributes   map[string]any `json:"attributes"`
}

func (s *server) apiUpdateCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateCustomerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	change := tickets.CustomerChange{
		Name: req.Name, Organization: req.Organization, Notes: req.Notes, Attributes: req.Attributes,
		ExternalID: tickets.OptionalString{Set: req.ExternalID.set, Value: req.ExternalID.value},
	}
	if req.Kind != nil {
		k := tickets.CustomerKind(*req.Kind)
		change.Kind = &k
	}
	rec, err := s.Customers.Update(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, change)
	if err != nil {
		return err
	}
	return c.JSON(newCustomerJSON(rec))
}

type addIdentityRequest struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

func (s *server) apiAddIdentity(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req addIdentityRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ident, err := s.Customers.AddIdentity(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, req.Kind, req.Value)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(identityJSON{Kind: ident.Kind, Value: ident.Value})
}

type mergeRequest struct {
	From int64 `json:"from"`
}

// apiMergeCustomer folds the customer named in the body into the one in the path.
func (s *server) apiMergeCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req mergeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.From <= 0 {
		return &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "from", Message: "is required: the id of the customer to merge into this one"}}}
	}
	if _, err := s.Desk.Merge(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, req.From); err != nil {
		return err
	}
	rec, err := s.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newCustomerJSON(rec))
}

func (s *server) apiListPurchases(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.Customers.Get(c.UserContext(), id); err != nil {
		return err
	}
	list, err := s.Purchases.List(c.UserContext(), id, 1000)
	if err != nil {
		return err
	}
	out := make([]purchaseJSON, len(list))
	for i := range list {
		out[i] = newPurchaseJSON(&list[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

type addPurchaseRequest struct {
	ExternalID  string `json:"external_id"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	PurchasedAt string `json:"purchased_at"`
}

func (s *server) apiAddPurchase(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req addPurchaseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p, err := s.Purchases.Add(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, tickets.NewPurchase(req))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newPurchaseJSON(p))
}

type importJSON struct {
	Rows       int                 `json:"rows"`
	Imported   int                 `json:"imported"`
	Duplicates int                 `json:"duplicates"`
	Customers  int                 `json:"customers"`
	Errors     []tickets.LineError `json:"errors"`
}

// apiImportPurchases takes a CSV body. A file with bad rows imports nothing (422, every bad row
// listed by line) unless ?skip_invalid=true.
func (s *server) apiImportPurchases(c *fiber.Ctx) error {
	ct := c.Get(fiber.HeaderContentType)
	if !strings.HasPrefix(ct, "text/csv") {
		return &inputError{status: fiber.StatusUnsupportedMediaType, field: "body", message: "must be sent as text/csv"}
	}
	skip := false
	if v := c.Query("skip_invalid"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("skip_invalid", "must be true or false")
		}
		skip = b
	}
	res, err := s.Purchases.Import(c.UserContext(), tickets.StaffActor(currentUser(c).ID), strings.NewReader(string(c.Body())), skip)
	out := importJSON{Errors: []tickets.LineError{}}
	if res != nil {
		out = importJSON{Rows: res.Rows, Imported: res.Imported, Duplicates: res.Duplicates, Customers: res.Customers, Errors: res.Errors}
		if out.Errors == nil {
			out.Errors = []tickets.LineError{}
		}
	}
	if errors.Is(err, tickets.ErrImportRejected) {
		return c.Status(fiber.StatusUnprocessableEntity).JSON(out)
	}
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *server) apiGetValueSettings(c *fiber.Ctx) error {
	settings, err := s.Customers.Settings(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(settings)
}

func (s *server) apiPutValueSettings(c *fiber.Ctx) error {
	var req tickets.ValueSettings
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.Customers.SaveSettings(c.UserContext(), tickets.StaffActor(currentUser(c).ID), req); err != nil {
		return err
	}
	return s.apiGetValueSettings(c)
}

type analyticsJSON struct {
	From           time.Time              `json:"from"`
	To             time.Time              `json:"to"`
	ActiveAtStart  int64                  `json:"active_at_start"`
	ActiveAtEnd    int64                  `json:"active_at_end"`
	Acquired       int64                  `json:"acquired"`
	RetentionRate  *float64               `json:"retention_rate"`
	ChurnRate      *float64               `json:"churn_rate"`
	CustomerEquity float64                `json:"customer_equity"`
	Currency       string                 `json:"currency"`
	Tiers          map[tickets.Tier]int64 `json:"tiers"`
	TicketsByTier  []tickets.TierTickets  `json:"tickets_by_tier"`
}

// apiCustomerAnalytics reports retention, churn, equity and tiers; from and to default to the
// last 30 days.
func (s *server) apiCustomerAnalytics(c *fiber.Ctx) error {
	to := time.Now().UTC()
	from := to.AddDate(0, 0, -30)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := c.Query(name); v != "" {
			t, err := parseDay(v)
			if err != nil {
				return badRequest(name, "must be a date (2026-01-31) or an RFC 3339 time")
			}
			*dst = t
		}
	}
	a, err := s.Customers.Analytics(c.UserContext(), from, to)
	if err != nil {
		return err
	}
	tiers := a.TicketsByTier
	if tiers == nil {
		tiers = []tickets.TierTickets{}
	}
	return c.JSON(analyticsJSON{
		From: a.From, To: a.To, ActiveAtStart: a.ActiveAtStart, ActiveAtEnd: a.ActiveAtEnd, Acquired: a.Acquired,
		RetentionRate: a.RetentionRate, ChurnRate: a.ChurnRate, CustomerEquity: a.CustomerEquity, Currency: a.Currency,
		Tiers: a.Tiers, TicketsByTier: tiers,
	})
}

// parseDay reads a date or a time.
func parseDay(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}
