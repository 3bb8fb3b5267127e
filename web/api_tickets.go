package web

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

type createTicketRequest struct {
	Customer struct {
		Email string `json:"email"`
		Phone string `json:"phone"`
		Name  string `json:"name"`
	} `json:"customer"`
	Subject     string             `json:"subject"`
	Body        string             `json:"body"`
	BodyHTML    string             `json:"body_html"`
	Urgency     string             `json:"urgency"`
	Channel     string             `json:"channel"`
	TeamID      *int64             `json:"team_id"`
	Category    string             `json:"category"`
	Language    string             `json:"language"`
	Attachments []attachmentUpload `json:"attachments"`
}

type attachmentUpload struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Data        string `json:"data"` // standard base64
}

// decodeUploads turns base64 attachments into files, naming the one that does not decode.
func decodeUploads(v *tickets.ValidationError, uploads []attachmentUpload) []tickets.NewAttachment {
	files := make([]tickets.NewAttachment, 0, len(uploads))
	for i, u := range uploads {
		data, err := base64.StdEncoding.DecodeString(u.Data)
		if err != nil {
			v.Add(fmt.Sprintf("attachments[%d].data", i), "must be standard base64")
			continue
		}
		if strings.TrimSpace(u.Filename) == "" {
			v.Add(fmt.Sprintf("attachments[%d].filename", i), "is required")
		}
		files = append(files, tickets.NewAttachment{Filename: u.Filename, ContentType: u.ContentType, Data: data})
	}
	return files
}

// parseLevel reads an optional level field; "" gives def.
func parseLevel(v *tickets.ValidationError, field, s string, def tickets.Level) tickets.Level {
	if s == "" {
		return def
	}
	l, err := tickets.ParseLevel(s)
	if err != nil {
		v.Add(field, "must be one of low, normal, high, urgent")
	}
	return l
}

func (s *server) apiCreateTicket(c *fiber.Ctx) error {
	var req createTicketRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var v tickets.ValidationError
	channel := tickets.ChannelAPI
	switch req.Channel {
	case "", "api":
	case "phone":
		channel = tickets.ChannelPhone
	default:
		v.Add("channel", "must be api or phone")
	}
	in := tickets.NewTicket{
		Channel:     channel,
		Customer:    tickets.CustomerContact{Email: req.Customer.Email, Phone: req.Customer.Phone, Name: req.Customer.Name},
		Subject:     req.Subject,
		Body:        req.Body,
		BodyHTML:    req.BodyHTML,
		Urgency:     parseLevel(&v, "urgency", req.Urgency, tickets.Normal),
		TeamID:      req.TeamID,
		Category:    req.Category,
		Language:    req.Language,
		CreatedBy:   currentUser(c).ID,
		Attachments: decodeUploads(&v, req.Attachments),
	}
	if err := mergeInvalid(&v, s.Desk.Check(in)); err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	t, err := s.Desk.Intake(c.UserContext(), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/tickets/" + strconv.FormatInt(t.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(newTicketJSON(t))
}

func (s *server) apiGetTicket(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	detail, err := s.Desk.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := newTicketDetailJSON(detail)
	if err := s.addDeliveries(c, &out); err != nil {
		return err
	}
	if out.SLA, err = s.ticketClocks(c, id); err != nil {
		return err
	}
	return c.JSON(out)
}

type ticketPageJSON struct {
	Items []ticketJSON `json:"items"`
	Next  string       `json:"next"`
}

var listParams = map[string]bool{"status": true, "assignee": true, "team": true, "customer": true, "priority": true, "limit": true, "cursor": true}

func (s *server) apiListTickets(c *fiber.Ctx) error {
	f, err := parseListFilter(c)
	if err != nil {
		return err
	}
	page, err := s.Desk.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(ticketPageJSON{Items: newTicketList(page.Items), Next: page.Next})
}

// parseListFilter reads the listing's query. An unknown parameter is an error: a typo such as
// ?stauts=open would otherwise silently list everything.
func parseListFilter(c *fiber.Ctx) (tickets.ListFilter, error) {
	var f tickets.ListFilter
	var bad error
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if bad == nil && !listParams[string(k)] {
			bad = badRequest(string(k), "is not a known parameter (status, assignee, team, customer, priority, limit, cursor)")
		}
	})
	if bad != nil {
		return f, bad
	}
	if v := c.Query("status"); v != "" {
		for _, part := range strings.Split(v, ",") {
			st, err := tickets.ParseStatus(strings.TrimSpace(part))
			if err != nil {
				return f, badRequest("status", err.Error())
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	switch v := c.Query("assignee"); v {
	case "":
	case "me":
		id := currentUser(c).ID
		f.AssigneeID = &id
	case "none":
		f.AssigneeID = new(int64)
	default:
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, badRequest("assignee", "must be a user id, me or none")
		}
		f.AssigneeID = &id
	}
	switch v := c.Query("team"); v {
	case "":
	case "none":
		f.TeamID = new(int64)
	default:
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, badRequest("team", "must be a team id or none")
		}
		f.TeamID = &id
	}
	if v := c.Query("customer"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, badRequest("customer", "must be a customer id")
		}
		f.CustomerID = id
	}
	if v := c.Query("priority"); v != "" {
		l, err := tickets.ParseLevel(v)
		if err != nil {
			return f, badRequest("priority", "must be one of low, normal, high, urgent")
		}
		f.Priority = l
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return f, badRequest("limit", "must be a whole number from 1 to 100")
		}
		f.Limit = n
	}
	f.Cursor = c.Query("cursor")
	return f, nil
}

type updateTicketRequest struct {
	Status     *string    `json:"status"`
	Priority   *string    `json:"priority"`
	Subject    *string    `json:"subject"`
	AssigneeID nullableID `json:"assignee_id"`
	TeamID     nullableID `json:"team_id"`
}

func (s *server) apiUpdateTicket(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateTicketRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var v tickets.ValidationError
	change := tickets.TicketChange{
		Subject:    req.Subject,
		AssigneeID: tickets.OptionalID{Set: req.AssigneeID.set, ID: req.AssigneeID.id},
		TeamID:     tickets.OptionalID{Set: req.TeamID.set, ID: req.TeamID.id},
	}
	if req.Status != nil {
		st, err := tickets.ParseStatus(*req.Status)
		if err != nil {
			v.Add("status", err.Error())
		}
		change.Status = &st
	}
	if req.Priority != nil {
		l := parseLevel(&v, "priority", *req.Priority, 0)
		if *req.Priority == "" {
			v.Add("priority", "must be one of low, normal, high, urgent")
		}
		change.Priority = &l
	}
	if err := v.Err(); err != nil {
		return err
	}
	t, err := s.Desk.Update(c.UserContext(), id, tickets.StaffActor(currentUser(c).ID), change)
	if err != nil {
		return err
	}
	return c.JSON(newTicketJSON(t))
}

type addMessageRequest struct {
	Kind        string             `json:"kind"`
	Body        string             `json:"body"`
	BodyHTML    string             `json:"body_html"`
	Status      *string            `json:"status"`
	Attachments []attachmentUpload `json:"attachments"`
}

func (s *server) apiAddMessage(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req addMessageRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var v tickets.ValidationError
	in := tickets.StaffMessage{
		Kind:        tickets.MessageKind(req.Kind),
		AuthorID:    currentUser(c).ID,
		Body:        req.Body,
		BodyHTML:    req.BodyHTML,
		Attachments: decodeUploads(&v, req.Attachments),
	}
	if req.Kind == "" {
		v.Add("kind", "is required: reply or note")
	}
	if req.Status != nil {
		st, err := tickets.ParseStatus(*req.Status)
		if err != nil {
			v.Add("status", err.Error())
		}
		in.Status = &st
	}
	if err := v.Err(); err != nil {
		return err
	}
	msg, err := s.Desk.AddStaffMessage(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newMessageJSON(msg))
}

func (s *server) apiGetAttachment(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, data, err := s.Desk.AttachmentContent(c.UserContext(), id)
	if err != nil {
		return err
	}
	// Always a download: a file from a customer must never render as a page of ours.
	c.Set(fiber.HeaderContentType, a.ContentType)
	c.Set(fiber.HeaderContentDisposition, contentDisposition(a.Filename))
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "sandbox; default-src 'none'")
	return c.Send(data)
}
