package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/mailin"
)

type quarantinedJSON struct {
	ID         int64      `json:"id"`
	MailboxID  int64      `json:"mailbox_id"`
	Size       int64      `json:"size"`
	Kept       int64      `json:"kept"`
	Reason     string     `json:"reason"`
	Error      string     `json:"error"`
	Subject    string     `json:"subject"`
	From       string     `json:"from"`
	UID        int64      `json:"uid"`
	CreatedAt  time.Time  `json:"created_at"`
	Attempts   int        `json:"attempts"`
	ResolvedAt *time.Time `json:"resolved_at"`
	TicketID   *int64     `json:"ticket_id"`
	RawURL     string     `json:"raw_url"`
}

func newQuarantinedJSON(q *mailin.QuarantinedMessage) quarantinedJSON {
	return quarantinedJSON{
		ID: q.ID, MailboxID: q.MailboxID, Size: q.Size, Kept: q.Kept, Reason: q.Reason, Error: q.Error,
		Subject: q.Subject, From: q.FromAddress, UID: q.UID, CreatedAt: q.CreatedAt.UTC(), Attempts: q.Attempts,
		ResolvedAt: utc(q.ResolvedAt), TicketID: q.TicketID,
		RawURL: "/api/v1/quarantine/" + strconv.FormatInt(q.ID, 10) + "/raw",
	}
}

var quarantineParams = map[string]bool{"all": true, "limit": true, "cursor": true}

// apiListQuarantine lists quarantined mail, newest first: the open entries, or all with ?all=true.
func (s *server) apiListQuarantine(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	var bad error
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if bad == nil && !quarantineParams[string(k)] {
			bad = badRequest(string(k), "is not a known parameter (all, limit, cursor)")
		}
	})
	if bad != nil {
		return bad
	}
	var f mailin.QuarantineFilter
	switch c.Query("all") {
	case "", "false":
	case "true":
		f.All = true
	default:
		return badRequest("all", "must be true or false")
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return badRequest("limit", "must be a whole number from 1 to 200")
		}
		f.Limit = n
	}
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return badRequest("cursor", "is not a cursor from a previous page")
		}
		f.Before = n
	}
	items, next, err := mail.Quarantine.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := struct {
		Items []quarantinedJSON `json:"items"`
		Next  string            `json:"next"`
	}{Items: make([]quarantinedJSON, len(items))}
	for i := range items {
		out.Items[i] = newQuarantinedJSON(&items[i])
	}
	if next > 0 {
		out.Next = strconv.FormatInt(next, 10)
	}
	return c.JSON(out)
}

// apiQuarantineRaw downloads a quarantined message exactly as it came.
func (s *server) apiQuarantineRaw(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	_, raw, err := mail.Quarantine.Raw(c.UserContext(), id)
	if err != nil {
		return err
	}
	// Always a download: a message from outside must never render as a page of ours.
	c.Set(fiber.HeaderContentType, "message/rfc822")
	c.Set(fiber.HeaderContentDisposition, contentDisposition("quarantine-"+strconv.FormatInt(id, 10)+".eml"))
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "sandbox; default-src 'none'")
	return c.Send(raw)
}

// apiReprocessQuarantine takes a quarantined message in again; 409 says why it still cannot be.
func (s *server) apiReprocessQuarantine(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	res, err := mail.Quarantine.Reprocess(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := fiber.Map{"outcome": string(res.Outcome), "ticket_id": nil}
	if res.TicketID != 0 {
		out["ticket_id"] = res.TicketID
	}
	return c.JSON(out)
}
