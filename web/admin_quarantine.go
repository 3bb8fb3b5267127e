package web

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

type quarantineRow struct {
	mailin.QuarantinedMessage
	Mailbox string
}

type quarantineView struct {
	Ready bool
	Items []quarantineRow
	All   bool
	Next  int64
	Flash string
	// The outcome of a reprocess, shown at the top.
	Result  string
	Failure string
}

func (s *server) quarantinePage(c *fiber.Ctx, status int, view quarantineView) error {
	view.Ready = s.Mail != nil
	if s.Mail == nil {
		return s.render(c, status, "admin_quarantine.html", view)
	}
	f := mailin.QuarantineFilter{All: c.Query("all") == "true", Limit: 50}
	if v, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil && v > 0 {
		f.Before = v
	}
	view.All = f.All
	items, next, err := s.Mail.Quarantine.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	boxes, err := s.Mail.Mailboxes.List(c.UserContext())
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, b := range boxes {
		names[b.ID] = b.Name
	}
	for _, q := range items {
		view.Items = append(view.Items, quarantineRow{QuarantinedMessage: q, Mailbox: names[q.MailboxID]})
	}
	view.Next = next
	return s.render(c, status, "admin_quarantine.html", view)
}

func (s *server) adminQuarantine(c *fiber.Ctx) error {
	view := quarantineView{Flash: s.flash(c)}
	w := s.wordsFor(c)
	// After a reprocess, the redirect says how it went.
	switch c.Query("outcome") {
	case string(mailin.OutcomeTicket), string(mailin.OutcomeMessage), string(mailin.OutcomeDuplicate), string(mailin.OutcomeBounce):
		view.Result = w.T("admin_reprocess_"+c.Query("outcome"), "Ticket", c.Query("ticket"))
	}
	return s.quarantinePage(c, fiber.StatusOK, view)
}

// adminQuarantineRaw downloads a quarantined message as it came, as the API does.
func (s *server) adminQuarantineRaw(c *fiber.Ctx) error { return s.apiQuarantineRaw(c) }

// adminReprocessQuarantine takes a message in again and shows what became of it.
func (s *server) adminReprocessQuarantine(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	res, err := mail.Quarantine.Reprocess(c.UserContext(), id)
	var conflict *tickets.ConflictError
	var invalid *tickets.ValidationError
	switch {
	case errors.As(err, &conflict):
		// Still not ingestible: say why, on the page, with the list.
		w := s.wordsFor(c)
		return s.quarantinePage(c, fiber.StatusConflict, quarantineView{Failure: w.T("admin_reprocess_failed", "ID", id,
			"Error", strings.TrimPrefix(conflict.Message, "the message still cannot be taken in: "))})
	case errors.As(err, &invalid):
		w := s.wordsFor(c)
		return s.quarantinePage(c, fiber.StatusConflict, quarantineView{Failure: w.T("admin_reprocess_failed", "ID", id, "Error", invalid.Error())})
	case err != nil:
		return err
	}
	if res.Outcome == mailin.OutcomeQuarantined {
		w := s.wordsFor(c)
		return s.quarantinePage(c, fiber.StatusConflict, quarantineView{Failure: w.T("admin_reprocess_failed", "ID", id, "Error", res.Error)})
	}
	q := "/admin/quarantine?outcome=" + string(res.Outcome)
	if res.TicketID != 0 {
		q += "&ticket=" + strconv.FormatInt(res.TicketID, 10)
	}
	return c.Redirect(q, fiber.StatusSeeOther)
}
