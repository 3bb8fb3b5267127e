package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// valueNumbers are the value settings the form shows as numbers, by their JSON names, which the
// domain's errors use too.
var valueNumbers = []string{"margin_rate", "retention_rate", "discount_rate", "acquisition_cost", "vip_share",
	"loyal_min_loyalty", "repeat_min_purchases", "new_days"}

var urgencyNames = []string{"low", "normal", "high", "urgent"}

type matrixCell struct {
	Name, ID, Urgency, Value, Error string
}

type matrixRow struct {
	Tier  tickets.Tier
	Cells []matrixCell
}

type valueView struct {
	Form      adminForm
	Matrix    []matrixRow
	Urgencies []string
	Currency  string
	Flash     string
}

func matrixInput(tier tickets.Tier, urgency string) string {
	return "priority_matrix." + string(tier) + "." + urgency
}

func (s *server) valuePage(c *fiber.Ctx, status int, form adminForm, currency string) error {
	view := valueView{Form: form, Urgencies: urgencyNames, Currency: currency, Flash: s.flash(c)}
	for _, tier := range tickets.Tiers {
		row := matrixRow{Tier: tier}
		for _, u := range urgencyNames {
			name := matrixInput(tier, u)
			row.Cells = append(row.Cells, matrixCell{Name: name, ID: "pm-" + string(tier) + "-" + u, Urgency: u,
				Value: form.Values[name], Error: form.Errors[name]})
		}
		view.Matrix = append(view.Matrix, row)
	}
	return s.render(c, status, "admin_value.html", view)
}

func (s *server) adminValue(c *fiber.Ctx) error {
	st, err := s.Customers.Settings(c.UserContext())
	if err != nil {
		return err
	}
	form := newAdminForm()
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	form.Values = map[string]string{
		"margin_rate": f(st.MarginRate), "retention_rate": f(st.RetentionRate), "discount_rate": f(st.DiscountRate),
		"acquisition_cost": f(st.AcquisitionCost), "vip_share": f(st.VIPShare),
		"loyal_min_loyalty": strconv.Itoa(st.LoyalMinLoyalty), "repeat_min_purchases": strconv.Itoa(st.RepeatMinPurchases),
		"new_days": strconv.Itoa(st.NewDays),
	}
	for _, tier := range tickets.Tiers {
		for _, u := range urgencyNames {
			to := u
			if mapped, ok := st.PriorityMatrix[tier][u]; ok {
				to = mapped
			}
			form.Values[matrixInput(tier, u)] = to
		}
	}
	return s.valuePage(c, fiber.StatusOK, form, st.Currency)
}

// adminSaveValue saves the numbers and the matrix; the currency and exchange rates, which this
// page does not show, stay as they are.
func (s *server) adminSaveValue(c *fiber.Ctx) error {
	st, err := s.Customers.Settings(c.UserContext())
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	form := newAdminForm()
	form.read(c, valueNumbers...)
	st.MarginRate = formFloat(&form, w, "margin_rate")
	st.RetentionRate = formFloat(&form, w, "retention_rate")
	st.DiscountRate = formFloat(&form, w, "discount_rate")
	st.AcquisitionCost = formFloat(&form, w, "acquisition_cost")
	st.VIPShare = formFloat(&form, w, "vip_share")
	st.LoyalMinLoyalty = formInt(&form, w, "loyal_min_loyalty", -1)
	st.RepeatMinPurchases = formInt(&form, w, "repeat_min_purchases", -1)
	st.NewDays = formInt(&form, w, "new_days", -1)
	inputs := append([]string{}, valueNumbers...)
	st.PriorityMatrix = map[tickets.Tier]map[string]string{}
	for _, tier := range tickets.Tiers {
		for _, u := range urgencyNames {
			name := matrixInput(tier, u)
			inputs = append(inputs, name)
			form.read(c, name)
			to := form.Values[name]
			if to == "" {
				to = u
				form.Values[name] = u
			}
			// Only raises are kept: a cell left at its own level is no rule.
			if to != u {
				if st.PriorityMatrix[tier] == nil {
					st.PriorityMatrix[tier] = map[string]string{}
				}
				st.PriorityMatrix[tier][u] = to
			}
		}
	}
	if form.invalid() {
		form.Notice = w.T("admin_fix_fields")
		return s.valuePage(c, fiber.StatusUnprocessableEntity, form, st.Currency)
	}
	if err := s.Customers.SaveSettings(c.UserContext(), tickets.StaffActor(currentUser(c).ID), st); err != nil {
		if err := form.fail(w, err, inputs...); err != nil {
			return err
		}
		return s.valuePage(c, fiber.StatusUnprocessableEntity, form, st.Currency)
	}
	return done(c, "/admin/value", "value_saved")
}
