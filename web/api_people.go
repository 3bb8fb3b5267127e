package web

import (
	"mime"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func (s *server) apiMe(c *fiber.Ctx) error {
	return c.JSON(newUserJSON(currentUser(c)))
}

func (s *server) apiListUsers(c *fiber.Ctx) error {
	users, err := s.Staff.Users(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]userJSON, len(users))
	for i := range users {
		out[i] = newUserJSON(&users[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

type createUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *server) apiCreateUser(c *fiber.Ctx) error {
	var req createUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u, err := s.Staff.CreateUser(c.UserContext(), tickets.StaffActor(currentUser(c).ID), tickets.NewUser{
		Email: req.Email, Name: req.Name, Role: tickets.Role(req.Role), Password: req.Password,
	})
	if err != nil {
		return err
	}
	c.Location("/api/v1/users/" + strconv.FormatInt(u.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(newUserJSON(u))
}

func (s *server) apiListTeams(c *fiber.Ctx) error {
	teams, err := s.Staff.Teams(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]teamJSON, len(teams))
	for i := range teams {
		out[i] = newTeamJSON(&teams[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

type createTeamRequest struct {
	Name string `json:"name"`
}

func (s *server) apiCreateTeam(c *fiber.Ctx) error {
	var req createTeamRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := s.Staff.CreateTeam(c.UserContext(), tickets.StaffActor(currentUser(c).ID), req.Name)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newTeamJSON(t))
}

func (s *server) apiAddTeamMember(c *fiber.Ctx) error    { return s.setTeamMember(c, true) }
func (s *server) apiRemoveTeamMember(c *fiber.Ctx) error { return s.setTeamMember(c, false) }

func (s *server) setTeamMember(c *fiber.Ctx, member bool) error {
	teamID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	if err := s.Staff.SetMember(c.UserContext(), tickets.StaffActor(currentUser(c).ID), teamID, userID, member); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type createTokenRequest struct {
	Name string `json:"name"`
}

type tokenJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// apiCreateToken issues a new token for the caller, so that tokens can be rotated without the
// command line. The secret is in this response and nowhere else, ever.
func (s *server) apiCreateToken(c *fiber.Ctx) error {
	var req createTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	me := currentUser(c)
	secret, tok, err := s.Staff.CreateToken(c.UserContext(), tickets.StaffActor(me.ID), me.ID, req.Name)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(tokenJSON{ID: tok.ID, Name: tok.Name, Token: secret, CreatedAt: tok.CreatedAt.UTC()})
}

// apiRevokeToken revokes one of the caller's tokens; admins may revoke anyone's. Someone else's
// token looks the same as a missing one, so ids reveal nothing.
func (s *server) apiRevokeToken(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentUser(c)
	tok, err := s.Staff.Token(c.UserContext(), id)
	if err != nil {
		return err
	}
	if tok.UserID != me.ID && !me.Role.Includes(tickets.RoleAdmin) {
		return tickets.ErrNotFound
	}
	if err := s.Staff.RevokeToken(c.UserContext(), tickets.StaffActor(me.ID), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// contentDisposition names a download, with RFC 2231 encoding for names that are not ASCII.
func contentDisposition(filename string) string {
	v := mime.FormatMediaType("attachment", map[string]string{"filename": filename})
	if v == "" {
		return "attachment"
	}
	return v
}

type updateUserRequest struct {
	Name             *string   `json:"name"`
	Role             *string   `json:"role"`
	Disabled         *bool     `json:"disabled"`
	Languages        *[]string `json:"languages"`
	Categories       *[]string `json:"categories"`
	MaxActiveTickets *int      `json:"max_active_tickets"`
	HandlesVIP       *bool     `json:"handles_vip"`
	Available        *bool     `json:"available"`
}

// apiUpdateUser changes a user's details and routing settings. Admins change anyone; everyone
// else may only mark themselves available or away.
func (s *server) apiUpdateUser(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	me := currentUser(c)
	if !me.Role.Includes(tickets.RoleAdmin) {
		if id != me.ID {
			return &inputError{status: fiber.StatusForbidden, field: "id", message: "only admins may change other users"}
		}
		if req.Name != nil || req.Role != nil || req.Disabled != nil || req.Languages != nil || req.Categories != nil || req.MaxActiveTickets != nil || req.HandlesVIP != nil {
			return &inputError{status: fiber.StatusForbidden, field: "body", message: "you may only change your own availability"}
		}
	}
	change := tickets.UserChange{
		Name: req.Name, Disabled: req.Disabled, Languages: req.Languages, Categories: req.Categories,
		MaxActiveTickets: req.MaxActiveTickets, HandlesVIP: req.HandlesVIP, Available: req.Available,
	}
	if req.Role != nil {
		r := tickets.Role(*req.Role)
		change.Role = &r
	}
	u, err := s.Staff.UpdateUser(c.UserContext(), tickets.StaffActor(me.ID), id, change)
	if err != nil {
		return err
	}
	// Back from being away, or with more room: take what waits in the team queues now.
	if u.Available && u.DisabledAt == nil && (req.Available != nil || req.MaxActiveTickets != nil || req.Languages != nil || req.Categories != nil || req.HandlesVIP != nil) {
		if _, err := s.Desk.AssignQueued(c.UserContext(), u.ID); err != nil {
			return err
		}
	}
	return c.JSON(newUserJSON(u))
}

type updateTeamRequest struct {
	Name       *string   `json:"name"`
	Categories *[]string `json:"categories"`
}

func (s *server) apiUpdateTeam(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateTeamRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := s.Staff.UpdateTeam(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, req.Name, req.Categories)
	if err != nil {
		return err
	}
	return c.JSON(newTeamJSON(t))
}
