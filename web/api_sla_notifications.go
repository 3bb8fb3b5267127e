package web

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Notifications are the in-app notices of SLA warnings and breaches. Each member of staff sees
// their own; a notice held for business hours appears when it is delivered.

type notificationJSON struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	Title     string          `json:"title"`
	Body      string          `json:"body"`
	TicketID  *int64          `json:"ticket_id"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
	Read      bool            `json:"read"`
}

func (s *server) apiListNotifications(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	if err := knownParams(c, "unread", "limit", "before"); err != nil {
		return err
	}
	unread := false
	if v := c.Query("unread"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("unread", "must be true or false")
		}
		unread = b
	}
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return badRequest("limit", "must be a whole number from 1 to 100")
		}
		limit = n
	}
	var before int64
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return badRequest("before", "must be a notification id")
		}
		before = n
	}
	ns, err := s.SLA.Notifications(c.UserContext(), currentUser(c).ID, unread, limit, before)
	if err != nil {
		return err
	}
	out := make([]notificationJSON, len(ns))
	for i, n := range ns {
		data := n.Data
		if len(data) == 0 {
			data = json.RawMessage(`{}`)
		}
		out[i] = notificationJSON{ID: n.ID, Type: n.Type, Title: n.Title, Body: n.Body, TicketID: n.TicketID, Data: data,
			CreatedAt: n.DeliverAt.UTC(), Read: n.ReadAt != nil}
	}
	next := ""
	if len(ns) == limit {
		next = strconv.FormatInt(ns[len(ns)-1].ID, 10)
	}
	return c.JSON(fiber.Map{"items": out, "next_before": next})
}

func (s *server) apiReadNotification(c *fiber.Ctx) error {
	id, err := s.slaPathID(c)
	if err != nil {
		return err
	}
	if err := s.SLA.MarkRead(c.UserContext(), currentUser(c).ID, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) apiReadAllNotifications(c *fiber.Ctx) error {
	if err := s.needSLA(); err != nil {
		return err
	}
	n, err := s.SLA.MarkAllRead(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"marked": n})
}
