package web

import (
	"errors"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// portalBar is what the portal's own bar shows on every signed-in page.
type portalBar struct {
	Customer *tickets.PortalCustomer
	CSRF     string // the portal session's form token, not the visitor's one in the layout
}

func (s *server) portalBar(c *fiber.Ctx) portalBar {
	return portalBar{Customer: portalCustomer(c), CSRF: s.portalCSRF(c)}
}

type portalTicketsView struct {
	portalBar
	Tickets []tickets.Ticket
	Next    string
}

// portalTickets lists the customer's own tickets, newest first.
func (s *server) portalTickets(c *fiber.Ctx) error {
	page, err := s.Desk.List(c.UserContext(), tickets.ListFilter{
		CustomerID: portalCustomer(c).ID, Limit: 25, Cursor: c.Query("before"),
	})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "portal_tickets.html", portalTicketsView{
		portalBar: s.portalBar(c), Tickets: page.Items, Next: page.Next,
	})
}

type portalMessageView struct {
	ID           int64
	Kind         tickets.MessageKind
	Author       string
	FromCustomer bool
	CreatedAt    time.Time
	Text         string
	HTML         template.HTML // sanitized
	Files        []portalFileView
}

type portalFileView struct {
	ID                          int64
	Filename, ContentType, Size string
}

// fileSize says how large a file is, in the units people read.
func fileSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 0, 64) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

type portalTicketView struct {
	portalBar
	Ticket          tickets.Ticket
	Messages        []portalMessageView
	Body            string            // the reply being written, kept when the form comes back
	Errors          map[string]string // by input name
	Notice          string
	Sent            bool
	MaxAttachments  int
	MaxAttachmentMB int64
}

func (s *server) newPortalTicketView(c *fiber.Ctx, t *tickets.PortalTicket) portalTicketView {
	view := portalTicketView{
		portalBar: s.portalBar(c), Ticket: t.Ticket, Errors: map[string]string{},
		MaxAttachments: s.Config.Form.MaxAttachments, MaxAttachmentMB: s.Config.Form.MaxAttachmentBytes >> 20,
	}
	for _, m := range t.Messages {
		mv := portalMessageView{ID: m.ID, Kind: m.Kind, Author: m.AuthorName, FromCustomer: m.FromCustomer,
			CreatedAt: m.CreatedAt, Text: m.BodyText}
		for _, a := range m.Attachments {
			mv.Files = append(mv.Files, portalFileView{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType, Size: fileSize(a.Size)})
		}
		if strings.TrimSpace(m.BodyHTML) != "" {
			// Stored HTML was sanitized on the way in; sanitizing again costs little and keeps
			// this page safe should a row ever come from elsewhere.
			mv.HTML = template.HTML(tickets.SanitizeHTML(m.BodyHTML))
		}
		view.Messages = append(view.Messages, mv)
	}
	return view
}

// portalTicket shows one of the customer's tickets: the public conversation, never internal
// notes. Another customer's ticket is a 404, so the page does not confirm that it exists.
func (s *server) portalTicket(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	t, err := s.Desk.PortalTicket(c.UserContext(), portalCustomer(c).ID, id)
	if err != nil {
		return err
	}
	view := s.newPortalTicketView(c, t)
	view.Sent = c.Query("sent") != ""
	return s.render(c, fiber.StatusOK, "portal_ticket.html", view)
}

// portalReply adds the customer's message to their ticket. A pending or solved ticket opens
// again (the desk's rule). Whatever goes wrong, the page comes back with what they wrote.
func (s *server) portalReply(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	customer := portalCustomer(c)
	t, err := s.Desk.PortalTicket(c.UserContext(), customer.ID, id)
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	var v tickets.ValidationError
	files := s.formAttachments(c, w, &v)
	body := c.FormValue("body")
	if v.Err() == nil {
		_, err = s.Desk.AddCustomerMessage(c.UserContext(), id, tickets.CustomerMessage{
			CustomerID: customer.ID, Body: body, Attachments: files,
		})
		if err == nil {
			return c.Redirect("/portal/tickets/"+strconv.FormatInt(id, 10)+"?sent=1#latest", fiber.StatusSeeOther)
		}
		var conflict *tickets.ConflictError
		if errors.As(err, &conflict) {
			view := s.newPortalTicketView(c, t)
			view.Body, view.Notice = body, w.T("portal_closed_notice")
			return s.render(c, fiber.StatusConflict, "portal_ticket.html", view)
		}
		if err := mergeInvalid(&v, err); err != nil {
			return err
		}
	}
	view := s.newPortalTicketView(c, t)
	view.Body, view.Notice = body, w.T("form_fix_fields")
	for _, f := range v.Fields {
		input := "body"
		if strings.HasPrefix(f.Field, "attachments") {
			input = "attachments"
		}
		if view.Errors[input] == "" {
			view.Errors[input] = w.T(sentence(f.Message))
		}
	}
	if len(files) > 0 && view.Errors["attachments"] == "" {
		view.Errors["attachments"] = w.T("attach_again")
	}
	return s.render(c, fiber.StatusUnprocessableEntity, "portal_ticket.html", view)
}

// portalAttachment downloads a file of a public message on one of the customer's tickets.
func (s *server) portalAttachment(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, data, err := s.Desk.PortalAttachment(c.UserContext(), portalCustomer(c).ID, id)
	if err != nil {
		return err
	}
	// Always a download: a file from a mail must never render as a page of ours.
	c.Set(fiber.HeaderContentType, a.ContentType)
	c.Set(fiber.HeaderContentDisposition, contentDisposition(a.Filename))
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "sandbox; default-src 'none'")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(data)
}
