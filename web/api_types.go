package web

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The API's response shapes. They are kept apart from the stored types so that a column added to
// a table never leaks into the API by accident.

type ticketJSON struct {
	ID         int64      `json:"id"`
	Ref        string     `json:"ref"`
	Subject    string     `json:"subject"`
	Status     string     `json:"status"`
	Urgency    string     `json:"urgency"`
	Priority   string     `json:"priority"`
	Channel    string     `json:"channel"`
	CustomerID int64      `json:"customer_id"`
	AssigneeID *int64     `json:"assignee_id"`
	TeamID     *int64     `json:"team_id"`
	Category   string     `json:"category"`
	Language   string     `json:"language"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	SolvedAt   *time.Time `json:"solved_at"`
	ClosedAt   *time.Time `json:"closed_at"`
}

func newTicketJSON(t *tickets.Ticket) ticketJSON {
	return ticketJSON{
		ID: t.ID, Ref: t.Ref(), Subject: t.Subject, Status: string(t.Status),
		Urgency: t.Urgency.String(), Priority: t.Priority.String(), Channel: string(t.Channel),
		CustomerID: t.CustomerID, AssigneeID: t.AssigneeID, TeamID: t.TeamID, Category: t.Category, Language: t.Language,
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), SolvedAt: utc(t.SolvedAt), ClosedAt: utc(t.ClosedAt),
	}
}

func newTicketList(ts []tickets.Ticket) []ticketJSON {
	out := make([]ticketJSON, len(ts))
	for i := range ts {
		out[i] = newTicketJSON(&ts[i])
	}
	return out
}

type ticketDetailJSON struct {
	ticketJSON
	Messages []messageJSON `json:"messages"`
	Events   []eventJSON   `json:"events"`
	SLA      []clockJSON   `json:"sla"` // see api_sla.go
}

type messageJSON struct {
	ID               int64            `json:"id"`
	TicketID         int64            `json:"ticket_id"`
	Kind             string           `json:"kind"`
	AuthorUserID     *int64           `json:"author_user_id"`
	AuthorCustomerID *int64           `json:"author_customer_id"`
	Body             string           `json:"body"`
	BodyHTML         string           `json:"body_html"`
	CreatedAt        time.Time        `json:"created_at"`
	Attachments      []attachmentJSON `json:"attachments"`
	Delivery         *deliveryJSON    `json:"delivery,omitempty"` // replies sent by email
}

func newMessageJSON(m *tickets.Message) messageJSON {
	out := messageJSON{
		ID: m.ID, TicketID: m.TicketID, Kind: string(m.Kind), AuthorUserID: m.AuthorUserID,
		AuthorCustomerID: m.AuthorCustomerID, Body: m.BodyText, BodyHTML: m.BodyHTML,
		CreatedAt: m.CreatedAt.UTC(), Attachments: make([]attachmentJSON, len(m.Attachments)),
	}
	for i, a := range m.Attachments {
		out.Attachments[i] = attachmentJSON{
			ID: a.ID, Filename: a.Filename, ContentType: a.ContentType, Size: a.Size,
			Inline: a.Inline, ContentID: a.ContentID, URL: "/api/v1/attachments/" + strconv.FormatInt(a.ID, 10),
		}
	}
	return out
}

type attachmentJSON struct {
	ID          int64  `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Inline      bool   `json:"inline"`
	ContentID   string `json:"content_id"`
	URL         string `json:"url"`
}

type eventJSON struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	Actor     actorJSON       `json:"actor"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

type actorJSON struct {
	Kind       string `json:"kind"`
	UserID     *int64 `json:"user_id"`
	CustomerID *int64 `json:"customer_id"`
}

func newTicketDetailJSON(d *tickets.TicketDetail) ticketDetailJSON {
	out := ticketDetailJSON{
		ticketJSON: newTicketJSON(&d.Ticket),
		Messages:   make([]messageJSON, len(d.Messages)),
		Events:     make([]eventJSON, len(d.Events)),
	}
	for i := range d.Messages {
		out.Messages[i] = newMessageJSON(&d.Messages[i])
	}
	for i, e := range d.Events {
		out.Events[i] = eventJSON{
			ID: e.ID, Type: e.Type, Data: e.Data, CreatedAt: e.CreatedAt.UTC(),
			Actor: actorJSON{Kind: e.ActorKind, UserID: e.ActorUserID, CustomerID: e.ActorCustomerID},
		}
	}
	return out
}

type userJSON struct {
	ID               int64     `json:"id"`
	Email            string    `json:"email"`
	Name             string    `json:"name"`
	Role             string    `json:"role"`
	Disabled         bool      `json:"disabled"`
	Languages        []string  `json:"languages"`
	Categories       []string  `json:"categories"`
	MaxActiveTickets int       `json:"max_active_tickets"`
	HandlesVIP       bool      `json:"handles_vip"`
	Available        bool      `json:"available"`
	CreatedAt        time.Time `json:"created_at"`
}

func newUserJSON(u *tickets.User) userJSON {
	return userJSON{
		ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Disabled: u.DisabledAt != nil,
		Languages: nonNil(u.Languages), Categories: nonNil(u.Categories), MaxActiveTickets: u.MaxActiveTickets,
		HandlesVIP: u.HandlesVIP, Available: u.Available, CreatedAt: u.CreatedAt.UTC(),
	}
}

type teamJSON struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Categories []string `json:"categories"`
	MemberIDs  []int64  `json:"member_ids"`
}

func newTeamJSON(t *tickets.Team) teamJSON {
	members := t.MemberIDs
	if members == nil {
		members = []int64{}
	}
	return teamJSON{ID: t.ID, Name: t.Name, Categories: nonNil(t.Categories), MemberIDs: members}
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// pathID reads a positive integer id from the path; anything else cannot name a row.
func pathID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, tickets.ErrNotFound
	}
	return id, nil
}
