package tickets

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"gorm.io/gorm"
)

// Purchases records what customers bought, the input of their value scores. Every change
// recomputes the scores of the customers it touched, in the same transaction.
type Purchases struct {
	desk *Desk
}

// NewPurchases returns the purchase ledger; scores are recomputed through desk.
func NewPurchases(desk *Desk) *Purchases { return &Purchases{desk: desk} }

// Purchase is one order of a customer.
type Purchase struct {
	ID          int64
	CustomerID  int64
	ExternalID  string
	Amount      string // decimal, as stored: money is never a float
	Currency    string
	PurchasedAt time.Time
	CreatedAt   time.Time
}

// NewPurchase is a purchase as a client or a file states it.
type NewPurchase struct {
	ExternalID  string
	Amount      string
	Currency    string
	PurchasedAt string // RFC 3339
}

// maxAmount is where an amount stops being a purchase and starts being a typo.
var maxAmount = big.NewRat(1_000_000_000, 1)

// checked is a purchase that passed validation.
type checked struct {
	externalID string
	amount     string
	currency   string
	at         time.Time
}

// check validates a purchase, adding its problems to v.
func (p NewPurchase) check(v *ValidationError, s ValueSettings, now time.Time) checked {
	var c checked
	c.externalID = cleanLine(p.ExternalID)
	switch {
	case c.externalID == "":
		v.Add("external_id", "is required: the order number in your shop")
	case utf8.RuneCountInString(c.externalID) > 100:
		v.Add("external_id", "must be at most 100 characters")
	}
	amount, ok := new(big.Rat).SetString(strings.TrimSpace(p.Amount))
	switch {
	case strings.TrimSpace(p.Amount) == "":
		v.Add("amount", "is required, such as \"123.45\"")
	case !ok || strings.ContainsAny(p.Amount, "eE/"):
		v.Add("amount", "must be a decimal number such as \"123.45\"")
	case amount.Sign() < 0:
		v.Add("amount", "must not be negative; record refunds in your shop, not here")
	case amount.Cmp(maxAmount) > 0:
		v.Add("amount", "is implausibly large (over 1,000,000,000)")
	case !hasAtMostDecimals(strings.TrimSpace(p.Amount), 2):
		v.Add("amount", "must have at most 2 decimals")
	default:
		c.amount = amount.FloatString(2)
	}
	c.currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if _, err := currency.ParseISO(c.currency); err != nil || len(c.currency) != 3 {
		v.Add("currency", "must be an ISO 4217 code such as EUR")
	} else if _, err := s.toBase(c.currency); err != nil {
		v.Add("currency", err.Error())
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(p.PurchasedAt))
	switch {
	case strings.TrimSpace(p.PurchasedAt) == "":
		v.Add("purchased_at", "is required, such as 2026-03-01T10:00:00Z")
	case err != nil:
		v.Add("purchased_at", "must be an RFC 3339 time such as 2026-03-01T10:00:00Z")
	case at.After(now.Add(5 * time.Minute)):
		v.Add("purchased_at", "is in the future")
	case at.Year() < 1990:
		v.Add("purchased_at", "is before 1990")
	default:
		c.at = at
	}
	return c
}

func hasAtMostDecimals(s string, n int) bool {
	_, frac, found := strings.Cut(s, ".")
	return !found || len(frac) <= n
}

// Add records one purchase of a customer and recomputes their scores.
func (p *Purchases) Add(ctx context.Context, actor Actor, customerID int64, in NewPurchase) (*Purchase, error) {
	s, err := loadValueSettings(p.desk.db.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	var v ValidationError
	c := in.check(&v, s, time.Now())
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out Purchase
	err = p.desk.inTx(ctx, func(w *work) error {
		if err := activeCustomer(w.tx, customerID); err != nil {
			return err
		}
		err := w.tx.Raw(`INSERT INTO purchases (customer_id, external_id, amount, currency, purchased_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING
			RETURNING id, customer_id, external_id, amount::text AS amount, currency, purchased_at, created_at`,
			customerID, c.externalID, c.amount, c.currency, c.at).Scan(&out).Error
		if err != nil {
			return fmt.Errorf("insert purchase: %w", err)
		}
		if out.ID == 0 {
			return &ConflictError{Field: "external_id", Message: "a purchase with this external id is already recorded"}
		}
		if err := w.record(event{actor, 0, customerID, EventPurchaseAdded, map[string]any{
			"purchase_id": out.ID, "external_id": out.ExternalID, "amount": out.Amount, "currency": out.Currency,
		}}); err != nil {
			return err
		}
		_, err = recomputeIn(w, []int64{customerID})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: add purchase: %w", err)
	}
	return &out, nil
}

// activeCustomer checks that a customer exists and was not merged away.
func activeCustomer(tx *gorm.DB, id int64) error {
	var c struct {
		ID           int64
		MergedIntoID *int64
	}
	if err := tx.Raw(`SELECT id, merged_into_id FROM customers WHERE id = ?`, id).Scan(&c).Error; err != nil {
		return fmt.Errorf("find customer: %w", err)
	}
	if c.ID == 0 {
		return ErrNotFound
	}
	if c.MergedIntoID != nil {
		return &ConflictError{Field: "customer", Message: fmt.Sprintf("this customer was merged into customer %d", *c.MergedIntoID)}
	}
	return nil
}

// List returns a customer's purchases, newest first.
func (p *Purchases) List(ctx context.Context, customerID int64, limit int) ([]Purchase, error) {
	var out []Purchase
	err := p.desk.db.WithContext(ctx).Raw(`SELECT id, customer_id, external_id, amount::text AS amount, currency, purchased_at, created_at
		FROM purchases WHERE customer_id = ? ORDER BY purchased_at DESC, id DESC LIMIT ?`, customerID, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("tickets: list purchases: %w", err)
	}
	return out, nil
}

// ImportResult says what an import did and what it refused.
type ImportResult struct {
	Rows       int         // data rows read
	Imported   int         // purchases recorded
	Duplicates int         // rows already recorded by an earlier import, skipped
	Errors     []LineError // rows refused, by line
	Customers  int         // customers whose scores were recomputed
}

// LineError is a problem with one line of an imported file.
type LineError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ErrImportRejected means the file had bad rows and nothing was imported; the result lists them.
var ErrImportRejected = errors.New("the file has rows with errors; nothing was imported")

// maxImportErrors bounds the report of a hopeless file.
const maxImportErrors = 1000

// Import reads a CSV of purchases: a header naming the columns customer_email (or
// customer_external_id), external_id, amount, currency and purchased_at, then one purchase per
// row. Every row is checked first. A file with bad rows imports nothing, unless skipInvalid, in
// which case the good rows are imported; either way every bad row is reported with its line.
// Rows whose external id an earlier import recorded for the same customer are skipped, so that
// importing a file twice changes nothing.
func (p *Purchases) Import(ctx context.Context, actor Actor, r io.Reader, skipInvalid bool) (*ImportResult, error) {
	s, err := loadValueSettings(p.desk.db.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	rows, res, err := readPurchaseCSV(r, s)
	if err != nil {
		return res, err
	}
	err = p.desk.inTx(ctx, func(w *work) error {
		if err := resolveImportCustomers(w.tx, rows, res); err != nil {
			return err
		}
		if err := checkExistingPurchases(w.tx, rows, res); err != nil {
			return err
		}
		if len(res.Errors) > 0 && !skipInvalid {
			return ErrImportRejected
		}
		customers, err := insertPurchases(w.tx, rows, res)
		if err != nil {
			return err
		}
		res.Customers = len(customers)
		if res.Imported > 0 {
			if err := w.record(event{actor, 0, 0, EventPurchasesImport, map[string]any{
				"rows": res.Rows, "imported": res.Imported, "duplicates": res.Duplicates, "refused": len(res.Errors),
			}}); err != nil {
				return err
			}
		}
		_, err = recomputeIn(w, customers)
		return err
	})
	sortLineErrors(res.Errors)
	if err != nil {
		if errors.Is(err, ErrImportRejected) {
			return res, ErrImportRejected
		}
		return res, fmt.Errorf("tickets: import purchases: %w", err)
	}
	return res, nil
}

// importRow is one data row of an import, with where it came from and whether it is still good.
type importRow struct {
	line          int
	email, custID string // one of them names the customer
	customerID    int64
	p             checked
	bad           bool
	duplicate     bool
}

// readPurchaseCSV parses and checks every row. A file that cannot be read as CSV at all (wrong
// header, broken quoting) is an error of its own.
func readPurchaseCSV(r io.Reader, s ValueSettings) ([]*importRow, *ImportResult, error) {
	res := &ImportResult{}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked per row, with a clearer message than the package's
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		res.Errors = append(res.Errors, LineError{Line: 1, Message: "the file is empty; it needs a header row"})
		return nil, res, ErrImportRejected
	}
	if err != nil {
		res.Errors = append(res.Errors, csvLineError(err, 1))
		return nil, res, ErrImportRejected
	}
	cols, problem := purchaseColumns(header)
	if problem != "" {
		res.Errors = append(res.Errors, LineError{Line: 1, Message: problem})
		return nil, res, ErrImportRejected
	}
	now := time.Now()
	seen := map[string]int{}
	var rows []*importRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			res.Errors = append(res.Errors, csvLineError(err, line))
			var perr *csv.ParseError
			if errors.As(err, &perr) && !errors.Is(perr.Err, csv.ErrFieldCount) {
				// Broken quoting leaves the reader unable to find where rows start again.
				return nil, res, ErrImportRejected
			}
			continue
		}
		res.Rows++
		row := &importRow{line: line}
		rows = append(rows, row)
		fail := func(field, msg string) {
			row.bad = true
			if len(res.Errors) < maxImportErrors {
				res.Errors = append(res.Errors, LineError{Line: line, Field: field, Message: msg})
			}
		}
		if len(rec) != len(header) {
			fail("", fmt.Sprintf("has %d fields; the header has %d", len(rec), len(header)))
			continue
		}
		for i, f := range rec {
			if !utf8.ValidString(f) {
				fail(header[i], "is not valid UTF-8; save the file as UTF-8")
			}
		}
		if row.bad {
			continue
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok {
				return rec[i]
			}
			return ""
		}
		row.email, row.custID = strings.TrimSpace(get("customer_email")), strings.TrimSpace(get("customer_external_id"))
		if _, ok := cols["customer_email"]; ok {
			addr, err := NormalizeEmail(row.email)
			if err != nil {
				fail("customer_email", err.Error())
			}
			row.email = addr
		} else if row.custID == "" {
			fail("customer_external_id", "is required")
		}
		var v ValidationError
		row.p = NewPurchase{ExternalID: get("external_id"), Amount: get("amount"), Currency: get("currency"), PurchasedAt: get("purchased_at")}.check(&v, s, now)
		for _, f := range v.Fields {
			fail(f.Field, f.Message)
		}
		if row.p.externalID != "" {
			if first, dup := seen[row.p.externalID]; dup {
				fail("external_id", fmt.Sprintf("repeats the external id of line %d", first))
			} else {
				seen[row.p.externalID] = line
			}
		}
	}
	return rows, res, nil
}

// purchaseColumns maps column names to positions and checks the header.
func purchaseColumns(header []string) (map[string]int, string) {
	cols := map[string]int{}
	known := map[string]bool{"customer_email": true, "customer_external_id": true, "external_id": true, "amount": true, "currency": true, "purchased_at": true}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known[h] {
			return nil, fmt.Sprintf("unknown column %q; the columns are customer_email (or customer_external_id), external_id, amount, currency, purchased_at", h)
		}
		if _, dup := cols[h]; dup {
			return nil, fmt.Sprintf("column %q appears twice", h)
		}
		cols[h] = i
	}
	_, byEmail := cols["customer_email"]
	_, byID := cols["customer_external_id"]
	switch {
	case byEmail == byID:
		return nil, "the header needs exactly one of customer_email and customer_external_id"
	}
	for _, need := range []string{"external_id", "amount", "currency", "purchased_at"} {
		if _, ok := cols[need]; !ok {
			return nil, fmt.Sprintf("the header lacks the column %q", need)
		}
	}
	return cols, ""
}

func csvLineError(err error, line int) LineError {
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		msg := perr.Err.Error()
		if errors.Is(perr.Err, csv.ErrQuote) || errors.Is(perr.Err, csv.ErrBareQuote) {
			msg = "a quote is not closed or stands inside an unquoted field"
		}
		return LineError{Line: perr.Line, Message: msg}
	}
	return LineError{Line: line, Message: err.Error()}
}

// resolveImportCustomers finds the customer of every good row with one query per key kind.
func resolveImportCustomers(tx *gorm.DB, rows []*importRow, res *ImportResult) error {
	var emails, ids []string
	for _, r := range rows {
		if r.bad {
			continue
		}
		if r.email != "" {
			emails = append(emails, r.email)
		} else {
			ids = append(ids, r.custID)
		}
	}
	byEmail := map[string]int64{}
	byID := map[string]int64{}
	if len(emails) > 0 {
		var found []struct {
			Value      string
			CustomerID int64
		}
		if err := tx.Raw(`SELECT value, customer_id FROM customer_identities WHERE kind = 'email' AND value = ANY(?)`, textArray(emails)).Scan(&found).Error; err != nil {
			return fmt.Errorf("resolve customers: %w", err)
		}
		for _, f := range found {
			byEmail[f.Value] = f.CustomerID
		}
	}
	if len(ids) > 0 {
		var found []struct {
			ExternalID string
			ID         int64
		}
		if err := tx.Raw(`SELECT external_id, id FROM customers WHERE external_id = ANY(?) AND merged_into_id IS NULL`, textArray(ids)).Scan(&found).Error; err != nil {
			return fmt.Errorf("resolve customers: %w", err)
		}
		for _, f := range found {
			byID[f.ExternalID] = f.ID
		}
	}
	for _, r := range rows {
		if r.bad {
			continue
		}
		if r.email != "" {
			r.customerID = byEmail[r.email]
		} else {
			r.customerID = byID[r.custID]
		}
		if r.customerID == 0 {
			r.bad = true
			field, key := "customer_email", r.email
			if r.email == "" {
				field, key = "customer_external_id", r.custID
			}
			res.Errors = append(res.Errors, LineError{Line: r.line, Field: field, Message: fmt.Sprintf("no customer has %q", key)})
		}
	}
	return nil
}

// checkExistingPurchases marks rows an earlier import recorded (same external id and customer)
// as duplicates, and refuses rows whose external id belongs to someone else's purchase.
func checkExistingPurchases(tx *gorm.DB, rows []*importRow, res *ImportResult) error {
	var ids []string
	for _, r := range rows {
		if !r.bad {
			ids = append(ids, r.p.externalID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var found []struct {
		ExternalID string
		CustomerID int64
	}
	if err := tx.Raw(`SELECT external_id, customer_id FROM purchases WHERE external_id = ANY(?)`, textArray(ids)).Scan(&found).Error; err != nil {
		return fmt.Errorf("check purchases: %w", err)
	}
	owner := make(map[string]int64, len(found))
	for _, f := range found {
		owner[f.ExternalID] = f.CustomerID
	}
	for _, r := range rows {
		if r.bad {
			continue
		}
		switch o, ok := owner[r.p.externalID]; {
		case !ok:
		case o == r.customerID:
			r.duplicate = true
			res.Duplicates++
		default:
			r.bad = true
			res.Errors = append(res.Errors, LineError{Line: r.line, Field: "external_id", Message: "is already recorded for another customer"})
		}
	}
	return nil
}

// insertPurchases writes the good rows in batches and returns the customers they belong to.
func insertPurchases(tx *gorm.DB, rows []*importRow, res *ImportResult) ([]int64, error) {
	const batch = 1000
	customers := map[int64]bool{}
	var pending []*importRow
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		var sql strings.Builder
		sql.WriteString(`INSERT INTO purchases (customer_id, external_id, amount, currency, purchased_at) VALUES `)
		args := make([]any, 0, 5*len(pending))
		for i, r := range pending {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, r.customerID, r.p.externalID, r.p.amount, r.p.currency, r.p.at)
		}
		// A concurrent import of the same file may have won the race for some rows.
		sql.WriteString(` ON CONFLICT (external_id) DO NOTHING`)
		result := tx.Exec(sql.String(), args...)
		if result.Error != nil {
			return fmt.Errorf("insert purchases: %w", result.Error)
		}
		res.Imported += int(result.RowsAffected)
		res.Duplicates += len(pending) - int(result.RowsAffected)
		pending = pending[:0]
		return nil
	}
	for _, r := range rows {
		if r.bad || r.duplicate {
			continue
		}
		pending = append(pending, r)
		customers[r.customerID] = true
		if len(pending) == batch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(customers))
	for id := range customers {
		ids = append(ids, id)
	}
	return ids, nil
}

func sortLineErrors(errs []LineError) {
	slices.SortStableFunc(errs, func(a, b LineError) int { return a.Line - b.Line })
}
