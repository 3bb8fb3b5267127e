package web

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The customer page: the unified record with its scores and what they are made of, purchases,
// tickets, and for supervisors the merge of another record into this one (pick, confirm, merge).

type customerView struct {
	Rec        *tickets.CustomerRecord
	Tier       tickets.Tier
	CanMerge   bool
	MergeFrom  string // what was typed in the merge form
	MergeError string
	Flash      *bulkFlash
	// MergeCandidate is the record about to be merged into Rec: the page shows both and asks
	// for confirmation.
	MergeCandidate *tickets.CustomerRecord
	Pair           []*tickets.CustomerRecord // the candidate, then the kept record
	// Search, when set, makes the page a customer search instead of a record.
	Search *customerSearch
	// Cuts are the quintile cut points of recency, frequency and monetary, as words.
	Cuts struct{ R, F, M string }
}

type customerSearch struct {
	Q     string
	Hits  []tickets.CustomerHit
	Error string
}

// deskCustomerSearch finds a customer by id, email address or the start of their name. An id
// or an address that matches goes straight to the record.
func (s *server) deskCustomerSearch(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	search := &customerSearch{Q: q}
	v := customerView{Search: search}
	w := s.wordsFor(c)
	status := fiber.StatusOK
	switch {
	case q == "":
	case strings.Contains(q, "@"):
		id, err := s.Customers.FindByEmail(c.UserContext(), q)
		var invalid *tickets.ValidationError
		switch {
		case err == nil:
			return c.Redirect("/desk/customers/"+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
		case errors.As(err, &invalid):
			search.Error, status = w.T("customer_search_bad_email"), fiber.StatusUnprocessableEntity
		case !errors.Is(err, tickets.ErrNotFound):
			return err
		}
	default:
		if id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil && id > 0 {
			return c.Redirect("/desk/customers/"+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
		}
		hits, err := s.Customers.SearchCustomersByName(c.UserContext(), q, 25)
		if err != nil {
			return err
		}
		search.Hits = hits
	}
	return s.render(c, status, "desk_customer.html", v)
}

// newCustomerView is the page of a record, with the scores' cut points put into words.
func (s *server) newCustomerView(c *fiber.Ctx, rec *tickets.CustomerRecord) customerView {
	v := customerView{Rec: rec, Tier: rec.Tier(), CanMerge: currentUser(c).Role.Includes(tickets.RoleSupervisor)}
	if rec.Scores != nil {
		e := rec.Scores.Explanation
		v.Cuts.R, v.Cuts.F, v.Cuts.M = cutWords(e.Recency.CutPoints), cutWords(e.Frequency.CutPoints), cutWords(e.Monetary.CutPoints)
	}
	return v
}

// cutWords lists cut points as "3, 10, 45, 120"; "" when there are none yet.
func cutWords(cuts []float64) string {
	if len(cuts) == 0 {
		return ""
	}
	parts := make([]string, len(cuts))
	for i, c := range cuts {
		parts[i] = strconv.FormatFloat(c, 'f', -1, 64)
	}
	return strings.Join(parts, ", ")
}

func (s *server) deskCustomer(c *fiber.Ctx) error {
	rec, err := s.customerRecord(c)
	if err != nil {
		return err
	}
	v := s.newCustomerView(c, rec)
	v.Flash = s.takeFlash(c)
	return s.render(c, fiber.StatusOK, "desk_customer.html", v)
}

func (s *server) customerRecord(c *fiber.Ctx) (*tickets.CustomerRecord, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	return s.Customers.Get(c.UserContext(), id)
}

// deskCustomerMergeConfirm finds the record to merge in, by id or email address, and shows
// both records side by side before anything changes.
func (s *server) deskCustomerMergeConfirm(c *fiber.Ctx) error {
	into, err := s.customerRecord(c)
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	typed := strings.TrimSpace(c.Query("from"))
	fromID, problem := s.findMergeSource(c, typed)
	if problem == "" && fromID == into.ID {
		problem = "customer_merge_self"
	}
	var from *tickets.CustomerRecord
	if problem == "" {
		from, err = s.Customers.Get(c.UserContext(), fromID)
		switch {
		case errors.Is(err, tickets.ErrNotFound):
			problem = "customer_merge_not_found"
		case err != nil:
			return err
		case from.MergedIntoID != nil:
			problem = "customer_merge_already"
		}
	}
	if problem != "" {
		v := s.newCustomerView(c, into)
		v.MergeFrom, v.MergeError = typed, w.T(problem)
		return s.render(c, fiber.StatusUnprocessableEntity, "desk_customer.html", v)
	}
	v := s.newCustomerView(c, into)
	v.MergeFrom, v.MergeCandidate, v.Pair = typed, from, []*tickets.CustomerRecord{from, into}
	return s.render(c, fiber.StatusOK, "desk_customer.html", v)
}

// findMergeSource reads a customer id or an email address; problem is a catalog id.
func (s *server) findMergeSource(c *fiber.Ctx, typed string) (id int64, problem string) {
	if typed == "" {
		return 0, "customer_merge_required"
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(typed, "#"), 10, 64); err == nil {
		if n <= 0 {
			return 0, "customer_merge_not_found"
		}
		return n, ""
	}
	id, err := s.Customers.FindByEmail(c.UserContext(), typed)
	if err != nil {
		return 0, "customer_merge_not_found"
	}
	return id, ""
}

// deskCustomerMerge merges the confirmed record into this one and goes back to it.
func (s *server) deskCustomerMerge(c *fiber.Ctx) error {
	into, err := pathID(c, "id")
	if err != nil {
		return err
	}
	from, err := strconv.ParseInt(c.FormValue("from"), 10, 64)
	if err != nil || from <= 0 {
		return badRequest("from", "must be a customer id")
	}
	if _, err := s.Desk.Merge(c.UserContext(), tickets.StaffActor(currentUser(c).ID), into, from); err != nil {
		return err
	}
	s.setFlash(c, bulkFlash{Merged: from})
	return c.Redirect("/desk/customers/"+strconv.FormatInt(into, 10), fiber.StatusSeeOther)
}
